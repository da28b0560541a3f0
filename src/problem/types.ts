/**
 * An evaluation point: an input tensor, a chain of layers with their parameters, and the upstream
 * gradient (cotangent) that defines the scalar loss L = ⟨cotangent, output⟩.
 *
 * Every number is a double and is taken at its *exact* value by the oracle (docs/DESIGN.md §3). A backend
 * working in precision p first rounds the input, the parameters and the cotangent to p.
 *
 * Layout is NCHW throughout; conv weights are [outChannels, inChannels, kh, kw].
 *
 * The types are derived from TypeBox schemas (the JSON form of a problem, as verify.json's
 * counterexamples and the counterexample corpus hold it), so the two cannot drift apart.
 */
import { type StaticDecode, type TSchema, Type } from '@sinclair/typebox';
import { type DeepReadonly, JsonNumber } from '../util/json.ts';

const pair = (minimum: number) => Type.Tuple([Type.Integer({ minimum }), Type.Integer({ minimum })]);

export type Pair = readonly [number, number];

export const Conv2dSpecSchema = Type.Object({
  kind: Type.Literal('conv2d'),
  outChannels: Type.Integer({ minimum: 1 }),
  kernel: pair(1),
  stride: pair(1),
  padding: pair(0),
  bias: Type.Boolean(),
});

export const ReluSpecSchema = Type.Object({ kind: Type.Literal('relu') });

export const MaxPoolSpecSchema = Type.Object({
  kind: Type.Literal('maxpool'),
  kernel: pair(1),
  stride: pair(1),
  padding: pair(0),
});

export const LayerSpecSchema = Type.Union([Conv2dSpecSchema, ReluSpecSchema, MaxPoolSpecSchema]);

/**
 * The JSON form of a problem with its numbers in slots of `number` (JsonNumber: non-finite numbers
 * as strings; the corpus also keeps −0).
 */
export function problemSchema<N extends TSchema>(number: N) {
  const numbers = Type.Array(number);
  return Type.Object({
    input: Type.Object({
      shape: Type.Tuple([
        Type.Integer({ minimum: 1 }),
        Type.Integer({ minimum: 1 }),
        Type.Integer({ minimum: 1 }),
        Type.Integer({ minimum: 1 }),
      ]),
      data: numbers,
    }),
    layers: Type.Array(LayerSpecSchema),
    /** One entry per layer: ConvParams for conv2d, null for parameterless layers. */
    params: Type.Array(Type.Union([Type.Null(), Type.Object({ weight: numbers, bias: Type.Optional(numbers) })])),
    /** dL/d(output) of the last layer, NCHW, same length as the output. */
    cotangent: numbers,
  });
}

export const ProblemSchema = problemSchema(JsonNumber());

/** Zero padding on each side, [rows, cols]; kernel and stride [rows, cols]. */
export type Conv2dSpec = DeepReadonly<StaticDecode<typeof Conv2dSpecSchema>>;
export type ReluSpec = DeepReadonly<StaticDecode<typeof ReluSpecSchema>>;
/** Implicit −∞ padding on each side, [rows, cols]; each must be ≤ half the kernel (as in PyTorch). */
export type MaxPoolSpec = DeepReadonly<StaticDecode<typeof MaxPoolSpecSchema>>;
export type LayerSpec = Conv2dSpec | ReluSpec | MaxPoolSpec;

export type Problem = DeepReadonly<StaticDecode<typeof ProblemSchema>>;
/** weight: [outChannels, inChannels, kh, kw], row-major; bias: [outChannels], present iff the layer has bias. */
export type ConvParams = NonNullable<Problem['params'][number]>;

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
