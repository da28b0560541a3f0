/**
 * tfjs twins of the models (src/backends/tfjs/{f16,maxpool_beta,models}.ts):
 * - roundF16 (tf ops only) is binary16 rounding, bit for bit, on cpu and wasm;
 * - maxPoolBeta applies each family member exactly at ties and is tfjs's own gradient away from them;
 * - whole networks: tfjs and the engine (src/backends/engine/network.ts) agree within a derived rounding
 *   bound away from ties, and at ties differ exactly as the family predicts.
 *
 * References here are written independently of src/ (plain loops in double).
 */
import { f16round, Float16Array } from '@petamoriken/float16';
import type { GradSaveFunc, Tensor, Tensor4D } from '@tensorflow/tfjs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { activate, exclusive, tf } from '../src/backends/tfjs.ts';
import { roundF16 } from '../src/backends/tfjs/f16.ts';
import { maxPoolBeta } from '../src/backends/tfjs/maxpool_beta.ts';
import {
  tfjsEvaluate,
  tfjsGradients,
  tfjsTrainStep,
  type TfjsBatch,
  type TfjsNetOptions,
  type TfjsNetResult,
} from '../src/backends/tfjs/models.ts';
import { beta, choice, FIRST, LAST, MINNORM, tieWeights, type JacobianChoice, type MaxPoolJacobian } from '../src/jacobians/index.ts';
import { createEngineNet, gradients, trainStep } from '../src/backends/engine/network.ts';
import { initBuffers, initParams, modelSpec, paramsOf, type ModelSpec, type NetLayer } from '../src/models/index.ts';
import { adam, sgd } from '../src/engine/optim/index.ts';
import { F16, F32, F64 } from '../src/precision/index.ts';
import { mulberry32 as rng } from '../src/util/rng.ts';
import { runs } from '../src/nightly/runs.ts';

type B = 'cpu' | 'wasm';
const BACKENDS: B[] = ['cpu', 'wasm'];
const on = <T>(b: B, fn: () => T): Promise<T> =>
  exclusive(async () => {
    await activate(b);
    return fn();
  });

// ---------------------------------------------------------------------------------------------
// roundF16

/** f32 neighbours of a positive normal f32 value. */
const f32Bits = new Float32Array(1);
const u32 = new Uint32Array(f32Bits.buffer);
function f32Step(x: number, d: 1 | -1): number {
  f32Bits[0] = x;
  u32[0] += d;
  return f32Bits[0];
}

/**
 * Every finite binary16 value v ≥ 0 (0x0000–0x7BFF), the midpoint between v and its successor
 * (65520 above the largest), and the two float32 neighbours of that midpoint; both signs; and the
 * specials (NaN, ±∞, ±0, float32's smallest subnormal and largest finite, values past 65520).
 */
function structuredInputs(): Float32Array {
  const codes = Uint16Array.from({ length: 0x7c00 }, (_, i) => i);
  const values = new Float16Array(codes.buffer);
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const next = i + 1 < values.length ? values[i + 1] : 65536;
    const mid = (v + next) / 2;
    for (const x of [v, mid, f32Step(mid, -1), f32Step(mid, 1)]) out.push(x, -x);
  }
  out.push(
    NaN,
    Infinity,
    -Infinity,
    2 ** -149,
    -(2 ** -149),
    3.4028234663852886e38,
    -3.4028234663852886e38,
    65520,
    70000,
    1e10,
    2 ** -126,
    2 ** -127,
  );
  return Float32Array.from(out);
}

function compareRounding(inputs: Float32Array, got: Float32Array): string | null {
  for (let i = 0; i < inputs.length; i++) {
    const want = f16round(inputs[i]);
    if (!Object.is(got[i], want)) return `input ${inputs[i]} (index ${i}): roundF16 gives ${got[i]}, f16round ${want}`;
  }
  return null;
}

const roundOn = (b: B, xs: Float32Array) => on(b, () => tf.tidy(() => roundF16(tf.tensor1d(xs)).dataSync() as Float32Array));

describe('roundF16: binary16 rounding from tf ops (ties to even, subnormals, overflow, NaN, ±0)', () => {
  const structured = structuredInputs();
  for (const b of BACKENDS) {
    it(`${b}: equals f16round on every binary16 value, every midpoint and its float32 neighbours (${structured.length} inputs)`, async () => {
      expect(compareRounding(structured, await roundOn(b, structured))).toBeNull();
    });

    it(`${b}: equals f16round on arbitrary float32 inputs`, async () => {
      const anyFloat = fc.float();
      const nearRange = fc.float({ min: -70000, max: 70000 });
      const tiny = fc.float({ min: -(2 ** -13), max: 2 ** -13 });
      await fc.assert(
        fc.asyncProperty(fc.array(fc.oneof(anyFloat, nearRange, tiny), { minLength: 1, maxLength: 400 }), async (xs) => {
          const inputs = Float32Array.from(xs);
          expect(compareRounding(inputs, await roundOn(b, inputs))).toBeNull();
        }),
        { numRuns: runs(60) },
      );
    });
  }
});

// ---------------------------------------------------------------------------------------------
// maxPoolBeta

interface PoolCase {
  readonly shape: [number, number, number, number]; // NHWC
  readonly kernel: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly out: [number, number, number, number];
  readonly x: number[];
  readonly dy: number[];
}

