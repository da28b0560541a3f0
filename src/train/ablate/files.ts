/**
 * The files of an ablation folder:
 *
 *   OUT/grid.json        the grid as expanded (every cell's config and equivalent command line) and its hash
 *   OUT/runs/<cell>/     one training run each (src/train/run.ts): metrics.jsonl, checkpoint.bin, result.json;
 *                        for a tuned cell, an lr search instead (src/train/tune): tune.json, trials/, and
 *                        the run with the chosen lr in final/
 *   OUT/ablate.json      schema adzone/ablate 1: every finished run, plus the grouped table
 *   OUT/ablate.md        the table in Markdown
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { type AblateGridJson, type AblateRun, readResult, readResultIfPresent, type TuneJson, writeResults } from '../../schema/index.ts';
import { InputError } from '../../util/errors.ts';
import { stringifyExact } from '../checkpoint.ts';
import { orderedConfig } from '../config.ts';
import { CHECKPOINT_FILE, RESULT_FILE, type TrainResult } from '../run.ts';
import { FINAL_DIR, readTuneRecord, TUNE_FILE } from '../tune/record.ts';
import { type Cell, type Grid, GridError, gridHash } from './grid.ts';
import { type RunOutcomeRow, summarise, tableMarkdown } from './table.ts';

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
    cells: cells.map((c) => ({
      index: c.index,
      id: c.id,
      labels: c.labels,
      argv: c.argv,
      config: c.config,
      ...(c.tune ? { tune: c.tune } : {}),
      ...(c.chanceFromEpoch !== undefined ? { chanceFromEpoch: c.chanceFromEpoch } : {}),
    })),
  };
}

/** The grid.json of a folder, checked, or null when there is none. */
export function readGridRecord(dir: string): GridRecord | null {
  const f = join(dir, GRID_FILE);
  return readResultIfPresent(
    f,
    'ablate-grid',
    (e) => new GridError(`${e.message}; grid.json is written by adzone ablate: restore it or run the grid into a new --out`, f),
  );
}

export const cellDir = (root: string, cell: Cell): string => join(root, 'runs', cell.id);

/** The folder of the run a cell reports: the cell's folder, or its final/ folder for a tuned cell. */
export const reportedDir = (root: string, cell: Cell): string => (cell.tune ? join(cellDir(root, cell), FINAL_DIR) : cellDir(root, cell));

/**
 * A tuned cell's search, when it has ended (tune.json done, the final run's result.json there);
 * null otherwise; GridError when the folder holds another search.
 */
export function finishedSearch(cell: Cell, dir: string): TuneJson | null {
  let t: TuneJson | null;
  try {
    t = readTuneRecord(dir);
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    throw new GridError(e.message, dir);
  }
  if (!t) return null;
  if (stringifyExact(t.train) !== stringifyExact(cell.config) || stringifyExact(t.search) !== stringifyExact(cell.tune))
    throw new GridError(
      `${join(dir, TUNE_FILE)} was made by another search (its config or settings differ from cell ${cell.id}'s); the folder does not belong to this grid — move it away or use another --out`,
      dir,
    );
  return t.status === 'done' && t.final ? t : null;
}

/** A finished run of `cell` in `dir` (the cell's folder), or null; GridError when the folder holds a different run. */
export function finishedRun(cell: Cell, dir: string): TrainResult | null {
  const search = cell.tune ? finishedSearch(cell, dir) : null;
  if (cell.tune && !search) return null;
  const f = join(cell.tune ? join(dir, FINAL_DIR) : dir, RESULT_FILE);
  if (!existsSync(f)) return null;
  const r = readResult(f, 'train').data as TrainResult;
  if (stringifyExact(r.config) !== stringifyExact(search ? orderedConfig({ ...cell.config, lr: search.final!.lr }) : cell.config)) {
    throw new GridError(
      `${f} was made by another run (its config differs from cell ${cell.id}'s); the folder does not belong to this grid — move it away or use another --out`,
      f,
    );
  }
  return r;
}

