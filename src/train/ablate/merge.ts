/**
 * mergeAblations: the finished runs of several ablation folders (slices of one grid: shards run on
 * other machines, or OUT/shard-i-of-n folders of `shard: 'auto'`) joined into one table. A folder
 * without a grid.json that holds shard-i-of-n folders stands for them.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { writeResult } from '../../schema/index.ts';
import { assertWritableDir } from '../../util/output.ts';
import { collectRuns, GRID_FILE, readGridRecord, writeAblate } from './files.ts';
import { type Cell, GridError } from './grid.ts';
import { SHARD_FOLDER } from './shard.ts';
import type { RunOutcomeRow } from './table.ts';

export interface MergeConfig {
  /** The ablation folders to join. */
  readonly dirs: readonly string[];
  readonly out: string;
  readonly command?: string;
  readonly log?: (line: string) => void;
}

export interface MergeSummary {
  readonly json: string;
  readonly md: string;
  readonly missing: readonly string[];
  readonly runs: number;
  /** The folders read (a folder of shard folders stands for them). */
  readonly dirs: readonly string[];
}

/** The folders to read: each given one, or its shard-i-of-n folders when it has no grid.json itself. */
export function ablationDirs(dirs: readonly string[]): string[] {
  return dirs.flatMap((d0) => {
    const d = resolve(d0);
    if (existsSync(join(d, GRID_FILE)) || !existsSync(d)) return [d];
    const shards = readdirSync(d)
      .filter((n) => SHARD_FOLDER.test(n) && existsSync(join(d, n, GRID_FILE)))
      .sort((a, b) => Number(SHARD_FOLDER.exec(a)![1]) - Number(SHARD_FOLDER.exec(b)![1]));
    return shards.length ? shards.map((n) => join(d, n)) : [d];
  });
}

export function mergeAblations(config: MergeConfig): MergeSummary {
  const out = resolve(config.out);
  const log = config.log ?? (() => {});
  const dirs = ablationDirs(config.dirs);
  const containers = config.dirs.map((d) => resolve(d)).filter((d) => !dirs.includes(d));
  if (containers.includes(out))
    throw new GridError(
      `${out} holds the shard folders; merge into another folder (e.g. adzone ablate --merge ${out} --out ${out}-table), so that it keeps standing for its shards`,
      out,
    );
  const records = dirs.map((d) => {
    const r = readGridRecord(d);
    if (!r)
      throw new GridError(`${d} has no ${GRID_FILE}: it is not the output of adzone ablate (run 'adzone ablate GRID --out ${d}' first)`, d);
    return r;
  });
  const first = records[0];
  for (const [i, r] of records.entries()) {
    if (r.hash !== first.hash)
      throw new GridError(
        `${dirs[i]} holds grid '${r.name}' (${r.hash}) but ${dirs[0]} holds '${first.name}' (${first.hash}): only slices of one grid can be merged`,
        dirs[i],
      );
  }
  assertWritableDir(out);
  const cells: Cell[] = first.cells.map(({ tune, ...c }) => ({ ...c, tune: tune ?? null }));
  const byId = new Map<string, RunOutcomeRow>();
  for (const d of dirs) for (const r of collectRuns(cells, d, out)) keepFirst(byId, r, log);
  const runs = cells.map((c) => byId.get(c.id)).filter((r): r is RunOutcomeRow => r !== undefined);
  if (!dirs.some((d) => d === out)) writeResult(join(out, GRID_FILE), 'ablate-grid', first);
  const command = config.command ?? `mergeAblations(${dirs.join(', ')})`;
  const extra = { mergedFrom: dirs.map((d) => relative(out, d) || '.') };
  const w = writeAblate({ out, record: first, cells, runs, command, extra });
  return { ...w, runs: runs.length, dirs };
}

function keepFirst(byId: Map<string, RunOutcomeRow>, r: RunOutcomeRow, log: (line: string) => void): void {
  const prev = byId.get(r.cell.id);
  if (!prev) byId.set(r.cell.id, r);
  else if (prev.result.finalTestAcc !== r.result.finalTestAcc || prev.result.status !== r.result.status)
    log(
      `note: cell ${r.cell.id} was run twice with different outcomes (${prev.dir}: ${prev.result.finalTestAcc}, ${r.dir}: ${r.result.finalTestAcc}); keeping ${prev.dir}`,
    );
}