const outSize = (n: number, k: number, s: number, p: number) => Math.floor((n + 2 * p - k) / s) + 1;

function poolCase(value: fc.Arbitrary<number>): fc.Arbitrary<PoolCase> {
  return fc
    .record({
      kh: fc.integer({ min: 1, max: 4 }),
      kw: fc.integer({ min: 1, max: 4 }),
      n: fc.integer({ min: 1, max: 2 }),
      c: fc.integer({ min: 1, max: 2 }),
      dh: fc.nat(4),
      dw: fc.nat(4),
    })
    .chain(({ kh, kw, n, c, dh, dw }) =>
      fc
        .record({
          stride: fc.tuple(fc.integer({ min: 1, max: kh }), fc.integer({ min: 1, max: kw })),
          padding: fc.tuple(fc.integer({ min: 0, max: kh >> 1 }), fc.integer({ min: 0, max: kw >> 1 })),
        })
        .chain(({ stride, padding }) => {
          const shape: [number, number, number, number] = [n, kh + dh, kw + dw, c];
          const out: [number, number, number, number] = [
            n,
            outSize(shape[1], kh, stride[0], padding[0]),
            outSize(shape[2], kw, stride[1], padding[1]),
            c,
          ];
          const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
          return fc
            .record({
              x: fc.array(value, { minLength: size(shape), maxLength: size(shape) }),
              dy: fc.array(fc.integer({ min: -4, max: 4 }), { minLength: size(out), maxLength: size(out) }),
            })
            .map(({ x, dy }) => ({ shape, kernel: [kh, kw] as [number, number], stride, padding, out, x, dy }));
        }),
    );
}

/** Distinct values: a shuffled range, all ≥ 1 when `positive`. */
function distinctPoolCase(positive: boolean): fc.Arbitrary<PoolCase> {
  return poolCase(fc.constant(0)).chain((pc) => {
    const m = pc.x.length;
    return fc
      .shuffledSubarray(
        Array.from({ length: m }, (_, i) => (positive ? 1 + i : i - (m >> 1)) / 2),
        { minLength: m, maxLength: m },
      )
      .map((x) => ({ ...pc, x }));
  });
}

/**
 * The family's definition, in double: per window, tie set = real entries equal to the max in
 * row-major order; dx[i_t] += fround(num/den)·dy. Returns dx and Σ|terms| per entry.
 */
function referencePoolGrad(pc: PoolCase, member: MaxPoolJacobian): { dx: number[]; mag: number[]; maxima: number[] } {
  const [n, h, w, c] = pc.shape;
  const [, oh, ow] = pc.out;
  const dx = new Array<number>(pc.x.length).fill(0);
  const mag = new Array<number>(pc.x.length).fill(0);
  const maxima: number[] = [];
  const at = (b: number, y: number, z: number, ch: number) => ((b * h + y) * w + z) * c + ch;
  for (let b = 0; b < n; b++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let ch = 0; ch < c; ch++) {
          const cells: number[] = [];
          for (let a = 0; a < pc.kernel[0]; a++)
            for (let d = 0; d < pc.kernel[1]; d++) {
              const y = i * pc.stride[0] - pc.padding[0] + a;
              const z = j * pc.stride[1] - pc.padding[1] + d;
              if (y >= 0 && y < h && z >= 0 && z < w) cells.push(at(b, y, z, ch));
            }
          const m = Math.max(...cells.map((k) => pc.x[k]));
          const ties = cells.filter((k) => pc.x[k] === m);
          const g = pc.dy[((b * oh + i) * ow + j) * c + ch];
          tieWeights(member, ties.length).forEach((wt, t) => {
            const term = Math.fround(wt.num / wt.den) * g;
            dx[ties[t]] += term;
            mag[ties[t]] += Math.abs(term);
          });
          maxima.push(m);
        }
  return { dx, mag, maxima };
}

function runPool(b: B, pc: PoolCase, member: MaxPoolJacobian | 'native'): Promise<{ y: number[]; dx: number[] }> {
  return on(b, () =>
    tf.tidy(() => {
      const x = tf.tensor4d(pc.x, pc.shape);
      const pad: [[number, number], [number, number], [number, number], [number, number]] = [
        [0, 0],
        [pc.padding[0], pc.padding[0]],
        [pc.padding[1], pc.padding[1]],
        [0, 0],
      ];
      const f = (t: Tensor4D): Tensor4D =>
        member === 'native'
          ? tf.maxPool(t, pc.kernel, pc.stride, pad)
          : maxPoolBeta(t, { kernel: pc.kernel, stride: pc.stride, padding: pc.padding, member });
      const y = f(x);
      const dx = tf.grad((t: Tensor) => tf.sum(tf.mul(f(t as Tensor4D), tf.tensor4d(pc.dy, pc.out))))(x);
      return { y: Array.from(y.dataSync()), dx: Array.from(dx.dataSync()) };
    }),
  );
}

const MEMBERS: MaxPoolJacobian[] = [FIRST, LAST, MINNORM, beta(0), beta(1), beta(10), beta(100)];
/** Float32 sums of ≤ K + 1 rounded terms: γ_{K+2} relative to Σ|terms| (u = 2^-24). */
const poolTol = (k: number, mag: number) => (((k + 2) * 2 ** -24) / (1 - (k + 2) * 2 ** -24)) * mag;

