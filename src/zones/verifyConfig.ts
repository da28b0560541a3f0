/**
 * The verify stage's config (verify.ts): what a caller sets, the defaults (all here, in
 * VERIFY_CONFIG_DEFAULTS), and the checks that turn it into a resolved run, each bad field a
 * ConfigError in the config's own words (`samples`, not `--samples`).
 *
 * The defaults are the main job (`adzone verify`): 200 draws per generator on every generator,
 * every available backend of engine, tfjs-cpu and tfjs-wasm, at 16, 32 and 64 bits, shrinking each
 * non-regular class within 100 candidates, on as many worker threads as there are CPUs (at most 4).
 * 200 draws show the ordering 16 > 32 > 64 on the near-tie generators with a wide margin (seed 1:
 * near-tie compensation 149 / 101 / 0, near-tie-chain 109 / 83 / 20) within the job's target, a
 * minute on two idle cores (bench row verify/main); `samples: 2000` is the long sweep. The shrink
 * budget: with no budget, 42 of 76 classes of a 30-draw run converged within 100 candidates and the
 * rest took up to 3000, for 9× the CPU time, and every input kept the shape it has at 100.
 */
import { availableParallelism } from 'node:os';
import { BACKEND_IDS, type BackendOptions } from '../backends/registry.ts';
import type { Accumulate } from '../engine/types.ts';
import { GENERATORS } from '../generators/index.ts';
import { type BetaMode, jacobianName, type MaxPoolJacobian, parseJacobian } from '../jacobians/index.ts';
import { FORMATS } from '../precision/index.ts';
import { ConfigError } from '../util/errors.ts';
import type { VerifyProgress } from './progress.ts';

export interface VerifyConfig {
  /** Draws per generator. */
  readonly samples?: number;
  /** fast-check seed of the run, signed or unsigned 32-bit (−1 and 4294967295 are the same run); reported unsigned. */
  readonly seed?: number;
  readonly precisions?: readonly string[];
  /** The MaxPool Jacobian family ('first', 'last', 'minnorm', 'beta:N' or members); at least two. */
  readonly jacobians?: readonly (string | MaxPoolJacobian)[];
  /** ReLU'(0) values in [0, 1]; the family is jacobians × reluAlphas. */
  readonly reluAlphas?: readonly number[];
  readonly accumulate?: Accumulate;
  readonly betaMode?: BetaMode;
  /** Generator ids, in report order. */
  readonly generators?: readonly string[];
  /** Backend ids; those that cannot run here are skipped with a log line. */
  readonly backends?: readonly string[];
  /** How to load the backends that take options (the PyTorch bridge). */
  readonly backendOptions?: BackendOptions;
  /** Shrink one minimal counterexample for every non-regular class. */
  readonly shrink?: boolean;
  /** Shrink candidates tried per class, at most: the budget that keeps one stubborn class from taking minutes. */
  readonly shrinkSteps?: number;
  /** Worker threads; the result does not depend on it. 1 runs everything in this thread. */
  readonly jobs?: number;
  /** A file the run appends every finished unit to (draw blocks, shrinks): an interrupted run keeps them. */
  readonly journal?: string;
  /** Continue from `journal`: the units it holds are not run again (it must be of the same run). */
  readonly resume?: boolean;
  readonly onProgress?: (p: VerifyProgress) => void;
  readonly log?: (line: string) => void;
}

export const VERIFY_CONFIG_DEFAULTS = {
  samples: 200,
  seed: 1,
  precisions: ['16', '32', '64'],
  jacobians: ['first', 'minnorm', 'beta:10'],
  reluAlphas: [0],
  accumulate: 'strict',
  betaMode: 'backward',
  generators: GENERATORS.map((g) => g.id),
  backends: ['engine', 'tfjs-cpu', 'tfjs-wasm'],
  shrink: true,
  shrinkSteps: 100,
  /** Jobs: the CPUs, but at most this many. */
  maxDefaultJobs: 4,
} as const;

export interface ResolvedVerifyConfig {
  readonly samples: number;
  readonly seed: number;
  readonly precisions: readonly string[];
  readonly family: readonly MaxPoolJacobian[];
  readonly reluAlphas: readonly number[];
  readonly accumulate: Accumulate;
  readonly betaMode: BetaMode;
  readonly generators: readonly string[];
  readonly backends: readonly string[];
  readonly backendOptions: BackendOptions;
  readonly shrink: boolean;
  readonly shrinkSteps: number;
  readonly jobs: number;
  readonly journal: string | undefined;
  readonly resume: boolean;
  readonly onProgress: (p: VerifyProgress) => void;
  readonly log: (line: string) => void;
}

