/**
 * The training stage: trainRun(config, hooks) trains one run into one folder and returns its
 * outcome; no argv, no printing (the hooks carry progress and log lines to whoever shows them).
 *
 *   checkpoint.bin   the last checkpoint (./checkpoint.ts), replaced atomically at the end of every
 *                    epoch and every `checkpointEvery` steps or seconds
 *   metrics.jsonl    one line every `logEvery` steps and one per epoch (MetricLine)
 *   result.json      schema 'adzone/train' 1, when the run ends (completed or diverged)
 *   train.lock       while a process trains there (./lock.ts)
 *
 * The order of a run's end makes every kill recoverable: the final checkpoint is written marked
 * finished, then result.json. Resuming a finished run whose result.json is missing (a kill between
 * the two) rebuilds result.json from that checkpoint, which holds every number it reports.
 *
 * Determinism: the numbers of a run are a function of its TrainConfig alone (for one backend and
 * machine architecture): parameters from initParams(spec, seed), batch order and augmentation from
 * src/data's seeded batches(seed, epoch), no other randomness. The data order is stateless (a pure
 * function of seed, epoch and batch index), so the checkpoint's "RNG state" is that position.
 * A checkpoint holds everything else that changes: parameters, BN buffers, optimizer state, loss
 * scale, the epoch's running sums and the metrics so far; resuming from it replays nothing and
 * ends bit for bit where an uninterrupted run ends (timings aside).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { batchCount, type Dataset, type DatasetInfo, datasetByName } from '../data/index.ts';
import { dynamicLossScale, type LossScaler, staticLossScale } from '../engine/lossScale.ts';
import type { Optimizer } from '../engine/optim/index.ts';
import { beta as betaJacobian, choice } from '../jacobians/index.ts';
import { initBuffers, initParams, type ModelOptions, type ModelSpec, modelSpec } from '../models/index.ts';
import { readResultIfPresent, type TrainResult, writeResult } from '../schema/index.ts';
import { carveValidation } from './validation.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { ConfigError, InputError } from '../util/errors.ts';
import { assertWritableDir } from '../util/output.ts';
import { type BackendProcess, createTrainer } from './backend.ts';
import { type Checkpoint, CheckpointError, stringifyExact } from './checkpoint.ts';
import {
  CONFIG_KEYS,
  chanceThreshold,
  checkTrainOptions,
  effectiveStem,
  parseLrSchedule,
  REQUIRED_TRAIN_FIELDS,
  resolveTrainConfig,
  type TrainConfig,
  type TrainOptions,
} from './config.ts';
import { CHECKPOINT_FILE, type CheckpointHeader, checkResumable, openCheckpoint } from './header.ts';
import { lockRun, removeRunTemps } from './lock.ts';
import { type CheckpointCadence, type CrashPoint, type RunContext, type TrainHooks, trainEpochs } from './loop.ts';
import { type TrainOptimizerOptions, trainOptimizer } from './optim.ts';
import { buildResult } from './result.ts';
import { initialState } from './state.ts';

export { CHECKPOINT_FILE, type CheckpointHeader } from './header.ts';
export { LOCK_FILE, RunLockedError, lockRun } from './lock.ts';
export type { CheckpointCadence, CrashPoint, StepProgress, TrainHooks } from './loop.ts';
export type { Divergence, MetricLine, TrainResult } from '../schema/index.ts';

export const METRICS_FILE = 'metrics.jsonl';
export const RESULT_FILE = 'result.json';

/** Keys of a MetricLine that are wall-clock times (the only ones a resumed run may differ in). */
export const TIME_KEYS = ['seconds', 'epochSeconds', 'trainSeconds', 'evalSeconds'] as const;

