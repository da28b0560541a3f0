/**
 * The kernels of the ops around the GEMMs (src/engine/kernels/ops.as.ts, round.as.ts) give the JS
 * path bit for bit: ReLU with every α, MaxPool with every Jacobian of the family (first, last,
 * minnorm, β) on windows with ties, NaN, ±0 and ±∞, the residual add, the tape's accumulation of
 * gradients from several consumers, reshape, softmax cross-entropy, batch norm (training, with the
 * running statistics, and inference) and average pooling — at binary16, bfloat16,
 * binary32 and binary64, strict and wide. "Bit for bit" compares IEEE bits (NaN = NaN, as in
 * kernels.test.ts); routing decisions (ReLU signs, MaxPool tie sets) must be identical too.
 */
import { f16round } from '@petamoriken/float16';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { bf16roundFast } from '../src/engine/arith.ts';
import {
  type Accumulate,
  add,
  avgpool2d,
  batchnorm2d,
  globalAvgPool,
  maxpool2d,
  relu,
  reshape,
  softmaxCrossEntropy,
  Tape,
  type Tensor,
} from '../src/engine/index.ts';
import { setPoisonOnRelease } from '../src/engine/kernels/device.ts';
import { loadModule } from '../src/engine/kernels/index.ts';
import { adam, sgd } from '../src/engine/optim/index.ts';
import { beta, choice, FIRST, LAST, type MaxPoolJacobian, MINNORM } from '../src/jacobians/index.ts';
import { runs } from '../src/nightly/runs.ts';
import { BF16, F16, F32, F64, type Format, round as roundTo } from '../src/precision/index.ts';

// Released device memory is poisoned, so that an output a kernel left unwritten cannot pass for
// the value an earlier tape left at the same address.
setPoisonOnRelease(true);
const savedEnv = process.env.ADZONE_KERNELS;
afterAll(() => {
  setPoisonOnRelease(false);
  if (savedEnv === undefined) delete process.env.ADZONE_KERNELS;
  else process.env.ADZONE_KERNELS = savedEnv;
});

function withPath<T>(path: 'js' | 'kernels', f: () => T): T {
  if (path === 'js') process.env.ADZONE_KERNELS = 'js';
  else delete process.env.ADZONE_KERNELS;
  try {
    return f();
  } finally {
    delete process.env.ADZONE_KERNELS;
  }
}

