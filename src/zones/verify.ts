/**
 * The verification sweep behind `adzone verify`, as a stage: verify(config) → VerifyRun. It draws
 * cases from the generators, classifies each at every precision on every backend, counts zones per
 * (generator, backend, precision) cell, and shrinks one minimal counterexample for every
 * non-regular class found, within a budget of candidates per class.
 *
 * The work is split into units (sweep.ts: blocks of draws, shrinks) run on worker threads
 * (sweepPool.ts); each unit is deterministic, so the result is the same for any number of threads.
 * Each finished unit goes to the run's journal (journal.ts) as it finishes: an interrupted run keeps
 * them, and `resume` runs only the rest. Progress (progress.ts) covers draws and shrinking together.
 *
 * runVerify(options) is the same sweep in this thread on backend objects the caller holds (its own
 * AdBackend, a recorded bridge), for library callers and the nightly.
 */
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { type LoadedBackends, loadBackends } from '../backends/registry.ts';
import type { AdBackend } from '../backends/types.ts';
import type { Accumulate } from '../engine/types.ts';
import { type Case, type Generator, generatorById } from '../generators/index.ts';
import { type BetaMode, jacobianName, type MaxPoolJacobian } from '../jacobians/index.ts';
import { decimalOracle } from '../oracle/index.ts';
import type { Oracle } from '../oracle/types.ts';
import { type Problem, ZONE_CLASSES, type ZoneClass, zoneClassOf } from '../problem/index.ts';
import type { Counterexample, RealTieTotals, TableRow, VerifyHeader, VerifyJson, VerifyResult } from '../schema/verify.ts';
import { InputError } from '../util/errors.ts';
import type { Classification } from './classify.ts';
import { openJournal, type Journal, taskKey } from './journal.ts';
import { ProgressModel, type VerifyProgress } from './progress.ts';
import {
  type CellTally,
  classifyOn,
  type DrawOutcome,
  emptyTally,
  generatorSeed,
  mergeTally,
  type ShrinkOutcome,
  type ShrinkTask,
  type SweepContext,
  type SweepOutcome,
  type SweepSpec,
  type SweepTask,
  tableRow,
} from './sweep.ts';
import { drain, inThreadRunner, type Runner, startWorker, TaskQueue } from './sweepPool.ts';
import { resolveVerifyConfig, VERIFY_CONFIG_DEFAULTS, type VerifyConfig } from './verifyConfig.ts';

export type { Counterexample, RealTieTotals, TableRow, VerifyResult } from '../schema/verify.ts';
export { ZONE_CLASSES, type ZoneClass } from '../problem/index.ts';
export { generatorSeed } from './sweep.ts';
export type { VerifyProgress } from './progress.ts';
export { canonicalSeed, resolveVerifyConfig, VERIFY_CONFIG_DEFAULTS, type VerifyConfig } from './verifyConfig.ts';

/** Draws per unit of work: small enough to share the tail of a run between threads, large enough to cost little to hand out. */
export const BLOCK_DRAWS = 50;

