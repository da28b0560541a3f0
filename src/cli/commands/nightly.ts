/**
 * `adzone nightly`: the whole check in one budgeted job, everything written into one folder.
 *
 *   calibrate → plan → property suites → verify sweep → network zones → ablation slice
 *             → gate (against fixtures/baseline) → report.html, summary.md, junit.xml, nightly.json
 *
 * See NIGHTLY_HELP for the options and src/nightly/README.md for the planning and reproducibility.
 */
import { parseArgs } from 'node:util';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError, parseIntOption, parseList } from '../args.ts';
import { SchemaError, validate, writeResult } from '../../schema/index.ts';
import { shown } from '../../schema/discover.ts';
import { MAX_BUDGET_SECONDS, MIN_BUDGET_SECONDS, fmtSeconds, parseBudget } from '../../nightly/budget.ts';
import {
  estimate,
  MNIST_TRAIN_IMAGES,
  planNightly,
  reserveFor,
  STAGES,
  trainRunCost,
  type Costs,
  type Counts,
  type Estimates,
  type Stage,
} from '../../nightly/plan.ts';
import { NIGHTLY_SCHEMA, PLAN_SCHEMA, readPlan, type PlanFile } from '../../nightly/schema.ts';
import { clock as makeClock, stageTicker, type Clock } from '../../nightly/progress.ts';
import { countsLine, runGate, writeReports, type GateVerdict, type NightlyView, type StageRecord } from '../../nightly/report.ts';
import type { SuitesSummary } from '../../nightly/suites.ts';
import type { LoadedBackends, VerifySummary } from '../../nightly/verify.ts';
import type { ZonesSummary } from '../../nightly/zones.ts';
import type { AblationSummary } from '../../nightly/ablation.ts';

export const NIGHTLY_HELP = `adzone nightly — the whole check in one time-budgeted job: property suites with many more
fast-check runs, the verify sweep, network zones, a short ablation slice, the reports and the gate

Usage: adzone nightly --budget 45m [--out DIR] [--seed S] [--plan FILE] [--stages LIST] [--dry-run]

Stages, in this order, each fitted to the budget:
  suites   every properties/*.test.ts using fast-check, in 'vitest run --reporter=json' with
           ADZONE_FC_RUNS_MULTIPLIER=N and ADZONE_FC_SEED=S (suites scale their numRuns through
           src/nightly/runs.ts; the others keep their own numRuns and take the seed)
  verify   every generator on engine, tfjs-cpu, tfjs-wasm at 16/32/64 bits (the baseline's options),
           N draws per generator, then minimal counterexamples
  zones    LeNet-5 on MNIST, N batches of 128; VGG11 (width 1/4) on CIFAR-10 when the budget allows
  train    LeNet-5 on MNIST, β ∈ {0, 10000} × 16 and 32 bits on the engine in strict mode, SGD lr 0.01
           momentum 0.9, batch 64, over the first N training images (up to one epoch: a full epoch
           per run when the budget affords it), evaluated on the first M test images
Then: the gate against --baseline (its verdict is recorded, a regression does not fail the run),
and report.html, summary.md, junit.xml of everything, nightly.json and plan.json (all validated).

Options:
  --budget T       wall-clock budget: 45m, 10m, 1h30m, 600s (${MIN_BUDGET_SECONDS}s to ${MAX_BUDGET_SECONDS / 3600}h; default 45m)
  --out DIR        where everything goes; must be new or empty (default reports/nightly/<UTC date>)
  --seed S         seed of every stage: verify draws, fast-check, zones θ, training (default: the plan's
                   seed with --plan, else the UTC date as YYYYMMDD)
  --plan FILE      reuse the counts of a previous run's plan.json instead of calibrating
  --stages LIST    run only these of suites,verify,zones,train (default all; with --plan, the plan's)
  --baseline DIR   the gate's baseline (default fixtures/baseline)
  --quiet          no inner progress bars (the nightly's own stage lines stay)
  --dry-run        calibrate (or read --plan), print the plan and stop: nothing runs; with --out,
                   plan.json is written there (pin it later with --plan)

Planning. Without --plan a short calibration (≈ 20–40 s: 28 verify draws and 2 shrinks, two
LeNet-5 zones batches, 40 training steps at 16 and 32 bits) measures per-unit costs here; the counts
are fitted so that calibration + stages + the report stay within ${100 - 15}% of the budget left after a
reserve for the report and gate. Before each unit (a generator, a shrink, a network, a training run,
a suite file) the nightly checks that its estimate still fits; if not it stops that stage cleanly,
keeps what is done and marks the stage 'truncated'. A suite file still running at the deadline is stopped.
Progress lines on stderr give each stage's ETA and the run's expected end.

Reproducibility. plan.json in DIR holds the counts of every stage. The same seed and the same counts
give the same numbers (verify draws, zones batches, training), timings aside. A calibration measures
this machine under its current load, so planning alone can choose other counts on another machine
or another night, and then the numbers differ. To pin them, pass the plan of an earlier run:
  adzone nightly --budget 45m --plan reports/nightly/2026-11-27/plan.json --seed 20261127 --out DIR
(the budget then only guards the end: a stage cut short by it is marked 'truncated' and is not
comparable). The verify sweep draws the same cases whatever the number of jobs or machines; tfjs
and the engine are deterministic on one architecture.

Exit codes: 0 the run finished (failing property tests, gate regressions and truncated stages are
reported in the files, not in the exit code); 1 a stage or the report crashed (what exists is still
written, the crash is in nightly.json); 2 bad options (bad budget, unreadable plan, non-empty --out).

Example: adzone nightly --budget 45m --out reports/nightly/$(date -u +%F)`;