const bits = new BigUint64Array(1);
const asF64 = new Float64Array(bits.buffer);
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): string | null {
  if (a.length !== b.length) return `length ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i]) && Number.isNaN(b[i])) continue;
    asF64[0] = a[i];
    const x = bits[0];
    asF64[0] = b[i];
    if (x !== bits[0]) return `[${i}] ${Object.is(a[i], -0) ? '-0' : a[i]} vs ${Object.is(b[i], -0) ? '-0' : b[i]}`;
  }
  return null;
}

const FORMATS: readonly Format[] = [F64, F32, F16, BF16];
const MODES: readonly Accumulate[] = ['strict', 'wide'];

// ---------------------------------------------------------------------------------------------
// Values with ties: a few levels repeated, so that windows tie often; and the special values.

type Profile = 'ties' | 'typical' | 'special' | 'tiny' | 'huge';
const PROFILES: readonly Profile[] = ['ties', 'typical', 'special', 'tiny', 'huge'];

function values(f: Format, profile: Profile, seed: number): (n: number) => number[] {
  let s = seed >>> 0 || 1;
  const u = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
  const sign = () => (u() < 0.5 ? -1 : 1);
  const minSub = f === F16 ? 2 ** -24 : f === BF16 ? 2 ** -133 : f === F32 ? 2 ** -149 : 2 ** -1074;
  const max = f === F16 ? 65504 : f === F64 ? 1.7e308 : 3.38e38;
  const typical = () => sign() * u() * 10 ** (3 * u() - 2);
  const levels = [0, -0, 1, -1, 0.5, 2, 3, -2];
  const one = (): number => {
    const r = u();
    switch (profile) {
      case 'ties':
        return r < 0.8 ? levels[Math.floor(u() * levels.length)] : typical();
      case 'typical':
        return r < 0.05 ? 0 : typical();
      case 'special':
        return r < 0.05 ? Infinity : r < 0.1 ? -Infinity : r < 0.14 ? NaN : r < 0.24 ? -0 : r < 0.34 ? 0 : typical();
      case 'tiny':
        return r < 0.5 ? sign() * minSub * Math.floor(1 + u() * 3000) : r < 0.7 ? sign() * minSub * 2 ** (u() * 40) : typical();
      case 'huge':
        return r < 0.5 ? sign() * max * (0.3 + 0.7 * u()) ** 4 : typical();
    }
  };
  return (n) => Array.from({ length: n }, one);
}

// ---------------------------------------------------------------------------------------------
// One network fragment, both paths: every value, decision and gradient of it.

interface Case {
  readonly N: number;
  readonly C: number;
  readonly H: number;
  readonly W: number;
  readonly kernel: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
}

/**
 * x → relu → maxpool, and a maxpool straight on raw values; their sum with a third input, the first
 * pooled tensor used twice (its gradient accumulates from two consumers) → relu → reshape [N, ·] →
 * softmax cross-entropy (a plain cotangent seeds the backward when a row has one value only).
 */
function run(
  c: Case,
  f: Format,
  acc: Accumulate,
  jac: MaxPoolJacobian,
  alpha: number,
  profile: Profile,
  seed: number,
): Record<string, ArrayLike<number>> {
  const tape = new Tape({ format: f, accumulate: acc, jacobian: choice(jac, alpha) });
  const v = values(f, profile, seed);
  const x = tape.tensor(v(c.N * c.C * c.H * c.W), [c.N, c.C, c.H, c.W], true, 'x');
  const r1 = relu(x);
  const xm = tape.tensor(v(x.size), x.shape, true, 'xm'); // a maxpool straight on raw values (NaN, ±Inf windows)
  const pooledRaw = maxpool2d(xm, { kernel: c.kernel, stride: c.stride, padding: c.padding });
  const pooled = maxpool2d(r1, { kernel: c.kernel, stride: c.stride, padding: c.padding });
  const other = tape.tensor(v(pooled.size), pooled.shape, true, 'other');
  const sum = add(add(pooled, other), add(pooled, pooledRaw));
  const r2 = relu(sum);
  const flat = reshape(r2, [c.N, r2.size / c.N]);
  let loss: Tensor | null = null;
  if (flat.shape[1] >= 2) {
    const labels = Int32Array.from({ length: c.N }, (_, i) => (seed + i) % flat.shape[1]);
    loss = softmaxCrossEntropy(flat, labels);
    tape.backward(loss, [f === F16 ? 1 : 0.75]);
  } else tape.backward(flat, v(flat.size));
  const decisions: Record<string, ArrayLike<number>> = {};
  tape.decisions.forEach((d, i) => {
    if (d.kind === 'relu') decisions[`relu${i}`] = d.sign;
    else {
      decisions[`ties${i}.offsets`] = d.ties.offsets;
      decisions[`ties${i}.indices`] = d.ties.indices;
    }
  });
  return {
    ...decisions,
    r1: r1.data,
    pooled: pooled.data,
    pooledRaw: pooledRaw.data,
    sum: sum.data,
    ...(loss ? { loss: loss.data } : {}),
    dx: x.gradValues(),
    dxm: xm.gradValues(),
    dother: other.gradValues(),
  };
}

/**
 * x → batch norm (training or inference, running statistics that start random) → relu → average
 * pooling → global average pooling → reshape → softmax cross-entropy: every value, the running
 * statistics after, and the gradients of x, γ and β.
 */
function runNorm(
  c: Case,
  f: Format,
  acc: Accumulate,
  training: boolean,
  profile: Profile,
  seed: number,
): Record<string, ArrayLike<number>> {
  const tape = new Tape({ format: f, accumulate: acc, jacobian: choice(FIRST) });
  const v = values(f, profile, seed);
  const x = tape.tensor(v(c.N * c.C * c.H * c.W), [c.N, c.C, c.H, c.W], true, 'x');
  const gamma = tape.tensor(v(c.C), [c.C], true, 'gamma');
  const beta = tape.tensor(v(c.C), [c.C], true, 'beta');
  const running = { mean: Float64Array.from(v(c.C)), var: Float64Array.from(v(c.C), Math.abs) };
  const bn = batchnorm2d(x, gamma, beta, running, { training: training && c.N * c.H * c.W > 1, eps: 1e-5, momentum: 0.1 });
  const kernel: [number, number] = [Math.min(c.kernel[0], c.H), Math.min(c.kernel[1], c.W)]; // no padding here
  const pooled = avgpool2d(relu(bn), { kernel, stride: c.stride });
  const g = globalAvgPool(pooled);
  const flat = reshape(g, [c.N, c.C]);
  const labels = Int32Array.from({ length: c.N }, (_, i) => (seed + i) % c.C);
  if (c.C >= 2) tape.backward(softmaxCrossEntropy(flat, labels), [1]);
  else tape.backward(flat, v(flat.size));
  return {
    bn: bn.data,
    pooled: pooled.data,
    g: g.data,
    mean: running.mean,
    var: running.var,
    dx: x.gradValues(),
    dgamma: gamma.gradValues(),
    dbeta: beta.gradValues(),
  };
}

function compare(c: Case, f: Format, acc: Accumulate, jac: MaxPoolJacobian, alpha: number, profile: Profile, seed: number): string | null {
  const js = withPath('js', () => ({
    ...run(c, f, acc, jac, alpha, profile, seed),
    ...prefixed(runNorm(c, f, acc, seed % 2 === 0, profile, seed)),
  }));
  const k = withPath('kernels', () => ({
    ...run(c, f, acc, jac, alpha, profile, seed),
    ...prefixed(runNorm(c, f, acc, seed % 2 === 0, profile, seed)),
  }));
  for (const name of Object.keys(js)) {
    const d = firstDifference(js[name], k[name] ?? []);
    if (d) return `${f.name} ${acc} ${JSON.stringify(jac)} α=${alpha} ${profile} ${JSON.stringify(c)} seed ${seed}: ${name}${d}`;
  }
  return null;
}

const prefixed = (r: Record<string, ArrayLike<number>>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [`norm.${k}`, v]));

const caseArb: fc.Arbitrary<Case> = fc
  .record({
    N: fc.integer({ min: 1, max: 3 }),
    C: fc.integer({ min: 1, max: 4 }),
    H: fc.integer({ min: 1, max: 9 }),
    W: fc.integer({ min: 1, max: 9 }),
    kernel: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    stride: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    padding: fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 1 })),
  })
  .map((c) => ({ ...c, padding: [Math.min(c.padding[0], c.kernel[0] >> 1), Math.min(c.padding[1], c.kernel[1] >> 1)] as [number, number] }))
  .filter((c) => c.H + 2 * c.padding[0] >= c.kernel[0] && c.W + 2 * c.padding[1] >= c.kernel[1]);
const jacArb: fc.Arbitrary<MaxPoolJacobian> = fc.oneof(
  fc.constantFrom(FIRST, LAST, MINNORM),
  fc.constantFrom(0, 1, 10, 100, 1000, 10000).map((b) => beta(b)),
);

describe('op kernels give the JS path bit for bit', () => {
  it('has the kernels loaded (WebAssembly SIMD and shared memory)', () => {
    expect(loadModule()).not.toBeNull();
  });

  it('relu, maxpool (every Jacobian), add, accumulation, reshape, softmax cross-entropy, batch norm (training and inference), average and global pooling: random shapes, formats, modes and values', () => {
    fc.assert(
      fc.property(
        caseArb,
        fc.constantFrom(...FORMATS),
        fc.constantFrom(...MODES),
        jacArb,
        fc.constantFrom(0, 0.5, 1),
        fc.constantFrom(...PROFILES),
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        (c, f, acc, jac, alpha, profile, seed) => {
          const d = compare(c, f, acc, jac, alpha, profile, seed);
          if (d) throw new Error(d);
        },
      ),
      { numRuns: runs(1200) },
    );
  });

  it('LeNet-sized maxpool and relu (2×2 windows over 24×24 planes, the shapes of a training step) in every format and mode', () => {
    const c: Case = { N: 4, C: 6, H: 24, W: 24, kernel: [2, 2], stride: [2, 2], padding: [0, 0] };
    for (const f of FORMATS)
      for (const acc of MODES)
        for (const jac of [FIRST, LAST, MINNORM, beta(1000)])
          for (const profile of ['ties', 'special'] as const) expect(compare(c, f, acc, jac, 0.5, profile, 7)).toBeNull();
  });
});

describe('rounding inside the kernels', () => {
  const raw = () => loadModule()!.raw;

  it('doubles to binary16 are f16roundFast and to bfloat16 are roundGeneric (in the kernels and in JS: bf16roundFast), across subnormals, ties and overflow', () => {
    const check = (x: number) => {
      expect(firstDifference([bf16roundFast(x)], [roundTo(BF16, x)]), `bf16roundFast ${x}`).toBeNull();
      expect(firstDifference([raw().roundF64(2, x)], [f16round(x)]), `f16 ${x}`).toBeNull();
      expect(firstDifference([raw().roundF64(3, x)], [roundTo(BF16, x)]), `bf16 ${x}`).toBeNull();
      expect(firstDifference([raw().roundF64(1, x)], [Math.fround(x)]), `f32 ${x}`).toBeNull();
    };
    // Every bfloat16 grid point, its midpoints and their double neighbours, over the whole range.
    for (let e = -134; e <= 128; e++) {
      for (let m = 0; m < 256; m += 5) {
        const g = 2 ** e * (1 + m / 256);
        const mid = 2 ** e * (1 + (m + 0.5) / 256);
        for (const y of [g, mid, mid * (1 + 2 ** -52), mid * (1 - 2 ** -53)]) {
          check(y);
          check(-y);
        }
      }
    }
    for (const y of [
      0,
      -0,
      NaN,
      Infinity,
      -Infinity,
      65504,
      65520,
      65519.99,
      2 ** -24,
      2 ** -25,
      3 * 2 ** -26,
      2 ** -133,
      2 ** -134,
      3 * 2 ** -135,
    ])
      check(y);
    fc.assert(
      fc.property(fc.double({ noNaN: false }), (y) => {
        check(y);
      }),
      { numRuns: runs(20000) },
    );
  });

  it('binary32 values to bfloat16 (every exponent, round-half-even on the bits) equal roundGeneric', () => {
    const f32 = new Float32Array(1);
    const u32 = new Uint32Array(f32.buffer);
    for (let b = 0; b < 2 ** 32; b += 65521) {
      u32[0] = b;
      const x = f32[0];
      expect(firstDifference([raw().roundF32(3, x)], [roundTo(BF16, x)]), `bf16 of 0x${b.toString(16)}`).toBeNull();
      expect(firstDifference([raw().roundF32(2, x)], [f16round(x)]), `f16 of 0x${b.toString(16)}`).toBeNull();
    }
  });
});

describe('optimizer updates in the kernels give the JS loops bit for bit', () => {
  type Make = () => ReturnType<typeof sgd>;
  const optimizers: readonly [string, Make][] = [
    ['sgd', () => sgd({ lr: 0.01 })],
    ['sgd momentum', () => sgd({ lr: 0.05, momentum: 0.9 })],
    ['sgd momentum, decay, nesterov', () => sgd({ lr: 0.1, momentum: 0.9, weightDecay: 5e-4, nesterov: true })],
    ['sgd fp32 masters', () => sgd({ lr: 0.01, momentum: 0.9, masterWeights: '32' })],
    ['adam', () => adam({ lr: 1e-3 })],
    ['adam decay', () => adam({ lr: 3e-3, weightDecay: 1e-4 })],
    ['adam fp32 masters', () => adam({ lr: 1e-3, masterWeights: '32' })],
  ];

  it('SGD (momentum, weight decay, Nesterov) and Adam, over several steps, at binary16, bfloat16, binary32, binary64, with special gradients', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...optimizers),
        fc.constantFrom(...FORMATS),
        fc.constantFrom(...PROFILES),
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.integer({ min: 1, max: 40 }),
        ([name, make], f, profile, seed, n) => {
          const run = () => {
            const v = values(f, profile, seed);
            const opt = make();
            const params = new Map([['w', Float64Array.from(values(f, 'typical', seed + 1)(n), (x) => roundTo(f, x))]]);
            for (let t = 0; t < 3; t++) opt.step(params, new Map([['w', Float64Array.from(v(n), (x) => roundTo(f, x))]]), f);
            const { arrays } = opt.exportState();
            return { w: params.get('w')!, ...Object.fromEntries(arrays) };
          };
          const js = withPath('js', run);
          const k = withPath('kernels', run);
          for (const key of Object.keys(js)) {
            const d = firstDifference(js[key as 'w'], k[key as 'w']);
            if (d) throw new Error(`${name} ${f.name} ${profile} seed ${seed} n ${n}: ${key}${d}`);
          }
        },
      ),
      { numRuns: runs(400) },
    );
  });
});
