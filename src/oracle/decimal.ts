/**
 * The primary exact oracle, on decimal.js.
 *
 * WHY EVERY RESULT IS EXACT (the precision proof)
 * ------------------------------------------------
 * decimal.js rounds the result of every operation to `precision` significant decimal digits and
 * is otherwise correct: plus, minus and times return the exact result correctly rounded. So an
 * operation is exact as soon as `precision` ≥ the number of significant digits of its exact
 * result. Every value here is a dyadic rational, and we carry for each one two integers
 *   lsb = L : the value is an integer multiple of 2^L,
 *   msb = M : |value| < 2^M,
 * derived from the operands' bounds only, never from a rounded result:
 *   double x = m·2^e (m odd, |m| < 2^b)  →  L = e,       M = e + b       (exact, from its bits)
 *   integer n = 2^v·odd, |n| < 2^b       →  L = v,       M = b
 *   a·b                                  →  L = La + Lb, M = Ma + Mb
 *   a ± b                                →  L = min,     M = max + 1
 *   Σ of j terms                         →  L = min Li,  M = max Mi + ceil(log2 j)
 *                                           (|Σ| < j·2^max ≤ 2^(max + ceil(log2 j)))
 * Digits of a dyadic. Let v = N·2^L ≠ 0 with N an integer, |v| < 2^M, and L' = min(L, 0).
 * Then v = N·2^(L−L')·5^(−L') / 10^(−L'), so the significant digits of v are at most the digits of
 * the integer K = |N|·2^(L−L')·5^(−L'), and K < 2^(M−L')·5^(−L'). An integer K < B has at most
 * ceil(log10 B) digits, hence
 *   digits(v) ≤ ceil((M − L')·log10 2 + (−L')·log10 5).
 * (With L > 0 the factor 2^L stays in K: using L instead of L' = 0 would undercount, e.g. 2^100.)
 * `requiredDigits` evaluates this with one extra digit, which absorbs the error of evaluating the
 * logarithms in double precision (far below 1 for any |L|, |M| < 2^40): ceil(x̃) + 1 ≥ ceil(x)
 * whenever |x̃ − x| < 1. Each operation computes the digits its result needs from the operands'
 * bounds, runs in a Decimal clone with at least that precision (asserted), and so is exact; by
 * induction every value is exact. A bound above MAX_DIGITS throws OracleError instead.
 * Conversions in (exactDecimal strings into `new Decimal`) never round: the constructor keeps
 * every digit, and negation / absolute value do not round either.
 *
 * Non-dyadic Jacobian weights num/den (1/k, β/k) never meet a division: a MaxPool layer's backward
 * is scaled by S = lcm of the denominators of the weights its routing uses, so each weight
 * becomes the integer num·S/den, and the common denominator D (the product of the S's) is carried
 * beside the dyadic numerators. A gradient entry is then the exact rational numerator / D.
 */
import { Decimal } from 'decimal.js';
import { type JacobianChoice, tieWeights, type Rational as Weight } from '../jacobians/index.ts';
import { exactDecimal, FORMATS, isRepresentable, toDyadic } from '../precision/index.ts';
import type { Gradients, LayerRouting, Problem, Routing, Shape } from '../problem/index.ts';
import { checkProblem, checkRouting } from './check.ts';
import { canonicalText, nearestDouble, parseCanonical, type Rational, rationalOf } from './rational.ts';
import { type ExactBackward, type ExactForward, type ExactNumber, type Oracle, OracleError } from './types.ts';

const WHO = 'decimal.js oracle';

// ---------------------------------------------------------------------------------------------
// Proven-exact dyadic arithmetic.

/** A dyadic value with its bounds: an integer multiple of 2^lsb, |v| < 2^msb. Zero: lsb = +∞, msb = −∞. */
interface Dy {
  readonly v: Decimal;
  readonly lsb: number;
  readonly msb: number;
}

/** Refuse a working precision above this (10^6 digits: far beyond anything a double problem needs). */
export const MAX_DIGITS = 1_000_000;
const LOG10_2 = Math.log10(2);
const LOG10_5 = Math.log10(5);

