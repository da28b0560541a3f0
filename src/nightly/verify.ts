/**
 * The nightly's verify sweep: runVerify generator by generator (one unit each; the draws of a
 * generator depend only on the seed and its id, so the table equals one `adzone verify` run's),
 * then shrinking one minimal counterexample per non-regular (generator, backend, precision, class),
 * round-robin over generators, up to the plan's maxShrinks, each shrink capped at shrinkCap steps. Writes verify/verify.json (validated,
 * schema adzone/verify 1, the options of fixtures/baseline so the gate can compare) and verify.md.
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
  type ZoneClass,
} from '../zones/verify.ts';
import { verifyMarkdown, type VerifyHeader } from '../report/verifyMarkdown.ts';
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

export async function verifyStage(o: {
  readonly out: string;
  readonly seed: number;
  readonly version: string;
  readonly command: string;
  readonly plan: VerifyPlan;
  readonly costs: Costs['verify'];
  readonly loaded: LoadedBackends;
  readonly clock: Clock;
  readonly tick: StageTicker;
}): Promise<VerifySummary> {
  const { plan, costs, clock, tick } = o;
  const t0 = performance.now();
  const base = verifyOptions(plan, o.seed, o.loaded);
  const gens = plan.generators.map((id) => generatorById(id));
  const table: TableRow[] = [];
  const realTies: RealTieTotals[] = [];
  let truncated = false;
  let done = 0;
  for (const gen of gens) {
    const est = plan.samples * (costs.perDraw[gen.id] ?? 0.05);
    if (!clock.fits(est)) {
      truncated = true;
      tick.note(
        `stopping before ${gen.id} (estimated ${est.toFixed(0)} s): the budget is about to run out; verify.json keeps the ${done} generator(s) done`,
      );
      break;
    }
    const t = performance.now();
    const r = await runVerify({ ...base, generators: [gen] });
    table.push(...r.table);
    realTies.push(...r.realTies);
    done++;
    tick.unit(gen.id, est, (performance.now() - t) / 1000);
  }
  const counterexamples: Counterexample[] = [];
  const targets = truncated ? [] : shrinkTargets(table).slice(0, plan.maxShrinks);
  let shrinks = 0;
  for (const s of targets) {
    const est = shrinkCost(costs, plan.samples, s.generator);
    if (!clock.fits(est)) {
      truncated = true;
      tick.note(`stopping the shrinks after ${shrinks} of ${targets.length}: the budget is about to run out`);
      break;
    }
    const t = performance.now();
    const backend = o.loaded.backends.find((b) => b.id === s.backend)!;
    const cx = await shrinkCounterexample(
      { ...base, generators: gens },
      cappedShrink(generatorById(s.generator), plan.shrinkCap),
      backend,
      s.precision,
      s.cls,
    );
    if (cx) counterexamples.push(cx);
    shrinks++;
    tick.unit(`shrink ${s.generator} ${s.backend}@${s.precision} ${s.cls}`, est, (performance.now() - t) / 1000);
  }
  const header: VerifyHeader = {
    command: o.command,
    createdAt: new Date().toISOString(),
    seed: o.seed,
    samples: plan.samples,
    precisions: [...plan.precisions],
    jacobians: base.family.map(jacobianName),
    reluAlphas: [...base.reluAlphas],
    accumulate: base.accumulate,
    backends: o.loaded.backends.map((b) => ({ id: b.id, description: b.description })),
    unavailable: o.loaded.unavailable,
    tieRules: o.loaded.tieEvidence,
    generators: gens.map((g) => ({ id: g.id, description: g.description, nearTie: g.nearTie })),
  };
  const result = { table, realTies, counterexamples, seconds: (performance.now() - t0) / 1000 };
  const json = {
    schema: 'adzone/verify',
    schemaVersion: 1,
    tool: { adzone: o.version, node: process.version, backends: Object.fromEntries(o.loaded.backends.map((b) => [b.id, b.versions])) },
    ...header,
    betaMode: base.betaMode,
    ...result,
  };
  const file = join(o.out, 'verify', 'verify.json');
  writeResults([
    { file, kind: 'verify', data: json },
    { path: join(o.out, 'verify', 'verify.md'), data: verifyMarkdown(header, result) },
  ]);
  return {
    file,
    samples: plan.samples,
    generatorsDone: done,
    generators: gens.length,
    shrinksPlanned: plan.maxShrinks,
    shrinksDone: shrinks,
    counterexamples: counterexamples.length,
    truncated,
  };
}
