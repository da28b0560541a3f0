/**
 * The files of a search folder and what is read back from them:
 *
 *   OUT/tune.json           schema adzone/tune 1 (src/schema/tune.ts), rewritten after every step
 *   OUT/trials/trial-NN/    one training run per trial (src/train/run.ts), on the train split less
 *                           the validation split, evaluated on the validation split
 *   OUT/final/              the run with the chosen lr on the whole train split, evaluated on test
 *
 * The trial folders are the truth: where each trial stands is read from its result.json, else its
 * checkpoint; tune.json is rebuilt from them, so a search killed anywhere resumes from its folders.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readResultIfPresent } from '../../schema/index.ts';
import type { EpochLine, TrainConfig } from '../../schema/train.ts';
import type { TuneJson, TuneSearch, TuneTrial } from '../../schema/tune.ts';
import { InputError } from '../../util/errors.ts';
import { stringifyExact } from '../checkpoint.ts';
import { CHECKPOINT_FILE, openCheckpoint } from '../header.ts';
import { RESULT_FILE, readPriorResult, type TrainResult } from '../run.ts';
import type { Choice, RungState, TrialEpoch, TrialProgress } from './halving.ts';

export const TUNE_FILE = 'tune.json';
export const FINAL_DIR = 'final';

export const trialDir = (index: number): string => join('trials', `trial-${String(index).padStart(2, '0')}`);

/** Where a trial stands, read from its folder, plus what only its result tells. */
export interface TrialRead extends TrialProgress {
  readonly seconds: number;
  readonly result: TrainResult | null;
}

const toEpoch = (e: EpochLine): TrialEpoch => ({
  epoch: e.epoch,
  loss: e.loss,
  trainAcc: e.trainAcc,
  valAcc: e.valAcc ?? null,
  valLoss: e.valLoss ?? null,
  seconds: e.seconds,
  partial: e.partial === true,
});

function foreign(dir: string, what: string): InputError {
  return new InputError(
    `${join(dir, what)} was made by another run than this search's trial; move the search folder away or use another \`out\``,
    dir,
  );
}

/** A trial's progress from its folder (result.json, else checkpoint, else nothing yet); InputError when the folder holds another run. */
export function readTrial(dir: string, index: number, lr: number, config: TrainConfig): TrialRead {
  const r = readPriorResult(dir, config, 'trial', () => foreign(dir, RESULT_FILE));
  if (r) {
    const epochs = r.epochs.map(toEpoch);
    return { index, lr, epochs, ended: true, divergence: r.divergence?.reason ?? null, seconds: r.timings.totalSeconds, result: r };
  }
  if (!existsSync(join(dir, CHECKPOINT_FILE))) return { index, lr, epochs: [], ended: false, divergence: null, seconds: 0, result: null };
  const h = openCheckpoint(dir)!.header;
  if (stringifyExact(h.config) !== stringifyExact(config)) throw foreign(dir, CHECKPOINT_FILE);
  const epochs = h.metrics.filter((m): m is EpochLine => m.kind === 'epoch').map(toEpoch);
  const ended = h.finished !== null;
  return { index, lr, epochs, ended, divergence: ended ? (h.divergence?.reason ?? null) : null, seconds: h.elapsedSeconds, result: null };
}

function trialStatus(t: TrialRead, rungs: readonly RungState[]): { status: TuneTrial['status']; prunedAt: number | null } {
  if (t.ended) return { status: t.divergence ? 'diverged' : 'completed', prunedAt: null };
  const cut = rungs.find((r) => r.promoted !== null && r.entered.includes(t.index) && !r.promoted.includes(t.index));
  return cut ? { status: 'pruned', prunedAt: cut.epoch } : { status: 'pending', prunedAt: null };
}

export const METHOD = {
  sampler:
    'stratified log-uniform (Latin hypercube): the log-range cut into one stratum per trial, a seeded permutation gives each trial a stratum and a uniform point in it; each lr is log-uniform, every stratum holds one; rounded to 3 significant digits',
  pruner:
    'successive halving: every trial runs to the first rung; at each rung but the last the best ceil(entered / eta) go on, the rest are pruned there; a NaN/Inf loss ends a trial (diverged)',
  selection:
    'validation accuracy (ties: validation loss) at the furthest rung reached, on a stratified split carved from the train split; the test split is never evaluated by a trial (the paper selects on test accuracy)',
} as const;

export interface RecordParts {
  readonly command: string;
  readonly createdAt: string;
  readonly train: Omit<TrainConfig, 'lr'>;
  readonly search: TuneSearch;
  readonly trials: readonly TrialRead[];
  readonly rungs: readonly RungState[];
  readonly chosen: Choice | null;
  readonly final: TuneJson['final'];
  readonly status: TuneJson['status'];
}

/** tune.json from the trials' progress and the decisions taken on it. */
export function buildRecord(p: RecordParts): TuneJson {
  const withData = p.trials.find((t) => t.result?.data.validation);
  const v = withData?.result?.data;
  const chosenTrial = p.chosen ? p.trials.find((t) => t.index === p.chosen!.trial)! : null;
  return {
    schema: 'adzone/tune',
    schemaVersion: 1,
    command: p.command,
    createdAt: p.createdAt,
    updatedAt: new Date().toISOString(),
    train: p.train,
    search: p.search,
    method: METHOD,
    split: v?.validation ? { validation: v.validation.n, train: v.train.n } : null,
    status: p.status,
    trials: p.trials.map((t) => ({
      index: t.index,
      lr: t.lr,
      dir: trialDir(t.index),
      ...trialStatus(t, p.rungs),
      divergence: t.divergence,
      epochs: t.epochs.map(({ partial: _partial, ...e }) => e),
      seconds: t.seconds,
    })),
    rungs: p.rungs.map((r) => ({ epoch: r.epoch, entered: [...r.entered], promoted: r.promoted ? [...r.promoted] : null })),
    chosen:
      p.chosen && chosenTrial
        ? {
            trial: p.chosen.trial,
            lr: chosenTrial.lr,
            epoch: p.chosen.epoch,
            valAcc: p.chosen.score?.valAcc ?? null,
            valLoss: p.chosen.score?.valLoss ?? null,
            why: p.chosen.why,
          }
        : null,
    final: p.final,
    timings: { trialSeconds: p.trials.reduce((s, t) => s + t.seconds, 0), finalSeconds: p.final?.seconds ?? 0 },
  };
}

/** The tune.json of a folder, or null; InputError when it is there but unreadable. */
export function readTuneRecord(out: string): TuneJson | null {
  const f = join(out, TUNE_FILE);
  return readResultIfPresent(
    f,
    'tune',
    (e) => new InputError(`${e.message}; tune.json is rebuilt from the trial folders: remove it and run the search again`, f),
  );
}
