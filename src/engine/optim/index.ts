/**
 * Optimizers stepping the engine's parameters in precision p (master weights in p by default, fp32
 * masters on request), with a learning rate settable between steps and state that exports and
 * imports exactly, for checkpoints (see optimizer.ts).
 */

export { type AdamOptions, adam } from './adam.ts';
export {
  type MasterWeights,
  masterFormat,
  type Optimizer,
  type OptimizerKind,
  type OptimizerState,
  type StepOptions,
} from './optimizer.ts';
export { type SgdOptions, sgd } from './sgd.ts';
