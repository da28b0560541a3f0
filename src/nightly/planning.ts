/**
 * The nightly's plan for this run: the counts of a given plan.json (no calibration), or a short
 * calibration here and counts fitted to the budget (plan.ts). Stages the data leaves out (data.ts)
 * are dropped before either, with their reason in plan.json's `dropped`; a unit left out (VGG11
 * without CIFAR-10) goes into plan.json's `leftOut` when the plan would have run it (a plan file's
 * counts have VGG batches, or the calibrated planner would have granted them), and the zones stage
 * runs without it. The gate reads both and says PARTIAL.
 */
import { join } from 'node:path';
import { shown } from '../schema/discover.ts';
import { fmtSeconds } from './budget.ts';
import { calibrate, referenceCosts } from './calibrate.ts';
import type { ResolvedNightlyConfig } from './config.ts';
import { type LeftOut, leftOutLine, UNIT_NETWORKS, VGG_UNIT } from './data.ts';
import { type Costs, type Counts, type Estimates, estimate, planNightly, reserveFor, type Stage, STAGES } from './plan.ts';
import type { Clock } from './progress.ts';
import type { StageRecord } from './report.ts';
import { PLAN_SCHEMA, type PlanFile } from './schema.ts';
import { type LoadedBackends, VERIFY_DEFAULTS } from './verify.ts';

export interface Planned {
  readonly file: PlanFile;
  readonly costs: Costs;
  readonly counts: Counts;
  /** The verify backends, when the calibration loaded them. */
  readonly loaded: LoadedBackends | null;
  readonly calibrationSeconds: number;
  /** The calibration's record, and those of the stages dropped (by the data or the plan) or not requested. */
  readonly records: readonly StageRecord[];
  /** What the data here leaves out of this plan: stages whole, and units the plan would have run. */
  readonly leftOut: readonly LeftOut[];
  readonly notes: readonly string[];
  readonly crashed: boolean;
}

const errorText = (e: unknown) => ((e as Error)?.stack ?? String(e)).split('\n').slice(0, 6).join('\n');

/** The stages dropped for want of data, as plan.json's `dropped`. */
function dataDropped(c: ResolvedNightlyConfig): { stage: Stage; reason: string }[] {
  return c.leftOut.filter((l) => l.unit === null).map((l) => ({ stage: l.stage, reason: `no input here: ${l.reason}` }));
}

export async function makePlan(c: ResolvedNightlyConfig, clock: Clock): Promise<Planned> {
  const dropped = dataDropped(c);
  const runnable = c.stages.filter((s) => !dropped.some((d) => d.stage === s));
  const p = c.plan ? fromPlanFile(c, c.plan, runnable) : await calibrated(c, clock, runnable);
  const records: StageRecord[] = [...p.records];
  for (const d of [...dropped, ...p.file.dropped.filter((d) => !dropped.some((x) => x.stage === d.stage))])
    records.push({ stage: d.stage, status: 'skipped', plannedSeconds: 0, seconds: 0, note: d.reason });
  for (const s of STAGES)
    if (!c.stages.includes(s))
      records.push({ stage: s, status: 'skipped', plannedSeconds: 0, seconds: 0, note: 'not requested (--stages)' });
  return { ...p, records };
}

type PartPlan = Omit<Planned, 'records'> & { readonly records: StageRecord[] };

/** The units the data leaves out of a plan that `wanted` them, as plan.json's `leftOut`, and the stages left out whole. */
function leftOutOf(c: ResolvedNightlyConfig, wanted: (unit: string) => boolean) {
  const units = c.leftOut.filter((l): l is LeftOut & { unit: string } => l.unit !== null && wanted(l.unit));
  return {
    all: [...c.leftOut.filter((l) => l.unit === null), ...units],
    file: units.map((l) => ({ stage: l.stage, unit: l.unit, ...UNIT_NETWORKS[l.unit], reason: l.reason })),
    notes: units.map(leftOutLine),
  };
}

