/** Test support shared by the precision suites. */

/**
 * The double with binary16 bit pattern `bits`, decoded here from the IEEE layout (1 sign, 5
 * exponent, 10 fraction bits), not by any library under comparison.
 */
export function f16FromBits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const e = (bits >> 10) & 0x1f;
  const m = bits & 0x3ff;
  if (e === 0x1f) return m ? NaN : sign * Infinity;
  if (e === 0) return sign * m * 2 ** -24;
  return sign * (1024 + m) * 2 ** (e - 25);
}
