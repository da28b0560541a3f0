/**
 * The training loop of one run: epochs of seeded mini-batches, an evaluation on the test set after
 * each, metrics lines, checkpoints, divergence. It works on a RunContext (./run.ts opens it, from
 * scratch or from a checkpoint) and reports through the caller's hooks; it never prints.
 *
 * Crash points (hooks.crashAt, for tests): 'step' after every step, 'checkpoint' after every
 * checkpoint written at an epoch's end; returning true there stops at once, as a kill would, with
 * nothing more written.
 */
import { appendFileSync } from 'node:fs';
import { batches, type Batch as DataBatch, type Dataset, type DatasetInfo } from '../data/index.ts';
import type { LossScaler } from '../engine/lossScale.ts';
import type { Optimizer } from '../engine/optim/index.ts';
import type { ModelSpec } from '../models/index.ts';
import type { Divergence, EpochLine, MetricLine } from '../schema/train.ts';
import type { NetTrainer } from './backend.ts';
import { stringifyExact, writeCheckpoint } from './checkpoint.ts';
import { type LrSchedule, lrAt, type TrainConfig } from './config.ts';
import { accuracy, addStep, checkpointOf, elapsed, type RunState, zeroSums } from './state.ts';
import { fmtDuration } from './progress.ts';

export interface CheckpointCadence {
  readonly steps?: number;
  readonly seconds?: number;
}

/** What a progress display needs after each step. */
export interface StepProgress {
  readonly epoch: number;
  readonly epochs: number;
  readonly step: number;
  readonly total: number;
  /** Where this session began (a resumed run starts past 0). */
  readonly startStep: number;
  /** Mean loss and training accuracy of the epoch so far. */
  readonly loss: number;
  readonly acc: number | null;
  readonly msPerStep: number;
}

export type CrashPoint = 'step' | 'checkpoint' | 'result';

/**
 * What a caller of trainRun hears as the run goes, all optional. onEpoch may return 'stop' to end
 * the run after that epoch (its checkpoint written, so the run can be resumed later): a tuner
 * stops a poor trial this way.
 */
export interface TrainHooks {
  readonly onStep?: (p: StepProgress) => void;
  /** A status word for a progress bar (e.g. 'evaluating'). */
  readonly onStatus?: (text: string) => void;
  /** Lines for the person running it: what runs, epoch summaries, divergence, resume. */
  readonly log?: (line: string) => void;
  readonly onEpoch?: (
    line: EpochLine,
    run: { readonly epochs: number; readonly out: string },
  ) => 'stop' | undefined | Promise<'stop' | undefined>;
  /** Fault injection: return true to stop at this point as a kill would. */
  readonly crashAt?: (point: CrashPoint, step: number) => boolean;
}

export interface RunContext {
  readonly config: TrainConfig;
  readonly out: string;
  readonly files: { readonly checkpoint: string; readonly metrics: string; readonly result: string };
  readonly info: DatasetInfo;
  readonly spec: ModelSpec;
  readonly train: Dataset;
  readonly test: Dataset;
  /** The validation split the run evaluates on instead of the test split (config.validation), or null. */
  readonly validation: Dataset | null;
  /** Accuracy at or below which an evaluation counts as at chance (on the split evaluated). */
  readonly chance: number;
  /** The first 1-based epoch whose evaluation at chance ends the run; null: never. */
  readonly chanceFromEpoch: number | null;
  readonly stepsPerEpoch: number;
  readonly totalSteps: number;
  readonly schedule: LrSchedule;
  readonly trainer: NetTrainer;
  readonly optimizer: Optimizer;
  readonly lossScale: LossScaler | null;
  readonly state: RunState;
  readonly cadence: CheckpointCadence;
  readonly continueOnDivergence: boolean;
  readonly hooks: TrainHooks;
}

export type LoopEnd =
  | { readonly kind: 'ended' }
  | { readonly kind: 'stopped' }
  | { readonly kind: 'interrupted'; readonly point: CrashPoint };

/** Train from the state's position to the end of the run (or a stop, or a crash point). */
export async function trainEpochs(ctx: RunContext): Promise<LoopEnd> {
  const { config, state: s, hooks } = ctx;
  while (s.epoch < config.epochs && !s.stopped) {
    const lr = lrAt(config.lr, ctx.schedule, s.epoch, config.epochs);
    ctx.optimizer.lr = lr;
    if (!(await trainSteps(ctx, lr))) return { kind: 'interrupted', point: 'step' };
    const line = await closeEpoch(ctx, lr);
    const over = s.stopped || s.epoch >= config.epochs;
    await checkpoint(ctx, over ? (s.divergence ? 'diverged' : 'completed') : null);
    if (hooks.crashAt?.('checkpoint', s.step)) return { kind: 'interrupted', point: 'checkpoint' };
    const verdict = await hooks.onEpoch?.(line, { epochs: config.epochs, out: ctx.out });
    if (verdict === 'stop' && !over) return { kind: 'stopped' };
  }
  return { kind: 'ended' };
}

