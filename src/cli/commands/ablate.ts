/**
 * `adzone ablate GRID --out DIR [--shard i/n]` and `adzone ablate --merge DIR... --out DIR`.
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { UsageError } from '../args.ts';
import { DataError } from '../../data/index.ts';
import { CheckpointError } from '../../train/checkpoint.ts';
import { TrainConfigError } from '../../train/config.ts';
import { fmtDuration } from '../../train/progress.ts';
import { GridError, expandGrid, parseShard, readGrid, type Cell } from '../../train/ablate/grid.ts';
import { mergeGrids, runGrid, strayRuns } from '../../train/ablate/run.ts';

export const ABLATE_HELP = `adzone ablate — run a grid of training runs, resumably; or merge the slices of one grid into one table

Usage:
  adzone ablate GRID --out DIR [--shard i/n] [--dry-run] [--quiet]
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

Options:
  --out DIR        where grid.json, runs/<cell>/ (one adzone train folder per run), ablate.json and ablate.md go
  --shard i/n      run only every n-th cell starting at the i-th (1-based), e.g. 1/2 and 2/2 on two machines
                   or CI jobs; shards may share one --out, or use their own and be merged
  --merge DIR...   join the finished runs of these ablate outputs (slices of one grid) into --out
  --dry-run        list the cells (and which are finished) without training
  --quiet          no progress bars (a line per run still goes to stderr)

Finished runs are skipped, interrupted ones resume bit for bit from their checkpoint (written every
2 minutes and at each epoch end), and a diverged run is recorded as diverged. ablate.json (schema
adzone/ablate 1) lists every finished run and the table: test accuracy mean ± std over seeds per
cell, runs diverged. 'adzone report DIR' draws accuracy against β from it.

Example: adzone ablate grids/lenet5-mnist-sgd.yaml --out reports/ablate/lenet5-mnist-sgd`;

export async function ablateCommand(argv: string[], o: { version: string }): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      out: { type: 'string' },
      shard: { type: 'string' },
      merge: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) {
    console.log(ABLATE_HELP);
    return 0;
  }
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const command = `adzone ablate ${argv.join(' ')}`;
  if (values.out === undefined)
    throw new UsageError(`ablate needs --out DIR (e.g. adzone ablate grids/lenet5-mnist-sgd.yaml --out reports/ablate/lenet5-mnist-sgd)`);
  const out = resolve(values.out);
  try {
    if (values.merge) {
      if (!positionals.length)
        throw new UsageError(
          '--merge needs the output folders of the slices, e.g. adzone ablate --merge out/shard1 out/shard2 --out out/all',
        );
      if (values.shard !== undefined || values['dry-run']) throw new UsageError('--merge takes no --shard or --dry-run');
      const m = mergeGrids({ dirs: positionals.map((d) => resolve(d)), out, command, log });
      console.log(
        `merged ${m.runs} finished runs${m.missing.length ? ` (${m.missing.length} missing: ${m.missing.slice(0, 5).join(', ')}${m.missing.length > 5 ? ', …' : ''})` : ''} into ${m.json} and ${m.md}`,
      );
      return 0;
    }
    if (positionals.length !== 1)
      throw new UsageError(
        `ablate takes one grid file${positionals.length ? `, got ${positionals.length}: ${positionals.join(' ')}` : ' (JSON or YAML); run adzone help ablate for its form'}`,
      );
    const shard = values.shard === undefined ? null : parseShard(values.shard);
    const { grid, text } = readGrid(positionals[0]);
    const cells = expandGrid(grid);
    if (values['dry-run']) {
      const mine = new Set((shard ? cells.filter((c) => c.index % shard.count === shard.index - 1) : cells).map((c) => c.id));
      for (const c of cells)
        console.log(`${mine.has(c.id) ? '*' : ' '} ${String(c.index + 1).padStart(3)} ${c.id}: adzone train ${c.argv.join(' ')}`);
      console.log(`${cells.length} cells${shard ? `, ${mine.size} in shard ${shard.index}/${shard.count} (marked *)` : ''}`);
      return 0;
    }
    const stray = strayRuns(out, cells);
    if (stray.length)
      log(`note: ${out}/runs holds ${stray.length} folder(s) of no cell of this grid (left alone): ${stray.slice(0, 3).join(', ')}`);
    const t0 = performance.now();
    const mine: Cell[] = shard ? cells.filter((c) => c.index % shard.count === shard.index - 1) : cells;
    log(`grid '${grid.name}': ${cells.length} runs${shard ? `, ${mine.length} in shard ${shard.index}/${shard.count}` : ''} into ${out}`);
    const s = await runGrid({
      grid,
      cells,
      source: { file: positionals[0], text },
      out,
      shard,
      version: o.version,
      command,
      quiet: values.quiet === true,
      log,
    });
    const parts = [
      `${s.ran} run`,
      s.resumed ? `${s.resumed} resumed` : '',
      s.skipped ? `${s.skipped} finished before` : '',
      s.busy ? `${s.busy} running elsewhere` : '',
    ].filter(Boolean);
    console.log(
      `${parts.join(', ')} in ${fmtDuration((performance.now() - t0) / 1000)}; ${s.missing.length ? `${s.missing.length} of ${cells.length} runs not finished yet; ` : ''}wrote ${s.json} and ${s.md}`,
    );
    return s.interrupted ? 1 : 0;
  } catch (e) {
    if (e instanceof GridError || e instanceof TrainConfigError) throw new UsageError(e.message);
    if (e instanceof DataError || e instanceof CheckpointError) {
      log(`adzone: ${e.message}`);
      return 1;
    }
    throw e;
  }
}
