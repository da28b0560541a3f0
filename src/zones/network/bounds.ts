/**
 * Rigorous running error bounds for the float64 forward (filter stage (a) of exact.ts).
 *
 * Every activation carries (â, e) with |â − a| ≤ e, a the exact real value and â the double we
 * computed. u = 2^−53, γ_n = n·u/(1 − n·u) (Higham, Accuracy and Stability, §3.1), η = 2^−1075
 * (the absolute error a product may add when it underflows; sums never do: a float sum that is
 * subnormal is exact).
 *
 * Dot product (conv, linear). The value is ŝ = fl(Σ_k fl(w_k·x̂_k) + b) with the K products
 * summed in *some* order (dot.ts takes it from the engine's binary64 SIMD kernel, which sums
 * from 0 in (c, i, j) order and adds the bias last; its JS fallback does the same): recursive
 * summation of n = K + 1 terms, in any order, gives every term through at most K additions, each
 * product rounded once (standard model fl(x∘y) = (x∘y)(1+δ), |δ| ≤ u), so
 *     |ŝ − (b + Σ w_k x̂_k)| ≤ γ_{K+1}·(|b| + Σ|w_k|·|x̂_k|) + K·η·(1 + γ_K),
 * whatever the order. The weights and the bias are exact (they are the parameters, taken at their
 * exact values), the inputs are off by at most e_k, so |Σ w_k x̂_k − Σ w_k x_k| ≤ Σ|w_k|·e_k, and
 *     e_out = Σ_k |w_k|·q_k + γ_{K+1}|b|,   q_k = e_k + γ_{K+1}|x̂_k|   (+ the underflow terms).
 * That bound is itself evaluated in floating point, as a second dot product of the same shape, run
 * on |w|, the q_k and the bias γ|b|: in binary32 on the kernels (below), in binary64 on dot.ts's
 * JS loops (here), with additions and products of non-negative numbers only, each of which returns
 * at least (exact)·(1 − u) minus η for a product that underflows, whatever the summation order.
 * q_k = fl(e_k + fl(γ·|x̂_k|)) is computed by `qTerm` (in both cases), which adds 2^−1074 ≥ η to
 * fl(γ·|x̂_k|) when that product may be subnormal (|x̂_k| < 2^−960): then
 * fl(fl(γ|x̂|) + 2^−1074) ≥ (γ|x̂| + η)(1 − u) ≥ γ|x̂|(1 − u), so q_k ≥ (e_k + γ|x̂_k|)(1 − u)² with no
 * absolute loss (a product |w_k|·q_k scaled by a large |w_k| would have magnified one). The
 * products |w_k|·q_k and γ|b| add one factor (1 − u) and lose at most (K + 1)·η, and the sum of
 * the K + 1 non-negative terms, in any order, passes each term through at most K additions: the
 * longest chain is K + 3 ≤ K + 4 operations, so the exact bound is at most
 * computed·(1 − u)^−(K+4) + (K + 1)η ≤ computed·(1 + 2(K+4)u) + (K + 1)η. We return
 * fl(fl(computed·c) + τ) with c = 1 + 2(K+14)·u (inflation(K + 4); the extra 20u cover the two
 * final roundings) and τ = 2^−1000, which dominates every underflow term (≤ (2K+4)η) and, when lost
 * in the final addition (computed ≥ 2^−947), is covered by the slack of c.
 *
 * The bound in binary32 (dot.ts on the kernels: twice the SIMD lanes of binary64). Every
 * operand of the bound's dot product is rounded *up* to a binary32 value by `up32` (q_k, |w_k|,
 * fl(γ|b|)), which the kernel then reads exactly; up32(x) ≥ x always (see `up32`). The kernel
 * computes S = fl32(Σ_k fl32(|w_k|↑·q_k↑) + (γ|b|)↑) in binary32 (u₃₂ = 2^−24, η₃₂ = 2^−150 the
 * absolute loss of a product that underflows, none for sums), K products and K additions, so with
 * A = Σ_k |w_k|↑·q_k↑ + (γ|b|)↑:  S ≥ A·(1 − u₃₂)^(K+1) − K·η₃₂ (each term through one product
 * and at most K additions). And A ≥ (1 − u)²·(Σ_k |w_k|·(e_k + γ|x̂_k|)) + (1 − u)·γ|b| − η (q_k
 * as above, fl(γ|b|) ≥ γ|b|(1 − u) − η), so the exact bound is at most
 * (S + K·η₃₂)·(1 − u)^−2·(1 − u₃₂)^−(K+1) + 2η ≤ S·(1 + 2(K+2)u₃₂) + 2^−126 for K < 2^22 (then
 * (K+1)u₃₂ ≤ 1/2; dot.ts uses the binary64 loops beyond; a binary32 overflow gives S = +∞,
 * rigorous). We return fl(fl(S·c₃₂) + τ₃₂) ≥ S·c₃₂(1 − u)² + τ₃₂(1 − u) with c₃₂ = 1 + 2(K+4)u₃₂
 * (`inflation32`: c₃₂(1 − u)² ≥ 1 + 2(K+3)u₃₂) and τ₃₂ = 2^−120, which dominates the absolute
 * terms and the value's own underflow term K·η(1 + γ_K). Looser than the binary64 evaluation by a
 * relative 2(K+4)u₃₂ (≈ 10^−5 at K = 150) and an absolute 2^−120: immaterial to decisions except
 * on values below ~10^−36, which then go to the exact stage.
 *
 * A bound that comes out NaN (0·∞ when an activation overflowed) is replaced by +∞: still
 * rigorous, and every decision on it goes to the exact stage.
 * When every input of the dot product is exactly zero (x̂_k = 0, e_k = 0), the result is the bias,
 * exactly (0 + Σ fl(w_k·0) = ±0, then + b): e_out = 0.
 *
 * Average of k values: s = fl(Σ x̂) (k − 1 additions), â = fl(s/k): e_out = (Σ e_k + γ_k Σ|x̂_k|)/k,
 * same treatment of the evaluation error.
 * Residual add: â = fl(b̂ + ŝ); TwoSum gives the rounding error r exactly, so
 * e_out = e_b + e_s + |r| (exactly 0 when both are exact and the sum is exact).
 * ReLU: 1-Lipschitz, so e_out = e_in; once its sign is decided, a non-positive unit outputs an
 * exact 0 (e_out = 0). MaxPool: if t is an exact maximiser, â_t is within e_t of the max: the
 * output takes (â_t, e_t) for the t of the (exact) tie set with the smallest bound.
 *
 * Decisions: a ReLU sign is certain when |â| > e (or e = 0: â is exact); a_i > a_j is certain when
 * certainlyGreater(â_i, e_i, â_j, e_j). NaN/∞ anywhere makes every test false: undecided, and the
 * exact stage takes over.
 */

