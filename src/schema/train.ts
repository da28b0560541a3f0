/**
 * Training results (docs/DESIGN.md §4's ablations): what `report` and `gate` read from them.
 *
 * - result.json of one training run, schema 'adzone/train' version 1, written by `adzone train`
 *   (src/train/run.ts, type TrainResult), with metrics.jsonl beside it (MetricLine: 'step' lines
 *   with loss, 'epoch' lines with loss, testLoss, testAcc).
 * - ablate.json, schema 'adzone/ablate' version 1: a grid of runs summarised in one file, one
 *   entry per (model, dataset, precision, mode, optimizer, batch norm, β, seed), each with the
 *   run's full `config` when the writer recorded it (optional: older files lack it).
 *
 * Only the fields below are checked; anything else a run records is kept and ignored here.
 * Accuracies are fractions in [0, 1]; null when the run never reached an evaluation.
 */
import type { TrainResult } from '../train/run.ts';
import { any, arr, bool, count, lit, nullable, num, obj, oneOf, rec, share, str } from './shape.ts';

/** The identity of one run in an ablation grid. */
export interface TrainRunKey {
  readonly model: string;
  readonly dataset: string;
  readonly precision: string;
  /** strict / wide (engine, 16-bit tfjs emulation) or framework (tfjs float32); optional in ablate.json. */
  readonly mode?: string;
  readonly optimizer: string;
  readonly batchNorm: boolean;
  readonly beta: number;
  readonly seed: number;
}

export type TrainJson = TrainResult;

export interface AblateRun extends TrainRunKey {
  readonly testAccuracy: number | null;
  /** Directory of the run's result.json / metrics.jsonl, relative to ablate.json. */
  readonly dir?: string;
  /** The run's config as in its result.json (written by adzone ablate; older files and the nightly's lack it). */
  readonly config?: TrainResult['config'];
}

export interface AblateJson {
  readonly schema: 'adzone/ablate';
  readonly schemaVersion: 1;
  readonly command: string;
  readonly createdAt: string;
  readonly runs: readonly AblateRun[];
}

const key = {
  model: str(),
  dataset: str(),
  precision: str(),
  optimizer: str(),
  batchNorm: bool(),
  beta: num({ min: 0 }),
  seed: num({ int: true }),
};

const acc = nullable(share());

/** The checked part of a run's config (result.json's, and an ablate.json entry's when it carries one). */
const configShape = obj({ ...key, mode: str(), backend: str(), epochs: count(), batchSize: count() });

export const trainShape = obj({
  schema: lit('adzone/train'),
  schemaVersion: lit(1),
  command: str(),
  startedAt: str(),
  finishedAt: str(),
  config: configShape,
  status: oneOf('completed', 'diverged'),
  finalTestAcc: acc,
  bestTestAcc: nullable(obj({ testAcc: share(), epoch: count() })),
  epochs: arr(
    obj(
      { epoch: count(), step: count(), loss: num({ nonFinite: true }), testAcc: acc },
      { testLoss: nullable(num({ nonFinite: true })), trainAcc: acc },
    ),
  ),
});

export const ablateShape = obj({
  schema: lit('adzone/ablate'),
  schemaVersion: lit(1),
  command: str(),
  createdAt: str(),
  runs: arr(obj({ ...key, testAccuracy: acc }, { mode: str(), dir: str(), config: configShape })),
});

/** One line of metrics.jsonl: numbers by name (epoch / step among them). */
export const metricsLineShape = rec(any());
