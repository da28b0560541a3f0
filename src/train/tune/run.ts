/**
 * The learning-rate search stage: tuneLr(config, hooks) searches the lr of one training config and
 * trains the lr it chose. No argv, no printing.
 *
 *   1. Draw the trials' lrs (./sample.ts: stratified log-uniform in [lrMin, lrMax]).
 *   2. Train the trials by successive halving (./halving.ts): each is an ordinary training run
 *      (trainRun) on the train split less a validation split carved from it (src/train/validation.ts),
 *      evaluated on that split after every epoch; the onEpoch hook stops a trial at its rung, and
 *      the trials that go on are resumed from their checkpoints to the next rung.
 *   3. Choose the trial with the best validation accuracy at the furthest rung reached.
 *   4. Train the chosen lr on the whole train split for the config's epochs and evaluate on test.
 *
 * Every decision is a function of the trial folders, so a search killed anywhere resumes where it
 * stood: finished trials are not trained again, a trial killed mid-epoch resumes from its
 * checkpoint bit for bit. tune.json (./record.ts) is rewritten after every step.
 */
import { join, resolve } from 'node:path';
import { writeResult } from '../../schema/index.ts';
import type { TuneJson } from '../../schema/tune.ts';
import { ConfigError } from '../../util/errors.ts';
import { assertWritableDir } from '../../util/output.ts';
import { stringifyExact } from '../checkpoint.ts';
import { resolveTrainConfig, type TrainConfig } from '../config.ts';
import { lockRun } from '../lock.ts';
import type { CheckpointCadence, CrashPoint, TrainHooks } from '../loop.ts';
import { prepare, type TrainOutcome, trainRun } from '../run.ts';
import { checkTuneTrainOptions, resolveTuneSearch, type TuneOptions, type TuneSearch, type TuneTrainOptions } from './config.ts';
import { type Choice, chooseTrial, type RungState, rungStates, searchDone } from './halving.ts';
import { buildRecord, FINAL_DIR, readTrial, readTuneRecord, type TrialRead, TUNE_FILE, trialDir } from './record.ts';
import { sampleLrs } from './sample.ts';

export interface TuneConfig {
  /** The options of the runs (as trainRun's), without lr; `epochs` is the final run's. */
  readonly train: TuneTrainOptions;
  /** The search's settings; defaults in ./config.ts (TUNE_DEFAULTS). */
  readonly search?: TuneOptions;
  /** The search's folder. */
  readonly out: string;
  /** Checkpoints of each run (default every 120 s and at epoch ends). */
  readonly checkpointEvery?: CheckpointCadence;
  /** Recorded in each result.json. */
  readonly versions?: Record<string, unknown>;
  /** Recorded in tune.json and the runs' result.json. Default: this call. */
  readonly command?: string;
}

/** Which run of a search: a trial (1-based) or the final run. */
export type TuneRun =
  | { readonly kind: 'trial'; readonly index: number; readonly lr: number }
  | { readonly kind: 'final'; readonly lr: number };

export interface TuneHooks {
  readonly log?: (line: string) => void;
  /** The hooks of each run (a progress bar); `done` is called when the run returns. Its onEpoch is the search's own. */
  readonly train?: (run: TuneRun) => Omit<TrainHooks, 'onEpoch' | 'crashAt'> & { done?(): void };
  /** Fault injection: return true to stop at this point of a run as a kill would. */
  readonly crashAt?: (run: TuneRun, point: CrashPoint, step: number) => boolean;
}

export type TuneOutcome =
  | { readonly status: 'done'; readonly out: string; readonly record: TuneJson; readonly final: Extract<TrainOutcome, { result: unknown }> }
  | {
      readonly status: 'interrupted';
      readonly out: string;
      readonly record: TuneJson;
      /** The run that was interrupted and the step it had reached. */
      readonly run: TuneRun;
      readonly step: number;
    };

/** A search resolved: its runs' shared config (lr aside), its settings and its trials' lrs. */
export interface TunePlan {
  readonly out: string;
  readonly base: Omit<TrainConfig, 'lr'>;
  readonly search: TuneSearch;
  readonly lrs: readonly number[];
  readonly config: TuneConfig;
}

/** The config checked and resolved (ConfigError naming the first bad field); nothing is read or written. */
export function planTune(config: TuneConfig): TunePlan {
  checkTuneTrainOptions(config.train as TuneTrainOptions & { lr?: unknown });
  const search = resolveTuneSearch(config.search);
  const { lr: _lr, ...base } = resolveTrainConfig({ ...config.train, lr: 1 });
  prepare({ ...base, lr: 1 });
  const lrs = sampleLrs(search.trials, search.lrMin, search.lrMax, search.seed);
  return { out: resolve(config.out), base, search, lrs, config };
}

