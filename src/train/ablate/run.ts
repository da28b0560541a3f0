/**
 * Running a grid (or one shard of it) into a folder, resumably:
 *
 *   OUT/grid.json        the grid as expanded (every cell's train command line and config) and its hash
 *   OUT/runs/<cell>/     one `adzone train` run each: metrics.jsonl, checkpoint.bin, result.json
 *   OUT/ablate.json      schema adzone/ablate 1: every finished run, plus the grouped table
 *   OUT/ablate.md        the table in Markdown
 *
 * A cell with a result.json of the same config is finished and skipped; one with a checkpoint is
 * resumed bit for bit; one locked by another process (a second shard in the same folder) is left to
 * it. ablate.json is rebuilt from the run folders after every cell and written atomically, so any
 * number of processes may share OUT. A folder that holds another grid is refused.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { readResult, SchemaError, writeResult, writeResults, type AblateGridJson, type AblateRun } from '../../schema/index.ts';
import { stringifyExact } from '../checkpoint.ts';
import {
  CHECKPOINT_FILE,
  RESULT_FILE,
  RunLockedError,
  loadCheckpoint,
  prepare,
  runTrain,
  type RunOutcome,
  type TrainResult,
} from '../run.ts';
import { fmtDuration, trainProgress } from '../progress.ts';
import { GridError, gridHash, type Cell, type Grid, type Shard } from './grid.ts';
import { summarise, tableMarkdown, type RunOutcomeRow } from './table.ts';

export const GRID_FILE = 'grid.json';
export const ABLATE_FILE = 'ablate.json';
export const ABLATE_MD = 'ablate.md';

/** grid.json: its type is the schema's (src/schema/train.ts AblateGridSchema). */
export type GridRecord = AblateGridJson;

export function gridRecord(grid: Grid, cells: readonly Cell[], source: { file: string; text: string }): GridRecord {
  return {
    schema: 'adzone/ablate-grid',
    schemaVersion: 1,
    name: grid.name,
    description: grid.description,
    hash: gridHash(cells),
    source,
    cells: cells.map((c) => ({ index: c.index, id: c.id, labels: c.labels, argv: c.argv, config: c.config })),
  };
}

/** The grid.json of a folder, checked, or null when there is none. */
export function readGridRecord(dir: string): GridRecord | null {
  const f = join(dir, GRID_FILE);
  if (!existsSync(f)) return null;
  try {
    return readResult(f, 'ablate-grid').data;
  } catch (e) {
    if (!(e instanceof SchemaError)) throw e;
    throw new GridError(`${e.message}; grid.json is written by adzone ablate: restore it or run the grid into a new --out`);
  }
}

/** A finished run of `cell` in `dir`, or null; GridError when the folder holds a different run. */
function finishedRun(cell: Cell, dir: string): TrainResult | null {
  const f = join(dir, RESULT_FILE);
  if (!existsSync(f)) return null;
  const r = readResult(f, 'train').data as TrainResult;
  if (stringifyExact(r.config) !== stringifyExact(cell.config)) {
    throw new GridError(
      `${f} was made by another run (its config differs from cell ${cell.id}'s); the folder does not belong to this grid — move it away or use another --out`,
    );
  }
  return r;
}

/** The finished runs of a grid found under `root/runs`, with dirs relative to `relTo`. */
export function collectRuns(cells: readonly Cell[], root: string, relTo: string): RunOutcomeRow[] {
  const out: RunOutcomeRow[] = [];
  for (const cell of cells) {
    const dir = join(root, 'runs', cell.id);
    const result = finishedRun(cell, dir);
    if (result) out.push({ cell, dir: relative(relTo, dir) || '.', result });
  }
  return out;
}

