/**
 * The files of an ablation folder:
 *
 *   OUT/grid.json        the grid as expanded (every cell's config and equivalent command line) and its hash
 *   OUT/runs/<cell>/     one training run each (src/train/run.ts): metrics.jsonl, checkpoint.bin, result.json
 *   OUT/ablate.json      schema adzone/ablate 1: every finished run, plus the grouped table
 *   OUT/ablate.md        the table in Markdown
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { type AblateGridJson, type AblateRun, readResult, SchemaError, writeResults } from '../../schema/index.ts';
import { stringifyExact } from '../checkpoint.ts';
import { CHECKPOINT_FILE, RESULT_FILE, type TrainResult } from '../run.ts';
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
    throw new GridError(`${e.message}; grid.json is written by adzone ablate: restore it or run the grid into a new --out`, f);
  }
}

export const cellDir = (root: string, cell: Cell): string => join(root, 'runs', cell.id);

/** A finished run of `cell` in `dir`, or null; GridError when the folder holds a different run. */
export function finishedRun(cell: Cell, dir: string): TrainResult | null {
  const f = join(dir, RESULT_FILE);
  if (!existsSync(f)) return null;
  const r = readResult(f, 'train').data as TrainResult;
  if (stringifyExact(r.config) !== stringifyExact(cell.config)) {
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
      row = { cell, dir: relative(relTo, dir) || '.', result };
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
