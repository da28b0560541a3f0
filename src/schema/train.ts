/**
 * Training results (DESIGN §4's ablations):
 *
 * - result.json of one training run, schema 'adzone/train' version 1, written by `adzone train`
 *   (src/train/run.ts), with metrics.jsonl beside it (MetricLine: 'step' lines with the loss since
 *   the previous line, 'epoch' lines with loss, testLoss, testAcc);
 * - ablate.json, schema 'adzone/ablate' version 1: a grid of runs summarised in one file, one entry
 *   per (model, dataset, precision, mode, optimizer, batch norm, β, seed), each with the run's full
 *   `config` when the writer recorded it (optional: older files and the nightly's lack it).
 *
 * TrainConfig, the options that decide a run's numbers, is defined here and imported by src/train.
 * Accuracies are fractions in [0, 1]; null when the run never reached an evaluation. Fields this
 * schema does not name are allowed (a newer adzone may add one within version 1).
 */
import { type StaticDecode, type TSchema, Type } from '@sinclair/typebox';
import type { DeepReadonly } from '../util/json.ts';
import { Count, JsonNumber, NonNegative, Nullable, oneOf, Share, Timestamp } from './kit.ts';
import { BETA_MODES } from './verify.ts';

/** IEEE binary16, binary32, binary64, and bfloat16 (the engine and PyTorch). */
export const TRAIN_PRECISIONS = ['16', '32', '64', 'bf16'] as const;
/**
 * 'framework': a framework's own arithmetic (tfjs's float32 at 32 bits; PyTorch's at every
 * precision); strict / wide: the engine's accumulations.
 */
export const TRAIN_MODES = ['strict', 'wide', 'framework'] as const;
/** The backends a run can actually use (src/train/config.ts). */
export const RUN_BACKENDS = ['engine', 'tfjs-wasm', 'tfjs-cpu', 'torch'] as const;
/** Where a torch run computes (the other backends run on this machine's CPU and record none). */
export const TRAIN_DEVICES = ['cpu', 'cuda'] as const;
export const OPTIMIZERS = ['sgd', 'adam'] as const;
export const RUN_STATUSES = ['completed', 'diverged'] as const;

export const TrainConfigSchema = Type.Object({
  model: Type.String(),
  dataset: Type.String(),
  beta: NonNegative(),
  betaMode: oneOf(BETA_MODES),
  reluAlpha: Share(),
  precision: oneOf(TRAIN_PRECISIONS),
  mode: oneOf(TRAIN_MODES),
  backend: oneOf(RUN_BACKENDS),
  /** torch only: its device. Recorded for torch runs alone, so configs of the other backends stay as they were. */
  device: Type.Optional(oneOf(TRAIN_DEVICES)),
  epochs: Count(),
  batchSize: Type.Integer({ minimum: 1 }),
  optimizer: oneOf(OPTIMIZERS),
  lr: NonNegative(),
  /** SGD momentum (0 for Adam, whose β1 is 0.9). */
  momentum: NonNegative(),
  weightDecay: NonNegative(),
  /** 'none', 'step:EPOCHS:GAMMA' or 'cosine', per epoch. */
  lrSchedule: Type.String(),
  /** 'p': the optimizer updates the p-weights; '32': fp32 master weights for 16-bit runs. */
  masterWeights: oneOf(['p', '32'] as const),
  lossScale: Type.Union([oneOf(['none', 'dynamic'] as const), Type.Number({ exclusiveMinimum: 0 })]),
  batchNorm: Type.Boolean(),
  /** Channel multiplier (vgg11, resnet18), null for the model's default. */
  width: Nullable(Type.Number({ exclusiveMinimum: 0 })),
  /**
   * resnet18 only: 'imagenet' (torchvision's 7×7/2 conv + 3×3/2 MaxPool) or 'cifar' (3×3 conv, no
   * MaxPool). Absent: the ImageNet stem on ImageNet images, the CIFAR stem otherwise. Recorded only
   * when given, so configs written before the option existed stay equal.
   */
  stem: Type.Optional(oneOf(['cifar', 'imagenet'] as const)),
  /** CIFAR recipe (random crop 4 + flip) on the train split. */
  augment: Type.Boolean(),
  seed: Type.Integer(),
  limitTrain: Nullable(Type.Integer({ minimum: 1 })),
  limitTest: Nullable(Type.Integer({ minimum: 1 })),
  /**
   * Hold out a validation split carved from the train split (after limitTrain): `fraction` of each
   * class's images, picked with `seed` (src/train/validation.ts). The run trains on the rest and
   * evaluates on the validation split only; the test split is never evaluated. Recorded only when
   * given (a learning-rate search's trials set it), so configs written before it existed stay equal.
   */
  validation: Type.Optional(Type.Object({ fraction: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 }), seed: Type.Integer() })),
  /** A metrics line every logEvery steps. */
  logEvery: Type.Integer({ minimum: 1 }),
});

