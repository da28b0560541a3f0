/**
 * The optimizer of a training run: the engine's sgd or adam (src/engine/optim, PyTorch semantics,
 * every update op rounded to the master format q), built from the run's options. The trainer sets
 * its learning rate each epoch (the schedule) and saves / restores its state in checkpoints
 * (Optimizer.exportState / importState: the OptimizerState JSON in the header, the arrays as
 * `opt/${param}/${buffer}`).
 */
import { adam, sgd, type MasterWeights, type Optimizer } from '../engine/optim/index.ts';

export type { OptimizerState } from '../engine/optim/index.ts';

/** The optimizer a trainer steps: the engine's Optimizer, whose lr is settable and whose state exports. */
export type TrainOptimizer = Optimizer;

export interface TrainOptimizerOptions {
  readonly kind: 'sgd' | 'adam';
  readonly lr: number;
  /** SGD (ignored by Adam). */
  readonly momentum?: number;
  readonly weightDecay?: number;
  readonly masterWeights?: MasterWeights;
  /** Adam. */
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
}

/** Adam's constants when none are given (PyTorch's). */
export const ADAM_DEFAULTS = { beta1: 0.9, beta2: 0.999, eps: 1e-8 } as const;

export function trainOptimizer({
  kind,
  lr,
  momentum = 0,
  weightDecay = 0,
  masterWeights = 'p',
  beta1 = ADAM_DEFAULTS.beta1,
  beta2 = ADAM_DEFAULTS.beta2,
  eps = ADAM_DEFAULTS.eps,
}: TrainOptimizerOptions): TrainOptimizer {
  return kind === 'sgd' ? sgd({ lr, momentum, weightDecay, masterWeights }) : adam({ lr, beta1, beta2, eps, weightDecay, masterWeights });
}
