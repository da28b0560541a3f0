/**
 * Rigorous running error bounds for the float64 forward (filter stage (a) of exact.ts).
 *
 * Every activation carries (â, e) with |â − a| ≤ e, a the exact real value and â the double we
 * computed. u = 2^−53, γ_n = n·u/(1 − n·u) (Higham, Accuracy and Stability, §3.1), η = 2^−1075
 * (the absolute error a product may add when it underflows; sums never do: a float sum that is
 * subnormal is exact).
 *
 * Dot product (conv, linear), summed in this order: s = b; s = fl(s + fl(w_k·x̂_k)) for k = 1..K.
 * Each product is rounded once and passes through at most K additions, the bias through K, so
 * (standard model fl(x∘y) = (x∘y)(1+δ), |δ| ≤ u):
 *     |ŝ − (b + Σ w_k x̂_k)| ≤ γ_{K+1}·(|b| + Σ|w_k|·|x̂_k|) + K·η·(1 + γ_K).
 * The weights and the bias are exact (they are the parameters, taken at their exact values), the
 * inputs are off by at most e_k, so |Σ w_k x̂_k − Σ w_k x_k| ≤ Σ|w_k|·e_k, and altogether
 *     e_out = Σ_k |w_k|·(e_k + γ_{K+1}|x̂_k|) + γ_{K+1}|b|  (+ the underflow term).
 * That bound is itself evaluated in floating point, but only with additions and products of
 * non-negative numbers, each of which returns at least (exact)·(1 − u) (minus η on underflow);
 * the longest chain is K + 4 operations, so the exact bound is at most computed·(1 − u)^−(K+4)
 * ≤ computed·(1 + 2(K+4)u). We return fl(fl(computed·c) + τ) with c = 1 + 2(K+10)·u (the extra 6u
 * cover the two final roundings) and τ = 2^−1000, which dominates every underflow term (≤ (2K+4)η)
 * and, when lost in the final addition (computed ≥ 2^−947), is covered by the slack of c.
 * When every input of the dot product is exactly zero (x̂_k = 0, e_k = 0), the result is the bias,
 * exactly: e_out = 0.
 * Cost: Σ_k |w_k|·q_k (q_k = e_k + γ_{K+1}|x̂_k|) is a second dot product per output. The forward
 * pass bounds it by Hölder instead, min(‖w‖∞·Σ_k q_k, ‖w‖₁·max_k q_k) (Σq and max q once per patch,
 * ‖w‖∞ exact and ‖w‖₁ summed and inflated once per filter), O(1) per output and still rigorous;
 * a ReLU unit that this bound leaves undecided first gets the sum itself (exact.ts `refine`).
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

/** Upper bound from a computed non-negative bound `b` of a chain of depth n (see the header). */
export function finish(b: number, c: number): number {
  return b * c + TINY;
}

const SLACK = 1 + 2 ** -40;

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