describe('maxPoolBeta: the family member exactly, in tf ops', () => {
  for (const b of BACKENDS) {
    it(`${b}: at exact ties (any sign, overlapping and padded windows) equals the family's definition for every member`, async () => {
      await fc.assert(
        fc.asyncProperty(poolCase(fc.integer({ min: -2, max: 2 })), fc.constantFrom(...MEMBERS), async (pc, member) => {
          const ref = referencePoolGrad(pc, member);
          const got = await runPool(b, pc, member);
          expect(got.y).toEqual(ref.maxima);
          const k = pc.kernel[0] * pc.kernel[1];
          for (let i = 0; i < ref.dx.length; i++) {
            if (!(Math.abs(got.dx[i] - ref.dx[i]) <= poolTol(k, ref.mag[i]))) {
              throw new Error(`${b} ${JSON.stringify(member)} entry ${i}: ${got.dx[i]} vs ${ref.dx[i]} (Σ|terms| ${ref.mag[i]})`);
            }
          }
          // first/last/β=0 weights are 0 or 1 with integer dy: exact.
          if (member.kind === 'first' || member.kind === 'last' || (member.kind === 'beta' && member.beta === 0))
            expect(got.dx).toEqual(ref.dx);
        }),
        { numRuns: runs(60) },
      );
    });
  }

  it("away from ties equals tfjs's own maxPool gradient bit for bit (cpu any sign; wasm maxima ≥ 1, below its 2^-126 defect)", async () => {
    await fc.assert(
      fc.asyncProperty(distinctPoolCase(false), distinctPoolCase(true), fc.constantFrom(...MEMBERS), async (anySign, positive, member) => {
        expect((await runPool('cpu', anySign, member)).dx).toEqual((await runPool('cpu', anySign, 'native')).dx);
        expect((await runPool('wasm', positive, member)).dx).toEqual((await runPool('wasm', positive, 'native')).dx);
      }),
      { numRuns: runs(40) },
    );
  });

  it('sends no NaN from a structural zero weight when dy is infinite', async () => {
    const pc: PoolCase = {
      shape: [1, 2, 2, 1],
      kernel: [2, 2],
      stride: [2, 2],
      padding: [0, 0],
      out: [1, 1, 1, 1],
      x: [1, 1, 0, 0],
      dy: [Infinity],
    };
    for (const b of BACKENDS) expect((await runPool(b, pc, FIRST)).dx).toEqual([Infinity, 0, 0, 0]);
  });
});

// ---------------------------------------------------------------------------------------------
// Whole networks: tfjs vs the engine

/** γ_n = n·u/(1 − n·u) for unit roundoff u. */
const gammaOf = (u: number) => (n: number) => (n * u) / (1 - n * u);

function flatLayers(layers: readonly NetLayer[]): Exclude<NetLayer, { kind: 'residual' }>[] {
  return layers.flatMap((l) => (l.kind === 'residual' ? [...flatLayers(l.body), ...flatLayers(l.shortcut)] : [l]));
}

/**
 * The rounding-error bound of a plain conv/ReLU/MaxPool/linear network (LeNet without BN) at
 * 32 bits, entry by entry (Higham, Accuracy and Stability of Numerical Algorithms, §3.1, 3.5):
 *
 * Forward: with routing fixed, each activation's error is at most γ_F times the same activation in
 * the "ABS" network (|input|, |weights|, |biases|, ReLU passing everything, MaxPool the max of
 * non-negative values, both of which dominate their real counterparts), F = Σ_layers (fan_in + 1).
 * Head: p = softmax(z); a logit error ≤ γ_F·Z_abs moves log p by at most twice that, computing the
 * softmax (max, K differences, exps, sum, log or division) adds γ_{K+6}(1 + 4·max|z|) relative, so
 * |Δdz_k| ≤ ε_head·c_k with c = (p + onehot)/N ≥ |dz| and ε_head = 2γ_F·Z_abs + γ_{K+6}(1 + 4·max|z|) + γ_2.
 * Backward: each gradient entry is a sum of monomials (dz, weights, activations) passing at most
 * B = Σ_layers (terms of an input-gradient entry + 2) + the largest weight-gradient reduction + 2
 * rounded operations, so the error of one computation is at most
 *     (γ_{F+B} + ε_head)·A_i·(1 + 1%),
 * where A_i is the gradient of ⟨c, z_abs⟩ in the ABS network whose MaxPool backward sends
 * w_max·|dy| to every entry of its window (w_max = the largest |weight| of the member: 1 for
 * first/last/minnorm), an upper bound on any routing. Two computations (engine, tfjs) differ by
 * at most twice that. A is evaluated in float32 on tfjs cpu (a magnitude, not a result: the 1%
 * slack covers its own error), plus 2^-100 for underflow. With u = 2^-53 the same bound holds for
 * the engine at 64 bits.
 */
