/**
 * `adzone ablate`: grid files, cells, shards, resumable runs and merging.
 *  - a grid file is checked like a command line: every mistake names the file (and the cell) and
 *    says what to write instead;
 *  - the cells are the product of the axes in order (last axis fastest), bundles set several options;
 *  - shards partition the cells (a property over grid sizes and shard counts);
 *  - the table is mean ± sample std over seed axes, with diverged runs counted;
 *  - end to end on tiny LeNet-5 runs: two shards merged equal one unsharded run cell for cell; a
 *    second invocation skips finished cells; a cell stopped mid-run resumes to the same numbers;
 *    a changed grid is refused in a folder of another grid.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { GridError, expandGrid, parseGrid, type Cell } from '../src/train/ablate/grid.ts';
import { parseShard, shardCells } from '../src/train/ablate/shard.ts';
import { planAblation, runAblation } from '../src/train/ablate/run.ts';
import { seedAxes, summarise, type RunOutcomeRow } from '../src/train/ablate/table.ts';
import type { TrainResult } from '../src/train/index.ts';
import { runs } from '../src/nightly/runs.ts';
import { run, tempDirs } from './support/cli.ts';

const tmp = tempDirs();

const tinyBase = `
base:
  model: lenet5
  dataset: mnist
  epochs: 1
  batch-size: 32
  limit-train: 128
  limit-test: 64
  precision: 32
  mode: strict
  backend: engine
  log-every: 2
`;

const tinyGrid = (name = 'tiny', betas = '[0, 10000]') => `name: ${name}\n${tinyBase}grid:\n  beta: ${betas}\n  seed: [1, 2]\n`;

describe('grid files', () => {
  it('expands the product of the axes in order, last axis fastest, with bundles and booleans', () => {
    const g = parseGrid(
      `name: g
base: { model: lenet5, dataset: mnist, epochs: 1 }
grid:
  precision:
    - { precision: 16, mode: strict, backend: engine, label: p16 }
    - { precision: 32 }
  batchNorm: [false, true]
  beta: [0, 1000]
`,
      'g.yaml',
    );
    const cells = expandGrid(g);
    expect(cells.map((c) => c.id)).toEqual([
      'precision-p16_batchNorm-false_beta-0',
      'precision-p16_batchNorm-false_beta-1000',
      'precision-p16_batchNorm-true_beta-0',
      'precision-p16_batchNorm-true_beta-1000',
      'precision-32_batchNorm-false_beta-0',
      'precision-32_batchNorm-false_beta-1000',
      'precision-32_batchNorm-true_beta-0',
      'precision-32_batchNorm-true_beta-1000',
    ]);
    expect(cells[3].config).toMatchObject({ precision: '16', mode: 'strict', backend: 'engine', batchNorm: true, beta: 1000 });
    // the defaults of adzone train: 32 bits without --mode is tfjs's own float32 on tfjs-wasm
    expect(cells[4].config).toMatchObject({
      precision: '32',
      mode: 'framework',
      backend: 'tfjs-wasm',
      batchNorm: false,
      beta: 0,
      batchSize: 64,
    });
    expect(cells[2].argv).toContain('--batch-norm');
    expect(cells[0].argv).not.toContain('--batch-norm');
    const j = expandGrid(
      parseGrid(
        JSON.stringify({
          base: { model: 'vgg11', dataset: 'cifar10', epochs: 2, precision: 32, beta: 0 },
          grid: { augment: [true, false] },
        }),
        'x.json',
      ),
    );
    expect(j.map((c) => c.config.augment)).toEqual([true, false]);
    expect(j[1].argv).toContain('--no-augment');
  });

  it('refuses a bad grid with a message naming the file, the cell and the fix', () => {
    const bad: [string, RegExp][] = [
      ['base: { model: lenet5 }\ngrid: { beta: [0] }\nextra: 1\n', /g\.yaml: unknown key 'extra'/],
      ['base: { model: lenet5, out: /tmp/x }\ngrid: { beta: [0] }\n', /'out' is set by adzone ablate itself/],
      ['base: { model: lenet5 }\ngrid: { beta: [] }\n', /grid\.beta must be a non-empty list/],
      ['base: { model: lenet5, beta: 0 }\ngrid: { beta: [0, 1] }\n', /'beta' is both in base and an axis/],
      ['base: { model: lenet5 }\ngrid:\n  a: [{ lr: 0.1 }]\n  b: [{ lr: 0.2 }]\n', /option 'lr' is set by both axes 'a' and 'b'/],
      ['base: { model: lenet5 }\ngrid:\n  a: [{ lr: 0.1, label: x }, { lr: 0.2, label: x }]\n', /two values have the label 'x'/],
      ['grid: [1, 2\n', /g\.yaml: not valid YAML/],
      [
        'base: { model: lenet5, dataset: mnist, epochs: 1, precision: 32 }\ngrid: { beta: [0, -1] }\n',
        // in the grid's words since cells are no longer command lines (was '--beta must be')
        /cell beta--1 .*beta must be an integer ≥ 0/,
      ],
      [
        'base: { model: lenet5, dataset: mnist, epochs: 1, precision: 32 }\ngrid: { colour: [red] }\n',
        /cell colour-red .*unknown train option 'colour'/,
      ],
      ['base: { model: lenet5, dataset: mnist, epochs: 1, precision: 32, beta: 0 }\ngrid: { lr: [0.1, "0.10"] }\n', /are the same run/],
    ];
    for (const [text, re] of bad) {
      let err: unknown = null;
      try {
        expandGrid(parseGrid(text, 'g.yaml'));
      } catch (e) {
        err = e;
      }
      expect(err, text).toBeInstanceOf(GridError);
      expect((err as Error).message, text).toMatch(re);
    }
    expect(() => parseShard('3/2')).toThrow(/1 ≤ i ≤ n/);
    expect(() => parseShard('0/2')).toThrow(/--shard must be i\/n/);
  });

  it('shards partition the cells: disjoint, complete, in grid order', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 9 }), (n, k) => {
        const cells = Array.from({ length: n }, (_, index) => ({ index, id: `c${index}` }) as unknown as Cell);
        const parts = Array.from({ length: k }, (_, i) => shardCells(cells, { index: i + 1, count: k }).map((c) => c.index));
        const all = parts.flat().sort((a, b) => a - b);
        expect(all).toEqual(cells.map((c) => c.index));
        for (const p of parts) expect(p).toEqual([...p].sort((a, b) => a - b));
        // sizes differ by at most one
        const sizes = parts.map((p) => p.length);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      }),
      { numRuns: runs(100) },
    );
  });

  it('the table is mean ± sample std over the seed axis; diverged runs and missing runs are counted', () => {
    const cells = expandGrid(parseGrid(tinyGrid('t', '[0, 1000]'), 't.yaml'));
    expect([...seedAxes(cells)]).toEqual(['seed']);
    const fake = (c: Cell, acc: number | null, status: 'completed' | 'diverged'): RunOutcomeRow => ({
      cell: c,
      dir: c.id,
      result: { finalTestAcc: acc, status, timings: { epochSeconds: [10] } } as unknown as TrainResult,
    });
    const rows = summarise(cells, [
      fake(cells[0], 0.9, 'completed'),
      fake(cells[1], 0.96, 'completed'),
      fake(cells[2], 0.1, 'diverged'),
    ]).rows;
    expect(rows).toHaveLength(2);
    expect(rows[0].labels).toEqual({ beta: '0' });
    expect(rows[0].mean).toBeCloseTo(0.93, 12);
    expect(rows[0].std).toBeCloseTo(Math.sqrt((0.03 ** 2 * 2) / 1), 12);
    expect(rows[1]).toMatchObject({ planned: 2, finished: 1, diverged: 1, mean: 0.1, std: null });
  });
});

describe('adzone ablate end to end (tiny LeNet-5 runs)', () => {
  it('two shards merged equal one unsharded run; a second invocation skips finished cells', async () => {
    const d = tmp('adzone-ablate-');
    const grid = join(d, 'tiny.yaml');
    writeFileSync(grid, tinyGrid());
    const [a, b, all] = await Promise.all([
      run('ablate', grid, '--out', join(d, 'a'), '--shard', '1/2', '--quiet'),
      run('ablate', grid, '--out', join(d, 'b'), '--shard', '2/2', '--quiet'),
      run('ablate', grid, '--out', join(d, 'all'), '--quiet'),
    ]);
    expect(a.status, a.stderr).toBe(0);
    expect(b.status, b.stderr).toBe(0);
    expect(all.status, all.stderr).toBe(0);
    expect(a.stdout).toMatch(/^2 run in .*; 2 of 4 runs not finished yet/);
    const m = await run('ablate', '--merge', join(d, 'a'), join(d, 'b'), '--out', join(d, 'merged'));
    expect(m.status, m.stderr).toBe(0);
    expect(m.stdout).toMatch(/merged 4 finished runs into/);
    type Abl = {
      runs: { cell: string; testAccuracy: number; dir: string }[];
      table: { labels: Record<string, string>; mean: number; std: number; finished: number }[];
    };
    const merged = JSON.parse(readFileSync(join(d, 'merged', 'ablate.json'), 'utf8')) as Abl;
    const whole = JSON.parse(readFileSync(join(d, 'all', 'ablate.json'), 'utf8')) as Abl;
    const acc = (x: Abl) => Object.fromEntries(x.runs.map((r) => [r.cell, r.testAccuracy]));
    expect(Object.keys(acc(merged))).toHaveLength(4);
    expect(acc(merged)).toEqual(acc(whole));
    expect(merged.table).toEqual(whole.table.map((r) => ({ ...r, meanEpochSeconds: expect.any(Number) })));
    // dirs are relative to the merged ablate.json and lead to the shards' runs
    for (const r of merged.runs) expect(statSync(join(d, 'merged', r.dir, 'result.json')).isFile()).toBe(true);
    const md = readFileSync(join(d, 'merged', 'ablate.md'), 'utf8');
    expect(md).toMatch(/\| beta \| test accuracy % \(mean ± std over seed\)/);

    const before = statSync(join(d, 'all', 'runs', 'beta-0_seed-1', 'result.json')).mtimeMs;
    const again = await run('ablate', grid, '--out', join(d, 'all'), '--quiet');
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/^0 run, 4 finished before in /);
    expect(statSync(join(d, 'all', 'runs', 'beta-0_seed-1', 'result.json')).mtimeMs).toBe(before);

    // a changed grid is refused in the folder of the old one, naming the folder
    writeFileSync(grid, tinyGrid('tiny', '[0, 1]'));
    const changed = await run('ablate', grid, '--out', join(d, 'all'), '--quiet');
    expect(changed.status).toBe(2);
    expect(changed.stderr).toMatch(/holds the runs of grid 'tiny' .* not of this grid .*new --out/);
    // slices of different grids do not merge
    const other = await run('ablate', grid, '--out', join(d, 'c'), '--shard', '1/9', '--quiet');
    expect(other.status, other.stderr).toBe(0);
    const bad = await run('ablate', '--merge', join(d, 'a'), join(d, 'c'), '--out', join(d, 'm2'));
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/only slices of one grid can be merged/);
  }, 120_000);

  it('a cell stopped mid-run resumes from its checkpoint and ends as an uninterrupted run', async () => {
    const d = tmp('adzone-ablate-resume-');
    const text = `name: r\n${tinyBase.replace('limit-train: 128', 'limit-train: 192')}grid:\n  beta: [0]\n  seed: [3]\n`;
    // checkpoints are written every 120 s and at epoch ends: with 2 epochs the stop after step 8
    // (epoch 2 of 6 steps each) resumes from the end of epoch 1
    const two = text.replace('epochs: 1', 'epochs: 2');
    const plan = (out: string) =>
      planAblation({ grid: { file: 'r.yaml', text: two }, out: join(d, out), version: 'test', command: 'test' });
    const cells2 = plan('x').cells;
    const stopped = await runAblation(plan('x'), { crashAt: (_c, p, s) => p === 'step' && s === 8 });
    expect(stopped.interrupted).toBe(true);
    const resumed = await runAblation(plan('x'));
    expect(resumed).toMatchObject({ resumed: 1, ran: 0, interrupted: false });
    const fresh = await runAblation(plan('y'));
    expect(fresh.ran).toBe(1);
    const res = (o: string) => JSON.parse(readFileSync(join(d, o, 'runs', cells2[0].id, 'result.json'), 'utf8')) as TrainResult;
    expect(res('x').finalTestAcc).toBe(res('y').finalTestAcc);
    expect(res('x').epochs.map((e) => e.loss)).toEqual(res('y').epochs.map((e) => e.loss));
    expect(res('x').timings.sessions).toHaveLength(2);
  }, 120_000);
});
