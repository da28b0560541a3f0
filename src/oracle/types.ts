import type { JacobianChoice } from '../jacobians/index.ts';
import type { Gradients, Problem, Routing } from '../problem/index.ts';

/**
 * An exact real number as the oracle computes it: a rational num/den where num is a dyadic
 * rational held exactly and den a positive integer (the Jacobian weights 1/k, β/k bring
 * non-dyadic denominators). Implementations: decimal.js (primary) and big.js (cross-check).
 */
export interface ExactNumber {
  /** Exact text: a plain decimal ('-0.75') when den = 1, otherwise 'N/D' with N an exact decimal. */
  toString(): string;
  /** The nearest double (round-to-nearest-even of the exact value). */
  toNumber(): number;
  isZero(): boolean;
  /** −1, 0 or 1 comparing exactly with o. */
  cmp(o: ExactNumber): -1 | 0 | 1;
  equals(o: ExactNumber): boolean;
  sub(o: ExactNumber): ExactNumber;
  abs(): ExactNumber;
}

export interface ExactForward {
  /** Exact routing: tie sets and ReLU signs of the real computation. */
  readonly routing: Routing;
  /** Exact activations: [0] the input, [i+1] the output of layer i, NCHW flat. */
  readonly activations: readonly (readonly ExactNumber[])[];
}

export interface ExactBackward {
  /** AD_R: the exact gradient of L = ⟨cotangent, output⟩ along the given routing and Jacobian. */
  readonly grads: Gradients<ExactNumber>;
  /**
   * The same backward pass with every factor replaced by its absolute value: Σ|terms| of each
   * gradient entry, the quantity rounding-error bounds scale with.
   */
  readonly magnitude: Gradients<ExactNumber>;
  /**
   * For each gradient entry, an upper bound N on the number of rounded operations any one of its
   * terms passes through when a float backend computes it (each factor's conversion to p counts 1,
   * a Jacobian weight that is not a small dyadic counts 2, each product 1, a sum of n terms n−1).
   * Then |AD_p − AD_R| ≤ γ_N·magnitude with γ_N = N·u/(1 − N·u) (Higham, Accuracy and Stability, §3).
   */
  readonly depth: Gradients<number>;
}

export interface Oracle {
  readonly name: 'decimal.js' | 'big.js';
  /** The exact value of a finite double as this oracle's ExactNumber (to compare float results exactly). */
  exact(x: number): ExactNumber;
  /** Exact forward pass; throws OracleError for non-finite numbers (they have no exact value). */
  forward(problem: Problem): ExactForward;
  /**
   * Exact backward pass along `routing` (usually the exact one from forward, but the classifier
   * also passes a float backend's routing to ask what that routing means over the reals).
   * Only the MaxPool member and ReLU'(0) of `jacobian` matter; betaMode does not (over the reals
   * the mixed forward equals the max exactly).
   */
  backward(problem: Problem, routing: Routing, jacobian: JacobianChoice): ExactBackward;
}

export class OracleError extends Error {
  override name = 'OracleError';
}
