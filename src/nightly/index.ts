/**
 * `adzone nightly` as a stage: nightly(config) runs the whole check in one time-budgeted job and
 * writes everything into one folder; no argv, no printing (progress goes through `log`).
 *
 *   check before any work (config.ts: plan, baseline, data, output folder)
 *   → plan (planning.ts: a plan file's counts, or a calibration fitted to the budget) → plan.json
 *   → stages (stages.ts: property suites, verify sweep, network zones, ablation slice)
 *   → gate against the baseline, then the report led by its verdict (report.ts) → nightly.json
 *
 * What the data here does not allow is left out and said (data.ts); the gate then names it (PARTIAL).
 * A stage that crashes is kept in nightly.json and makes `crashed` true: the run failed.
 */
import { join } from 'node:path';
import { shown } from '../schema/discover.ts';
import { writeResult } from '../schema/index.ts';
import { type NightlyConfig, type ResolvedNightlyConfig, resolveNightlyConfig } from './config.ts';
import { leftOutLine } from './data.ts';
import { reserveFor } from './plan.ts';
import { makePlan, type Planned } from './planning.ts';
import { type Clock, clock as makeClock } from './progress.ts';
import type { GateRun } from '../report/index.ts';
import { type GateVerdict, gateLine, type NightlyView, runGate, type StageRecord, writeReports } from './report.ts';
import { NIGHTLY_SCHEMA, type PlanFile } from './schema.ts';
import { runStages, type StagesDone } from './stages.ts';

export type { NightlyConfig, ResolvedNightlyConfig } from './config.ts';
export { NIGHTLY_DEFAULTS, resolveNightlyConfig } from './config.ts';
export type { GateVerdict, StageRecord } from './report.ts';

export interface NightlyFiles {
  readonly html: string | null;
  readonly markdown: string | null;
  readonly junit: string | null;
  readonly json: readonly string[];
}

/** What a run did: nightly.json's content (null for a dry run), the plan, and where it went. */
export interface NightlyResult {
  readonly config: ResolvedNightlyConfig;
  readonly plan: PlanFile;
  /** plan.json, when written (not by a dry run without `out`). */
  readonly planFile: string | null;
  readonly record: ReturnType<typeof nightlyRecord> | null;
  /** A stage, the calibration, the gate or the report crashed. */
  readonly crashed: boolean;
}

export async function nightly(config: NightlyConfig): Promise<NightlyResult> {
  const c = resolveNightlyConfig(config);
  const startedAt = new Date().toISOString();
  const clock = makeClock(c.budgetSeconds, reserveFor(c.budgetSeconds));
  for (const l of c.leftOut) c.log(`nightly ▸ ${leftOutLine(l)}`);
  if (c.baselineNote) c.log(`nightly ▸ ${c.baselineNote}`);
  const planned = await makePlan(c, clock);
  const planFile = c.writes ? join(c.out, 'plan.json') : null;
  if (planFile) writeResult(planFile, 'nightly-plan', planned.file);
  if (c.dryRun) return { config: c, plan: planned.file, planFile, record: null, crashed: planned.crashed };
  const done = await runStages(c, planned, clock);
  const after = await gateAndReport(c, planned, done, clock);
  const record = nightlyRecord(c, planned, done, after, { startedAt, seconds: clock.elapsed() });
  writeResult(join(c.out, 'nightly.json'), 'nightly', record);
  return { config: c, plan: planned.file, planFile, record, crashed: record.crashed };
}

interface AfterStages {
  readonly gate: GateVerdict;
  readonly records: readonly StageRecord[];
  readonly files: NightlyFiles;
  readonly crashed: boolean;
}

type Step = { readonly record: StageRecord; readonly crashed: boolean };

function crashedStep(c: ResolvedNightlyConfig, stage: string, seconds: number, e: unknown): Step {
  c.log(`nightly ▸ ${stage}: crashed — ${(e as Error).message}`);
  return { record: { stage, status: 'crashed', plannedSeconds: 0, seconds, error: errorText(e) }, crashed: true };
}

/** The gate (its verdict recorded, never failing the run), then the reports led by it; suites.json with them. */
async function gateAndReport(c: ResolvedNightlyConfig, p: Planned, done: StagesDone, clock: Clock): Promise<AfterStages> {
  const g = await gateStep(c, clock);
  c.log(`nightly ▸ ${gateLine(g.verdict)}`);
  for (const r of g.verdict.regressions.slice(0, 10)) c.log(`  REGRESSION ${r}`);
  if (done.suites) writeSuitesJson(c.out, done.suites);
  const json = resultFiles(c, done).map(shown);
  const view: NightlyView = {
    command: c.command,
    seed: c.seed,
    budgetSeconds: c.budgetSeconds,
    elapsedSeconds: clock.elapsed(),
    planFile: shown(join(c.out, 'plan.json')),
    planSource: p.file.source,
    counts: p.counts,
    stages: [...p.records, ...done.records, g.record],
    suites: done.suites,
    gate: g.verdict,
    notes: p.notes,
    leftOutUnits: p.leftOut.flatMap((l) => (l.unit ? [l.unit] : [])),
  };
  const r = await reportStep(
    c,
    view,
    g.run,
    clock,
    json.some((f) => !/(plan|nightly|suites)\.json$/.test(f)),
  );
  return {
    gate: g.verdict,
    records: [g.record, r.record],
    files: { ...r.written, json },
    crashed: g.crashed || r.crashed,
  };
}