/** Write ablate.json and ablate.md in `out` for these runs (atomic). */
export function writeAblate(o: {
  out: string;
  record: GridRecord;
  cells: readonly Cell[];
  runs: readonly RunOutcomeRow[];
  command: string;
  extra?: Record<string, unknown>;
}): { json: string; md: string; missing: string[] } {
  const { seedAxes, rows } = summarise(o.cells, o.runs);
  const have = new Set(o.runs.map((r) => r.cell.id));
  const missing = o.cells.filter((c) => !have.has(c.id)).map((c) => c.id);
  const runs: (AblateRun & Record<string, unknown>)[] = o.runs.map((r) => ({
    model: r.result.config.model,
    dataset: r.result.config.dataset,
    precision: r.result.config.precision,
    mode: r.result.config.mode,
    optimizer: r.result.config.optimizer,
    batchNorm: r.result.config.batchNorm,
    beta: r.result.config.beta,
    seed: r.result.config.seed,
    testAccuracy: r.result.finalTestAcc,
    dir: r.dir,
    cell: r.cell.id,
    labels: r.cell.labels,
    backend: r.result.backend,
    status: r.result.status,
    epochs: r.result.config.epochs,
    bestTestAcc: r.result.bestTestAcc,
    totalSeconds: r.result.timings.totalSeconds,
    config: r.result.config,
  }));
  const json = join(o.out, ABLATE_FILE);
  const md = join(o.out, ABLATE_MD);
  mkdirSync(o.out, { recursive: true });
  writeResults([
    {
      file: json,
      kind: 'ablate',
      data: {
        schema: 'adzone/ablate',
        schemaVersion: 1,
        command: o.command,
        createdAt: new Date().toISOString(),
        grid: { name: o.record.name, hash: o.record.hash, cells: o.cells.length, finished: o.runs.length, missing, seedAxes },
        table: rows.map(({ accuracies, ...r }) => ({ ...r, accuracies })),
        ...(o.extra ?? {}),
        runs,
      },
    },
    {
      path: md,
      data: tableMarkdown({
        name: o.record.name,
        description: o.record.description,
        hash: o.record.hash,
        cells: o.cells,
        rows,
        seedAxes,
        missing,
        command: o.command,
      }),
    },
  ]);
  return { json, md, missing };
}

export interface RunGridOptions {
  readonly grid: Grid;
  readonly cells: readonly Cell[];
  readonly source: { file: string; text: string };
  readonly out: string;
  readonly shard: Shard | null;
  readonly version: string;
  readonly command: string;
  readonly quiet: boolean;
  /** Lines for the person running it (stderr). */
  readonly log: (line: string) => void;
  /** Test hook passed to runTrain: return true to stop as a crash would. */
  readonly afterStep?: (cell: Cell, step: number) => boolean;
}

export interface RunGridSummary {
  readonly ran: number;
  readonly resumed: number;
  readonly skipped: number;
  readonly busy: number;
  readonly interrupted: boolean;
  readonly json: string;
  readonly md: string;
  readonly missing: readonly string[];
}

export async function runGrid(o: RunGridOptions): Promise<RunGridSummary> {
  const record = gridRecord(o.grid, o.cells, o.source);
  mkdirSync(o.out, { recursive: true });
  const existing = readGridRecord(o.out);
  if (existing && existing.hash !== record.hash) {
    const theirs = new Map(existing.cells.map((c) => [c.id, stringifyExact(c.config)]));
    const changed = o.cells.filter((c) => theirs.get(c.id) !== stringifyExact(c.config)).map((c) => c.id);
    throw new GridError(
      `${o.out} holds the runs of grid '${existing.name}' (${existing.hash}), not of this grid (${record.hash})` +
        `${changed.length ? `: ${changed.length} cell(s) differ or are new, e.g. ${changed.slice(0, 3).join(', ')}` : ''}. ` +
        'Run the changed grid into a new --out (finished runs are never overwritten), or restore the grid file.',
    );
  }
  if (!existing) writeResult(join(o.out, GRID_FILE), 'ablate-grid', record);
  // every cell's folder is checked up front, so a foreign folder stops the grid before any work
  for (const c of o.cells) finishedRun(c, join(o.out, 'runs', c.id));

  const mine = o.shard ? o.cells.filter((c) => c.index % o.shard!.count === o.shard!.index - 1) : o.cells;
  const t0 = performance.now();
  let ran = 0;
  let resumed = 0;
  let skipped = 0;
  let busy = 0;
  let interrupted = false;
  const refresh = () => writeAblate({ out: o.out, record, cells: o.cells, runs: collectRuns(o.cells, o.out, o.out), command: o.command });
  for (const [k, cell] of mine.entries()) {
    const dir = join(o.out, 'runs', cell.id);
    const head = `[${k + 1}/${mine.length}${o.shard ? ` of shard ${o.shard.index}/${o.shard.count}` : ''}] ${cell.id}`;
    const done = finishedRun(cell, dir);
    if (done) {
      skipped++;
      o.log(
        `${head}: finished before (${done.status}, test acc ${done.finalTestAcc === null ? '—' : `${(100 * done.finalTestAcc).toFixed(2)}%`}), skipped`,
      );
      continue;
    }
    let resumeFrom = null;
    if (existsSync(join(dir, CHECKPOINT_FILE))) {
      resumeFrom = loadCheckpoint(dir);
      if (resumeFrom && stringifyExact(resumeFrom.header.config) !== stringifyExact(cell.config)) {
        throw new GridError(
          `${join(dir, CHECKPOINT_FILE)} was made by another run (its config differs from cell ${cell.id}'s); move the folder away or use another --out`,
        );
      }
    }
    prepare(cell.config);
    const elapsed = (performance.now() - t0) / 1000;
    const eta = ran > 0 ? ` — ${fmtDuration(elapsed)} so far, about ${fmtDuration((elapsed / ran) * (mine.length - k))} left` : '';
    o.log(
      `${head}: ${resumeFrom ? `resuming from step ${resumeFrom.header.position.step}` : 'starting'} (adzone train ${cell.argv.join(' ')})${eta}`,
    );
    let outcome: RunOutcome;
    try {
      outcome = await runTrain({
        config: cell.config,
        out: dir,
        resumeFrom,
        checkpointEvery: { seconds: 120 },
        progress: trainProgress(o.quiet),
        versions: { adzone: o.version, node: process.version },
        command: `${o.command} (cell ${cell.id})`,
        ...(o.afterStep ? { afterStep: (s: number) => o.afterStep!(cell, s) } : {}),
      });
    } catch (e) {
      if (e instanceof RunLockedError) {
        busy++;
        o.log(`${head}: another process is running it (${(e as Error).message.split(';')[0]}); left to it`);
        continue;
      }
      throw e;
    }
    if (outcome.status === 'interrupted') {
      interrupted = true;
      o.log(`${head}: interrupted at step ${outcome.step}; run the same command again to resume`);
      break;
    }
    if (outcome.status === 'already-finished') {
      skipped++;
      continue;
    }
    if (resumeFrom) resumed++;
    else ran++;
    const r = outcome.result;
    o.log(
      `${head}: ${r.status}${r.divergence ? ` (${r.divergence.reason})` : ''}, test acc ${r.finalTestAcc === null ? '—' : `${(100 * r.finalTestAcc).toFixed(2)}%`} in ${fmtDuration(r.timings.totalSeconds)}`,
    );
    refresh();
  }
  const w = refresh();
  return { ran, resumed, skipped, busy, interrupted, json: w.json, md: w.md, missing: w.missing };
}