/** A trial's config: the base with its lr, the last rung as its epochs and the search's validation split. */
export function trialConfig(plan: TunePlan, lr: number): TrainConfig {
  const { search } = plan;
  return resolveTrainConfig({
    ...plan.base,
    lr,
    epochs: search.rungs.at(-1)!,
    validation: { fraction: search.validation, seed: search.seed },
  });
}

export const finalConfig = (plan: TunePlan, lr: number): TrainConfig => resolveTrainConfig({ ...plan.base, lr });

/** Search the lr of a config, then train the lr chosen (or return the search when it had ended). */
export async function tuneLr(config: TuneConfig, hooks: TuneHooks = {}): Promise<TuneOutcome> {
  const plan = planTune(config);
  assertWritableDir(plan.out);
  const release = lockRun(plan.out);
  try {
    return await tuneLocked(plan, hooks);
  } finally {
    release();
  }
}

interface Session {
  readonly plan: TunePlan;
  readonly hooks: TuneHooks;
  readonly command: string;
  readonly createdAt: string;
}

/** The folder's tune.json must be of this search (ConfigError naming the first field that differs). */
function checkSameSearch(plan: TunePlan, prior: TuneJson): void {
  const fields = [
    ...Object.keys({ ...plan.base, ...prior.train }).filter(
      (k) => stringifyExact((plan.base as Record<string, unknown>)[k]) !== stringifyExact((prior.train as Record<string, unknown>)[k]),
    ),
    ...Object.keys(plan.search).filter(
      (k) => stringifyExact(plan.search[k as keyof TuneSearch]) !== stringifyExact(prior.search[k as keyof TuneSearch]),
    ),
  ];
  if (fields.length)
    throw new ConfigError(
      fields[0],
      `${join(plan.out, TUNE_FILE)} holds a search with other settings (${fields.map((f) => `\`${f}\``).join(', ')} differ); run this one into another \`out\`, or give the same settings to continue it`,
    );
}

async function tuneLocked(plan: TunePlan, hooks: TuneHooks): Promise<TuneOutcome> {
  const prior = readTuneRecord(plan.out);
  if (prior) checkSameSearch(plan, prior);
  const s: Session = {
    plan,
    hooks,
    command: plan.config.command ?? prior?.command ?? `tuneLr(${stringifyExact({ train: plan.config.train, search: plan.search })})`,
    createdAt: prior?.createdAt ?? new Date().toISOString(),
  };
  const searched = await search(s);
  if (searched.status === 'interrupted') return searched;
  return trainFinal(s, searched.trials, searched.rungs, searched.choice);
}

const readAll = (s: Session): TrialRead[] =>
  s.plan.lrs.map((lr, i) => readTrial(join(s.plan.out, trialDir(i + 1)), i + 1, lr, trialConfig(s.plan, lr)));

function write(
  s: Session,
  trials: readonly TrialRead[],
  rungs: readonly RungState[],
  rest: Partial<Parameters<typeof buildRecord>[0]>,
): TuneJson {
  const record = buildRecord({
    command: s.command,
    createdAt: s.createdAt,
    train: s.plan.base,
    search: s.plan.search,
    trials,
    rungs,
    chosen: null,
    final: null,
    status: 'searching',
    ...rest,
  });
  writeResult(join(s.plan.out, TUNE_FILE), 'tune', record);
  return record;
}

type SearchEnd =
  | { readonly status: 'searched'; readonly trials: TrialRead[]; readonly rungs: RungState[]; readonly choice: Choice }
  | Extract<TuneOutcome, { status: 'interrupted' }>;

/** Train the trials rung by rung until the search is over; the state is reread from the folders after every step. */
async function search(s: Session): Promise<SearchEnd> {
  const { plan } = s;
  for (;;) {
    const trials = readAll(s);
    const rungs = rungStates(plan.search, trials);
    if (searchDone(plan.search, rungs)) return { status: 'searched', trials, rungs, choice: chooseTrial(plan.search, trials, rungs) };
    write(s, trials, rungs, {});
    const rung = rungs.at(-1)!;
    const t = trials.find((x) => x.index === rung.waiting[0])!;
    const outcome = await trainTrial(s, t, rung.epoch, rungs.length);
    if (outcome.status === 'interrupted') {
      s.hooks.log?.(`trial ${t.index} (lr ${t.lr}) interrupted at step ${outcome.step}; run the search again to resume`);
      const again = readAll(s);
      const run = { kind: 'trial' as const, index: t.index, lr: t.lr };
      return { status: 'interrupted', out: plan.out, record: write(s, again, rungStates(plan.search, again), {}), run, step: outcome.step };
    }
  }
}

