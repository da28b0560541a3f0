/**
 * `adzone tune`: the command line of the learning-rate search (src/train/tune: tuneLr). It parses
 * argv into the stage's train options (those of `adzone train`, without --lr) and search settings,
 * calls the stage with a progress display, reports a ConfigError under the option that set the
 * field, and prints the lr chosen and the final run's test accuracy.
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { MAX_THREADS, setThreads } from '../../engine/kernels/threads.ts';
import { optionName, type OptionValue, TRAIN_OPTIONS, trainOptionsFrom } from '../../train/options.ts';
import { fmtDuration, progressHooks } from '../../train/progress.ts';
import { RESULT_FILE } from '../../train/run.ts';
import {
  FINAL_DIR,
  planTune,
  resolveTuneSearch,
  TUNE_DEFAULTS,
  TUNE_FILE,
  type TuneOptions,
  type TuneOutcome,
  type TuneTrainOptions,
  tuneLr,
} from '../../train/tune/index.ts';
import { ConfigError } from '../../util/errors.ts';
import { inOptionWords, UsageError } from '../args.ts';

const d = TUNE_DEFAULTS;

export const TUNE_HELP = `adzone tune — search the learning rate of a training config, then train the lr chosen and report its test accuracy

Usage:
  adzone tune --out DIR TRAIN-OPTIONS [SEARCH-OPTIONS] [--dry-run] [--quiet]

TRAIN-OPTIONS are those of adzone train (adzone help train), without --lr: the search chooses it.
--epochs is the final run's length; the trials run to the last rung.

Search (defaults: the paper's protocol where it has one):
  --trials N         trials (default ${d.trials})
  --lr-min X         lowest lr (default ${d.lrMin})
  --lr-max X         highest lr (default ${d.lrMax}); trials are drawn stratified log-uniform in [lr-min, lr-max]:
                     each lr is log-uniform, and every 1/N of the log-range holds exactly one
  --rungs E1,E2,...  epochs at which the trials still running are compared (default ${d.rungs.join(',')}); the last is
                     every trial's length. Put the first rung past any plateau of the net (VGG11 without batch
                     norm sits at chance for ~400 steps)
  --eta X            at each rung but the last, the best ceil(entered / X) trials go on (default ${d.eta})
  --validation F     share of each class of the train split held out to choose on (default ${d.validation})
  --search-seed S    seed of the lr draw and of the validation split (default ${d.seed}); --seed stays the runs'

The trials train on the train split less the validation split and are evaluated on the validation
split after every epoch; a NaN/Inf loss ends a trial. The trial with the best validation accuracy
(ties: loss) at the furthest rung reached is chosen (the paper chooses on test accuracy; the test
split is never evaluated by a trial here). Its lr is trained for --epochs on the whole train split
and evaluated on the test split.

Output and control:
  --out DIR          DIR/tune.json (schema adzone/tune 1: every trial, the rungs, the lr chosen, the final run),
                     DIR/trials/trial-NN/ and DIR/final/ (adzone train folders)
  --checkpoint-every C  N steps, or a time such as 90s or 3m (default 2m); and at the end of every epoch
  --threads N        threads for the engine's kernels (default: ADZONE_THREADS, else the available cores)
  --dry-run          print the trials' lrs and the rungs without training
  --quiet            no progress bar

Run the same command again to continue a search that was stopped: finished trials are not trained
again, the others resume from their checkpoints. Exit codes: 0 the final run ended (completed or
diverged), 1 interrupted, 2 unusable options, folder or data.

Example: adzone tune --model lenet5 --dataset mnist --beta 0 --precision 32 --epochs 2 --trials 6 --rungs 1,2 --out reports/tune/lenet5`;

/** Search option → the search's field. */
const SEARCH_OPTIONS: Readonly<Record<string, keyof TuneOptions>> = {
  trials: 'trials',
  'lr-min': 'lrMin',
  'lr-max': 'lrMax',
  rungs: 'rungs',
  eta: 'eta',
  validation: 'validation',
  'search-seed': 'seed',
};

const TRAIN_ONLY = Object.fromEntries(
  Object.entries(TRAIN_OPTIONS)
    .filter(([name]) => name !== 'lr')
    .map(([name, o]) => [name, { type: o.kind === 'boolean' ? ('boolean' as const) : ('string' as const) }]),
);

