/**
 * The units of work of the verify sweep, each deterministic on its own, so the run's result does
 * not depend on how many threads run them or in which order they finish:
 * - a draw block: draws [from, to) of one generator (fast-check's draws from generatorSeed(seed,
 *   id), replayed by path so no earlier draw is generated), each classified on every backend at
 *   every precision: per-cell tallies, real-tie totals, and the first draw of each class;
 * - a shrink: fast-check shrinks the first draw of one (generator, backend, precision, class),
 *   starting from that draw's path (the draws before it are already known not to be of the class),
 *   trying at most `shrinkSteps` candidates (the budget: one stubborn class cannot take minutes).
 * Tallies merge by addition and first draws by minimum; blocks and shrinks are keyed, never ordered.
 */
import fc from 'fast-check';
import type { AdBackend } from '../backends/types.ts';
import type { Accumulate } from '../engine/types.ts';
import type { Case, Generator } from '../generators/types.ts';
import type { BetaMode, MaxPoolJacobian } from '../jacobians/index.ts';
import type { Oracle } from '../oracle/types.ts';
import { OUTCOMES, type Outcome, type Problem, ZONE_CLASSES, type ZoneClass, zeroCountsOf, zoneClassOf } from '../problem/index.ts';
import type { Classification, Counterexample, RealTieTotals, TableRow } from '../schema/verify.ts';
import { type ClassifyConfig, classifyPoint, type PointClassification } from './classify.ts';

/** What every unit needs to know of the run; plain data, so it crosses to a worker thread as it is. */
export interface SweepSpec {
  readonly samples: number;
  /** The run's seed, canonical (0 … 2^32 − 1). */
  readonly seed: number;
  readonly precisions: readonly string[];
  readonly family: readonly MaxPoolJacobian[];
  readonly reluAlphas: readonly number[];
  readonly accumulate: Accumulate;
  readonly betaMode: BetaMode;
  readonly tieRules: Readonly<Record<string, MaxPoolJacobian>>;
  /** Shrink candidates tried per class, at most (after the draw itself). */
  readonly shrinkSteps: number;
}

/** A spec with the live objects a unit runs with: backends, oracle, generators. */
export interface SweepContext {
  readonly spec: SweepSpec;
  readonly backends: readonly AdBackend[];
  readonly oracle: Oracle;
  readonly generator: (id: string) => Generator;
}

export interface DrawTask {
  readonly kind: 'draws';
  readonly generator: string;
  readonly from: number;
  readonly to: number;
}

export interface ShrinkTask {
  readonly kind: 'shrink';
  readonly generator: string;
  readonly backend: string;
  readonly precision: string;
  readonly cls: ZoneClass;
  /** The first draw of that class: where shrinking starts. */
  readonly index: number;
}

export type SweepTask = DrawTask | ShrinkTask;

/** One (backend, precision) cell's tally over some draws of one generator. */
export interface CellTally {
  readonly backend: string;
  readonly precision: string;
  n: number;
  readonly counts: Record<ZoneClass, number>;
  harmlessRoundingDiffs: number;
  inconsistent: number;
  underflow: number;
  noForward: number;
  readonly inputZones: Record<Outcome, number>;
}

export interface DrawOutcome {
  readonly kind: 'draws';
  readonly cells: CellTally[];
  readonly realTies: Omit<RealTieTotals, 'generator'>;
  /** The first draw of each non-regular class in each cell. */
  readonly firstHits: { readonly backend: string; readonly precision: string; readonly cls: ZoneClass; readonly index: number }[];
  /** Seconds this block took where it ran (for the progress line's estimate). */
  readonly seconds: number;
}

export interface ShrinkOutcome {
  readonly kind: 'shrink';
  readonly counterexample?: Counterexample;
  /** Shrink candidates classified (the draw itself not counted). */
  readonly steps: number;
  /** Whether the budget stopped shrinking with candidates left. */
  readonly exhausted: boolean;
  readonly seconds: number;
  /** Set when the draw no longer had the class (a backend that is not deterministic). */
  readonly lost?: string;
}

export type SweepOutcome = DrawOutcome | ShrinkOutcome;

/** Seed for one generator: the run's seed mixed with the generator id, so adding a generator changes no other's draws. */
export function generatorSeed(seed: number, id: string): number {
  let h = seed | 0;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x9e3779b1) | 0;
  return h >>> 0;
}

export function classifyConfigOf(ctx: SweepContext, backends = ctx.backends, precisions = ctx.spec.precisions): ClassifyConfig {
  const s = ctx.spec;
  return {
    precisions,
    accumulate: s.accumulate,
    family: s.family,
    reluAlphas: s.reluAlphas,
    betaMode: s.betaMode,
    oracle: ctx.oracle,
    backends,
    tieRules: s.tieRules,
  };
}

/** Draws [from, to) of a generator, exactly as fc.sample(arbitrary, { seed, numRuns: to }).slice(from) gives them. */
export function drawCases(gen: Generator, seed: number, from: number, to: number): Case[] {
  const out: Case[] = [];
  if (to <= from) return out;
  fc.check(
    fc.property(gen.arbitrary, (c) => {
      out.push(c);
      return true;
    }),
    { seed: generatorSeed(seed, gen.id), path: String(from), numRuns: to - from },
  );
  return out;
}

export function emptyTally(backend: string, precision: string): CellTally {
  return {
    backend,
    precision,
    n: 0,
    counts: zeroCountsOf(ZONE_CLASSES),
    harmlessRoundingDiffs: 0,
    inconsistent: 0,
    underflow: 0,
    noForward: 0,
    inputZones: zeroCountsOf(OUTCOMES),
  };
}

