/**
 * The nightly's verify sweep: runVerify generator by generator (one unit each; the draws of a
 * generator depend only on the seed and its id, so the table equals one `adzone verify` run's),
 * then shrinking one minimal counterexample per non-regular (generator, backend, precision, class),
 * round-robin over generators, up to the plan's maxShrinks, each shrink capped at shrinkCap steps. Writes verify/verify.json (validated,
 * schema adzone/verify 1, the options of fixtures/baseline so the gate can compare; assembled by the
 * verify stage's own verifyJson, as `adzone verify` writes it) and verify.md.
 */
import { join } from 'node:path';
import fc from 'fast-check';
import { GENERATORS, generatorById, type Generator } from '../generators/index.ts';
import { loadBackends, type LoadedBackends as Loaded } from '../backends/registry.ts';
import { jacobianName, parseJacobian } from '../jacobians/index.ts';
import { decimalOracle } from '../oracle/index.ts';
import {
  ZONE_CLASSES,
  runVerify,
  shrinkCounterexample,
  type Counterexample,
  type RealTieTotals,
  type TableRow,
  type VerifyOptions,
  type VerifyRun,
  verifyJson,
  type ZoneClass,
} from '../zones/verify.ts';
import { verifyMarkdown } from '../report/verifyMarkdown.ts';
import { writeResults } from '../schema/index.ts';
import { shrinkCost, type Costs, type VerifyPlan } from './plan.ts';
import type { Clock, StageTicker } from './progress.ts';

/** What the committed baseline (fixtures/baseline/verify.json) was run with: the gate refuses other families. */
export const VERIFY_DEFAULTS = {
  generators: GENERATORS.map((g) => g.id),
  backends: ['engine', 'tfjs-cpu', 'tfjs-wasm'],
  precisions: ['16', '32', '64'],
  jacobians: ['first', 'minnorm', 'beta:10'],
} as const;

/** The backends of the verify stage (src/backends/registry.ts loadBackends), with the seconds spent loading them and measuring tie rules. */
export type LoadedBackends = Loaded & { readonly seconds: number };

export async function loadVerifyBackends(ids: readonly string[], log: (s: string) => void): Promise<LoadedBackends> {
  const t0 = performance.now();
  const out = await loadBackends(ids, (line) => log(`nightly ▸ ${line}`));
  return { ...out, seconds: (performance.now() - t0) / 1000 };
}

export function verifyOptions(
  plan: Pick<VerifyPlan, 'samples' | 'precisions' | 'jacobians'>,
  seed: number,
  loaded: LoadedBackends,
): VerifyOptions {
  return {
    samples: plan.samples,
    seed,
    precisions: plan.precisions,
    family: plan.jacobians.map(parseJacobian),
    reluAlphas: [0],
    accumulate: 'strict',
    betaMode: 'backward',
    generators: [],
    backends: loaded.backends,
    oracle: decimalOracle,
    tieRules: loaded.tieRules,
    shrink: false,
  };
}

/** The generator with its shrinking capped (see LIMITS.shrinkCap): same draws, same paths, fewer shrink steps. */
export function cappedShrink(gen: Generator, cap: number): Generator {
  return { id: gen.id, description: gen.description, nearTie: gen.nearTie, arbitrary: fc.limitShrink(gen.arbitrary, cap) };
}

export interface ShrinkTarget {
  readonly generator: string;
  readonly backend: string;
  readonly precision: string;
  readonly cls: ZoneClass;
}

/** Every non-regular class of the table, taken round-robin over generators (in table order within one). */
export function shrinkTargets(table: readonly TableRow[]): ShrinkTarget[] {
  const per = new Map<string, ShrinkTarget[]>();
  for (const r of table) {
    const list = per.get(r.generator) ?? [];
    for (const cls of ZONE_CLASSES)
      if (cls !== 'regular' && (r.counts[cls] ?? 0) > 0)
        list.push({ generator: r.generator, backend: r.backend, precision: r.precision, cls });
    per.set(r.generator, list);
  }
  const lists = [...per.values()];
  const out: ShrinkTarget[] = [];
  for (let k = 0; lists.some((l) => k < l.length); k++) for (const l of lists) if (k < l.length) out.push(l[k]);
  return out;
}

export interface VerifySummary {
  readonly file: string;
  readonly samples: number;
  readonly generatorsDone: number;
  readonly generators: number;
  readonly shrinksPlanned: number;
  readonly shrinksDone: number;
  readonly counterexamples: number;
  readonly truncated: boolean;
}