const pct = (x: number | null | undefined) => (x == null ? '—' : `${(100 * x).toFixed(2)}%`);

/** Train one trial up to the rung's epoch (resuming it), stopping it there through onEpoch. */
async function trainTrial(s: Session, t: TrialRead, epoch: number, rung: number): Promise<TrainOutcome> {
  const { plan, hooks } = s;
  const run: TuneRun = { kind: 'trial', index: t.index, lr: t.lr };
  const from = t.epochs.length ? `from epoch ${t.epochs.at(-1)!.epoch} ` : '';
  hooks.log?.(
    `trial ${t.index}/${plan.search.trials} (lr ${t.lr}): training ${from}to epoch ${epoch} (rung ${rung} of ${plan.search.rungs.length})`,
  );
  const train = hooks.train?.(run);
  const crash = hooks.crashAt;
  try {
    const outcome = await trainRun(
      {
        ...trialConfig(plan, t.lr),
        out: join(plan.out, trialDir(t.index)),
        resume: true,
        chanceFromEpoch: null,
        checkpointEvery: plan.config.checkpointEvery ?? { seconds: 120 },
        ...(plan.config.versions ? { versions: plan.config.versions } : {}),
        command: `${s.command} (trial ${t.index}, lr ${t.lr})`,
      },
      {
        ...train,
        onEpoch: (line) => (line.epoch >= epoch ? 'stop' : undefined),
        ...(crash ? { crashAt: (p: CrashPoint, step: number) => crash(run, p, step) } : {}),
      },
    );
    logTrial(s, t, outcome);
    return outcome;
  } finally {
    train?.done?.();
  }
}

function logTrial(s: Session, t: TrialRead, o: TrainOutcome): void {
  if (o.status === 'interrupted') return;
  const e = readTrial(join(s.plan.out, trialDir(t.index)), t.index, t.lr, trialConfig(s.plan, t.lr)).epochs.at(-1);
  const where = o.status === 'stopped' ? `at epoch ${o.epoch}` : o.status;
  const why = o.status === 'diverged' && o.result.divergence ? ` (${o.result.divergence.reason})` : '';
  s.hooks.log?.(`trial ${t.index} (lr ${t.lr}): ${where}${why}, validation acc ${pct(e?.valAcc)} (loss ${e?.valLoss?.toFixed(4) ?? '—'})`);
}

/** Train the chosen lr on the whole train split (resuming it, or returning it when it had ended). */
async function trainFinal(s: Session, trials: TrialRead[], rungs: RungState[], choice: Choice): Promise<TuneOutcome> {
  const { plan, hooks } = s;
  const lr = trials.find((t) => t.index === choice.trial)!.lr;
  const dir = join(plan.out, FINAL_DIR);
  const epochs = plan.base.epochs;
  const running = { dir: FINAL_DIR, lr, status: 'running' as const, finalTestAcc: null, bestTestAcc: null, epochs, seconds: 0 };
  write(s, trials, rungs, { chosen: choice, final: running, status: 'final' });
  hooks.log?.(
    `chose trial ${choice.trial} (lr ${lr}): ${choice.why}, validation acc ${pct(choice.score?.valAcc)}; training it for ${epochs} epochs on the whole train split`,
  );
  const run: TuneRun = { kind: 'final', lr };
  const train = hooks.train?.(run);
  const crash = hooks.crashAt;
  let outcome: TrainOutcome;
  try {
    outcome = await trainRun(
      {
        ...finalConfig(plan, lr),
        out: dir,
        resume: true,
        // still at chance when every trial had its whole length to leave the plateau: stopped as diverged
        chanceFromEpoch: plan.search.rungs.at(-1)!,
        checkpointEvery: plan.config.checkpointEvery ?? { seconds: 120 },
        ...(plan.config.versions ? { versions: plan.config.versions } : {}),
        command: `${s.command} (final run, lr ${lr})`,
      },
      { ...train, ...(crash ? { crashAt: (p: CrashPoint, step: number) => crash(run, p, step) } : {}) },
    );
  } finally {
    train?.done?.();
  }
  if (outcome.status === 'interrupted' || outcome.status === 'stopped') {
    const record = write(s, trials, rungs, { chosen: choice, final: running, status: 'final' });
    return { status: 'interrupted', out: plan.out, record, run, step: outcome.step };
  }
  const r = outcome.result;
  const final = { ...running, status: r.status, finalTestAcc: r.finalTestAcc, bestTestAcc: r.bestTestAcc, seconds: r.timings.totalSeconds };
  return { status: 'done', out: plan.out, record: write(s, trials, rungs, { chosen: choice, final, status: 'done' }), final: outcome };
}
