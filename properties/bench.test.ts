/**
 * `adzone bench --quick --only lenet` writes a results.json with the documented fields
 * (bench/README.md). Shape only: no timing is asserted here; the targets live in src/bench/targets.ts.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../bin/adzone.js', import.meta.url));

describe('adzone bench', () => {
  it('--quick --only lenet writes results.json with the documented fields', () => {
    const out = mkdtempSync(join(tmpdir(), 'adzone-bench-'));
    try {
      const r = spawnSync(process.execPath, [bin, 'bench', '--quick', '--only', 'lenet', '--out', out, '--quiet'], {
        encoding: 'utf8',
        timeout: 540_000,
      });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/\| measurement \|/);
      const json = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
      expect(json.schema).toBe('adzone/bench');
      expect(json.schemaVersion).toBe(2);
      expect(json.options).toEqual({ quick: true, only: ['lenet'] });
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
      ]) {
        expect(ids).toContain(id);
      }
      expect(ids.every((id: string) => id.startsWith('lenet/'))).toBe(true);
      if (json.tool.torch === null) expect(json.notes.join(' ')).toMatch(/PyTorch peer skipped/);
      for (const row of json.rows) {
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
      }
      const e32 = json.rows.find((row: { id: string }) => row.id === 'lenet/engine/32/strict');
      expect(e32.ratios[0]).toMatchObject({ to: 'lenet/tfjs-wasm/32/framework', target: 'engine-vs-tfjs-wasm' });
      expect(['PASS', 'MISS']).toContain(e32.ratios[0].verdict);
      const e16 = json.rows.find((row: { id: string }) => row.id === 'lenet/engine/16/strict');
      expect(e16.ratios[0]).toMatchObject({ to: 'lenet/engine/32/strict', target: 'engine16-vs-engine32' });
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 600_000);

  it('rejects an unknown --only group with exit code 2', () => {
    const r = spawnSync(process.execPath, [bin, 'bench', '--only', 'alexnet'], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--only: unknown value 'alexnet'/);
  });
});
