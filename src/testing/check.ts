/**
 * Is an AD system's MaxPool gradient an admissible Jacobian on every generator? The property a
 * kernel author asserts from a test suite (vitest, node:test, jest: nothing here imports a runner).
 *
 * For each generator, fast-check draws evaluation points from the generator's seed (the run's seed
 * mixed with the generator id, as `adzone verify` does), the backend computes each at every asked
 * precision, and the exact oracle classifies the result (zones/classify.ts). A result fails when it
 * is a `defect` (the exact AD of no admissible Jacobian along the routing of its own forward values)
 * or `inconsistent` (a regular routing whose values leave the rigorous rounding bound), or when the
 * backend throws. fast-check then shrinks the failing point, and the failure message shows it with
 * exact and rounded values and a replay line: the same call with `{ generators: [id], seed, path }`
 * re-runs exactly that point (fast-check's `{ seed, path }` convention).
 *
 * Bifurcation and compensation are not failures: they are what MaxPool does at and near ties, and
 * every admissible rule produces them.
 */
import fc from 'fast-check';
import { measureTieRuleOf } from '../backends/tie_rule.ts';
import type { AdBackend } from '../backends/types.ts';
import type { Accumulate } from '../engine/types.ts';
import { type Case, GENERATORS, type Generator } from '../generators/index.ts';
import { type MaxPoolJacobian, parseJacobian } from '../jacobians/index.ts';
import { decimalOracle } from '../oracle/index.ts';
import type { Problem } from '../problem/index.ts';
import { ConfigError } from '../util/errors.ts';
import { type Classification, type ClassifyConfig, classifyPoint } from '../zones/classify.ts';
import { generatorSeed } from '../zones/verify.ts';
import { failureMessage, passMessage } from './message.ts';

/** A member of the MaxPool Jacobian family by name, as the command line spells it. */
export type JacobianName = 'first' | 'last' | 'minnorm' | `beta:${number}`;

/** The MaxPool rule a backend applies at ties: declared, or 'measure'd on adzone's deterministic tie cases. */
export type TieRuleChoice = 'first' | 'last' | 'minnorm' | 'measure';

/** What to run and how: every field optional, fast-check's conventions for seed, path and numRuns. */
export interface AdmissibleConstraints {
  /** Generator ids to draw from, in order (default: every generator; checkMaxPool: the lone-MaxPool ones). */
  readonly generators?: readonly string[];
  /** Draws per generator (default: fast-check's global numRuns, else 100). */
  readonly numRuns?: number;
  /** The run's seed (default: fast-check's global seed, else random); generator g draws from generatorSeed(seed, g). */
  readonly seed?: number;
  /** Replay one counterexample: the fast-check path from a failure's replay line (needs `seed` and exactly one generator). */
  readonly path?: string;
  /** Precisions to run at (default: every precision the backend declares). */
  readonly precisions?: readonly string[];
  /** The Jacobian family whose members define a bifurcation (default first, minnorm, beta:10, as `adzone verify`). */
  readonly jacobians?: readonly (JacobianName | MaxPoolJacobian)[];
  /** ReLU'(0) values; the family is jacobians × reluAlphas (default [0]). */
  readonly reluAlphas?: readonly number[];
  /** The backend's MaxPool rule at ties (default 'measure'; ignored for a backend that takes the Jacobian it is given). */
  readonly tieRule?: TieRuleChoice;
  /** Accumulation mode passed to backends that have one (default 'strict'). */
  readonly accumulate?: Accumulate;
  /** Called after every draw: draws done, draws planned, the generator drawing. */
  readonly onProgress?: (done: number, total: number, generator: string) => void;
}

/** Why a counterexample fails. */
export type FailureKind = 'defect' | 'inconsistent' | 'error';

/** The shrunk point that fails, with everything needed to show and replay it. */
export interface AdmissibleCounterexample {
  readonly kind: FailureKind;
  readonly generator: string;
  /** The precision whose result fails (for 'error': the precisions of the run). */
  readonly precision: string;
  /** fast-check's path of the shrunk point: with the report's seed and this generator it replays the point. */
  readonly path: string;
  /** The seed fast-check drew this generator from: generatorSeed(report seed, generator). */
  readonly generatorSeed: number;
  readonly numShrinks: number;
  /** Draws of this generator before the first failure. */
  readonly runsBeforeFailure: number;
  readonly case: Case;
  /** The failing classification ('defect' / 'inconsistent'). */
  readonly classification?: Classification;
  /** What the backend (or the classification) threw ('error'). */
  readonly error?: string;
}

