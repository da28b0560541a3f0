/**
 * The training loop: epochs of seeded mini-batches, an evaluation on the test set after each,
 * metrics as JSON lines, checkpoints, resume, divergence. Writes into one folder:
 *
 *   checkpoint.bin   the last checkpoint (./checkpoint.ts), replaced atomically at the end of every
 *                    epoch and every `checkpointEvery` steps or seconds
 *   metrics.jsonl    one line every `logEvery` steps and one per epoch (MetricLine)
 *   result.json      schema 'adzone/train' 1, when the run ends (completed or diverged)
 *
 * Determinism: the numbers of a run are a function of its TrainConfig alone (for one backend and
 * machine architecture): parameters from initParams(spec, seed), batch order and augmentation from
 * src/data's seeded batches(seed, epoch), no other randomness. The data order is stateless (a pure
 * function of seed, epoch and batch index), so the checkpoint's "RNG state" is that position.
 * A checkpoint holds everything else that changes: parameters, BN buffers, optimizer state, loss
 * scale, the epoch's running sums and the metrics so far; resuming from it replays nothing and
 * ends bit for bit where an uninterrupted run ends (timings aside).
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { countParams, initBuffers, initParams, modelSpec, type ModelOptions, type ModelSpec } from '../models/index.ts';
import { batchCount, batches, datasetByName, type Batch as DataBatch, type Dataset, type DatasetInfo } from '../data/index.ts';
import { dynamicLossScale, staticLossScale, type LossScaler } from '../engine/lossScale.ts';
import { beta as betaJacobian, choice } from '../jacobians/index.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { writeResult, type Divergence, type MetricLine, type TrainResult } from '../schema/index.ts';
import { createTrainer, type NetTrainer } from './backend.ts';
import { readCheckpoint, stringifyExact, writeCheckpoint, type Checkpoint } from './checkpoint.ts';
import { TrainConfigError, chanceThreshold, effectiveStem, lrAt, parseLrSchedule, type TrainConfig } from './config.ts';
import type { Optimizer, OptimizerState } from '../engine/optim/index.ts';
import { trainOptimizer } from './optim.ts';
import { fmtDuration, type TrainProgress } from './progress.ts';

export const CHECKPOINT_FILE = 'checkpoint.bin';
export const METRICS_FILE = 'metrics.jsonl';
export const RESULT_FILE = 'result.json';
export const LOCK_FILE = 'train.lock';

export type { Divergence, MetricLine, TrainResult } from '../schema/index.ts';

/** Another live process is training in the same folder. */
export class RunLockedError extends Error {
  override name = 'RunLockedError';
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Take DIR/train.lock (pid and host of the process training there), so two processes never write
 * one folder's checkpoint and metrics at once. A lock left by a process that no longer runs (killed)
 * is taken over. Returns the release function.
 */
export function lockRun(out: string): () => void {
  mkdirSync(out, { recursive: true });
  const file = join(out, LOCK_FILE);
  const me = JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() });
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(file, me, { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw e;
      let holder: { pid?: number; host?: string } = {};
      try {
        holder = JSON.parse(readFileSync(file, 'utf8')) as typeof holder;
      } catch {
        /* unreadable: stale */
      }
      if (typeof holder.pid === 'number' && holder.pid !== process.pid && (holder.host !== hostname() || alive(holder.pid))) {
        throw new RunLockedError(
          `${out} is in use by another adzone train (pid ${holder.pid} on ${holder.host}; ${file}); wait for it to end, or remove the lock file if that process is gone`,
        );
      }
      unlinkSync(file);
    }
  }
  return () => {
    try {
      if ((JSON.parse(readFileSync(file, 'utf8')) as { pid: number }).pid === process.pid) unlinkSync(file);
    } catch {
      /* already gone */
    }
  };
}

/** Keys of a MetricLine that are wall-clock times (the only ones a resumed run may differ in). */
export const TIME_KEYS = ['seconds', 'epochSeconds', 'trainSeconds', 'evalSeconds'] as const;

