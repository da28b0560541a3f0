/**
 * The engine: tensors and reverse-mode AD in a chosen precision (docs/DESIGN.md §5).
 *
 *   arith.ts     rounding and the strict / wide accumulation modes (read this first)
 *   tensor.ts    Tensor: values of p (as doubles, or in the kernels' memory), shape, grad
 *   tape.ts      Tape: options, recorded ops, routing decisions, backward, device memory
 *   windows.ts   sliding-window index maps (conv2d, maxpool2d)
 *   ops/         one op a file, its gradient beside it; the JS loops are the reference
 *   kernels/     the same ops in WebAssembly SIMD (bit for bit), on worker threads for the GEMMs
 *   chain.ts     runChain: a Problem through the engine
 *   optim/       optimizers (SGD, Adam) stepping parameters in precision p
 *   lossScale.ts static and dynamic loss scaling (off by default)
 */

export { type Arith, makeArith, rounder, wideRounder } from './arith.ts';
export { runChain, tieLists } from './chain.ts';
export { allFinite, type DynamicLossScaleOptions, dynamicLossScale, type LossScaler, staticLossScale } from './lossScale.ts';
export * from './ops/index.ts';
export * from './optim/index.ts';
export { type Decision, Tape, type TieSets } from './tape.ts';
export { Tensor } from './tensor.ts';
export * from './types.ts';
export { type WindowMap, windowMap } from './windows.ts';
