/**
 * Arithmetic in precision p: the only place the engine rounds. Every op computes through an
 * `Arith`; no op does unrounded double arithmetic on its own. Hot loops use the module-level
 * helpers below (roundBy, dotStep, roundInPlace, addInPlace, roundAccumulated) with the Arith's
 * `accKind`/`roundKind` and functions: the same values as its methods, without a call through a
 * closure per element. Binary16 is rounded by f16roundFast (../precision/f16fast.ts), bit-identical
 * to @petamoriken/float16's f16round, and bfloat16 by bf16roundFast (below), bit-identical to the
 * generic rounding of ../precision.
 *
 * Values live in doubles. "A value of p" is a double that format p represents exactly.
 *
 * Accumulation modes (EngineOptions.accumulate):
 *
 * - `strict`: every product and every addition is rounded to p: fl_p(a·b), fl_p(s + t). It is
 *   computed in double, then rounded to p. For p ≤ 32 bits (binary16/32, bfloat16, E4M3, E5M2)
 *   this is the correctly rounded p-result: a product of two p-values is exact in double, and
 *   for a sum rounding twice (to double, then to p) equals rounding once because binary64 has
 *   53 ≥ 2p + 2 significand bits (Figueroa, "When is double rounding innocuous?", 1995). For
 *   p = 64 it is plain IEEE double arithmetic.
 *
 * - `wide`: inside one op (a conv, a linear, a gradient reduction) products and partial sums are
 *   rounded to a wider accumulator format W, and only the op's output is rounded to p:
 *   W = binary32 (Math.fround) for formats of 16 bits or fewer (binary16, bfloat16, E4M3, E5M2),
 *   W = binary64 for p = 32; for p = 64, wide is strict. Like GPU fp16 with fp32 accumulation.
 *
 * Between ops every tensor holds values of p: op outputs, gradients, and the tape's sum of the
 * gradient contributions a tensor receives from several consumers (rounded to p in both modes).
 *
 * Division, square root, exp and log (batch norm, average pooling, softmax cross-entropy, the
 * optimizers) are computed in double and then rounded like any other intermediate: `acc` inside an
 * op, `round` for an op's output. For division and square root of values of p this is the correctly
 * rounded p-result whenever p has at most 24 significand bits (binary16/32, bfloat16, 8-bit formats):
 * the double result is correctly rounded, and rounding it again to p is innocuous because
 * 53 ≥ 2p + 2 (Figueroa 1995 proves this for +, −, ×, ÷ and √). The same holds in `wide` mode for
 * the fp32 accumulator. Math.exp and Math.log are not correctly rounded in double (they are faithful,
 * within about an ulp of double), so exp/log rounded to p are correct except, rarely, one ulp of p
 * off at a rounding boundary.
 *
 * Summation order: every reduction is a plain left-to-right sum, s = 0, s = acc(s + t₁),
 * s = acc(s + t₂), …, in the order the op documents (always ascending flat NCHW index of the
 * reduced terms). No pairwise or compensated summation. Starting from +0 only matters for the
 * sign of a zero result, which nothing downstream distinguishes.
 */
import { f16roundFast, roundArrayF16 } from '../precision/f16fast.ts';
import { type Format, round as roundTo } from '../precision/index.ts';
import type { Accumulate } from './types.ts';

export interface Arith {
  readonly format: Format;
  readonly accumulate: Accumulate;
  /** Round to p: inputs, parameters, every op's output. */
  readonly round: (x: number) => number;
  /** Round an intermediate inside an op: to p in `strict`, to the accumulator format W in `wide`. */
  readonly acc: (x: number) => number;
  /** acc(a·b). */
  readonly mul: (a: number, b: number) => number;
  /** acc(a + b). */
  readonly add: (a: number, b: number) => number;
  /** One step of a dot product, not fused: acc(s + acc(a·b)). */
  readonly addProduct: (s: number, a: number, b: number) => number;
  /** round(a·b): an elementwise product that is an op of its own (rounded to p in both modes). */
  readonly mulP: (a: number, b: number) => number;
  /** round(a + b): an elementwise sum that is an op of its own (rounded to p in both modes). */
  readonly addP: (a: number, b: number) => number;
  /** acc(a − b). */
  readonly sub: (a: number, b: number) => number;
  /** acc(a / b), divided in double then rounded (correctly rounded for p ≤ 32, see above). */
  readonly div: (a: number, b: number) => number;
  /** acc(√a), in double then rounded (correctly rounded for p ≤ 32, see above). */
  readonly sqrt: (a: number) => number;
  /** acc(eˣ), Math.exp then rounded (faithful). Overflow gives +∞, underflow goes through the subnormals of the target format. */
  readonly exp: (a: number) => number;
  /** acc(ln a), Math.log then rounded (faithful). */
  readonly log: (a: number) => number;
  /** Which rounding `acc` is, for hot loops that call `dotStep` / `roundBy` (below) instead of addProduct / acc. */
  readonly accKind: AccKind;
  /** Which rounding `round` is, for hot loops that call `roundBy` / `roundInPlace` (below) instead of round. */
  readonly roundKind: AccKind;
  /** Whether this Arith keeps the underflow flag (every rounding goes through `round`/`acc`, so no kernel may compute for it). */
  readonly checked: boolean;
  /**
   * IEEE-style underflow flag, kept only by a checked Arith (makeArith(..., { checkUnderflow: true })):
   * set when any rounding received a nonzero value below the target format's smallest normal
   * (tininess before rounding). Rounding-error bounds of the standard model assume no underflow.
   */
  readonly flags: { underflow: boolean };
}