function tally(t: CellTally, r: Classification): ZoneClass {
  const cls = zoneClassOf(r.zone, r.cause);
  t.n++;
  t.counts[cls]++;
  if (r.inputZone) t.inputZones[r.inputZone]++;
  if (r.harmlessRoundingDiffs > 0) t.harmlessRoundingDiffs++;
  if (r.inconsistent) t.inconsistent++;
  if (r.underflow) t.underflow++;
  if (r.verdictBasis === 'no-forward') t.noForward++;
  return cls;
}

/** Classify one draw block (see the file comment). */
export async function runDrawTask(ctx: SweepContext, task: DrawTask): Promise<DrawOutcome> {
  const t0 = performance.now();
  const config = classifyConfigOf(ctx);
  const cells = new Map<string, CellTally>();
  const realTies = { draws: 0, tiedWindows: 0, harmful: 0, allZero: 0, otherHarmless: 0, reluZeros: 0 };
  const firstHits: DrawOutcome['firstHits'][number][] = [];
  const cases = drawCases(ctx.generator(task.generator), ctx.spec.seed, task.from, task.to);
  for (const [k, c] of cases.entries()) {
    const pc: PointClassification = await classifyPoint(c.problem, config);
    realTies.draws++;
    realTies.tiedWindows += pc.realTies.windows;
    realTies.harmful += pc.realTies.harmful;
    realTies.allZero += pc.realTies.allZero;
    realTies.otherHarmless += pc.realTies.otherHarmless;
    realTies.reluZeros += pc.realTies.reluZeros;
    for (const r of pc.results) {
      const key = `${r.backend}|${r.precision}`;
      const cell = cells.get(key) ?? emptyTally(r.backend, r.precision);
      cells.set(key, cell);
      const cls = tally(cell, r);
      if (cls !== 'regular' && !firstHits.some((h) => h.backend === r.backend && h.precision === r.precision && h.cls === cls))
        firstHits.push({ backend: r.backend, precision: r.precision, cls, index: task.from + k });
    }
  }
  return { kind: 'draws', cells: [...cells.values()], realTies, firstHits, seconds: (performance.now() - t0) / 1000 };
}

/** Classify one problem on one backend at one precision. */
export async function classifyOn(ctx: SweepContext, backend: AdBackend, precision: string, problem: Problem): Promise<Classification> {
  const pc = await classifyPoint(problem, classifyConfigOf(ctx, [backend], [precision]));
  return pc.results[0];
}

/** Shrink one class from its first draw, within the budget (see the file comment). */
export async function runShrinkTask(ctx: SweepContext, task: ShrinkTask): Promise<ShrinkOutcome> {
  const t0 = performance.now();
  const gen = ctx.generator(task.generator);
  const backend = ctx.backends.find((b) => b.id === task.backend);
  if (!backend) throw new Error(`shrink: backend ${task.backend} is not loaded`);
  let evaluations = 0;
  let exhausted = false;
  const prop = fc.asyncProperty(gen.arbitrary, async (c) => {
    // The first evaluation is the draw itself; each later one is a shrink candidate.
    if (evaluations > ctx.spec.shrinkSteps) {
      exhausted = true;
      return true;
    }
    evaluations++;
    const r = await classifyOn(ctx, backend, task.precision, c.problem);
    return zoneClassOf(r.zone, r.cause) !== task.cls;
  });
  const seed = generatorSeed(ctx.spec.seed, gen.id);
  const details = await fc.check(prop, { seed, path: String(task.index), numRuns: 1, endOnFailure: false });
  const steps = Math.max(0, evaluations - 1);
  const seconds = () => (performance.now() - t0) / 1000;
  if (!details.failed || !details.counterexample) {
    return {
      kind: 'shrink',
      steps,
      exhausted,
      seconds: seconds(),
      lost: `draw ${task.index} of ${gen.id} was not ${task.cls} when shrinking began`,
    };
  }
  const c = details.counterexample[0] as Case;
  const classification = await classifyOn(ctx, backend, task.precision, c.problem);
  const counterexample: Counterexample = {
    generator: gen.id,
    backend: backend.id,
    precision: task.precision,
    class: task.cls,
    seed: details.seed >>> 0,
    path: details.counterexamplePath ?? '',
    numShrinks: details.numShrinks,
    shrinkSteps: steps,
    shrinkExhausted: exhausted,
    case: c,
    classification,
  };
  return { kind: 'shrink', counterexample, steps, exhausted, seconds: seconds() };
}

/** Add `b` into `a` (same backend and precision). */
export function mergeTally(a: CellTally, b: CellTally): void {
  a.n += b.n;
  for (const z of ZONE_CLASSES) a.counts[z] += b.counts[z];
  for (const o of OUTCOMES) a.inputZones[o] += b.inputZones[o];
  a.harmlessRoundingDiffs += b.harmlessRoundingDiffs;
  a.inconsistent += b.inconsistent;
  a.underflow += b.underflow;
  a.noForward += b.noForward;
}

/** A cell's tally as a row of verify.json's table. */
export function tableRow(generator: string, t: CellTally): TableRow {
  const finite = t.n - t.counts.nonfinite;
  const nonRegular = finite - t.counts.regular - t.counts.defect;
  const hasInput = Object.values(t.inputZones).some((v) => v > 0);
  return {
    generator,
    backend: t.backend,
    precision: t.precision,
    n: t.n,
    counts: { ...t.counts },
    nonRegularShare: finite > 0 ? nonRegular / finite : 0,
    harmlessRoundingDiffs: t.harmlessRoundingDiffs,
    inconsistent: t.inconsistent,
    underflow: t.underflow,
    ...(hasInput ? { inputZones: { ...t.inputZones } } : {}),
    ...(t.noForward ? { noForward: t.noForward } : {}),
  };
}
