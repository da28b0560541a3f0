/**
 * Every finite float is a dyadic rational m·2^e. These helpers expose that exact value without
 * any rounding: as (mantissa, exponent) integers and as an exact decimal string.
 */

export interface Dyadic {
  /** −1 or 1 (the sign of −0 is −1). */
  readonly sign: -1 | 1;
  /** Odd integer significand (0n for zero). */
  readonly mantissa: bigint;
  /** Exponent: |x| = mantissa·2^exponent. */
  readonly exponent: number;
}

/** Decompose a finite double into sign, odd mantissa and exponent (exact). */
export function toDyadic(x: number): Dyadic {
  if (!Number.isFinite(x)) throw new Error(`toDyadic: ${x} is not finite and has no exact dyadic value`);
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const sign: -1 | 1 = hi >>> 31 ? -1 : 1;
  const biased = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let exp: number;
  if (biased === 0) {
    exp = -1074;
  } else {
    mant |= 1n << 52n;
    exp = biased - 1075;
  }
  if (mant === 0n) return { sign, mantissa: 0n, exponent: 0 };
  while ((mant & 1n) === 0n) {
    mant >>= 1n;
    exp += 1;
  }
  return { sign, mantissa: mant, exponent: exp };
}

/**
 * The exact decimal expansion of a finite double (no exponent notation, no rounding), e.g.
 * exactDecimal(0.1) = '0.1000000000000000055511151231257827021181583404541015625'.
 * −0 gives '-0'.
 */
export function exactDecimal(x: number): string {
  const { sign, mantissa, exponent } = toDyadic(x);
  const s = sign < 0 ? '-' : '';
  if (mantissa === 0n) return `${s}0`;
  if (exponent >= 0) return s + (mantissa << BigInt(exponent)).toString();
  const digits = (mantissa * 5n ** BigInt(-exponent)).toString();
  const frac = -exponent;
  const padded = digits.padStart(frac + 1, '0');
  const intPart = padded.slice(0, padded.length - frac);
  const fracPart = padded.slice(padded.length - frac).replace(/0+$/, '');
  return s + intPart + (fracPart ? `.${fracPart}` : '');
}