/** What a trial of an lr search came to (src/schema/tune.ts). */
export const TRIAL_STATUSES = ['pending', 'pruned', 'completed', 'diverged'] as const;

/** What a search is: its settings, resolved (src/train/tune/config.ts holds the defaults). */
export const TuneSearchSchema = Type.Object({
  trials: Type.Integer({ minimum: 1 }),
  lrMin: Type.Number({ exclusiveMinimum: 0 }),
  lrMax: Type.Number({ exclusiveMinimum: 0 }),
  /** Epochs at which the trials still running are compared; the last is every trial's length. */
  rungs: Type.Array(Type.Integer({ minimum: 1 }), { minItems: 1 }),
  /** At each rung but the last, the best ⌈entrants / eta⌉ trials go on. */
  eta: Type.Number({ exclusiveMinimum: 1 }),
  /** Share of each class of the train split held out for validation. */
  validation: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 }),
  /** Seeds the lr draw and the validation split (the runs keep the train config's own seed). */
  seed: Type.Integer({ minimum: 0 }),
});

const acc = () => Nullable(Share());
const lossScaling = { skipped: Type.Optional(Count()), lossScale: Type.Optional(Type.Number()) };

/** A metrics.jsonl line every logEvery steps: the mean batch loss and training accuracy since the previous one. */
export const StepLineSchema = Type.Object({
  kind: Type.Literal('step'),
  epoch: Count(),
  step: Count(),
  /** Batches of this epoch done. */
  batch: Count(),
  loss: JsonNumber(),
  /** null where the backend gives no logits (engine with loss scaling). */
  trainAcc: acc(),
  lr: Type.Number(),
  /** Wall time since the run began (summed over resumes). */
  seconds: NonNegative(),
  ...lossScaling,
});

/**
 * The line closing an epoch: its mean loss, and the evaluation on the test set, or, for a run with
 * a `validation` split, on that split (valLoss, valAcc; testLoss and testAcc null).
 */
export const EpochLineSchema = Type.Object({
  kind: Type.Literal('epoch'),
  epoch: Count(),
  step: Count(),
  loss: JsonNumber(),
  trainAcc: acc(),
  /** null when the epoch was cut short by a non-finite loss (no evaluation). */
  testLoss: Nullable(JsonNumber()),
  testAcc: acc(),
  /** A run with a `validation` split: the evaluation on it (null when the epoch was cut short). */
  valLoss: Type.Optional(Nullable(JsonNumber())),
  valAcc: Type.Optional(acc()),
  lr: Type.Number(),
  seconds: NonNegative(),
  epochSeconds: NonNegative(),
  trainSeconds: NonNegative(),
  evalSeconds: NonNegative(),
  steps: Count(),
  ...lossScaling,
  partial: Type.Optional(Type.Literal(true)),
});

export const MetricLineSchema = Type.Union([StepLineSchema, EpochLineSchema]);

export const DivergenceSchema = Type.Object({
  reason: Type.String(),
  /** 1-based epoch in which it was found. */
  epoch: Count(),
  step: Count(),
  kind: oneOf(['non-finite-loss', 'chance'] as const),
});

const files = () => Type.Object({ n: Count(), files: Type.Array(Type.String()), sha256: Type.Array(Type.String()) });
const best = () => Nullable(Type.Object({ testAcc: Share(), epoch: Count() }));

