// @ts-nocheck — AssemblyScript, compiled into kernels.wasm through kernels.as.ts; tsc skips it.
/**
 * Rounding to the engine's formats inside the kernels, each bit-identical to the JS rounding of the
 * same value (src/engine/arith.ts, src/precision):
 *
 * - binary32 lanes → binary16 (r16v, r16full, r16sum) and → bfloat16 (rbf16v, rbf16s): the value
 *   must be the binary32 rounding of a result whose binary16/bfloat16 rounding is wanted; for a
 *   sum or product of two values of that format the double rounding (to binary32, then to the
 *   format) equals the single one, since 24 ≥ 2p + 2 for p = 11 and p = 8;
 * - doubles → binary32, binary16, bfloat16 (r64): the JS engine computes divisions, square roots,
 *   exp and log in double and rounds the double; r64 rounds the same double the same way
 *   (f16r64 is f16roundFast's arithmetic, bf16r64 round-half-even on the bits, like roundGeneric).
 *
 * Round kinds (`rk`, also `R` of the GEMM drivers): 0 none (binary64), 1 binary32, 2 binary16, 3 bfloat16.
 */

// ---------------------------------------------------------------------------------------------
// binary16 rounding of binary32 lanes

/** 2^112 and 2^-112: |r| ≥ 2^16 overflows r·2^112 to ±Inf, everything below scales back exactly. */
const TWO112: f32 = reinterpret<f32>(0x77800000);
const TWOM112: f32 = reinterpret<f32>(0x07800000);

/**
 * Round binary32 lanes to binary16 (round to nearest even, subnormals, overflow to ±Inf when
 * `check`). With E = max(exponent(x), −14), M = 1.5·2^(E+13) has ulp 2^(E−10), the binary16 ulp at
 * x, so (x + M) − M rounds x to it (ties to even: M/ulp is even). Exponent field 255 (Inf, NaN)
 * wraps M to a tiny finite value, which leaves x as it is. A zero result has the sign +; that is
 * harmless inside a sum (see the header) and r16full fixes it for outputs.
 */
// @ts-ignore
@inline export function r16v(x: v128, check: bool): v128 {
  const e = i32x4.max_s(v128.and(x, i32x4.splat(0x7f800000)), i32x4.splat(0x38800000));
  const m = i32x4.add(e, i32x4.splat(0x06c00000));
  let r = f32x4.sub(f32x4.add(x, m), m);
  if (check) r = f32x4.mul(f32x4.mul(r, f32x4.splat(TWO112)), f32x4.splat(TWOM112));
  return r;
}

/** r16v with the overflow step and the sign of x on a zero result: binary16 rounding of outputs. */
// @ts-ignore
@inline export function r16full(x: v128): v128 {
  return v128.or(r16v(x, true), v128.and(x, i32x4.splat(0x80000000)));
}

/**
 * Binary16 rounding of a sum of two binary16 values, for the overflow-free kind 3: Veltkamp's
 * splitting, c = x·(2^13 + 1), c − (c − x), rounds a binary32 x to 11 significant bits, to nearest
 * even (checked against f16round on every binary32 significand), in three operations. A sum below 2^−14 is exact in
 * binary32 and already a binary16 subnormal, which the splitting leaves as it is; ±Inf would give
 * NaN, so kind 3 also requires finite operands.
 */
// @ts-ignore
@inline export function r16sum(x: v128): v128 {
  const c = f32x4.mul(x, f32x4.splat(8193));
  return f32x4.sub(c, f32x4.sub(c, x));
}

/**
 * Round binary32 lanes to bfloat16, to nearest even, on the bits: add 0x7fff plus the lowest kept
 * bit, then clear the 16 dropped bits. A carry into the exponent is the right result (up to ±Inf
 * past the largest finite value); subnormals round alike, the sign stays; NaN lanes are kept.
 */
// @ts-ignore
@inline export function rbf16v(x: v128): v128 {
  const lsb = v128.and(i32x4.shr_u(x, 16), i32x4.splat(1));
  const r = v128.and(i32x4.add(i32x4.add(x, i32x4.splat(0x7fff)), lsb), i32x4.splat(0xffff0000));
  return v128.bitselect(x, r, f32x4.ne(x, x));
}

/** rbf16v of one binary32 value. */
// @ts-ignore
@inline export function rbf16s(x: f32): f32 {
  if (x != x) return x;
  const b = reinterpret<u32>(x);
  return reinterpret<f32>((b + 0x7fff + ((b >>> 16) & 1)) & 0xffff0000);
}

/**
 * One binary32 value rounded to binary16, any value (r16v alone is for |x| < 2^114, where its M
 * does not overflow: the sums and products of the GEMMs stay far below).
 */
// @ts-ignore
@inline export function r16s(x: f32): f32 {
  if (!(abs<f32>(x) < 65520)) return x != x ? x : x > 0 ? Infinity : -Infinity;
  return f32x4.extract_lane(r16full(f32x4.splat(x)), 0);
}

/** A binary32 result rounded to the format of round kind rk (1, 2, 3; the value is returned as it is for 1). */
// @ts-ignore
@inline export function r32(rk: i32, x: f32): f32 {
  if (rk == 2) return r16s(x);
  if (rk == 3) return rbf16s(x);
  return x;
}

/** f16roundFast (src/precision/f16fast.ts) on a double: the same operations, so the same value. */
export function f16r64(x: f64): f64 {
  const a = abs<f64>(x);
  if (a < 65520) {
    if (a >= 6.103515625e-5) {
      const t = x * 4398046511105.0;
      return t - (t - x);
    }
    const r = x + 402653184.0 - 402653184.0;
    return r == 0 ? x * 0 : r;
  }
  if (a >= 65520) return x > 0 ? Infinity : -Infinity;
  return x;
}

/**
 * A double rounded to bfloat16 (8 significant bits, exponents −126…127, subnormals, overflow to
 * ±Inf), to nearest even: in the normal range on the bits (the 45 dropped bits), below 2^−126 by
 * (x + 1.5·2^−81) − 1.5·2^−81, whose ulp 2^−133 is bfloat16's subnormal quantum. A zero result
 * keeps the sign of x, as roundGeneric gives.
 */
export function bf16r64(x: f64): f64 {
  const a = abs<f64>(x);
  if (!(a < Infinity)) return x;
  if (a >= reinterpret<f64>(0x3810000000000000)) { // 2^-126
    const b = reinterpret<u64>(x);
    const r = reinterpret<f64>((b + 0x0fffffffffff + ((b >>> 45) & 1)) & 0xffffe00000000000);
    return abs<f64>(r) >= reinterpret<f64>(0x47f0000000000000) /* 2^128 */ ? (x > 0 ? Infinity : -Infinity) : r;
  }
  const M = reinterpret<f64>(0x3ae8000000000000); // 1.5·2^-81
  const r = x + M - M;
  return r == 0 ? x * 0 : r;
}

/** A double rounded to the format of round kind rk (0: as it is). */
export function r64(rk: i32, x: f64): f64 {
  if (rk == 1) return <f64><f32>x;
  if (rk == 2) return f16r64(x);
  if (rk == 3) return bf16r64(x);
  return x;
}
