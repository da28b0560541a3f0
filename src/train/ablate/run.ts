/**
 * The ablation stages: planAblation (a grid file to its cells, the shard this process runs and the
 * folder it runs them in) and runAblation (train those cells into the folder, resumably). No argv,
 * no printing: lines for people go through `log`, a run's progress through the hooks `train` gives.
 *
 * A cell with a result.json of the same config is finished and skipped; one with a checkpoint is
 * resumed bit for bit (a finished one whose result.json was lost gets it rebuilt); one locked by
 * another process (a second shard in the same folder) is left to it. ablate.json is rebuilt from
 * the run folders after every cell and written atomically, so any number of processes may share
 * OUT. A folder that holds another grid is refused. With `shard: 'auto'` the shard comes from the
 * scheduler's variables and goes into its own folder, OUT/shard-i-of-n (./shard.ts), which
 * mergeAblations (./merge.ts) joins.
 */
import { resolve } from 'node:path';
import { writeResult } from '../../schema/index.ts';
import { assertWritableDir } from '../../util/output.ts';
import { stringifyExact } from '../checkpoint.ts';
import type { TrainConfig } from '../config.ts';
import type { CheckpointCadence, CrashPoint, TrainHooks } from '../loop.ts';
import { fmtDuration } from '../progress.ts';
import { ResumeMismatchError, RunLockedError, trainRun, type TrainOutcome } from '../run.ts';
import { tuneLr } from '../tune/run.ts';
import {
  cellDir,
  cellState,
  collectRuns,
  finishedRun,
  GRID_FILE,
  gridRecord,
  type GridRecord,
  readGridRecord,
  strayRuns,
  writeAblate,
} from './files.ts';
import { type Cell, expandGrid, type Grid, GridError, parseGrid, readGrid } from './grid.ts';
import { type Env, type Shard, shardCells, shardFolder, shardFromEnv } from './shard.ts';
import type { RunOutcomeRow } from './table.ts';

export interface AblationConfig {
  /** The grid file (JSON or YAML), or a grid's text with the file name it is known by. */
  readonly grid: string | { readonly file: string; readonly text: string };
  /** The output folder (with `shard: 'auto'`, the folder of the shards' folders). */
  readonly out: string;
  /** Every cell (null, the default), one slice i/n, or 'auto': the slice the scheduler's variables say, in OUT/shard-i-of-n. */
  readonly shard?: Shard | 'auto' | null;
  /** Where 'auto' reads the scheduler's variables. Default: process.env. */
  readonly env?: Env;
  /** Checkpoints of each run: default every 120 s and at epoch ends. */
  readonly checkpointEvery?: CheckpointCadence;
  /** Recorded in each result.json and ablate.json. */
  readonly version?: string;
  readonly command?: string;
}

export interface AblationPlan {
  readonly grid: Grid;
  readonly source: { readonly file: string; readonly text: string };
  /** Every cell of the grid, in order. */
  readonly cells: readonly Cell[];
  readonly shard: Shard | null;
  /** Where the shard came from ('auto'), for the log. */
  readonly shardSource: string | null;
  /** The cells this process runs. */
  readonly mine: readonly Cell[];
  /** The folder they run in (resolved). */
  readonly out: string;
  readonly config: AblationConfig;
}

/** Read and expand the grid, and pick this process's cells and folder; nothing is written. GridError / ConfigError for a bad grid or shard. */
export function planAblation(config: AblationConfig): AblationPlan {
  const { grid, text, file } =
    typeof config.grid === 'string'
      ? { ...readGrid(config.grid), file: config.grid }
      : { grid: parseGrid(config.grid.text, config.grid.file), ...config.grid };
  const cells = expandGrid(grid);
  const auto = config.shard === 'auto' ? shardFromEnv(config.env ?? process.env) : null;
  const shard = auto ? auto.shard : config.shard === 'auto' ? null : (config.shard ?? null);
  const root = resolve(config.out);
  return {
    grid,
    source: { file, text },
    cells,
    shard,
    shardSource: auto?.source ?? null,
    mine: shardCells(cells, shard),
    out: auto ? shardFolder(root, auto.shard) : root,
    config,
  };
}