export const TrainSchema = Type.Object({
  schema: Type.Literal('adzone/train'),
  schemaVersion: Type.Literal(1),
  command: Type.String(),
  startedAt: Timestamp(),
  finishedAt: Timestamp(),
  config: TrainConfigSchema,
  backend: oneOf(RUN_BACKENDS),
  precision: oneOf(TRAIN_PRECISIONS),
  mode: oneOf(TRAIN_MODES),
  betaMode: oneOf(BETA_MODES),
  status: oneOf(RUN_STATUSES),
  divergence: Nullable(Type.Object({ ...DivergenceSchema.properties, continued: Type.Boolean() })),
  finalTestAcc: acc(),
  bestTestAcc: best(),
  epochs: Type.Array(EpochLineSchema),
  timings: Type.Object({
    totalSeconds: NonNegative(),
    trainSeconds: NonNegative(),
    evalSeconds: NonNegative(),
    meanStepMs: NonNegative(),
    steps: Count(),
    stepsPerEpoch: Count(),
    epochSeconds: Type.Array(NonNegative()),
    sessions: Type.Array(Type.Object({ startedAt: Timestamp(), fromStep: Count() })),
  }),
  model: Type.Object({ name: Type.String(), variant: Type.String(), params: Count() }),
  optimizer: Type.String(),
  data: Type.Object({
    train: files(),
    test: files(),
    normalisation: Type.String(),
    augment: Type.Boolean(),
    /** The validation split carved from the train split (config.validation), which the run evaluated on instead of the test split. */
    validation: Type.Optional(Type.Object({ n: Count(), fraction: Share(), seed: Type.Integer() })),
    /** 1.2 × the better of uniform guessing and the majority class: can exceed 1 on a tiny test set. */
    chanceThreshold: NonNegative(),
  }),
  versions: Type.Record(Type.String(), Type.Unknown()),
});

/** The identity of one run in an ablation grid. */
const runKey = {
  model: Type.String(),
  dataset: Type.String(),
  precision: oneOf(TRAIN_PRECISIONS),
  /** strict / wide (engine, 16-bit tfjs emulation) or framework (tfjs float32); optional in ablate.json. */
  mode: Type.Optional(oneOf(TRAIN_MODES)),
  optimizer: oneOf(OPTIMIZERS),
  batchNorm: Type.Boolean(),
  beta: NonNegative(),
  seed: Type.Integer(),
};
export const TrainRunKeySchema = Type.Object(runKey);

export const AblateRunSchema = Type.Object({
  ...runKey,
  testAccuracy: acc(),
  /** Directory of the run's result.json / metrics.jsonl, relative to ablate.json. */
  dir: Type.Optional(Type.String()),
  /** The run's config as in its result.json (written by adzone ablate; older files and the nightly's lack it). */
  config: Type.Optional(TrainConfigSchema),
  // what adzone ablate adds about the run (the nightly's entries lack them)
  cell: Type.Optional(Type.String()),
  labels: Type.Optional(Type.Record(Type.String(), Type.String())),
  backend: Type.Optional(oneOf(RUN_BACKENDS)),
  status: Type.Optional(oneOf(RUN_STATUSES)),
  epochs: Type.Optional(Count()),
  bestTestAcc: Type.Optional(best()),
  totalSeconds: Type.Optional(NonNegative()),
  /** A tuned cell (adzone ablate with a `tune:` block): the lr its search chose and what the search did. */
  tune: Type.Optional(
    Type.Object({
      /** tune.json, relative to ablate.json. */
      file: Type.String(),
      lr: Type.Number({ exclusiveMinimum: 0 }),
      search: TuneSearchSchema,
      /** The chosen trial's validation accuracy at the epoch it was chosen at. */
      valAcc: Nullable(Share()),
      trials: Type.Array(
        Type.Object({
          index: Type.Integer({ minimum: 1 }),
          lr: Type.Number({ exclusiveMinimum: 0 }),
          status: oneOf(TRIAL_STATUSES),
          /** Epochs it trained (its last evaluation). */
          epochs: Count(),
          valAcc: Nullable(Share()),
        }),
      ),
      trialSeconds: NonNegative(),
    }),
  ),
});

