/**
 * Exact rationals as plain BigInt pairs: the common *output* language of the two oracles.
 *
 * This file does no oracle arithmetic (forward and backward passes live in decimal.ts and big.ts,
 * written independently). It only turns an exact value num/den — num given as an exact decimal
 * string, den a positive integer — into
 *   - its canonical text (identical for equal values, whichever oracle produced them), and
 *   - its nearest double (round to nearest, ties to even),
 * and parses canonical text back. Everything here is BigInt: nothing rounds except `nearestDouble`,
 * whose rounding is the documented one.
 */

export interface Rational {
  /** Numerator, any sign. */
  readonly num: bigint;
  /** Denominator, > 0. */
  readonly den: bigint;
}

export function gcd(a: bigint, b: bigint): bigint {
  a = a < 0n ? -a : a;
  b = b < 0n ? -b : b;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/** Parse an exact decimal ('-12.5', '3', '0.000125', '1.5e-7') into A/10^s, exactly. */
export function parseDecimal(text: string): Rational {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text.trim());
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) throw new Error(`not an exact decimal: '${text}'`);
  const frac = m[3] ?? '';
  let digits = BigInt((m[2] || '0') + frac);
  const scale = frac.length - (m[4] ? Number(m[4]) : 0);
  if (m[1] === '-') digits = -digits;
  if (scale <= 0) return { num: digits * 10n ** BigInt(-scale), den: 1n };
  return reduce({ num: digits, den: 10n ** BigInt(scale) });
}

/** Exponent of the largest power of two dividing a ≠ 0. */
function twos(a: bigint): number {
  if (a < 0n) a = -a;
  return (a & -a).toString(2).length - 1;
}

const FIVE16 = 5n ** 16n;

/** Exponent of the largest power of five dividing a ≠ 0, capped at `cap`. */
function fives(a: bigint, cap: number): number {
  if (a < 0n) a = -a;
  let k = 0;
  while (k + 16 <= cap && a % FIVE16 === 0n) {
    a /= FIVE16;
    k += 16;
  }
  while (k < cap && a % 5n === 0n) {
    a /= 5n;
    k++;
  }
  return k;
}

/**
 * Lowest terms, den > 0; zero is 0/1. The denominators met here are mostly 2^i·5^j (decimal
 * fractions of dyadics) times a small factor, so the gcd is split accordingly:
 * gcd(num, 2^i·5^j·d') = 2^min(i, v2(num))·5^min(j, v5(num))·gcd(num, d') with d' coprime to 10.
 */
export function reduce(r: Rational): Rational {
  if (r.den === 0n) throw new Error('rational with zero denominator');
  let { num, den } = r;
  if (den < 0n) {
    num = -num;
    den = -den;
  }
  if (num === 0n) return { num: 0n, den: 1n };
  const i = twos(den);
  const j = fives(den, Infinity);
  const rest = (den >> BigInt(i)) / 5n ** BigInt(j);
  const c2 = Math.min(i, twos(num));
  const c5 = fives(num, j);
  num = (num >> BigInt(c2)) / 5n ** BigInt(c5);
  den = (den >> BigInt(c2)) / 5n ** BigInt(c5);
  const g = rest === 1n ? 1n : gcd(num, rest);
  return g === 1n ? { num, den } : { num: num / g, den: den / g };
}

/** The exact rational value of `numDecimal / den` (den a positive integer). */
export function rationalOf(numDecimal: string, den: bigint): Rational {
  if (den <= 0n) throw new Error(`denominator must be a positive integer, got ${den}`);
  const n = parseDecimal(numDecimal);
  return reduce({ num: n.num, den: n.den * den });
}

/**
 * Canonical text of a rational: write its lowest-terms denominator as 2^i·5^j·q with q coprime
 * to 10. If q = 1 the value is a finite decimal and the text is that decimal, exactly, with no
 * exponent and no trailing zeros ('-0.75', '3', '0'). Otherwise the text is 'N/q' with
 * N = value·q an exact decimal ('1/3', '-0.5/3' for −1/6). Equal values give equal text; distinct
 * values give distinct text (q and N are determined by the value).
 */
export function canonicalText(r: Rational): string {
  const { num, den } = reduce(r);
  if (num === 0n) return '0';
  const i = twos(den);
  const j = fives(den, Infinity);
  const q = (den >> BigInt(i)) / 5n ** BigInt(j);
  // N = num / (2^i 5^j) = num · 2^(m−i) · 5^(m−j) / 10^m with m = max(i, j).
  const m = Math.max(i, j);
  const scaled = num * 2n ** BigInt(m - i) * 5n ** BigInt(m - j);
  const n = decimalText(scaled, m);
  return q === 1n ? n : `${n}/${q}`;
}

/** a / 10^m as an exact decimal string without trailing zeros. */
function decimalText(a: bigint, m: number): string {
  const neg = a < 0n;
  const digits = (neg ? -a : a).toString();
  if (m === 0) return (neg ? '-' : '') + digits;
  const padded = digits.padStart(m + 1, '0');
  const intPart = padded.slice(0, padded.length - m);
  let end = padded.length;
  while (end > padded.length - m && padded.charCodeAt(end - 1) === 48) end--; // strip trailing '0's (a regex backtracks quadratically)
  const fracPart = padded.slice(padded.length - m, end);
  return (neg ? '-' : '') + intPart + (fracPart ? `.${fracPart}` : '');
}

/** Parse canonical text ('N' or 'N/q') back into a rational. */
export function parseCanonical(text: string): Rational {
  const slash = text.indexOf('/');
  if (slash < 0) return parseDecimal(text);
  const n = parseDecimal(text.slice(0, slash));
  const q = BigInt(text.slice(slash + 1));
  return reduce({ num: n.num, den: n.den * q });
}

function bitLength(a: bigint): number {
  return a === 0n ? 0 : a.toString(2).length;
}

/**
 * The double nearest to num/den (ties to even), ±Infinity beyond the overflow threshold, and
 * subnormals / zero below 2^−1022 exactly as IEEE binary64 rounds. Exact zero gives +0; a negative
 * value that underflows gives −0, as IEEE rounding does.
 */
export function nearestDouble(r: Rational): number {
  if (r.den === 0n) throw new Error('rational with zero denominator');
  const num = r.den < 0n ? -r.num : r.num;
  const den = r.den < 0n ? -r.den : r.den;
  if (num === 0n) return 0;
  const neg = num < 0n;
  const a = neg ? -num : num;
  // e = floor(log2(a/den)).
  let e = bitLength(a) - bitLength(den);
  if (e >= 0 ? a < den << BigInt(e) : a << BigInt(-e) < den) e--;
  if (e > 1024) return neg ? -Infinity : Infinity;
  // Quantum of the result: 2^(e−52), but never below the subnormal quantum 2^−1074.
  const qe = Math.max(e - 52, -1074);
  // t = a / den / 2^qe = a·2^(−qe) / den, split into integer part and remainder.
  const numer = qe >= 0 ? a : a << BigInt(-qe);
  const denom = qe >= 0 ? den << BigInt(qe) : den;
  let t = numer / denom;
  const rem = numer - t * denom;
  const twice = 2n * rem;
  if (twice > denom || (twice === denom && (t & 1n) === 1n)) t += 1n;
  // t ≤ 2^53 and qe ≥ −1074, so t·2^qe is the exact product of two doubles unless it overflows
  // (then ±Infinity is the correct RNE result: t·2^qe ≥ 2^1024 after rounding).
  const v = qe > 1023 ? Number(t) * 2 ** 1023 * 2 ** (qe - 1023) : Number(t) * 2 ** qe;
  return neg ? -v : v;
}
