/**
 * What a learning-rate search is (TuneSearch), its defaults (all here, TUNE_DEFAULTS) and the
 * checks that turn a caller's options into one, each bad field a ConfigError in the config's own
 * words (`trials`, `rungs`, never --trials).
 *
 * The defaults are the paper's protocol (its released code, docs/DESIGN.md §4) where it has one:
 * 10 trials, lr in [1e-5, 1e-1], trials of 10 epochs. Two changes, both said in tune.json's
 * `method`: successive halving instead of median pruning (the trials run side by side, rung by
 * rung, which a kill and a resume cannot reorder), with a first rung at epoch 5, because a net
 * that sits on a plateau for its first epochs (VGG11 without batch norm, ~400 steps at chance)
 * cannot be judged earlier; and selection on a validation split carved from the train split (the
 * paper selects on test accuracy).
 */
import type { TuneSearch } from '../../schema/tune.ts';
import { ConfigError } from '../../util/errors.ts';
import { checkTrainOptions, type TrainOptions } from '../config.ts';

export type { TuneSearch } from '../../schema/tune.ts';

/** What a caller may set of a search; every field optional. */
export type TuneOptions = { readonly [K in keyof TuneSearch]?: K extends 'rungs' ? readonly number[] : TuneSearch[K] };

export const TUNE_DEFAULTS: TuneSearch = {
  trials: 10,
  lrMin: 1e-5,
  lrMax: 1e-1,
  rungs: [5, 10],
  eta: 3,
  validation: 0.1,
  seed: 1,
};

/** The train options of a search: those of a run, without lr (the search's to choose). */
export type TuneTrainOptions = Omit<TrainOptions, 'lr' | 'validation'>;

export const TUNE_LIMITS = { trials: 1000, rungs: 100 } as const;

const fail = (field: string, message: string): never => {
  throw new ConfigError(field, message);
};

const show = (v: unknown) => (typeof v === 'string' ? `'${v}'` : JSON.stringify(v));

function wholeNumber(field: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    fail(field, `\`${field}\` must be a whole number from ${min} to ${max}, got ${show(v)}`);
  return v as number;
}

function positive(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) fail(field, `\`${field}\` must be a number > 0, got ${show(v)}`);
  return v as number;
}

function checkRungs(v: unknown): number[] {
  const ok =
    Array.isArray(v) &&
    v.length >= 1 &&
    v.length <= TUNE_LIMITS.rungs &&
    v.every((r, i) => Number.isInteger(r) && r >= 1 && (i === 0 || r > v[i - 1]));
  if (!ok)
    fail(
      'rungs',
      `\`rungs\` must be a list of increasing epochs ≥ 1 at which the trials are compared, the last one their length (e.g. [5, 10]), got ${show(v)}`,
    );
  return [...(v as number[])];
}

const KNOWN = Object.keys(TUNE_DEFAULTS);

/** A search's settings from the options: defaults filled in, every field checked (ConfigError naming the first bad one). */
export function resolveTuneSearch(o: TuneOptions = {}): TuneSearch {
  const unknown = Object.keys(o).filter((k) => !KNOWN.includes(k));
  if (unknown.length) fail(unknown[0], `unknown search option \`${unknown[0]}\`; the options are ${KNOWN.join(', ')}`);
  const d = TUNE_DEFAULTS;
  const lrMin = positive('lrMin', o.lrMin ?? d.lrMin);
  const lrMax = positive('lrMax', o.lrMax ?? d.lrMax);
  if (lrMax <= lrMin) fail('lrMax', `\`lrMax\` (${lrMax}) must be above \`lrMin\` (${lrMin})`);
  const eta = positive('eta', o.eta ?? d.eta);
  if (eta <= 1) fail('eta', `\`eta\` must be above 1 (the best 1/eta of the trials go on at each rung), got ${eta}`);
  const validation = o.validation ?? d.validation;
  if (typeof validation !== 'number' || !(validation > 0 && validation < 1))
    fail(
      'validation',
      `\`validation\` must be the share of the train split held out, a number between 0 and 1 (e.g. 0.1), got ${show(validation)}`,
    );
  return {
    trials: wholeNumber('trials', o.trials ?? d.trials, 1, TUNE_LIMITS.trials),
    lrMin,
    lrMax,
    rungs: checkRungs(o.rungs ?? d.rungs),
    eta,
    validation,
    seed: wholeNumber('seed', o.seed ?? d.seed, 0, 2 ** 31 - 1),
  };
}

/** The train options of a search, checked as a run's; `lr` and `validation` are refused (the search sets them). */
export function checkTuneTrainOptions(train: TuneTrainOptions & { readonly lr?: unknown; readonly validation?: unknown }): void {
  if (train.lr !== undefined) fail('lr', '`lr` is what the search chooses; leave it out (the range searched is `lrMin` to `lrMax`)');
  if (train.validation !== undefined)
    fail('validation', "`validation` of the train options is the search's to set; give the share held out as the search's `validation`");
  checkTrainOptions(train as TrainOptions);
}
