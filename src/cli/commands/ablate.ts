/**
 * `adzone ablate GRID --out DIR [--shard i/n|auto]` and `adzone ablate --merge DIR... --out DIR`: the
 * command line of the ablation stages (src/train/ablate: planAblation, runAblation, mergeAblations).
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type AblationPlan, cellState, mergeAblations, parseShard, planAblation, runAblation } from '../../train/ablate/index.ts';
import { fmtDuration, progressHooks } from '../../train/progress.ts';
import { ConfigError } from '../../util/errors.ts';
import { UsageError } from '../args.ts';

export const ABLATE_HELP = `adzone ablate — run a grid of training runs, resumably; or merge the slices of one grid into one table

Usage:
  adzone ablate GRID --out DIR [--shard i/n | --shard auto] [--dry-run] [--quiet]
  adzone ablate --merge DIR... --out DIR

GRID is a JSON or YAML file:
  name: lenet5-mnist-sgd
  description: docs/DESIGN.md §4, LeNet-5 / MNIST, SGD
  base:                      # train options every run shares (names as for adzone train, without --)
    model: lenet5
    dataset: mnist
    epochs: 3
  grid:                      # axes; the runs are their product, the last axis varying fastest
    precision:               # a value is an option value, or a bundle of options with an optional label
      - { precision: 16, mode: strict, backend: engine, label: p16 }
      - { precision: 32, mode: strict, backend: engine, label: p32 }
    beta: [0, 1, 10, 100, 1000, 10000]
    seed: [1, 2]
  tune:                      # optional: search the lr of every cell (adzone help tune), then train the lr chosen;
    trials: 8                #   lr may then appear nowhere in the grid. Fields: trials, lr-min, lr-max, rungs,
    rungs: [5, 10]           #   eta, validation, seed (of the lr draw and the validation split)

Options:
  --out DIR        where grid.json, runs/<cell>/ (one adzone train folder per run), ablate.json and ablate.md go
  --shard i/n      run only every n-th cell starting at the i-th (1-based), e.g. 1/2 and 2/2 on two machines
                   or CI jobs; shards may share one --out, or use their own and be merged
  --shard auto     i/n from the job array that started this process, into DIR/shard-i-of-n:
                   Slurm (SLURM_ARRAY_TASK_ID, _MIN, _MAX, _STEP, _COUNT), Kubernetes Indexed Jobs
                   (JOB_COMPLETION_INDEX, with ADZONE_SHARD_COUNT set to the Job's completions), GitLab CI
                   (CI_NODE_INDEX, CI_NODE_TOTAL), CircleCI (CIRCLE_NODE_INDEX, _TOTAL), Buildkite
                   (BUILDKITE_PARALLEL_JOB, _COUNT), Grid Engine (SGE_TASK_ID, _FIRST, _LAST, _STEPSIZE),
                   or ADZONE_SHARD=i/n (a CI matrix); recipes in examples/cluster/
  --merge DIR...   join the finished runs of these ablate outputs (slices of one grid) into --out; a DIR
                   holding shard-i-of-n folders (--shard auto) stands for them
  --dry-run        list the cells (marking this shard's, and those finished or started) without training
  --quiet          no progress bars (a line per run still goes to stderr)

chance-from-epoch: N (in base or an axis) is the first epoch whose test accuracy at chance ends a run
(default 2; VGG11 without batch norm sits at chance for its first epochs).

A tuned cell's folder runs/<cell>/ holds its search (tune.json, trials/) and the run with the lr chosen
(final/, which the table reports, with the lr in its own column).

Finished runs are skipped, interrupted ones resume bit for bit from their checkpoint (written every
2 minutes and at each epoch end), and a diverged run is recorded as diverged. A grid has at most
10,000 cells. Exit codes: 0 done (cells left to other shards or processes included), 1 interrupted,
2 unusable grid, options, folder or data. ablate.json (schema
adzone/ablate 1) lists every finished run and the table: test accuracy mean ± std over seeds per
cell, runs diverged. 'adzone report DIR' draws accuracy against β from it.

Example: adzone ablate grids/lenet5-mnist-sgd.yaml --out reports/ablate/lenet5-mnist-sgd`;

const OPTIONS = {
  out: { type: 'string' },
  shard: { type: 'string' },
  merge: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function ablateCommand(argv: string[], o: { version: string }): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: true });
  if (values.help) {
    console.log(ABLATE_HELP);
    return 0;
  }
  const command = `adzone ablate ${argv.join(' ')}`;
  if (values.out === undefined)
    throw new UsageError(`ablate needs --out DIR (e.g. adzone ablate grids/lenet5-mnist-sgd.yaml --out reports/ablate/lenet5-mnist-sgd)`);
  const out = resolve(values.out);
  try {
    if (values.merge) return merge(positionals, out, command, values);
    if (positionals.length !== 1)
      throw new UsageError(
        `ablate takes one grid file${positionals.length ? `, got ${positionals.length}: ${positionals.join(' ')}` : ' (JSON or YAML); run adzone help ablate for its form'}`,
      );
    const shard = values.shard === undefined ? null : values.shard === 'auto' ? 'auto' : parseShard(values.shard);
    const plan = planAblation({ grid: positionals[0], out, shard, env: process.env, version: o.version, command });
    return values['dry-run'] ? dryRun(plan) : await run(plan, values.quiet === true);
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message.replace(/`shard`/g, '--shard'));
    throw e;
  }
}

function merge(dirs: string[], out: string, command: string, values: { shard?: string; 'dry-run'?: boolean }): number {
  if (!dirs.length)
    throw new UsageError('--merge needs the output folders of the slices, e.g. adzone ablate --merge out/shard1 out/shard2 --out out/all');
  if (values.shard !== undefined || values['dry-run']) throw new UsageError('--merge takes no --shard or --dry-run');
  const m = mergeAblations({ dirs, out, command, log: (s) => process.stderr.write(`${s}\n`) });
  const missing = m.missing.length
    ? ` (${m.missing.length} missing: ${m.missing.slice(0, 5).join(', ')}${m.missing.length > 5 ? ', …' : ''})`
    : '';
  console.log(
    `merged ${m.runs} finished runs${missing} into ${m.json} and ${m.md} (from ${m.dirs.length} folder${m.dirs.length > 1 ? 's' : ''})`,
  );
  return 0;
}

function shardWords(plan: AblationPlan): string {
  if (!plan.shard) return '';
  return `shard ${plan.shard.index}/${plan.shard.count}${plan.shardSource ? ` (from ${plan.shardSource})` : ''}`;
}

/** The cells, this shard's marked *, with where each stands in the folder. */
function dryRun(plan: AblationPlan): number {
  const mine = new Set(plan.mine.map((c) => c.id));
  for (const c of plan.cells) {
    const state = cellState(plan.out, c);
    const mark = state === 'new' ? '' : ` [${state}]`;
    console.log(
      `${mine.has(c.id) ? '*' : ' '} ${String(c.index + 1).padStart(3)} ${c.id}${mark}: adzone ${c.tune ? 'tune' : 'train'} ${c.argv.join(' ')}`,
    );
  }
  const shard = plan.shard ? `, ${mine.size} in ${shardWords(plan)} (marked *)` : '';
  console.log(`${plan.cells.length} cells${shard}; folder ${plan.out}`);
  return 0;
}

async function run(plan: AblationPlan, quiet: boolean): Promise<number> {
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const t0 = performance.now();
  const shard = plan.shard ? `, ${plan.mine.length} in ${shardWords(plan)}` : '';
  log(`grid '${plan.grid.name}': ${plan.cells.length} runs${shard} into ${plan.out}`);
  const s = await runAblation(plan, {
    log,
    train: () => progressHooks(quiet),
  });
  const parts = [
    `${s.ran} run`,
    s.resumed ? `${s.resumed} resumed` : '',
    s.skipped ? `${s.skipped} finished before` : '',
    s.busy ? `${s.busy} running elsewhere` : '',
  ].filter(Boolean);
  const left = s.missing.length ? `${s.missing.length} of ${plan.cells.length} runs not finished yet; ` : '';
  console.log(`${parts.join(', ')} in ${fmtDuration((performance.now() - t0) / 1000)}; ${left}wrote ${s.json} and ${s.md}`);
  return s.interrupted ? 1 : 0;
}
