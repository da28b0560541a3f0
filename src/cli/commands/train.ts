/**
 * `adzone train`: option parsing for the training ablations (strict: an unknown option or a bad
 * value is a UsageError, exit 2), resume bookkeeping, then runTrain (./run.ts).
 */

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DataError, datasetByName } from '../../data/index.ts';
import { MAX_THREADS, setThreads } from '../../engine/kernels/threads.ts';
import type { Accumulate } from '../../engine/types.ts';
import { MODEL_NAMES } from '../../models/index.ts';
import { CheckpointError, stringifyExact } from '../../train/checkpoint.ts';
import {
  CONFIG_KEYS,
  checkBackend,
  defaultBackend,
  defaultMode,
  type LossScaleConfig,
  parseLrSchedule,
  type RunBackend,
  scheduleName,
  TRAIN_BACKENDS,
  type TrainBackendId,
  type TrainConfig,
  TrainConfigError,
  type TrainPrecision,
} from '../../train/config.ts';
import { fmtDuration, trainProgress } from '../../train/progress.ts';
import {
  CHECKPOINT_FILE,
  type CheckpointCadence,
  loadCheckpoint,
  prepare,
  RESULT_FILE,
  RunLockedError,
  type RunOutcome,
  runTrain,
} from '../../train/run.ts';
import { UsageError } from '../args.ts';

export const TRAIN_HELP = `adzone train — train a network with MaxPool Jacobian β and report test accuracy per epoch (the paper's ablations, docs/DESIGN.md §4)

Required:
  --model NAME          ${MODEL_NAMES.join(', ')}
  --dataset NAME        mnist, cifar10, svhn (once fetched: adzone data fetch svhn), imagenet-sample (the 1,000-image
                        ImageNet sample as train and test split: smoke runs only; resnet18 takes the ImageNet stem on it)
  --beta B              MaxPool Jacobian β(B) = B·minnorm + (1 − B)·first, an integer (0 = first; the paper: 0, 1, 10, 100, 1000, 10000)
  --precision P         16, 32 or 64
  --epochs E

Backend and arithmetic:
  --mode M              strict (every op rounded to p) or wide (float32/64 inside an op, output rounded to p).
                        Default: wide at 16 bits on tfjs, tfjs's own float32 at 32, strict on the engine
  --backend ID          tfjs-wasm, tfjs-cpu, engine (tfjs-node: not usable here). Default from precision and mode:
                        tfjs-wasm for 32 bits and 16-bit wide; the engine for 64 bits, 16-bit strict and 32 bits with --mode
  --beta-mode M         backward (β in the backward pass only; default) or mixed-forward (the paper's code)
  --relu-alpha A        ReLU'(0), in [0, 1] (default 0)
  --loss-scale S        none (default), dynamic (GradScaler: 2^16, halve on overflow, double every 2000 steps) or a number; engine only
  --master-weights W    p (default: the optimizer updates the p-weights) or 32 (fp32 master weights for 16-bit runs)

Optimisation:
  --optimizer O         sgd (default) or adam
  --lr X                learning rate (default 0.01 for sgd, 0.001 for adam)
  --momentum X          SGD momentum (default 0.9)
  --weight-decay X      L2 added to the gradient (default 0)
  --lr-schedule S       none (default), step:EPOCHS:GAMMA or cosine, per epoch
  --batch-size N        default 64 for lenet5, 128 for vgg11 and resnet18
  --seed S              initialisation, batch order and augmentation (default 1); nothing else is random
  --batch-norm          insert batch norm (after every conv of lenet5 / vgg11 / resnet18; resnet18 without it has none)
  --width W             channel multiplier for vgg11 / resnet18, e.g. 0.25 or 1/4
  --stem S              resnet18: imagenet (7×7/2 conv + 3×3/2 MaxPool, torchvision's) or cifar (3×3 conv, no MaxPool);
                        default imagenet on ImageNet images, cifar otherwise (so β does nothing in resnet18 on CIFAR unless --stem imagenet)
  --augment / --no-augment  random crop 4 + flip on the train split (default: on for cifar10, off otherwise)
  --limit-train N       use the first N train images (default all)
  --limit-test N        use the first N test images (default all)

Output and control:
  --out DIR             default reports/train/<model>-<dataset>-p<precision>-<mode>-beta<B>-<optimizer>-seed<S>
  --resume              continue from DIR/checkpoint.bin (bit for bit); options may be left out, given ones must match
  --checkpoint-every C  N steps, or a time such as 90s or 3m (default 3m); and at the end of every epoch
  --log-every K         a metrics line every K steps (default 50)
  --continue-on-divergence  keep training after a NaN/Inf loss or a test accuracy at chance (still recorded as diverged)
  --threads N           threads for the engine's conv/linear kernels (default: ADZONE_THREADS, else the
                        available cores); results are bit-identical for any count
  --quiet               no progress bar

Writes DIR/metrics.jsonl (a line every K steps and every epoch), DIR/checkpoint.bin and DIR/result.json
(schema 'adzone/train' 1: config, status completed | diverged, final and best test accuracy, per-epoch metrics,
timings, versions).

Example: adzone train --model lenet5 --dataset mnist --beta 0 --precision 32 --epochs 1`;

