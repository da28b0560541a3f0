/**
 * tune.json, schema 'adzone/tune' version 1: a learning-rate search of one training config
 * (src/train/tune): the search's settings, every trial (its lr, per-epoch validation accuracy and
 * loss, where it was pruned or diverged), the rungs' decisions, the lr chosen on the validation
 * split and the final run trained with it on the whole train split (its test accuracy). Written
 * after every trial step and decision, so a killed search shows where it stood.
 */
import { type StaticDecode, Type } from '@sinclair/typebox';
import type { DeepReadonly } from '../util/json.ts';
import { Count, JsonNumber, NonNegative, Nullable, oneOf, Share, Timestamp } from './kit.ts';
import { RUN_STATUSES, TRIAL_STATUSES, TrainConfigSchema, TuneSearchSchema } from './train.ts';

export { TRIAL_STATUSES, TuneSearchSchema };
export const TUNE_STATUSES = ['searching', 'final', 'done'] as const;

const acc = () => Nullable(Share());

export const TuneTrialSchema = Type.Object({
  /** 1-based. */
  index: Type.Integer({ minimum: 1 }),
  lr: Type.Number({ exclusiveMinimum: 0 }),
  /** The trial's run folder, relative to tune.json. */
  dir: Type.String(),
  /** pending: not at its current rung yet; pruned: stopped at a rung (prunedAt); completed: ran every rung; diverged: a NaN/Inf loss ended it. */
  status: oneOf(TRIAL_STATUSES),
  prunedAt: Nullable(Count()),
  divergence: Nullable(Type.String()),
  /** Its epochs so far: training loss, validation accuracy and loss. */
  epochs: Type.Array(
    Type.Object({
      epoch: Count(),
      loss: JsonNumber(),
      trainAcc: acc(),
      valAcc: acc(),
      valLoss: Nullable(JsonNumber()),
      seconds: NonNegative(),
    }),
  ),
  seconds: NonNegative(),
});

export const TuneSchema = Type.Object({
  schema: Type.Literal('adzone/tune'),
  schemaVersion: Type.Literal(1),
  command: Type.String(),
  createdAt: Timestamp(),
  updatedAt: Timestamp(),
  /** The config every trial and the final run share, without lr (trials add lr, `validation` and the last rung as epochs). */
  train: Type.Omit(TrainConfigSchema, ['lr']),
  search: TuneSearchSchema,
  /** How the lrs were drawn, trials pruned and the winner chosen, in words (for people reading the file). */
  method: Type.Object({ sampler: Type.String(), pruner: Type.String(), selection: Type.String() }),
  /** The validation split, once a trial has loaded the data: its images and the train images left. */
  split: Nullable(Type.Object({ validation: Count(), train: Count() })),
  status: oneOf(TUNE_STATUSES),
  trials: Type.Array(TuneTrialSchema),
  /** Per rung: the trials that entered it and, once decided, those that went on (null at the last rung and before the decision). */
  rungs: Type.Array(Type.Object({ epoch: Count(), entered: Type.Array(Count()), promoted: Nullable(Type.Array(Count())) })),
  chosen: Nullable(
    Type.Object({
      trial: Count(),
      lr: Type.Number({ exclusiveMinimum: 0 }),
      /** The epoch its validation score was taken at. */
      epoch: Count(),
      valAcc: acc(),
      valLoss: Nullable(JsonNumber()),
      /** Why this trial: the rule as it applied (e.g. no trial reached a rung). */
      why: Type.String(),
    }),
  ),
  final: Nullable(
    Type.Object({
      dir: Type.String(),
      lr: Type.Number({ exclusiveMinimum: 0 }),
      status: oneOf(['running', ...RUN_STATUSES] as const),
      finalTestAcc: acc(),
      bestTestAcc: Nullable(Type.Object({ testAcc: Share(), epoch: Count() })),
      epochs: Count(),
      seconds: NonNegative(),
    }),
  ),
  timings: Type.Object({ trialSeconds: NonNegative(), finalSeconds: NonNegative() }),
});

export type TuneSearch = DeepReadonly<StaticDecode<typeof TuneSearchSchema>>;
export type TuneTrial = DeepReadonly<StaticDecode<typeof TuneTrialSchema>>;
export type TuneJson = DeepReadonly<StaticDecode<typeof TuneSchema>>;