export const AblateSchema = Type.Object({
  schema: Type.Literal('adzone/ablate'),
  schemaVersion: Type.Literal(1),
  command: Type.String(),
  createdAt: Timestamp(),
  /** The grid (adzone ablate): its name and hash, cells planned and finished, the missing ones and the seed axes. */
  grid: Type.Optional(
    Type.Object({
      name: Type.String(),
      hash: Type.String(),
      cells: Count(),
      finished: Count(),
      missing: Type.Array(Type.String()),
      seedAxes: Type.Array(Type.String()),
    }),
  ),
  /** The results table (adzone ablate): accuracy over seeds per group of cells. */
  table: Type.Optional(
    Type.Array(
      Type.Object({
        labels: Type.Record(Type.String(), Type.String()),
        planned: Count(),
        finished: Count(),
        diverged: Count(),
        noAccuracy: Count(),
        mean: acc(),
        std: Nullable(NonNegative()),
        min: acc(),
        max: acc(),
        accuracies: Type.Array(acc()),
        meanEpochSeconds: Nullable(NonNegative()),
        /** Tuned cells: the lr each run's search chose, in the order of `accuracies`. */
        lrs: Type.Optional(Type.Array(Nullable(Type.Number()))),
      }),
    ),
  ),
  runs: Type.Array(AblateRunSchema),
});

/**
 * grid.json, schema 'adzone/ablate-grid' version 1: the grid an `adzone ablate` folder runs (src/train/ablate):
 * its source file, a hash of its cells, and every cell's full TrainConfig, so that a folder is never
 * filled by two different grids.
 */
export const AblateGridSchema = Type.Object({
  schema: Type.Literal('adzone/ablate-grid'),
  schemaVersion: Type.Literal(1),
  name: Type.String(),
  description: Type.String(),
  hash: Type.String({ minLength: 1 }),
  source: Type.Object({ file: Type.String(), text: Type.String() }),
  cells: Type.Array(
    Type.Object({
      index: Count(),
      id: Type.String(),
      labels: Type.Record(Type.String(), Type.String()),
      argv: Type.Array(Type.String()),
      /** The run's config; without lr in a tuned cell (the search chooses it: runs/<cell>/tune.json). */
      config: Type.Object({ ...TrainConfigSchema.properties, lr: Type.Optional(NonNegative()) }),
      /** The cell's lr search (the grid's `tune:` block, resolved); absent for a plain run. */
      tune: Type.Optional(TuneSearchSchema),
      /** The grid's `chance-from-epoch` (the first epoch whose evaluation at chance ends the run); absent: 2. */
      chanceFromEpoch: Type.Optional(Type.Integer({ minimum: 1 })),
    }),
  ),
});

type Of<T extends TSchema> = DeepReadonly<StaticDecode<T>>;
export type TrainConfig = Of<typeof TrainConfigSchema>;
export type MetricLine = Of<typeof MetricLineSchema>;
export type EpochLine = Of<typeof EpochLineSchema>;
export type Divergence = Of<typeof DivergenceSchema>;
export type TrainJson = Of<typeof TrainSchema>;
/** What `adzone train` writes: the same as what is read. */
export type TrainResult = TrainJson;
export type TrainRunKey = Of<typeof TrainRunKeySchema>;
export type AblateRun = Of<typeof AblateRunSchema>;
export type AblateJson = Of<typeof AblateSchema>;
export type AblateGridJson = Of<typeof AblateGridSchema>;

/**
 * The stem a run uses: the recorded one, else ResNet18's default for the data set (ImageNet stem on
 * ImageNet images, CIFAR otherwise); undefined for models without one.
 */
export function effectiveStem(c: {
  readonly model: string;
  readonly dataset: string;
  readonly stem?: unknown;
}): 'cifar' | 'imagenet' | undefined {
  if (c.stem === 'cifar' || c.stem === 'imagenet') return c.stem;
  if (c.model !== 'resnet18') return undefined;
  return c.dataset.toLowerCase().startsWith('imagenet') ? 'imagenet' : 'cifar';
}