/** Write the run's checkpoint (`finished` once it has ended), the trainer's state brought here first. */
export async function checkpoint(ctx: RunContext, finished: 'completed' | 'diverged' | null): Promise<void> {
  await ctx.trainer.sync?.(ctx.optimizer);
  const { header, arrays } = checkpointOf(ctx.state, ctx, finished);
  writeCheckpoint(ctx.files.checkpoint, header, arrays);
  ctx.state.lastCheckpointStep = ctx.state.step;
  ctx.state.lastCheckpointAt = performance.now();
}

function checkpointDue(ctx: RunContext): boolean {
  const { cadence: c, state: s } = ctx;
  return (
    (c.steps !== undefined && s.step - s.lastCheckpointStep >= c.steps) ||
    (c.seconds !== undefined && (performance.now() - s.lastCheckpointAt) / 1000 >= c.seconds)
  );
}

/** A metrics line: kept in the state (and so in the next checkpoint) and appended to metrics.jsonl. */
function emit(ctx: RunContext, m: MetricLine): void {
  ctx.state.metrics.push(m);
  appendFileSync(ctx.files.metrics, `${stringifyExact(m)}\n`);
}

const toNetBatch = (b: DataBatch) => ({ x: b.x, shape: b.shape, labels: b.labels });

/** The rest of the current epoch's steps; false when a crash point stopped it. */
async function trainSteps(ctx: RunContext, lr: number): Promise<boolean> {
  const { config, state: s } = ctx;
  const order = { batchSize: config.batchSize, seed: config.seed, epoch: s.epoch, shuffle: true, augment: config.augment };
  for (const b of batches(ctx.train, order)) {
    if (b.batch < s.batchInEpoch) continue;
    const t0 = performance.now();
    const r = await ctx.trainer.step(toNetBatch(b), ctx.optimizer, ctx.lossScale);
    const dt = (performance.now() - t0) / 1000;
    s.epochSums.trainSeconds += dt;
    s.trainSecondsTotal += dt;
    s.step++;
    s.sessionSteps++;
    s.batchInEpoch = b.batch + 1;
    addStep(s, r, b.labels.length);
    if (ctx.hooks.crashAt?.('step', s.step)) return false;
    const nonFinite = !Number.isFinite(r.loss);
    if (s.step % config.logEvery === 0 || nonFinite) emitStepLine(ctx, lr);
    reportStep(ctx);
    if (nonFinite && !s.divergence) {
      const reason = `the training loss is ${r.loss} at step ${s.step} (epoch ${s.epoch + 1}, batch ${s.batchInEpoch})`;
      if (diverged(ctx, { kind: 'non-finite-loss', reason, epoch: s.epoch + 1, step: s.step })) break;
    }
    if (s.batchInEpoch < ctx.stepsPerEpoch && checkpointDue(ctx)) await checkpoint(ctx, null);
  }
  return true;
}

function emitStepLine(ctx: RunContext, lr: number): void {
  const { state: s, lossScale } = ctx;
  emit(ctx, {
    kind: 'step',
    epoch: s.epoch + 1,
    step: s.step,
    batch: s.batchInEpoch,
    loss: s.windowSums.lossSum / s.windowSums.steps,
    trainAcc: accuracy(s.windowSums),
    lr,
    seconds: elapsed(s),
    ...(lossScale ? { skipped: s.windowSums.skipped, lossScale: lossScale.scale } : {}),
  });
  s.windowSums = zeroSums();
}

function reportStep(ctx: RunContext): void {
  const { state: s } = ctx;
  ctx.hooks.onStep?.({
    epoch: s.epoch + 1,
    epochs: ctx.config.epochs,
    step: s.step,
    total: ctx.totalSteps,
    startStep: s.startStep,
    loss: s.epochSums.lossSum / s.epochSums.steps,
    acc: accuracy(s.epochSums),
    msPerStep: (performance.now() - (s.sessionStart ?? 0)) / s.sessionSteps,
  });
}