function utcDate(): string {
  return new Date().toISOString().slice(0, 10);
}

function parseStages(v: string | undefined, def: readonly Stage[]): Stage[] {
  const list = parseList('stages', v, def, STAGES) as Stage[];
  return STAGES.filter((s) => list.includes(s));
}

interface Options {
  readonly budgetSeconds: number;
  readonly out: string;
  readonly seed: number;
  readonly plan: PlanFile | null;
  readonly planPath: string | null;
  readonly stages: Stage[];
  readonly baseline: string;
  readonly quiet: boolean;
  readonly dryRun: boolean;
  /** --out was given (a dry run writes plan.json only then). */
  readonly outGiven: boolean;
}

function parseOptions(argv: string[]): Options | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      budget: { type: 'string' },
      out: { type: 'string' },
      seed: { type: 'string' },
      plan: { type: 'string' },
      stages: { type: 'string' },
      baseline: { type: 'string' },
      quiet: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  const budgetText = values.budget ?? '45m';
  const budgetSeconds = parseBudget(budgetText);
  if (budgetSeconds === null)
    throw new UsageError(
      `--budget must be a duration such as 45m, 10m, 1h30m or 600s (whole hours, minutes and seconds, in that order), got '${budgetText}'`,
    );
  if (budgetSeconds < MIN_BUDGET_SECONDS || budgetSeconds > MAX_BUDGET_SECONDS) {
    throw new UsageError(
      `--budget must be from ${fmtSeconds(MIN_BUDGET_SECONDS)} to ${fmtSeconds(MAX_BUDGET_SECONDS)}, got ${budgetText} (${budgetSeconds} s)`,
    );
  }
  let plan: PlanFile | null = null;
  let planPath: string | null = null;
  if (values.plan !== undefined) {
    planPath = resolve(values.plan);
    try {
      plan = readPlan(planPath);
    } catch (e) {
      if (e instanceof SchemaError) throw new UsageError(`--plan: ${e.message}`);
      throw e;
    }
  }
  const stages = parseStages(values.stages, plan ? plan.stages : STAGES);
  if (plan) {
    const missing = stages.filter((s) => plan!.counts[s] === null);
    if (missing.length)
      throw new UsageError(
        `--plan ${values.plan} has no counts for ${missing.join(', ')} (it planned ${plan.stages.join(', ') || 'nothing'}); leave those out of --stages or plan afresh`,
      );
  }
  const today = utcDate();
  const seed =
    values.seed !== undefined ? parseIntOption('seed', values.seed, 1, 0, 2 ** 31 - 1) : plan ? plan.seed : Number(today.replace(/-/g, ''));
  const out = resolve(values.out ?? join('reports', 'nightly', today));
  const dryRun = values['dry-run'] === true;
  if (existsSync(out) && (!dryRun || values.out !== undefined)) {
    if (!statSync(out).isDirectory()) throw new UsageError(`--out ${values.out ?? out} is a file, not a directory`);
    if (readdirSync(out).length)
      throw new UsageError(
        `--out ${shown(out)} is not empty (it may hold an earlier nightly); choose a new folder, e.g. --out ${shown(out)}-2`,
      );
  }
  return {
    budgetSeconds,
    out,
    seed,
    plan,
    planPath,
    stages,
    baseline: resolve(values.baseline ?? 'fixtures/baseline'),
    quiet: values.quiet === true,
    dryRun,
    outGiven: values.out !== undefined,
  };
}