/** What a check found: `failed` and the counterexample, or how much passed. `message` is what assertAdmissible throws. */
export interface AdmissibleReport {
  readonly failed: boolean;
  readonly backend: string;
  readonly seed: number;
  readonly generators: readonly string[];
  readonly precisions: readonly string[];
  /** Draws run, over every generator checked. */
  readonly draws: number;
  /** The MaxPool rule the classification held the backend to, and where it came from. */
  readonly tieRule: { readonly rule: string; readonly evidence: string };
  readonly counterexample?: AdmissibleCounterexample;
  readonly message: string;
}

/** Thrown by assertAdmissible / assertMaxPool: the failure message, with the full report attached. */
export class AdmissibilityError extends Error {
  override name = 'AdmissibilityError';
  constructor(readonly report: AdmissibleReport) {
    super(report.message);
  }
}

/**
 * The generators whose points are a lone MaxPool (no conv, no ReLU): what a MaxPool kernel can run.
 * Read from the registry's declared structure, in its order; properties/generators.test.ts checks
 * each declaration against the generator's draws, properties/testing.test.ts this list against them.
 */
export const MAXPOOL_GENERATORS: readonly string[] = GENERATORS.filter((g) => g.structure === 'lone-maxpool').map((g) => g.id);

const DEFAULT_JACOBIANS: readonly JacobianName[] = ['first', 'minnorm', 'beta:10'];

/** The constraints with every default filled in and every field checked. */
interface Run {
  readonly backend: AdBackend;
  readonly entry: string;
  readonly generators: readonly Generator[];
  readonly numRuns: number;
  readonly seed: number;
  readonly path?: string;
  readonly precisions: readonly string[];
  readonly family: readonly MaxPoolJacobian[];
  readonly constraints: AdmissibleConstraints;
}

function randomSeed(): number {
  return (Date.now() ^ (Math.random() * 0x100000000)) | 0;
}

function resolveFamily(js: readonly (JacobianName | MaxPoolJacobian)[]): MaxPoolJacobian[] {
  const family = js.map((j) => {
    if (typeof j !== 'string') return j;
    try {
      return parseJacobian(j);
    } catch (e) {
      throw new ConfigError('jacobians', (e as Error).message);
    }
  });
  if (family.length < 2) throw new ConfigError('jacobians', 'needs at least two members: a bifurcation is two members disagreeing');
  return family;
}

function resolveGenerators(ids: readonly string[]): Generator[] {
  if (ids.length === 0) throw new ConfigError('generators', 'is empty: name at least one generator');
  return ids.map((id) => {
    const g = GENERATORS.find((x) => x.id === id);
    if (!g) throw new ConfigError('generators', `unknown generator '${id}': expected one of ${GENERATORS.map((x) => x.id).join(', ')}`);
    return g;
  });
}

function resolveRun(backend: AdBackend, c: AdmissibleConstraints, entry: string, defaultGenerators: readonly string[]): Run {
  const global = fc.readConfigureGlobal();
  const numRuns = c.numRuns ?? global.numRuns ?? 100;
  if (!Number.isInteger(numRuns) || numRuns < 1) throw new ConfigError('numRuns', `must be an integer ≥ 1, got ${numRuns}`);
  const seed = c.seed ?? global.seed ?? randomSeed();
  if (!Number.isInteger(seed)) throw new ConfigError('seed', `must be an integer, got ${seed}`);
  const generators = resolveGenerators(c.generators ?? defaultGenerators);
  if (c.path !== undefined) {
    if (!/^\d+(:\d+)*$/.test(c.path))
      throw new ConfigError('path', `must look like 12:0:3 (fast-check's counterexample path), got '${c.path}'`);
    if (c.seed === undefined || generators.length !== 1) {
      throw new ConfigError('path', 'replays one counterexample: give it with the seed and the one generator of the replay line');
    }
  }
  const precisions = c.precisions ?? backend.precisions;
  const foreign = precisions.filter((p) => !backend.precisions.includes(p));
  if (precisions.length === 0 || foreign.length) {
    throw new ConfigError(
      'precisions',
      `${backend.id} computes at ${backend.precisions.join(', ')} bits; asked for [${precisions.join(', ')}]`,
    );
  }
  const bad = (c.reluAlphas ?? []).filter((a) => !(a >= 0 && a <= 1));
  if (bad.length) throw new ConfigError('reluAlphas', `must lie in [0, 1], got ${bad.join(', ')}`);
  const family = resolveFamily(c.jacobians ?? DEFAULT_JACOBIANS);
  return { backend, entry, generators, numRuns, seed: seed | 0, ...(c.path ? { path: c.path } : {}), precisions, family, constraints: c };
}