async function roundingBound(
  spec: ModelSpec,
  params: ReadonlyMap<string, Float64Array>,
  batch: TfjsBatch,
  z64: Float64Array,
  wmax: number,
  u = 2 ** -24,
): Promise<Map<string, Float64Array>> {
  const gamma = gammaOf(u);
  const layers = flatLayers(spec.layers);
  const n = batch.shape[0];
  let F = 0;
  let Bin = 0;
  let Bw = 0;
  let s: number[] = [...spec.input];
  for (const l of layers) {
    if (l.kind === 'conv2d') {
      s = [l.outChannels, outSize(s[1], l.kernel[0], l.stride[0], l.padding[0]), outSize(s[2], l.kernel[1], l.stride[1], l.padding[1])];
      F += l.inChannels * l.kernel[0] * l.kernel[1] + 1;
      Bin += l.outChannels * l.kernel[0] * l.kernel[1] + 2;
      Bw = Math.max(Bw, n * s[1] * s[2]);
    } else if (l.kind === 'linear') {
      F += l.inFeatures + 1;
      Bin += l.outFeatures + 2;
      Bw = Math.max(Bw, n);
    } else if (l.kind === 'maxpool') {
      s = [s[0], outSize(s[1], l.kernel[0], l.stride[0], 0), outSize(s[2], l.kernel[1], l.stride[1], 0)];
      Bin += 2;
    } else if (l.kind !== 'relu' && l.kind !== 'flatten') throw new Error(`roundingBound: ${l.kind} is not covered`);
  }
  const K = spec.classes;
  const names = paramsOf(spec).map((p) => p.name);
  const { A, zAbs } = await on('cpu', () => {
    let out: { A: Map<string, Float64Array>; zAbs: number } | undefined;
    tf.tidy(() => {
      const abs = names.map((name) =>
        tf.abs(tf.tensor(Float32Array.from(params.get(name)!), [...paramsOf(spec).find((p) => p.name === name)!.shape])),
      );
      const x = tf.abs(
        tf.transpose(tf.tensor4d(Float32Array.from(batch.x), [...batch.shape] as [number, number, number, number]), [0, 2, 3, 1]),
      );
      const c = new Float32Array(n * K);
      for (let r = 0; r < n; r++) {
        const row = Array.from(z64.subarray(r * K, (r + 1) * K));
        const m = Math.max(...row);
        const e = row.map((v) => Math.exp(v - m));
        const sum = e.reduce((a, b) => a + b, 0);
        for (let k = 0; k < K; k++) c[r * K + k] = (e[k] / sum + (k === batch.labels[r] ? 1 : 0)) / n;
      }
      const allPool = (t: Tensor4D, kernel: [number, number]) =>
        tf.customGrad((...args: (Tensor | GradSaveFunc)[]) => {
          const input = args[0] as Tensor4D;
          if (input.shape[1] % kernel[0] || input.shape[2] % kernel[1]) throw new Error('roundingBound: pools must tile their input');
          return {
            value: tf.maxPool(input, kernel, kernel, 'valid'),
            gradFunc: (dy: Tensor) => [tf.mul(tf.image.resizeNearestNeighbor(dy as Tensor4D, [input.shape[1], input.shape[2]]), wmax)],
          };
        })(t) as Tensor4D;
      let zOut: Tensor | undefined;
      const f = (...ps: Tensor[]): Tensor => {
        const p = new Map(names.map((name, i) => [name, ps[i]]));
        let a: Tensor = x;
        for (const l of layers) {
          if (l.kind === 'conv2d') {
            const pad =
              l.padding[0] || l.padding[1]
                ? ([
                    [0, 0],
                    [l.padding[0], l.padding[0]],
                    [l.padding[1], l.padding[1]],
                    [0, 0],
                  ] as [[number, number], [number, number], [number, number], [number, number]])
                : 'valid';
            a = tf.conv2d(
              a as Tensor4D,
              tf.transpose(p.get(`${l.name}.weight`)!, [2, 3, 1, 0]) as Tensor4D,
              [...l.stride] as [number, number],
              pad,
            );
            if (l.bias) a = tf.add(a, p.get(`${l.name}.bias`)!);
          } else if (l.kind === 'maxpool') {
            if (l.padding[0] || l.padding[1] || l.stride[0] !== l.kernel[0] || l.stride[1] !== l.kernel[1])
              throw new Error('roundingBound: only tiling pools');
            a = allPool(a as Tensor4D, [...l.kernel] as [number, number]);
          } else if (l.kind === 'flatten') {
            a = tf.reshape(tf.transpose(a, [0, 3, 1, 2]), [n, -1]);
          } else if (l.kind === 'linear') {
            a = tf.matMul(a as tf.Tensor2D, p.get(`${l.name}.weight`)! as tf.Tensor2D, false, true);
            if (l.bias) a = tf.add(a, p.get(`${l.name}.bias`)!);
          } // relu: the identity (dominates)
        }
        zOut = tf.keep(a);
        return tf.sum(tf.mul(a, tf.tensor2d(c, [n, K])));
      };
      const g = tf.grads(f)(abs);
      const zAbsMax = tf.max(zOut!).dataSync()[0];
      zOut!.dispose();
      out = { A: new Map(names.map((name, i) => [name, Float64Array.from(g[i].dataSync())])), zAbs: zAbsMax };
    });
    return out!;
  });
  const zMax = z64.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const eHead = 2 * gamma(F) * zAbs + gamma(K + 6) * (1 + 4 * zMax) + gamma(2);
  const rel = 2 * (gamma(F + Bin + Bw + 2) + eHead) * 1.01;
  return new Map([...A].map(([name, a]) => [name, a.map((v) => rel * v + 2 ** -100)]));
}

