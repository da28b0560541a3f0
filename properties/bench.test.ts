/**
 * `adzone bench --quick --only lenet` writes a results.json with the documented fields
 * (bench/README.md). Shape only: no timing is asserted here; the targets live in src/bench/targets.ts.
 */

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { probeTorch, torchBuild } from '../src/bench/torch.ts';

interface Row {
  id: string;
  detail?: Record<string, unknown> & { lossCheck?: Record<string, unknown>; threads?: number };
  ratios: { to: string; target?: string; verdict?: string }[];
}

/** With an interpreter that has torch: the peer rows ran pinned to their threads and agreed on the first-step loss. */
function checkTorchRows(json: { rows: Row[]; tool: Record<string, unknown> }): void {
  const row = (id: string) => {
    const r = json.rows.find((x) => x.id === id);
    expect(r, id).toBeDefined();
    return r!;
  };
  expect(json.tool.torchBuild).toHaveProperty('blasInfo');
  expect(typeof json.tool.torchPython).toBe('string');
  for (const [id, threads, engineRow] of [
    ['lenet/torch/32/framework', 1, 'lenet/engine/32/strict'],
    ['lenet/torch/32/framework/t2', 2, 'lenet/engine/32/strict'],
    ['lenet/torch/64/framework', 1, 'lenet/engine/64/strict'],
  ] as const) {
    const r = row(id);
    expect(r.detail?.threads, id).toBe(threads);
    expect(r.detail?.lossCheck, id).toMatchObject({ engineRow, agree: true });
  }
  expect(row('lenet/engine/32/strict').ratios).toContainEqual(
    expect.objectContaining({ to: 'lenet/torch/32/framework', target: 'engine-vs-torch' }),
  );
  expect(row('lenet/engine/32/strict/t2').ratios).toContainEqual(
    expect.objectContaining({ to: 'lenet/torch/32/framework/t2', target: 'engine-vs-torch' }),
  );
}

/** Every row has the documented fields, ran without error, and its spread brackets its median. */
// biome-ignore lint/suspicious/noExplicitAny: rows as parsed from results.json
function checkRowShapes(rows: any[]): void {
  for (const row of rows) {
    for (const key of [
      'id',
      'group',
      'measurement',
      'model',
      'backend',
      'precision',
      'accumulate',
      'batchSize',
      'warmup',
      'reps',
      'msPerStep',
      'spreadMs',
      'samplesMs',
      'peakRssMB',
      'ratios',
    ]) {
      expect(row, `${row.id} lacks ${key}`).toHaveProperty(key);
    }
    expect(row.error, row.id).toBeUndefined();
    expect(row.group).toBe('lenet');
    expect(row.batchSize).toBe(32);
    expect(row.samplesMs).toHaveLength(row.reps);
    expect(row.reps).toBeGreaterThan(0);
    expect(row.msPerStep).toBeGreaterThan(0);
    expect(row.spreadMs.min).toBeLessThanOrEqual(row.msPerStep);
    expect(row.spreadMs.max).toBeGreaterThanOrEqual(row.msPerStep);
    expect(row.peakRssMB).toBeGreaterThan(0);
    if (row.backend === 'engine') expect(row.detail.threads, row.id).toBe(row.id.endsWith('/t2') ? 2 : 1);
  }
}

const bin = fileURLToPath(new URL('../bin/adzone.js', import.meta.url));

