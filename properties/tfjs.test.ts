/**
 * tfjs backends (src/backends/tfjs*.ts): tie rules, the wasm filter-gradient kernel, whole chains
 * against a float64 reference with a derived float32 error bound, and resource hygiene.
 *
 * Every reference here is written independently of src/ (plain NCHW loops in double).
 *
 * Error bounds (Higham, "Accuracy and Stability of Numerical Algorithms", §3.1): with routing fixed,
 * every gradient entry is a sum of monomials in (input, weights, cotangent), computed by rounded
 * + and ×; if each monomial passes at most K rounded operations,
 *     |computed − exact| ≤ γ_K · Σ|monomials|,   γ_K = K·u / (1 − K·u),
 * and Σ|monomials| is the same chain evaluated on absolute values with the same masks ("ABS").
 * u = 2^-24·(1 + 2^-20): float32's unit roundoff, inflated to cover tfjs cpu's accumulate-in-double-
 * then-store-to-Float32Array (a double rounding: 2^-24 + 2^-53) and the float64 reference's own error.
 * Inputs are dyadics k/2^19 with |k| ≤ 2^20, so no product underflows and the bound needs no
 * absolute term.
 */

import type { Tensor4D } from '@tensorflow/tfjs';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { BACKEND_IDS, isUnavailable, loadBackend, measureTieRule } from '../src/backends/registry.ts';
import {
  activate,
  CHAIN_KERNELS,
  createTfjsBackend,
  exclusive,
  isInstalled,
  missingWasmKernels,
  type PadMode,
  registerWasmGradKernels,
  runChain,
  TFJS_NODE_MISSING,
  type TfjsBackendName,
  tf,
} from '../src/backends/tfjs.ts';
import type { AdBackend } from '../src/backends/types.ts';
import { choice, FIRST } from '../src/jacobians/index.ts';
import { runs } from '../src/nightly/runs.ts';
import type { LayerSpec, Problem } from '../src/problem/index.ts';

const U = 2 ** -24 * (1 + 2 ** -20);
const gamma = (k: number) => (k * U) / (1 - k * U);
const FLT_MIN = 2 ** -126;
const OPTS = { precision: '32', accumulate: 'strict', jacobian: choice(FIRST) } as const;

async function backend(id: 'tfjs-cpu' | 'tfjs-wasm'): Promise<AdBackend> {
  const b = await createTfjsBackend(id);
  if ('unavailable' in b) throw new Error(b.unavailable);
  return b;
}
const cpu = await backend('tfjs-cpu');
const wasm = await backend('tfjs-wasm');