function fromPlanFile(c: ResolvedNightlyConfig, plan: PlanFile, runnable: readonly Stage[]): PartPlan {
  const keep = (s: Stage) => runnable.includes(s);
  const counts: Counts = {
    suites: keep('suites') ? plan.counts.suites : null,
    verify: keep('verify') ? plan.counts.verify : null,
    zones: keep('zones') ? plan.counts.zones : null,
    train: keep('train') ? plan.counts.train : null,
  };
  const reserve = reserveFor(c.budgetSeconds);
  const e = estimate(plan.costs, counts);
  const estimates: Estimates = { ...e, reserve, total: e.suites + e.verify + e.zones + e.train + reserve };
  // c.leftOut was worked out from this plan's counts: every unit in it is one the plan runs
  const gone = leftOutOf(c, () => true);
  const notes = [...gone.notes];
  if (estimates.total > c.budgetSeconds)
    notes.push(
      `the plan's estimates (${fmtSeconds(estimates.total)}, on the machine that made it) exceed the budget ${fmtSeconds(c.budgetSeconds)}: stages may be cut short`,
    );
  const file: PlanFile = {
    ...plan,
    createdAt: new Date().toISOString(),
    command: c.command,
    seed: c.seed,
    budgetSeconds: c.budgetSeconds,
    source: 'plan-file',
    from: c.planPath!,
    stages: [...runnable],
    dropped: dataDropped(c),
    leftOut: gone.file,
    notes: [...(plan.notes ?? []), ...notes],
    calibrationSeconds: 0,
    counts,
    estimates,
    pin: pinText(c),
  };
  c.log(`nightly ▸ plan: counts from ${shown(c.planPath!)} (no calibration); estimated ${fmtSeconds(estimates.total)}`);
  return { file, costs: plan.costs, counts, loaded: null, calibrationSeconds: 0, records: [], leftOut: gone.all, notes, crashed: false };
}

/** Calibrate the runnable stages (a failed calibration plans with the reference machine's costs, and fails the run). */
async function calibrateHere(c: ResolvedNightlyConfig, runnable: readonly Stage[]) {
  const t = performance.now();
  try {
    const cal = await calibrate({ stages: runnable, version: c.version, log: c.log });
    const seconds = (performance.now() - t) / 1000;
    const failed = cal.failures.length ? { note: `failed parts: ${cal.failures.join('; ')}` } : {};
    const record: StageRecord = { stage: 'calibrate', status: 'done', plannedSeconds: seconds, seconds, ...failed };
    const notes = cal.failures.map((f) => `calibration of ${f}; that stage was planned with the reference machine's costs`);
    return { costs: cal.costs, loaded: cal.loaded, seconds, record, notes, crashed: false };
  } catch (e) {
    const seconds = (performance.now() - t) / 1000;
    c.log(`nightly ▸ calibrate: crashed (${(e as Error).message}); planning with the reference machine's costs`);
    const record: StageRecord = { stage: 'calibrate', status: 'crashed', plannedSeconds: 0, seconds, error: errorText(e) };
    return { costs: referenceCosts(1), loaded: null, seconds, record, notes: [], crashed: true };
  }
}

async function calibrated(c: ResolvedNightlyConfig, clock: Clock, runnable: readonly Stage[]): Promise<PartPlan> {
  const cal = await calibrateHere(c, runnable);
  const vgg = !c.leftOut.some((l) => l.stage === 'zones' && l.unit === VGG_UNIT);
  const inp = {
    budgetSeconds: c.budgetSeconds,
    spentSeconds: clock.elapsed(),
    stages: runnable,
    costs: cal.costs,
    verify: VERIFY_DEFAULTS,
  };
  const p = planNightly({ ...inp, vgg });
  // VGG11 counts as left out only when this budget would have granted it batches (else the budget left it out)
  const wouldVgg = !vgg && (planNightly({ ...inp, vgg: true }).counts.zones?.vggBatches ?? 0) > 0;
  const gone = leftOutOf(c, (unit) => unit !== VGG_UNIT || wouldVgg);
  const counts = p.counts;
  const notes = [...cal.notes, ...gone.notes, ...p.notes, ...p.dropped.map((d) => `stage ${d.stage} dropped: ${d.reason}`)];
  const file: PlanFile = {
    schema: PLAN_SCHEMA,
    schemaVersion: 1,
    createdAt: new Date().toISOString(),
    command: c.command,
    seed: c.seed,
    budgetSeconds: c.budgetSeconds,
    source: 'calibrated',
    stages: runnable.filter((s) => counts[s] !== null),
    dropped: [...dataDropped(c), ...p.dropped],
    leftOut: gone.file,
    notes: [...gone.notes, ...p.notes],
    calibrationSeconds: cal.seconds,
    counts,
    costs: cal.costs,
    estimates: p.estimates,
    pin: pinText(c),
  };
  const what = STAGES.filter((s) => counts[s]).map((s) => `${s} ${fmtSeconds(p.estimates[s])}`);
  c.log(
    `nightly ▸ plan: ${what.join(', ')}; estimated end ${fmtSeconds(p.estimates.total)} of ${fmtSeconds(c.budgetSeconds)}${p.dropped.length ? `; dropped ${p.dropped.map((d) => d.stage).join(', ')}` : ''}`,
  );
  return {
    file,
    costs: cal.costs,
    counts,
    loaded: cal.loaded,
    calibrationSeconds: cal.seconds,
    records: [cal.record],
    leftOut: gone.all,
    notes,
    crashed: cal.crashed,
  };
}

function pinText(c: ResolvedNightlyConfig): string {
  return `adzone nightly --plan ${shown(join(c.out, 'plan.json'))} --seed ${c.seed} --budget <at least the estimates' total> --out <new folder>: the same counts and seed give the same numbers`;
}