const OPTIONS = {
  ...TRAIN_ONLY,
  ...Object.fromEntries(Object.keys(SEARCH_OPTIONS).map((k) => [k, { type: 'string' as const }])),
  'no-augment': { type: 'boolean' },
  /** Refused with a message: the search chooses it. */
  lr: { type: 'string' },
  out: { type: 'string' },
  'checkpoint-every': { type: 'string' },
  threads: { type: 'string' },
  'dry-run': { type: 'boolean' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const NUMBER = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;

function num(flag: string, v: string): number {
  if (!NUMBER.test(v)) throw new UsageError(`--${flag} must be a number, got '${v}'`);
  return Number(v);
}

/** The search settings the command line gives, resolved (a bad one is a UsageError naming its option). */
function searchOptions(values: Record<string, unknown>): TuneOptions {
  const o: Record<string, unknown> = {};
  for (const [flag, field] of Object.entries(SEARCH_OPTIONS)) {
    const v = values[flag] as string | undefined;
    if (v === undefined) continue;
    o[field] = field === 'rungs' ? v.split(',').map((x) => num(flag, x)) : num(flag, v);
  }
  try {
    resolveTuneSearch(o as TuneOptions);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    throw inOptionWords(e, (field) => Object.entries(SEARCH_OPTIONS).find(([, x]) => x === field)?.[0]);
  }
  return o as TuneOptions;
}

function trainOptions(values: Record<string, unknown>): TuneTrainOptions {
  const named: Record<string, OptionValue> = {};
  for (const name of [...Object.keys(TRAIN_ONLY), 'no-augment']) {
    const v = values[name] as OptionValue | undefined;
    if (v !== undefined && v !== false) named[name] = v;
  }
  return trainOptionsFrom(named);
}

function parseCadence(v: string): { steps: number } | { seconds: number } {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$/.exec(v);
  if (!m || Number(m[1]) <= 0 || (!m[2] && !Number.isInteger(Number(m[1]))))
    throw new UsageError(`--checkpoint-every must be a number of steps (e.g. 500) or a time (e.g. 90s, 3m, 1h), got '${v}'`);
  if (!m[2]) return { steps: Number(m[1]) };
  return { seconds: Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1) };
}

function threadCount(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || n < 1 || n > MAX_THREADS)
    throw new UsageError(`--threads must be a whole number from 1 to ${MAX_THREADS}, got '${v}'`);
  return n;
}

export async function tuneCommand(argv: string[], { version }: { readonly version: string }): Promise<number> {
  const { values } = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false });
  if (values.help) {
    console.log(TUNE_HELP);
    return 0;
  }
  if (values.lr !== undefined) throw new UsageError('--lr is what adzone tune searches; give the range as --lr-min and --lr-max');
  if (values.out === undefined)
    throw new UsageError(
      'tune needs --out DIR (e.g. adzone tune --model lenet5 --dataset mnist --beta 0 --precision 32 --epochs 2 --out reports/tune/lenet5)',
    );
  if (values.threads !== undefined) setThreads(threadCount(values.threads));
  const search = searchOptions(values);
  const progress = progressHooks(values.quiet === true);
  try {
    const config = {
      train: trainOptions(values),
      search,
      out: resolve(values.out),
      checkpointEvery: values['checkpoint-every'] === undefined ? { seconds: 120 } : parseCadence(values['checkpoint-every']),
      versions: { adzone: version, node: process.version },
      command: `adzone tune ${argv.join(' ')}`.trim(),
    };
    if (values['dry-run']) return dryRun(planTune(config));
    const log = (l: string) => process.stderr.write(`${l}\n`);
    const outcome = await tuneLr(config, { log, train: () => progress });
    progress.done();
    return printOutcome(outcome);
  } catch (e) {
    progress.done();
    if (e instanceof ConfigError) throw inOptionWords(e, optionName);
    throw e;
  }
}

function dryRun(plan: ReturnType<typeof planTune>): number {
  const { search, lrs } = plan;
  for (const [i, lr] of lrs.entries()) console.log(`trial ${String(i + 1).padStart(2)}: lr ${lr}`);
  console.log(
    `${search.trials} trials, lr stratified log-uniform in [${search.lrMin}, ${search.lrMax}], rungs at epochs ${search.rungs.join(', ')} ` +
      `(best 1/${search.eta} go on), validation ${search.validation} of the train split; final run ${plan.base.epochs} epochs; folder ${plan.out}`,
  );
  return 0;
}

function printOutcome(o: TuneOutcome): number {
  const file = join(o.out, TUNE_FILE);
  if (o.status === 'interrupted') {
    const where = o.run.kind === 'final' ? 'the final run' : `trial ${o.run.index} (lr ${o.run.lr})`;
    console.log(`interrupted in ${where} at step ${o.step}; run the same command again to continue (${file})`);
    return 1;
  }
  const t = o.record;
  const r = o.final.result;
  const c = t.chosen!;
  const trials = t.trials.map((x) => x.status);
  const counts = (['completed', 'pruned', 'diverged'] as const).map((s) => `${trials.filter((x) => x === s).length} ${s}`).join(', ');
  const acc = r.finalTestAcc === null ? 'no test accuracy' : `test accuracy ${(100 * r.finalTestAcc).toFixed(2)}%`;
  const why = r.divergence ? ` (${r.divergence.reason})` : '';
  console.log(
    `lr ${c.lr} chosen (trial ${c.trial}, validation accuracy ${c.valAcc === null ? '—' : `${(100 * c.valAcc).toFixed(2)}%`} at epoch ${c.epoch}; trials: ${counts}); ` +
      `final run ${r.status}${why}: ${acc} after ${r.epochs.length} epochs in ${fmtDuration(r.timings.totalSeconds)}; wrote ${file} and ${join(o.out, FINAL_DIR, RESULT_FILE)}`,
  );
  return 0;
}
