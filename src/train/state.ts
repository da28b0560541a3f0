/**
 * Everything of a run that changes as it trains, apart from the network and the optimizer: where
 * it is (epoch, batch, step), the running sums of the epoch and of the metrics window, the metrics
 * so far, divergence, the best epoch and the times. It starts fresh or from a checkpoint header and
 * goes back into the next checkpoint's header, so that a resumed run continues bit for bit.
 */
import type { LossScaler } from '../engine/lossScale.ts';
import type { Optimizer } from '../engine/optim/index.ts';
import type { Divergence, MetricLine } from '../schema/train.ts';
import type { NetTrainer } from './backend.ts';
import type { TrainConfig } from './config.ts';
import type { CheckpointHeader } from './header.ts';

export interface Sums {
  lossSum: number;
  steps: number;
  correct: number;
  /** Samples whose correctness is known (logits available). */
  counted: number;
  skipped: number;
}

export const zeroSums = (): Sums => ({ lossSum: 0, steps: 0, correct: 0, counted: 0, skipped: 0 });

export const accuracy = (s: Sums): number | null => (s.counted > 0 ? s.correct / s.counted : null);

export interface RunState {
  epoch: number;
  batchInEpoch: number;
  step: number;
  readonly epochSums: Sums & { trainSeconds: number };
  windowSums: Sums;
  readonly metrics: MetricLine[];
  divergence: Divergence | null;
  best: { readonly testAcc: number; readonly epoch: number } | null;
  trainSecondsTotal: number;
  evalSecondsTotal: number;
  readonly startedAt: string;
  readonly sessions: readonly { readonly startedAt: string; readonly fromStep: number }[];
  /** Wall seconds of the sessions before this one. */
  readonly elapsedBefore: number;
  /** performance.now() when this session began; null when the run had ended before it (its times stay as they were). */
  readonly sessionStart: number | null;
  readonly startStep: number;
  sessionSteps: number;
  /** The run will train no further: it ended (this session or before) or diverged without continuing. */
  stopped: boolean;
  /** The command that started the run (recorded in result.json). */
  readonly command: string;
  lastCheckpointStep: number;
  lastCheckpointAt: number;
}

/** A fresh state, or the one a checkpoint header holds (a new session added unless the run had ended). */
export function initialState(saved: CheckpointHeader | null, command: string): RunState {
  const step = saved?.position.step ?? 0;
  const ended = saved?.finished != null;
  const now = new Date().toISOString();
  return {
    epoch: saved?.position.epoch ?? 0,
    batchInEpoch: saved?.position.batch ?? 0,
    step,
    epochSums: saved ? { ...saved.epochSums } : { ...zeroSums(), trainSeconds: 0 },
    windowSums: saved ? { ...saved.windowSums } : zeroSums(),
    metrics: saved ? [...saved.metrics] : [],
    divergence: saved?.divergence ?? null,
    best: saved?.best ?? null,
    trainSecondsTotal: saved?.trainSecondsTotal ?? 0,
    evalSecondsTotal: saved?.evalSecondsTotal ?? 0,
    startedAt: saved?.startedAt ?? now,
    sessions: [...(saved?.sessions ?? []), ...(ended ? [] : [{ startedAt: now, fromStep: step }])],
    elapsedBefore: saved?.elapsedSeconds ?? 0,
    sessionStart: ended ? null : performance.now(),
    startStep: step,
    sessionSteps: 0,
    stopped: ended,
    command: saved?.command ?? command,
    lastCheckpointStep: step,
    lastCheckpointAt: performance.now(),
  };
}

/** Wall seconds of the run so far, over every session. */
export function elapsed(s: RunState): number {
  return s.elapsedBefore + (s.sessionStart === null ? 0 : (performance.now() - s.sessionStart) / 1000);
}

/** Add one step's outcome to the epoch's and the window's sums. */
export function addStep(s: RunState, r: { loss: number; correct: number | null; skipped: boolean }, samples: number): void {
  for (const x of [s.epochSums, s.windowSums]) {
    x.lossSum += r.loss;
    x.steps++;
    if (r.correct !== null) {
      x.correct += r.correct;
      x.counted += samples;
    }
    if (r.skipped) x.skipped++;
  }
}

const RNG_NOTE =
  'init = initParams(spec, seed); batch order and augmentation = src/data batches({ seed, epoch }), batch index onwards; nothing else is random';

/** The checkpoint of the run as it stands: its header and every array (parameters, buffers, optimizer state). */
export function checkpointOf(
  s: RunState,
  run: { config: TrainConfig; trainer: NetTrainer; optimizer: Optimizer; lossScale: LossScaler | null; continueOnDivergence: boolean },
  finished: CheckpointHeader['finished'],
): { header: CheckpointHeader; arrays: Map<string, Float64Array> } {
  const { config, trainer, optimizer, lossScale } = run;
  const arrays = new Map<string, Float64Array>();
  for (const [k, v] of trainer.params) arrays.set(`param/${k}`, v);
  const bufs = trainer.buffers();
  for (const [k, v] of bufs) arrays.set(`buffer/${k}`, v);
  const opt = optimizer.exportState();
  for (const [k, v] of opt.arrays) arrays.set(`opt/${k}`, v);
  const header: CheckpointHeader = {
    schema: 'adzone/train-checkpoint',
    schemaVersion: 1,
    config,
    createdAt: new Date().toISOString(),
    position: { epoch: s.epoch, batch: s.batchInEpoch, step: s.step },
    rng: { kind: 'stateless', seed: config.seed, epoch: s.epoch, batch: s.batchInEpoch, note: RNG_NOTE },
    epochSums: { ...s.epochSums },
    windowSums: { ...s.windowSums },
    optimizer: opt.state,
    lossScale: lossScale ? { kind: lossScale.kind, scale: lossScale.scale, growthTracker: lossScale.growthTracker } : null,
    params: [...trainer.params.keys()],
    buffers: [...bufs.keys()],
    metrics: s.metrics,
    divergence: s.divergence,
    best: s.best,
    elapsedSeconds: elapsed(s),
    trainSecondsTotal: s.trainSecondsTotal,
    evalSecondsTotal: s.evalSecondsTotal,
    sessions: s.sessions,
    startedAt: s.startedAt,
    finished,
    command: s.command,
    continueOnDivergence: run.continueOnDivergence,
  };
  return { header, arrays };
}
