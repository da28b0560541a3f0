/**
 * Fast binary16 rounding of doubles, bit-identical to @petamoriken/float16's f16round on every
 * double (properties/f16fast.test.ts checks it exhaustively on the binary16 grid, its midpoints and
 * their float32 neighbours, and by fast-check on arbitrary doubles).
 *
 * The double is rounded directly, never through binary32: x → f32 → f16 is a double rounding that
 * differs from x → f16 on inputs within half a float32 ulp of a binary16 midpoint (the f32 step
 * lands exactly on the midpoint, which then ties to even). Three ranges, by |x|:
 *
 * - 2^−14 ≤ |x| < 65520 (binary16 normal range): Veltkamp splitting, t = x·(2^42 + 1),
 *   r = t − (t − x), which rounds x to 53 − 42 = 11 significant bits, to nearest, ties to even —
 *   the same three operations f16round applies to |x| (all three are odd functions of x in
 *   round-to-nearest-even, so applying them to x directly gives −f16round(|x|) for x < 0);
 * - |x| < 2^−14 (subnormals): r = (x + 1.5·2^28) − 1.5·2^28 rounds x to a multiple of 2^−24 (the
 *   ulp of doubles in [2^28, 2^29)), ties to even; a zero result takes the sign of x, as in f16round;
 * - |x| ≥ 65520 (finite or not): ±∞, the sign of x (65520 is the midpoint between 65504 and 2^16,
 *   which ties to 2^16 and overflows); NaN (which fails every comparison) is returned as it came.
 *
 * Plain module-level functions with no closures or typed-array views, so V8 inlines them into hot
 * loops.
 */

/** 2^−14, the smallest normal binary16 value. */
const F16_MIN_NORMAL = 6.103515625e-5;
/** Halfway between the largest finite binary16 (65504) and 2^16: the overflow threshold. */
const F16_OVERFLOW = 65520;
/** Veltkamp's splitter 2^42 + 1: keeps 53 − 42 = 11 significant bits. */
const SPLITTER = 4398046511105;
/** 1.5·2^28: doubles around it are spaced 2^−24, binary16's subnormal quantum. */
const SUBNORMAL_MAGIC = 402653184;

/** The binary16 value nearest x (ties to even), as a double; identical to f16round(x). */
export function f16roundFast(x: number): number {
  const a = Math.abs(x);
  if (a < F16_OVERFLOW) {
    if (a >= F16_MIN_NORMAL) {
      const t = x * SPLITTER;
      return t - (t - x);
    }
    const r = x + SUBNORMAL_MAGIC - SUBNORMAL_MAGIC;
    return r === 0 ? x * 0 : r; // x·0 is ±0 with the sign of x
  }
  if (a >= F16_OVERFLOW) return x > 0 ? Infinity : -Infinity;
  return x; // NaN, returned as it came, as f16round does
}

/** Round a[start..end) to binary16 in place (each entry becomes f16round of itself). */
export function roundArrayF16(a: Float64Array, start = 0, end = a.length): void {
  for (let i = start; i < end; i++) a[i] = f16roundFast(a[i]);
}