export const U = 2 ** -53;
/** τ: absolute floor added to every inexact bound (covers underflow). */
export const TINY = 2 ** -1000;

/** γ_n rounded up. */
export function gamma(n: number): number {
  const nu = n * U;
  if (nu >= 0.5) return Infinity;
  return (nu / (1 - nu)) * (1 + 2 ** -40);
}

/** The factor c = 1 + 2(n + 10)u that turns a computed chain of n non-negative operations into an upper bound. */
export function inflation(n: number): number {
  return 1 + 2 * (n + 10) * U;
}

/** Upper bound from a computed non-negative bound `b` of a chain of depth n (see the header); NaN gives +∞. */
export function finish(b: number, c: number): number {
  const e = b * c + TINY;
  return !Number.isNaN(e) ? e : Infinity;
}

/** u of binary32: the bound's dot product on the kernels runs in binary32 (see the header). */
export const U32 = 2 ** -24;
/** τ₃₂: absolute floor of a bound summed in binary32 (see the header). */
export const TINY32 = 2 ** -120;

/** c₃₂ = 1 + 2(K+4)u₃₂, the inflation of a binary32 bound sum of K products and a bias (see the header). */
export function inflation32(K: number): number {
  return 1 + 2 * (K + 4) * U32;
}

/** up32 scales by 1 + 2^−23 (more than one binary32 rounding) and adds 2^−149 (the smallest binary32). */
export const UP32_SCALE = 1 + 2 ** -23;
export const UP32_FLOOR = 2 ** -149;

/**
 * The binary32 value ≥ x nearest to it (or one ulp above it), for x ≥ 0; NaN stays NaN, and x
 * beyond the binary32 range gives +∞. x itself when it is a binary32 value. Otherwise
 * z = fl(fl(x·(1 + 2^−23)) + 2^−149) and fround(z): when z is in the binary32 normal range,
 * fround(z) ≥ z(1 − 2^−24) ≥ x(1 + 2^−23)(1 − u)²(1 − 2^−24) > x; below it, fround loses at most
 * 2^−150 absolutely and z ≥ (x − η + 2^−149)(1 − u), so fround(z) ≥ x + 2^−150 − 2^−1074 > x.
 */
export function up32(x: number): number {
  const r = Math.fround(x);
  return r >= x ? r : Math.fround(x * UP32_SCALE + UP32_FLOOR);
}

/** Below this |x̂|, fl(γ·|x̂|) may be subnormal (γ ≥ 2u), and lose up to η to underflow. */
export const SUBNORMAL_RISK = 2 ** -960;

/**
 * q = e + γ|x̂| of a dot-product input, rounded so that q ≥ (e + γ|x̂|)(1 − u)² with no absolute
 * loss to underflow (see the header). NaN when x̂ or e is.
 */
export function qTerm(e: number, x: number, G: number): number {
  const a = Math.abs(x);
  let g = G * a;
  if (a < SUBNORMAL_RISK && a !== 0) g += Number.MIN_VALUE;
  return e + g;
}

export const SLACK = 1 + 2 ** -40;

/**
 * Rigorous test that a_i > a_j given |â_i − a_i| ≤ e_i, |â_j − a_j| ≤ e_j. With both exact it is
 * the float comparison. Otherwise it asks fl(â_i − â_j) > fl(fl(e_i + e_j)·(1 + 2^−40)) + τ:
 * then the true difference ≥ fl(â_i − â_j)·(1 − u) > (e_i + e_j)(1 − u)^3(1 + 2^−40) ≥ e_i + e_j.
 */
export function certainlyGreater(ai: number, ei: number, aj: number, ej: number): boolean {
  if (ei === 0 && ej === 0) return ai > aj;
  return ai - aj > (ei + ej) * SLACK + TINY;
}

/** TwoSum (Knuth): the exact rounding error of fl(a + b), i.e. (a + b) − fl(a + b) (finite inputs, no overflow). */
export function twoSumError(a: number, b: number, s: number): number {
  const bb = s - a;
  return a - (s - bb) + (b - bb);
}