/** A run: what decides its numbers (TrainOptions, defaults from ./config.ts), where it goes and how it is kept. */
export interface TrainRunConfig extends TrainOptions {
  /** The run's folder. */
  readonly out: string;
  /**
   * Continue from out/checkpoint.bin (options given must match it; those left out are the
   * checkpoint's), or start fresh when there is none. Without it a folder holding a checkpoint is
   * refused. A finished run is not trained again: its result is returned (rebuilt if it was lost).
   */
  readonly resume?: boolean;
  /** Keep training after a NaN/Inf loss or a test accuracy at chance (still recorded as diverged). */
  readonly continueOnDivergence?: boolean;
  /**
   * The first epoch (1-based) whose evaluation at chance ends the run as diverged; null: never (a
   * NaN/Inf loss still does). Default 2. A net that sits on a plateau for its first epochs (VGG11
   * without batch norm) needs a later one; a search's trials use null and let the pruner judge.
   */
  readonly chanceFromEpoch?: number | null;
  /** Default: every 180 s of work. Epoch ends always checkpoint. */
  readonly checkpointEvery?: CheckpointCadence;
  /** Recorded in result.json. Default: adzone's and node's versions. */
  readonly versions?: Record<string, unknown>;
  /** Recorded in result.json (the command that started the run). Default: this call, `trainRun({...})`. */
  readonly command?: string;
  /** How a backend in another process runs (torch: its Python interpreter and threads). */
  readonly backendProcess?: BackendProcess;
}

export type TrainOutcome =
  | {
      readonly status: 'completed' | 'diverged';
      readonly result: TrainResult;
      readonly out: string;
      /** This call continued from a checkpoint. */
      readonly resumed: boolean;
      /** 'now': this call ended it; 'before': it had ended (result.json as it was); 'rebuilt': it had ended, result.json rebuilt from its final checkpoint. */
      readonly ended: 'now' | 'before' | 'rebuilt';
    }
  | { readonly status: 'stopped'; readonly out: string; readonly epoch: number; readonly step: number }
  | { readonly status: 'interrupted'; readonly out: string; readonly step: number; readonly point: CrashPoint };

/** Options given to a resumed run that contradict its checkpoint. */
export class ResumeMismatchError extends ConfigError {
  override name = 'ResumeMismatchError';
  constructor(
    readonly file: string,
    readonly fields: readonly { readonly field: keyof TrainConfig; readonly checkpoint: unknown; readonly given: unknown }[],
  ) {
    super(
      fields[0].field,
      `the checkpoint ${file} was made with ${fields.map((f) => `\`${f.field}\` ${stringifyExact(f.checkpoint)}`).join(', ')}, ` +
        `this run asks for ${fields.map((f) => `\`${f.field}\` ${stringifyExact(f.given)}`).join(', ')}; leave those out to continue the run as it was, or start a new run in another \`out\``,
    );
  }
}

const VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/**
 * Train one run (or continue it, or return it when it had ended). Checks come first: the config
 * (ConfigError), the folder (InputError when it cannot be written), the lock (RunLockedError),
 * the checkpoint (CheckpointError) and the data; nothing is written before they pass.
 */
export async function trainRun(config: TrainRunConfig, hooks: TrainHooks = {}): Promise<TrainOutcome> {
  checkTrainOptions(config);
  checkChanceFromEpoch(config.chanceFromEpoch);
  const fresh = config.resume ? null : resolveTrainConfig(config);
  if (fresh) prepare(fresh);
  const out = resolve(config.out);
  assertWritableDir(out);
  const release = lockRun(out);
  try {
    return await runLocked(out, config, fresh, hooks);
  } finally {
    release();
  }
}

async function runLocked(out: string, rc: TrainRunConfig, fresh: TrainConfig | null, hooks: TrainHooks): Promise<TrainOutcome> {
  const file = join(out, CHECKPOINT_FILE);
  const saved = rc.resume ? openCheckpoint(out) : refuseCheckpoint(out, file);
  const config = saved ? resumedConfig(rc, saved.header.config, file) : (fresh ?? freshInstead(rc, file, hooks));
  const prepared = prepare(config);
  removeRunTemps(out);
  if (saved?.header.finished) {
    const before = priorResult(out, config);
    if (before) return { status: before.status, result: before, out, resumed: true, ended: 'before' };
  }
  const ctx = await openRun({ out, config, prepared, saved, rc, hooks });
  try {
    if (saved?.header.finished) return finish(ctx, rc, { ended: 'rebuilt', resumed: true, continued: continuedPast(saved.header) });
    logStart(ctx, saved !== null);
    const end = await trainEpochs(ctx);
    const { step, epoch } = ctx.state;
    if (end.kind === 'interrupted') return { status: 'interrupted', out, step, point: end.point };
    if (end.kind === 'stopped') return { status: 'stopped', out, epoch, step };
    if (hooks.crashAt?.('result', step)) return { status: 'interrupted', out, step, point: 'result' };
    return finish(ctx, rc, { ended: 'now', resumed: saved !== null, continued: rc.continueOnDivergence === true });
  } finally {
    await ctx.trainer.close?.();
  }
}