interface Sums {
  lossSum: number;
  steps: number;
  correct: number;
  /** Samples whose correctness is known (logits available). */
  counted: number;
  skipped: number;
}

const zeroSums = (): Sums => ({ lossSum: 0, steps: 0, correct: 0, counted: 0, skipped: 0 });

/** The JSON part of a checkpoint. */
export interface CheckpointHeader {
  readonly schema: 'adzone/train-checkpoint';
  readonly schemaVersion: 1;
  readonly config: TrainConfig;
  readonly createdAt: string;
  /** Where the run continues: 0-based epoch and batch index in it; global steps done. */
  readonly position: { readonly epoch: number; readonly batch: number; readonly step: number };
  /** The data pipeline's randomness is stateless: these numbers are all of its state. */
  readonly rng: {
    readonly kind: 'stateless';
    readonly seed: number;
    readonly epoch: number;
    readonly batch: number;
    readonly note: string;
  };
  readonly epochSums: Sums & { trainSeconds: number };
  readonly windowSums: Sums;
  readonly optimizer: OptimizerState;
  readonly lossScale: { readonly kind: 'static' | 'dynamic'; readonly scale: number; readonly growthTracker: number } | null;
  readonly params: readonly string[];
  readonly buffers: readonly string[];
  readonly metrics: readonly MetricLine[];
  readonly divergence: Divergence | null;
  readonly best: { readonly testAcc: number; readonly epoch: number } | null;
  readonly elapsedSeconds: number;
  readonly evalSecondsTotal: number;
  readonly trainSecondsTotal: number;
  readonly sessions: readonly { readonly startedAt: string; readonly fromStep: number }[];
  readonly startedAt: string;
  /** Set once the run has ended; resuming then does nothing. */
  readonly finished: 'completed' | 'diverged' | null;
}

export interface CheckpointCadence {
  readonly steps?: number;
  readonly seconds?: number;
}

export interface RunOptions {
  readonly config: TrainConfig;
  readonly out: string;
  /** The checkpoint to continue from (loadCheckpoint), or null for a fresh run. */
  readonly resumeFrom: Checkpoint<CheckpointHeader> | null;
  readonly continueOnDivergence?: boolean;
  /** Default: every 180 s of work. Epoch ends always checkpoint. */
  readonly checkpointEvery?: CheckpointCadence;
  readonly progress: TrainProgress;
  readonly versions: Record<string, unknown>;
  readonly command: string;
  /** Test hook: called after every step; returning true stops at once as a crash would (nothing more is written). */
  readonly afterStep?: (step: number) => boolean;
}

export type RunOutcome =
  | { readonly status: 'completed' | 'diverged'; readonly result: TrainResult }
  | { readonly status: 'interrupted'; readonly step: number }
  | { readonly status: 'already-finished'; readonly finished: 'completed' | 'diverged' };

// ---------------------------------------------------------------------------------------------
// Setup shared with the command (so bad combinations are caught before any work)

export interface Prepared {
  readonly info: DatasetInfo;
  readonly spec: ModelSpec;
  readonly modelOptions: ModelOptions;
}

/** The model spec for a config and data set, or a TrainConfigError saying what does not fit. */
export function prepare(config: TrainConfig): Prepared {
  let info: DatasetInfo;
  try {
    info = datasetByName(config.dataset);
  } catch (e) {
    throw new TrainConfigError(`--dataset: ${(e as Error).message}`);
  }
  if (!info.available || !info.splits.includes('train')) {
    let why = `${info.name} has no train split here`;
    try {
      info.load('train', { limit: 1 });
    } catch (e) {
      why = (e as Error).message;
    }
    throw new TrainConfigError(`--dataset ${info.name} cannot be trained on: ${why}`);
  }
  const opts: { -readonly [K in keyof ModelOptions]: ModelOptions[K] } = { classes: info.classes, input: info.shape };
  if (config.width !== null) opts.width = config.width;
  // ResNet18 takes torchvision's ImageNet stem (7×7/2 conv + 3×3/2 MaxPool) on ImageNet images, the CIFAR stem otherwise
  if (config.stem !== undefined && config.model !== 'resnet18')
    throw new TrainConfigError(`--stem is resnet18's (its first layers); ${config.model} has none`);
  const stem = effectiveStem({ model: config.model, dataset: info.name, stem: config.stem });
  if (config.stem !== undefined || stem === 'imagenet') opts.stem = stem;
  if (config.batchNorm) opts.batchNorm = true;
  else if (config.model === 'resnet18') opts.batchNorm = false;
  let spec: ModelSpec;
  try {
    spec = modelSpec(config.model, opts);
  } catch (e) {
    throw new TrainConfigError(
      `--model ${config.model} on --dataset ${info.name} (${info.shape.join('×')} images, ${info.classes} classes): ${(e as Error).message}`,
    );
  }
  return { info, spec, modelOptions: opts };
}

