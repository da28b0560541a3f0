/**
 * Exact dyadic arithmetic on BigInt: a value m·2^e with m a BigInt and e an integer. Every finite
 * double is one (docs/DESIGN.md §3), and sums and products of dyadics are dyadics, so conv / linear /
 * max / ReLU / residual adds are computed exactly here. Average pooling divides by k; its odd part
 * is carried as a per-tensor denominator (see graph.ts), so numerators stay dyadic.
 *
 * Values are not normalised (m may be even); only the value m·2^e matters.
 */

export interface Dy {
  readonly m: bigint;
  readonly e: number;
}

export const DY_ZERO: Dy = { m: 0n, e: 0 };

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Number of trailing zero bits of a non-zero 32-bit integer. */
function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** The exact value of a finite double as a dyadic (odd mantissa). Throws for NaN / ±Inf. */
export function dyOf(x: number): Dy {
  if (x === 0) return DY_ZERO;
  if (!Number.isFinite(x)) throw new Error(`dyOf: ${x} is not finite and has no exact value`);
  F64[0] = x;
  const hi = U32[LITTLE ? 1 : 0];
  const lo = U32[LITTLE ? 0 : 1];
  const biased = (hi >>> 20) & 0x7ff;
  let mhi = hi & 0xfffff;
  const mlo = lo;
  let e: number;
  if (biased === 0) e = -1074;
  else {
    mhi |= 0x100000;
    e = biased - 1075;
  }
  // Strip trailing zeros with 32-bit ops (the mantissa is < 2^53, split hi·2^32 + lo).
  let mant: number;
  if (mlo !== 0) {
    const t = ctz32(mlo);
    mant = mhi * 2 ** (32 - t) + (mlo >>> t);
    e += t;
  } else {
    const t = ctz32(mhi);
    mant = mhi >>> t;
    e += 32 + t;
  }
  const m = BigInt(mant);
  return { m: x < 0 ? -m : m, e };
}

export function dyNeg(a: Dy): Dy {
  return a.m === 0n ? DY_ZERO : { m: -a.m, e: a.e };
}

export function dyMul(a: Dy, b: Dy): Dy {
  if (a.m === 0n || b.m === 0n) return DY_ZERO;
  return { m: a.m * b.m, e: a.e + b.e };
}

/** a · k for a BigInt k. */
export function dyScale(a: Dy, k: bigint): Dy {
  if (k === 1n) return a;
  if (a.m === 0n || k === 0n) return DY_ZERO;
  return { m: a.m * k, e: a.e };
}

/** a · 2^t. */
export function dyShift(a: Dy, t: number): Dy {
  return a.m === 0n ? DY_ZERO : { m: a.m, e: a.e + t };
}

export function dyAdd(a: Dy, b: Dy): Dy {
  if (a.m === 0n) return b;
  if (b.m === 0n) return a;
  if (a.e === b.e) return { m: a.m + b.m, e: a.e };
  if (a.e < b.e) return { m: a.m + (b.m << BigInt(b.e - a.e)), e: a.e };
  return { m: b.m + (a.m << BigInt(a.e - b.e)), e: b.e };
}

export function dySub(a: Dy, b: Dy): Dy {
  return dyAdd(a, dyNeg(b));
}

/** Exact sum of many dyadics (aligned once to the smallest exponent). */
export function dySum(terms: readonly Dy[]): Dy {
  let minE = Infinity;
  for (const t of terms) if (t.m !== 0n && t.e < minE) minE = t.e;
  if (minE === Infinity) return DY_ZERO;
  let m = 0n;
  for (const t of terms) if (t.m !== 0n) m += t.e === minE ? t.m : t.m << BigInt(t.e - minE);
  return m === 0n ? DY_ZERO : { m, e: minE };
}

export function dySign(a: Dy): -1 | 0 | 1 {
  return a.m > 0n ? 1 : a.m < 0n ? -1 : 0;
}

export function dyCmp(a: Dy, b: Dy): -1 | 0 | 1 {
  return dySign(dySub(a, b));
}

export function dyAbs(a: Dy): Dy {
  return a.m < 0n ? { m: -a.m, e: a.e } : a;
}

/** Exact decimal text of a dyadic (no exponent notation): 0.5·2^-3 → '0.0625'. */
export function dyDecimal(a: Dy): string {
  if (a.m === 0n) return '0';
  const neg = a.m < 0n;
  const m = neg ? -a.m : a.m;
  const s = neg ? '-' : '';
  if (a.e >= 0) return s + (m << BigInt(a.e)).toString();
  const frac = -a.e;
  const digits = (m * 5n ** BigInt(frac)).toString().padStart(frac + 1, '0');
  const intPart = digits.slice(0, digits.length - frac);
  const fracPart = digits.slice(digits.length - frac).replace(/0+$/, '');
  return s + intPart + (fracPart ? `.${fracPart}` : '');
}

/**
 * Exact text of the rational n/den (den a positive odd integer): the plain decimal when den = 1,
 * otherwise 'N/D' with N an exact decimal, as the oracle's ExactNumber prints (oracle/types.ts).
 */
export function ratText(n: Dy, den: bigint): string {
  return den === 1n ? dyDecimal(n) : `${dyDecimal(n)}/${den}`;
}

/** Odd part and power of two of a positive integer: k = odd·2^twos. */
export function splitOdd(k: number): { odd: bigint; twos: number } {
  let twos = 0;
  let o = k;
  while (o % 2 === 0) {
    o /= 2;
    twos++;
  }
  return { odd: BigInt(o), twos };
}

export function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

export function lcm(a: bigint, b: bigint): bigint {
  return (a / gcd(a, b)) * b;
}