/** The run folders of every given ablation output, joined into one table in `out`. */
export function mergeGrids(o: { dirs: readonly string[]; out: string; command: string; log: (s: string) => void }): {
  json: string;
  md: string;
  missing: string[];
  runs: number;
} {
  const records = o.dirs.map((d) => {
    const r = readGridRecord(d);
    if (!r)
      throw new GridError(`${d} has no ${GRID_FILE}: it is not the output of adzone ablate (run 'adzone ablate GRID --out ${d}' first)`);
    return r;
  });
  const first = records[0];
  for (const [i, r] of records.entries()) {
    if (r.hash !== first.hash) {
      throw new GridError(
        `${o.dirs[i]} holds grid '${r.name}' (${r.hash}) but ${o.dirs[0]} holds '${first.name}' (${first.hash}): only slices of one grid can be merged`,
      );
    }
  }
  const cells: Cell[] = first.cells.map((c) => ({ ...c }));
  const byId = new Map<string, RunOutcomeRow>();
  for (const d of o.dirs) {
    for (const r of collectRuns(cells, d, o.out)) {
      const prev = byId.get(r.cell.id);
      if (!prev) byId.set(r.cell.id, r);
      else if (prev.result.finalTestAcc !== r.result.finalTestAcc || prev.result.status !== r.result.status) {
        o.log(
          `note: cell ${r.cell.id} was run twice with different outcomes (${prev.dir}: ${prev.result.finalTestAcc}, ${r.dir}: ${r.result.finalTestAcc}); keeping ${prev.dir}`,
        );
      }
    }
  }
  const runs = cells.map((c) => byId.get(c.id)).filter((r): r is RunOutcomeRow => r !== undefined);
  mkdirSync(o.out, { recursive: true });
  if (!records.some((_, i) => join(o.dirs[i]) === join(o.out))) writeResult(join(o.out, GRID_FILE), 'ablate-grid', first);
  const w = writeAblate({
    out: o.out,
    record: first,
    cells,
    runs,
    command: o.command,
    extra: { mergedFrom: o.dirs.map((d) => relative(o.out, d) || '.') },
  });
  return { ...w, runs: runs.length };
}

/** Names of run folders under OUT/runs that belong to no cell of the grid (a hint, never deleted). */
export function strayRuns(out: string, cells: readonly Cell[]): string[] {
  const dir = join(out, 'runs');
  if (!existsSync(dir)) return [];
  const ids = new Set(cells.map((c) => c.id));
  return readdirSync(dir).filter((d) => !ids.has(d));
}
