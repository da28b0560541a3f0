/**
 * Arithmetic in precision p: the only place the engine rounds. Every op computes through an
 * `Arith`; no op does unrounded double arithmetic on its own.
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
 * Summation order: every reduction is a plain left-to-right sum, s = 0, s = acc(s + t₁),
 * s = acc(s + t₂), …, in the order the op documents (always ascending flat NCHW index of the
 * reduced terms). No pairwise or compensated summation. Starting from +0 only matters for the
 * sign of a zero result, which nothing downstream distinguishes.
 */
import { f16round } from '@petamoriken/float16';
import { round as roundTo, type Format } from '../precision/index.ts';
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
      return f16round;
    default:
      return (x) => roundTo(format, x);
  }
}

/** Accumulator rounding of `wide` mode: binary32 for formats of ≤ 16 bits, binary64 above. */
export function wideRounder(format: Format): (x: number) => number {
  if (format.name === '64') return identity;
  return format.bits <= 16 ? Math.fround : identity;
}

export function makeArith(format: Format, accumulate: Accumulate): Arith {
  const round = rounder(format);
  const acc = accumulate === 'strict' ? round : wideRounder(format);
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
  };
}