/** What verify(config) returns: everything verify.json holds but `tool`'s package versions and how the run was asked for. */
export interface VerifyRun {
  readonly header: Omit<VerifyHeader, 'command'>;
  readonly betaMode: BetaMode;
  readonly result: VerifyResult;
  /** Each backend's package versions (verify.json's tool.backends). */
  readonly backendVersions: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/** verify.json's content: a run, and how it was asked for (`adzone verify` and the nightly write it through this one function). */
export function verifyJson(run: VerifyRun, how: { readonly command: string; readonly version: string }): VerifyJson {
  return {
    schema: 'adzone/verify',
    schemaVersion: 1,
    tool: { adzone: how.version, node: process.version, backends: run.backendVersions },
    command: how.command,
    ...run.header,
    betaMode: run.betaMode,
    ...run.result,
  };
}

/** The zone class of a classification: its zone, with the cause for a compensation. */
export function zoneClass(c: Pick<Classification, 'zone' | 'cause'>): ZoneClass {
  return zoneClassOf(c.zone, c.cause);
}

/** The verify stage (see the file comment). Throws ConfigError for a bad field, InputError when no backend can run. */
export async function verify(config: VerifyConfig): Promise<VerifyRun> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const c = resolveVerifyConfig(config);
  const generators = c.generators.map(generatorById);
  // Worker threads load their backends while this thread loads its own and measures the tie rules.
  const workers =
    c.jobs > 1 ? Array.from({ length: c.jobs }, () => startWorker({ backendIds: c.backends, backendOptions: c.backendOptions })) : [];
  let swept: Swept;
  let loaded: LoadedBackends;
  let jobs = 1;
  try {
    loaded = await loadBackends(c.backends, c.log, c.backendOptions);
    if (!loaded.backends.length)
      throw new InputError(
        `none of the backends ${c.backends.join(', ')} can run here: ${loaded.unavailable.map((u) => `${u.id}: ${u.unavailable}`).join('; ')}`,
      );
    const spec = specOf(c, loaded.tieRules, c.shrinkSteps);
    const journal = openJournal(c.journal, runIdentity(spec, generators, loaded), c.resume, c.log);
    const run = { spec, backendIds: loaded.backends.map((b) => b.id) };
    const runners = workers.length
      ? await Promise.all(workers.map((w) => w.runner(run)))
      : [inThreadRunner({ spec, backends: loaded.backends, oracle: decimalOracle, generator: generatorById })];
    jobs = runners.length;
    swept = await sweep({
      spec,
      generators,
      backends: loaded.backends,
      shrink: c.shrink,
      runners,
      journal,
      onProgress: c.onProgress,
      log: c.log,
    });
  } finally {
    await Promise.all(workers.map((w) => w.close()));
  }
  const used = process.cpuUsage(cpu0);
  const header: Omit<VerifyHeader, 'command'> = {
    createdAt: new Date().toISOString(),
    seed: c.seed,
    samples: c.samples,
    precisions: [...c.precisions],
    jacobians: c.family.map(jacobianName),
    reluAlphas: [...c.reluAlphas],
    accumulate: c.accumulate,
    backends: loaded.backends.map((b) => ({ id: b.id, description: b.description })),
    unavailable: loaded.unavailable,
    tieRules: loaded.tieEvidence,
    generators: generators.map((g) => ({ id: g.id, description: g.description, nearTie: g.nearTie })),
  };
  const result: VerifyResult = {
    ...swept,
    seconds: (performance.now() - t0) / 1000,
    cpuSeconds: (used.user + used.system) / 1e6,
    jobs,
  };
  return { header, betaMode: c.betaMode, result, backendVersions: Object.fromEntries(loaded.backends.map((b) => [b.id, b.versions])) };
}

/** The plain data every unit needs (it crosses to worker threads, so nothing but data). */
function specOf(c: Omit<SweepSpec, 'tieRules' | 'shrinkSteps'>, tieRules: SweepSpec['tieRules'], shrinkSteps: number): SweepSpec {
  const { samples, seed, precisions, family, reluAlphas, accumulate, betaMode } = c;
  return {
    samples,
    seed,
    precisions: [...precisions],
    family: [...family],
    reluAlphas: [...reluAlphas],
    accumulate,
    betaMode,
    tieRules: { ...tieRules },
    shrinkSteps,
  };
}

/** Everything the results depend on: a journal of another run is refused on resume. */
function runIdentity(spec: SweepSpec, generators: readonly Generator[], loaded: LoadedBackends): unknown {
  return {
    adzone: packageVersion(),
    ...spec,
    blockDraws: BLOCK_DRAWS,
    generators: generators.map((g) => g.id),
    backends: loaded.backends.map((b) => ({ id: b.id, versions: b.versions })),
  };
}

interface SweepInput {
  readonly spec: SweepSpec;
  readonly generators: readonly Generator[];
  readonly backends: readonly AdBackend[];
  readonly shrink: boolean;
  readonly runners: readonly Runner[];
  readonly journal: Journal;
  readonly onProgress: (p: VerifyProgress) => void;
  readonly log: (line: string) => void;
}

type Swept = Pick<VerifyResult, 'table' | 'realTies' | 'counterexamples' | 'shrink'>;

/** What the sweep knows of one generator as its units finish. */
interface GeneratorState {
  blocksLeft: number;
  readonly cells: Map<string, CellTally>;
  readonly realTies: RealTieTotals & { draws: number };
  readonly firstHits: Map<string, number>;
}