/**
 * 0: none (binary64), 1: Math.fround, 2: binary16 (f16roundFast, bit-identical to f16round), 3: any
 * other rounding — another format's, or a checked Arith's, which must see every value it rounds —
 * 4: bfloat16 (bf16roundFast, bit-identical to the generic rounding).
 */
export type AccKind = 0 | 1 | 2 | 3 | 4;

const bfBits = new Float64Array(1);
const bfWords = new Uint32Array(bfBits.buffer);
/** 2^−126, bfloat16's smallest normal; 1.5·2^−81, whose ulp 2^−133 is its subnormal quantum; 2^128, past its largest finite value. */
const BF16_MIN_NORMAL = 2 ** -126;
const BF16_SUBNORMAL_MAGIC = 1.5 * 2 ** -81;
const BF16_OVERFLOW = 2 ** 128;

/**
 * The bfloat16 value nearest x (ties to even), as a double: the same value as round(BF16, x)
 * (precision/round.ts), much faster. Normal range: round-half-even on the 45 bits binary64 has
 * beyond bfloat16's 8 (a carry into the exponent is right; a result of 2^128 or more overflows to
 * ±∞); below 2^−126, one addition of 1.5·2^−81 rounds to the subnormal quantum 2^−133, a zero
 * result keeping the sign of x. NaN and ±∞ come back as they came.
 */
export function bf16roundFast(x: number): number {
  const a = Math.abs(x);
  if (!(a < Infinity)) return x;
  if (a < BF16_MIN_NORMAL) {
    const r = x + BF16_SUBNORMAL_MAGIC - BF16_SUBNORMAL_MAGIC;
    return r === 0 ? x * 0 : r;
  }
  bfBits[0] = x;
  let hi = bfWords[1];
  const dropped = hi & 0x1fff; // the low 13 bits of the high word, above the whole low word
  if (dropped > 0x1000 || (dropped === 0x1000 && (bfWords[0] !== 0 || (hi & 0x2000) !== 0))) hi += 0x2000;
  bfWords[1] = hi & ~0x1fff;
  bfWords[0] = 0;
  const r = bfBits[0];
  return Math.abs(r) >= BF16_OVERFLOW ? (x > 0 ? Infinity : -Infinity) : r;
}

/**
 * r(x) — the same value as calling the rounding r of kind `kind` — for hot loops: one module-level
 * function with the rounding chosen by a branch on `kind` (loop-invariant, so well predicted), which
 * V8 inlines into the loop whatever mix of formats a process has run, like `dotStep` below. Calling
 * ar.round / ar.acc / ar.add there instead makes a call per element through a closure.
 */
export function roundBy(kind: AccKind, r: (x: number) => number, x: number): number {
  if (kind === 0) return x;
  if (kind === 1) return Math.fround(x);
  if (kind === 2) return f16roundFast(x);
  if (kind === 4) return bf16roundFast(x);
  return r(x);
}

/** The kind of `rounder(format)` (3 for formats other than binary16/32/64 and bfloat16). */
export function roundKindOf(format: Format): AccKind {
  switch (format.name) {
    case '64':
      return 0;
    case '32':
      return 1;
    case '16':
      return 2;
    case 'bf16':
      return 4;
    default:
      return 3;
  }
}

/** a[i] = r(a[i]) for every i, r of kind `kind` (values identical to the per-element calls). */
export function roundArrayBy(kind: AccKind, r: (x: number) => number, a: Float64Array): void {
  const n = a.length;
  if (kind === 0) return;
  if (kind === 2) roundArrayF16(a, 0, n);
  else if (kind === 1) for (let i = 0; i < n; i++) a[i] = Math.fround(a[i]);
  else if (kind === 4) for (let i = 0; i < n; i++) a[i] = bf16roundFast(a[i]);
  else for (let i = 0; i < n; i++) a[i] = r(a[i]);
}

/** a[i] = ar.round(a[i]) for every i, in place. */
export function roundInPlace(ar: Arith, a: Float64Array): void {
  roundArrayBy(ar.roundKind, ar.round, a);
}

