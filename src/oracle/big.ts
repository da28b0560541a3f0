/**
 * The cross-check oracle, on big.js, written independently of decimal.ts.
 *
 * Exactness: big.js `plus`, `minus` and `times` are exact (they keep every digit; only `div`,
 * `sqrt` and `pow` with negative exponents round, to Big.DP places), and `new Big(string)` keeps
 * every digit of an exact decimal string. This file never divides, so every value is exact, with
 * no precision to choose.
 *
 * Denominators: where decimal.ts scales a MaxPool layer by the lcm of the weights its routing
 * uses, this oracle scales it by S = lcm(1, …, kh·kw), fixed by the kernel alone: every tie set
 * has at most kh·kw elements, so every weight num/k is num·(S/k)/S with S/k an integer (checked).
 * Gradients are integer-weighted sums over the common denominator D = Π S, kept as a BigInt.
 *
 * Where decimal.ts scatters (loops over outputs and pushes into inputs), this file gathers (for
 * each input, finds the outputs and kernel taps that reach it), so index bugs are unlikely to
 * repeat identically in both.
 *
 * Magnitude and depth follow the rules of the contract (see ExactBackward in types.ts and the
 * comment in decimal.ts), recomputed here on their own.
 */
import Big from 'big.js';
import { type JacobianChoice, tieWeights, type Rational as Weight } from '../jacobians/index.ts';
import { exactDecimal, FORMATS, isRepresentable } from '../precision/index.ts';
import type { Conv2dSpec, Gradients, LayerRouting, MaxPoolSpec, Problem, Routing, Shape } from '../problem/index.ts';
import { checkProblem, checkRouting } from './check.ts';
import { canonicalText, nearestDouble, parseCanonical, type Rational, rationalOf } from './rational.ts';
import { type ExactBackward, type ExactForward, type ExactNumber, type Oracle, OracleError } from './types.ts';

const WHO = 'big.js oracle';
const B0 = new Big(0);

function big(x: number): Big {
  if (!Number.isFinite(x)) throw new OracleError(`${WHO}: ${x} is not finite and has no exact value`);
  return new Big(exactDecimal(x)); // every digit kept
}

function isZero(x: Big): boolean {
  return x.eq(B0);
}

/** An exact value num/den with num a Big (an exact decimal) and den a positive BigInt. */
export class BigExact implements ExactNumber {
  readonly num: Big;
  readonly den: bigint;

  constructor(num: Big, den: bigint) {
    if (den <= 0n) throw new OracleError(`${WHO}: denominator must be positive, got ${den}`);
    this.num = num;
    this.den = den;
  }

  toRational(): Rational {
    return rationalOf(this.num.toFixed(), this.den);
  }

  toString(): string {
    return canonicalText(this.toRational());
  }

  toNumber(): number {
    return nearestDouble(this.toRational());
  }

  isZero(): boolean {
    return isZero(this.num);
  }

  cmp(o: ExactNumber): -1 | 0 | 1 {
    const b = o instanceof BigExact ? o : bigExactFromRational(parseCanonical(o.toString()));
    // den > 0 on both sides: compare num·den_b with num_b·den.
    const c = this.num.times(b.den.toString()).cmp(b.num.times(this.den.toString()));
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }

  equals(o: ExactNumber): boolean {
    return this.cmp(o) === 0;
  }

  sub(o: ExactNumber): ExactNumber {
    const b = o instanceof BigExact ? o : bigExactFromRational(parseCanonical(o.toString()));
    if (b.den === this.den) return new BigExact(this.num.minus(b.num), this.den);
    return new BigExact(this.num.times(b.den.toString()).minus(b.num.times(this.den.toString())), this.den * b.den);
  }

  abs(): ExactNumber {
    return new BigExact(this.num.abs(), this.den);
  }
}

export function bigExact(x: number): BigExact {
  return new BigExact(big(x), 1n);
}

export function bigExactFromRational(r: Rational): BigExact {
  return new BigExact(new Big(r.num.toString()), r.den);
}