type TieRuleVerdict = {
  readonly rule: MaxPoolJacobian | undefined;
  readonly name: string;
  readonly evidence: string;
  readonly failure?: string;
};

/** The rule the classification holds a fixed-Jacobian backend to: declared, or measured (a backend following no known rule fails here). */
async function resolveTieRule(backend: AdBackend, choiceOf: TieRuleChoice): Promise<TieRuleVerdict> {
  if (!backend.fixedJacobian)
    return { rule: undefined, name: 'chosen per run', evidence: 'the backend computes with the Jacobian it is given' };
  if (choiceOf !== 'measure') return { rule: { kind: choiceOf }, name: choiceOf, evidence: 'declared (tieRule)' };
  let m: Awaited<ReturnType<typeof measureTieRuleOf>>;
  try {
    m = await measureTieRuleOf(backend);
  } catch (e) {
    const why = `measuring its MaxPool tie rule, ${backend.id} threw: ${firstLine(e)}`;
    return { rule: undefined, name: 'unknown', evidence: why, failure: why };
  }
  if (m.rule === 'other') {
    const why = `${backend.id} follows none of first, last, minnorm at ties (${m.evidence}); declare the rule it implements with { tieRule }`;
    return { rule: undefined, name: 'other', evidence: m.evidence, failure: why };
  }
  return { rule: { kind: m.rule }, name: m.rule, evidence: `measured: ${m.evidence}` };
}

function firstLine(e: unknown): string {
  return String(e instanceof Error ? e.message : e).split('\n')[0] ?? '';
}

function classifyConfig(run: Run, tie: TieRuleVerdict): ClassifyConfig {
  const c = run.constraints;
  return {
    precisions: run.precisions,
    accumulate: c.accumulate ?? 'strict',
    family: run.family,
    reluAlphas: c.reluAlphas ?? [0],
    betaMode: 'backward',
    oracle: decimalOracle,
    backends: [run.backend],
    ...(tie.rule ? { tieRules: { [run.backend.id]: tie.rule } } : {}),
  };
}

/** The first failing result of one point (defect or inconsistent), or undefined when every precision passes. */
async function failingResult(problem: Problem, config: ClassifyConfig): Promise<Classification | undefined> {
  const pc = await classifyPoint(problem, config);
  return pc.results.find((r) => r.zone === 'defect' || r.inconsistent === true);
}

/** Run one generator's property; the shrunk counterexample when it fails. */
async function checkGenerator(
  run: Run,
  gen: Generator,
  config: ClassifyConfig,
  progress: () => void,
): Promise<{ draws: number; counterexample?: AdmissibleCounterexample }> {
  const seed = generatorSeed(run.seed, gen.id);
  let drawn = 0;
  const prop = fc.asyncProperty(gen.arbitrary, async (c) => {
    // Shrinking runs the predicate again: progress counts the draws only.
    if (drawn < run.numRuns) {
      drawn++;
      progress();
    }
    return (await failingResult(c.problem, config)) === undefined;
  });
  const details = await fc.check(prop, { seed, numRuns: run.numRuns, ...(run.path ? { path: run.path, endOnFailure: true } : {}) });
  if (!details.failed) return { draws: details.numRuns };
  const c = details.counterexample?.[0];
  if (!c) throw new Error(`fast-check reported a failure of ${gen.id} without a counterexample (interrupted: ${details.interrupted})`);
  const base = {
    generator: gen.id,
    path: details.counterexamplePath ?? '',
    generatorSeed: seed,
    numShrinks: details.numShrinks,
    runsBeforeFailure: details.numRuns,
    case: c,
  };
  return { draws: details.numRuns, counterexample: await explain(base, c.problem, config, details.errorInstance) };
}

