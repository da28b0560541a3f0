/**
 * The WebAssembly SIMD kernels (src/engine/kernels): the committed kernels.wasm is what its source
 * builds to, and conv2d / linear through the kernels give bit for bit what the JS loops give, for
 * binary16/32/64 in strict and wide mode, on random shapes and on values that underflow, overflow
 * and carry Inf and NaN. "Bit for bit" compares the IEEE bits of every output; NaNs compare equal
 * to each other (JS arithmetic does not define NaN payloads or signs, so neither path fixes them).
 */
import { readFileSync } from 'node:fs';
import { f16round } from '@petamoriken/float16';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { createEngineNet, gradients } from '../src/backends/engine/network.ts';
import { type Accumulate, conv2d, linear, makeArith, Tape, type Tensor } from '../src/engine/index.ts';
import type { ConvShape } from '../src/engine/kernels/conv2d.ts';
import { setPoisonOnRelease } from '../src/engine/kernels/device.ts';
import { callKernel, kernelCalls, kernelDeclined, kernelMode, kernelStatus } from '../src/engine/kernels/index.ts';
import { choice, FIRST } from '../src/jacobians/index.ts';
import { initParams } from '../src/models/init.ts';
import { modelSpec } from '../src/models/registry.ts';
import { runs } from '../src/nightly/runs.ts';
import { BF16, E4M3, F16, F32, F64, type Format } from '../src/precision/index.ts';

// Released device memory is poisoned, so that an output a kernel left unwritten cannot pass for
// the value an earlier tape left at the same address.
setPoisonOnRelease(true);
const savedEnv = process.env.ADZONE_KERNELS;
afterAll(() => {
  setPoisonOnRelease(false);
  if (savedEnv === undefined) delete process.env.ADZONE_KERNELS;
  else process.env.ADZONE_KERNELS = savedEnv;
});
/** Run f on the JS path (ADZONE_KERNELS=js) or with the kernels. */
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
/** Index and values of the first difference in IEEE bits (NaN = NaN), or null. */
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

const MODES: readonly (readonly [Format, Accumulate])[] = [
  [F64, 'strict'],
  [F32, 'strict'],
  [F32, 'wide'],
  [F16, 'strict'],
  [F16, 'wide'],
  [BF16, 'strict'],
  [BF16, 'wide'],
];

// ---------------------------------------------------------------------------------------------
// Values: each profile a way for a sum to go wrong

type Profile = 'typical' | 'unit' | 'tiny' | 'huge' | 'special';
const PROFILES: readonly Profile[] = ['typical', 'unit', 'tiny', 'huge', 'special'];

/** A stream of doubles for format f (the tape rounds them to p): deterministic from `seed`. */
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
  const max = f === F16 ? 65504 : f === BF16 ? 3.38e38 : f === F32 ? 3.4e38 : 1.7e308;
  const typical = () => sign() * u() * 10 ** (3 * u() - 2);
  const one = (): number => {
    const r = u();
    switch (profile) {
      case 'typical':
        return r < 0.05 ? 0 : typical();
      case 'unit': // |values| ≤ 2: binary16 strict runs without the overflow step (kind 3)
        return r < 0.05 ? 0 : r < 0.25 ? sign() * minSub * Math.floor(1 + u() * 3000) : sign() * 2 * u() ** 3;
      case 'tiny': // subnormal and near-subnormal values, products that underflow
        return r < 0.4 ? sign() * minSub * Math.floor(1 + u() * 3000) : r < 0.6 ? sign() * minSub * 2 ** (u() * 40) : typical();
      case 'huge': // products and sums that overflow to ±Inf
        return r < 0.5 ? sign() * max * (0.3 + 0.7 * u()) ** 8 : r < 0.7 ? sign() * Math.sqrt(max) * (0.5 + u()) : typical();
      case 'special':
        return r < 0.03 ? Infinity : r < 0.06 ? -Infinity : r < 0.09 ? NaN : r < 0.14 ? -0 : r < 0.2 ? 0 : typical();
    }
  };
  return (n) => Array.from({ length: n }, one);
}

// ---------------------------------------------------------------------------------------------
// One op, both paths

/** A conv2d case: the kernel's shape without its derived output size, and whether it has a bias. */
type ConvCase = Omit<ConvShape, 'outH' | 'outW'> & { readonly bias: boolean };
interface LinearCase {
  readonly N: number;
  readonly I: number;
  readonly O: number;
  readonly bias: boolean;
}
type OpCase = { readonly op: 'conv'; readonly s: ConvCase } | { readonly op: 'linear'; readonly s: LinearCase };