/**
 * a[i] = ar.round(a[i]) for an array whose entries are results of ar.acc (or +0, never touched):
 * the rounding an op applies to an accumulated gradient before it leaves the op. When acc is round
 * itself (strict mode, unchecked) the entries are already values of p and rounding them again gives
 * the same values (identity, Math.fround and f16roundFast are idempotent), so it is skipped.
 */
export function roundAccumulated(ar: Arith, a: Float64Array): void {
  if (ar.accKind === ar.roundKind && ar.roundKind !== 3) return;
  roundInPlace(ar, a);
}

/** dst[i] = ar.addP(dst[i], src[i]) = round_p(dst[i] + src[i]) for every i, in place. */
export function addInPlace(ar: Arith, dst: Float64Array, src: Float64Array): void {
  const kind = ar.roundKind;
  const r = ar.round;
  const n = dst.length;
  if (kind === 0) for (let i = 0; i < n; i++) dst[i] += src[i];
  else if (kind === 1) for (let i = 0; i < n; i++) dst[i] = Math.fround(dst[i] + src[i]);
  else if (kind === 2) for (let i = 0; i < n; i++) dst[i] = f16roundFast(dst[i] + src[i]);
  else if (kind === 4) for (let i = 0; i < n; i++) dst[i] = bf16roundFast(dst[i] + src[i]);
  else for (let i = 0; i < n; i++) dst[i] = r(dst[i] + src[i]);
}

/**
 * acc(s + acc(a·b)) — the same value as Arith.addProduct — for the innermost loops of conv2d and
 * linear. One module-level function with the rounding chosen by a branch on `kind`: V8 inlines it
 * into the loop whatever mix of formats a process has run. (Calling ar.addProduct there makes the
 * call site see a different function per format, which V8 stops inlining after the second one: a
 * LeNet step then runs 2–3× slower for the rest of the process.)
 */
export function dotStep(kind: AccKind, acc: (x: number) => number, s: number, a: number, b: number): number {
  if (kind === 0) return s + a * b;
  if (kind === 1) return Math.fround(s + Math.fround(a * b));
  if (kind === 2) return f16roundFast(s + f16roundFast(a * b));
  if (kind === 4) return bf16roundFast(s + bf16roundFast(a * b));
  return acc(s + acc(a * b));
}

const identity = (x: number): number => x;

/** The rounding function of a format, specialised once (identity for binary64). */
export function rounder(format: Format): (x: number) => number {
  switch (format.name) {
    case '64':
      return identity;
    case '32':
      return Math.fround;
    case '16':
      return f16roundFast; // bit-identical to f16round (src/precision/f16fast.ts), several times faster
    case 'bf16':
      return bf16roundFast; // bit-identical to round(BF16, ·) (properties/kernels-ops.test.ts), much faster
    default:
      return (x) => roundTo(format, x);
  }
}

/** Accumulator rounding of `wide` mode: binary32 for formats of ≤ 16 bits, binary64 above. */
export function wideRounder(format: Format): (x: number) => number {
  if (format.name === '64') return identity;
  return format.bits <= 16 ? Math.fround : identity;
}

/** Wrap a rounding so it raises flags.underflow on tiny nonzero inputs (below 2^emin of its format). */
function checked(r: (x: number) => number, minNormal: number, flags: { underflow: boolean }): (x: number) => number {
  return (x) => {
    if (x !== 0 && Math.abs(x) < minNormal) flags.underflow = true;
    return r(x);
  };
}

export function makeArith(format: Format, accumulate: Accumulate, { checkUnderflow = false }: { checkUnderflow?: boolean } = {}): Arith {
  const flags = { underflow: false };
  const wideMinNormal = format.name === '64' || format.bits > 16 ? 2 ** -1022 : 2 ** -126;
  const round = checkUnderflow ? checked(rounder(format), 2 ** format.emin, flags) : rounder(format);
  const acc = accumulate === 'strict' ? round : checkUnderflow ? checked(wideRounder(format), wideMinNormal, flags) : wideRounder(format);
  // A checked Arith must route every hot loop through `acc` and `round`, so it reports kind 3 for both.
  const kindOf = (r: (x: number) => number): AccKind =>
    checkUnderflow ? 3 : r === identity ? 0 : r === Math.fround ? 1 : r === f16roundFast ? 2 : r === bf16roundFast ? 4 : 3;
  const accKind = kindOf(acc);
  const roundKind = kindOf(round);
  return {
    format,
    accumulate,
    round,
    acc,
    mul: (a, b) => acc(a * b),
    add: (a, b) => acc(a + b),
    addProduct: (s, a, b) => acc(s + acc(a * b)),
    mulP: (a, b) => round(a * b),
    addP: (a, b) => round(a + b),
    sub: (a, b) => acc(a - b),
    div: (a, b) => acc(a / b),
    sqrt: (a) => acc(Math.sqrt(a)),
    exp: (a) => acc(Math.exp(a)),
    log: (a) => acc(Math.log(a)),
    accKind,
    roundKind,
    checked: checkUnderflow,
    flags,
  };
}