export interface AblationHooks {
  /** Lines for the person running it: a line per cell started and ended, notes. */
  readonly log?: (line: string) => void;
  /** The hooks of each cell's run (a progress bar, say); `done` is called when the run returns. */
  readonly train?: (cell: Cell) => TrainHooks & { done?(): void };
  /** Fault injection: return true to stop at this point of a cell's run as a kill would. */
  readonly crashAt?: (cell: Cell, point: CrashPoint, step: number) => boolean;
}

export interface AblationSummary {
  readonly out: string;
  readonly ran: number;
  readonly resumed: number;
  readonly skipped: number;
  readonly busy: number;
  readonly interrupted: boolean;
  readonly json: string;
  readonly md: string;
  readonly missing: readonly string[];
}

/** The folder's grid.json, written when new; GridError when the folder holds another grid. */
function claimFolder(plan: AblationPlan): GridRecord {
  const record = gridRecord(plan.grid, plan.cells, plan.source);
  const existing = readGridRecord(plan.out);
  if (existing && existing.hash !== record.hash) {
    const theirs = new Map(existing.cells.map((c) => [c.id, stringifyExact(c.config)]));
    const changed = plan.cells.filter((c) => theirs.get(c.id) !== stringifyExact(c.config)).map((c) => c.id);
    throw new GridError(
      `${plan.out} holds the runs of grid '${existing.name}' (${existing.hash}), not of this grid (${record.hash})` +
        `${changed.length ? `: ${changed.length} cell(s) differ or are new, e.g. ${changed.slice(0, 3).join(', ')}` : ''}. ` +
        'Run the changed grid into a new --out (finished runs are never overwritten), or restore the grid file.',
      plan.out,
    );
  }
  if (!existing) writeResult(`${plan.out}/${GRID_FILE}`, 'ablate-grid', record);
  // every cell's folder is checked up front, so a foreign folder stops the grid before any work
  for (const c of plan.cells) finishedRun(c, cellDir(plan.out, c));
  return record;
}

interface Tally {
  ran: number;
  resumed: number;
  skipped: number;
  busy: number;
}

/** Train this process's cells of the plan into its folder; ablate.json / ablate.md after every cell. */
export async function runAblation(plan: AblationPlan, hooks: AblationHooks = {}): Promise<AblationSummary> {
  const log = hooks.log ?? (() => {});
  assertWritableDir(plan.out);
  const record = claimFolder(plan);
  const stray = strayRuns(plan.out, plan.cells);
  if (stray.length)
    log(`note: ${plan.out}/runs holds ${stray.length} folder(s) of no cell of this grid (left alone): ${stray.slice(0, 3).join(', ')}`);
  const known = new Map<string, RunOutcomeRow>();
  const command = plan.config.command ?? `runAblation(${plan.source.file})`;
  const refresh = () =>
    writeAblate({ out: plan.out, record, cells: plan.cells, runs: collectRuns(plan.cells, plan.out, plan.out, known), command });
  const tally: Tally = { ran: 0, resumed: 0, skipped: 0, busy: 0 };
  const t0 = performance.now();
  let interrupted = false;
  for (const [k, cell] of plan.mine.entries()) {
    const head = `[${k + 1}/${plan.mine.length}${plan.shard ? ` of shard ${plan.shard.index}/${plan.shard.count}` : ''}] ${cell.id}`;
    const done = finishedRun(cell, cellDir(plan.out, cell));
    if (done) {
      tally.skipped++;
      log(`${head}: finished before (${done.status}, test acc ${acc(done.finalTestAcc)}), skipped`);
      continue;
    }
    const outcome = await runCell(plan, cell, hooks, head, eta(t0, tally.ran + tally.resumed, plan.mine.length - k), command);
    if (outcome === 'busy') tally.busy++;
    else if (outcome.status === 'interrupted' || outcome.status === 'stopped') {
      interrupted = true;
      log(`${head}: interrupted at step ${outcome.step}; run the same command again to resume`);
      break;
    } else {
      count(tally, outcome);
      log(`${head}: ${describe(outcome)}`);
      refresh();
    }
  }
  const w = refresh();
  return { out: plan.out, ...tally, interrupted, json: w.json, md: w.md, missing: w.missing };
}