describe('adzone bench', () => {
  it('--quick --only lenet writes results.json with the documented fields', () => {
    const out = mkdtempSync(join(tmpdir(), 'adzone-bench-'));
    try {
      const r = spawnSync(process.execPath, [bin, 'bench', '--quick', '--only', 'lenet', '--threads', '2', '--out', out, '--quiet'], {
        encoding: 'utf8',
        timeout: 540_000,
      });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/\| measurement \|/);
      const json = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
      expect(json.schema).toBe('adzone/bench');
      expect(json.schemaVersion).toBe(2);
      expect(json.options).toEqual({ quick: true, only: ['lenet'], threads: 2 });
      expect(typeof json.tool.adzone).toBe('string');
      expect(json.tool.node).toBe(process.version);
      expect(typeof json.tool['@tensorflow/tfjs']).toBe('string');
      expect('torch' in json.tool).toBe(true);
      expect(typeof json.machine.cpuModel).toBe('string');
      expect(json.machine.cores).toBeGreaterThanOrEqual(1);
      expect(json.machine.node).toBe(process.version);
      expect(Number.isNaN(Date.parse(json.machine.date))).toBe(false);
      expect(json.machine.loadavgStart).toHaveLength(3);
      expect(json.machine.loadavgEnd).toHaveLength(3);
      expect(json.runSeconds).toBeGreaterThan(0);
      expect(json.data.mnist.batchSize).toBe(32);
      expect(Array.isArray(json.notes)).toBe(true);
      expect(json.targets.map((t: { id: string }) => t.id)).toEqual(
        expect.arrayContaining(['engine-vs-tfjs-wasm', 'engine16-vs-engine32']),
      );

      const ids = json.rows.map((row: { id: string }) => row.id);
      for (const id of [
        'lenet/tfjs-wasm/32/framework',
        'lenet/tfjs-cpu/32/framework',
        'lenet/engine/32/strict',
        'lenet/engine/32/wide',
        'lenet/engine/16/strict',
        'lenet/engine/16/wide',
        'lenet/engine/64/strict',
        'lenet/engine/bf16/strict',
        'lenet/engine/bf16/wide',
        'lenet/engine/32/strict/t2',
      ]) {
        expect(ids).toContain(id);
      }
      expect(ids.every((id: string) => id.startsWith('lenet/'))).toBe(true);
      if (json.tool.torch === null) expect(json.notes.join(' ')).toMatch(/PyTorch peer skipped/);
      else checkTorchRows(json);
      checkRowShapes(json.rows);
      const e32 = json.rows.find((row: { id: string }) => row.id === 'lenet/engine/32/strict');
      expect(e32.ratios[0]).toMatchObject({ to: 'lenet/tfjs-wasm/32/framework', target: 'engine-vs-tfjs-wasm' });
      expect(['PASS', 'MISS']).toContain(e32.ratios[0].verdict);
      const e16 = json.rows.find((row: { id: string }) => row.id === 'lenet/engine/16/strict');
      expect(e16.ratios[0]).toMatchObject({ to: 'lenet/engine/32/strict', target: 'engine16-vs-engine32' });
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 600_000);

  it('a named interpreter without torch is reported, not replaced by another', async () => {
    const r = await probeTorch('/nonexistent/python3');
    expect(r.available).toBe(false);
    if (!r.available) expect(r.reason).toMatch(/\/nonexistent\/python3 \(from the option\) cannot import torch/);
  });

  it('torchBuild reads the BLAS, LAPACK and oneDNN of torch.__config__.show()', () => {
    const show = `PyTorch built with:
  - Intel(R) MKL-DNN v2.6.3 (Git Hash N/A)
  - CPU capability usage: AVX2
  - Build settings: BLAS_INFO=generic, BUILD_TYPE=RelWithDebInfo, LAPACK_INFO=generic, PERF_WITH_AVX=1,`;
    const b = torchBuild(show, 'ATen parallel backend: OpenMP\n', ['/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0']);
    expect(b).toEqual({
      blasInfo: 'generic',
      lapackInfo: 'generic',
      onednn: 'Intel(R) MKL-DNN v2.6.3',
      cpuCapability: 'AVX2',
      parallelBackend: 'OpenMP',
      libraries: ['/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0'],
    });
  });

  it('rejects an unknown --only group with exit code 2', () => {
    const r = spawnSync(process.execPath, [bin, 'bench', '--only', 'alexnet'], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--only: unknown value 'alexnet'/);
  });
});