const errorText = (e: unknown) => ((e as Error)?.stack ?? String(e)).split('\n').slice(0, 6).join('\n');

export async function nightlyCommand(argv: string[], meta: { readonly version: string }): Promise<number> {
  const opts = parseOptions(argv);
  if (opts === 'help') {
    console.log(NIGHTLY_HELP);
    return 0;
  }
  const o: Options = opts;
  const startedAt = new Date().toISOString();
  const command = `adzone nightly ${argv.join(' ')}`.trim();
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const reserve = reserveFor(o.budgetSeconds);
  const c: Clock = makeClock(o.budgetSeconds, reserve);
  if (!o.dryRun || o.outGiven) mkdirSync(o.out, { recursive: true });
  log(
    `nightly ▸ ${o.dryRun ? 'dry run, ' : ''}budget ${fmtSeconds(o.budgetSeconds)} (reserve ${fmtSeconds(reserve)} for report and gate), seed ${o.seed}, stages ${o.stages.join(', ') || 'none'}, out ${o.dryRun && !o.outGiven ? 'none (dry run)' : shown(o.out)}`,
  );

  const stages: StageRecord[] = [];
  const notes: string[] = [];
  let crashed = false;

  // --- plan
  let costs: Costs;
  let counts: Counts;
  let loaded: LoadedBackends | null = null;
  let calibrationSeconds = 0;
  let planFile: PlanFile;
  if (o.plan) {
    costs = o.plan.costs;
    const keep = (s: Stage) => o.stages.includes(s);
    counts = {
      suites: keep('suites') ? o.plan.counts.suites : null,
      verify: keep('verify') ? o.plan.counts.verify : null,
      zones: keep('zones') ? o.plan.counts.zones : null,
      train: keep('train') ? o.plan.counts.train : null,
    };
    const e = estimate(costs, counts);
    const est: Estimates = { ...e, reserve, total: e.suites + e.verify + e.zones + e.train + reserve };
    if (est.total > o.budgetSeconds)
      notes.push(
        `the plan's estimates (${fmtSeconds(est.total)}, on the machine that made it) exceed the budget ${fmtSeconds(o.budgetSeconds)}: stages may be cut short`,
      );
    planFile = {
      ...o.plan,
      createdAt: new Date().toISOString(),
      command,
      seed: o.seed,
      budgetSeconds: o.budgetSeconds,
      source: 'plan-file',
      from: o.planPath!,
      stages: o.stages,
      dropped: [],
      notes: [...(o.plan.notes ?? []), ...notes],
      calibrationSeconds: 0,
      counts,
      estimates: est,
      pin: pinText(o.out, o.seed),
    };
    log(`nightly ▸ plan: counts from ${shown(o.planPath!)} (no calibration); estimated ${fmtSeconds(est.total)}`);
  } else {
    const t = performance.now();
    let calFailures: readonly string[] = [];
    try {
      const { calibrate } = await import('../../nightly/calibrate.ts');
      const cal = await calibrate({ stages: o.stages, version: meta.version, log });
      costs = cal.costs;
      loaded = cal.loaded;
      calFailures = cal.failures;
      notes.push(...cal.failures.map((f) => `calibration of ${f}; that stage was planned with the reference machine's costs`));
    } catch (e) {
      // without costs, plan from the reference machine's
      crashed = true;
      const { referenceCosts } = await import('../../nightly/calibrate.ts');
      costs = referenceCosts(1);
      stages.push({
        stage: 'calibrate',
        status: 'crashed',
        plannedSeconds: 0,
        seconds: (performance.now() - t) / 1000,
        error: errorText(e),
      });
      log(`nightly ▸ calibrate: crashed (${(e as Error).message}); planning with the reference machine's costs`);
    }
    calibrationSeconds = (performance.now() - t) / 1000;
    if (!crashed)
      stages.push({
        stage: 'calibrate',
        status: 'done',
        plannedSeconds: calibrationSeconds,
        seconds: calibrationSeconds,
        ...(calFailures.length ? { note: `failed parts: ${calFailures.join('; ')}` } : {}),
      });
    const { VERIFY_DEFAULTS } = await import('../../nightly/verify.ts');
    const p = planNightly({ budgetSeconds: o.budgetSeconds, spentSeconds: c.elapsed(), stages: o.stages, costs, verify: VERIFY_DEFAULTS });
    counts = p.counts;
    notes.push(...p.notes, ...p.dropped.map((d) => `stage ${d.stage} dropped: ${d.reason}`));
    planFile = {
      schema: PLAN_SCHEMA,
      schemaVersion: 1,
      createdAt: new Date().toISOString(),
      command,
      seed: o.seed,
      budgetSeconds: o.budgetSeconds,
      source: 'calibrated',
      stages: o.stages.filter((s) => counts[s] !== null),
      dropped: p.dropped,
      notes: [...p.notes],
      calibrationSeconds,
      counts,
      costs,
      estimates: p.estimates,
      pin: pinText(o.out, o.seed),
    };
    log(
      `nightly ▸ plan: ${STAGES.filter((s) => counts[s])
        .map((s) => `${s} ${fmtSeconds(p.estimates[s])}`)
        .join(', ')}; ` +
        `estimated end ${fmtSeconds(p.estimates.total)} of ${fmtSeconds(o.budgetSeconds)}${p.dropped.length ? `; dropped ${p.dropped.map((d) => d.stage).join(', ')}` : ''}`,
    );
    for (const d of p.dropped)
      stages.push({ stage: d.stage, status: 'skipped', plannedSeconds: 0, seconds: 0, note: `dropped by the plan: ${d.reason}` });
  }
  validate('nightly-plan', planFile, join(o.out, 'plan.json'));
  if (o.dryRun) {
    if (o.outGiven) writeResult(join(o.out, 'plan.json'), 'nightly-plan', planFile);
    console.log(planText(planFile, o.outGiven ? join(o.out, 'plan.json') : null));
    return crashed ? 1 : 0;
  }
  writeResult(join(o.out, 'plan.json'), 'nightly-plan', planFile);
  const planned = estimate(costs, counts);
  const order: Stage[] = ['suites', 'verify', 'zones', 'train'];
  const later = (s: Stage) => () => order.slice(order.indexOf(s) + 1).reduce((a, k) => a + (counts[k] ? planned[k] : 0), 0) + reserve;

  // --- stages
  let suites: SuitesSummary | null = null;
  let verify: VerifySummary | null = null;
  let zones: ZonesSummary | null = null;
  let ablation: AblationSummary | null = null;
  const runStage = async <T extends { truncated: boolean }>(
    s: Stage,
    units: number,
    detail: string,
    body: (tick: ReturnType<typeof stageTicker>) => Promise<T>,
  ): Promise<T | null> => {
    const t = c.elapsed();
    const tick = stageTicker(s, c, units, planned[s], later(s), detail, log);
    try {
      const r = await body(tick);
      tick.end(r.truncated ? 'truncated' : 'done', r.truncated ? 'the budget is about to run out' : undefined);
      stages.push({
        stage: s,
        status: r.truncated ? 'truncated' : 'done',
        plannedSeconds: planned[s],
        seconds: c.elapsed() - t,
        ...(r.truncated ? { note: 'cut short by the budget: not comparable with a full run of this plan' } : {}),
      });
      return r;
    } catch (e) {
      crashed = true;
      tick.end('crashed', (e as Error).message);
      stages.push({ stage: s, status: 'crashed', plannedSeconds: planned[s], seconds: c.elapsed() - t, error: errorText(e) });
      return null;
    }
  };
  const pc = counts;
  if (pc.suites) {
    const plan = pc.suites;
    const { suitesStage } = await import('../../nightly/suites.ts');
    const reading = costs.suites.files.filter((f) => f.readsMultiplier && plan.files.includes(f.file)).length;
    const detail = `${plan.files.length} property files, ${costs.suites.lanes} at a time, seed ${o.seed}, fast-check runs ×${plan.multiplier} in the ${reading} file${reading === 1 ? '' : 's'} reading it (the others keep their own numRuns)`;
    suites = await runStage('suites', plan.files.length, detail, (tick) =>
      suitesStage({ out: o.out, seed: o.seed, plan, costs: costs.suites, clock: c, tick }),
    );
  }
  if (pc.verify) {
    const plan = pc.verify;
    const { verifyStage, loadVerifyBackends } = await import('../../nightly/verify.ts');
    verify = await runStage(
      'verify',
      plan.generators.length + plan.maxShrinks,
      `${plan.generators.length} generators × ${plan.samples} draws, ≤ ${plan.maxShrinks} shrinks`,
      async (tick) => {
        loaded ??= await loadVerifyBackends(plan.backends, log);
        return verifyStage({
          out: o.out,
          seed: o.seed,
          version: meta.version,
          command: `${command} (verify stage)`,
          plan,
          costs: costs.verify,
          loaded,
          clock: c,
          tick,
        });
      },
    );
  }
  if (pc.zones) {
    const plan = pc.zones;
    const { zonesStage, zonesUnits } = await import('../../nightly/zones.ts');
    const units = zonesUnits(plan);
    zones = await runStage('zones', units.length, units.map((u) => `${u.model}/${u.dataset} ${u.batches} batches`).join(', '), (tick) =>
      zonesStage({ out: o.out, seed: o.seed, version: meta.version, plan, costs: costs.zones, quiet: o.quiet, clock: c, tick }),
    );
  }
  if (pc.train) {
    const plan = pc.train;
    const { ablationStage } = await import('../../nightly/ablation.ts');
    const setup = plan.backend ? `${plan.backend} ${plan.mode ?? 'strict'}` : 'tfjs-wasm (a plan from before the engine)';
    ablation = await runStage(
      'train',
      plan.runs.length,
      `${plan.runs.length} runs on ${setup}, batch ${plan.batchSize}, ${plan.limitTrain} training (${(plan.limitTrain / MNIST_TRAIN_IMAGES).toFixed(2)} epoch) and ${plan.limitTest} test images each`,
      (tick) =>
        ablationStage({
          out: o.out,
          seed: o.seed,
          version: meta.version,
          command,
          plan,
          costs: costs.train,
          quiet: o.quiet,
          clock: c,
          tick,
        }),
    );
  }
  for (const s of STAGES)
    if (!o.stages.includes(s))
      stages.push({ stage: s, status: 'skipped', plannedSeconds: 0, seconds: 0, note: 'not requested (--stages)' });

  // --- gate, then the reports (so they carry the verdict)
  let t = c.elapsed();
  let gate: GateVerdict = { verdict: 'not-run', baseline: shown(o.baseline), regressions: [], notes: [] };
  try {
    gate = await runGate(o.baseline, o.out);
    stages.push({
      stage: 'gate',
      status: 'done',
      plannedSeconds: 0,
      seconds: c.elapsed() - t,
      note: gate.verdict === 'regression' ? `${gate.regressions.length} regression(s), reported only` : gate.verdict,
    });
  } catch (e) {
    crashed = true;
    gate = { ...gate, message: (e as Error).message };
    stages.push({ stage: 'gate', status: 'crashed', plannedSeconds: 0, seconds: c.elapsed() - t, error: errorText(e) });
  }
  log(
    `nightly ▸ gate against ${gate.baseline}: ${gate.verdict}${gate.regressions.length ? ` (${gate.regressions.length} regression${gate.regressions.length > 1 ? 's' : ''})` : ''}${gate.message ? ` — ${gate.message}` : ''}`,
  );
  for (const r of gate.regressions.slice(0, 10)) log(`  REGRESSION ${r}`);

  t = c.elapsed();
  const jsonFiles = [join(o.out, 'plan.json'), join(o.out, 'nightly.json')];
  if (verify) jsonFiles.push(verify.file);
  for (const z of zones?.networks ?? []) jsonFiles.push(z.file);
  for (const r of ablation?.runs ?? []) jsonFiles.push(join(o.out, r.dir, 'result.json'));
  if (ablation?.file) jsonFiles.push(ablation.file);
  if (suites) jsonFiles.push(join(o.out, 'suites.json'));
  const files: { html: string | null; markdown: string | null; junit: string | null; json: string[] } = {
    html: null,
    markdown: null,
    junit: null,
    json: jsonFiles.map(shown),
  };
  const view = (): NightlyView => ({
    command,
    seed: o.seed,
    budgetSeconds: o.budgetSeconds,
    elapsedSeconds: c.elapsed(),
    planFile: shown(join(o.out, 'plan.json')),
    planSource: planFile.source,
    counts,
    stages,
    suites,
    gate,
    notes,
  });
  if (suites) {
    writeResult(join(o.out, 'suites.json'), 'nightly-suites', {
      schema: 'adzone/nightly-suites',
      schemaVersion: 1,
      multiplier: suites.multiplier,
      seed: suites.seed,
      totals: suites.totals,
      truncated: suites.truncated,
      files: suites.files.map((f) => ({ ...f, json: f.json && shown(f.json), log: f.log && shown(f.log) })),
    });
  }
  try {
    const w = await writeReports(o.out, view());
    Object.assign(files, { html: shown(w.html), markdown: shown(w.markdown), junit: shown(w.junit) });
    stages.push({ stage: 'report', status: 'done', plannedSeconds: 0, seconds: c.elapsed() - t });
  } catch (e) {
    crashed = true;
    stages.push({ stage: 'report', status: 'crashed', plannedSeconds: 0, seconds: c.elapsed() - t, error: errorText(e) });
    log(`nightly ▸ report: crashed — ${(e as Error).message}`);
  }

  const truncated = stages.some((s) => s.status === 'truncated');
  const nightly = {
    schema: NIGHTLY_SCHEMA,
    schemaVersion: 1,
    command,
    startedAt,
    finishedAt: new Date().toISOString(),
    tool: { adzone: meta.version, node: process.version, platform: `${process.platform}-${process.arch}` },
    seed: o.seed,
    budgetSeconds: o.budgetSeconds,
    totalSeconds: c.elapsed(),
    out: o.out,
    plan: { file: shown(join(o.out, 'plan.json')), source: planFile.source, ...(o.planPath ? { from: o.planPath } : {}) },
    calibrationSeconds,
    counts,
    stages,
    notes,
    suites: suites && {
      multiplier: suites.multiplier,
      seed: suites.seed,
      totals: suites.totals,
      files: suites.files.map(({ cases, ...f }) => ({ ...f, json: f.json && shown(f.json), log: f.log && shown(f.log) })),
    },
    verify,
    zones,
    ablation,
    gate,
    files,
    truncated,
    crashed,
  };
  writeResult(join(o.out, 'nightly.json'), 'nightly', nightly);

  // --- the last words
  const fmtStage = (s: StageRecord) =>
    `${s.stage} ${s.status} ${fmtSeconds(s.seconds)}${s.plannedSeconds ? ` (planned ${fmtSeconds(s.plannedSeconds)})` : ''}`;
  console.log(
    `nightly: ${truncated ? 'finished, some stages cut short by the budget' : crashed ? 'finished with a crash' : 'finished'} in ${fmtSeconds(c.elapsed())} of ${fmtSeconds(o.budgetSeconds)} → ${shown(o.out)}`,
  );
  console.log(`  stages: ${stages.map(fmtStage).join('; ')}`);
  if (suites)
    console.log(
      `  property suites: ${suites.totals.passed}/${suites.totals.tests} passed, ${suites.totals.failed} failed (×${suites.multiplier}, seed ${suites.seed})`,
    );
  console.log(
    `  gate: ${gate.verdict}${gate.regressions.length ? ` — ${gate.regressions.length} regression(s), see summary.md` : ''}${gate.message ? ` — ${gate.message}` : ''}`,
  );
  console.log(`  files: ${[files.html, files.markdown, files.junit].filter(Boolean).join(', ')}, ${files.json.join(', ')}`);
  return crashed ? 1 : 0;
}