/** Whether a package resolves from here (without loading it, and without loading tfjs). */
function isInstalled(pkg: string): boolean {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

type Given = { -readonly [K in keyof TrainConfig]?: TrainConfig[K] };

function num(name: string, v: string, { min = -Infinity, max = Infinity, integer = false, exclusiveMin = false } = {}): number {
  const s = v.trim();
  const n = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s) ? Number(s) : NaN;
  const okMin = exclusiveMin ? n > min : n >= min;
  if (!Number.isFinite(n) || !okMin || n > max || (integer && !Number.isInteger(n))) {
    const range = `${exclusiveMin ? '>' : '≥'} ${min}${max < Infinity ? ` and ≤ ${max}` : ''}`;
    throw new UsageError(`--${name} must be ${integer ? 'an integer' : 'a number'} ${range}, got '${v}'`);
  }
  return n;
}

function choiceOf<T extends string>(name: string, v: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(v)) throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, got '${v}'`);
  return v as T;
}

function parseWidth(v: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(\d+(?:\.\d+)?))?\s*$/.exec(v);
  const w = m ? Number(m[1]) / (m[2] === undefined ? 1 : Number(m[2])) : NaN;
  if (!(w > 0 && Number.isFinite(w)))
    throw new UsageError(`--width must be a positive number such as 0.25 or 1/4 (a channel multiplier), got '${v}'`);
  return w;
}

function parseCadence(v: string): CheckpointCadence {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$/.exec(v);
  if (!m || Number(m[1]) <= 0 || (!m[2] && !Number.isInteger(Number(m[1])))) {
    throw new UsageError(`--checkpoint-every must be a number of steps (e.g. 500) or a time (e.g. 90s, 3m, 1h), got '${v}'`);
  }
  if (!m[2]) return { steps: Number(m[1]) };
  return { seconds: Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1) };
}

function parseLossScale(v: string): LossScaleConfig {
  if (v === 'none' || v === 'dynamic') return v;
  return num('loss-scale', v, { min: 0, exclusiveMin: true });
}

export interface TrainCommandOptions {
  readonly version: string;
  /** Test hook passed to runTrain. */
  readonly afterStep?: (step: number) => boolean;
}

/** A train command line, parsed and checked: the options given (canonical), before defaults. */
export interface ParsedTrainArgv {
  readonly values: ReturnType<typeof parseTrainValues>;
  readonly given: Given;
  readonly optimizer: 'sgd' | 'adam';
  readonly cadence: CheckpointCadence;
}

function parseTrainValues(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      dataset: { type: 'string' },
      beta: { type: 'string' },
      precision: { type: 'string' },
      mode: { type: 'string' },
      backend: { type: 'string' },
      epochs: { type: 'string' },
      'batch-size': { type: 'string' },
      optimizer: { type: 'string' },
      lr: { type: 'string' },
      momentum: { type: 'string' },
      'weight-decay': { type: 'string' },
      'batch-norm': { type: 'boolean' },
      width: { type: 'string' },
      stem: { type: 'string' },
      'lr-schedule': { type: 'string' },
      seed: { type: 'string' },
      'beta-mode': { type: 'string' },
      'relu-alpha': { type: 'string' },
      'loss-scale': { type: 'string' },
      'master-weights': { type: 'string' },
      augment: { type: 'boolean' },
      'no-augment': { type: 'boolean' },
      'limit-train': { type: 'string' },
      'limit-test': { type: 'string' },
      'log-every': { type: 'string' },
      out: { type: 'string' },
      resume: { type: 'boolean' },
      'checkpoint-every': { type: 'string' },
      'continue-on-divergence': { type: 'boolean' },
      quiet: { type: 'boolean' },
      threads: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  return values;
}

/**
 * Parse and check `adzone train` options (UsageError on an unknown option or a bad value). Used by
 * the command and by `adzone ablate`, whose grid cells are train command lines.
 */
export function parseTrainArgv(argv: string[]): ParsedTrainArgv {
  const values = parseTrainValues(argv);
  // --- what the command line says, canonical
  const g: Given = {};
  if (values.model !== undefined) g.model = choiceOf('model', values.model, MODEL_NAMES);
  if (values.dataset !== undefined) {
    try {
      g.dataset = datasetByName(values.dataset).name;
    } catch (e) {
      throw new UsageError(`--dataset: ${(e as Error).message}`);
    }
  }
  if (values.beta !== undefined) g.beta = num('beta', values.beta, { min: 0, max: 1e6, integer: true });
  if (values.precision !== undefined) g.precision = choiceOf<TrainPrecision>('precision', values.precision, ['16', '32', '64']);
  const modeGiven = values.mode === undefined ? undefined : choiceOf<Accumulate>('mode', values.mode, ['strict', 'wide']);
  const backendGiven = values.backend === undefined ? undefined : choiceOf<TrainBackendId>('backend', values.backend, TRAIN_BACKENDS);
  if (values.epochs !== undefined) g.epochs = num('epochs', values.epochs, { min: 1, max: 100_000, integer: true });
  if (values['batch-size'] !== undefined) g.batchSize = num('batch-size', values['batch-size'], { min: 1, max: 65_536, integer: true });
  if (values.optimizer !== undefined) g.optimizer = choiceOf('optimizer', values.optimizer, ['sgd', 'adam'] as const);
  if (values.lr !== undefined) g.lr = num('lr', values.lr, { min: 0, exclusiveMin: true });
  if (values.momentum !== undefined) g.momentum = num('momentum', values.momentum, { min: 0, max: 1 });
  if (values['weight-decay'] !== undefined) g.weightDecay = num('weight-decay', values['weight-decay'], { min: 0 });
  if (values['batch-norm']) g.batchNorm = true;
  if (values.width !== undefined) g.width = parseWidth(values.width);
  if (values.stem !== undefined) g.stem = choiceOf('stem', values.stem, ['cifar', 'imagenet'] as const);
  if (values['lr-schedule'] !== undefined) {
    try {
      g.lrSchedule = scheduleName(parseLrSchedule(values['lr-schedule']));
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  if (values.seed !== undefined) g.seed = num('seed', values.seed, { min: 0, max: 2 ** 31 - 1, integer: true });
  if (values['beta-mode'] !== undefined) g.betaMode = choiceOf('beta-mode', values['beta-mode'], ['backward', 'mixed-forward'] as const);
  if (values['relu-alpha'] !== undefined) g.reluAlpha = num('relu-alpha', values['relu-alpha'], { min: 0, max: 1 });
  if (values['loss-scale'] !== undefined) g.lossScale = parseLossScale(values['loss-scale']);
  if (values['master-weights'] !== undefined) g.masterWeights = choiceOf('master-weights', values['master-weights'], ['p', '32'] as const);
  if (values.augment && values['no-augment']) throw new UsageError('--augment and --no-augment contradict each other');
  if (values.augment) g.augment = true;
  if (values['no-augment']) g.augment = false;
  if (values['limit-train'] !== undefined) g.limitTrain = num('limit-train', values['limit-train'], { min: 1, integer: true });
  if (values['limit-test'] !== undefined) g.limitTest = num('limit-test', values['limit-test'], { min: 1, integer: true });
  if (values['log-every'] !== undefined) g.logEvery = num('log-every', values['log-every'], { min: 1, integer: true });
  const cadence = values['checkpoint-every'] === undefined ? { seconds: 180 } : parseCadence(values['checkpoint-every']);

  // --- precision, mode and backend
  if (g.precision !== undefined) {
    let backend: RunBackend;
    try {
      backend =
        backendGiven !== undefined
          ? checkBackend(backendGiven, g.precision, modeGiven, isInstalled)
          : defaultBackend(g.precision, modeGiven);
    } catch (e) {
      if (e instanceof TrainConfigError) throw new UsageError(e.message);
      throw e;
    }
    g.backend = backend;
    g.mode = modeGiven ?? defaultMode(g.precision, backend);
  } else if (modeGiven !== undefined || backendGiven !== undefined) {
    if (!values.resume) throw new UsageError('--mode and --backend need --precision');
    // resuming: compared with the checkpoint's as given
    if (modeGiven !== undefined) g.mode = modeGiven;
    if (backendGiven !== undefined) g.backend = backendGiven as TrainConfig['backend'];
  }
  const optimizer = g.optimizer ?? 'sgd';
  if (optimizer === 'adam' && g.momentum !== undefined)
    throw new UsageError("--momentum is SGD's; Adam's β1 is 0.9 (drop --momentum or use --optimizer sgd)");
  if (g.lossScale !== undefined && g.lossScale !== 'none' && g.backend !== undefined && g.backend !== 'engine') {
    throw new UsageError(
      `--loss-scale ${g.lossScale} runs on the engine only (tfjs's model twins take the gradient of the loss itself); add --backend engine`,
    );
  }
  return { values, given: g, optimizer, cadence };
}

