/**
 * The family of admissible MaxPool Jacobians at a tie (docs/DESIGN.md §2), and ReLU'(0) = α.
 *
 * For one window with tie set I (ascending = row-major order, k = |I|), a member gives a weight to
 * each tied index; every member's weights sum to exactly 1 and, without a tie (k = 1), every
 * member gives weight 1 to the argmax.
 *
 * Weights are exact rationals num/den with integer num and positive integer den, so the oracle can
 * apply them without rounding; a backend in precision p uses round_p(num/den).
 */

export type MaxPoolJacobian =
  | { readonly kind: 'first' }
  | { readonly kind: 'last' }
  | { readonly kind: 'minnorm' }
  | { readonly kind: 'beta'; readonly beta: number };

/**
 * How β reaches the computation: 'backward' (the default) applies the β-Jacobian in the backward
 * pass only and leaves the forward value exactly the max; 'mixed-forward' reproduces the paper's
 * code, which computes β·m_minnorm + (1−β)·m_first in the forward pass (two rounded products and a
 * rounded sum in precision p) and lets each branch's backward carry its weight.
 */
export type BetaMode = 'backward' | 'mixed-forward';

export interface JacobianChoice {
  readonly maxpool: MaxPoolJacobian;
  /** ReLU'(0); a double in [0, 1], taken at its exact value. Default 0. */
  readonly reluAlpha: number;
  readonly betaMode: BetaMode;
}

export interface Rational {
  readonly num: number;
  readonly den: number;
}

export const FIRST: MaxPoolJacobian = { kind: 'first' };
export const LAST: MaxPoolJacobian = { kind: 'last' };
export const MINNORM: MaxPoolJacobian = { kind: 'minnorm' };
export function beta(b: number): MaxPoolJacobian {
  if (!Number.isInteger(b) || b < 0 || b > 1e6) {
    throw new Error(`beta must be an integer in [0, 1e6], got ${b} (the paper uses 0, 1, 10, 100, 1000, 10000)`);
  }
  return { kind: 'beta', beta: b };
}

export function choice(maxpool: MaxPoolJacobian, reluAlpha = 0, betaMode: BetaMode = 'backward'): JacobianChoice {
  if (!(reluAlpha >= 0 && reluAlpha <= 1)) throw new Error(`ReLU'(0) = α must be in [0, 1], got ${reluAlpha}`);
  return { maxpool, reluAlpha, betaMode };
}

/** Short stable name: 'first', 'last', 'minnorm', 'beta:10'. */
export function jacobianName(j: MaxPoolJacobian): string {
  return j.kind === 'beta' ? `beta:${j.beta}` : j.kind;
}

/** Parse 'first' | 'last' | 'minnorm' | 'beta:N'; throws a message listing the accepted forms. */
export function parseJacobian(s: string): MaxPoolJacobian {
  const t = s.trim();
  if (t === 'first') return FIRST;
  if (t === 'last') return LAST;
  if (t === 'minnorm') return MINNORM;
  const m = /^beta:(\d+)$/.exec(t);
  if (m) return beta(Number(m[1]));
  throw new Error(`unknown Jacobian '${s}': expected first, last, minnorm or beta:N (N a non-negative integer)`);
}

/**
 * Exact weights of member j over a tie set of size k, in tie-set order (ascending index).
 * beta(β): the first tied index gets 1 − β(k−1)/k = (k − β(k−1))/k, every other β/k.
 * minnorm = beta(1) (1/k each), first = beta(0).
 */
export function tieWeights(j: MaxPoolJacobian, k: number): Rational[] {
  if (!Number.isInteger(k) || k < 1) throw new Error(`tie set size must be a positive integer, got ${k}`);
  const unit = (i: number): Rational[] => Array.from({ length: k }, (_, t) => ({ num: t === i ? 1 : 0, den: 1 }));
  switch (j.kind) {
    case 'first':
      return unit(0);
    case 'last':
      return unit(k - 1);
    case 'minnorm':
      return Array.from({ length: k }, () => ({ num: 1, den: k }));
    case 'beta': {
      if (k === 1) return unit(0);
      const b = j.beta;
      return Array.from({ length: k }, (_, t) => (t === 0 ? { num: k - b * (k - 1), den: k } : { num: b, den: k }));
    }
  }
}

/** ReLU's derivative as a routing weight: 1 above 0, 0 below, α at exactly 0. */
export function reluSlope(sign: -1 | 0 | 1, alpha: number): number {
  return sign > 0 ? 1 : sign < 0 ? 0 : alpha;
}

/** ℓ1 norm of a member's Jacobian row at a tie of size k: 1 for β ∈ [0,1], 2β(k−1)/k − 1 beyond. */
export function l1Norm(j: MaxPoolJacobian, k: number): number {
  return tieWeights(j, k).reduce((s, w) => s + Math.abs(w.num / w.den), 0);
}
