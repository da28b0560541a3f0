/**
 * `adzone bench`: speed of the pieces of a verification run, measured side by side in one process
 * on the same inputs, written to bench/results.json and printed as a table. Targets live here,
 * never in tests.
 *
 * Measured: one forward+backward of a conv2d → ReLU → MaxPool chain (batch 8, 3→8 channels,
 * 16×16, 3×3 conv, 2×2 pool) on the engine at 16/32/64 bits in both accumulation modes and on each
 * tfjs backend; and the exact classification of one small chain point relative to the float pass.
 */
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadBackend } from '../backends/registry.ts';
import type { AdBackend } from '../backends/types.ts';
import { choice, FIRST, MINNORM, beta } from '../jacobians/index.ts';
import { decimalOracle } from '../oracle/index.ts';
import { classifyPoint } from '../zones/classify.ts';
import type { Problem } from '../problem/index.ts';
import { toJson, writeFileAtomic } from '../report/atomic.ts';
import { VERSION } from './main.ts';
import { mulberry32 as rng } from '../util/rng.ts';

export function chainProblem(n: number, cin: number, cout: number, hw: number, seed: number): Problem {
  const r = rng(seed);
  const k = 3;
  const conv = { kind: 'conv2d', outChannels: cout, kernel: [k, k], stride: [1, 1], padding: [1, 1], bias: true } as const;
  const pool = { kind: 'maxpool', kernel: [2, 2], stride: [2, 2], padding: [0, 0] } as const;
  const outHw = Math.floor(hw / 2);
  return {
    input: { shape: [n, cin, hw, hw], data: Array.from({ length: n * cin * hw * hw }, () => r() * 2 - 1) },
    layers: [conv, { kind: 'relu' }, pool],
    params: [{ weight: Array.from({ length: cout * cin * k * k }, () => (r() * 2 - 1) / 3), bias: Array.from({ length: cout }, () => 0.01 * r()) }, null, null],
    cotangent: Array.from({ length: n * cout * outHw * outHw }, () => r() * 2 - 1),
  };
}

async function time(fn: () => Promise<unknown>, minMs = 1500, minReps = 5): Promise<{ msPerRun: number; reps: number }> {
  await fn(); // warm-up
  let reps = 0;
  const t0 = performance.now();
  while (reps < minReps || performance.now() - t0 < minMs) {
    await fn();
    reps++;
  }
  return { msPerRun: (performance.now() - t0) / reps, reps };
}

export interface BenchRow {
  readonly name: string;
  readonly backend: string;
  readonly precision: string;
  readonly accumulate: string;
  readonly msPerRun: number;
  readonly reps: number;
  readonly relative?: string;
}

export async function bench(out: string, log: (s: string) => void): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const problem = chainProblem(8, 3, 8, 16, 1);
  const jac = choice(beta(10));
  const backends: AdBackend[] = [];
  for (const id of ['engine', 'tfjs-cpu', 'tfjs-wasm', 'tfjs-node']) {
    const b = await loadBackend(id);
    if ('unavailable' in b) log(`skipping ${id}: ${b.unavailable}`);
    else backends.push(b);
  }
  for (const b of backends) {
    const precisions = b.id === 'engine' ? ['16', '32', '64'] : b.precisions;
    const modes = b.id === 'engine' ? (['strict', 'wide'] as const) : (['strict'] as const);
    for (const precision of precisions)
      for (const accumulate of modes) {
        if (precision === '64' && accumulate === 'wide') continue; // identical to strict at 64 bits
        const t = await time(() => b.run(problem, { precision, accumulate, jacobian: jac }));
        rows.push({ name: 'chain fwd+bwd (8×3×16×16, conv 8@3×3, pool 2×2)', backend: b.id, precision, accumulate: b.id === 'engine' ? accumulate : 'framework', ...t });
        log(`${b.id} ${precision} ${accumulate}: ${t.msPerRun.toFixed(2)} ms`);
      }
  }
  // Exact classification of a small point vs its float pass.
  const small = chainProblem(1, 1, 2, 8, 2);
  const engine = backends.find((b) => b.id === 'engine')!;
  const floatT = await time(() => engine.run(small, { precision: '32', accumulate: 'strict', jacobian: choice(FIRST) }));
  const clsT = await time(() =>
    classifyPoint(small, {
      precisions: ['32'],
      accumulate: 'strict',
      family: [FIRST, MINNORM, beta(10)],
      reluAlphas: [0],
      betaMode: 'backward',
      oracle: decimalOracle,
      backends: [engine],
    }),
  );
  rows.push({ name: 'float pass, small chain (1×1×8×8, conv 2@3×3)', backend: 'engine', precision: '32', accumulate: 'strict', ...floatT });
  rows.push({
    name: 'exact classification, same point (3 members, decimal.js)',
    backend: 'engine+oracle',
    precision: '32',
    accumulate: 'strict',
    ...clsT,
    relative: `${(clsT.msPerRun / floatT.msPerRun).toFixed(0)}× the float pass`,
  });
  const engine32 = rows.find((r) => r.backend === 'engine' && r.precision === '32' && r.accumulate === 'strict');
  for (const r of rows) {
    if (r.relative || !engine32 || r.name !== engine32.name) continue;
    (r as { relative?: string }).relative = `${(r.msPerRun / engine32.msPerRun).toFixed(2)}× engine@32 strict`;
  }
  const file = join(resolve(out), 'results.json');
  writeFileAtomic(
    file,
    toJson({
      schema: 'adzone/bench',
      schemaVersion: 1,
      createdAt: new Date().toISOString(),
      tool: { adzone: VERSION, node: process.version, backends: Object.fromEntries(backends.map((b) => [b.id, b.versions])) },
      machine: { cpus: (await import('node:os')).cpus().length, model: (await import('node:os')).cpus()[0]?.model ?? 'unknown' },
      rows,
    }),
  );
  log(`wrote ${file}`);
  return rows;
}

export function benchTable(rows: readonly BenchRow[]): string {
  const head = '| measurement | backend | precision | accumulate | ms/run | reps | relative |\n| --- | --- | --- | --- | --- | --- | --- |';
  return [head, ...rows.map((r) => `| ${r.name} | ${r.backend} | ${r.precision} | ${r.accumulate} | ${r.msPerRun.toFixed(3)} | ${r.reps} | ${r.relative ?? ''} |`)].join('\n');
}