export interface VerifyStageConfig {
  readonly out: string;
  readonly seed: number;
  readonly version: string;
  readonly command: string;
  readonly plan: VerifyPlan;
  readonly costs: Costs['verify'];
  readonly loaded: LoadedBackends;
  readonly clock: Clock;
  readonly tick: StageTicker;
}

export async function verifyStage(o: VerifyStageConfig): Promise<VerifySummary> {
  const t0 = performance.now();
  const base = verifyOptions(o.plan, o.seed, o.loaded);
  const gens = o.plan.generators.map((id) => generatorById(id));
  const drawn = await drawGenerators(o, base, gens);
  const shrunk = drawn.truncated ? { counterexamples: [], done: 0, truncated: false } : await shrinkRoundRobin(o, base, gens, drawn.table);
  const run: VerifyRun = {
    header: {
      createdAt: new Date().toISOString(),
      seed: o.seed,
      samples: o.plan.samples,
      precisions: [...o.plan.precisions],
      jacobians: base.family.map(jacobianName),
      reluAlphas: [...base.reluAlphas],
      accumulate: base.accumulate,
      backends: o.loaded.backends.map((b) => ({ id: b.id, description: b.description })),
      unavailable: o.loaded.unavailable,
      tieRules: o.loaded.tieEvidence,
      generators: gens.map((g) => ({ id: g.id, description: g.description, nearTie: g.nearTie })),
    },
    betaMode: base.betaMode,
    result: {
      table: drawn.table,
      realTies: drawn.realTies,
      counterexamples: shrunk.counterexamples,
      seconds: (performance.now() - t0) / 1000,
    },
    backendVersions: Object.fromEntries(o.loaded.backends.map((b) => [b.id, b.versions])),
  };
  const file = join(o.out, 'verify', 'verify.json');
  writeResults([
    { file, kind: 'verify', data: verifyJson(run, o) },
    { path: join(o.out, 'verify', 'verify.md'), data: verifyMarkdown({ ...run.header, command: o.command }, run.result, run.betaMode) },
  ]);
  return {
    file,
    samples: o.plan.samples,
    generatorsDone: drawn.done,
    generators: gens.length,
    shrinksPlanned: o.plan.maxShrinks,
    shrinksDone: shrunk.done,
    counterexamples: shrunk.counterexamples.length,
    truncated: drawn.truncated || shrunk.truncated,
  };
}

/** The draws, generator by generator, each started only when its estimate fits the budget. */
async function drawGenerators(o: VerifyStageConfig, base: VerifyOptions, gens: readonly Generator[]) {
  const table: TableRow[] = [];
  const realTies: RealTieTotals[] = [];
  let done = 0;
  for (const gen of gens) {
    const est = o.plan.samples * (o.costs.perDraw[gen.id] ?? 0.05);
    if (!o.clock.fits(est)) {
      o.tick.note(
        `stopping before ${gen.id} (estimated ${est.toFixed(0)} s): the budget is about to run out; verify.json keeps the ${done} generator(s) done`,
      );
      return { table, realTies, done, truncated: true };
    }
    const t = performance.now();
    const r = await runVerify({ ...base, generators: [gen] });
    table.push(...r.table);
    realTies.push(...r.realTies);
    done++;
    o.tick.unit(gen.id, est, (performance.now() - t) / 1000);
  }
  return { table, realTies, done, truncated: false };
}

/** Up to the plan's maxShrinks counterexamples, round-robin over generators, each shrink capped at shrinkCap steps. */
async function shrinkRoundRobin(o: VerifyStageConfig, base: VerifyOptions, gens: readonly Generator[], table: readonly TableRow[]) {
  const counterexamples: Counterexample[] = [];
  const targets = shrinkTargets(table).slice(0, o.plan.maxShrinks);
  let done = 0;
  for (const s of targets) {
    const est = shrinkCost(o.costs, o.plan.samples, s.generator);
    if (!o.clock.fits(est)) {
      o.tick.note(`stopping the shrinks after ${done} of ${targets.length}: the budget is about to run out`);
      return { counterexamples, done, truncated: true };
    }
    const t = performance.now();
    const backend = o.loaded.backends.find((b) => b.id === s.backend)!;
    const gen = cappedShrink(generatorById(s.generator), o.plan.shrinkCap);
    const cx = await shrinkCounterexample({ ...base, generators: gens }, gen, backend, s.precision, s.cls);
    if (cx) counterexamples.push(cx);
    done++;
    o.tick.unit(`shrink ${s.generator} ${s.backend}@${s.precision} ${s.cls}`, est, (performance.now() - t) / 1000);
  }
  return { counterexamples, done, truncated: false };
}