/** What a dry run prints: the counts of every stage, their estimates, what was dropped and why. */
export function planText(p: PlanFile, file: string | null): string {
  const L = [
    `nightly plan (${p.source === 'calibrated' ? `calibrated here in ${fmtSeconds(p.calibrationSeconds)}, machine ×${p.costs.speed.toFixed(2)} the reference's time` : `counts from ${p.from ?? 'a plan file'}`}), budget ${fmtSeconds(p.budgetSeconds)}, seed ${p.seed}:`,
  ];
  for (const l of countsLine(p.counts, null)) L.push(`  ${l}`);
  const e = p.estimates;
  L.push(
    `  estimates: ${STAGES.filter((s) => p.counts[s])
      .map((s) => `${s} ${fmtSeconds(e[s])}`)
      .join(', ')}, reserve ${fmtSeconds(e.reserve)}; end ${fmtSeconds(e.total)} of ${fmtSeconds(p.budgetSeconds)}`,
  );
  const t = p.counts.train;
  if (t) {
    const c = p.costs.train;
    L.push(
      `  ablation costs: ${t.runs.map((r) => `${r.precision}-bit β = ${r.beta} ${fmtSeconds(trainRunCost(c, r.precision, t.limitTrain, t.limitTest, t.batchSize))}`).join(', ')} (${(1000 * c.step['16']).toFixed(0)} / ${(1000 * c.step['32']).toFixed(0)} ms per 16 / 32-bit step)`,
    );
  }
  for (const d of p.dropped) L.push(`  dropped ${d.stage}: ${d.reason}`);
  for (const n of p.notes ?? []) L.push(`  note: ${n}`);
  L.push(
    file
      ? `plan written to ${shown(file)}; run it with --plan ${shown(file)} --seed ${p.seed}`
      : 'nothing written (give --out DIR to keep plan.json)',
  );
  return L.join('\n');
}

function pinText(out: string, seed: number): string {
  return `adzone nightly --plan ${shown(join(out, 'plan.json'))} --seed ${seed} --budget <at least the estimates' total> --out <new folder>: the same counts and seed give the same numbers`;
}