/** Compare number arrays with === (so 0 and −0 agree) and say where they differ. */
function sameNumbers(a: readonly number[], b: readonly number[]): string | null {
  if (a.length !== b.length) return `length ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) if (!(a[i] === b[i])) return `index ${i}: ${a[i]} vs ${b[i]}`;
  return null;
}

// ---------------------------------------------------------------------------------------------
// Lone MaxPool: an independent reference of the three routings and of wasm's measured defect.

interface PoolCase {
  readonly problem: Problem;
  readonly kernel: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly shape: [number, number, number, number];
  readonly out: [number, number, number, number];
}

const outSize = (n: number, k: number, s: number, p: number) => Math.floor((n + 2 * p - k) / s) + 1;

/** Random lone-MaxPool problems; `value` draws the inputs, cotangents are integers (exact sums). */
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
      fc.record({
        kernel: fc.constant<[number, number]>([kh, kw]),
        stride: fc.tuple(fc.integer({ min: 1, max: kh }), fc.integer({ min: 1, max: kw })),
        padding: fc.tuple(fc.integer({ min: 0, max: kh >> 1 }), fc.integer({ min: 0, max: kw >> 1 })),
        shape: fc.constant<[number, number, number, number]>([n, c, kh + dh, kw + dw]),
      }),
    )
    .chain(({ kernel, stride, padding, shape }) => {
      const out: [number, number, number, number] = [
        shape[0],
        shape[1],
        outSize(shape[2], kernel[0], stride[0], padding[0]),
        outSize(shape[3], kernel[1], stride[1], padding[1]),
      ];
      const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
      return fc
        .record({
          data: fc.array(value, { minLength: size(shape), maxLength: size(shape) }),
          cotangent: fc.array(fc.integer({ min: -4, max: 4 }), { minLength: size(out), maxLength: size(out) }),
        })
        .map(({ data, cotangent }) => ({
          kernel,
          stride,
          padding,
          shape,
          out,
          problem: { input: { shape, data }, layers: [{ kind: 'maxpool', kernel, stride, padding }], params: [null], cotangent } as Problem,
        }));
    });
}

/** Distinct values (a shuffled range, offset so that `positive` keeps every value ≥ 1). */
function distinctPoolCase(positive: boolean): fc.Arbitrary<PoolCase> {
  return poolCase(fc.constant(0)).chain((pc) => {
    const m = pc.problem.input.data.length;
    return fc
      .shuffledSubarray(
        Array.from({ length: m }, (_, i) => (positive ? 1 + i : i - (m >> 1)) / 2),
        { minLength: m, maxLength: m },
      )
      .map((data) => ({ ...pc, problem: { ...pc.problem, input: { ...pc.problem.input, data } } }));
  });
}

type Routing = 'first' | 'last' | 'argmax' | 'wasm-4.22';

/**
 * Input gradient of a lone MaxPool, in double. 'argmax' requires a unique maximum per window.
 * 'wasm-4.22' models tfjs-backend-wasm 4.22's MaxPoolGrad as measured (and as its source reads):
 * a running max that starts at FLT_MIN = 2^-126 with a `>=` compare, default position flat input 0,
 * so a window whose maximum is below 2^-126 sends its gradient to input 0 if it contains it, else drops it;
 * other windows get `last`.
 */
function poolGrad(pc: PoolCase, rule: Routing): number[] {
  const { problem, kernel, stride, padding, shape, out } = pc;
  const x = problem.input.data;
  const g = new Array<number>(x.length).fill(0);
  const [, , h, w] = shape;
  for (let s = 0; s < out[0] * out[1]; s++) {
    for (let i = 0; i < out[2]; i++) {
      for (let j = 0; j < out[3]; j++) {
        const cot = problem.cotangent[(s * out[2] + i) * out[3] + j];
        let best = -1;
        let bestLast = -1;
        let count = 0;
        let wasmPick = 0;
        let wasmMax = FLT_MIN;
        for (let a = 0; a < kernel[0]; a++) {
          for (let d = 0; d < kernel[1]; d++) {
            const y = i * stride[0] - padding[0] + a;
            const z = j * stride[1] - padding[1] + d;
            if (y < 0 || y >= h || z < 0 || z >= w) continue;
            const k = s * h * w + y * w + z;
            if (best < 0 || x[k] > x[best]) {
              best = k;
              bestLast = k;
              count = 1;
            } else if (x[k] === x[best]) {
              bestLast = k;
              count++;
            }
            if (x[k] >= wasmMax) {
              wasmMax = x[k];
              wasmPick = k;
            }
          }
        }
        if (rule === 'argmax' && count !== 1) throw new Error('argmax routing needs distinct window values');
        const target = rule === 'last' ? bestLast : rule === 'wasm-4.22' ? wasmPick : best;
        // wasm's default position 0 receives the gradient only from windows that contain input 0.
        const inWindow =
          rule !== 'wasm-4.22' || target !== 0 || (s === 0 && i * stride[0] - padding[0] <= 0 && j * stride[1] - padding[1] <= 0);
        if (inWindow) g[target] += cot;
      }
    }
  }
  return g;
}

const windowMaxima = (pc: PoolCase): number[] => {
  const { problem, kernel, stride, padding, shape, out } = pc;
  const [, , h, w] = shape;
  const m: number[] = [];
  for (let s = 0; s < out[0] * out[1]; s++)
    for (let i = 0; i < out[2]; i++)
      for (let j = 0; j < out[3]; j++) {
        let best = -Infinity;
        for (let a = 0; a < kernel[0]; a++)
          for (let d = 0; d < kernel[1]; d++) {
            const y = i * stride[0] - padding[0] + a;
            const z = j * stride[1] - padding[1] + d;
            if (y >= 0 && y < h && z >= 0 && z < w) best = Math.max(best, problem.input.data[s * h * w + y * w + z]);
          }
        m.push(best);
      }
  return m;
};

const tieValues = fc.integer({ min: -2, max: 2 });

describe('tfjs MaxPool routing (lone maxpool, random kernel 1–4, stride ≤ kernel, padding ≤ half)', () => {
  it('cpu is `first` at exact ties, any sign, with overlapping and padded windows', async () => {
    await fc.assert(
      fc.asyncProperty(poolCase(tieValues), async (pc) => {
        const r = await cpu.run(pc.problem, OPTS);
        expect(sameNumbers(r.grads.input, poolGrad(pc, 'first'))).toBeNull();
        expect(sameNumbers(r.output, windowMaxima(pc))).toBeNull();
      }),
      { numRuns: runs(150) },
    );
  });

  it('wasm is `last` at exact ties when every window maximum is ≥ 2^-126', async () => {
    await fc.assert(
      fc.asyncProperty(poolCase(fc.integer({ min: 1, max: 3 })), async (pc) => {
        const r = await wasm.run(pc.problem, OPTS);
        expect(sameNumbers(r.grads.input, poolGrad(pc, 'last'))).toBeNull();
        expect(sameNumbers(r.output, windowMaxima(pc))).toBeNull();
      }),
      { numRuns: runs(150) },
    );
  });

  it('wasm drops the gradient of windows whose maximum is below 2^-126 (tfjs-backend-wasm 4.22 defect, modelled exactly)', async () => {
    let dropped = 0;
    await fc.assert(
      fc.asyncProperty(poolCase(fc.oneof(tieValues, fc.constantFrom(2 ** -127, FLT_MIN))), async (pc) => {
        const r = await wasm.run(pc.problem, OPTS);
        expect(sameNumbers(r.grads.input, poolGrad(pc, 'wasm-4.22'))).toBeNull();
        // The forward max is right even there: XNNPACK's pooling is not affected.
        expect(sameNumbers(r.output, windowMaxima(pc))).toBeNull();
        if (sameNumbers(poolGrad(pc, 'wasm-4.22'), poolGrad(pc, 'last'))) dropped++;
      }),
      { numRuns: runs(150) },
    );
    expect(dropped).toBeGreaterThan(10); // the property did exercise the defect
  });

  it('away from ties both backends route to the argmax exactly (wasm: maxima ≥ 2^-126)', async () => {
    await fc.assert(
      fc.asyncProperty(distinctPoolCase(false), distinctPoolCase(true), async (anySign, positive) => {
        expect(sameNumbers((await cpu.run(anySign.problem, OPTS)).grads.input, poolGrad(anySign, 'argmax'))).toBeNull();
        expect(sameNumbers((await wasm.run(positive.problem, OPTS)).grads.input, poolGrad(positive, 'argmax'))).toBeNull();
        expect(sameNumbers((await cpu.run(positive.problem, OPTS)).grads.input, poolGrad(positive, 'argmax'))).toBeNull();
      }),
      { numRuns: runs(100) },
    );
  });

  it('explicit padding and manual −∞ padding give identical results (cpu always; wasm where maxima ≥ 2^-126)', async () => {
    const on = (name: TfjsBackendName, p: Problem, mode: PadMode) =>
      exclusive(async () => {
        await activate(name);
        return runChain(p, mode);
      });
    const same = async (name: TfjsBackendName, p: Problem) => {
      const [m, e] = [await on(name, p, 'manual'), await on(name, p, 'explicit')];
      return sameNumbers(m.output, e.output) ?? sameNumbers(m.grads.input, e.grads.input);
    };
    await fc.assert(
      fc.asyncProperty(poolCase(tieValues), poolCase(fc.integer({ min: 1, max: 3 })), async (a, b) => {
        expect(await same('cpu', a.problem)).toBeNull();
        expect(await same('wasm', b.problem)).toBeNull();
      }),
      { numRuns: runs(60) },
    );
  });

  it('measureTieRule: cpu → first, wasm → last with the sub-2^-126 defect reported', async () => {
    const c = await measureTieRule('tfjs-cpu');
    const w = await measureTieRule('tfjs-wasm');
    console.log(`${c.summary}\n${w.summary}`);
    expect(c.rule).toBe('first');
    expect(c.misrouted.windows).toBe(0);
    expect(c.matches).toEqual({ first: c.tiedWindows, last: 0, minnorm: 0 });
    expect(w.rule).toBe('last');
    expect(w.misrouted.windows).toBeGreaterThan(0);
    expect(w.misrouted.maxRange![1]).toBeLessThan(FLT_MIN);
    expect(w.evidence).toContain('DEFECT');
  });
});

// ---------------------------------------------------------------------------------------------
// Conv2DBackpropFilter on wasm (registered by adzone) against tfjs cpu and a float64 reference.

const dyadic = fc.integer({ min: -(2 ** 20), max: 2 ** 20 }).map((k) => k / 2 ** 19);
const arr = (n: number) => fc.array(dyadic, { minLength: n, maxLength: n });

type Pad = 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];
interface FilterCase {
  n: number;
  h: number;
  w: number;
  cin: number;
  cout: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  pad: Pad;
  x: number[];
  dy: number[];
  oh: number;
  ow: number;
  top: number;
  left: number;
}

const filterCase: fc.Arbitrary<FilterCase> = fc
  .record({
    n: fc.integer({ min: 1, max: 2 }),
    h: fc.integer({ min: 3, max: 9 }),
    w: fc.integer({ min: 3, max: 9 }),
    cin: fc.integer({ min: 1, max: 3 }),
    cout: fc.integer({ min: 1, max: 3 }),
    kh: fc.integer({ min: 1, max: 3 }),
    kw: fc.integer({ min: 1, max: 3 }),
    sh: fc.integer({ min: 1, max: 2 }),
    sw: fc.integer({ min: 1, max: 2 }),
    pad: fc.oneof(
      fc.constantFrom<Pad>('same', 'valid'),
      fc.tuple(fc.nat(2), fc.nat(2), fc.nat(2), fc.nat(2)).map(
        ([t, b, l, r]): Pad => [
          [0, 0],
          [t, b],
          [l, r],
          [0, 0],
        ],
      ),
    ),
  })
  .chain((c) => {
    const info = tf.backend_util.computeConv2DInfo([c.n, c.h, c.w, c.cin], [c.kh, c.kw, c.cin, c.cout], [c.sh, c.sw], 1, c.pad);
    const { outHeight: oh, outWidth: ow } = info;
    return fc
      .record({ x: arr(c.n * c.h * c.w * c.cin), dy: arr(c.n * oh * ow * c.cout) })
      .map((d) => ({ ...c, ...d, oh, ow, top: info.padInfo.top, left: info.padInfo.left }));
  });

/** dW[a,b,ci,co] = Σ x·dy in double, and Σ|x||dy| (NHWC, tfjs filter layout). */
function refFilterGrad(c: FilterCase): { exact: number[]; abs: number[] } {
  const exact = new Array<number>(c.kh * c.kw * c.cin * c.cout).fill(0);
  const abs = exact.slice();
  for (let a = 0; a < c.kh; a++)
    for (let b = 0; b < c.kw; b++)
      for (let ci = 0; ci < c.cin; ci++)
        for (let co = 0; co < c.cout; co++) {
          const k = ((a * c.kw + b) * c.cin + ci) * c.cout + co;
          for (let n = 0; n < c.n; n++)
            for (let i = 0; i < c.oh; i++)
              for (let j = 0; j < c.ow; j++) {
                const y = i * c.sh - c.top + a;
                const z = j * c.sw - c.left + b;
                if (y < 0 || y >= c.h || z < 0 || z >= c.w) continue;
                const t = c.x[((n * c.h + y) * c.w + z) * c.cin + ci] * c.dy[((n * c.oh + i) * c.ow + j) * c.cout + co];
                exact[k] += t;
                abs[k] += Math.abs(t);
              }
        }
  return { exact, abs };
}

function filterGradOn(name: TfjsBackendName, c: FilterCase): Promise<number[]> {
  return exclusive(async () => {
    await activate(name);
    return tf.tidy(() => {
      const x = tf.tensor4d(c.x, [c.n, c.h, c.w, c.cin]);
      const w0 = tf.zeros([c.kh, c.kw, c.cin, c.cout]) as Tensor4D;
      const dy = tf.tensor4d(c.dy, [c.n, c.oh, c.ow, c.cout]);
      return Array.from(
        tf
          .grad((w) => tf.conv2d(x, w as Tensor4D, [c.sh, c.sw], c.pad))(w0, dy)
          .dataSync(),
      );
    });
  });
}

describe('wasm Conv2DBackpropFilter (conv2d of transposed tensors)', () => {
  it('tfjs-backend-wasm 4.22 lacks only Conv2DBackpropFilter among the chain kernels; after loading, none is missing', async () => {
    expect(missingWasmKernels(CHAIN_KERNELS)).toEqual([]);
    tf.unregisterKernel('Conv2DBackpropFilter', 'wasm');
    try {
      expect(missingWasmKernels(CHAIN_KERNELS)).toEqual(['Conv2DBackpropFilter']);
    } finally {
      expect(registerWasmGradKernels()).toEqual(['Conv2DBackpropFilter']);
    }
    expect(missingWasmKernels(CHAIN_KERNELS)).toEqual([]);
  });

  it('equals the float64 filter gradient within γ_n·Σ|x·dy| (n = N·OH·OW), and cpu within twice that', async () => {
    let worst = 0; // largest |wasm − exact| / (u·Σ|x·dy|) seen
    let maxN = 0;
    await fc.assert(
      fc.asyncProperty(filterCase, async (c) => {
        const [gw, gc] = [await filterGradOn('wasm', c), await filterGradOn('cpu', c)];
        const { exact, abs } = refFilterGrad(c);
        const g = gamma(c.n * c.oh * c.ow);
        maxN = Math.max(maxN, c.n * c.oh * c.ow);
        for (let k = 0; k < exact.length; k++) {
          expect(Math.abs(gw[k] - exact[k])).toBeLessThanOrEqual(g * abs[k]);
          expect(Math.abs(gc[k] - exact[k])).toBeLessThanOrEqual(g * abs[k]);
          expect(Math.abs(gw[k] - gc[k])).toBeLessThanOrEqual(2 * g * abs[k]);
          if (abs[k] > 0) worst = Math.max(worst, Math.abs(gw[k] - exact[k]) / (U * abs[k]));
        }
      }),
      { numRuns: runs(300) },
    );
    console.log(`wasm filter gradient: worst error ${worst.toFixed(3)}·u·Σ|x·dy| (bound γ_n·Σ|x·dy| ≈ n·u·Σ|x·dy|, n up to ${maxN})`);
  });
});

// ---------------------------------------------------------------------------------------------
// conv2d → relu → maxpool chains against a float64 reference.

interface Ref {
  readonly ok: boolean; // routing decided with margin (no tie or sign the rounding could change)
  readonly output: number[];
  readonly outErr: number[];
  readonly input: number[];
  readonly inputAbs: number[];
  readonly params: ({ weight: number[]; weightAbs: number[]; bias?: number[]; biasAbs?: number[] } | null)[];
  readonly K: number;
}

/**
 * The chain in double with fixed routing, the same chain on absolute values (ABS), and running
 * forward error bounds E for float32 (|ĉ − c| ≤ γ_{n+1}(Σ|w|(A+E) + |b|) + Σ|w|E for a conv of n
 * terms + bias; relu and max are 1-Lipschitz). A relu sign or a window argmax that moves within E is
 * ambiguous (ok = false), except a window whose near-maximal entries are all relu-killed zeros:
 * whichever gets the gradient, ReLU'(x<0) = 0 erases it.
 */
function reference(p: Problem): Ref {
  let [n, c, h, w] = p.input.shape;
  let a = p.input.data.map(Math.fround);
  let A = a.map(Math.abs);
  let E = a.map(() => 0);
  let dead = a.map(() => false);
  let ok = true;
  let K = 4;
  type Saved =
    | { kind: 'conv'; a: number[]; A: number[]; dims: number[] }
    | { kind: 'relu'; mask: boolean[] }
    | { kind: 'pool'; route: number[]; inSize: number };
  const saved: Saved[] = [];
  p.layers.forEach((L: LayerSpec, li) => {
    if (L.kind === 'conv2d') {
      const W = p.params[li]!.weight.map(Math.fround);
      const B = p.params[li]!.bias?.map(Math.fround);
      const [kh, kw] = L.kernel;
      const [sh, sw] = L.stride;
      const [ph, pw] = L.padding;
      const co = L.outChannels;
      const oh = outSize(h, kh, sh, ph);
      const ow = outSize(w, kw, sw, pw);
      const nTerms = c * kh * kw;
      K += nTerms + 2 + Math.max(co * kh * kw, n * oh * ow) + 2;
      const z = new Array<number>(n * co * oh * ow).fill(0);
      const Z = z.slice();
      const Ez = z.slice();
      for (let b = 0; b < n; b++)
        for (let o = 0; o < co; o++)
          for (let i = 0; i < oh; i++)
            for (let j = 0; j < ow; j++) {
              let s = B ? B[o] : 0;
              let S = B ? Math.abs(B[o]) : 0;
              let WE = 0;
              let WAE = S;
              for (let ci = 0; ci < c; ci++)
                for (let u = 0; u < kh; u++)
                  for (let v = 0; v < kw; v++) {
                    const y = i * sh - ph + u;
                    const x = j * sw - pw + v;
                    if (y < 0 || y >= h || x < 0 || x >= w) continue;
                    const wt = W[((o * c + ci) * kh + u) * kw + v];
                    const k = ((b * c + ci) * h + y) * w + x;
                    s += wt * a[k];
                    S += Math.abs(wt) * A[k];
                    WE += Math.abs(wt) * E[k];
                    WAE += Math.abs(wt) * (A[k] + E[k]);
                  }
              const k = ((b * co + o) * oh + i) * ow + j;
              z[k] = s;
              Z[k] = S;
              Ez[k] = gamma(nTerms + 1) * WAE + WE;
            }
      saved.push({ kind: 'conv', a, A, dims: [n, c, h, w, co, oh, ow] });
      [a, A, E, c, h, w] = [z, Z, Ez, co, oh, ow];
      dead = a.map(() => false);
    } else if (L.kind === 'relu') {
      const mask = a.map((v) => v > 0);
      // E = 0 means every term was exactly 0, so the float32 value is exactly 0 too: no ambiguity.
      a.forEach((v, k) => {
        if (E[k] > 0 && !(Math.abs(v) > E[k])) ok = false;
      });
      saved.push({ kind: 'relu', mask });
      dead = mask.map((m) => !m);
      a = a.map((v, k) => (mask[k] ? v : 0));
      A = A.map((v, k) => (mask[k] ? v : 0));
      E = E.map((v, k) => (mask[k] ? v : 0));
    } else {
      const [kh, kw] = L.kernel;
      const [sh, sw] = L.stride;
      const [ph, pw] = L.padding;
      const oh = outSize(h, kh, sh, ph);
      const ow = outSize(w, kw, sw, pw);
      K += Math.ceil(kh / sh) * Math.ceil(kw / sw);
      const route: number[] = [];
      for (let s = 0; s < n * c; s++)
        for (let i = 0; i < oh; i++)
          for (let j = 0; j < ow; j++) {
            const cells: number[] = [];
            for (let u = 0; u < kh; u++)
              for (let v = 0; v < kw; v++) {
                const y = i * sh - ph + u;
                const x = j * sw - pw + v;
                if (y >= 0 && y < h && x >= 0 && x < w) cells.push((s * h + y) * w + x);
              }
            const best = cells.reduce((m, k) => (a[k] > a[m] ? k : m), cells[0]);
            const near = cells.filter((k) => a[k] >= a[best] - E[best] - E[k]);
            if (near.length > 1 && !near.every((k) => dead[k])) ok = false;
            route.push(best);
          }
      saved.push({ kind: 'pool', route, inSize: a.length });
      [a, A, E, dead] = [route.map((k) => a[k]), route.map((k) => A[k]), route.map((k) => E[k]), route.map((k) => dead[k])];
      [h, w] = [oh, ow];
    }
  });
  // Backward, exact and ABS, with the routing fixed above.
  let g = p.cotangent.map(Math.fround);
  let G = g.map(Math.abs);
  const params: Ref['params'] = p.layers.map(() => null);
  for (let li = p.layers.length - 1; li >= 0; li--) {
    const L = p.layers[li];
    const sv = saved[li];
    if (sv.kind === 'relu') {
      g = g.map((v, k) => (sv.mask[k] ? v : 0));
      G = G.map((v, k) => (sv.mask[k] ? v : 0));
    } else if (sv.kind === 'pool') {
      const gi = new Array<number>(sv.inSize).fill(0);
      const Gi = gi.slice();
      sv.route.forEach((k, o) => {
        gi[k] += g[o];
        Gi[k] += G[o];
      });
      [g, G] = [gi, Gi];
    } else if (L.kind === 'conv2d') {
      const [N, C, H, Wd, co, oh, ow] = sv.dims;
      const W = p.params[li]!.weight.map(Math.fround);
      const [kh, kw] = L.kernel;
      const [sh, sw] = L.stride;
      const [ph, pw] = L.padding;
      const gw = new Array<number>(W.length).fill(0);
      const Gw = gw.slice();
      const gb = new Array<number>(co).fill(0);
      const Gb = gb.slice();
      const gi = new Array<number>(N * C * H * Wd).fill(0);
      const Gi = gi.slice();
      for (let b = 0; b < N; b++)
        for (let o = 0; o < co; o++)
          for (let i = 0; i < oh; i++)
            for (let j = 0; j < ow; j++) {
              const ko = ((b * co + o) * oh + i) * ow + j;
              gb[o] += g[ko];
              Gb[o] += G[ko];
              for (let ci = 0; ci < C; ci++)
                for (let u = 0; u < kh; u++)
                  for (let v = 0; v < kw; v++) {
                    const y = i * sh - ph + u;
                    const x = j * sw - pw + v;
                    if (y < 0 || y >= H || x < 0 || x >= Wd) continue;
                    const kw_ = ((o * C + ci) * kh + u) * kw + v;
                    const ki = ((b * C + ci) * H + y) * Wd + x;
                    gw[kw_] += g[ko] * sv.a[ki];
                    Gw[kw_] += G[ko] * sv.A[ki];
                    gi[ki] += g[ko] * W[kw_];
                    Gi[ki] += G[ko] * Math.abs(W[kw_]);
                  }
            }
      params[li] = { weight: gw, weightAbs: Gw, ...(L.bias ? { bias: gb, biasAbs: Gb } : {}) };
      [g, G] = [gi, Gi];
    }
  }
  return { ok, output: a, outErr: E, input: g, inputAbs: G, params, K };
}

const conv = (outChannels: number, k: [number, number], stride: [number, number], padding: [number, number], bias: boolean): LayerSpec => ({
  kind: 'conv2d',
  outChannels,
  kernel: k,
  stride,
  padding,
  bias,
});

/** conv2d → relu → maxpool, sometimes twice; random channels, kernels, strides, padding, bias. */
const chainProblem: fc.Arbitrary<Problem> = fc
  .record({
    n: fc.integer({ min: 1, max: 2 }),
    c: fc.integer({ min: 1, max: 3 }),
    h: fc.integer({ min: 4, max: 9 }),
    w: fc.integer({ min: 4, max: 9 }),
    blocks: fc.array(
      fc.record({
        co: fc.integer({ min: 1, max: 3 }),
        ck: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
        cs: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
        cp: fc.tuple(fc.nat(2), fc.nat(2)),
        bias: fc.boolean(),
        pk: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
        ps: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
        pp: fc.tuple(fc.nat(1), fc.nat(1)),
      }),
      { minLength: 1, maxLength: 2 },
    ),
  })
  .map(({ n, c, h, w, blocks }) => {
    const layers: LayerSpec[] = [];
    const paramSizes: ({ w: number; b: number } | null)[] = [];
    let [C, H, W] = [c, h, w];
    for (const b of blocks) {
      const ps: [number, number] = [Math.min(b.ps[0], b.pk[0]), Math.min(b.ps[1], b.pk[1])];
      const pp: [number, number] = [Math.min(b.pp[0], b.pk[0] >> 1), Math.min(b.pp[1], b.pk[1] >> 1)];
      const ch = outSize(H, b.ck[0], b.cs[0], b.cp[0]);
      const cw = outSize(W, b.ck[1], b.cs[1], b.cp[1]);
      if (ch < 1 || cw < 1 || outSize(ch, b.pk[0], ps[0], pp[0]) < 1 || outSize(cw, b.pk[1], ps[1], pp[1]) < 1) break;
      layers.push(conv(b.co, b.ck, b.cs, b.cp, b.bias), { kind: 'relu' }, { kind: 'maxpool', kernel: b.pk, stride: ps, padding: pp });
      paramSizes.push({ w: b.co * C * b.ck[0] * b.ck[1], b: b.bias ? b.co : 0 }, null, null);
      [C, H, W] = [b.co, outSize(ch, b.pk[0], ps[0], pp[0]), outSize(cw, b.pk[1], ps[1], pp[1])];
    }
    return { n, c, h, w, layers, paramSizes, out: n * C * H * W };
  })
  .filter((s) => s.layers.length > 0)
  .chain((s) =>
    fc
      .record({
        x: arr(s.n * s.c * s.h * s.w),
        cot: arr(s.out),
        params: fc.tuple(
          ...s.paramSizes.map((q) =>
            q ? fc.record({ weight: arr(q.w), bias: q.b ? arr(q.b) : fc.constant(undefined) }) : fc.constant(null),
          ),
        ),
      })
      .map(
        ({ x, cot, params }): Problem => ({
          input: { shape: [s.n, s.c, s.h, s.w], data: x },
          layers: s.layers,
          params: params.map((q) => (q ? { weight: q.weight, ...(q.bias ? { bias: q.bias } : {}) } : null)),
          cotangent: cot,
        }),
      ),
  );

function expectWithin(got: readonly number[], exact: readonly number[], abs: readonly number[], g: number, what: string): number {
  let worst = 0;
  for (let k = 0; k < exact.length; k++) {
    const err = Math.abs(got[k] - exact[k]);
    if (!(err <= g * abs[k])) throw new Error(`${what}[${k}]: got ${got[k]}, float64 ${exact[k]}, |error| ${err} > γ·ABS = ${g * abs[k]}`);
    if (abs[k] > 0) worst = Math.max(worst, err / (U * abs[k]));
  }
  return worst;
}

describe('conv2d → relu → maxpool chains against a float64 reference (no ties within rounding)', () => {
  const manual = (name: TfjsBackendName, p: Problem) =>
    exclusive(async () => {
      await activate(name);
      return runChain(p, 'manual');
    });
  for (const [b, name] of [
    [cpu, 'cpu'],
    [wasm, 'wasm'],
  ] as const) {
    it(`${b.id}: output within the forward bound, every gradient within γ_K·ABS (explicit padding, and manual padding as tfjs-node runs it)`, async () => {
      let worst = 0;
      let used = 0;
      let tried = 0;
      await fc.assert(
        fc.asyncProperty(chainProblem, async (p) => {
          const ref = reference(p);
          tried++;
          fc.pre(ref.ok);
          used++;
          const g = gamma(ref.K);
          for (const r of [await b.run(p, OPTS), await manual(name, p)]) {
            ref.output.forEach((v, k) => {
              if (!(Math.abs(r.output[k] - v) <= ref.outErr[k]))
                throw new Error(`output[${k}]: got ${r.output[k]}, float64 ${v}, forward bound ${ref.outErr[k]}`);
            });
            worst = Math.max(worst, expectWithin(r.grads.input, ref.input, ref.inputAbs, g, 'input gradient'));
            ref.params.forEach((q, li) => {
              if (!q) return;
              worst = Math.max(worst, expectWithin(r.grads.params[li]!.weight, q.weight, q.weightAbs, g, `layer ${li} weight gradient`));
              if (q.bias)
                worst = Math.max(worst, expectWithin(r.grads.params[li]!.bias!, q.bias, q.biasAbs!, g, `layer ${li} bias gradient`));
            });
          }
        }),
        { numRuns: runs(150) },
      );
      console.log(
        `${b.id} chains: ${used} checked (${tried - used} skipped for a tie or sign within rounding), worst gradient error ${worst.toFixed(3)}·u·ABS`,
      );
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Hygiene: leaks, backend switching, registry.

describe('tfjs resources, switching and registry', () => {
  const counts = (name: TfjsBackendName) =>
    exclusive(async () => {
      await activate(name);
      return { tensors: tf.memory().numTensors, data: tf.engine().backend.numDataIds() };
    });

  it('no tensor or backend buffer leaks across runs (cpu and wasm, with the added wasm kernel)', async () => {
    const sample = fc.sample(chainProblem, { numRuns: 10, seed: 7 });
    const before = { cpu: await counts('cpu'), wasm: await counts('wasm') };
    for (const p of sample) for (const b of [cpu, wasm]) await b.run(p, OPTS);
    expect(await counts('cpu')).toEqual(before.cpu);
    expect(await counts('wasm')).toEqual(before.wasm);
  });

  it('cpu and wasm used alternately, and concurrently, give the same results as alone', async () => {
    const sample = fc.sample(chainProblem, { numRuns: 6, seed: 11 });
    const alone = { cpu: [] as unknown[], wasm: [] as unknown[] };
    for (const p of sample) alone.cpu.push(await cpu.run(p, OPTS));
    for (const p of sample) alone.wasm.push(await wasm.run(p, OPTS));
    for (let i = 0; i < sample.length; i++) {
      expect(await wasm.run(sample[i], OPTS)).toEqual(alone.wasm[i]);
      expect(await cpu.run(sample[i], OPTS)).toEqual(alone.cpu[i]);
    }
    const mixed = await Promise.all(sample.flatMap((p) => [cpu.run(p, OPTS), wasm.run(p, OPTS)]));
    expect(mixed).toEqual(sample.flatMap((_, i) => [alone.cpu[i], alone.wasm[i]]));
  });

  it('rejects precisions other than 32 and describes itself', async () => {
    const p = fc.sample(chainProblem, { numRuns: 1, seed: 3 })[0];
    await expect(cpu.run(p, { ...OPTS, precision: '16' })).rejects.toThrow(/float32 only/);
    expect(cpu.precisions).toEqual(['32']);
    expect(cpu.fixedJacobian).toBe(true);
    expect(cpu.versions['@tensorflow/tfjs']).toMatch(/^\d+\.\d+\.\d+/);
    expect(wasm.versions['@tensorflow/tfjs-backend-wasm']).toMatch(/^\d+\.\d+\.\d+/);
    expect(wasm.description).toMatch(/float32 only/);
  });

  it('registry: ids, unknown id, tfjs-node absent → one line', async () => {
    expect([...BACKEND_IDS]).toEqual(['engine', 'tfjs-cpu', 'tfjs-wasm', 'tfjs-node', 'torch']);
    await expect(loadBackend('tfjs-gpu')).rejects.toThrow(/engine, tfjs-cpu, tfjs-wasm, tfjs-node, torch/);
    const node = await loadBackend('tfjs-node');
    if (!isInstalled('@tensorflow/tfjs-node')) {
      expect(isUnavailable(node)).toBe(true);
      expect((node as { unavailable: string }).unavailable).toBe(TFJS_NODE_MISSING);
    }
    const c = await loadBackend('tfjs-cpu');
    expect(isUnavailable(c) ? c.unavailable : c.id).toBe('tfjs-cpu');
  });
});

afterAll(async () => {
  await exclusive(async () => activate('cpu'));
});
