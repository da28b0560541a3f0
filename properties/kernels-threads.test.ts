/**
 * The GEMM kernels on worker threads (src/engine/kernels/threads.ts) give the same bits for 1, 2
 * and 3 threads: each output is computed whole by one thread, and the partition only decides
 * which. Checked on random conv2d and linear shapes (forward and every gradient, in every format
 * and mode, with the products split however small) and on whole networks (LeNet-5, VGG11 and
 * ResNet18 with batch norm at width 1/8) at the default split threshold.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { createEngineNet, gradients } from '../src/backends/engine/network.ts';
import { type Accumulate, conv2d, linear, Tape, type Tensor } from '../src/engine/index.ts';
import { setPoisonOnRelease } from '../src/engine/kernels/device.ts';
import { parallelRuns, setParallelThreshold, setThreads, threadSetting } from '../src/engine/kernels/threads.ts';
import { choice, FIRST } from '../src/jacobians/index.ts';
import { initParams } from '../src/models/init.ts';
import { modelSpec } from '../src/models/registry.ts';
import { runs } from '../src/nightly/runs.ts';
import { BF16, F16, F32, F64, type Format } from '../src/precision/index.ts';

// Released memory is poisoned, so that an output a thread failed to write cannot pass for the
// same value a previous run left at the same address.
setPoisonOnRelease(true);
afterAll(() => {
  setThreads(null);
  setParallelThreshold(4e6);
  setPoisonOnRelease(false);
});

const bits = new BigUint64Array(1);
const asF64 = new Float64Array(bits.buffer);
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): string | null {
  if (a.length !== b.length) return `length ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i]) && Number.isNaN(b[i])) continue;
    asF64[0] = a[i];
    const x = bits[0];
    asF64[0] = b[i];
    if (x !== bits[0]) return `[${i}] ${a[i]} vs ${b[i]}`;
  }
  return null;
}

function onThreads<T>(n: number, f: () => T): T {
  setThreads(n);
  try {
    return f();
  } finally {
    setThreads(null);
  }
}

const MODES: readonly (readonly [Format, Accumulate])[] = [
  [F64, 'strict'],
  [F32, 'strict'],
  [F32, 'wide'],
  [F16, 'strict'],
  [F16, 'wide'],
  [BF16, 'strict'],
  [BF16, 'wide'],
];

interface Case {
  readonly conv: boolean;
  readonly N: number;
  readonly C: number;
  readonly S: number;
  readonly O: number;
  readonly k: number;
  readonly stride: number;
  readonly pad: number;
}

function values(seed: number): (n: number) => number[] {
  let s = seed >>> 0 || 1;
  const u = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
  return (n) => Array.from({ length: n }, () => (u() < 0.05 ? 0 : (u() - 0.5) * 2 ** (8 * u() - 4)));
}

/** Output and every gradient of one conv2d or linear op. */
function runOp(c: Case, f: Format, acc: Accumulate, seed: number): ArrayLike<number>[] {
  const tape = new Tape({ format: f, accumulate: acc, jacobian: choice(FIRST) });
  const v = values(seed);
  let x: Tensor, w: Tensor, y: Tensor;
  const b = tape.tensor(v(c.O), [c.O], true, 'b');
  if (c.conv) {
    x = tape.tensor(v(c.N * c.C * c.S * c.S), [c.N, c.C, c.S, c.S], true, 'x');
    w = tape.tensor(v(c.O * c.C * c.k * c.k), [c.O, c.C, c.k, c.k], true, 'w');
    y = conv2d(x, w, b, { stride: [c.stride, c.stride], padding: [c.pad, c.pad] });
  } else {
    x = tape.tensor(v(c.N * c.C * c.S), [c.N, c.C * c.S], true, 'x');
    w = tape.tensor(v(c.O * c.C * c.S), [c.O, c.C * c.S], true, 'w');
    y = linear(x, w, b);
  }
  tape.backward(y, v(y.size));
  const out = [y.data, x.gradValues(), w.gradValues(), b.gradValues()];
  tape.release();
  return out;
}

const caseArb: fc.Arbitrary<Case> = fc
  .record({
    conv: fc.boolean(),
    N: fc.integer({ min: 1, max: 4 }),
    C: fc.integer({ min: 1, max: 9 }),
    S: fc.integer({ min: 1, max: 12 }),
    O: fc.integer({ min: 1, max: 13 }),
    k: fc.integer({ min: 1, max: 3 }),
    stride: fc.integer({ min: 1, max: 2 }),
    pad: fc.integer({ min: 0, max: 1 }),
  })
  .filter((c) => c.S + 2 * c.pad >= c.k && c.pad < c.k);

