/**
 * A network compiled for exact evaluation, as the oracle reads it: a flat list of nodes in forward
 * order (residual blocks unrolled into body, shortcut, add), every tensor's shape and exact
 * denominator, the parameters as doubles (taken at their exact values). zones/network/graph.ts
 * builds one from a model spec (compileNetwork); node paths: zones/network/types.ts.
 */
import type { Pair } from '../../problem/index.ts';

export type Shape4 = readonly [number, number, number, number];

export interface TensorInfo {
  readonly shape: Shape4;
  readonly size: number;
  /** Positive odd denominator: the exact value of entry i is numerator_i / den. */
  readonly den: bigint;
  /** Index of the producing node, −1 for the network input. */
  readonly producer: number;
  /** Flatten output: the tensor whose buffers it shares (same flat layout). */
  readonly alias: number | null;
}

/** Sliding windows: map[pos·kk + j] = offset inside one H×W plane, −1 on padding. */
export interface Windows {
  readonly kernel: Pair;
  readonly stride: Pair;
  readonly padding: Pair;
  readonly inH: number;
  readonly inW: number;
  readonly outH: number;
  readonly outW: number;
  /** kh·kw */
  readonly kk: number;
  readonly map: Int32Array;
}

interface Base {
  readonly path: string;
  readonly input: number;
  readonly output: number;
}

export type ConvNode = Base & {
  readonly kind: 'conv2d';
  readonly name: string;
  readonly inC: number;
  readonly outC: number;
  readonly win: Windows;
  readonly weight: Float64Array;
  readonly bias: Float64Array | null;
};

export type LinearNode = Base & {
  readonly kind: 'linear';
  readonly name: string;
  readonly inF: number;
  readonly outF: number;
  readonly weight: Float64Array;
  readonly bias: Float64Array | null;
};

export type GraphNode =
  | ConvNode
  | (Base & { readonly kind: 'relu' })
  | (Base & { readonly kind: 'maxpool'; readonly win: Windows })
  | (Base & { readonly kind: 'avgpool'; readonly win: Windows; readonly odd: bigint; readonly twos: number })
  | (Base & { readonly kind: 'globalavgpool'; readonly odd: bigint; readonly twos: number })
  | (Base & { readonly kind: 'flatten' })
  | LinearNode
  /** body(x) + shortcut(x): `input` is the body's output, `other` the shortcut's. */
  | (Base & { readonly kind: 'add'; readonly other: number });

/** The node of one kind. */
export type NodeOf<K extends GraphNode['kind']> = Extract<GraphNode, { kind: K }>;

export interface Graph {
  readonly nodes: readonly GraphNode[];
  readonly tensors: readonly TensorInfo[];
  readonly batch: number;
  /** The network output tensor. */
  readonly output: number;
  /** How many nodes read each tensor (the network output counts one more: the loss). */
  readonly uses: readonly number[];
}
