/**
 * Exact dyadic arithmetic on BigInt: a value m·2^e. Enough for the generators to decide, while
 * building a case, on which side of a real tie it lies (sums and products of doubles are dyadic).
 */
import { toDyadic } from '../../precision/index.ts';

export interface Exact {
  readonly m: bigint;
  readonly e: number;
}

export const ZERO: Exact = { m: 0n, e: 0 };

/** The exact value of a finite double (−0 and +0 both give ZERO). */
export function exactOf(x: number): Exact {
  const d = toDyadic(x);
  if (d.mantissa === 0n) return ZERO;
  return { m: d.sign < 0 ? -d.mantissa : d.mantissa, e: d.exponent };
}

export function add(a: Exact, b: Exact): Exact {
  if (a.m === 0n) return b;
  if (b.m === 0n) return a;
  const e = Math.min(a.e, b.e);
  return { m: (a.m << BigInt(a.e - e)) + (b.m << BigInt(b.e - e)), e };
}

export function neg(a: Exact): Exact {
  return { m: -a.m, e: a.e };
}

export function sub(a: Exact, b: Exact): Exact {
  return add(a, neg(b));
}

export function mul(a: Exact, b: Exact): Exact {
  if (a.m === 0n || b.m === 0n) return ZERO;
  return { m: a.m * b.m, e: a.e + b.e };
}

export function sign(a: Exact): -1 | 0 | 1 {
  return a.m > 0n ? 1 : a.m < 0n ? -1 : 0;
}

export function cmp(a: Exact, b: Exact): -1 | 0 | 1 {
  return sign(sub(a, b));
}

/** Σ xs[i]·ws[i], exactly. */
export function dot(xs: readonly number[], ws: readonly number[]): Exact {
  let acc = ZERO;
  for (let i = 0; i < xs.length; i++) acc = add(acc, mul(exactOf(xs[i]), exactOf(ws[i])));
  return acc;
}

/** log2|a|, to double accuracy (−Infinity for zero); for meta, never for decisions. */
export function log2Abs(a: Exact): number {
  if (a.m === 0n) return -Infinity;
  const abs = a.m < 0n ? -a.m : a.m;
  const len = abs.toString(2).length;
  const shift = Math.max(0, len - 53);
  return Math.log2(Number(abs >> BigInt(shift))) + shift + a.e;
}
