/**
 * `adzone zones` as a user meets it: a tiny real run writes zones.json and zones.md whose numbers
 * are consistent (counts add up, shares in [0, 1], the comparison matches the per-batch flags), the
 * result does not depend on the number of jobs, bad options exit 2 with a message saying what was
 * wrong, and a batch-norm model runs the estimator alone and says so.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ZonesBatchRecord, ZonesCounts, ZonesReport } from '../src/report/zonesMarkdown.ts';

const bin = fileURLToPath(new URL('../bin/adzone.js', import.meta.url));

function run(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun) => {
    const p = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (status) => resolveRun({ status, stdout, stderr }));
  });
}

const sum = (r: Readonly<Record<string, number>>) => Object.values(r).reduce((a, b) => a + b, 0);
const nonRegular = (l: ZonesCounts) => sum(l.bifurcation) + sum(l.compensation);
/** Everything but the timings. */
const withoutTimes = (bs: readonly ZonesBatchRecord[]) => bs.map(({ ms: _ms, ...rest }) => rest);

describe('adzone zones', () => {
  it('a tiny LeNet-5 / MNIST run writes zones.json and zones.md with consistent numbers, the same for 1 or 2 jobs', async () => {
    const out1 = mkdtempSync(join(tmpdir(), 'adzone-zones-'));
    const out2 = mkdtempSync(join(tmpdir(), 'adzone-zones-'));
    try {
      const common = [
        'zones',
        '--model',
        'lenet5',
        '--dataset',
        'mnist',
        '--precision',
        '16,32,64',
        '--batches',
        '2',
        '--batch-size',
        '8',
        '--seed',
        '1',
      ];
      const [r1, r2] = await Promise.all([
        run(...common, '--out', out1, '--jobs', '2'),
        run(...common, '--out', out2, '--jobs', '1', '--quiet'),
      ]);
      expect(r1.status, r1.stderr).toBe(0);
      expect(r2.status, r2.stderr).toBe(0);
      expect(r1.stderr).toMatch(/6\/6 \(100%\)/); // the progress line
      const json = JSON.parse(readFileSync(join(out1, 'zones.json'), 'utf8')) as ZonesReport;
      const json2 = JSON.parse(readFileSync(join(out2, 'zones.json'), 'utf8')) as ZonesReport;

      expect(json.schema).toBe('adzone/zones');
      expect(json.schemaVersion).toBe(1);
      expect(json.command).toMatch(/^adzone zones --model lenet5 /);
      expect(json.tool.adzone).toMatch(/^\d+\.\d+\.\d+/);
      expect(json.config).toMatchObject({
        model: 'lenet5',
        dataset: 'mnist',
        split: 'train',
        batchSize: 8,
        batches: 2,
        seed: 1,
        precisions: ['16', '32', '64'],
        reluAlpha: 0,
      });
      expect(json.config.exact.available).toBe(true);
      expect(json.precisions.map((p) => p.precision)).toEqual(['16', '32', '64']);
      const thresholds: Record<string, number> = { '16': 1e-3, '32': 1e-7, '64': 1e-15 };

      for (const p of json.precisions) {
        expect(p.batches).toHaveLength(2);
        expect(p.batches.map((b) => [b.batch, b.firstIndex, b.size])).toEqual([
          [0, 0, 8],
          [1, 8, 8],
        ]);
        for (const b of p.batches) {
          expect(b.estimator.threshold).toBe(thresholds[p.precision]);
          expect(b.estimator.inZone).toBe(b.estimator.nonfinite || b.estimator.distance > b.estimator.threshold);
          expect(b.estimator.distance).toBeCloseTo(sum(b.estimator.perParam), 12);
          const e = b.exact!;
          expect(e.units).toBe(e.regular + e.harmless + e.bifurcation + e.compensation);
          expect(e.inZone).toBe(e.bifurcation + e.compensation > 0);
          expect(e.zone).toBe(e.bifurcation > 0 ? 'bifurcation' : e.compensation > 0 ? 'compensation' : 'regular');
          expect(e.samplesInZone).toBeGreaterThanOrEqual(0);
          expect(e.samplesInZone).toBeLessThanOrEqual(b.size);
          expect(e.filter.units).toBe(e.units);
          expect(e.filter.float + e.filter.structural + e.filter.exact).toBe(e.units);
          // layers: relu, pool, relu, pool, relu, relu — with the engine's PyTorch-style paths
          expect(e.layers.map((l) => [l.node, l.kind])).toEqual([
            ['1', 'relu'],
            ['2', 'maxpool'],
            ['4', 'relu'],
            ['5', 'maxpool'],
            ['8', 'relu'],
            ['10', 'relu'],
          ]);
          expect(e.layers.map((l) => l.units)).toEqual([8 * 6 * 24 * 24, 8 * 6 * 12 * 12, 8 * 16 * 8 * 8, 8 * 16 * 4 * 4, 8 * 120, 8 * 84]);
          for (const l of e.layers) expect(l.units).toBe(l.regular + sum(l.harmless) + nonRegular(l));
          expect(sum(Object.fromEntries(e.layers.map((l) => [l.node, l.units])))).toBe(e.units);
          expect(e.layers.reduce((a, l) => a + sum(l.bifurcation), 0)).toBe(e.bifurcation);
          expect(e.layers.reduce((a, l) => a + sum(l.compensation), 0)).toBe(e.compensation);
          expect(b.windows).toBe(8 * 6 * 12 * 12 + 8 * 16 * 4 * 4);
          expect(b.pTiedWindows).toBe(e.layers.filter((l) => l.kind === 'maxpool').reduce((a, l) => a + l.pTied, 0));
        }
        // per-layer aggregates are the sums over batches; shares in [0, 1] adding to 1
        for (const [i, l] of p.layers!.entries()) {
          expect(l.units).toBe(p.batches.reduce((a, b) => a + b.exact!.layers[i].units, 0));
          expect(nonRegular(l)).toBe(p.batches.reduce((a, b) => a + nonRegular(b.exact!.layers[i]), 0));
          for (const v of Object.values(l.share)) expect(v >= 0 && v <= 1).toBe(true);
          expect(sum(l.share)).toBeCloseTo(1, 12);
        }
        const s = p.summary;
        expect(s.batches).toBe(2);
        expect(s.estimatorInZone).toBe(p.batches.filter((b) => b.estimator.inZone).length);
        expect(s.exactInZone).toBe(p.batches.filter((b) => b.exact!.inZone).length);
        for (const v of [s.estimatorShare, s.exactShare!]) expect(v >= 0 && v <= 1).toBe(true);
        const c = s.comparison!;
        expect(c.agree + c.missed + c.invented).toBe(2);
        expect(c.missed).toBe(p.batches.filter((b) => b.exact!.inZone && !b.estimator.inZone).length);
        expect(c.invented).toBe(p.batches.filter((b) => !b.exact!.inZone && b.estimator.inZone).length);
        // the fields of the headline exist and are means of the per-batch numbers (no ordering asserted)
        const w = s.windowsPerBatch;
        expect(w.units).toBe(8 * 6 * 12 * 12 + 8 * 16 * 4 * 4);
        expect(w.nonRegular).toBeCloseTo(
          p.batches.reduce((a, b) => a + b.exact!.layers.filter((l) => l.kind === 'maxpool').reduce((x, l) => x + nonRegular(l), 0), 0) / 2,
          9,
        );
        expect(w.exactTied!).toBeGreaterThan(0);
        expect(w.harmlessAllZero! + w.harmlessIdenticalPatches!).toBeLessThanOrEqual(w.exactTied!);
        for (const f of p.findings) {
          expect(['bifurcation', 'compensation']).toContain(f.zone);
          expect(f.entries.length).toBeGreaterThan(0);
        }
      }
      // the number of jobs changes nothing but the timings
      expect(json2.precisions.map((p) => withoutTimes(p.batches))).toEqual(json.precisions.map((p) => withoutTimes(p.batches)));

      const md = readFileSync(join(out1, 'zones.md'), 'utf8');
      expect(md).toMatch(/## Headline/);
      expect(md).toMatch(/\| precision \| batches \| estimator in zone \| exact in zone \| missed \| invented \|/);
      for (const p of json.precisions) {
        const s = p.summary;
        expect(md).toContain(`| ${p.precision} | 2 | ${s.estimatorInZone} (`);
        expect(md).toMatch(new RegExp(`### ${p.precision} bits`));
      }
      expect(md).toMatch(/`2` maxpool 2×2 after conv1/);
      expect(md).toMatch(/## Against the PyTorch reference/);
      expect(md).toMatch(/What matches/);
      expect(md).not.toMatch(/Estimator only/);
    } finally {
      rmSync(out1, { recursive: true, force: true });
      rmSync(out2, { recursive: true, force: true });
    }
  });

  it('bad options exit 2 and say what was wrong', async () => {
    const base = ['zones', '--out', join(tmpdir(), 'adzone-zones-never-written')];
    const cases: [string[], RegExp][] = [
      [
        ['--model', 'alexnet', '--dataset', 'mnist', '--batches', '1'],
        /--model: unknown model 'alexnet'; expected one of lenet5, lenet5-padded, vgg11, resnet18/,
      ],
      [
        ['--model', 'lenet5', '--dataset', 'fashion', '--batches', '1'],
        /--dataset: unknown data set 'fashion'; expected one of mnist, cifar10, imagenet, imagenet-sample, svhn/,
      ],
      [
        ['--model', 'lenet5', '--dataset', 'cifar10', '--batches', '1'],
        /--model lenet5 expects inputs of shape 1×28×28 .* but --dataset cifar10 gives 3×32×32; use --dataset mnist/,
      ],
      [['--model', 'vgg11', '--dataset', 'mnist', '--batches', '1'], /--model vgg11 expects inputs of shape 3×32×32/],
      [['--model', 'lenet5', '--dataset', 'mnist', '--batches', '0'], /--batches must be a positive integer .* got '0'/],
      [['--model', 'lenet5', '--dataset', 'mnist', '--batches', '2.5'], /--batches must be a positive integer/],
      [['--model', 'lenet5', '--dataset', 'mnist', '--batches', '1', '--precision', '16,8'], /--precision: unknown value '8'/],
      [['--model', 'lenet5', '--dataset', 'mnist', '--batches', '1', '--width', '0.5'], /--model lenet5: .*does not take option width/],
      [
        ['--model', 'lenet5', '--dataset', 'mnist', '--batches', '1', '--relu-alpha', '2'],
        /--relu-alpha values must be numbers in \[0, 1\]/,
      ],
      [['--model', 'lenet5', '--dataset', 'mnist'], /zones needs --batches/],
      [['--model', 'lenet5', '--dataset', 'mnist', '--batches', '1', '--frobnicate'], /Unknown option '--frobnicate'/],
      [['--model', 'vgg11', '--dataset', 'svhn', '--batches', '1'], /--dataset svhn cannot be loaded: SVHN: no offline source/],
      [
        ['--model', 'lenet5', '--dataset', 'mnist', '--batches', '100', '--split', 'test', '--batch-size', '128'],
        /--batches 100: the mnist test split has 10000 images, only 79 batches of 128/,
      ],
    ];
    const results = await Promise.all(cases.map(([args]) => run(...base, ...args)));
    results.forEach((r, i) => {
      expect(r.status, `${cases[i][0].join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(cases[i][1]);
      expect(r.stderr).toMatch(/Run 'adzone help zones' for usage/);
    });
  });

  it('help lists the zones command and its options', async () => {
    const [top, own] = await Promise.all([run('help'), run('help', 'zones')]);
    expect(top.stdout).toMatch(/zones\s+zones of a whole network/);
    expect(own.status).toBe(0);
    expect(own.stdout).toMatch(/--batches N/);
    expect(own.stdout).toMatch(/--batch-norm/);
  });

  it('a batch-norm model runs the estimator only and says so in zones.md', async () => {
    const out = mkdtempSync(join(tmpdir(), 'adzone-zones-bn-'));
    try {
      const r = await run(
        'zones',
        '--model',
        'lenet5',
        '--batch-norm',
        '--dataset',
        'mnist',
        '--precision',
        '32,64',
        '--batches',
        '2',
        '--batch-size',
        '4',
        '--out',
        out,
        '--jobs',
        '1',
      );
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/estimator only: batch norm/);
      const json = JSON.parse(readFileSync(join(out, 'zones.json'), 'utf8')) as ZonesReport;
      expect(json.config.exact.available).toBe(false);
      expect(json.config.exact.reason).toMatch(/batch norm/);
      expect(json.config.variant).toMatch(/bn/);
      for (const p of json.precisions) {
        expect(p.layers).toBeNull();
        expect(p.summary.exactInZone).toBeNull();
        expect(p.summary.comparison).toBeNull();
        expect(p.summary.estimatorInZone).toBe(p.batches.filter((b) => b.estimator.inZone).length);
        for (const b of p.batches) {
          expect(b.exact).toBeNull();
          expect(Object.keys(b.estimator.perParam)).toContain('bn1.weight');
        }
      }
      const md = readFileSync(join(out, 'zones.md'), 'utf8');
      expect(md).toMatch(/\*\*Estimator only\.\*\* Exact classification is impossible for this model: batch norm/);
      expect(md).toMatch(/\| 32 \| 2 \| \d+ \(.*\) \| — \| — \| — \|/);
      expect(md).not.toMatch(/## Per layer/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