/** Run every unit (or take it from the journal), then assemble the table, real ties and counterexamples in report order. */
async function sweep(s: SweepInput): Promise<Swept> {
  const { spec, generators } = s;
  const states = new Map(generators.map((g) => [g.id, newState(g.id, spec.samples)]));
  const shrinks = new Map<string, ShrinkOutcome>();
  const model = new ProgressModel(spec.samples * generators.length, generators.length, spec.shrinkSteps, s.shrink, s.runners.length);
  const queue = new TaskQueue();
  const submit = (tasks: readonly SweepTask[]) => {
    for (const t of tasks) {
      const kept = s.journal.done.get(taskKey(t));
      if (kept) absorb(t, kept, false);
      else queue.add(t);
    }
  };
  const absorb = (t: SweepTask, o: SweepOutcome, fresh: boolean) => {
    if (fresh) s.journal.record(t, o);
    if (t.kind === 'shrink' && o.kind === 'shrink') {
      if (o.lost)
        s.log(`no counterexample for ${t.generator} ${t.backend}@${t.precision} ${t.cls}: ${o.lost} (is the backend deterministic?)`);
      shrinks.set(taskKey(t), o);
      model.shrank(o.steps, o.seconds);
      s.onProgress(model.report(`shrank ${t.generator} ${t.backend}@${t.precision} ${t.cls}`));
      return;
    }
    if (t.kind !== 'draws' || o.kind !== 'draws') return;
    const st = states.get(t.generator)!;
    addBlock(st, o);
    model.drew(t.to - t.from, o.seconds);
    if (--st.blocksLeft === 0) {
      const targets = s.shrink ? shrinkTargets(t.generator, st, s.backends, spec.precisions) : [];
      model.generatorDrawn(targets.length);
      submit(targets);
    }
    s.onProgress(model.report(`drew ${t.generator} ${t.from}–${t.to}`));
  };
  s.onProgress(model.report('starting'));
  submit(generators.flatMap((g) => drawBlocks(g.id, spec.samples)));
  await drain(queue, s.runners, (t, o) => absorb(t, o, true));
  return assemble(s, states, shrinks);
}

function newState(generator: string, samples: number): GeneratorState {
  return {
    blocksLeft: Math.ceil(samples / BLOCK_DRAWS),
    cells: new Map(),
    realTies: { generator, draws: 0, tiedWindows: 0, harmful: 0, allZero: 0, otherHarmless: 0, reluZeros: 0 },
    firstHits: new Map(),
  };
}

function drawBlocks(generator: string, samples: number): SweepTask[] {
  const out: SweepTask[] = [];
  for (let from = 0; from < samples; from += BLOCK_DRAWS)
    out.push({ kind: 'draws', generator, from, to: Math.min(samples, from + BLOCK_DRAWS) });
  return out;
}

function addBlock(st: GeneratorState, o: DrawOutcome): void {
  for (const cell of o.cells) {
    const key = `${cell.backend}|${cell.precision}`;
    const have = st.cells.get(key);
    if (have) mergeTally(have, cell);
    else st.cells.set(key, mergeInto(emptyTally(cell.backend, cell.precision), cell));
  }
  const rt = st.realTies as { -readonly [K in keyof RealTieTotals]: RealTieTotals[K] };
  for (const k of ['draws', 'tiedWindows', 'harmful', 'allZero', 'otherHarmless', 'reluZeros'] as const) rt[k] += o.realTies[k];
  for (const h of o.firstHits) {
    const key = `${h.backend}|${h.precision}|${h.cls}`;
    st.firstHits.set(key, Math.min(st.firstHits.get(key) ?? Number.POSITIVE_INFINITY, h.index));
  }
}

function mergeInto(t: CellTally, b: CellTally): CellTally {
  mergeTally(t, b);
  return t;
}

/** The cells of a generator in report order: backends as loaded, precisions as asked (those a backend runs). */
function cellOrder(backends: readonly AdBackend[], precisions: readonly string[]): { backend: string; precision: string }[] {
  return backends.flatMap((b) => precisions.filter((p) => b.precisions.includes(p)).map((precision) => ({ backend: b.id, precision })));
}

/** One shrink per non-regular class of each cell, from the class's first draw. */
function shrinkTargets(generator: string, st: GeneratorState, backends: readonly AdBackend[], precisions: readonly string[]): ShrinkTask[] {
  const out: ShrinkTask[] = [];
  for (const { backend, precision } of cellOrder(backends, precisions)) {
    for (const cls of ZONE_CLASSES) {
      const index = st.firstHits.get(`${backend}|${precision}|${cls}`);
      if (index !== undefined) out.push({ kind: 'shrink', generator, backend, precision, cls, index });
    }
  }
  return out;
}

function assemble(s: SweepInput, states: ReadonlyMap<string, GeneratorState>, shrinks: ReadonlyMap<string, ShrinkOutcome>): Swept {
  const table: TableRow[] = [];
  const counterexamples: Counterexample[] = [];
  let classes = 0;
  let exhausted = 0;
  for (const g of s.generators) {
    const st = states.get(g.id)!;
    for (const { backend, precision } of cellOrder(s.backends, s.spec.precisions)) {
      const cell = st.cells.get(`${backend}|${precision}`);
      if (cell) table.push(tableRow(g.id, cell));
    }
    for (const t of s.shrink ? shrinkTargets(g.id, st, s.backends, s.spec.precisions) : []) {
      const o = shrinks.get(taskKey(t));
      if (!o) continue;
      classes++;
      if (o.exhausted) exhausted++;
      if (o.counterexample) counterexamples.push(o.counterexample);
    }
  }
  const realTies = s.generators.map((g) => ({ ...states.get(g.id)!.realTies }));
  return { table, realTies, counterexamples, ...(s.shrink ? { shrink: { steps: s.spec.shrinkSteps, classes, exhausted } } : {}) };
}

