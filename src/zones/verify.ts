/**
 * The verification sweep behind `adzone verify`: draw cases from the generators, classify each at
 * every precision on every backend, count zones, and shrink one minimal counterexample for every
 * non-regular class found.
 */
import fc from 'fast-check';
import type { MaxPoolJacobian, BetaMode } from '../jacobians/index.ts';
import { jacobianName } from '../jacobians/index.ts';
import type { Accumulate } from '../engine/types.ts';
import type { AdBackend } from '../backends/types.ts';
import type { Oracle } from '../oracle/types.ts';
import type { Case, Generator } from '../generators/types.ts';
import { OUTCOMES, ZONE_CLASSES, zeroCountsOf, zoneClassOf, type Outcome, type Problem, type ZoneClass } from '../problem/index.ts';
import type { Counterexample, RealTieTotals, TableRow, VerifyResult } from '../schema/verify.ts';
import { classifyPoint, type Classification, type ClassifyConfig, type PointClassification } from './classify.ts';

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
  readonly onProgress?: (done: number, total: number, what: string) => void;
}

export type { Counterexample, RealTieTotals, TableRow, VerifyResult } from '../schema/verify.ts';
export { ZONE_CLASSES, type ZoneClass } from '../problem/index.ts';

/** The zone class of a classification: its zone, with the cause for a compensation. */
export function zoneClass(c: Pick<Classification, 'zone' | 'cause'>): ZoneClass {
  return zoneClassOf(c.zone, c.cause);
}

/** Seed for one generator: the run's seed mixed with the generator id, so adding a generator changes no other's draws. */
export function generatorSeed(seed: number, id: string): number {
  let h = seed | 0;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x9e3779b1) | 0;
  return h >>> 0;
}

function classifyConfig(o: VerifyOptions, backends = o.backends, precisions = o.precisions): ClassifyConfig {
  return {
    precisions,
    accumulate: o.accumulate,
    family: o.family,
    reluAlphas: o.reluAlphas,
    betaMode: o.betaMode,
    oracle: o.oracle,
    backends,
    tieRules: o.tieRules,
  };
}

export async function runVerify(o: VerifyOptions): Promise<VerifyResult> {
  const t0 = Date.now();
  const config = classifyConfig(o);
  const rows = new Map<string, TableRow & { counts: Record<ZoneClass, number>; inputZones: Record<Outcome, number> }>();
  const realTies: RealTieTotals[] = [];
  const found = new Map<string, { generator: Generator; backend: AdBackend; precision: string; cls: ZoneClass }>();
  const total = o.samples * o.generators.length;
  let done = 0;
  for (const gen of o.generators) {
    const cases = fc.sample(gen.arbitrary, { seed: generatorSeed(o.seed, gen.id), numRuns: o.samples });
    const rt = { generator: gen.id, draws: 0, tiedWindows: 0, harmful: 0, allZero: 0, otherHarmless: 0, reluZeros: 0 };
    for (const c of cases) {
      const pc: PointClassification = await classifyPoint(c.problem, config);
      rt.draws++;
      rt.tiedWindows += pc.realTies.windows;
      rt.harmful += pc.realTies.harmful;
      rt.allZero += pc.realTies.allZero;
      rt.otherHarmless += pc.realTies.otherHarmless;
      rt.reluZeros += pc.realTies.reluZeros;
      for (const r of pc.results) {
        const key = `${gen.id}|${r.backend}|${r.precision}`;
        let row = rows.get(key);
        if (!row) {
          row = {
            generator: gen.id,
            backend: r.backend,
            precision: r.precision,
            n: 0,
            counts: zeroCountsOf(ZONE_CLASSES),
            nonRegularShare: 0,
            harmlessRoundingDiffs: 0,
            inconsistent: 0,
            underflow: 0,
            noForward: 0,
            inputZones: zeroCountsOf(OUTCOMES),
          };
          rows.set(key, row);
        }
        const cls = zoneClass(r);
        (row as { n: number }).n++;
        row.counts[cls]++;
        if (r.inputZone) row.inputZones[r.inputZone]++;
        if (r.harmlessRoundingDiffs > 0) (row as { harmlessRoundingDiffs: number }).harmlessRoundingDiffs++;
        if (r.inconsistent) (row as { inconsistent: number }).inconsistent++;
        if (r.underflow) (row as { underflow: number }).underflow++;
        if (r.verdictBasis === 'no-forward') (row as { noForward: number }).noForward++;
        if (cls !== 'regular') {
          const fk = `${key}|${cls}`;
          if (!found.has(fk))
            found.set(fk, { generator: gen, backend: o.backends.find((b) => b.id === r.backend)!, precision: r.precision, cls });
        }
      }
      done++;
      o.onProgress?.(done, total, gen.id);
    }
    realTies.push(rt);
  }
  const table: TableRow[] = [...rows.values()].map((r) => {
    const finite = r.n - r.counts.nonfinite;
    const nonRegular = finite - r.counts.regular - r.counts.defect;
    const hasInput = Object.values(r.inputZones).some((v) => v > 0);
    const { inputZones, noForward, ...rest } = r;
    return {
      ...rest,
      nonRegularShare: finite > 0 ? nonRegular / finite : 0,
      ...(hasInput ? { inputZones } : {}),
      ...(noForward ? { noForward } : {}),
    };
  });
  const counterexamples: Counterexample[] = [];
  if (o.shrink !== false) {
    let i = 0;
    for (const f of found.values()) {
      o.onProgress?.(++i, found.size, `shrinking ${f.generator.id} ${f.backend.id}@${f.precision} ${f.cls}`);
      const cx = await shrinkCounterexample(o, f.generator, f.backend, f.precision, f.cls);
      if (cx) counterexamples.push(cx);
    }
  }
  return { table, realTies, counterexamples, seconds: (Date.now() - t0) / 1000 };
}

/** Classify one problem on one backend at one precision. */
export async function classifyOne(
  o: Omit<VerifyOptions, 'generators' | 'samples' | 'seed'>,
  backend: AdBackend,
  precision: string,
  problem: Problem,
): Promise<Classification> {
  const pc = await classifyPoint(problem, classifyConfig(o as VerifyOptions, [backend], [precision]));
  return pc.results[0];
}

/**
 * Find and shrink a minimal case of class `cls` for (generator, backend, precision): fast-check
 * runs the property "this draw is not of class cls" from the generator's seed and shrinks the
 * first failure. The returned seed and path replay the shrunk case exactly (fc.check with
 * { seed, path }).
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
    seed: details.seed,
    path: details.counterexamplePath ?? '',
    numShrinks: details.numShrinks,
    case: c,
    classification,
  };
}

/** Re-create a case from a generator, seed and fast-check path (as written in the report). */
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