/**
 * The default mini-batch: 64 for LeNet-5 (with SGD lr 0.01, momentum 0.9 one epoch reaches 97.40% on
 * the MNIST test set on tfjs-wasm at 32 bits, where batch 128 reaches 95.84%: the paper's N(0, 0.01)
 * init of the linear layers keeps the loss flat for the first ~150 steps), 128 for the CIFAR nets.
 */
export function defaultBatchSize(model: string): number {
  return model.startsWith('lenet5') ? 64 : 128;
}

/** The options that decide a fresh run's numbers, with the defaults filled in (in CONFIG_KEYS order). */
export function freshConfig(g: Given, optimizer: 'sgd' | 'adam'): TrainConfig {
  const required = ['model', 'dataset', 'beta', 'precision', 'epochs'] as const;
  const missing = required.filter((k) => g[k] === undefined);
  if (missing.length)
    throw new UsageError(
      `train needs ${missing.map((m) => `--${m}`).join(', ')} (e.g. adzone train --model lenet5 --dataset mnist --beta 0 --precision 32 --epochs 1)`,
    );
  const config: TrainConfig = {
    model: g.model!,
    dataset: g.dataset!,
    beta: g.beta!,
    betaMode: g.betaMode ?? 'backward',
    reluAlpha: g.reluAlpha ?? 0,
    precision: g.precision!,
    mode: g.mode!,
    backend: g.backend!,
    epochs: g.epochs!,
    batchSize: g.batchSize ?? defaultBatchSize(g.model!),
    optimizer,
    lr: g.lr ?? (optimizer === 'sgd' ? 0.01 : 0.001),
    momentum: optimizer === 'sgd' ? (g.momentum ?? 0.9) : 0,
    weightDecay: g.weightDecay ?? 0,
    lrSchedule: g.lrSchedule ?? 'none',
    masterWeights: g.masterWeights ?? 'p',
    lossScale: g.lossScale ?? 'none',
    batchNorm: g.batchNorm ?? false,
    width: g.width ?? null,
    ...(g.stem !== undefined ? { stem: g.stem } : {}),
    augment: g.augment ?? g.dataset === 'cifar10',
    seed: g.seed ?? 1,
    limitTrain: g.limitTrain ?? null,
    limitTest: g.limitTest ?? null,
    logEvery: g.logEvery ?? 50,
  };
  // the order of CONFIG_KEYS, so result.json reads in a fixed order
  return Object.fromEntries(CONFIG_KEYS.filter((k) => config[k] !== undefined).map((k) => [k, config[k]])) as unknown as TrainConfig;
}