let version: string | undefined;
function packageVersion(): string {
  version ??= (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return version;
}

// ---------------------------------------------------------------------------------------------
// The library sweep on backend objects, and single cases.

/** runVerify's options: the sweep on backend objects the caller holds, in this thread. */
export interface VerifyOptions {
  readonly samples: number;
  readonly seed: number;
  readonly precisions: readonly string[];
  readonly family: readonly MaxPoolJacobian[];
  readonly reluAlphas: readonly number[];
  readonly accumulate: Accumulate;
  readonly betaMode: BetaMode;
  readonly generators: readonly Generator[];
  readonly backends: readonly AdBackend[];
  readonly oracle: Oracle;
  readonly tieRules: Readonly<Record<string, MaxPoolJacobian>>;
  /** Shrink a minimal counterexample for every non-regular class (default true). */
  readonly shrink?: boolean;
  /** Shrink candidates per class, at most (default VERIFY_CONFIG_DEFAULTS.shrinkSteps). */
  readonly shrinkSteps?: number;
  readonly onProgress?: (p: VerifyProgress) => void;
}

/** The verify sweep in this thread, on the given backends and oracle (same units and result as verify()). */
export async function runVerify(o: VerifyOptions): Promise<VerifyResult> {
  const t0 = performance.now();
  const spec = specOf({ ...o, seed: o.seed >>> 0 }, o.tieRules, o.shrinkSteps ?? VERIFY_CONFIG_DEFAULTS.shrinkSteps);
  const ctx: SweepContext = {
    spec,
    backends: o.backends,
    oracle: o.oracle,
    generator: (id) => o.generators.find((g) => g.id === id) ?? generatorById(id),
  };
  const swept = await sweep({
    spec,
    generators: o.generators,
    backends: o.backends,
    shrink: o.shrink !== false,
    runners: [inThreadRunner(ctx)],
    journal: { file: undefined, done: new Map(), record: () => {} },
    onProgress: o.onProgress ?? (() => {}),
    log: () => {},
  });
  return { ...swept, seconds: (performance.now() - t0) / 1000 };
}

/** Classify one problem on one backend at one precision. */
export async function classifyOne(
  o: Omit<VerifyOptions, 'generators' | 'samples' | 'seed'>,
  backend: AdBackend,
  precision: string,
  problem: Problem,
): Promise<Classification> {
  const ctx: SweepContext = {
    spec: specOf({ ...o, samples: 0, seed: 0 }, o.tieRules, 0),
    backends: o.backends,
    oracle: o.oracle,
    generator: generatorById,
  };
  return classifyOn(ctx, backend, precision, problem);
}

/**
 * Find and shrink a minimal case of class `cls` for (generator, backend, precision) from scratch:
 * fast-check runs the property "this draw is not of class cls" from the generator's seed and
 * shrinks the first failure, without a budget. The returned seed and path replay the shrunk case
 * exactly (fc.check with { seed, path }). The sweep shrinks from a known first draw instead (sweep.ts).
 */
export async function shrinkCounterexample(
  o: VerifyOptions,
  gen: Generator,
  backend: AdBackend,
  precision: string,
  cls: ZoneClass,
): Promise<Counterexample | undefined> {
  const seed = generatorSeed(o.seed, gen.id);
  const prop = fc.asyncProperty(gen.arbitrary, async (c) => zoneClass(await classifyOne(o, backend, precision, c.problem)) !== cls);
  const details = await fc.check(prop, { seed, numRuns: Math.max(o.samples, 1), endOnFailure: false });
  if (!details.failed || !details.counterexample) return undefined;
  const c = details.counterexample[0] as Case;
  const classification = await classifyOne(o, backend, precision, c.problem);
  return {
    generator: gen.id,
    backend: backend.id,
    precision,
    class: cls,
    seed: details.seed >>> 0,
    path: details.counterexamplePath ?? '',
    numShrinks: details.numShrinks,
    case: c,
    classification,
  };
}

/** Re-create a case from a generator, seed (signed or unsigned 32-bit) and fast-check path (as written in the report). */
export function replayCase(gen: Generator, seed: number, path: string): Case {
  let last: Case | undefined;
  fc.check(
    fc.property(gen.arbitrary, (c) => {
      last = c;
      return false;
    }),
    { seed, path, numRuns: 1, endOnFailure: true },
  );
  if (!last) throw new Error(`replay: generator ${gen.id} produced no case for seed ${seed} path ${path}`);
  return last;
}

export { jacobianName };