/** A 32-bit seed in either form (−2^31 … 2^32 − 1) as the one printed form, unsigned; undefined when it is not one. */
export function canonicalSeed(seed: number): number | undefined {
  return Number.isInteger(seed) && seed >= -(2 ** 31) && seed < 2 ** 32 ? seed >>> 0 : undefined;
}

export function checkSeed(field: string, seed: number): number {
  const s = canonicalSeed(seed);
  if (s === undefined)
    throw new ConfigError(field, `\`${field}\` must be a 32-bit integer, signed or unsigned (−2147483648 … 4294967295), got ${seed}`);
  return s;
}

/** Check a config and fill in its defaults; throws ConfigError naming the first bad field. */
export function resolveVerifyConfig(c: VerifyConfig): ResolvedVerifyConfig {
  const D = VERIFY_CONFIG_DEFAULTS;
  const defaultJobs = Math.max(1, Math.min(availableParallelism(), D.maxDefaultJobs));
  if (c.resume && !c.journal) throw new ConfigError('resume', '`resume` needs the `journal` to continue from');
  return {
    samples: checkInt('samples', c.samples ?? D.samples, 1, 1_000_000),
    seed: checkSeed('seed', c.seed ?? D.seed),
    precisions: checkList('precisions', c.precisions ?? D.precisions, Object.keys(FORMATS)),
    family: checkFamily(c.jacobians ?? D.jacobians),
    reluAlphas: checkAlphas(c.reluAlphas ?? D.reluAlphas),
    accumulate: checkChoice('accumulate', c.accumulate ?? D.accumulate, ['strict', 'wide'] as const),
    betaMode: checkChoice('betaMode', c.betaMode ?? D.betaMode, ['backward', 'mixed-forward'] as const),
    generators: checkList(
      'generators',
      c.generators ?? D.generators,
      GENERATORS.map((g) => g.id),
    ),
    backends: checkList('backends', c.backends ?? D.backends, BACKEND_IDS),
    backendOptions: c.backendOptions ?? {},
    shrink: c.shrink ?? D.shrink,
    shrinkSteps: checkInt('shrinkSteps', c.shrinkSteps ?? D.shrinkSteps, 0, 1_000_000),
    jobs: checkInt('jobs', c.jobs ?? defaultJobs, 1, 64),
    journal: c.journal,
    resume: c.resume === true,
    onProgress: c.onProgress ?? (() => {}),
    log: c.log ?? (() => {}),
  };
}

function checkInt(field: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v)) throw new ConfigError(field, `\`${field}\` must be a whole number from ${min} to ${max}, got '${v}'`);
  if (v < min || v > max) throw new ConfigError(field, `\`${field}\` must be from ${min} to ${max}, got ${v}`);
  return v;
}

function checkChoice<T extends string>(field: string, v: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(v))
    throw new ConfigError(field, `\`${field}\` must be one of ${allowed.join(', ')}, got '${v}'`);
  return v as T;
}

function checkList(field: string, items: readonly string[], allowed: readonly string[]): string[] {
  if (!Array.isArray(items) || items.length === 0) throw new ConfigError(field, `\`${field}\` needs at least one value`);
  const bad = items.filter((i) => !allowed.includes(i));
  if (bad.length)
    throw new ConfigError(
      field,
      `\`${field}\`: unknown value${bad.length > 1 ? 's' : ''} ${bad.map((b) => `'${b}'`).join(', ')}; expected one of ${allowed.join(', ')}`,
    );
  const dup = items.find((x, i) => items.indexOf(x) !== i);
  if (dup) throw new ConfigError(field, `\`${field}\`: '${dup}' is given twice`);
  return [...items];
}

function checkFamily(items: readonly (string | MaxPoolJacobian)[]): MaxPoolJacobian[] {
  const fam = items.map((m) => {
    try {
      return typeof m === 'string' ? parseJacobian(m) : parseJacobian(jacobianName(m));
    } catch (e) {
      throw new ConfigError('jacobians', `\`jacobians\`: ${(e as Error).message}`);
    }
  });
  if (fam.length < 2) throw new ConfigError('jacobians', '`jacobians` needs at least two members: bifurcation means two members disagree');
  const names = fam.map(jacobianName);
  const dup = names.find((x, i) => names.indexOf(x) !== i);
  if (dup) throw new ConfigError('jacobians', `\`jacobians\`: '${dup}' is given twice`);
  return fam;
}

function checkAlphas(alphas: readonly number[]): number[] {
  if (!Array.isArray(alphas) || alphas.length === 0) throw new ConfigError('reluAlphas', '`reluAlphas` needs at least one value');
  for (const a of alphas)
    if (!(typeof a === 'number' && a >= 0 && a <= 1))
      throw new ConfigError('reluAlphas', `\`reluAlphas\` must be numbers in [0, 1], got ${a}`);
  return [...alphas];
}