async function gateStep(c: ResolvedNightlyConfig, clock: Clock): Promise<Step & { verdict: GateVerdict; run: GateRun }> {
  const t = clock.elapsed();
  try {
    const g = await runGate(c.baseline, c.out, c.baselineNote);
    const status = c.baseline ? 'done' : 'skipped';
    return {
      record: { stage: 'gate', status, plannedSeconds: 0, seconds: clock.elapsed() - t, note: gateLine(g.record) },
      crashed: false,
      verdict: g.record,
      run: g.run,
    };
  } catch (e) {
    const baseline = c.baseline ? shown(c.baseline) : '';
    const message = `the gate crashed: ${(e as Error).message}`;
    const verdict: GateVerdict = { verdict: 'unusable', baseline, regressions: [], notes: [], skipped: [], message };
    return {
      ...crashedStep(c, 'gate', clock.elapsed() - t, e),
      verdict,
      run: { gate: { state: 'unusable', baseline, message }, sides: {} },
    };
  }
}

async function reportStep(c: ResolvedNightlyConfig, view: NightlyView, gate: GateRun, clock: Clock, anything: boolean) {
  const none = { html: null, markdown: null, junit: null };
  if (!anything)
    return {
      record: { stage: 'report', status: 'skipped', plannedSeconds: 0, seconds: 0, note: 'no result file to report' } as StageRecord,
      crashed: false,
      written: none,
    };
  const t = clock.elapsed();
  try {
    const w = await writeReports(c.out, view, gate);
    const written = { html: shown(w.html), markdown: shown(w.markdown), junit: shown(w.junit) };
    return {
      record: { stage: 'report', status: 'done', plannedSeconds: 0, seconds: clock.elapsed() - t } as StageRecord,
      crashed: false,
      written,
    };
  } catch (e) {
    return { ...crashedStep(c, 'report', clock.elapsed() - t, e), written: none };
  }
}

const errorText = (e: unknown) => ((e as Error)?.stack ?? String(e)).split('\n').slice(0, 6).join('\n');

/** Every file the run wrote that a reader checks against its schema. */
function resultFiles(c: ResolvedNightlyConfig, done: StagesDone): string[] {
  const out = [join(c.out, 'plan.json'), join(c.out, 'nightly.json')];
  if (done.verify) out.push(done.verify.file);
  for (const z of done.zones?.networks ?? []) out.push(z.file);
  for (const r of done.ablation?.runs ?? []) out.push(join(c.out, r.dir, 'result.json'));
  if (done.ablation?.file) out.push(done.ablation.file);
  if (done.suites) out.push(join(c.out, 'suites.json'));
  return out;
}

function writeSuitesJson(out: string, s: NonNullable<StagesDone['suites']>): void {
  writeResult(join(out, 'suites.json'), 'nightly-suites', {
    schema: 'adzone/nightly-suites',
    schemaVersion: 1,
    multiplier: s.multiplier,
    seed: s.seed,
    totals: s.totals,
    truncated: s.truncated,
    files: s.files.map((f) => ({ ...f, json: f.json && shown(f.json), log: f.log && shown(f.log) })),
  });
}

/** nightly.json's content. */
function nightlyRecord(
  c: ResolvedNightlyConfig,
  p: Planned,
  done: StagesDone,
  after: AfterStages,
  when: { startedAt: string; seconds: number },
) {
  const stages = [...p.records, ...done.records, ...after.records];
  const s = done.suites;
  return {
    schema: NIGHTLY_SCHEMA,
    schemaVersion: 1 as const,
    command: c.command,
    startedAt: when.startedAt,
    finishedAt: new Date().toISOString(),
    tool: { adzone: c.version, node: process.version, platform: `${process.platform}-${process.arch}` },
    seed: c.seed,
    budgetSeconds: c.budgetSeconds,
    totalSeconds: when.seconds,
    out: c.out,
    plan: { file: shown(join(c.out, 'plan.json')), source: p.file.source, ...(c.planPath ? { from: c.planPath } : {}) },
    calibrationSeconds: p.calibrationSeconds,
    counts: p.counts,
    stages,
    /** What the data here left out: one line each. */
    leftOut: p.leftOut.map(leftOutLine),
    notes: p.notes,
    suites: s && {
      multiplier: s.multiplier,
      seed: s.seed,
      totals: s.totals,
      files: s.files.map(({ cases, ...f }) => ({ ...f, json: f.json && shown(f.json), log: f.log && shown(f.log) })),
    },
    verify: done.verify,
    zones: done.zones,
    ablation: done.ablation,
    gate: after.gate,
    files: after.files,
    truncated: stages.some((x) => x.status === 'truncated'),
    crashed: p.crashed || done.crashed || after.crashed,
  };
}
