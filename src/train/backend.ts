/**
 * One interface over the two ways a network trains here: the engine (src/backends/engine/network.ts, any
 * precision, strict or wide) and the tfjs twins (src/backends/tfjs/models.ts: float32, or binary16
 * `wide` emulated). Both step the same parameters (by PyTorch name, values of p held in doubles)
 * with the same optimizer code (the engine's sgd / adam, src/engine/optim), so a trainer saves and
 * restores them alike.
 */
import { createEngineNet, evaluateBatch, gradients, trainStep, type Batch } from '../backends/engine/network.ts';
import type { ModelSpec } from '../models/index.ts';
import type { EngineOptions } from '../engine/types.ts';
import type { LossScaler } from '../engine/lossScale.ts';
import { rounder } from '../engine/arith.ts';
import { formatByName } from '../precision/index.ts';
import type { JacobianChoice } from '../jacobians/index.ts';
import type { RunBackend, TrainMode, TrainPrecision } from './config.ts';
import type { Optimizer } from '../engine/optim/index.ts';
import { tfjsMissing } from '../backends/peers.ts';
import { InputError } from '../util/errors.ts';

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
}

/** How many rows of `logits` ([N, K] flat) have their first maximum at the label; NaN rows count as wrong. */
export function countCorrect(logits: ArrayLike<number>, labels: ArrayLike<number>, classes: number): number {
  let correct = 0;
  for (let n = 0; n < labels.length; n++) {
    let best = 0;
    let bestV = -Infinity;
    let nan = false;
    for (let k = 0; k < classes; k++) {
      const v = logits[n * classes + k];
      if (Number.isNaN(v)) nan = true;
      if (v > bestV) {
        bestV = v;
        best = k;
      }
    }
    if (!nan && bestV > -Infinity && best === labels[n]) correct++;
  }
  return correct;
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
}

export async function createTrainer(o: TrainerOptions): Promise<NetTrainer> {
  return o.backend === 'engine' ? engineTrainer(o) : tfjsTrainer(o);
}

async function engineTrainer(o: TrainerOptions): Promise<NetTrainer> {
  const init = new Map<string, Float64Array>([...o.params, ...(o.buffers ?? new Map())]);
  const net = createEngineNet(o.spec, init);
  const format = formatByName(o.precision);
  const opts: EngineOptions = { format, accumulate: o.mode === 'wide' ? 'wide' : 'strict', jacobian: o.jacobian };
  const round = rounder(format);
  const classes = o.spec.classes;
  const { kernelStatus } = await import('../engine/kernels/index.ts');
  return {
    backend: 'engine',
    params: net.params,
    buffers: () => net.buffers,
    async step(batch, optimizer, lossScale) {
      if (lossScale) {
        // trainStep seeds the backward with the scale; it does not hand back the logits.
        const r = trainStep(net, batch, opts, optimizer, { lossScale });
        return { loss: r.loss, correct: null, skipped: r.skipped };
      }
      // trainStep without loss scaling, spelled out so the logits come back for the train accuracy.
      for (const v of net.params.values()) for (let i = 0; i < v.length; i++) v[i] = round(v[i]);
      const r = gradients(net, batch, opts, { training: true });
      optimizer.step(net.params, r.grads, format);
      return { loss: r.loss, correct: countCorrect(r.logits, batch.labels, classes), skipped: false };
    },
    async evaluate(batch) {
      const r = evaluateBatch(net, batch, opts);
      return { loss: r.loss, correct: countCorrect(r.logits, batch.labels, classes) };
    },
    versions: { engine: `adzone engine (${o.precision} bits, ${opts.accumulate})`, engineKernels: kernelStatus() },
  };
}

async function tfjsTrainer(o: TrainerOptions): Promise<NetTrainer> {
  // tfjs is an optional peer: say what to install (or to train on the engine) before importing any of it.
  const missing = tfjsMissing(o.backend === 'tfjs-wasm' ? 'tfjs-wasm' : 'tfjs-cpu');
  if (missing) throw new InputError(`backend ${o.backend}: ${missing}; or train with backend engine`);
  const { tfjsTrainStep, tfjsEvaluate } = await import('../backends/tfjs/models.ts');
  const { activate, exclusive, tf, packageVersion, BACKEND_PACKAGE } = await import('../backends/tfjs/runtime.ts');
  const name = o.backend === 'tfjs-wasm' ? 'wasm' : 'cpu';
  if (o.precision === '64') throw new Error('tfjs has no 64-bit tensors');
  const precision = o.precision;
  await exclusive(() => activate(name));
  const state = {
    spec: o.spec,
    params: new Map([...o.params].map(([k, v]) => [k, v.slice()] as const)),
    buffers: new Map([...(o.buffers ?? new Map<string, Float64Array>())].map(([k, v]) => [k, v.slice()] as const)),
  };
  const classes = o.spec.classes;
  const env = (flag: string): boolean | null => {
    try {
      return tf.env().getBool(flag);
    } catch {
      return null;
    }
  };
  return {
    backend: o.backend,
    params: state.params,
    buffers: () => state.buffers,
    async step(batch, optimizer, lossScale) {
      if (lossScale) throw new Error('loss scaling runs on the engine only');
      const r = await tfjsTrainStep(state, batch, { backend: name, precision, jacobian: o.jacobian }, optimizer);
      return { loss: r.loss, correct: countCorrect(r.logits, batch.labels, classes), skipped: false };
    },
    async evaluate(batch) {
      const r = await tfjsEvaluate(o.spec, state.params, batch, { backend: name, precision, jacobian: o.jacobian, buffers: state.buffers });
      return { loss: r.loss, correct: countCorrect(r.logits, batch.labels, classes) };
    },
    versions: {
      '@tensorflow/tfjs': packageVersion('@tensorflow/tfjs') ?? null,
      '@tensorflow/tfjs-core': tf.version_core,
      [BACKEND_PACKAGE[name]]: packageVersion(BACKEND_PACKAGE[name]) ?? null,
      ...(name === 'wasm' ? { wasmSimd: env('WASM_HAS_SIMD_SUPPORT'), wasmThreads: env('WASM_HAS_MULTITHREAD_SUPPORT') } : {}),
      emulation:
        precision === '16'
          ? 'binary16 wide: float32 inside each op, every op output and backward gradient rounded to binary16 (src/backends/tfjs/f16.ts)'
          : 'float32',
    },
  };
}