/** Record a divergence; true when the run stops there (no --continue-on-divergence). */
function diverged(ctx: RunContext, d: Divergence): boolean {
  ctx.state.divergence = d;
  ctx.hooks.log?.(`diverged: ${d.reason}${ctx.continueOnDivergence ? '; continuing (--continue-on-divergence)' : ''}`);
  if (!ctx.continueOnDivergence) ctx.state.stopped = true;
  return ctx.state.stopped;
}

/** Mean loss and accuracy on the split evaluated (the validation split when the run has one, else the test set), in inference mode. */
async function evaluate(ctx: RunContext): Promise<{ acc: number; loss: number; evalSeconds: number }> {
  const t0 = performance.now();
  const set = ctx.validation ?? ctx.test;
  let correct = 0;
  let lossSum = 0;
  for (const b of batches(set, { batchSize: ctx.config.batchSize, shuffle: false })) {
    const r = await ctx.trainer.evaluate(toNetBatch(b));
    correct += r.correct;
    lossSum += r.loss * b.labels.length;
  }
  return { acc: correct / set.n, loss: lossSum / set.n, evalSeconds: (performance.now() - t0) / 1000 };
}

/**
 * Evaluate, write the epoch's line, judge it (best so far; at chance after the second epoch means
 * diverged) and move to the next epoch unless the run stops here. A run stopped by a non-finite
 * loss is still evaluated: its final accuracy is that of the model it ended with (the paper's
 * collapsed runs report 9.8%: every image called a 0).
 */
async function closeEpoch(ctx: RunContext, lr: number): Promise<EpochLine> {
  const { config, state: s } = ctx;
  const split = ctx.validation ? 'validation' : 'test';
  ctx.hooks.onStatus?.(`epoch ${s.epoch + 1}/${config.epochs}: evaluating on ${(ctx.validation ?? ctx.test).n} ${split} images…`);
  const { acc, loss, evalSeconds } = await evaluate(ctx);
  const scores = ctx.validation ? { testLoss: null, testAcc: null, valLoss: loss, valAcc: acc } : { testLoss: loss, testAcc: acc };
  s.evalSecondsTotal += evalSeconds;
  const line: EpochLine = {
    kind: 'epoch',
    epoch: s.epoch + 1,
    step: s.step,
    loss: s.epochSums.lossSum / s.epochSums.steps,
    trainAcc: accuracy(s.epochSums),
    ...scores,
    lr,
    seconds: elapsed(s),
    epochSeconds: s.epochSums.trainSeconds + evalSeconds,
    trainSeconds: s.epochSums.trainSeconds,
    evalSeconds,
    steps: s.epochSums.steps,
    ...(ctx.lossScale ? { skipped: s.epochSums.skipped, lossScale: ctx.lossScale.scale } : {}),
    ...(s.stopped ? { partial: true as const } : {}),
  };
  emit(ctx, line);
  ctx.hooks.log?.(epochSummary(ctx, line));
  if (!ctx.validation && (s.best === null || acc > s.best.testAcc)) s.best = { testAcc: acc, epoch: s.epoch + 1 };
  if (ctx.chanceFromEpoch !== null && s.epoch + 1 >= ctx.chanceFromEpoch && acc <= ctx.chance && !s.divergence) {
    const reason = `${split} accuracy ${pct(acc)} after epoch ${s.epoch + 1} is at chance (≤ ${pct(ctx.chance)}: 1.2 × the larger of 1/classes and the most frequent ${split} class)`;
    diverged(ctx, { kind: 'chance', reason, epoch: s.epoch + 1, step: s.step });
  }
  if (!s.stopped) {
    s.epoch++;
    s.batchInEpoch = 0;
    Object.assign(s.epochSums, zeroSums(), { trainSeconds: 0 });
  }
  return line;
}

function epochSummary(ctx: RunContext, line: EpochLine): string {
  const sums = ctx.state.epochSums;
  return (
    `epoch ${line.epoch}/${ctx.config.epochs}: train loss ${fmt(line.loss)}${line.trainAcc === null ? '' : `, acc ${pct(line.trainAcc)}`}` +
    `${line.testAcc === null ? '' : `; test acc ${pct(line.testAcc)} (loss ${fmt(line.testLoss!)})`}` +
    `${line.valAcc == null ? '' : `; validation acc ${pct(line.valAcc)} (loss ${fmt(line.valLoss!)})`}; ${fmtDuration(line.epochSeconds)} ` +
    `(${((1000 * sums.trainSeconds) / Math.max(1, sums.steps)).toFixed(0)} ms/step, eval ${fmtDuration(line.evalSeconds)})`
  );
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : String(x));