function checkChanceFromEpoch(v: unknown): void {
  if (v === undefined || v === null || (typeof v === 'number' && Number.isInteger(v) && v >= 1)) return;
  throw new ConfigError('chanceFromEpoch', `\`chanceFromEpoch\` must be a whole number ≥ 1, or null for never, got ${JSON.stringify(v)}`);
}

function refuseCheckpoint(out: string, file: string): null {
  if (existsSync(file))
    throw new ConfigError(
      'resume',
      `${out} already holds a run's checkpoint (${CHECKPOINT_FILE}): set \`resume\` to continue it, or choose another \`out\``,
    );
  return null;
}

/** resume without a checkpoint: a fresh run, when the options make one. */
function freshInstead(rc: TrainRunConfig, file: string, hooks: TrainHooks): TrainConfig {
  const missing = REQUIRED_TRAIN_FIELDS.filter((k) => rc[k] === undefined);
  if (missing.length)
    throw new ConfigError(
      missing[0],
      `there is no checkpoint at ${file} to resume, and a fresh run needs ${missing.map((m) => `\`${m}\``).join(', ')}`,
    );
  hooks.log?.(`no checkpoint at ${file}: starting from scratch`);
  return resolveTrainConfig(rc);
}

/** The checkpoint's config, when the options given agree with it (compared as resolved, so `0.10` equals `0.1`). */
function resumedConfig(given: TrainOptions, c: TrainConfig, file: string): TrainConfig {
  const asked: Record<string, unknown> = { ...c, ...given };
  let resolved: Record<string, unknown> = asked;
  try {
    resolved = resolveTrainConfig(asked as TrainOptions) as unknown as Record<string, unknown>;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
  }
  const fields = CONFIG_KEYS.filter((k) => given[k] !== undefined && stringifyExact(resolved[k]) !== stringifyExact(c[k])).map((k) => ({
    field: k,
    checkpoint: c[k],
    given: resolved[k],
  }));
  if (fields.length) throw new ResumeMismatchError(file, fields);
  return c;
}

/** The result.json of a run that had ended, when it is there; an InputError when it is there but not this run's. */
function priorResult(out: string, config: TrainConfig): TrainResult | null {
  return readPriorResult(
    out,
    config,
    'run',
    (f) => new InputError(`${f} was made by another run than the checkpoint beside it; move one of them away`, f),
  );
}

/**
 * The result.json in `dir`, or null when there is none. An InputError when it does not read as a
 * train result (remove it to have it rebuilt from `whose` final checkpoint) or was made with
 * another config than `config` (`foreign` says what to do). A run's resume and a tune trial's both read it so.
 */
export function readPriorResult(
  dir: string,
  config: TrainConfig,
  whose: 'run' | 'trial',
  foreign: (file: string) => InputError,
): TrainResult | null {
  const f = join(dir, RESULT_FILE);
  const r = readResultIfPresent(
    f,
    'train',
    (e) => new InputError(`${e.message}; remove it to have it rebuilt from the ${whose}'s final checkpoint`, f),
  );
  if (r && stringifyExact(r.config) !== stringifyExact(config)) throw foreign(f);
  return r;
}

export interface Prepared {
  readonly info: DatasetInfo;
  readonly spec: ModelSpec;
  readonly modelOptions: ModelOptions;
}

