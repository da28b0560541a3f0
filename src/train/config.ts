/**
 * What a training run is: the options that decide its numbers (TrainConfig), their defaults (all
 * here, TRAIN_DEFAULTS), the checks that turn a caller's TrainOptions into a TrainConfig (each bad
 * field a ConfigError in the config's own words: `limitTrain`, never --limit-train), the
 * learning-rate schedule and the chance level that marks a collapsed run.
 *
 * Backends (docs/DESIGN.md §4 ablations), chosen from precision and mode when not given:
 *   precision 32, no mode              tfjs-wasm (tfjs's own float32 arithmetic: mode 'framework')
 *   precision 16, mode wide (default)  tfjs-wasm, 16-bit `wide` emulated by rounding every op output to binary16
 *   precision 16, mode strict          engine (every product and sum rounded to binary16)
 *   precision 64, bf16                 engine
 *   precision 32 with mode strict|wide engine (only the engine has those two modes at 32 bits)
 *   backend torch (never a default)    PyTorch in a Python process, its own arithmetic (mode framework), `device` cpu or cuda
 * What each backend can compute is said by its descriptor (./backend.ts), so a new backend brings
 * its own rule. Messages name other fields in backticks (`backend`), so that the command line can
 * put its option names in their place.
 */
import { createRequire } from 'node:module';
import { datasetByName } from '../data/index.ts';
import { MODEL_NAMES } from '../models/index.ts';
import { BETA_MODES } from '../schema/verify.ts';
import { TRAIN_DEVICES, TRAIN_PRECISIONS, type TrainConfig } from '../schema/train.ts';
import { ConfigError } from '../util/errors.ts';
import { trainBackend, unsupportedBackend, type RunBackend, type TrainBackendId, type TrainMode, type TrainPrecision } from './backend.ts';

export type { TrainConfig } from '../schema/train.ts';
export { effectiveStem } from '../schema/train.ts';
export { TRAIN_BACKENDS, type RunBackend, type TrainBackendId, type TrainMode, type TrainPrecision } from './backend.ts';

export type LossScaleConfig = TrainConfig['lossScale'];

/**
 * What a caller sets: any field of a TrainConfig, most of them optional. `mode` 'framework' and
 * the backend may be left to the defaults; a TrainConfig is itself a complete TrainOptions and
 * resolves to itself.
 */
export type TrainOptions = {
  readonly [K in keyof TrainConfig]?: K extends 'backend' ? TrainBackendId : TrainConfig[K];
};

/** The fields a fresh run cannot do without. */
export const REQUIRED_TRAIN_FIELDS = ['model', 'dataset', 'precision', 'epochs'] as const;

/** The defaults of every optional field, in one place. */
export const TRAIN_DEFAULTS = {
  /** β = 0 is the `first` member, what PyTorch, TensorFlow and tfjs do. */
  beta: 0,
  betaMode: 'backward',
  reluAlpha: 0,
  optimizer: 'sgd',
  /** By optimizer. */
  lr: { sgd: 0.01, adam: 0.001 },
  /** SGD's; Adam records 0 (its β1 is 0.9). */
  momentum: 0.9,
  weightDecay: 0,
  lrSchedule: 'none',
  masterWeights: 'p',
  lossScale: 'none',
  batchNorm: false,
  width: null,
  seed: 1,
  limitTrain: null,
  limitTest: null,
  logEvery: 50,
} as const;

/** Upper bounds of the integer fields (beyond them a run is a typo, not an experiment). */
export const TRAIN_LIMITS = { beta: 1_000_000, epochs: 100_000, batchSize: 65_536, seed: 2 ** 31 - 1, images: 1_000_000_000 } as const;

/**
 * The default mini-batch: 64 for LeNet-5 (with SGD lr 0.01, momentum 0.9 one epoch reaches 97.40% on
 * the MNIST test set on tfjs-wasm at 32 bits, where batch 128 reaches 95.84%: the paper's N(0, 0.01)
 * init of the linear layers keeps the loss flat for the first ~150 steps), 128 for the CIFAR nets.
 */
export function defaultBatchSize(model: string): number {
  return model.startsWith('lenet5') ? 64 : 128;
}

/** The CIFAR recipe (random crop 4 + flip) is on by default for cifar10 only. */
export const defaultAugment = (dataset: string): boolean => dataset === 'cifar10';

/** The backend a precision and mode default to. */
export function defaultBackend(precision: TrainPrecision, mode: TrainMode | undefined): RunBackend {
  if (precision === '64' || precision === 'bf16') return 'engine';
  if (mode === 'framework') return 'tfjs-wasm';
  if (precision === '16') return mode === 'strict' ? 'engine' : 'tfjs-wasm';
  return mode === undefined ? 'tfjs-wasm' : 'engine';
}