/** Output, gradients of every input (all require gradients) and the seed cotangent's pass. */
function runOp(c: OpCase, f: Format, acc: Accumulate, profile: Profile, seed: number): Record<string, ArrayLike<number>> {
  const tape = new Tape({ format: f, accumulate: acc, jacobian: choice(FIRST) });
  const v = values(f, profile, seed);
  let out: Tensor, x: Tensor, w: Tensor, b: Tensor | null;
  if (c.op === 'conv') {
    const { N, C, H, W, O, KH, KW, stride, padding, bias } = c.s;
    x = tape.tensor(v(N * C * H * W), [N, C, H, W], true, 'x');
    w = tape.tensor(v(O * C * KH * KW), [O, C, KH, KW], true, 'w');
    b = bias ? tape.tensor(v(O), [O], true, 'b') : null;
    out = conv2d(x, w, b, { stride, padding });
  } else {
    const { N, I, O, bias } = c.s;
    x = tape.tensor(v(N * I), [N, I], true, 'x');
    w = tape.tensor(v(O * I), [O, I], true, 'w');
    b = bias ? tape.tensor(v(O), [O], true, 'b') : null;
    out = linear(x, w, b);
  }
  tape.backward(out, v(out.size));
  return { y: out.data, dx: x.gradValues(), dw: w.gradValues(), ...(b ? { db: b.gradValues() } : {}) };
}

function compare(c: OpCase, f: Format, acc: Accumulate, profile: Profile, seed: number): string | null {
  const js = withPath('js', () => runOp(c, f, acc, profile, seed));
  const k = withPath('kernels', () => runOp(c, f, acc, profile, seed));
  for (const name of Object.keys(js)) {
    const d = firstDifference(js[name], k[name]);
    if (d) return `${f.name} ${acc} ${profile} ${c.op} ${JSON.stringify(c.s)} seed ${seed}: ${name}${d}`;
  }
  return null;
}

const convCaseArb: fc.Arbitrary<ConvCase> = fc
  .record({
    N: fc.integer({ min: 1, max: 3 }),
    C: fc.integer({ min: 1, max: 6 }),
    H: fc.integer({ min: 1, max: 11 }),
    W: fc.integer({ min: 1, max: 19 }),
    O: fc.integer({ min: 1, max: 9 }),
    KH: fc.integer({ min: 1, max: 5 }),
    KW: fc.integer({ min: 1, max: 5 }),
    stride: fc.tuple(fc.constantFrom(1, 1, 2, 3), fc.constantFrom(1, 1, 2, 3)),
    padding: fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })),
    bias: fc.boolean(),
  })
  .filter((s) => s.H + 2 * s.padding[0] >= s.KH && s.W + 2 * s.padding[1] >= s.KW);
const linearCaseArb: fc.Arbitrary<LinearCase> = fc.record({
  N: fc.integer({ min: 1, max: 19 }),
  I: fc.integer({ min: 1, max: 40 }),
  O: fc.integer({ min: 1, max: 21 }),
  bias: fc.boolean(),
});
const modeArb = fc.constantFrom(...MODES);
const profileArb = fc.constantFrom(...PROFILES, 'unit'); // 'unit' twice: it alone reaches kind 3 often
const seedArb = fc.integer({ min: 1, max: 2 ** 31 - 1 });

// ---------------------------------------------------------------------------------------------

/** LeNet-5 (paper and padded) through both paths: loss, logits, input and parameter gradients. */
function lenetBothPaths(): void {
  for (const name of ['lenet5', 'lenet5-padded']) {
    const spec = modelSpec(name);
    const init = initParams(spec, 3);
    const N = 3;
    const v = values(F64, 'typical', 11)(N * 784);
    const [c, h, w] = spec.input;
    const batch = {
      x: Float64Array.from({ length: N * c * h * w }, (_, i) => v[i % v.length]),
      shape: [N, c, h, w] as [number, number, number, number],
      labels: Int32Array.from([1, 7, 3]),
    };
    for (const [f, acc] of MODES) {
      const opts = { format: f, accumulate: acc, jacobian: choice(FIRST) };
      const run = (path: 'js' | 'kernels') =>
        withPath(path, () => gradients(createEngineNet(spec, init), batch, opts, { training: true, inputGrad: true }));
      const js = run('js');
      const k = run('kernels');
      expect(firstDifference([js.loss], [k.loss]), `${name} ${f.name} ${acc} loss`).toBeNull();
      expect(firstDifference(js.logits, k.logits), `${name} ${f.name} ${acc} logits`).toBeNull();
      expect(firstDifference(js.inputGrad!, k.inputGrad!), `${name} ${f.name} ${acc} input gradient`).toBeNull();
      for (const [p, g] of js.grads) expect(firstDifference(g, k.grads.get(p)!), `${name} ${f.name} ${acc} ${p}`).toBeNull();
    }
  }
}