// ---------------------------------------------------------------------------------------------
// Geometry by gathering.

interface Dims {
  n: number;
  c: number;
  h: number;
  w: number;
}
const dims = ([n, c, h, w]: Shape): Dims => ({ n, c, h, w });
const at = (d: Dims, b: number, c: number, y: number, x: number) => ((b * d.c + c) * d.h + y) * d.w + x;

/** Output positions along one axis whose window (kernel k, stride s, padding p) covers input position i. */
function covering(i: number, k: number, s: number, p: number, outSize: number): number[] {
  const res: number[] = [];
  for (let tap = 0; tap < k; tap++) {
    const t = i + p - tap;
    if (t >= 0 && t % s === 0 && t / s < outSize) res.push(t / s);
  }
  return res.sort((a, b) => a - b);
}

/** Input positions (inside the tensor) of the window of output o along one axis, with their taps. */
function window(o: number, k: number, s: number, p: number, size: number): { pos: number; tap: number }[] {
  const res: { pos: number; tap: number }[] = [];
  for (let tap = 0; tap < k; tap++) {
    const pos = o * s - p + tap;
    if (pos >= 0 && pos < size) res.push({ pos, tap });
  }
  return res;
}

// ---------------------------------------------------------------------------------------------
// Forward.

function conv(x: readonly Big[], din: Dims, dout: Dims, layer: Conv2dSpec, wt: readonly Big[], bias: readonly Big[] | undefined): Big[] {
  const out: Big[] = new Array(dout.n * dout.c * dout.h * dout.w);
  const [kh, kw] = layer.kernel;
  for (let b = 0; b < dout.n; b++)
    for (let co = 0; co < dout.c; co++)
      for (let oy = 0; oy < dout.h; oy++)
        for (let ox = 0; ox < dout.w; ox++) {
          let s = bias ? bias[co] : B0;
          for (const ry of window(oy, kh, layer.stride[0], layer.padding[0], din.h))
            for (const rx of window(ox, kw, layer.stride[1], layer.padding[1], din.w))
              for (let ci = 0; ci < din.c; ci++)
                s = s.plus(wt[((co * din.c + ci) * kh + ry.tap) * kw + rx.tap].times(x[at(din, b, ci, ry.pos, rx.pos)]));
          out[at(dout, b, co, oy, ox)] = s;
        }
  return out;
}

function pool(x: readonly Big[], din: Dims, dout: Dims, layer: MaxPoolSpec): { out: Big[]; ties: number[][] } {
  const out: Big[] = [];
  const ties: number[][] = [];
  for (let b = 0; b < dout.n; b++)
    for (let c = 0; c < dout.c; c++)
      for (let oy = 0; oy < dout.h; oy++)
        for (let ox = 0; ox < dout.w; ox++) {
          const idx: number[] = [];
          for (const ry of window(oy, layer.kernel[0], layer.stride[0], layer.padding[0], din.h))
            for (const rx of window(ox, layer.kernel[1], layer.stride[1], layer.padding[1], din.w)) idx.push(at(din, b, c, ry.pos, rx.pos));
          let m = x[idx[0]];
          for (const i of idx) if (x[i].gt(m)) m = x[i];
          out.push(m);
          ties.push(idx.filter((i) => x[i].eq(m)).sort((p, q) => p - q));
        }
  return { out, ties };
}

