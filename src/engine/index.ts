/**
 * The engine: tensors and reverse-mode AD in a chosen precision (docs/DESIGN.md §5).
 *
 *   arith.ts     rounding and the strict / wide accumulation modes (read this first)
 *   tensor.ts    Tensor: flat Float64Array of values of p, shape, grad
 *   tape.ts      Tape: options, recorded ops, routing decisions, backward
 *   windows.ts   sliding-window index maps (conv2d, maxpool2d)
 *   ops/         one op a file, its gradient beside it
 *   chain.ts     runChain: a Problem through the engine
 *   optim/       optimizers (SGD, Adam) stepping parameters in precision p
 *   lossScale.ts static and dynamic loss scaling (off by default)
 */
export * from './types.ts';
export { makeArith, rounder, wideRounder, type Arith } from './arith.ts';
export { Tensor } from './tensor.ts';
export { Tape, type Decision, type TieSets } from './tape.ts';
export { windowMap, type WindowMap } from './windows.ts';
export * from './ops/index.ts';
export { runChain, tieLists } from './chain.ts';
export * from './optim/index.ts';
export { allFinite, dynamicLossScale, staticLossScale, type DynamicLossScaleOptions, type LossScaler } from './lossScale.ts';