interface Excess {
  readonly worst: number; // max |Δ| / bound
  readonly where: string;
}
/** max over entries of |a − b| / bound (≤ 1 means within the bound). */
function excess(
  a: ReadonlyMap<string, Float64Array>,
  b: ReadonlyMap<string, Float64Array>,
  bound: ReadonlyMap<string, Float64Array>,
): Excess {
  let worst = 0;
  let where = '';
  for (const [name, va] of a) {
    const vb = b.get(name)!;
    const t = bound.get(name)!;
    for (let i = 0; i < va.length; i++) {
      const r = Math.abs(va[i] - vb[i]) / t[i];
      if (!(r <= worst)) {
        worst = Number.isNaN(r) ? Infinity : r;
        where = `${name}[${i}]: ${va[i]} vs ${vb[i]}, bound ${t[i]}`;
      }
    }
  }
  return { worst, where };
}
function diff(a: ReadonlyMap<string, Float64Array>, b: ReadonlyMap<string, Float64Array>): Map<string, Float64Array> {
  return new Map([...a].map(([name, v]) => [name, v.map((x, i) => x - b.get(name)![i])]));
}

function makeBatch(spec: ModelSpec, n: number, value: (i: number) => number, label: (i: number) => number) {
  const size = n * spec.input.reduce((a, b) => a * b, 1);
  return {
    x: Float64Array.from({ length: size }, (_, i) => value(i)),
    shape: [n, ...spec.input] as [number, number, number, number],
    labels: Int32Array.from({ length: n }, (_, i) => label(i)),
  };
}

type EngineDecision = ReturnType<typeof gradients>['decisions'][number];
const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
/** A routing decision as a string: the tie sets of a MaxPool, the signs of a ReLU. */
const routingKey = (d: EngineDecision): string =>
  `${d.path} ${d.kind} ${d.kind === 'maxpool' ? `${bytes(d.ties.offsets)} ${bytes(d.ties.indices)}` : bytes(d.sign)}`;
/** Tied MaxPool windows (more than one entry) whose maximum is not zero. */
function tiedWindows(d: EngineDecision, nonZeroOnly: boolean): number {
  if (d.kind !== 'maxpool') return 0;
  const { offsets } = d.ties;
  let k = 0;
  for (let o = 0; o + 1 < offsets.length; o++) if (offsets[o + 1] - offsets[o] > 1 && (!nonZeroOnly || d.output.data[o] !== 0)) k++;
  return k;
}
const nonZeroTies = (d: EngineDecision) => tiedWindows(d, true);

const engineGrads = (
  spec: ModelSpec,
  params: Map<string, Float64Array>,
  batch: ReturnType<typeof makeBatch>,
  format: typeof F32,
  maxpool: MaxPoolJacobian | JacobianChoice,
  training = true,
) =>
  gradients(
    createEngineNet(spec, params),
    batch,
    { format, accumulate: 'strict', jacobian: 'kind' in maxpool ? choice(maxpool) : maxpool },
    { training },
  );
const tfjs = (
  spec: ModelSpec,
  params: Map<string, Float64Array>,
  batch: TfjsBatch,
  o: Partial<TfjsNetOptions> = {},
): Promise<TfjsNetResult> =>
  tfjsGradients(spec, params, batch, { backend: 'cpu', precision: '32', jacobian: choice(FIRST), training: true, ...o });

