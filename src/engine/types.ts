import type { JacobianChoice } from '../jacobians/index.ts';
import type { Format } from '../precision/index.ts';
import type { Gradients, Routing } from '../problem/index.ts';

/**
 * How arithmetic is rounded (see README "Accumulation modes"):
 * - 'strict': every operation (each product, each addition) rounds to p, like a CPU doing
 *   fp16 arithmetic op by op;
 * - 'wide': products and sums inside one op (a conv, a linear, a gradient reduction) accumulate in a
 *   wider format (fp32 when p is 16 or narrower, fp64 when p is 32; p = 64 is the same as strict)
 *   and only the op's output is rounded to p, like GPU fp16 with fp32 accumulation.
 */
export type Accumulate = 'strict' | 'wide';

export interface EngineOptions {
  readonly format: Format;
  readonly accumulate: Accumulate;
  readonly jacobian: JacobianChoice;
  /** Keep the IEEE underflow flag (slower; the classifier's small problems use it). */
  readonly checkUnderflow?: boolean;
}

export interface EngineResult {
  /** Output of the last layer in precision p (each value a value of p, held in a double). */
  readonly output: readonly number[];
  /** AD_p: gradient of ⟨round_p(cotangent), output⟩ w.r.t. parameters and input, in precision p. */
  readonly grads: Gradients<number>;
  /** Routing as the precision-p forward pass decided it. */
  readonly routing: Routing;
  /** Whether any rounding underflowed (only when EngineOptions.checkUnderflow). */
  readonly underflow?: boolean;
  /** Activations in p: [0] the rounded input, [i+1] the output of layer i. */
  readonly activations: readonly (readonly number[])[];
}
