/**
 * The oracle's exact arithmetic for whole networks (docs/DESIGN.md §3, §5): BigInt dyadic numbers
 * (dyadic.ts), the compiled network they are computed over (graph.ts), and the exact value of any
 * entry of any node's output (values.ts). The routing that decides which entries need exact values
 * at all (float bounds on the engine's kernels, structural ids) is zones/network/exact.ts: it runs
 * the engine's kernels and model specs, which sit above the oracle.
 */
export * from './dyadic.ts';
export type { ConvNode, Graph, GraphNode, LinearNode, NodeOf, Shape4, TensorInfo, Windows } from './graph.ts';
export { type DecidedRouting, type ExactInputs, NodeValues } from './values.ts';
