import { f16round } from '@petamoriken/float16';
import type { Format } from './format.ts';

/**
 * floor(log2|x|) for a finite non-zero double, exact (Math.log2 alone can be off by one near
 * powers of two).
 */
export function exponentOf(x: number): number {
  const a = Math.abs(x);
  let e = Math.floor(Math.log2(a));
  if (e > 1023) e = 1023;
  if (e < -1074) e = -1074;
  while (2 ** e > a) e--;
  while (e < 1023 && 2 ** (e + 1) <= a) e++;
  return e;
}

/** Round half to even of a double whose fractional part is exact (any double is). */
function roundHalfEven(y: number): number {
  const f = Math.floor(y);
  const d = y - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Exponent of the quantum (ulp) of the binade holding |x| in format f (subnormal quantum below 2^emin). */
export function quantumExponent(f: Format, x: number): number {
  const e = x === 0 ? f.emin : Math.max(exponentOf(x), f.emin);
  return e - (f.significandBits - 1);
}

function overflowValue(f: Format, sign: number): number {
  if (f.overflow === 'inf') return sign * Infinity;
  if (f.overflow === 'saturate') return sign * f.maxFinite;
  return NaN;
}

/**
 * Correctly rounded (round-to-nearest, ties-to-even) conversion of a double to format f,
 * returned as the double holding the same value. NaN stays NaN, ±0 keeps its sign, ±Inf stays
 * ±Inf (NaN in formats without infinities), overflow follows f.overflow, underflow follows
 * f.subnormals.
 *
 * binary64 is the identity, binary32 is Math.fround, binary16 is @petamoriken/float16's f16round;
 * every other format (and the properties' cross-check) uses the generic algorithm `roundGeneric`.
 */
export function round(f: Format, x: number): number {
  switch (f.name) {
    case '64':
      return x;
    case '32':
      return Math.fround(x);
    case '16':
      return f16round(x);
    default:
      return roundGeneric(f, x);
  }
}

/** The format-parametric rounding algorithm (see `round`). */
export function roundGeneric(f: Format, x: number): number {
  if (Number.isNaN(x) || x === 0) return x;
  const sign = x < 0 ? -1 : 1;
  if (!Number.isFinite(x)) return f.overflow === 'inf' ? x : f.overflow === 'saturate' ? sign * f.maxFinite : NaN;
  const a = Math.abs(x);
  if (f.name === '64') return x;
  let q = quantumExponent(f, a);
  if (!f.subnormals && a < 2 ** f.emin) {
    // Without subnormals the representable values below 2^emin are 0 only: round to 0 or 2^emin.
    const r = a < 2 ** (f.emin - 1) ? 0 : a > 2 ** (f.emin - 1) ? 2 ** f.emin : 0; // tie → even (0)
    return sign * r;
  }
  // a / 2^q and m * 2^q are exact power-of-two scalings of doubles.
  const m = roundHalfEven(a / 2 ** q);
  const r = m * 2 ** q;
  q = 0;
  if (r > f.maxFinite) {
    // IEEE: overflow when the value rounded with unbounded exponent exceeds the largest finite
    // value; for E4M3 the rounding is still done at the top binade's quantum (464 ties to 448, anything
    // above 464 → NaN).
    return overflowValue(f, sign);
  }
  return sign * r === 0 ? sign * 0 : sign * r;
}

/** Is x exactly representable in f (NaN and ±Inf count as representable where the format has them)? */
export function isRepresentable(f: Format, x: number): boolean {
  if (Number.isNaN(x)) return true;
  if (!Number.isFinite(x)) return f.overflow === 'inf';
  return Object.is(roundGeneric(f, x), x);
}

/** The ulp of x in f: the gap between the two representable values around |x| (its binade's quantum). */
export function ulp(f: Format, x: number): number {
  if (!Number.isFinite(x)) return NaN;
  return 2 ** quantumExponent(f, Math.abs(x));
}

/** The smallest value of f greater than x (x must be representable in f). */
export function nextUp(f: Format, x: number): number {
  assertRepresentable(f, x);
  if (Number.isNaN(x) || x === Infinity) return x;
  if (x === -Infinity) return -f.maxFinite;
  if (x === 0) return f.subnormals ? 2 ** (f.emin - f.significandBits + 1) : 2 ** f.emin;
  if (x < 0) return -nextDown(f, -x);
  const r = x + ulp(f, x);
  return r > f.maxFinite ? (f.overflow === 'inf' ? Infinity : NaN) : r;
}

/** The largest value of f smaller than x (x must be representable in f). */
export function nextDown(f: Format, x: number): number {
  assertRepresentable(f, x);
  if (Number.isNaN(x) || x === -Infinity) return x;
  if (x === Infinity) return f.maxFinite;
  if (x === 0) return -nextUp(f, 0);
  if (x < 0) return -nextUp(f, -x);
  // Just below a power of two the quantum halves (unless we are at or below 2^emin).
  const e = exponentOf(x);
  const isPow2 = 2 ** e === x;
  if (!f.subnormals && x === 2 ** f.emin) return 0;
  const q = isPow2 && e > f.emin ? ulp(f, x) / 2 : ulp(f, x);
  return x - q;
}

function assertRepresentable(f: Format, x: number): void {
  if (!isRepresentable(f, x)) {
    throw new Error(`${x} is not a value of ${f.label}; round it first (round(format, x))`);
  }
}