/** Raw linear kernels as binary16 products and sums, against f16round. */
function binary16Rounding(): void {
  // Raw linear kernels: y[n] = Σ_i x[n,i]·w[i] over I = 1 (a product) or 2 (w = 1: a sum of two
  // binary16 values), in kind 2 (overflow step) and kind 3 (without, only where no sum reaches 65520).
  const f16s: number[] = [];
  for (let e = -24; e <= 15; e++) for (let m = 0; m < 1024; m += 7) f16s.push(f16round(2 ** e * (1 + m / 1024)), f16round(2 ** -24 * m));
  f16s.push(65504, 65472, 2 ** -14, 2 ** -24, 0, Infinity, NaN);
  const pick = values(F16, 'typical', 5);
  const run = (kind: number, I: number, x: number[], w: number[]) =>
    callKernel([Float64Array.from(x), Float64Array.from(w)], [x.length / I], 0, (k, [xp, wp, yp], sc) =>
      k.linFwd(kind, 0, x.length / I, I, 1, xp, wp, 0, yp, sc),
    )![0];
  for (const a of [1 + 2 ** -10, 3, 0.5 + 2 ** -11, 2 ** -10, 2 ** -13, 7.5, 1000, 65504, -1.5]) {
    const x = f16s.flatMap((v) => [v, -v]);
    const want = x.map((v) => f16round(0 + f16round(v * a))); // s = +0, s = f16(s + f16(x·a))
    expect(firstDifference(run(2, 1, x, [a]), want), `products ×${a}, kind 2`).toBeNull();
    const ok = x.map((v, i) => [v, i] as const).filter(([v]) => Number.isFinite(v) && Math.abs(v * a) < 65520);
    expect(
      firstDifference(
        run(
          3,
          1,
          ok.map(([v]) => v),
          [a],
        ),
        ok.map(([, i]) => want[i]),
      ),
      `products ×${a}, kind 3`,
    ).toBeNull();
  }
  const pairs: number[] = [];
  for (let i = 0; i < 40000; i++) {
    const [p, q] = pick(2).map((v, j) =>
      f16round(j === 0 ? f16s[(i * 7919) % f16s.length] : i % 3 === 0 ? -f16s[(i * 104729) % f16s.length] : v),
    );
    pairs.push(p, q);
  }
  const sums = (ps: number[]) => ps.flatMap((_, i) => (i % 2 ? [] : [f16round(f16round(0 + ps[i]) + ps[i + 1])]));
  expect(firstDifference(run(2, 2, pairs, [1, 1]), sums(pairs)), 'sums, kind 2').toBeNull();
  const finite: number[] = [];
  for (let i = 0; i < pairs.length; i += 2)
    if (Number.isFinite(pairs[i] + pairs[i + 1]) && Math.abs(pairs[i] + pairs[i + 1]) < 65520) finite.push(pairs[i], pairs[i + 1]);
  expect(firstDifference(run(3, 2, finite, [1, 1]), sums(finite)), 'sums, kind 3').toBeNull();
}