/** Significant decimal digits sufficient for any dyadic multiple of 2^lsb below 2^msb (see the proof above). */
export function requiredDigits(lsb: number, msb: number): number {
  if (msb === -Infinity) return 1; // zero
  if (!Number.isFinite(lsb) || !Number.isFinite(msb) || msb <= lsb) {
    throw new OracleError(`${WHO}: inconsistent bounds lsb=${lsb}, msb=${msb}`);
  }
  const l = Math.min(lsb, 0);
  return Math.ceil((msb - l) * LOG10_2 + -l * LOG10_5) + 1;
}

type DecimalCtor = typeof Decimal;
const clones = new Map<number, DecimalCtor>();

/** A Decimal constructor whose precision is at least `digits` (cached by power-of-two buckets). */
function ctorFor(digits: number): DecimalCtor {
  if (!(digits <= MAX_DIGITS)) {
    throw new OracleError(`${WHO}: an exact result would need ${digits} significant digits, above the cap of ${MAX_DIGITS}`);
  }
  let p = 64;
  while (p < digits) p *= 2;
  let D = clones.get(p);
  if (!D) {
    D = Decimal.clone({ precision: p, rounding: Decimal.ROUND_HALF_EVEN, minE: -9e15, maxE: 9e15 });
    clones.set(p, D);
  }
  if (D.precision < digits) throw new OracleError(`${WHO}: internal error, precision ${D.precision} < ${digits}`);
  return D;
}

const ZERO: Dy = { v: new Decimal(0), lsb: Infinity, msb: -Infinity };

function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}

function dyOfDouble(x: number): Dy {
  if (!Number.isFinite(x)) throw new OracleError(`${WHO}: ${x} is not finite and has no exact value`);
  const { mantissa, exponent } = toDyadic(x);
  if (mantissa === 0n) return ZERO;
  return { v: new Decimal(exactDecimal(x)), lsb: exponent, msb: exponent + bitLength(mantissa) };
}

function dyOfBigInt(n: bigint): Dy {
  if (n === 0n) return ZERO;
  const a = n < 0n ? -n : n;
  let v = 0;
  while (((a >> BigInt(v)) & 1n) === 0n) v++;
  return { v: new Decimal(n.toString()), lsb: v, msb: bitLength(a) };
}

function mul(a: Dy, b: Dy): Dy {
  if (a.v.isZero() || b.v.isZero()) return ZERO;
  const lsb = a.lsb + b.lsb;
  const msb = a.msb + b.msb;
  const D = ctorFor(requiredDigits(lsb, msb));
  return { v: D.mul(a.v, b.v), lsb, msb };
}

function add(a: Dy, b: Dy): Dy {
  if (a.v.isZero()) return b;
  if (b.v.isZero()) return a;
  const lsb = Math.min(a.lsb, b.lsb);
  const msb = Math.max(a.msb, b.msb) + 1;
  const D = ctorFor(requiredDigits(lsb, msb));
  return { v: D.add(a.v, b.v), lsb, msb };
}

function neg(a: Dy): Dy {
  return a.v.isZero() ? ZERO : { v: a.v.neg(), lsb: a.lsb, msb: a.msb };
}

function absDy(a: Dy): Dy {
  return a.v.isNeg() ? neg(a) : a;
}

/** Σ terms, each partial sum of j non-zero terms bounded by max msb + ceil(log2 j). */
function sum(terms: readonly Dy[]): Dy {
  let acc = ZERO;
  let lsb = Infinity;
  let top = -Infinity;
  let j = 0;
  for (const t of terms) {
    if (t.v.isZero()) continue;
    j++;
    lsb = Math.min(lsb, t.lsb);
    top = Math.max(top, t.msb);
    if (j === 1) {
      acc = t;
      continue;
    }
    const msb = top + Math.ceil(Math.log2(j));
    const D = ctorFor(requiredDigits(lsb, msb));
    const v = D.add(acc.v, t.v);
    acc = v.isZero() ? { v, lsb: Infinity, msb: -Infinity } : { v, lsb, msb };
  }
  return acc.v.isZero() ? ZERO : acc;
}