/** Where a cell stands in a folder: finished (result.json), started (a checkpoint) or not yet begun. */
export function cellState(root: string, cell: Cell): 'finished' | 'started' | 'new' {
  const dir = cellDir(root, cell);
  if (cell.tune) return readTuneRecord(dir)?.status === 'done' ? 'finished' : existsSync(join(dir, TUNE_FILE)) ? 'started' : 'new';
  if (existsSync(join(dir, RESULT_FILE))) return 'finished';
  return existsSync(join(dir, CHECKPOINT_FILE)) ? 'started' : 'new';
}

/**
 * The finished runs of a grid found under `root/runs`, with dirs relative to `relTo`. `known` caches
 * the runs read before (a finished run never changes), so a long grid rereads only the new ones.
 */
export function collectRuns(
  cells: readonly Cell[],
  root: string,
  relTo: string,
  known = new Map<string, RunOutcomeRow>(),
): RunOutcomeRow[] {
  const out: RunOutcomeRow[] = [];
  for (const cell of cells) {
    let row = known.get(cell.id);
    if (!row) {
      const dir = cellDir(root, cell);
      const result = finishedRun(cell, dir);
      if (!result) continue;
      const search = cell.tune ? readTuneRecord(dir) : null;
      row = {
        cell,
        dir: relative(relTo, reportedDir(root, cell)) || '.',
        result,
        ...(search ? { tune: { file: relative(relTo, join(dir, TUNE_FILE)), record: search } } : {}),
      };
      known.set(cell.id, row);
    }
    out.push(row);
  }
  return out;
}

function runEntry(r: RunOutcomeRow): AblateRun & Record<string, unknown> {
  const c = r.result.config;
  return {
    model: c.model,
    dataset: c.dataset,
    precision: c.precision,
    mode: c.mode,
    optimizer: c.optimizer,
    batchNorm: c.batchNorm,
    beta: c.beta,
    seed: c.seed,
    testAccuracy: r.result.finalTestAcc,
    dir: r.dir,
    cell: r.cell.id,
    labels: r.cell.labels,
    backend: r.result.backend,
    status: r.result.status,
    epochs: c.epochs,
    bestTestAcc: r.result.bestTestAcc,
    totalSeconds: r.result.timings.totalSeconds,
    config: c,
    ...(r.tune ? { tune: tuneEntry(r.tune.file, r.tune.record) } : {}),
  };
}

/** What ablate.json says of a cell's search: the lr chosen and each trial in a line. */
function tuneEntry(file: string, t: TuneJson): NonNullable<AblateRun['tune']> {
  return {
    file,
    lr: t.chosen!.lr,
    search: t.search,
    valAcc: t.chosen!.valAcc,
    trials: t.trials.map((x) => ({
      index: x.index,
      lr: x.lr,
      status: x.status,
      epochs: x.epochs.at(-1)?.epoch ?? 0,
      valAcc: x.epochs.at(-1)?.valAcc ?? null,
    })),
    trialSeconds: t.timings.trialSeconds,
  };
}

/** Write ablate.json and ablate.md in `out` for these runs (both or neither). */
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
  const json = join(o.out, ABLATE_FILE);
  const md = join(o.out, ABLATE_MD);
  const { name, hash, description } = o.record;
  const data = {
    schema: 'adzone/ablate',
    schemaVersion: 1,
    command: o.command,
    createdAt: new Date().toISOString(),
    grid: { name, hash, cells: o.cells.length, finished: o.runs.length, missing, seedAxes },
    table: rows.map(({ accuracies, ...r }) => ({ ...r, accuracies })),
    ...(o.extra ?? {}),
    runs: o.runs.map(runEntry),
  };
  const text = tableMarkdown({ name, description, hash, cells: o.cells, rows, seedAxes, missing, command: o.command });
  writeResults([
    { file: json, kind: 'ablate', data },
    { path: md, data: text },
  ]);
  return { json, md, missing };
}

/** Names of run folders under OUT/runs that belong to no cell of the grid (a hint, never deleted). */
export function strayRuns(out: string, cells: readonly Cell[]): string[] {
  const dir = join(out, 'runs');
  if (!existsSync(dir)) return [];
  const ids = new Set(cells.map((c) => c.id));
  return readdirSync(dir).filter((d) => !ids.has(d));
}