describe('tfjs twins vs the engine (src/backends/engine/network.ts)', () => {
  const lenet = modelSpec('lenet5');

  it("away from ties: engine (32 bits, strict) and tfjs cpu (own MaxPool rule and the family's `first`) agree within the derived rounding bound", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 - 1 }), async (seed) => {
        const params = initParams(lenet, seed);
        const r = rng(seed);
        const batch = makeBatch(
          lenet,
          2,
          () => r(),
          (i) => (seed + i) % 10,
        );
        const e32 = engineGrads(lenet, params, batch, F32, FIRST);
        const e64 = engineGrads(lenet, params, batch, F64, FIRST);
        // Same routing at 32 and 64 bits, and no tie with a non-zero maximum (all-zero windows after a ReLU are harmless ties).
        expect(e32.decisions.map(routingKey)).toEqual(e64.decisions.map(routingKey));
        expect(e64.decisions.reduce((s, d) => s + nonZeroTies(d), 0)).toBe(0);
        const bound = await roundingBound(lenet, params, batch, e64.logits, 1);
        for (const jacobian of [choice(FIRST), 'native' as const]) {
          const t = await tfjs(lenet, params, batch, { jacobian });
          const ex = excess(t.grads, e32.grads, bound);
          expect(ex.worst, ex.where).toBeLessThanOrEqual(1);
          expect(Math.abs(t.loss - e32.loss)).toBeLessThan(1e-5);
          // The bound is worst-case (observed: ≤ 2·10^-5 of it is used). Measured, not bounded, and much
          // sharper against a structural slip: per tensor, |Δ|∞ ≤ 10^-4·|g|∞ (observed ≤ 6·10^-7).
          for (const [name, g] of e32.grads) {
            const scale = g.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
            const d = t.grads.get(name)!.reduce((m, v, i) => Math.max(m, Math.abs(v - g[i])), 0);
            expect(d, name).toBeLessThanOrEqual(1e-4 * scale);
          }
        }
      }),
      { numRuns: runs(3) },
    );
  });

  it('at exact ties: tfjs and the engine agree member by member, and differ between members exactly as the family predicts', async () => {
    // Binary images and non-negative dyadic weights up to fc2: every pre-activation before the logits
    // is ≥ 0 (so the ABS network is the network itself and the bound is tight; fc3 is signed so the
    // backward does not cancel systematically), conv outputs are small exact integers and
    // quarters, pools tie often between entries that see different input patches, so the member
    // changes the weight gradients.
    const r = rng(11);
    const params = initParams(lenet, 0);
    const scaleOf: Record<string, number> = {
      'conv1.weight': 1,
      'conv2.weight': 1 / 4,
      'fc1.weight': 2 ** -8,
      'fc2.weight': 2 ** -6,
      'fc3.weight': 2 ** -11,
    };
    for (const [name, v] of params) {
      for (let i = 0; i < v.length; i++)
        v[i] = name.endsWith('bias') ? 0 : (name === 'fc3.weight' ? Math.floor(r() * 3) - 1 : r() < 0.5 ? 1 : 0) * scaleOf[name];
    }
    // A blank band (the top 10 rows, like MNIST's background) gives all-zero windows after the ReLU.
    const batch = makeBatch(
      lenet,
      2,
      (i) => (i % 784 < 280 ? 0 : r() < 0.3 ? 1 : 0),
      (i) => i,
    );
    const engine = (m: MaxPoolJacobian | JacobianChoice) => engineGrads(lenet, params, batch, F32, m);
    const eFirst = engine(FIRST);
    const ties = eFirst.decisions.reduce((s, d) => s + nonZeroTies(d), 0);
    expect(ties).toBeGreaterThan(20);
    const e64 = engineGrads(lenet, params, batch, F64, FIRST);
    const bound1 = await roundingBound(lenet, params, batch, e64.logits, 1);
    // Over the reals the members differ: at 64 bits first − last exceeds the (64-bit) rounding bound
    // of the two computations by far, so this is a bifurcation, not rounding.
    const bound64 = await roundingBound(lenet, params, batch, e64.logits, 1, 2 ** -53);
    expect(excess(e64.grads, engineGrads(lenet, params, batch, F64, LAST).grads, bound64).worst).toBeGreaterThan(1e6);
    const eLast = engine(LAST);
    const pairs: [string, TfjsNetOptions['jacobian'], B, Map<string, Float64Array>][] = [
      ['first', choice(FIRST), 'cpu', eFirst.grads],
      ['last', choice(LAST), 'cpu', eLast.grads],
      ['minnorm', choice(MINNORM), 'wasm', engine(MINNORM).grads],
      ['tfjs cpu native = first', 'native', 'cpu', eFirst.grads],
      ['tfjs wasm native = last', 'native', 'wasm', eLast.grads],
    ];
    const got = new Map<string, Map<string, Float64Array>>();
    for (const [label, jacobian, backend, want] of pairs) {
      const t = await tfjs(lenet, params, batch, { jacobian, backend });
      got.set(label, t.grads);
      const ex = excess(t.grads, want, bound1);
      expect(ex.worst, `${label}: ${ex.where}`).toBeLessThanOrEqual(1);
    }
    // The difference between members is the family's, in both systems: (first − last) agree within the sum of the bounds.
    const twice = new Map([...bound1].map(([k, v]) => [k, v.map((x) => 2 * x)]));
    const ex = excess(diff(got.get('first')!, got.get('last')!), diff(eFirst.grads, eLast.grads), twice);
    expect(ex.worst, ex.where).toBeLessThanOrEqual(1);
    // And measured, not bounded: in every tensor the member changes (the conv weights, by ≥ 0.1% of
    // the gradient), tfjs and the engine are more than 1000× closer to each other than the members are.
    const maxAbs = (v: Float64Array) => v.reduce((a, x) => Math.max(a, Math.abs(x)), 0);
    const gap = diff(eFirst.grads, eLast.grads);
    const err = diff(got.get('first')!, eFirst.grads);
    const changed = [...gap.keys()].filter((name) => maxAbs(gap.get(name)!) > 1e-3 * maxAbs(eFirst.grads.get(name)!));
    expect(changed).toEqual(['conv1.weight', 'conv2.weight']);
    for (const name of changed) expect(maxAbs(err.get(name)!), name).toBeLessThan(1e-3 * maxAbs(gap.get(name)!));
    // β = 10: weights up to |1 − 10·(k−1)/k| ≤ 10 per pool, so the ABS bound takes w_max = 10.
    const bound10 = await roundingBound(lenet, params, batch, e64.logits, 10);
    const tBeta = (await tfjs(lenet, params, batch, { jacobian: choice(beta(10)) })).grads;
    const ex10 = excess(tBeta, engine(beta(10)).grads, bound10);
    expect(ex10.worst, ex10.where).toBeLessThanOrEqual(1);
    // The paper's mixed forward β·m + (1 − β)·m (exact here: m is a small integer or quarter): each
    // entry's backward weight is at most β/k + |1 − β| ≤ 2β − 1 = 19, so w_max = 19. Equal to the
    // backward-only β over the reals, so within the same bound of it too.
    const bound19 = await roundingBound(lenet, params, batch, e64.logits, 19);
    const mixed = choice(beta(10), 0, 'mixed-forward');
    const tMixed = (await tfjs(lenet, params, batch, { jacobian: mixed })).grads;
    for (const [label, a, b] of [
      ['tfjs vs engine, mixed forward', tMixed, engine(mixed).grads],
      ['mixed vs backward-only β', tMixed, tBeta],
    ] as const) {
      const ex = excess(a, b, bound19);
      expect(ex.worst, `${label}: ${ex.where}`).toBeLessThanOrEqual(1);
    }
    // ReLU'(0) = α: in the blank band pre-activations are exactly 0 and their windows tie at 0 (harmless
    // with α = 0); with α = 1/2 the routed gradient passes, in both systems alike.
    const half = choice(FIRST, 0.5);
    const tHalf = (await tfjs(lenet, params, batch, { jacobian: half })).grads;
    const exHalf = excess(tHalf, engine(half).grads, bound1);
    expect(exHalf.worst, exHalf.where).toBeLessThanOrEqual(1);
    // α mattered, over the reals (64-bit engine, 64-bit bound).
    expect(excess(engineGrads(lenet, params, batch, F64, half).grads, e64.grads, bound64).worst).toBeGreaterThan(1e6);
  });

  it('with batch norm and residual blocks (LeNet-BN, VGG11-BN, ResNet18 both stems, small widths; tfjs wasm): the same loss, gradients and running statistics, in training and inference (smoke check)', async () => {
    // Not a derived bound (batch norm divides by a batch standard deviation): a structural check.
    // Per tensor, |Δ| ≤ 1e-3·max|g| + 1e-5·(largest gradient of the network); the second term covers
    // the bias of a conv followed by batch norm, whose gradient is zero over the reals and pure
    // cancellation noise in both systems.
    const specs = [
      modelSpec('lenet5', { batchNorm: true }),
      modelSpec('vgg11', { batchNorm: true, width: 1 / 16 }),
      modelSpec('resnet18', { width: 1 / 16, input: [3, 16, 16] }),
      modelSpec('resnet18', { width: 1 / 16, stem: 'imagenet', input: [3, 64, 64] }),
      modelSpec('resnet18', { width: 1 / 16, batchNorm: false, input: [3, 16, 16] }),
    ];
    for (const spec of specs) {
      const params = initParams(spec, 5);
      const r = rng(5);
      const batch = makeBatch(
        spec,
        4,
        () => r() * 2 - 1,
        (i) => i % spec.classes,
      );
      for (const training of [true, false]) {
        const net = createEngineNet(spec, params);
        const e = gradients(net, batch, { format: F32, accumulate: 'strict', jacobian: choice(FIRST) }, { training });
        const t = await tfjs(spec, params, batch, { training, backend: 'wasm' }); // wasm: ~20× faster than cpu on these convs
        const label = `${spec.name}/${spec.variant} training=${training}`;
        expect(Math.abs(t.loss - e.loss), label).toBeLessThan(1e-5 * Math.max(1, e.loss));
        const maxAbs = (v: ArrayLike<number>) => {
          let m = 0;
          for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]));
          return m;
        };
        const global = Math.max(...[...e.grads.values()].map(maxAbs));
        for (const [name, g] of e.grads) {
          const d = maxAbs(diff(new Map([[name, t.grads.get(name)!]]), new Map([[name, g]])).get(name)!);
          expect(d, `${label} ${name}`).toBeLessThanOrEqual(1e-3 * maxAbs(g) + 1e-5 * global);
        }
        for (const [name, v] of net.buffers) {
          const d = maxAbs(t.buffers.get(name)!.map((x, i) => x - v[i]));
          expect(d, `${label} ${name}`).toBeLessThanOrEqual(1e-5 * Math.max(1, maxAbs(v)));
        }
      }
    }
  });
});

