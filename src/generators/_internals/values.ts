/** Number builders shared by the generators. */
import fc, { type Arbitrary } from 'fast-check';
import { round, type Format } from '../../precision/index.ts';

/**
 * A fraction in [0, 1), uniform by value with 53 random bits. (fc.double is uniform over the
 * representable doubles, so most of its draws in [0, 1) are tiny, and its bias favours 0: exact powers
 * of two whose sums never round.) Shrinks towards 0.
 */
export function unit(): Arbitrary<number> {
  return fc
    .tuple(fc.noBias(fc.integer({ min: 0, max: 2 ** 26 - 1 })), fc.noBias(fc.integer({ min: 0, max: 2 ** 27 - 1 })))
    .map(([hi, lo]) => (hi * 2 ** 27 + lo) / 2 ** 53);
}

export const fraction = unit;

/** Uniform by value in [min, max); shrinks towards min. */
export function between(min: number, max: number): Arbitrary<number> {
  return unit().map((u) => min + (max - min) * u);
}

/** Uniform by value in (lo, hi]; shrinks towards hi. */
export function downFrom(hi: number, lo: number): Arbitrary<number> {
  return unit().map((u) => hi - (hi - lo) * u);
}

/** Uniform by value in (−bound, bound); shrinks towards 0. */
export function symmetric(bound: number): Arbitrary<number> {
  return fc.tuple(fc.boolean(), unit()).map(([negative, u]) => (negative ? -1 : 1) * bound * u);
}

/**
 * Background values in [−bound, bound]: mostly uniform, sometimes fast-check's own doubles, whose
 * bias brings 0, −0, ±bound and subnormals (edge cases the other entries of a window may hold).
 */
export function background(bound: number): Arbitrary<number> {
  return fc.oneof(
    { weight: 4, arbitrary: symmetric(bound) },
    { weight: 1, arbitrary: fc.double({ min: -bound, max: bound, noNaN: true }) },
  );
}

/** ±(1 + f)·2^e with e ∈ [emin, emax]: never zero, spread over binades. Shrinks towards +1 (or +2^emin). */
export function binadeValue(emin: number, emax: number): Arbitrary<number> {
  return fc
    .tuple(fc.boolean(), fc.integer({ min: emin, max: emax }), fraction())
    .map(([negative, e, f]) => (negative ? -1 : 1) * (1 + f) * 2 ** e);
}

/** ±(m/8)·2^e with m ∈ 8..15: four significant bits, so products of two of them are exact even in binary16. */
export function shortDyadic(emin: number, emax: number): Arbitrary<number> {
  return fc
    .tuple(fc.boolean(), fc.integer({ min: emin, max: emax }), fc.integer({ min: 8, max: 15 }))
    .map(([negative, e, m]) => (negative ? -1 : 1) * (m / 8) * 2 ** e);
}

/** ±m·2^(emin − p + 1), 1 ≤ m < 2^(p−1): a subnormal of format f. */
export function subnormalOf(f: Format): Arbitrary<number> {
  const q = f.emin - f.significandBits + 1;
  return fc
    .tuple(fc.boolean(), fc.bigInt({ min: 1n, max: 2n ** BigInt(f.significandBits - 1) - 1n }))
    .map(([negative, m]) => (negative ? -1 : 1) * Number(m) * 2 ** q);
}

/** A nonzero value of f: mostly normal in [2^-8, 2^9), sometimes subnormal. */
export function valueIn(f: Format): Arbitrary<number> {
  return fc.oneof({ weight: 4, arbitrary: binadeValue(-8, 8) }, { weight: 1, arbitrary: subnormalOf(f) }).map((v) => round(f, v));
}

/** b itself when b < m, otherwise a value at least 1 below m (|m| small, so the gap survives). */
export function below(m: number, b: number): number {
  return b < m ? b : m - 1 - Math.abs(b);
}

/**
 * m − (|m| + 1)·(1/4 + t), t ≥ 0: far enough below m (relative gap ≥ 1/4) that it stays strictly
 * below m after rounding to any mission format.
 */
export function farBelow(m: number, t: number): number {
  return m - (Math.abs(m) + 1) * (0.25 + Math.abs(t));
}