// ---------------------------------------------------------------------------------------------
// ExactNumber.

/** An exact value num/den: num a dyadic rational (Decimal, with proven bounds), den a positive integer. */
export class DecimalExact implements ExactNumber {
  /** @internal */
  readonly num: Dy;
  readonly den: bigint;

  /** @internal use decimalExact / decimalExactFromRational. */
  constructor(num: Dy, den: bigint) {
    if (den <= 0n) throw new OracleError(`${WHO}: denominator must be positive, got ${den}`);
    this.num = num;
    this.den = den;
  }

  /** The exact rational value as BigInt num/den in lowest terms. */
  toRational(): Rational {
    return rationalOf(this.num.v.toFixed(), this.den);
  }

  toString(): string {
    return canonicalText(this.toRational());
  }

  toNumber(): number {
    return nearestDouble(this.toRational());
  }

  isZero(): boolean {
    return this.num.v.isZero();
  }

  cmp(o: ExactNumber): -1 | 0 | 1 {
    const d = this.sub(o) as DecimalExact;
    return d.num.v.isZero() ? 0 : d.num.v.isNeg() ? -1 : 1;
  }

  equals(o: ExactNumber): boolean {
    return this.cmp(o) === 0;
  }

  sub(o: ExactNumber): ExactNumber {
    const b = o instanceof DecimalExact ? o : decimalExactFromRational(parseCanonical(o.toString()));
    if (this.den === b.den) return new DecimalExact(add(this.num, neg(b.num)), this.den);
    const left = mul(this.num, dyOfBigInt(b.den));
    const right = mul(b.num, dyOfBigInt(this.den));
    return new DecimalExact(add(left, neg(right)), this.den * b.den);
  }

  abs(): ExactNumber {
    return new DecimalExact(absDy(this.num), this.den);
  }
}

/** The exact value of a finite double. */
export function decimalExact(x: number): DecimalExact {
  return new DecimalExact(dyOfDouble(x), 1n);
}

/** An exact rational p/q (q > 0) as a DecimalExact (p is an integer, hence dyadic). */
export function decimalExactFromRational(r: Rational): DecimalExact {
  return new DecimalExact(dyOfBigInt(r.num), r.den);
}

// ---------------------------------------------------------------------------------------------
// Forward pass.

interface Geometry {
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
}

function convForward(
  x: readonly Dy[],
  [n, cIn, h, w]: Shape,
  [, cOut, oh, ow]: Shape,
  g: Geometry,
  weight: readonly Dy[],
  bias: readonly Dy[] | undefined,
): Dy[] {
  const [kh, kw] = g.kernel;
  const out: Dy[] = [];
  for (let b = 0; b < n; b++)
    for (let co = 0; co < cOut; co++)
      for (let oy = 0; oy < oh; oy++)
        for (let ox = 0; ox < ow; ox++) {
          const terms: Dy[] = [];
          for (let ci = 0; ci < cIn; ci++)
            for (let ky = 0; ky < kh; ky++)
              for (let kx = 0; kx < kw; kx++) {
                const iy = oy * g.stride[0] - g.padding[0] + ky;
                const ix = ox * g.stride[1] - g.padding[1] + kx;
                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue; // zero padding
                terms.push(mul(weight[((co * cIn + ci) * kh + ky) * kw + kx], x[((b * cIn + ci) * h + iy) * w + ix]));
              }
          if (bias) terms.push(bias[co]);
          out.push(sum(terms));
        }
  return out;
}

function maxpoolForward(x: readonly Dy[], [n, c, h, w]: Shape, [, , oh, ow]: Shape, g: Geometry): { out: Dy[]; ties: number[][] } {
  const out: Dy[] = [];
  const ties: number[][] = [];
  for (let plane = 0; plane < n * c; plane++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++) {
        let best: Dy | undefined;
        let tie: number[] = [];
        for (let ky = 0; ky < g.kernel[0]; ky++)
          for (let kx = 0; kx < g.kernel[1]; kx++) {
            const iy = oy * g.stride[0] - g.padding[0] + ky;
            const ix = ox * g.stride[1] - g.padding[1] + kx;
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue; // −∞ padding never attains the max
            const i = (plane * h + iy) * w + ix;
            const c = best === undefined ? 1 : best.v.cmp(x[i].v); // exact comparison
            if (best === undefined || c < 0) {
              best = x[i];
              tie = [i];
            } else if (c === 0) tie.push(i);
          }
        if (!best) throw new OracleError(`${WHO}: maxpool window with no input element`);
        out.push(best);
        ties.push(tie); // row-major window order = ascending flat index
      }
  return { out, ties };
}

