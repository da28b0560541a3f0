/**
 * An evaluation point: an input tensor, a chain of layers with their parameters, and the upstream
 * gradient (cotangent) that defines the scalar loss L = ⟨cotangent, output⟩.
 *
 * Every number is a double and is taken at its *exact* value by the oracle (docs/DESIGN.md §3). A backend
 * working in precision p first rounds the input, the parameters and the cotangent to p.
 *
 * Layout is NCHW throughout; conv weights are [outChannels, inChannels, kh, kw].
 */

export type Pair = readonly [number, number];

export interface Conv2dSpec {
  readonly kind: 'conv2d';
  readonly outChannels: number;
  readonly kernel: Pair;
  readonly stride: Pair;
  /** Zero padding on each side, [rows, cols]. */
  readonly padding: Pair;
  readonly bias: boolean;
}

export interface ReluSpec {
  readonly kind: 'relu';
}

export interface MaxPoolSpec {
  readonly kind: 'maxpool';
  readonly kernel: Pair;
  readonly stride: Pair;
  /** Implicit −∞ padding on each side, [rows, cols]; each must be ≤ half the kernel (as in PyTorch). */
  readonly padding: Pair;
}

export type LayerSpec = Conv2dSpec | ReluSpec | MaxPoolSpec;

export interface ConvParams {
  /** [outChannels, inChannels, kh, kw], row-major. */
  readonly weight: readonly number[];
  /** [outChannels]; present iff the layer has bias. */
  readonly bias?: readonly number[];
}

export interface Problem {
  readonly input: { readonly shape: readonly [number, number, number, number]; readonly data: readonly number[] };
  readonly layers: readonly LayerSpec[];
  /** One entry per layer: ConvParams for conv2d, null for parameterless layers. */
  readonly params: readonly (ConvParams | null)[];
  /** dL/d(output) of the last layer, NCHW, same length as the output. */
  readonly cotangent: readonly number[];
}

/** Gradients as produced by a backend or the oracle: one entry per layer, like Problem.params. */
export interface Gradients<T> {
  readonly params: readonly ({ readonly weight: readonly T[]; readonly bias?: readonly T[] } | null)[];
  readonly input: readonly T[];
}

/**
 * Routing decisions: the only way nonsmoothness acts (docs/DESIGN.md §3).
 * - maxpool: for each output element (flat NCHW index of the layer's output), the flat NCHW indices
 *   of the layer's input that attain the window maximum, ascending (= row-major order within the
 *   window, so ties[o][0] is the `first` element). Padding never attains the maximum.
 * - relu: for each unit, the sign of its input: 1 (> 0), 0 (= 0, ±0 alike), −1 (< 0).
 */
export type LayerRouting =
  | { readonly kind: 'maxpool'; readonly layer: number; readonly ties: readonly (readonly number[])[] }
  | { readonly kind: 'relu'; readonly layer: number; readonly sign: readonly (-1 | 0 | 1)[] };

export type Routing = readonly LayerRouting[];

export class ProblemError extends Error {
  override name = 'ProblemError';
}