describe('kernel threads', () => {
  it('the thread count comes from setThreads, else ADZONE_THREADS, else the available cores', () => {
    const saved = process.env.ADZONE_THREADS;
    try {
      process.env.ADZONE_THREADS = '3';
      expect(threadSetting()).toEqual({ threads: 3, source: 'ADZONE_THREADS' });
      onThreads(2, () => expect(threadSetting()).toEqual({ threads: 2, source: 'setThreads' }));
      delete process.env.ADZONE_THREADS;
      expect(threadSetting().source).toBe('available cores');
      process.env.ADZONE_THREADS = 'two';
      expect(() => threadSetting()).toThrow(/ADZONE_THREADS must be an integer/);
      expect(() => setThreads(0)).toThrow(/threads must be an integer/);
    } finally {
      if (saved === undefined) delete process.env.ADZONE_THREADS;
      else process.env.ADZONE_THREADS = saved;
    }
  });

  it('conv2d and linear, forward and every gradient: the same bits on 1, 2 and 3 threads (every product split)', () => {
    setParallelThreshold(0);
    const before = parallelRuns();
    try {
      fc.assert(
        fc.property(caseArb, fc.constantFrom(...MODES), fc.integer({ min: 1, max: 2 ** 31 - 1 }), (c, [f, acc], seed) => {
          const one = onThreads(1, () => runOp(c, f, acc, seed));
          for (const n of [2, 3]) {
            const many = onThreads(n, () => runOp(c, f, acc, seed));
            one.forEach((a, i) => {
              const d = firstDifference(a, many[i]);
              if (d) throw new Error(`${n} threads, ${f.name} ${acc} ${JSON.stringify(c)} seed ${seed}: output ${i}${d}`);
            });
          }
        }),
        { numRuns: runs(300) },
      );
    } finally {
      setParallelThreshold(4e6);
    }
    expect(parallelRuns() - before).toBeGreaterThan(100);
  });

  it('whole networks (LeNet-5; VGG11 and ResNet18 with batch norm at width 1/8): loss, logits and every gradient on 1, 2 and 3 threads', () => {
    const before = parallelRuns();
    for (const [name, opts] of [
      ['lenet5', {}],
      ['vgg11', { width: 0.125 }],
      ['resnet18', { width: 0.125 }],
    ] as const) {
      const spec = modelSpec(name, opts);
      const init = initParams(spec, 5);
      const N = name === 'lenet5' ? 16 : 4;
      const [c, h, w] = spec.input;
      const v = values(9)(N * c * h * w);
      const batch = {
        x: Float64Array.from(v),
        shape: [N, c, h, w] as [number, number, number, number],
        labels: Int32Array.from({ length: N }, (_, i) => i % 10),
      };
      for (const [f, acc] of [MODES[1], MODES[3], MODES[5]]) {
        const run = (n: number) =>
          onThreads(n, () =>
            gradients(createEngineNet(spec, init), batch, { format: f, accumulate: acc, jacobian: choice(FIRST) }, { training: true }),
          );
        const one = run(1);
        for (const n of [2, 3]) {
          const many = run(n);
          expect(firstDifference([one.loss], [many.loss]), `${name} ${f.name} ${acc} ${n} threads: loss`).toBeNull();
          expect(firstDifference(one.logits, many.logits), `${name} ${f.name} ${acc} ${n} threads: logits`).toBeNull();
          for (const [p, g] of one.grads)
            expect(firstDifference(g, many.grads.get(p)!), `${name} ${f.name} ${acc} ${n} threads: ${p}`).toBeNull();
        }
      }
    }
    expect(parallelRuns() - before).toBeGreaterThan(10);
  });
});

describe('--threads on the command line', () => {
  const bin = new URL('../bin/adzone.js', import.meta.url).pathname;
  it('train and bench refuse a thread count that is not an integer from 1 to 64 (exit 2)', async () => {
    const { spawnSync } = await import('node:child_process');
    for (const [cmd, arg] of [
      ['train', '0'],
      ['bench', 'two'],
    ]) {
      const r = spawnSync(process.execPath, [bin, cmd, '--threads', arg], { encoding: 'utf8', timeout: 120_000 });
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/--threads must be an integer/);
    }
  });
});
