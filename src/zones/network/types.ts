/**
 * Shared types of the whole-network zone classification (docs/DESIGN.md §3 on networks).
 *
 * Node paths. Every layer of a ModelSpec is a node, named by where it sits in the spec:
 * - a top-level layer i is `layers.${i}`;
 * - inside a residual block at path P, body layer j is `${P}.body.${j}` and shortcut layer j is
 *   `${P}.shortcut.${j}` (recursively, so 'layers.5.body.1', 'layers.5.body.3.shortcut.0');
 * - the residual block itself is the node that adds body(x) + shortcut(x): path P.
 * Only MaxPool and ReLU nodes take routing decisions, so only they appear in a NetRouting.
 * (The engine tags its decisions with PyTorch-style paths; `routingFromDecisions` in float.ts
 * aligns a list of decisions in forward order with these paths.)
 *
 * Indices. A MaxPool window is its flat NCHW index in the node's output; its tie set lists flat
 * NCHW indices of the node's *input*, ascending (row-major within the window, so ties[o][0] is
 * the `first` element). A ReLU unit is its flat NCHW index (input and output share the layout).
 */
import type { Shape4 } from '../../oracle/network/index.ts';

export type { Shape4 };

/** Routing decisions of one node: tie sets of every window, or signs (−1/0/1) of every unit. */
export type NodeRouting =
  | { readonly kind: 'maxpool'; readonly ties: readonly (readonly number[])[] }
  | { readonly kind: 'relu'; readonly sign: ArrayLike<number> };

/** Routing of a whole network evaluation: node path → decisions, in forward order. */
export type NetRouting = ReadonlyMap<string, NodeRouting>;

/** How many routing units (windows / ReLU units) each filter stage decided. */
export interface FilterCounts {
  readonly units: number;
  /** (a) the float64 forward with rigorous error bounds (including exactly known values, e = 0). */
  readonly float: number;
  /** (b) structural equality: identical computations (same structural id) are exactly equal. */
  readonly structural: number;
  /** (c) exact BigInt dyadic recomputation of the receptive field. */
  readonly exact: number;
}

export interface NodeFilterStats extends FilterCounts {
  readonly node: string;
  readonly kind: 'maxpool' | 'relu';
}

/** A node of a compiled network, as reported to callers. */
export interface NodeDescription {
  readonly path: string;
  readonly kind: 'conv2d' | 'relu' | 'maxpool' | 'avgpool' | 'globalavgpool' | 'flatten' | 'linear' | 'add';
  readonly inputShape: Shape4;
  readonly outputShape: Shape4;
  /** Path of the node whose output this node reads ('input' for the network input; an add node's body side). */
  readonly inputFrom: string;
  /** Sliding-window geometry of conv2d / maxpool / avgpool nodes. */
  readonly window?: {
    readonly kernel: readonly [number, number];
    readonly stride: readonly [number, number];
    readonly padding: readonly [number, number];
  };
}

/**
 * One activation tensor of the bounded float64 forward: â, its rigorous error bound e
 * (|â − a| ≤ e against the exact real value a), a structural id (equal ids within a tensor ⇒
 * identical computations, hence the same function of θ and the same exact value), and the
 * tensor's positive odd denominator D (the exact value is numerator/D; D = 1 without avgpool
 * of odd window sizes).
 */
export interface ActivationRecord {
  readonly shape: Shape4;
  readonly val: Float64Array;
  readonly err: Float64Array;
  readonly sid: Int32Array;
  readonly den: bigint;
}