/** The checkpoint in `out`, checked, or null when there is none. Throws CheckpointError for a damaged one. */
export function loadCheckpoint(out: string): Checkpoint<CheckpointHeader> | null {
  const file = join(out, CHECKPOINT_FILE);
  if (!existsSync(file)) return null;
  const c = readCheckpoint<CheckpointHeader>(file);
  if (c.header.schema !== 'adzone/train-checkpoint' || c.header.schemaVersion !== 1) {
    throw new Error(
      `checkpoint ${file}: schema ${String(c.header.schema)} ${String(c.header.schemaVersion)}, expected adzone/train-checkpoint 1`,
    );
  }
  return c;
}

// ---------------------------------------------------------------------------------------------

function makeLossScale(config: TrainConfig, saved: CheckpointHeader['lossScale']): LossScaler | null {
  if (config.lossScale === 'none') return null;
  if (config.lossScale === 'dynamic') {
    const s = dynamicLossScale(saved ? { initScale: saved.scale } : {});
    if (saved) (s as { growthTracker: number }).growthTracker = saved.growthTracker;
    return s;
  }
  return staticLossScale(config.lossScale);
}

const acc = (s: Sums): number | null => (s.counted > 0 ? s.correct / s.counted : null);

export async function runTrain(o: RunOptions): Promise<RunOutcome> {
  const saved = o.resumeFrom?.header ?? null;
  if (saved?.finished) return { status: 'already-finished', finished: saved.finished };
  const release = lockRun(o.out);
  try {
    return await trainLocked(o);
  } finally {
    release();
  }
}

