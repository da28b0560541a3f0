/**
 * `adzone ablate` where grids break (issue 12's reproductions, kept as tests; each failed on the
 * code before the fix), at the command line:
 *  - a cell killed between its final checkpoint and result.json is finished by the next ablate
 *    (it stayed "1 of 1 runs not finished yet" forever);
 *  - a grid of 10^6 or 10^12 cells is refused at once, --dry-run too (it was expanded cell by cell);
 *  - an --out that cannot be written exits 2 with one line before any run;
 *  - the committed experiments' grids still expand to the cells (and hash) their grid.json holds,
 *    and their result files read.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readResult } from '../src/schema/index.ts';
import { expandGrid, gridHash, readGrid } from '../src/train/ablate/grid.ts';
import { root, runMain as cli, tempDirs } from './support/cli.ts';

const tmp = tempDirs();

const tinyGrid = `name: t
base: { model: lenet5, dataset: mnist, epochs: 1, batch-size: 32, limit-train: 64, limit-test: 32, precision: 64, log-every: 1 }
grid:
  beta: [0]
`;

describe('adzone ablate integrity', () => {
  it('a cell killed between its final checkpoint and result.json is finished by the next run', async () => {
    const d = tmp('adzone-ablate-kill-');
    const grid = join(d, 't.yaml');
    writeFileSync(grid, tinyGrid);
    const out = join(d, 'out');
    const first = await cli('ablate', grid, '--out', out, '--quiet');
    expect(first.code, first.err).toBe(0);
    const run = join(out, 'runs', 'beta-0');
    const r0 = JSON.parse(readFileSync(join(run, 'result.json'), 'utf8'));
    rmSync(join(run, 'result.json'));
    writeFileSync(join(run, `.result.json.${2 ** 22 + 17}.1700000000000.k1ll3d.tmp`), '{');
    const again = await cli('ablate', grid, '--out', out, '--quiet');
    expect(again.code, again.err).toBe(0);
    expect(again.out).not.toMatch(/not finished yet/);
    const r1 = JSON.parse(readFileSync(join(run, 'result.json'), 'utf8'));
    expect(r1.finalTestAcc).toBe(r0.finalTestAcc);
    expect(r1.epochs).toEqual(r0.epochs);
    const table = JSON.parse(readFileSync(join(out, 'ablate.json'), 'utf8'));
    expect(table.grid).toMatchObject({ cells: 1, finished: 1, missing: [] });
    expect(readdirSync(run).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  }, 60_000);

  it.each([
    ['10^6', 6],
    ['10^12', 12],
  ])('a grid of %s cells is refused at once, with --dry-run too', async (_n, k) => {
    const d = tmp('adzone-ablate-huge-');
    // k axes of 10 values, each setting another option
    const options = [
      'beta',
      'seed',
      'lr',
      'momentum',
      'weight-decay',
      'relu-alpha',
      'log-every',
      'limit-train',
      'limit-test',
      'batch-size',
      'epochs',
      'loss-scale',
    ];
    const value = (o: string, i: number) =>
      ['momentum', 'weight-decay', 'relu-alpha'].includes(o) ? i / 10 : o === 'lr' ? (i + 1) / 100 : i + 1;
    const axes = options.slice(0, k).map((o) => `  ${o}: [${Array.from({ length: 10 }, (_, i) => value(o, i)).join(', ')}]`);
    const base = ['model: lenet5', 'dataset: mnist', 'precision: 64', ...(k < 11 ? ['epochs: 1'] : []), ...(k < 1 ? ['beta: 0'] : [])];
    const grid = join(d, 'huge.yaml');
    writeFileSync(grid, `name: huge\nbase: { ${base.join(', ')} }\ngrid:\n${axes.join('\n')}\n`);
    const t0 = performance.now();
    const r = await cli('ablate', grid, '--out', join(d, 'out'), '--dry-run');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(new RegExp(`has ${(10 ** k).toLocaleString('en-US')} cells`));
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(performance.now() - t0).toBeLessThan(10_000);
  });

  it('an --out naming a file exits 2 with one line, before any run', async () => {
    const d = tmp('adzone-ablate-out-');
    const grid = join(d, 't.yaml');
    writeFileSync(grid, tinyGrid);
    const file = join(d, 'a-file');
    writeFileSync(file, 'x');
    for (const out of [file, join(file, 'sub')]) {
      const r = await cli('ablate', grid, '--out', out, '--quiet');
      expect(r.code, out).toBe(2);
      expect(r.err).toContain(file);
      expect(r.err).not.toMatch(/\n\s+at /);
      expect(r.err).not.toMatch(/training|starting/);
    }
  });

  it("the committed experiments' grids expand to the cells their grid.json holds, and their result files read", () => {
    const grids = join(root, 'reports/ablate/grids');
    let checked = 0;
    for (const f of readdirSync(grids)) {
      const folder = join(root, 'reports/ablate', f.replace(/\.ya?ml$/, ''));
      if (!existsSync(join(folder, 'grid.json'))) continue;
      const committed = readResult(join(folder, 'grid.json'), 'ablate-grid').data;
      const cells = expandGrid(readGrid(join(grids, f)).grid);
      expect(gridHash(cells), f).toBe(committed.hash);
      // the command lines are for people (an older adzone wrote them as --option=value), the configs are the cells
      expect(cells.map((c) => [c.id, c.config])).toEqual(committed.cells.map((c) => [c.id, c.config]));
      readResult(join(folder, 'ablate.json'), 'ablate');
      for (const c of cells) {
        const res = join(folder, 'runs', c.id, 'result.json');
        if (existsSync(res)) expect(readResult(res, 'train').data.config).toEqual(c.config);
        // a tuned cell: its search reads, and its final run is the cell's config with the lr the search chose
        const tune = join(folder, 'runs', c.id, 'tune.json');
        if (!c.tune || !existsSync(tune)) continue;
        const t = readResult(tune, 'tune').data;
        expect(t.search).toEqual(c.tune);
        const fin = join(folder, 'runs', c.id, 'final', 'result.json');
        if (t.status === 'done') expect(readResult(fin, 'train').data.config).toEqual({ ...c.config, lr: t.chosen!.lr });
      }
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(8);
  });
});