export async function trainCommand(argv: string[], { version, afterStep }: TrainCommandOptions): Promise<number> {
  if (parseTrainValues(argv).help) {
    console.log(TRAIN_HELP);
    return 0;
  }
  const { values, given: g, optimizer, cadence } = parseTrainArgv(argv);
  if (values.threads !== undefined) setThreads(num('threads', values.threads, { min: 1, max: MAX_THREADS, integer: true }));

  // --- the folder and the checkpoint in it
  const defaultOut = () =>
    join(
      'reports',
      'train',
      `${g.model}-${g.dataset}-p${g.precision}-${g.mode}-beta${g.beta}-${optimizer}-seed${g.seed ?? 1}`.replace(/[^A-Za-z0-9._-]/g, '_'),
    );
  const required = ['model', 'dataset', 'beta', 'precision', 'epochs'] as const;
  const missing = required.filter((k) => g[k] === undefined);
  if (values.out === undefined && missing.length) {
    throw new UsageError(
      `train needs ${missing.map((m) => `--${m}`).join(', ')}${values.resume ? ' (or --out DIR of the run to resume)' : ''} (e.g. adzone train --model lenet5 --dataset mnist --beta 0 --precision 32 --epochs 1)`,
    );
  }
  const out = resolve(values.out ?? defaultOut());
  const ckptFile = join(out, CHECKPOINT_FILE);
  let resumeFrom = null;
  if (values.resume) {
    try {
      resumeFrom = loadCheckpoint(out);
    } catch (e) {
      if (e instanceof CheckpointError) {
        process.stderr.write(`adzone: ${e.message}\n`);
        return 1;
      }
      throw e;
    }
    if (!resumeFrom) {
      if (missing.length)
        throw new UsageError(
          `--resume: there is no checkpoint at ${ckptFile}, and a fresh run needs ${missing.map((m) => `--${m}`).join(', ')}`,
        );
      process.stderr.write(`no checkpoint at ${ckptFile}: starting from scratch\n`);
    }
  } else if (existsSync(ckptFile)) {
    throw new UsageError(
      `${out} already holds a run's checkpoint (${CHECKPOINT_FILE}): pass --resume to continue it, or choose another --out`,
    );
  }

  let config: TrainConfig;
  if (resumeFrom) {
    const c = resumeFrom.header.config;
    const differ = (Object.keys(g) as (keyof TrainConfig)[]).filter((k) => stringifyExact(g[k]) !== stringifyExact(c[k]));
    if (differ.length) {
      throw new UsageError(
        `--resume: the checkpoint ${ckptFile} was made with ${differ.map((k) => `${k} ${stringifyExact(c[k])}`).join(', ')}, the command line says ${differ.map((k) => `${k} ${stringifyExact(g[k])}`).join(', ')}; ` +
          'leave those options out to continue the run as it was, or start a new run in another --out',
      );
    }
    config = c;
  } else {
    config = freshConfig(g, optimizer);
  }
  try {
    prepare(config);
  } catch (e) {
    if (e instanceof TrainConfigError) throw new UsageError(e.message);
    throw e;
  }

  const progress = trainProgress(values.quiet === true);
  let outcome: RunOutcome;
  try {
    outcome = await runTrain({
      config,
      out,
      resumeFrom,
      continueOnDivergence: values['continue-on-divergence'] === true,
      checkpointEvery: cadence,
      progress,
      versions: { adzone: version, node: process.version },
      command: `adzone train ${argv.join(' ')}`.trim(),
      ...(afterStep ? { afterStep } : {}),
    });
  } catch (e) {
    progress.done();
    if (e instanceof RunLockedError) {
      process.stderr.write(`adzone: ${e.message}\n`);
      return 2;
    }
    if (e instanceof DataError || e instanceof CheckpointError) {
      process.stderr.write(`adzone: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  switch (outcome.status) {
    case 'already-finished':
      console.log(`the run in ${out} has already ended (${outcome.finished}); see ${join(out, RESULT_FILE)}`);
      return 0;
    case 'interrupted':
      return 1;
    default: {
      const r = outcome.result;
      const best = r.bestTestAcc ? `, best ${(100 * r.bestTestAcc.testAcc).toFixed(2)}% at epoch ${r.bestTestAcc.epoch}` : '';
      const fin = r.finalTestAcc === null ? 'no test accuracy' : `final test accuracy ${(100 * r.finalTestAcc).toFixed(2)}%`;
      const why = r.divergence ? ` (${r.divergence.reason})` : '';
      console.log(
        `${r.status}${why}: ${fin}${best}; ${r.timings.steps} steps in ${fmtDuration(r.timings.totalSeconds)} (${r.timings.meanStepMs.toFixed(0)} ms/step); wrote ${join(out, RESULT_FILE)}`,
      );
      return 0;
    }
  }
}