/** The model spec for a config and its data set, or a ConfigError saying what does not fit. */
export function prepare(config: TrainConfig): Prepared {
  const info = datasetByName(config.dataset);
  if (!info.available || !info.splits.includes('train')) {
    let why = `${info.name} has no train split here`;
    try {
      info.load('train', { limit: 1 });
    } catch (e) {
      why = (e as Error).message;
    }
    throw new ConfigError('dataset', `\`dataset\` ${info.name} cannot be trained on: ${why}`);
  }
  const opts: { -readonly [K in keyof ModelOptions]: ModelOptions[K] } = { classes: info.classes, input: info.shape };
  if (config.width !== null) opts.width = config.width;
  // ResNet18 takes torchvision's ImageNet stem (7×7/2 conv + 3×3/2 MaxPool) on ImageNet images, the CIFAR stem otherwise
  if (config.stem !== undefined && config.model !== 'resnet18')
    throw new ConfigError('stem', `\`stem\` is resnet18's (its first layers); ${config.model} has none`);
  const stem = effectiveStem({ model: config.model, dataset: info.name, stem: config.stem });
  if (config.stem !== undefined || stem === 'imagenet') opts.stem = stem;
  if (config.batchNorm) opts.batchNorm = true;
  else if (config.model === 'resnet18') opts.batchNorm = false;
  try {
    return { info, spec: modelSpec(config.model, opts), modelOptions: opts };
  } catch (e) {
    throw new ConfigError(
      'model',
      `\`model\` ${config.model} on \`dataset\` ${info.name} (${info.shape.join('×')} images, ${info.classes} classes): ${(e as Error).message}`,
    );
  }
}

/** A run's data, with the limits checked against what the splits hold; with `validation`, the train split carved in two. */
function loadData(config: TrainConfig, info: DatasetInfo): { train: Dataset; test: Dataset; validation: Dataset | null } {
  const train = info.load('train', config.limitTrain !== null ? { limit: config.limitTrain } : {});
  const test = info.load('test', config.limitTest !== null ? { limit: config.limitTest } : {});
  for (const [field, limit, split] of [
    ['limitTrain', config.limitTrain, train],
    ['limitTest', config.limitTest, test],
  ] as const) {
    if (limit !== null && split.n < limit)
      throw new ConfigError(
        field,
        `\`${field}\` ${limit} is more than the ${split.n} images of ${info.name}'s ${field === 'limitTrain' ? 'train' : 'test'} split; leave it out to use them all`,
      );
  }
  if (!config.validation) return { train, test, validation: null };
  const carved = carveValidation(train, config.validation);
  if (carved.validation.n === 0)
    throw new ConfigError(
      'validation',
      `\`validation\` fraction ${config.validation.fraction} of ${train.n} train images leaves no validation image`,
    );
  return { ...carved, test };
}

function makeLossScale(config: TrainConfig, saved: CheckpointHeader['lossScale']): LossScaler | null {
  if (config.lossScale === 'none') return null;
  if (config.lossScale === 'dynamic') {
    const s = dynamicLossScale(saved ? { initScale: saved.scale } : {});
    if (saved) (s as { growthTracker: number }).growthTracker = saved.growthTracker;
    return s;
  }
  return staticLossScale(config.lossScale);
}

/** The optimizer a config asks for (Adam's β1, β2 and ε are trainOptimizer's defaults). */
function optimizerOptions(config: TrainConfig): TrainOptimizerOptions {
  return {
    kind: config.optimizer,
    lr: config.lr,
    momentum: config.optimizer === 'sgd' ? config.momentum : 0,
    weightDecay: config.weightDecay,
    masterWeights: config.masterWeights,
  };
}

function makeOptimizer(config: TrainConfig, saved: Checkpoint<CheckpointHeader> | null, file: string): Optimizer {
  const optimizer = trainOptimizer(optimizerOptions(config));
  if (!saved) return optimizer;
  const arrays = new Map<string, Float64Array>();
  for (const [k, v] of saved.arrays) if (k.startsWith('opt/')) arrays.set(k.slice(4), v);
  try {
    optimizer.importState(saved.header.optimizer, arrays);
  } catch (e) {
    throw new CheckpointError(file, `has an optimizer state that cannot be restored: ${(e as Error).message}`);
  }
  return optimizer;
}

interface OpenArgs {
  readonly out: string;
  readonly config: TrainConfig;
  readonly prepared: Prepared;
  readonly saved: Checkpoint<CheckpointHeader> | null;
  readonly rc: TrainRunConfig;
  readonly hooks: TrainHooks;
}