function forwardAll(problem: Problem, shapes: readonly Shape[]): { values: Big[][]; routing: LayerRouting[] } {
  const values: Big[][] = [problem.input.data.map(big)];
  const routing: LayerRouting[] = [];
  for (let l = 0; l < problem.layers.length; l++) {
    const layer = problem.layers[l];
    const x = values[l];
    if (layer.kind === 'conv2d') {
      const p = problem.params[l]!;
      values.push(conv(x, dims(shapes[l]), dims(shapes[l + 1]), layer, p.weight.map(big), p.bias?.map(big)));
    } else if (layer.kind === 'relu') {
      const sign = x.map((v) => v.cmp(B0) as -1 | 0 | 1); // Big(−0).cmp(0) = 0
      routing.push({ kind: 'relu', layer: l, sign });
      values.push(x.map((v, i) => (sign[i] === 1 ? v : B0)));
    } else {
      const { out, ties } = pool(x, dims(shapes[l]), dims(shapes[l + 1]), layer);
      routing.push({ kind: 'maxpool', layer: l, ties });
      values.push(out);
    }
  }
  return { values, routing };
}

// ---------------------------------------------------------------------------------------------
// Backward: each entry carries its value, magnitude and depth (−1 = no term: exactly zero by routing).

interface Entry {
  readonly v: Big;
  readonly m: Big;
  readonly d: number;
}
const NOTHING: Entry = { v: B0, m: B0, d: -1 };

/** Σ of products: value and magnitude summed, depth = max term depth + (live terms − 1). */
function total(terms: readonly Entry[]): Entry {
  let v = B0;
  let m = B0;
  let d = -1;
  let live = 0;
  for (const t of terms) {
    if (t.d < 0) continue;
    v = v.plus(t.v);
    m = m.plus(t.m);
    d = Math.max(d, t.d);
    live++;
  }
  return live === 0 ? NOTHING : { v, m, d: d + live - 1 };
}

function lcmUpTo(k: number): bigint {
  let l = 1n;
  for (let i = 2n; i <= BigInt(k); i++) {
    let a = l;
    let b = i;
    while (b) [a, b] = [b, a % b];
    l = (l / a) * i;
  }
  return l;
}

/** Rounded operations to apply a Jacobian weight: none for 1, conversion + product for a dyadic exact in every format, 3 otherwise. */
function weightOps(w: Weight): number {
  if (w.num === w.den) return 0;
  const reducedDen = w.den / gcdNum(Math.abs(w.num), w.den);
  const x = w.num / w.den; // exact when reducedDen is a power of two and num is small
  return isPow2(reducedDen) && Object.values(FORMATS).every((f) => isRepresentable(f, x)) ? 2 : 3;
}