/** Re-classify the shrunk point for the message: its failing classification, or what the backend (or the classification) throws. */
async function explain(
  base: Omit<AdmissibleCounterexample, 'kind' | 'precision'>,
  problem: Problem,
  config: ClassifyConfig,
  fcError: unknown,
): Promise<AdmissibleCounterexample> {
  const all = config.precisions.join(', ');
  try {
    const bad = await failingResult(problem, config);
    if (bad) return { ...base, kind: bad.zone === 'defect' ? 'defect' : 'inconsistent', precision: bad.precision, classification: bad };
    const why = `the failure did not reproduce when the shrunk point ran again (is the backend deterministic?); fast-check saw: ${firstLine(fcError)}`;
    return { ...base, kind: 'error', precision: all, error: why };
  } catch (e) {
    return { ...base, kind: 'error', precision: all, error: firstLine(e) };
  }
}

/** The check behind every entry point: `entry` names the function for the replay line. */
async function runCheck(
  backend: AdBackend,
  constraints: AdmissibleConstraints,
  entry: string,
  defaultGenerators: readonly string[],
): Promise<AdmissibleReport> {
  const run = resolveRun(backend, constraints, entry, defaultGenerators);
  const tie = await resolveTieRule(backend, constraints.tieRule ?? 'measure');
  const head = {
    backend: backend.id,
    seed: run.seed,
    generators: run.generators.map((g) => g.id),
    precisions: run.precisions,
    tieRule: { rule: tie.name, evidence: tie.evidence },
  };
  if (tie.failure) return { ...head, failed: true, draws: 0, message: `adzone: ${tie.failure}` };
  const config = classifyConfig(run, tie);
  const total = run.generators.length * (run.path ? 1 : run.numRuns);
  let done = 0;
  let draws = 0;
  for (const gen of run.generators) {
    const r = await checkGenerator(run, gen, config, () => constraints.onProgress?.(++done, total, gen.id));
    draws += r.draws;
    if (r.counterexample) {
      const report = { ...head, failed: true, draws, counterexample: r.counterexample };
      return { ...report, message: await failureMessage(report, r.counterexample, backend, run.entry, constraints, config.oracle) };
    }
  }
  const report = { ...head, failed: false, draws };
  return { ...report, message: passMessage(report) };
}

/** Check that `backend`'s results are admissible on every generator (default: all of them); resolves to the report, never throws for a failure. */
export function checkAdmissible(backend: AdBackend, constraints: AdmissibleConstraints = {}): Promise<AdmissibleReport> {
  return runCheck(
    backend,
    constraints,
    'assertAdmissible',
    GENERATORS.map((g) => g.id),
  );
}

/** Like checkAdmissible, but throws AdmissibilityError (its message: the shrunk counterexample and the replay line) when a result is not admissible. */
export async function assertAdmissible(backend: AdBackend, constraints: AdmissibleConstraints = {}): Promise<AdmissibleReport> {
  const report = await runCheck(
    backend,
    constraints,
    'assertAdmissible',
    GENERATORS.map((g) => g.id),
  );
  if (report.failed) throw new AdmissibilityError(report);
  return report;
}

/** checkAdmissible on the lone-MaxPool generators (MAXPOOL_GENERATORS): for a backend that runs a single MaxPool layer. */
export function checkMaxPool(backend: AdBackend, constraints: AdmissibleConstraints = {}): Promise<AdmissibleReport> {
  return runCheck(backend, constraints, 'assertMaxPool', MAXPOOL_GENERATORS);
}

/** assertAdmissible on the lone-MaxPool generators (MAXPOOL_GENERATORS): "my MaxPool AD is an admissible Jacobian on every generator". */
export async function assertMaxPool(backend: AdBackend, constraints: AdmissibleConstraints = {}): Promise<AdmissibleReport> {
  const report = await runCheck(backend, constraints, 'assertMaxPool', MAXPOOL_GENERATORS);
  if (report.failed) throw new AdmissibilityError(report);
  return report;
}