function forwardValues(problem: Problem, shapes: readonly Shape[]): { acts: Dy[][]; routing: LayerRouting[] } {
  const acts: Dy[][] = [problem.input.data.map(dyOfDouble)];
  const routing: LayerRouting[] = [];
  problem.layers.forEach((layer, l) => {
    const x = acts[l];
    switch (layer.kind) {
      case 'conv2d': {
        const p = problem.params[l]!;
        acts.push(convForward(x, shapes[l], shapes[l + 1], layer, p.weight.map(dyOfDouble), p.bias?.map(dyOfDouble)));
        break;
      }
      case 'relu': {
        const sign = x.map((v) => (v.v.isZero() ? 0 : v.v.isNeg() ? -1 : 1) as -1 | 0 | 1);
        routing.push({ kind: 'relu', layer: l, sign });
        acts.push(x.map((v, i) => (sign[i] > 0 ? v : ZERO)));
        break;
      }
      case 'maxpool': {
        const { out, ties } = maxpoolForward(x, shapes[l], shapes[l + 1], layer);
        routing.push({ kind: 'maxpool', layer: l, ties });
        acts.push(out);
        break;
      }
    }
  });
  return { acts, routing };
}

// ---------------------------------------------------------------------------------------------
// Backward pass: value, magnitude and depth together.
//
// Depth bookkeeping (an upper bound on the rounded operations any term of an entry passes through
// in a float backend that follows the same routing; NONE = the entry has no term, it is exactly 0):
//   input, parameter, cotangent: 1 (conversion to p);
//   product with a converted factor: +1 (conversion) +1 (product); with a Jacobian weight:
//     +0 for weight 1 (routing, no arithmetic), +2 for a small dyadic weight (exact in every
//     format: conversion 1 + product 1, as the contract counts), +3 otherwise (2 for the weight + 1);
//   ReLU'(0) = α ∉ {0, 1}: +2; slope 1: +0; slope 0: the term vanishes;
//   product of two computed values (weight gradient g·x): dg + dx + 1;
//   a sum of n terms (terms that vanish by routing add exact zeros and are not counted): +(n − 1);
//   MaxPool forward: max of the window's depths (max is 1-Lipschitz, no rounding);
//   ReLU forward: the input's depth, except that an entry whose given sign is ≤ 0 and whose exact
//     input is ≤ 0 is exactly 0 on both sides (NONE).
// Magnitudes use the same recursion with absolute values; forward magnitudes (|W|·|x| + |b|, max
// over a window, ReLU as above) stand in for activations in the weight gradient. With
// |fl(y) − y| ≤ γ_d·mag(y) for each factor, products and sums preserve the form
// (1+γ_a)(1+γ_b) ≤ 1+γ_(a+b), so |AD_p − AD_R| ≤ γ_depth·magnitude entrywise.

const NONE = -1;

interface Flow {
  val: Dy[];
  mag: Dy[];
  dep: number[];
}

/** Collects terms per target entry. */
class Acc {
  private readonly vals: Dy[][];
  private readonly mags: Dy[][];
  private readonly maxDep: number[];
  private readonly count: number[];
  constructor(size: number) {
    this.vals = Array.from({ length: size }, () => []);
    this.mags = Array.from({ length: size }, () => []);
    this.maxDep = new Array<number>(size).fill(NONE);
    this.count = new Array<number>(size).fill(0);
  }
  add(i: number, val: Dy, mag: Dy, dep: number): void {
    if (dep === NONE) return; // exactly zero by routing
    this.vals[i].push(val);
    this.mags[i].push(mag);
    this.maxDep[i] = Math.max(this.maxDep[i], dep);
    this.count[i]++;
  }
  done(): Flow {
    return {
      val: this.vals.map(sum),
      mag: this.mags.map(sum),
      dep: this.maxDep.map((d, i) => (d === NONE ? NONE : d + this.count[i] - 1)),
    };
  }
}