/** The mode of a (precision, backend) when none is asked for: tfjs's own (32) or wide (16) on tfjs, strict on the engine. */
export function defaultMode(precision: TrainPrecision, backend: RunBackend): TrainMode {
  return trainBackend(backend).defaultMode(precision);
}

/** Whether a package resolves from here (without loading it). */
function isInstalled(pkg: string): boolean {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

/** The backend and mode a run computes with; ConfigError saying which backend can when the asked one cannot. */
export function resolveBackend(
  precision: TrainPrecision,
  mode: TrainMode | undefined,
  backend: TrainBackendId | undefined,
): { backend: RunBackend; mode: TrainMode } {
  if (backend === 'tfjs-node') {
    const why = isInstalled('@tensorflow/tfjs-node')
      ? "the tfjs model twins (src/backends/tfjs/models.ts) run on tfjs's cpu and wasm backends only"
      : '@tensorflow/tfjs-node is not installed here';
    throw new ConfigError(
      'backend',
      `\`backend\` tfjs-node: ${why}; use \`backend\` tfjs-wasm (the same tfjs model, float32) or \`backend\` engine`,
    );
  }
  const b = backend ?? defaultBackend(precision, mode);
  const why = unsupportedBackend(b, precision, mode);
  if (why) throw new ConfigError(mode !== undefined && backend === undefined ? 'mode' : 'backend', why);
  return { backend: b, mode: mode ?? defaultMode(precision, b) };
}

// ---------------------------------------------------------------------------------------------
// Learning-rate schedules (per epoch, as PyTorch's StepLR / CosineAnnealingLR stepped each epoch)

export type LrSchedule =
  | { readonly kind: 'none' }
  | { readonly kind: 'step'; readonly every: number; readonly gamma: number }
  | { readonly kind: 'cosine' };

export function parseLrSchedule(s: string): LrSchedule {
  const t = String(s).trim();
  if (t === 'none') return { kind: 'none' };
  if (t === 'cosine') return { kind: 'cosine' };
  const m = /^step:(\d+):([0-9]*\.?[0-9]+(?:[eE][+-]?\d+)?)$/.exec(t);
  if (m && Number(m[1]) >= 1 && Number(m[2]) > 0) return { kind: 'step', every: Number(m[1]), gamma: Number(m[2]) };
  throw new ConfigError(
    'lrSchedule',
    `\`lrSchedule\` must be none, cosine or step:EPOCHS:GAMMA (e.g. step:30:0.1: multiply the lr by 0.1 every 30 epochs), got '${s}'`,
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

/** The options that change a run's numbers, in the order the CLI prints them and result.json lists them. */
export const CONFIG_KEYS: readonly (keyof TrainConfig)[] = [
  'model',
  'dataset',
  'beta',
  'betaMode',
  'reluAlpha',
  'precision',
  'mode',
  'backend',
  'device',
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
  'validation',
  'logEvery',
];

/** A config's fields in CONFIG_KEYS order (absent optional fields left out), so files read in one order. */
export function orderedConfig(c: TrainConfig): TrainConfig {
  return Object.fromEntries(CONFIG_KEYS.filter((k) => c[k] !== undefined).map((k) => [k, c[k]])) as unknown as TrainConfig;
}

// ---------------------------------------------------------------------------------------------
// Resolving options into a config

const fail = (field: string, message: string): never => {
  throw new ConfigError(field, message);
};

function checkChoice<T extends string>(field: string, v: unknown, allowed: readonly T[]): T {
  if (!(allowed as readonly unknown[]).includes(v)) fail(field, `\`${field}\` must be one of ${allowed.join(', ')}, got '${String(v)}'`);
  return v as T;
}

interface Range {
  readonly min?: number;
  readonly max?: number;
  readonly integer?: boolean;
  readonly exclusiveMin?: boolean;
}

function checkNumber(field: string, v: unknown, { min = -Infinity, max = Infinity, integer = false, exclusiveMin = false }: Range): number {
  const n = typeof v === 'number' ? v : NaN;
  const okMin = exclusiveMin ? n > min : n >= min;
  if (!Number.isFinite(n) || !okMin || n > max || (integer && !Number.isInteger(n))) {
    const range = `${exclusiveMin ? '>' : '≥'} ${min}${max < Infinity ? ` and ≤ ${max}` : ''}`;
    fail(
      field,
      `\`${field}\` must be ${integer ? 'an integer' : 'a number'} ${range}, got ${typeof v === 'string' ? `'${v}'` : String(v)}`,
    );
  }
  return n;
}

function checkBoolean(field: string, v: unknown): boolean {
  if (typeof v !== 'boolean') fail(field, `\`${field}\` must be true or false, got ${JSON.stringify(v)}`);
  return v as boolean;
}

const nullable = <T>(v: T | null | undefined, check: (v: T) => T): T | null => (v === null || v === undefined ? null : check(v));

function checkDataset(v: unknown): string {
  try {
    return datasetByName(String(v)).name;
  } catch (e) {
    return fail('dataset', `\`dataset\`: ${(e as Error).message}`);
  }
}

function checkLossScale(v: unknown): LossScaleConfig {
  if (v === 'none' || v === 'dynamic') return v;
  if (typeof v !== 'number') return fail('lossScale', `\`lossScale\` must be none, dynamic or a number > 0, got '${String(v)}'`);
  return checkNumber('lossScale', v, { min: 0, exclusiveMin: true });
}

type Validation = NonNullable<TrainConfig['validation']>;

/** A validation split: { fraction in (0, 1), seed } (src/train/validation.ts carves it). */
function checkValidation(v: unknown): Validation {
  const o = v as Partial<Validation> | null;
  if (o === null || typeof o !== 'object' || Array.isArray(o) || Object.keys(o).some((k) => k !== 'fraction' && k !== 'seed'))
    return fail('validation', `\`validation\` must be { fraction, seed } (e.g. { fraction: 0.1, seed: 1 }), got ${JSON.stringify(v)}`);
  const fraction = checkNumber('validation', o.fraction, { min: 0, max: 1, exclusiveMin: true });
  if (fraction >= 1) fail('validation', `\`validation\` fraction must be below 1 (some images must stay to train on), got ${fraction}`);
  const seed = checkNumber('validation', o.seed ?? TRAIN_DEFAULTS.seed, { min: 0, max: TRAIN_LIMITS.seed, integer: true });
  return { fraction, seed };
}

const TRAIN_BACKEND_IDS = ['engine', 'tfjs-wasm', 'tfjs-cpu', 'torch', 'tfjs-node'] as const satisfies readonly TrainBackendId[];

const limit = (field: string) => (v: unknown) =>
  nullable(v as number | null, (n) => checkNumber(field, n, { min: 1, max: TRAIN_LIMITS.images, integer: true }));

/** Each field's check on its own (ranges, choices); the checks across fields are resolveTrainConfig's. */
const FIELD_CHECKS: { readonly [K in keyof TrainConfig]-?: (v: unknown) => TrainConfig[K] } = {
  model: (v) => checkChoice('model', v, MODEL_NAMES),
  dataset: checkDataset,
  beta: (v) => checkNumber('beta', v, { min: 0, max: TRAIN_LIMITS.beta, integer: true }),
  betaMode: (v) => checkChoice('betaMode', v, BETA_MODES),
  reluAlpha: (v) => checkNumber('reluAlpha', v, { min: 0, max: 1 }),
  precision: (v) => checkChoice('precision', v, TRAIN_PRECISIONS),
  mode: (v) => checkChoice('mode', v, ['strict', 'wide', 'framework'] as const),
  backend: (v) => checkChoice('backend', v, TRAIN_BACKEND_IDS) as RunBackend,
  device: (v) => checkChoice('device', v, TRAIN_DEVICES),
  epochs: (v) => checkNumber('epochs', v, { min: 1, max: TRAIN_LIMITS.epochs, integer: true }),
  batchSize: (v) => checkNumber('batchSize', v, { min: 1, max: TRAIN_LIMITS.batchSize, integer: true }),
  optimizer: (v) => checkChoice('optimizer', v, ['sgd', 'adam'] as const),
  lr: (v) => checkNumber('lr', v, { min: 0, exclusiveMin: true }),
  momentum: (v) => checkNumber('momentum', v, { min: 0, max: 1 }),
  weightDecay: (v) => checkNumber('weightDecay', v, { min: 0 }),
  lrSchedule: (v) => scheduleName(parseLrSchedule(v as string)),
  masterWeights: (v) => checkChoice('masterWeights', v, ['p', '32'] as const),
  lossScale: checkLossScale,
  batchNorm: (v) => checkBoolean('batchNorm', v),
  width: (v) => nullable(v as number | null, (w) => checkNumber('width', w, { min: 0, exclusiveMin: true })),
  stem: (v) => checkChoice('stem', v, ['cifar', 'imagenet'] as const),
  augment: (v) => checkBoolean('augment', v),
  seed: (v) => checkNumber('seed', v, { min: 0, max: TRAIN_LIMITS.seed, integer: true }),
  limitTrain: limit('limitTrain'),
  limitTest: limit('limitTest'),
  validation: checkValidation,
  logEvery: (v) => checkNumber('logEvery', v, { min: 1, integer: true }),
};

/** Check every field given, each on its own (ConfigError naming the first bad one); nothing is required. */
export function checkTrainOptions(o: TrainOptions): void {
  for (const k of CONFIG_KEYS) if (o[k] !== undefined) FIELD_CHECKS[k](o[k]);
}

/** A field's value: the given one or the default, checked. */
const field = <K extends keyof TrainConfig>(o: TrainOptions, k: K, fallback?: unknown): TrainConfig[K] =>
  (FIELD_CHECKS[k] as (v: unknown) => TrainConfig[K])(o[k] ?? fallback);

/** The optimizer's fields: lr by optimizer, momentum SGD's only. */
function optimizerFields(o: TrainOptions) {
  const optimizer = field(o, 'optimizer', TRAIN_DEFAULTS.optimizer);
  if (optimizer === 'adam' && o.momentum !== undefined && o.momentum !== 0)
    fail('momentum', "`momentum` is SGD's; Adam's β1 is 0.9 (drop `momentum` or use `optimizer` sgd)");
  return {
    optimizer,
    lr: field(o, 'lr', TRAIN_DEFAULTS.lr[optimizer]),
    momentum: optimizer === 'sgd' ? field(o, 'momentum', TRAIN_DEFAULTS.momentum) : 0,
    weightDecay: field(o, 'weightDecay', TRAIN_DEFAULTS.weightDecay),
    lrSchedule: field(o, 'lrSchedule', TRAIN_DEFAULTS.lrSchedule),
  };
}

/** Precision, mode, backend (and torch's device), master weights and loss scaling: what the arithmetic is. */
function arithmeticFields(o: TrainOptions) {
  const precision = field(o, 'precision');
  const { backend, mode } = resolveBackend(precision, o.mode, o.backend);
  if (o.device !== undefined && backend !== 'torch')
    fail(
      'device',
      `\`device\` is the torch backend's (${backend} computes on this machine's CPU); add \`backend\` torch or drop \`device\``,
    );
  const lossScale = field(o, 'lossScale', TRAIN_DEFAULTS.lossScale);
  if (lossScale !== 'none' && backend !== 'engine')
    fail(
      'lossScale',
      `\`lossScale\` ${lossScale} runs on the engine only (the tfjs and torch backends take the gradient of the loss itself); add \`backend\` engine`,
    );
  return {
    precision,
    mode,
    backend,
    ...(backend === 'torch' ? { device: field(o, 'device', 'cpu') } : {}),
    masterWeights: field(o, 'masterWeights', TRAIN_DEFAULTS.masterWeights),
    lossScale,
  };
}

/**
 * A fresh run's config from the options: every field given checked, required fields present,
 * defaults filled in, backend and mode chosen. Throws ConfigError naming the first bad field. A
 * complete TrainConfig resolves to itself (resumed and grid runs rely on it).
 */
export function resolveTrainConfig(o: TrainOptions): TrainConfig {
  checkTrainOptions(o);
  const missing = REQUIRED_TRAIN_FIELDS.filter((k) => o[k] === undefined);
  if (missing.length) fail(missing[0], `a fresh run needs ${missing.map((m) => `\`${m}\``).join(', ')}`);
  const model = field(o, 'model');
  const dataset = field(o, 'dataset');
  const config: TrainConfig = {
    model,
    dataset,
    beta: field(o, 'beta', TRAIN_DEFAULTS.beta),
    betaMode: field(o, 'betaMode', TRAIN_DEFAULTS.betaMode),
    reluAlpha: field(o, 'reluAlpha', TRAIN_DEFAULTS.reluAlpha),
    ...arithmeticFields(o),
    epochs: field(o, 'epochs'),
    batchSize: field(o, 'batchSize', defaultBatchSize(model)),
    ...optimizerFields(o),
    batchNorm: field(o, 'batchNorm', TRAIN_DEFAULTS.batchNorm),
    width: field(o, 'width', TRAIN_DEFAULTS.width),
    ...(o.stem !== undefined ? { stem: field(o, 'stem') } : {}),
    augment: field(o, 'augment', defaultAugment(dataset)),
    seed: field(o, 'seed', TRAIN_DEFAULTS.seed),
    limitTrain: field(o, 'limitTrain', TRAIN_DEFAULTS.limitTrain),
    limitTest: field(o, 'limitTest', TRAIN_DEFAULTS.limitTest),
    ...(o.validation !== undefined ? { validation: field(o, 'validation') } : {}),
    logEvery: field(o, 'logEvery', TRAIN_DEFAULTS.logEvery),
  };
  return orderedConfig(config);
}