describe('tfjs twins: 16-bit emulation, training, hygiene', () => {
  const lenet = modelSpec('lenet5', { batchNorm: true });
  const params = initParams(lenet, 2);
  const r = rng(2);
  const batch = makeBatch(
    lenet,
    4,
    () => r(),
    (i) => i,
  );
  const isF16 = (v: number) => Object.is(f16round(v), v);

  it('precision 16: loss, logits, gradients and running statistics are binary16 values; tfjs and the engine (wide, 16 bits), and tfjs cpu and wasm, differ by no more than 16-bit rounding moves each from its 32-bit result', async () => {
    const t16 = {
      cpu: await tfjs(lenet, params, batch, { precision: '16' }),
      wasm: await tfjs(lenet, params, batch, { precision: '16', backend: 'wasm' }),
    };
    const t32 = { cpu: await tfjs(lenet, params, batch), wasm: await tfjs(lenet, params, batch, { backend: 'wasm' }) };
    for (const t of Object.values(t16)) {
      expect(isF16(t.loss)).toBe(true);
      expect(t.logits.every(isF16)).toBe(true);
      for (const v of [...t.grads.values(), ...t.buffers.values()]) expect(v.every(isF16)).toBe(true);
    }
    const opts = (format: typeof F16, accumulate: 'wide' | 'strict') => ({ format, accumulate, jacobian: choice(FIRST) });
    const e16 = gradients(createEngineNet(lenet, params), batch, opts(F16, 'wide'), { training: true });
    const e32 = gradients(createEngineNet(lenet, params), batch, opts(F32, 'strict'), { training: true });
    const maxAbs = (v: Float64Array) => v.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    const dist = (a: Map<string, Float64Array>, b: Map<string, Float64Array>, name: string) =>
      maxAbs(a.get(name)!.map((x, i) => x - b.get(name)![i]));
    for (const name of e16.grads.keys()) {
      const noise = dist(e16.grads, e32.grads, name) + dist(t16.cpu.grads, t32.cpu.grads, name) + 2 ** -24;
      expect(dist(t16.cpu.grads, e16.grads, name), `engine vs tfjs cpu, ${name}`).toBeLessThanOrEqual(2 * noise);
      const noiseW = dist(t16.wasm.grads, t32.wasm.grads, name) + dist(t16.cpu.grads, t32.cpu.grads, name) + 2 ** -24;
      expect(dist(t16.cpu.grads, t16.wasm.grads, name), `tfjs cpu vs wasm, ${name}`).toBeLessThanOrEqual(2 * noiseW);
    }
    expect(Math.abs(t16.cpu.loss - e16.loss)).toBeLessThanOrEqual(
      2 * (Math.abs(e16.loss - e32.loss) + Math.abs(t16.cpu.loss - t32.cpu.loss)) + 2 ** -10,
    );
  });

  it('tfjsEvaluate: the loss and logits of tfjsGradients in inference mode, bit for bit, without the backward (cpu and wasm, 16 and 32 bits, β = 1000 mixed forward)', async () => {
    const spec = modelSpec('resnet18', { width: 1 / 16, stem: 'imagenet', input: [3, 32, 32] });
    const p = initParams(spec, 3);
    const rr = rng(3);
    const b = makeBatch(
      spec,
      3,
      () => rr() * 2 - 1,
      (i) => i % spec.classes,
    );
    const buffers = new Map(
      [...initBuffers(spec)].map(([k, v]) => [k, v.map((_, i) => (k.endsWith('running_var') ? 0.5 + (i % 3) : 0.1 * (i % 5)))] as const),
    );
    for (const backend of BACKENDS) {
      for (const precision of ['16', '32'] as const) {
        for (const jacobian of [choice(FIRST), choice(beta(1000), 0, 'mixed-forward')]) {
          const label = `${backend} ${precision} ${JSON.stringify(jacobian)}`;
          const e = await tfjsEvaluate(spec, p, b, { backend, precision, jacobian, buffers });
          const g = await tfjs(spec, p, b, { backend, precision, jacobian, training: false, buffers });
          expect(Object.is(e.loss, g.loss), `${label}: loss ${e.loss} vs ${g.loss}`).toBe(true);
          expect(Array.from(e.logits), label).toEqual(Array.from(g.logits));
        }
      }
    }
  });

  it("tfjsTrainStep: SGD lowers the loss of a batch at 32 and 16 bits, leaves binary16 weights at 16, and follows the engine's trainStep at 32; Adam lowers it too", async () => {
    const losses: Record<string, number[]> = {};
    for (const precision of ['32', '16'] as const) {
      const state = { spec: lenet, params: new Map([...params].map(([k, v]) => [k, v.slice()])), buffers: new Map<string, Float64Array>() };
      const opt = sgd({ lr: 0.05, momentum: 0.9 });
      losses[precision] = [];
      for (let s = 0; s < 3; s++)
        losses[precision].push((await tfjsTrainStep(state, batch, { backend: 'cpu', precision, jacobian: choice(FIRST) }, opt)).loss);
      expect(losses[precision][2]).toBeLessThan(losses[precision][0]);
      if (precision === '16') for (const v of state.params.values()) expect(v.every(isF16)).toBe(true);
      if (precision === '32') {
        const adamState = {
          spec: lenet,
          params: new Map([...params].map(([k, v]) => [k, v.slice()])),
          buffers: new Map<string, Float64Array>(),
        };
        const adamOpt = adam({ lr: 1e-3 });
        const adamLosses: number[] = [];
        for (let s = 0; s < 3; s++)
          adamLosses.push((await tfjsTrainStep(adamState, batch, { backend: 'wasm', precision, jacobian: choice(FIRST) }, adamOpt)).loss);
        expect(adamLosses[2]).toBeLessThan(adamLosses[0]);
        const net = createEngineNet(lenet, params);
        const eopt = sgd({ lr: 0.05, momentum: 0.9 });
        for (let s = 0; s < 3; s++) trainStep(net, batch, { format: F32, accumulate: 'strict', jacobian: choice(FIRST) }, eopt);
        for (const [name, v] of net.params) {
          const d = state.params.get(name)!.reduce((m, x, i) => Math.max(m, Math.abs(x - v[i])), 0);
          expect(d, name).toBeLessThan(1e-4);
        }
      }
    }
  });

  it('frees every tensor it makes (cpu and wasm, both precisions, β mixed forward) and rejects malformed input', async () => {
    for (const b of BACKENDS) {
      for (const precision of ['32', '16'] as const) {
        await tfjs(lenet, params, batch, { backend: b, precision, jacobian: choice(beta(10), 0.5, 'mixed-forward') });
        const before = await on(b, () => tf.memory().numTensors);
        await tfjs(lenet, params, batch, { backend: b, precision, jacobian: choice(beta(10), 0.5, 'mixed-forward') });
        expect(await on(b, () => tf.memory().numTensors)).toBe(before);
      }
    }
    await expect(tfjs(lenet, params, { ...batch, labels: Int32Array.from([0, 1, 2, 10]) })).rejects.toThrow(/label 10/);
    await expect(tfjs(lenet, new Map([...params].slice(1)), batch)).rejects.toThrow(/conv1.weight/);
    await expect(tfjs(lenet, params, { ...batch, shape: [4, 1, 32, 32] })).rejects.toThrow(/takes \[N, 1, 28, 28\]/);
  });
});