/** ' — 5m so far, about 20m left', from the runs trained so far in this process. */
function eta(t0: number, trained: number, left: number): string {
  const elapsed = (performance.now() - t0) / 1000;
  return trained > 0 ? ` — ${fmtDuration(elapsed)} so far, about ${fmtDuration((elapsed / trained) * left)} left` : '';
}

const acc = (a: number | null) => (a === null ? '—' : `${(100 * a).toFixed(2)}%`);

function count(t: Tally, o: Extract<TrainOutcome, { result: unknown }>): void {
  if (o.ended === 'before') t.skipped++;
  else if (o.resumed) t.resumed++;
  else t.ran++;
}

function describe(o: Extract<TrainOutcome, { result: unknown }>): string {
  const r = o.result;
  const rebuilt = o.ended === 'rebuilt' ? ' (had ended; result.json rebuilt from its final checkpoint)' : '';
  return `${r.status}${r.divergence ? ` (${r.divergence.reason})` : ''}, test acc ${acc(r.finalTestAcc)} in ${fmtDuration(r.timings.totalSeconds)}${rebuilt}`;
}

/** Train one cell (resuming it when it has a checkpoint); 'busy' when another process holds it. */
async function runCell(plan: AblationPlan, cell: Cell, hooks: AblationHooks, head: string, eta: string, command: string) {
  const start = cellState(plan.out, cell) === 'started' ? `resuming from its ${cell.tune ? 'trials' : 'checkpoint'}` : 'starting';
  hooks.log?.(`${head}: ${start} (adzone ${cell.tune ? 'tune' : 'train'} ${cell.argv.join(' ')})${eta}`);
  try {
    return cell.tune ? await tuneCell(plan, cell, hooks, head, command) : await trainCell(plan, cell, hooks, command);
  } catch (e) {
    if (e instanceof RunLockedError) {
      hooks.log?.(`${head}: another process is running it (${e.message.split(';')[0]}); left to it`);
      return 'busy' as const;
    }
    if (e instanceof ResumeMismatchError)
      throw new GridError(
        `${e.file} was made by another run (its config differs from cell ${cell.id}'s); move the folder away or use another --out`,
        e.file,
      );
    throw e;
  }
}

/** A tuned cell: its lr search, then the final run (src/train/tune), as one outcome. */
async function tuneCell(plan: AblationPlan, cell: Cell, hooks: AblationHooks, head: string, command: string): Promise<TrainOutcome> {
  const { lr: _lr, ...train } = cell.config;
  const crash = hooks.crashAt;
  const o = await tuneLr(
    {
      train,
      search: cell.tune!,
      out: cellDir(plan.out, cell),
      checkpointEvery: plan.config.checkpointEvery ?? { seconds: 120 },
      ...(plan.config.version ? { versions: { adzone: plan.config.version, node: process.version } } : {}),
      command: `${command} (cell ${cell.id})`,
    },
    {
      log: (line) => hooks.log?.(`${head}: ${line}`),
      ...(hooks.train ? { train: () => hooks.train!(cell) } : {}),
      ...(crash ? { crashAt: (_run, p, step) => crash(cell, p, step) } : {}),
    },
  );
  return o.status === 'done' ? o.final : { status: 'interrupted', out: o.out, step: o.step, point: 'step' };
}

/** A plain cell: one training run. */
async function trainCell(plan: AblationPlan, cell: Cell, hooks: AblationHooks, command: string): Promise<TrainOutcome> {
  const dir = cellDir(plan.out, cell);
  const crash = hooks.crashAt;
  const train = hooks.train?.(cell);
  try {
    return await trainRun(
      {
        ...(cell.config as TrainConfig),
        ...(cell.chanceFromEpoch !== undefined ? { chanceFromEpoch: cell.chanceFromEpoch } : {}),
        out: dir,
        resume: true,
        checkpointEvery: plan.config.checkpointEvery ?? { seconds: 120 },
        ...(plan.config.version ? { versions: { adzone: plan.config.version, node: process.version } } : {}),
        command: `${command} (cell ${cell.id})`,
      },
      { ...train, ...(crash ? { crashAt: (p: CrashPoint, s: number) => crash(cell, p, s) } : {}) },
    );
  } finally {
    train?.done?.();
  }
}
