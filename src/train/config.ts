/**
 * What a training run is: the options that decide its numbers (TrainConfig), the backend that can
 * compute them, the learning-rate schedule and the chance level that marks a collapsed run.
 *
 * Backends (docs/DESIGN.md §4 ablations):
 *   precision 32, no --mode            tfjs-wasm (tfjs's own float32 arithmetic: mode 'framework')
 *   precision 16, mode wide (default)  tfjs-wasm, 16-bit `wide` emulated by rounding every op output to binary16
 *   precision 16, mode strict          engine (every product and sum rounded to binary16)
 *   precision 64                       engine
 *   precision 32 with --mode strict|wide  engine (only the engine has those two modes at 32 bits)
 * tfjs-cpu runs the same twins as tfjs-wasm, much slower. tfjs-node would be preferred where it is
 * installed, but the tfjs model twins (src/backends/tfjs/models.ts) run on cpu and wasm only.
 */
import type { Accumulate } from '../engine/types.ts';
import type { TrainConfig } from '../schema/train.ts';

export type { TrainConfig } from '../schema/train.ts';
export { effectiveStem } from '../schema/train.ts';

export const TRAIN_BACKENDS = ['engine', 'tfjs-wasm', 'tfjs-cpu', 'tfjs-node'] as const;
export type TrainBackendId = (typeof TRAIN_BACKENDS)[number];
/** The backends a run can actually use here. */
export type RunBackend = TrainConfig['backend'];
export type TrainPrecision = TrainConfig['precision'];
/** 'framework': tfjs at 32 bits, whose float32 kernels accumulate as they do. */
export type TrainMode = TrainConfig['mode'];
export type LossScaleConfig = TrainConfig['lossScale'];

export class TrainConfigError extends Error {
  override name = 'TrainConfigError';
}

/** The backend a precision and mode default to. */
export function defaultBackend(precision: TrainPrecision, mode: Accumulate | undefined): RunBackend {
  if (precision === '64') return 'engine';
  if (precision === '16') return mode === 'strict' ? 'engine' : 'tfjs-wasm';
  return mode === undefined ? 'tfjs-wasm' : 'engine';
}

/** The mode of a (precision, backend) when --mode is not given: tfjs's own (32) or wide (16) on tfjs, strict on the engine. */
export function defaultMode(precision: TrainPrecision, backend: RunBackend): TrainMode {
  if (backend !== 'engine') return precision === '32' ? 'framework' : 'wide';
  return 'strict';
}

/**
 * Check that `backend` can compute at (precision, mode); throws TrainConfigError saying which
 * backend can. `installed` tells whether a package is present (tfjs-node).
 */
export function checkBackend(
  backend: TrainBackendId,
  precision: TrainPrecision,
  mode: Accumulate | undefined,
  installed: (pkg: string) => boolean,
): RunBackend {
  if (backend === 'tfjs-node') {
    const why = installed('@tensorflow/tfjs-node')
      ? "the tfjs model twins (src/backends/tfjs/models.ts) run on tfjs's cpu and wasm backends only"
      : '@tensorflow/tfjs-node is not installed here';
    throw new TrainConfigError(`--backend tfjs-node: ${why}; use --backend tfjs-wasm (the same tfjs model, float32) or --backend engine`);
  }
  if (backend === 'engine') return backend;
  if (precision === '64')
    throw new TrainConfigError(
      `--backend ${backend} cannot train at 64 bits (tfjs has float32 tensors only); the engine can: use --backend engine (the default at --precision 64)`,
    );
  if (precision === '16' && mode === 'strict') {
    throw new TrainConfigError(
      `--backend ${backend} cannot train 16-bit strict (every product and sum rounded to binary16): tfjs emulates 16 bits in wide mode only (float32 inside each op, binary16 op outputs). ` +
        'Use --backend engine for --mode strict, or --mode wide for tfjs',
    );
  }
  if (precision === '32' && mode !== undefined) {
    throw new TrainConfigError(
      `--backend ${backend} at 32 bits computes in tfjs's own float32 arithmetic, neither --mode ${mode} of the engine; use --backend engine for --mode ${mode} at 32 bits, or drop --mode`,
    );
  }
  return backend;
}

// ---------------------------------------------------------------------------------------------
// Learning-rate schedules (per epoch, as PyTorch's StepLR / CosineAnnealingLR stepped each epoch)

export type LrSchedule =
  | { readonly kind: 'none' }
  | { readonly kind: 'step'; readonly every: number; readonly gamma: number }
  | { readonly kind: 'cosine' };

export function parseLrSchedule(s: string): LrSchedule {
  const t = s.trim();
  if (t === 'none') return { kind: 'none' };
  if (t === 'cosine') return { kind: 'cosine' };
  const m = /^step:(\d+):([0-9]*\.?[0-9]+(?:[eE][+-]?\d+)?)$/.exec(t);
  if (m && Number(m[1]) >= 1 && Number(m[2]) > 0) return { kind: 'step', every: Number(m[1]), gamma: Number(m[2]) };
  throw new TrainConfigError(
    `--lr-schedule must be none, cosine or step:EPOCHS:GAMMA (e.g. step:30:0.1: multiply the lr by 0.1 every 30 epochs), got '${s}'`,
  );
}

export function scheduleName(s: LrSchedule): string {
  return s.kind === 'step' ? `step:${s.every}:${s.gamma}` : s.kind;
}

/**
 * The learning rate of epoch e (0-based) of a run of `epochs` epochs:
 * step: lr·γ^⌊e/every⌋; cosine: lr·(1 + cos(π·e/epochs))/2 (CosineAnnealingLR, T_max = epochs, η_min = 0).
 */
export function lrAt(lr: number, s: LrSchedule, epoch: number, epochs: number): number {
  switch (s.kind) {
    case 'none':
      return lr;
    case 'step':
      return lr * s.gamma ** Math.floor(epoch / s.every);
    case 'cosine':
      return (lr * (1 + Math.cos((Math.PI * epoch) / epochs))) / 2;
  }
}

// ---------------------------------------------------------------------------------------------
// Chance

/**
 * The accuracy at or below which a classifier counts as "at chance": 1.2 × the better of uniform
 * guessing (1/classes) and always answering the test set's most frequent class (MNIST: 11.35%, so
 * 13.62%). The paper's collapsed LeNet runs sit at 9.8% (every image called a 0).
 */
export function chanceThreshold(classes: number, testLabels: ArrayLike<number>): number {
  const counts = new Array<number>(classes).fill(0);
  for (let i = 0; i < testLabels.length; i++) counts[testLabels[i]]++;
  const majority = testLabels.length ? Math.max(...counts) / testLabels.length : 0;
  return 1.2 * Math.max(1 / classes, majority);
}

/** The options that change a run's numbers, in the order the CLI prints them. */
export const CONFIG_KEYS: readonly (keyof TrainConfig)[] = [
  'model',
  'dataset',
  'beta',
  'betaMode',
  'reluAlpha',
  'precision',
  'mode',
  'backend',
  'epochs',
  'batchSize',
  'optimizer',
  'lr',
  'momentum',
  'weightDecay',
  'lrSchedule',
  'masterWeights',
  'lossScale',
  'batchNorm',
  'width',
  'stem',
  'augment',
  'seed',
  'limitTrain',
  'limitTest',
  'logEvery',
];