/** Everything a run trains with: data, trainer, optimizer, state (fresh or from the checkpoint), checked. */
async function openRun(a: OpenArgs): Promise<RunContext> {
  const { config, saved, out } = a;
  const { info, spec } = a.prepared;
  const files = { checkpoint: join(out, CHECKPOINT_FILE), metrics: join(out, METRICS_FILE), result: join(out, RESULT_FILE) };
  const { train, test, validation } = loadData(config, info);
  const stepsPerEpoch = batchCount(train.n, config.batchSize);
  const params = initParams(spec, config.seed);
  const buffers = initBuffers(spec);
  if (saved) checkResumable(files.checkpoint, saved, { params, buffers, stepsPerEpoch });
  const pick = (prefix: string, names: readonly string[]) => new Map(names.map((n) => [n, saved!.arrays.get(`${prefix}/${n}`)!] as const));
  const trainer = await createTrainer({
    backend: config.backend,
    precision: config.precision,
    mode: config.mode,
    jacobian: choice(betaJacobian(config.beta), config.reluAlpha, config.betaMode),
    spec,
    params: saved ? pick('param', saved.header.params) : params,
    buffers: saved ? pick('buffer', saved.header.buffers) : buffers,
    optimizer: optimizerOptions(config),
    ...(config.device ? { device: config.device } : {}),
    ...(a.rc.backendProcess ? { process: a.rc.backendProcess } : {}),
  });
  const state = initialState(saved?.header ?? null, a.rc.command ?? `trainRun(${stringifyExact(config)})`);
  // metrics.jsonl holds exactly the checkpoint's lines (a line torn by a kill is gone), then grows line by line.
  writeFileAtomic(files.metrics, state.metrics.map((m) => `${stringifyExact(m)}\n`).join(''));
  return {
    config,
    out,
    files,
    info,
    spec,
    train,
    test,
    validation,
    chance: chanceThreshold(info.classes, (validation ?? test).labels),
    chanceFromEpoch: a.rc.chanceFromEpoch === undefined ? 2 : a.rc.chanceFromEpoch,
    stepsPerEpoch,
    totalSteps: stepsPerEpoch * config.epochs,
    schedule: parseLrSchedule(config.lrSchedule),
    trainer,
    optimizer: makeOptimizer(config, saved, files.checkpoint),
    lossScale: makeLossScale(config, saved?.header.lossScale ?? null),
    state,
    cadence: a.rc.checkpointEvery ?? { seconds: 180 },
    continueOnDivergence: a.rc.continueOnDivergence === true,
    hooks: a.hooks,
  };
}

function logStart(ctx: RunContext, resumed: boolean): void {
  const { config, spec, info, train, test, state: s, stepsPerEpoch, totalSteps } = ctx;
  const log = ctx.hooks.log ?? (() => {});
  if (resumed)
    log(
      `resuming from ${ctx.files.checkpoint}: epoch ${s.epoch + 1}, batch ${s.batchInEpoch} of ${stepsPerEpoch}, step ${s.step} of ${totalSteps}`,
    );
  log(
    `training ${spec.name}${spec.variant ? `/${spec.variant}` : ''} on ${info.name} (${train.n} train, ${test.n} test images): ${config.backend} at ${config.precision} bits (${config.mode}), ` +
      `β = ${config.beta} (${config.betaMode}), ${ctx.optimizer.name}, ${config.epochs} epoch${config.epochs > 1 ? 's' : ''} of ${stepsPerEpoch} steps`,
  );
}

/** Write result.json of a run that has ended (its final checkpoint is already on disk). */
function finish(
  ctx: RunContext,
  rc: TrainRunConfig,
  o: { readonly ended: 'now' | 'rebuilt'; readonly resumed: boolean; readonly continued: boolean },
): TrainOutcome {
  const result = buildResult(ctx, { versions: rc.versions ?? { adzone: VERSION, node: process.version }, continued: o.continued });
  writeResult(ctx.files.result, 'train', result);
  return { status: result.status, result, out: ctx.out, resumed: o.resumed, ended: o.ended };
}

/** Whether a run that ended went on past its divergence: as its last session said, else as its steps show. */
function continuedPast(h: CheckpointHeader): boolean {
  return h.continueOnDivergence ?? (h.divergence !== null && h.position.step > h.divergence.step);
}