function gcdNum(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

function isPow2(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && (n & (n - 1)) === 0;
}

type ReluRouting = Extract<LayerRouting, { kind: 'relu' }>;
type PoolRouting = Extract<LayerRouting, { kind: 'maxpool' }>;

/** Gradient entries of one parameterised layer, over the common denominator `den` of the layers above it. */
interface ParamGrads {
  v: Big[];
  m: Big[];
  d: number[];
  den: bigint;
  bias?: { v: Big[]; m: Big[]; d: number[] };
}

function backward(problem: Problem, routing: Routing, jacobian: JacobianChoice): ExactBackward {
  const shapes = checkProblem(problem, WHO);
  const byLayer = checkRouting(problem, shapes, routing, WHO);
  const alpha = jacobian.reluAlpha;
  if (!(Number.isFinite(alpha) && alpha >= 0 && alpha <= 1))
    throw new OracleError(`${WHO}: ReLU'(0) = α must be a double in [0, 1], got ${alpha}`);
  const { values } = forwardAll(problem, shapes);
  const fwd = forwardEntries(problem, shapes, values, byLayer);
  let grad: Entry[] = problem.cotangent.map((c) => {
    const v = big(c);
    return { v, m: v.abs(), d: 1 };
  });
  let den = 1n;
  const perLayer: (ParamGrads | null)[] = problem.layers.map(() => null);
  for (let l = problem.layers.length - 1; l >= 0; l--) {
    const layer = problem.layers[l];
    const din = dims(shapes[l]);
    const dout = dims(shapes[l + 1]);
    if (layer.kind === 'relu') grad = backRelu(grad, (byLayer[l] as ReluRouting).sign, alpha);
    else if (layer.kind === 'maxpool') {
      const S = lcmUpTo(layer.kernel[0] * layer.kernel[1]);
      grad = backPool(grad, din, dout, layer, (byLayer[l] as PoolRouting).ties, jacobian, S);
      den *= S;
    } else {
      const p = problem.params[l]!;
      perLayer[l] = { ...weightGrads(grad, din, dout, layer, fwd[l]), den, ...(p.bias ? { bias: biasGrads(grad, dout) } : {}) };
      grad = backConvInput(grad, din, dout, layer, p.weight.map(big));
    }
  }
  return backwardResult(perLayer, grad, den);
}

/** Forward magnitudes and depths (what a float forward's error is measured against), layer by layer. */
function forwardEntries(
  problem: Problem,
  shapes: readonly Shape[],
  values: readonly Big[][],
  byLayer: readonly (LayerRouting | undefined)[],
): Entry[][] {
  const fwd: Entry[][] = [values[0].map((v) => ({ v, m: v.abs(), d: 1 }))];
  for (let l = 0; l < problem.layers.length; l++) {
    const layer = problem.layers[l];
    const din = dims(shapes[l]);
    const dout = dims(shapes[l + 1]);
    const x = fwd[l];
    if (layer.kind === 'conv2d') fwd.push(forwardConvEntries(x, din, dout, layer, problem.params[l]!, values[l + 1]));
    else if (layer.kind === 'relu') {
      const sign = (byLayer[l] as ReluRouting).sign;
      // Given sign ≤ 0 and exact input ≤ 0: the output is exactly 0 in the float pass and exactly.
      fwd.push(
        x.map((e, i) => (sign[i] <= 0 && e.v.lte(B0) ? { v: values[l + 1][i], m: B0, d: -1 } : { v: values[l + 1][i], m: e.m, d: e.d })),
      );
    } else fwd.push(forwardPoolEntries(x, din, dout, layer, values[l + 1]));
  }
  return fwd;
}

function forwardConvEntries(
  x: readonly Entry[],
  din: Dims,
  dout: Dims,
  layer: Conv2dSpec,
  p: { readonly weight: readonly number[]; readonly bias?: readonly number[] },
  out: readonly Big[],
): Entry[] {
  const [kh, kw] = layer.kernel;
  const absW = p.weight.map((x) => big(x).abs());
  const absB = p.bias?.map((x) => big(x).abs());
  const y: Entry[] = [];
  for (let b = 0; b < dout.n; b++)
    for (let co = 0; co < dout.c; co++)
      for (let oy = 0; oy < dout.h; oy++)
        for (let ox = 0; ox < dout.w; ox++) {
          const terms: Entry[] = [];
          for (let ci = 0; ci < din.c; ci++)
            for (const ry of window(oy, kh, layer.stride[0], layer.padding[0], din.h))
              for (const rx of window(ox, kw, layer.stride[1], layer.padding[1], din.w)) {
                const e = x[at(din, b, ci, ry.pos, rx.pos)];
                terms.push(e.d < 0 ? NOTHING : { v: B0, m: absW[((co * din.c + ci) * kh + ry.tap) * kw + rx.tap].times(e.m), d: e.d + 2 });
              }
          if (absB) terms.push({ v: B0, m: absB[co], d: 1 });
          const t = total(terms);
          y.push({ v: out[at(dout, b, co, oy, ox)], m: t.m, d: t.d });
        }
  return y;
}

function forwardPoolEntries(x: readonly Entry[], din: Dims, dout: Dims, layer: MaxPoolSpec, out: readonly Big[]): Entry[] {
  const y: Entry[] = [];
  for (let b = 0; b < dout.n; b++)
    for (let c = 0; c < dout.c; c++)
      for (let oy = 0; oy < dout.h; oy++)
        for (let ox = 0; ox < dout.w; ox++) {
          let m = B0;
          let d = -1;
          for (const ry of window(oy, layer.kernel[0], layer.stride[0], layer.padding[0], din.h))
            for (const rx of window(ox, layer.kernel[1], layer.stride[1], layer.padding[1], din.w)) {
              const e = x[at(din, b, c, ry.pos, rx.pos)];
              if (e.m.gt(m)) m = e.m;
              if (e.d > d) d = e.d;
            }
          y.push({ v: out[at(dout, b, c, oy, ox)], m, d });
        }
  return y;
}

function backRelu(g: readonly Entry[], sign: readonly number[], alpha: number): Entry[] {
  const bigAlpha = big(alpha);
  return g.map((e, i) => {
    if (e.d < 0 || sign[i] === -1 || (sign[i] === 0 && alpha === 0)) return NOTHING;
    if (sign[i] === 1 || alpha === 1) return e;
    return { v: e.v.times(bigAlpha), m: e.m.times(bigAlpha), d: e.d + 2 };
  });
}

/** MaxPool backward by gathering: each input entry collects the weights of the windows that route to it, scaled by S. */
function backPool(
  g: readonly Entry[],
  din: Dims,
  dout: Dims,
  layer: MaxPoolSpec,
  ties: readonly (readonly number[])[],
  jacobian: JacobianChoice,
  S: bigint,
): Entry[] {
  const [kh, kw] = layer.kernel;
  const next: Entry[] = new Array(din.n * din.c * din.h * din.w);
  for (let b = 0; b < din.n; b++)
    for (let c = 0; c < din.c; c++)
      for (let iy = 0; iy < din.h; iy++)
        for (let ix = 0; ix < din.w; ix++) {
          const i = at(din, b, c, iy, ix);
          const terms: Entry[] = [];
          for (const oy of covering(iy, kh, layer.stride[0], layer.padding[0], dout.h))
            for (const ox of covering(ix, kw, layer.stride[1], layer.padding[1], dout.w)) {
              const o = at(dout, b, c, oy, ox);
              const t = ties[o].indexOf(i);
              if (t < 0) continue;
              const wt = tieWeights(jacobian.maxpool, ties[o].length)[t];
              if (!Number.isInteger(wt.num) || !Number.isInteger(wt.den) || wt.den < 1 || S % BigInt(wt.den) !== 0n) {
                throw new OracleError(`${WHO}: Jacobian weight ${wt.num}/${wt.den} does not divide the kernel's lcm ${S}`);
              }
              if (wt.num === 0 || g[o].d < 0) continue;
              const k = new Big((BigInt(wt.num) * (S / BigInt(wt.den))).toString());
              terms.push({ v: g[o].v.times(k), m: g[o].m.times(k.abs()), d: g[o].d + weightOps(wt) });
            }
          next[i] = total(terms);
        }
  return next;
}

/** Conv input gradient: gather over output channels and kernel taps. */
function backConvInput(g: readonly Entry[], din: Dims, dout: Dims, layer: Conv2dSpec, W: readonly Big[]): Entry[] {
  const [kh, kw] = layer.kernel;
  const [sh, sw] = layer.stride;
  const [ph, pw] = layer.padding;
  const absW = W.map((x) => x.abs());
  const next: Entry[] = new Array(din.n * din.c * din.h * din.w);
  for (let b = 0; b < din.n; b++)
    for (let ci = 0; ci < din.c; ci++)
      for (let iy = 0; iy < din.h; iy++)
        for (let ix = 0; ix < din.w; ix++) {
          const terms: Entry[] = [];
          for (let co = 0; co < dout.c; co++)
            for (let ky = 0; ky < kh; ky++)
              for (let kx = 0; kx < kw; kx++) {
                const ty = iy + ph - ky;
                const tx = ix + pw - kx;
                if (ty < 0 || tx < 0 || ty % sh || tx % sw || ty / sh >= dout.h || tx / sw >= dout.w) continue;
                const e = g[at(dout, b, co, ty / sh, tx / sw)];
                if (e.d < 0) continue;
                const wi = ((co * din.c + ci) * kh + ky) * kw + kx;
                terms.push({ v: W[wi].times(e.v), m: absW[wi].times(e.m), d: e.d + 2 });
              }
          next[at(din, b, ci, iy, ix)] = total(terms);
        }
  return next;
}

/** Conv weight gradient: gather over batch and output positions (activations from the forward entries). */
function weightGrads(g: readonly Entry[], din: Dims, dout: Dims, layer: Conv2dSpec, x: readonly Entry[]): Omit<ParamGrads, 'den'> {
  const [kh, kw] = layer.kernel;
  const [sh, sw] = layer.stride;
  const [ph, pw] = layer.padding;
  const out = { v: [] as Big[], m: [] as Big[], d: [] as number[] };
  for (let co = 0; co < dout.c; co++)
    for (let ci = 0; ci < din.c; ci++)
      for (let ky = 0; ky < kh; ky++)
        for (let kx = 0; kx < kw; kx++) {
          const terms: Entry[] = [];
          for (let b = 0; b < dout.n; b++)
            for (let oy = 0; oy < dout.h; oy++)
              for (let ox = 0; ox < dout.w; ox++) {
                const iy = oy * sh - ph + ky;
                const ix = ox * sw - pw + kx;
                if (iy < 0 || ix < 0 || iy >= din.h || ix >= din.w) continue;
                const e = g[at(dout, b, co, oy, ox)];
                const a = x[at(din, b, ci, iy, ix)];
                if (e.d < 0 || a.d < 0) continue;
                terms.push({ v: e.v.times(a.v), m: e.m.times(a.m), d: e.d + a.d + 1 });
              }
          pushTotal(out, total(terms));
        }
  return out;
}

/** Conv bias gradient: the sum of the output gradient over batch and positions, per channel. */
function biasGrads(g: readonly Entry[], dout: Dims): { v: Big[]; m: Big[]; d: number[] } {
  const out = { v: [] as Big[], m: [] as Big[], d: [] as number[] };
  for (let co = 0; co < dout.c; co++) {
    const terms: Entry[] = [];
    for (let b = 0; b < dout.n; b++)
      for (let oy = 0; oy < dout.h; oy++) for (let ox = 0; ox < dout.w; ox++) terms.push(g[at(dout, b, co, oy, ox)]);
    pushTotal(out, total(terms));
  }
  return out;
}

function pushTotal(out: { v: Big[]; m: Big[]; d: number[] }, t: Entry): void {
  out.v.push(t.v);
  out.m.push(t.m);
  out.d.push(t.d);
}

function backwardResult(perLayer: readonly (ParamGrads | null)[], grad: readonly Entry[], den: bigint): ExactBackward {
  const ex = (xs: readonly Big[], d: bigint) => xs.map((x) => new BigExact(x, d));
  const dp = (xs: readonly number[]) => xs.map((d) => Math.max(d, 0));
  return {
    grads: {
      params: perLayer.map((e) => (e ? { weight: ex(e.v, e.den), ...(e.bias ? { bias: ex(e.bias.v, e.den) } : {}) } : null)),
      input: ex(
        grad.map((e) => e.v),
        den,
      ),
    },
    magnitude: {
      params: perLayer.map((e) => (e ? { weight: ex(e.m, e.den), ...(e.bias ? { bias: ex(e.bias.m, e.den) } : {}) } : null)),
      input: ex(
        grad.map((e) => e.m),
        den,
      ),
    },
    depth: {
      params: perLayer.map((e) => (e ? { weight: dp(e.d), ...(e.bias ? { bias: dp(e.bias.d) } : {}) } : null)),
      input: dp(grad.map((e) => e.d)),
    } satisfies Gradients<number>,
  };
}

export const bigOracle: Oracle = {
  name: 'big.js',
  exact: bigExact,
  forward(problem: Problem): ExactForward {
    const shapes = checkProblem(problem, WHO);
    const { values, routing } = forwardAll(problem, shapes);
    return { routing, activations: values.map((a) => a.map((v) => new BigExact(v, 1n))) };
  },
  backward,
};