describe('kernels.wasm', () => {
  it('loads (WebAssembly SIMD) and its conv2d/linear kernels are used at 16/32/64 bits and bfloat16, not for other formats nor a checked Arith', () => {
    expect(kernelStatus()).toEqual({ active: true, reason: 'loaded' });
    for (const [f, acc] of MODES) expect(kernelMode(makeArith(f, acc))).not.toBeNull();
    for (const acc of ['strict', 'wide'] as const) expect(kernelMode(makeArith(E4M3, acc))).toBeNull();
    for (const [f, acc] of MODES) expect(kernelMode(makeArith(f, acc, { checkUnderflow: true }))).toBeNull();
    withPath('js', () => expect(kernelMode(makeArith(F32, 'strict'))).toBeNull());
  });

  it('is what `npm run build:kernels` builds from kernels.as.ts, byte for byte', async () => {
    // asc (Binaryen) output is deterministic for a given source, compiler version and flags, so the
    // committed binary must equal a fresh build with the flags of the package.json script.
    const script: string = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).scripts['build:kernels'];
    const argv = script.split(/\s+/);
    expect(argv[0]).toBe('asc');
    const outAt = argv.indexOf('-o');
    const committed = readFileSync(new URL(`../${argv[outAt + 1]}`, import.meta.url));
    const asc = (await import('assemblyscript/asc')).default;
    let built: Uint8Array | null = null;
    const { error, stderr } = await asc.main([...argv.slice(1, outAt), ...argv.slice(outAt + 2), '--outFile', 'kernels.wasm'], {
      writeFile: (name: string, contents: Uint8Array | string) => {
        if (name.endsWith('kernels.wasm') && typeof contents !== 'string') built = contents;
      },
    });
    expect(error, String(stderr)).toBeNull();
    expect(built).not.toBeNull();
    expect(Buffer.compare(Buffer.from(built!), committed), 'kernels.wasm is stale: run `npm run build:kernels`').toBe(0);
  }, 60_000);
});

describe('kernels give the JS path bit for bit', () => {
  const before = [...kernelCalls];
  const declinedBefore = kernelDeclined;
  let cases = 0;

  it('conv2d forward, input, weight and bias gradients: random shapes, strides, padding, formats, modes and values', () => {
    fc.assert(
      fc.property(convCaseArb, modeArb, profileArb, seedArb, (s, [f, acc], profile, seed) => {
        cases++;
        const d = compare({ op: 'conv', s }, f, acc, profile, seed);
        if (d) throw new Error(d);
      }),
      { numRuns: runs(1500) },
    );
  });

  it('linear forward, input, weight and bias gradients: random shapes, formats, modes and values', () => {
    fc.assert(
      fc.property(linearCaseArb, modeArb, profileArb, seedArb, (s, [f, acc], profile, seed) => {
        cases++;
        const d = compare({ op: 'linear', s }, f, acc, profile, seed);
        if (d) throw new Error(d);
      }),
      { numRuns: runs(1500) },
    );
  });

  it('LeNet-5 (paper and padded): loss, logits and every parameter and input gradient of a batch', lenetBothPaths);

  it('binary16 rounding in the kernels is f16round: products and sums across subnormals, ties and overflow', binary16Rounding);

  it('binary16 strict sums long enough to stagnate near 2^13, without the overflow step', () => {
    const c: OpCase = { op: 'linear', s: { N: 3, I: 6000, O: 2, bias: true } };
    const before3 = kernelCalls[3];
    for (const seed of [1, 2]) expect(compare(c, F16, 'strict', 'unit', seed)).toBeNull();
    const tape = () => new Tape({ format: F16, accumulate: 'strict', jacobian: choice(FIRST) });
    const run = (path: 'js' | 'kernels') =>
      withPath(path, () => {
        const t = tape();
        const x = t.tensor(
          Array.from({ length: 3 * 6000 }, (_, i) => 1.9 + (i % 13) / 128),
          [3, 6000],
          true,
        );
        const w = t.tensor(
          Array.from({ length: 2 * 6000 }, (_, i) => (i % 2 ? 2 : 1.75)),
          [2, 6000],
          true,
        );
        const y = linear(x, w, null);
        t.backward(y, [1, -2, 1.5, 2, -1, 0.5]);
        return [y.data, x.gradValues(), w.gradValues()];
      });
    const [js, k] = [run('js'), run('kernels')];
    js.forEach((a, i) => {
      expect(firstDifference(a, k[i])).toBeNull();
    });
    expect(Math.max(...js[0])).toBeGreaterThanOrEqual(2 ** 13);
    expect(kernelCalls[3] - before3).toBeGreaterThan(4);
  });

  it('ran every kernel kind (64/32-wide, 32-strict/16-wide/bfloat16-wide, 16-strict with and without the overflow step, bfloat16 strict), and declined some', () => {
    const ran = kernelCalls.map((n, i) => n - before[i]);
    expect(kernelDeclined - declinedBefore).toBeGreaterThan(10); // padding or scatter holes against Inf/NaN: the JS path ran
    expect(cases).toBeGreaterThanOrEqual(3000);
    expect(
      ran.every((n) => n >= 10),
      `calls per kind: ${ran.join(', ')}`,
    ).toBe(true);
  });
});