async function trainLocked(o: RunOptions): Promise<RunOutcome> {
  const { config, out, progress } = o;
  const saved = o.resumeFrom?.header ?? null;
  const { info, spec } = prepare(config);
  const schedule = parseLrSchedule(config.lrSchedule);
  const ckptFile = join(out, CHECKPOINT_FILE);
  const metricsFile = join(out, METRICS_FILE);

  const train: Dataset = info.load('train', config.limitTrain !== null ? { limit: config.limitTrain } : {});
  const test: Dataset = info.load('test', config.limitTest !== null ? { limit: config.limitTest } : {});
  const chance = chanceThreshold(info.classes, test.labels);
  const stepsPerEpoch = batchCount(train.n, config.batchSize);
  const totalSteps = stepsPerEpoch * config.epochs;
  const jacobian = choice(betaJacobian(config.beta), config.reluAlpha, config.betaMode);

  // --- state: fresh or from the checkpoint
  const arrays = o.resumeFrom?.arrays ?? new Map<string, Float64Array>();
  const pick = (prefix: string, names: readonly string[]) => new Map(names.map((n) => [n, arrays.get(`${prefix}/${n}`)!] as const));
  const params = saved ? pick('param', saved.params) : initParams(spec, config.seed);
  const buffers = saved ? pick('buffer', saved.buffers) : initBuffers(spec);
  const trainer: NetTrainer = await createTrainer({
    backend: config.backend,
    precision: config.precision,
    mode: config.mode,
    jacobian,
    spec,
    params,
    buffers,
  });
  const optimizer: Optimizer = trainOptimizer({
    kind: config.optimizer,
    lr: config.lr,
    momentum: config.optimizer === 'sgd' ? config.momentum : 0,
    weightDecay: config.weightDecay,
    masterWeights: config.masterWeights,
  });
  if (saved) {
    const optArrays = new Map<string, Float64Array>();
    for (const [k, v] of arrays) if (k.startsWith('opt/')) optArrays.set(k.slice(4), v);
    optimizer.importState(saved.optimizer, optArrays);
  }
  const lossScale = makeLossScale(config, saved?.lossScale ?? null);

  let epoch = saved?.position.epoch ?? 0;
  let batchInEpoch = saved?.position.batch ?? 0;
  let step = saved?.position.step ?? 0;
  const epochSums: Sums & { trainSeconds: number } = saved ? { ...saved.epochSums } : { ...zeroSums(), trainSeconds: 0 };
  let windowSums: Sums = saved ? { ...saved.windowSums } : zeroSums();
  const metrics: MetricLine[] = saved ? [...saved.metrics] : [];
  let divergence: Divergence | null = saved?.divergence ?? null;
  let best = saved?.best ?? null;
  let trainSecondsTotal = saved?.trainSecondsTotal ?? 0;
  let evalSecondsTotal = saved?.evalSecondsTotal ?? 0;
  const startedAt = saved?.startedAt ?? new Date().toISOString();
  const sessions = [...(saved?.sessions ?? []), { startedAt: new Date().toISOString(), fromStep: step }];
  const elapsedBefore = saved?.elapsedSeconds ?? 0;
  const sessionStart = performance.now();
  const elapsed = () => elapsedBefore + (performance.now() - sessionStart) / 1000;
  const startStep = step;

  // metrics.jsonl holds exactly the checkpoint's lines, then grows line by line.
  writeFileAtomic(metricsFile, metrics.map((m) => `${stringifyExact(m)}\n`).join(''));
  const emit = (m: MetricLine) => {
    metrics.push(m);
    appendFileSync(metricsFile, `${stringifyExact(m)}\n`);
  };

  const checkpoint = (finished: CheckpointHeader['finished']) => {
    const a = new Map<string, Float64Array>();
    for (const [k, v] of trainer.params) a.set(`param/${k}`, v);
    const bufs = trainer.buffers();
    for (const [k, v] of bufs) a.set(`buffer/${k}`, v);
    const opt = optimizer.exportState();
    for (const [k, v] of opt.arrays) a.set(`opt/${k}`, v);
    const header: CheckpointHeader = {
      schema: 'adzone/train-checkpoint',
      schemaVersion: 1,
      config,
      createdAt: new Date().toISOString(),
      position: { epoch, batch: batchInEpoch, step },
      rng: {
        kind: 'stateless',
        seed: config.seed,
        epoch,
        batch: batchInEpoch,
        note: 'init = initParams(spec, seed); batch order and augmentation = src/data batches({ seed, epoch }), batch index onwards; nothing else is random',
      },
      epochSums: { ...epochSums },
      windowSums: { ...windowSums },
      optimizer: opt.state,
      lossScale: lossScale ? { kind: lossScale.kind, scale: lossScale.scale, growthTracker: lossScale.growthTracker } : null,
      params: [...trainer.params.keys()],
      buffers: [...bufs.keys()],
      metrics,
      divergence,
      best,
      elapsedSeconds: elapsed(),
      trainSecondsTotal,
      evalSecondsTotal,
      sessions,
      startedAt,
      finished,
    };
    writeCheckpoint(ckptFile, header, a);
    lastCheckpointStep = step;
    lastCheckpointAt = performance.now();
  };
  let lastCheckpointStep = step;
  let lastCheckpointAt = performance.now();
  const cadence = o.checkpointEvery ?? { seconds: 180 };
  const checkpointDue = () =>
    (cadence.steps !== undefined && step - lastCheckpointStep >= cadence.steps) ||
    (cadence.seconds !== undefined && (performance.now() - lastCheckpointAt) / 1000 >= cadence.seconds);

  if (saved)
    progress.line(
      `resuming from ${ckptFile}: epoch ${epoch + 1}, batch ${batchInEpoch} of ${stepsPerEpoch}, step ${step} of ${totalSteps}`,
    );
  progress.line(
    `training ${spec.name}${spec.variant ? `/${spec.variant}` : ''} on ${info.name} (${train.n} train, ${test.n} test images): ${config.backend} at ${config.precision} bits (${config.mode}), ` +
      `β = ${config.beta} (${config.betaMode}), ${optimizer.name}, ${config.epochs} epoch${config.epochs > 1 ? 's' : ''} of ${stepsPerEpoch} steps`,
  );

  let stopped = false;
  let sessionSteps = 0;
  while (epoch < config.epochs && !stopped) {
    const lr = lrAt(config.lr, schedule, epoch, config.epochs);
    optimizer.lr = lr;
    for (const b of batches(train, { batchSize: config.batchSize, seed: config.seed, epoch, shuffle: true, augment: config.augment })) {
      if (b.batch < batchInEpoch) continue;
      const t0 = performance.now();
      const r = await trainer.step(toNetBatch(b), optimizer, lossScale);
      const dt = (performance.now() - t0) / 1000;
      epochSums.trainSeconds += dt;
      trainSecondsTotal += dt;
      step++;
      sessionSteps++;
      batchInEpoch = b.batch + 1;
      for (const s of [epochSums, windowSums]) {
        s.lossSum += r.loss;
        s.steps++;
        if (r.correct !== null) {
          s.correct += r.correct;
          s.counted += b.labels.length;
        }
        if (r.skipped) s.skipped++;
      }
      if (o.afterStep?.(step)) return { status: 'interrupted', step };
      const nonFinite = !Number.isFinite(r.loss);
      if (step % config.logEvery === 0 || nonFinite) {
        emit({
          kind: 'step',
          epoch: epoch + 1,
          step,
          batch: batchInEpoch,
          loss: windowSums.lossSum / windowSums.steps,
          trainAcc: acc(windowSums),
          lr,
          seconds: elapsed(),
          ...(lossScale ? { skipped: windowSums.skipped, lossScale: lossScale.scale } : {}),
        });
        windowSums = zeroSums();
      }
      progress.step({
        epoch: epoch + 1,
        epochs: config.epochs,
        step,
        total: totalSteps,
        startStep,
        loss: epochSums.lossSum / epochSums.steps,
        acc: acc(epochSums),
        msPerStep: (performance.now() - sessionStart) / sessionSteps,
      });
      if (nonFinite && !divergence) {
        divergence = {
          kind: 'non-finite-loss',
          reason: `the training loss is ${r.loss} at step ${step} (epoch ${epoch + 1}, batch ${batchInEpoch})`,
          epoch: epoch + 1,
          step,
        };
        progress.line(`diverged: ${divergence.reason}${o.continueOnDivergence ? '; continuing (--continue-on-divergence)' : ''}`);
        if (!o.continueOnDivergence) {
          stopped = true;
          break;
        }
      }
      if (batchInEpoch < stepsPerEpoch && checkpointDue()) checkpoint(null);
    }

    let testAcc: number | null = null;
    let testLoss: number | null = null;
    let evalSeconds = 0;
    // A run stopped by a non-finite loss is still evaluated: its final accuracy is that of the
    // model it ended with (the paper's collapsed runs report 9.8%: every image called a 0).
    {
      progress.status(`epoch ${epoch + 1}/${config.epochs}: evaluating on ${test.n} test images…`);
      const t0 = performance.now();
      let correct = 0;
      let lossSum = 0;
      for (const b of batches(test, { batchSize: config.batchSize, shuffle: false })) {
        const r = await trainer.evaluate(toNetBatch(b));
        correct += r.correct;
        lossSum += r.loss * b.labels.length;
      }
      evalSeconds = (performance.now() - t0) / 1000;
      evalSecondsTotal += evalSeconds;
      testAcc = correct / test.n;
      testLoss = lossSum / test.n;
    }
    const line: Extract<MetricLine, { kind: 'epoch' }> = {
      kind: 'epoch',
      epoch: epoch + 1,
      step,
      loss: epochSums.lossSum / epochSums.steps,
      trainAcc: acc(epochSums),
      testLoss,
      testAcc,
      lr,
      seconds: elapsed(),
      epochSeconds: epochSums.trainSeconds + evalSeconds,
      trainSeconds: epochSums.trainSeconds,
      evalSeconds,
      steps: epochSums.steps,
      ...(lossScale ? { skipped: epochSums.skipped, lossScale: lossScale.scale } : {}),
      ...(stopped ? { partial: true as const } : {}),
    };
    emit(line);
    progress.line(
      `epoch ${epoch + 1}/${config.epochs}: train loss ${fmt(line.loss)}${line.trainAcc === null ? '' : `, acc ${pct(line.trainAcc)}`}` +
        `${testAcc === null ? '' : `; test acc ${pct(testAcc)} (loss ${fmt(testLoss!)})`}; ${fmtDuration(line.epochSeconds)} (${((1000 * epochSums.trainSeconds) / Math.max(1, epochSums.steps)).toFixed(0)} ms/step, eval ${fmtDuration(evalSeconds)})`,
    );
    if (testAcc !== null && (best === null || testAcc > best.testAcc)) best = { testAcc, epoch: epoch + 1 };
    if (testAcc !== null && epoch >= 1 && testAcc <= chance && !divergence) {
      divergence = {
        kind: 'chance',
        reason: `test accuracy ${pct(testAcc)} after epoch ${epoch + 1} is at chance (≤ ${pct(chance)}: 1.2 × the larger of 1/classes and the most frequent test class)`,
        epoch: epoch + 1,
        step,
      };
      progress.line(`diverged: ${divergence.reason}${o.continueOnDivergence ? '; continuing (--continue-on-divergence)' : ''}`);
      if (!o.continueOnDivergence) stopped = true;
    }
    if (!stopped) {
      epoch++;
      batchInEpoch = 0;
      Object.assign(epochSums, zeroSums(), { trainSeconds: 0 });
    }
    const status = divergence ? 'diverged' : 'completed';
    checkpoint(stopped || epoch >= config.epochs ? status : null);
  }
  progress.done();

  const epochs = metrics.filter((m): m is Extract<MetricLine, { kind: 'epoch' }> => m.kind === 'epoch');
  const result: TrainResult = {
    schema: 'adzone/train',
    schemaVersion: 1,
    command: o.command,
    startedAt,
    finishedAt: new Date().toISOString(),
    config,
    backend: config.backend,
    precision: config.precision,
    mode: config.mode,
    betaMode: config.betaMode,
    status: divergence ? 'diverged' : 'completed',
    divergence: divergence ? { ...divergence, continued: o.continueOnDivergence === true } : null,
    finalTestAcc: epochs.length ? epochs[epochs.length - 1].testAcc : null,
    bestTestAcc: best,
    epochs,
    timings: {
      totalSeconds: elapsed(),
      trainSeconds: trainSecondsTotal,
      evalSeconds: evalSecondsTotal,
      meanStepMs: (1000 * trainSecondsTotal) / Math.max(1, step),
      steps: step,
      stepsPerEpoch,
      epochSeconds: epochs.map((e) => e.epochSeconds),
      sessions,
    },
    model: { name: spec.name, variant: spec.variant, params: countParams(spec) },
    optimizer: optimizer.name,
    data: {
      train: { n: train.n, files: train.source.files, sha256: train.source.sha256 },
      test: { n: test.n, files: test.source.files, sha256: test.source.sha256 },
      normalisation: `${info.normalisation.mean.join(',')} / ${info.normalisation.std.join(',')}`,
      augment: config.augment,
      chanceThreshold: chance,
    },
    versions: { ...o.versions, ...trainer.versions },
  };
  writeResult(join(out, RESULT_FILE), 'train', result);
  return { status: result.status, result };
}

function toNetBatch(b: DataBatch) {
  return { x: b.x, shape: b.shape, labels: b.labels };
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : String(x));