function gcdN(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/** A weight whose value (not its spelling: 10/5 is 2) is a dyadic exact in every format. */
function isSmallDyadic(w: Weight): boolean {
  const g = Number(gcdN(BigInt(Math.abs(w.num)), BigInt(w.den)));
  const d = w.den / g; // the reduced denominator
  if ((d & (d - 1)) !== 0) return false; // not a power of two
  const x = w.num / w.den; // exact: a dyadic with a small numerator
  return Object.values(FORMATS).every((f) => isRepresentable(f, x));
}

function weightCost(w: Weight): number {
  if (w.num === w.den) return 0;
  return isSmallDyadic(w) ? 2 : 3;
}

type ReluRouting = Extract<LayerRouting, { kind: 'relu' }>;
type PoolRouting = Extract<LayerRouting, { kind: 'maxpool' }>;

function forwardFlow(
  problem: Problem,
  shapes: readonly Shape[],
  acts: readonly Dy[][],
  byLayer: readonly (LayerRouting | undefined)[],
): Flow[] {
  const flows: Flow[] = [{ val: acts[0], mag: acts[0].map(absDy), dep: acts[0].map(() => 1) }];
  problem.layers.forEach((layer, l) => {
    const f = flows[l];
    switch (layer.kind) {
      case 'conv2d':
        flows.push({ val: acts[l + 1], ...convFlow(f, shapes[l], shapes[l + 1], layer, problem.params[l]!) });
        break;
      case 'relu': {
        const r = byLayer[l] as ReluRouting;
        const zero = (i: number) => r.sign[i] <= 0 && !f.val[i].v.gt(0);
        flows.push({
          val: acts[l + 1],
          mag: f.mag.map((m, i) => (zero(i) ? ZERO : m)),
          dep: f.dep.map((d, i) => (zero(i) ? NONE : d)),
        });
        break;
      }
      case 'maxpool':
        flows.push({ val: acts[l + 1], ...poolFlow(f, shapes[l], shapes[l + 1], layer) });
        break;
    }
  });
  return flows;
}

/** Forward magnitudes |W|·|x| + |b| and depths of a conv layer's outputs. */
function convFlow(
  f: Flow,
  [n, cIn, h, w]: Shape,
  [, cOut, oh, ow]: Shape,
  layer: Geometry,
  p: { readonly weight: readonly number[]; readonly bias?: readonly number[] },
): Omit<Flow, 'val'> {
  const W = p.weight.map(dyOfDouble);
  const B = p.bias?.map(dyOfDouble);
  const [kh, kw] = layer.kernel;
  const mag: Dy[] = [];
  const dep: number[] = [];
  for (let b = 0; b < n; b++)
    for (let co = 0; co < cOut; co++)
      for (let oy = 0; oy < oh; oy++)
        for (let ox = 0; ox < ow; ox++) {
          const terms: Dy[] = [];
          let d = NONE;
          let cnt = 0;
          for (let ci = 0; ci < cIn; ci++)
            for (let ky = 0; ky < kh; ky++)
              for (let kx = 0; kx < kw; kx++) {
                const iy = oy * layer.stride[0] - layer.padding[0] + ky;
                const ix = ox * layer.stride[1] - layer.padding[1] + kx;
                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                const i = ((b * cIn + ci) * h + iy) * w + ix;
                if (f.dep[i] === NONE) continue;
                terms.push(mul(absDy(W[((co * cIn + ci) * kh + ky) * kw + kx]), f.mag[i]));
                d = Math.max(d, f.dep[i] + 2);
                cnt++;
              }
          if (B) {
            terms.push(absDy(B[co]));
            d = Math.max(d, 1);
            cnt++;
          }
          mag.push(sum(terms));
          dep.push(d === NONE ? NONE : d + cnt - 1);
        }
  return { mag, dep };
}

/** Forward magnitudes (the window's largest) and depths (the window's deepest) of a MaxPool's outputs. */
function poolFlow(f: Flow, [n, cIn, h, w]: Shape, [, , oh, ow]: Shape, layer: Geometry): Omit<Flow, 'val'> {
  const mag: Dy[] = [];
  const dep: number[] = [];
  for (let plane = 0; plane < n * cIn; plane++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++) {
        let m = ZERO;
        let d = NONE;
        for (let ky = 0; ky < layer.kernel[0]; ky++)
          for (let kx = 0; kx < layer.kernel[1]; kx++) {
            const iy = oy * layer.stride[0] - layer.padding[0] + ky;
            const ix = ox * layer.stride[1] - layer.padding[1] + kx;
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
            const i = (plane * h + iy) * w + ix;
            if (f.mag[i].v.gt(m.v)) m = f.mag[i];
            d = Math.max(d, f.dep[i]);
          }
        mag.push(m);
        dep.push(d);
      }
  return { mag, dep };
}

function toExact(flow: readonly Dy[], den: bigint): ExactNumber[] {
  return flow.map((v) => new DecimalExact(v, den));
}

function backwardPass(problem: Problem, routing: Routing, jacobian: JacobianChoice): ExactBackward {
  const shapes = checkProblem(problem, WHO);
  const byLayer = checkRouting(problem, shapes, routing, WHO);
  const alpha = jacobian.reluAlpha;
  if (!(Number.isFinite(alpha) && alpha >= 0 && alpha <= 1))
    throw new OracleError(`${WHO}: ReLU'(0) = α must be a double in [0, 1], got ${alpha}`);
  const { acts } = forwardValues(problem, shapes);
  const fwd = forwardFlow(problem, shapes, acts, byLayer);
  const cot = problem.cotangent.map(dyOfDouble);
  let g: Flow = { val: cot, mag: cot.map(absDy), dep: cot.map(() => 1) };
  let den = 1n;
  const pGrads: Gradients<ExactNumber>['params'][number][] = problem.layers.map(() => null);
  const pMags: Gradients<ExactNumber>['params'][number][] = problem.layers.map(() => null);
  const pDeps: Gradients<number>['params'][number][] = problem.layers.map(() => null);
  for (let l = problem.layers.length - 1; l >= 0; l--) {
    const layer = problem.layers[l];
    switch (layer.kind) {
      case 'relu':
        g = backRelu(g, (byLayer[l] as ReluRouting).sign, alpha);
        break;
      case 'maxpool': {
        const back = backPool(g, size(shapes[l]), (byLayer[l] as PoolRouting).ties, jacobian);
        g = back.g;
        den *= back.S;
        break;
      }
      case 'conv2d': {
        const p = problem.params[l]!;
        const c = backConv(g, shapes[l], shapes[l + 1], layer, p.weight.map(dyOfDouble), fwd[l]);
        pGrads[l] = { weight: toExact(c.w.val, den), ...(p.bias ? { bias: toExact(c.b.val, den) } : {}) };
        pMags[l] = { weight: toExact(c.w.mag, den), ...(p.bias ? { bias: toExact(c.b.mag, den) } : {}) };
        pDeps[l] = { weight: depthOut(c.w.dep), ...(p.bias ? { bias: depthOut(c.b.dep) } : {}) };
        g = c.input;
        break;
      }
    }
  }
  return {
    grads: { params: pGrads, input: toExact(g.val, den) },
    magnitude: { params: pMags, input: toExact(g.mag, den) },
    depth: { params: pDeps, input: depthOut(g.dep) },
  };
}

const size = ([n, c, h, w]: Shape) => n * c * h * w;
const depthOut = (d: number[]) => d.map((x) => (x === NONE ? 0 : x));

function backRelu(g: Flow, sign: readonly number[], alpha: number): Flow {
  const a = dyOfDouble(alpha);
  const next: Flow = { val: [], mag: [], dep: [] };
  for (let i = 0; i < g.val.length; i++) {
    const s = sign[i];
    const slope = s > 0 ? 1 : s < 0 ? 0 : alpha;
    if (slope === 0 || g.dep[i] === NONE) {
      next.val.push(ZERO);
      next.mag.push(ZERO);
      next.dep.push(NONE);
    } else if (slope === 1) {
      next.val.push(g.val[i]);
      next.mag.push(g.mag[i]);
      next.dep.push(g.dep[i]);
    } else {
      next.val.push(mul(a, g.val[i]));
      next.mag.push(mul(a, g.mag[i]));
      next.dep.push(g.dep[i] + 2);
    }
  }
  return next;
}

/** MaxPool backward, scaled by S = lcm of the denominators of the weights its routing uses (see the header). */
function backPool(g: Flow, inSize: number, ties: readonly (readonly number[])[], jacobian: JacobianChoice): { g: Flow; S: bigint } {
  const weights = ties.map((t) => tieWeights(jacobian.maxpool, t.length));
  let S = 1n;
  for (const ws of weights)
    for (const wt of ws) {
      if (!Number.isInteger(wt.num) || !Number.isInteger(wt.den) || wt.den < 1) {
        throw new OracleError(`${WHO}: Jacobian weight ${wt.num}/${wt.den} is not an integer ratio`);
      }
      const d = BigInt(wt.den);
      S = (S * d) / gcdN(S, d);
    }
  const acc = new Acc(inSize);
  ties.forEach((tie, o) => {
    tie.forEach((i, t) => {
      const wt = weights[o][t];
      if (wt.num === 0) return;
      const k = BigInt(wt.num) * (S / BigInt(wt.den));
      acc.add(
        i,
        mul(dyOfBigInt(k), g.val[o]),
        mul(dyOfBigInt(k < 0n ? -k : k), g.mag[o]),
        g.dep[o] === NONE ? NONE : g.dep[o] + weightCost(wt),
      );
    });
  });
  return { g: acc.done(), S };
}

/** Conv backward by scattering: input, weight and bias gradients together. */
function backConv(
  g: Flow,
  inShape: Shape,
  [, cOut, oh, ow]: Shape,
  layer: Geometry,
  W: readonly Dy[],
  x: Flow,
): { input: Flow; w: Flow; b: Flow } {
  const [n, cIn, h, w] = inShape;
  const Wabs = W.map(absDy);
  const [kh, kw] = layer.kernel;
  const gin = new Acc(size(inShape));
  const gw = new Acc(W.length);
  const gb = new Acc(cOut);
  for (let b = 0; b < n; b++)
    for (let co = 0; co < cOut; co++)
      for (let oy = 0; oy < oh; oy++)
        for (let ox = 0; ox < ow; ox++) {
          const o = ((b * cOut + co) * oh + oy) * ow + ox;
          const go = g.val[o];
          const gm = g.mag[o];
          const gd = g.dep[o];
          gb.add(co, go, gm, gd);
          for (let ci = 0; ci < cIn; ci++)
            for (let ky = 0; ky < kh; ky++)
              for (let kx = 0; kx < kw; kx++) {
                const iy = oy * layer.stride[0] - layer.padding[0] + ky;
                const ix = ox * layer.stride[1] - layer.padding[1] + kx;
                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                const i = ((b * cIn + ci) * h + iy) * w + ix;
                const wi = ((co * cIn + ci) * kh + ky) * kw + kx;
                gin.add(i, mul(W[wi], go), mul(Wabs[wi], gm), gd === NONE ? NONE : gd + 2);
                const xd = x.dep[i];
                gw.add(wi, mul(go, x.val[i]), mul(gm, x.mag[i]), gd === NONE || xd === NONE ? NONE : gd + xd + 1);
              }
        }
  return { input: gin.done(), w: gw.done(), b: gb.done() };
}

export const decimalOracle: Oracle = {
  name: 'decimal.js',
  exact: decimalExact,
  forward(problem: Problem): ExactForward {
    const shapes = checkProblem(problem, WHO);
    const { acts, routing } = forwardValues(problem, shapes);
    return { routing, activations: acts.map((a) => toExact(a, 1n)) };
  },
  backward: backwardPass,
};
