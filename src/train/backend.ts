/**
 * One interface over the ways a network trains here (NetTrainer), and one descriptor per backend
 * (TrainBackend: what it can compute, its default mode, how to make a trainer), looked up by id.
 * Today: the engine (src/backends/engine/network.ts, any precision, strict or wide), the tfjs
 * twins (src/backends/tfjs/models.ts: float32, or binary16 `wide` emulated) and PyTorch in a Python
 * process (./backends/torch.ts: torch's own arithmetic, on a CPU or a CUDA GPU). Every backend steps
 * the same parameters (by PyTorch name, values of p held in doubles) with the same optimizer
 * arithmetic (the engine's sgd / adam, src/engine/optim; torch's bridge repeats it op for op), so
 * the trainer saves and restores them alike.
 *
 * A new backend is a descriptor in TRAIN_BACKEND_IMPLS (its file beside ./backends/engine.ts) and
 * its id in RUN_BACKENDS (src/schema/train.ts); the run, checkpoints, resume and the config checks
 * need nothing else. A backend whose state lives in another process gives its trainer `sync`
 * (called before every checkpoint) and `close` (called when the run's session ends).
 */
import type { Batch } from '../backends/engine/network.ts';
import type { LossScaler } from '../engine/lossScale.ts';
import type { Optimizer } from '../engine/optim/index.ts';
import type { JacobianChoice } from '../jacobians/index.ts';
import type { ModelSpec } from '../models/index.ts';
import type { TrainConfig } from '../schema/train.ts';
import { engineTrainBackend } from './backends/engine.ts';
import { tfjsTrainBackend } from './backends/tfjs.ts';
import { torchTrainBackend } from './backends/torch.ts';
import type { TrainOptimizerOptions } from './optim.ts';

export { countCorrect } from './backends/count.ts';

/** The backends a run can actually use here (result.json's `backend`). */
export type RunBackend = TrainConfig['backend'];
/** What may be asked for: the run backends, and tfjs-node, refused with the reason. */
export type TrainBackendId = RunBackend | 'tfjs-node';
export const TRAIN_BACKENDS = ['engine', 'tfjs-wasm', 'tfjs-cpu', 'torch', 'tfjs-node'] as const satisfies readonly TrainBackendId[];
export type TrainPrecision = TrainConfig['precision'];
/** 'framework': a framework's own arithmetic (tfjs at 32 bits, torch); strict / wide: the engine's. */
export type TrainMode = TrainConfig['mode'];

export interface StepOutcome {
  /** Mean cross-entropy of the batch before the step (unscaled). */
  readonly loss: number;
  /** Correctly classified samples of the batch (training-mode logits), null where the backend does not return logits. */
  readonly correct: number | null;
  /** Loss scaling skipped the step (a non-finite gradient). */
  readonly skipped: boolean;
}

export interface EvalOutcome {
  readonly loss: number;
  readonly correct: number;
}

export interface NetTrainer {
  readonly backend: RunBackend;
  /** Live parameters by PyTorch name (values of p after the first step). */
  readonly params: Map<string, Float64Array>;
  /** Live BN running statistics by PyTorch name. */
  buffers(): Map<string, Float64Array>;
  step(batch: Batch, optimizer: Optimizer, lossScale: LossScaler | null): Promise<StepOutcome>;
  /** Inference mode: BN running statistics, nothing updated. */
  evaluate(batch: Batch): Promise<EvalOutcome>;
  /** Package and runtime versions that decide the numbers. */
  readonly versions: Record<string, unknown>;
  /**
   * A trainer whose state lives elsewhere (another process) brings it here: `params`, `buffers()`
   * and the run's `optimizer` (importState) then hold the state after the last step. The run calls
   * it before every checkpoint. Absent: they are always current.
   */
  sync?(optimizer: Optimizer): Promise<void>;
  /** Let go of what the trainer holds (a process); the run calls it when its session ends. */
  close?(): Promise<void>;
}

/** How a backend in another process runs (torch): not part of the run's config. */
export interface BackendProcess {
  /** The Python interpreter (else ADZONE_PYTHON, else the first one found that imports torch). */
  readonly python?: string;
  /** Threads of the backend's kernels (default 1; torch's sums may split differently with more). */
  readonly threads?: number;
  readonly env?: NodeJS.ProcessEnv;
}

export interface TrainerOptions {
  readonly backend: RunBackend;
  readonly precision: TrainPrecision;
  readonly mode: TrainMode;
  readonly jacobian: JacobianChoice;
  readonly spec: ModelSpec;
  /** Initial parameters and (optionally) BN buffers, by PyTorch name; copied. */
  readonly params: ReadonlyMap<string, Float64Array>;
  readonly buffers?: ReadonlyMap<string, Float64Array>;
  /** The run's optimizer settings, for a backend that steps its own copy of it (torch). */
  readonly optimizer?: TrainOptimizerOptions;
  /** torch: 'cpu' (default) or 'cuda'. */
  readonly device?: TrainConfig['device'];
  readonly process?: BackendProcess;
}

/** A backend as the trainer sees it. */
export interface TrainBackend {
  readonly id: RunBackend;
  /**
   * Null when this backend computes (precision, mode), mode undefined meaning its default; else why
   * not, naming the backend that can (fields in backticks: `backend`, `mode`).
   */
  unsupported(precision: TrainPrecision, mode: TrainMode | undefined): string | null;
  /** The mode when none is asked for. */
  defaultMode(precision: TrainPrecision): TrainMode;
  /** A trainer holding copies of the initial parameters. */
  create(o: TrainerOptions): Promise<NetTrainer>;
}

export const TRAIN_BACKEND_IMPLS: Readonly<Record<RunBackend, TrainBackend>> = {
  engine: engineTrainBackend,
  'tfjs-wasm': tfjsTrainBackend('tfjs-wasm'),
  'tfjs-cpu': tfjsTrainBackend('tfjs-cpu'),
  torch: torchTrainBackend,
};

export function trainBackend(id: RunBackend): TrainBackend {
  const b = TRAIN_BACKEND_IMPLS[id];
  if (!b) throw new Error(`no training backend '${id}'; known: ${Object.keys(TRAIN_BACKEND_IMPLS).join(', ')}`);
  return b;
}

/** Why `backend` cannot compute (precision, mode), or null. */
export function unsupportedBackend(backend: RunBackend, precision: TrainPrecision, mode: TrainMode | undefined): string | null {
  return trainBackend(backend).unsupported(precision, mode);
}

export async function createTrainer(o: TrainerOptions): Promise<NetTrainer> {
  return trainBackend(o.backend).create(o);
}
