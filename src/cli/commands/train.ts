/**
 * `adzone train`: the command line of the training stage (src/train/run.ts trainRun). It parses argv
 * into the stage's options (a bad value is a UsageError, exit 2), calls the stage with a progress
 * display, reports a ConfigError under the option that set the field, and prints the outcome.
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { MAX_THREADS, setThreads } from '../../engine/kernels/threads.ts';
import { MODEL_NAMES } from '../../models/index.ts';
import { fmtDuration, progressHooks } from '../../train/progress.ts';
import { optionName, type OptionValue, TRAIN_OPTIONS, trainOptionsFrom } from '../../train/options.ts';
import { checkTrainOptions, REQUIRED_TRAIN_FIELDS, resolveTrainConfig, type TrainOptions } from '../../train/config.ts';
import { RESULT_FILE, ResumeMismatchError, trainRun, type CheckpointCadence, type TrainHooks, type TrainOutcome } from '../../train/run.ts';
import { ConfigError } from '../../util/errors.ts';
import { stringifyExact } from '../../train/checkpoint.ts';
import { parseThreads, UsageError } from '../args.ts';

export const TRAIN_HELP = `adzone train — train a network with MaxPool Jacobian β and report test accuracy per epoch (the paper's ablations, docs/DESIGN.md §4)

Required:
  --model NAME          ${MODEL_NAMES.join(', ')}
  --dataset NAME        mnist, cifar10, svhn (once fetched: adzone data fetch svhn), imagenet-sample (the 1,000-image
                        ImageNet sample as train and test split: smoke runs only; resnet18 takes the ImageNet stem on it)
  --beta B              MaxPool Jacobian β(B) = B·minnorm + (1 − B)·first, an integer (0 = first; the paper: 0, 1, 10, 100, 1000, 10000)
  --precision P         16, 32, 64 or bf16 (bfloat16: the engine and torch)
  --epochs E

Backend and arithmetic:
  --mode M              strict (every op rounded to p) or wide (float32/64 inside an op, output rounded to p);
                        framework: a framework's own arithmetic (tfjs's float32 at 32 bits; torch at every precision).
                        Default: wide at 16 bits on tfjs, tfjs's own float32 at 32, strict on the engine, framework on torch
  --backend ID          tfjs-wasm, tfjs-cpu, engine, torch (tfjs-node: not usable here). Default from precision and mode:
                        tfjs-wasm for 32 bits and 16-bit wide; the engine for 64 bits, bf16, 16-bit strict and 32 bits with --mode.
                        torch: PyTorch in a Python process (bridges/torch/adzone_torch_train.py), the same models and θ,
                        the β Jacobian in its backward pass, adzone's SGD/Adam update
  --device D            torch only: cpu (default) or cuda; a precision the device cannot run (float16 on a CPU) exits 2
  --python PATH         torch only: the Python interpreter (default: ADZONE_PYTHON, else the first python3/python that imports torch)
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
                        available cores); results are bit-identical for any count. With --backend torch: torch's
                        threads (default 1; its sums may split differently with another count, so resume with the same)
  --quiet               no progress bar

Writes DIR/metrics.jsonl (a line every K steps and every epoch), DIR/checkpoint.bin and DIR/result.json
(schema 'adzone/train' 1: config, status completed | diverged, final and best test accuracy, per-epoch metrics,
timings, versions). The final checkpoint is written before result.json; --resume on a run killed between the two
rebuilds result.json from it. Exit codes: 0 the run ended (completed or diverged), 2 unusable options, folder,
checkpoint or data (one line saying what and where).

Example: adzone train --model lenet5 --dataset mnist --beta 0 --precision 32 --epochs 1`;

const OPTIONS = {
  ...Object.fromEntries(
    Object.entries(TRAIN_OPTIONS).map(([name, o]) => [name, { type: o.kind === 'boolean' ? ('boolean' as const) : ('string' as const) }]),
  ),
  'no-augment': { type: 'boolean' },
  out: { type: 'string' },
  resume: { type: 'boolean' },
  'checkpoint-every': { type: 'string' },
  'continue-on-divergence': { type: 'boolean' },
  quiet: { type: 'boolean' },
  threads: { type: 'string' },
  python: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface TrainCommandOptions {
  readonly version: string;
  /** Test hook passed to trainRun: stop at a named point as a kill would. */
  readonly crashAt?: TrainHooks['crashAt'];
}

function parseCadence(v: string): CheckpointCadence {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$/.exec(v);
  if (!m || Number(m[1]) <= 0 || (!m[2] && !Number.isInteger(Number(m[1])))) {
    throw new UsageError(`--checkpoint-every must be a number of steps (e.g. 500) or a time (e.g. 90s, 3m, 1h), got '${v}'`);
  }
  if (!m[2]) return { steps: Number(m[1]) };
  return { seconds: Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1) };
}

/** A ConfigError in the command line's words: `field` mentions become --options; a message naming none opens with the option. */
function inOptionWords(e: ConfigError): UsageError {
  const flag = (field: string) => `--${optionName(field)}`;
  const text = e.message.replace(/`(\w+)`/g, (_m, field: string) => flag(field));
  return new UsageError(text === e.message ? `${flag(e.field)}: ${text}` : text);
}

function resumeMismatch(e: ResumeMismatchError): UsageError {
  const said = (k: 'checkpoint' | 'given') => e.fields.map((f) => `${f.field} ${stringifyExact(f[k])}`).join(', ');
  return new UsageError(
    `--resume: the checkpoint ${e.file} was made with ${said('checkpoint')}, the command line says ${said('given')}; ` +
      'leave those options out to continue the run as it was, or start a new run in another --out',
  );
}

/** The train options the command line gives (values turned into the fields' types; ranges are the stage's to check). */
function givenOptions(values: Record<string, unknown>): TrainOptions {
  const named: Record<string, OptionValue> = {};
  for (const name of [...Object.keys(TRAIN_OPTIONS), 'no-augment']) {
    const v = values[name] as OptionValue | undefined;
    if (v !== undefined && v !== false) named[name] = v;
  }
  return trainOptionsFrom(named);
}

/** reports/train/<model>-<dataset>-p<precision>-<mode>-beta<B>-<optimizer>-seed<S> for the run these options make. */
function defaultOut(o: TrainOptions, resume: boolean): string {
  checkTrainOptions(o);
  const missing = REQUIRED_TRAIN_FIELDS.filter((k) => o[k] === undefined);
  if (missing.length)
    throw new UsageError(
      `train needs ${missing.map((m) => `--${m}`).join(', ')}${resume ? ' (or --out DIR of the run to resume)' : ''} (e.g. adzone train --model lenet5 --dataset mnist --beta 0 --precision 32 --epochs 1)`,
    );
  const c = resolveTrainConfig(o);
  // torch's own arithmetic is mode framework as tfjs's is: the backend (and a GPU) goes in the name
  const torch = c.backend === 'torch' ? `-torch${c.device === 'cuda' ? '-cuda' : ''}` : '';
  const name = `${c.model}-${c.dataset}-p${c.precision}-${c.mode}${torch}-beta${c.beta}-${c.optimizer}-seed${c.seed}`;
  return join('reports', 'train', name.replace(/[^A-Za-z0-9._-]/g, '_'));
}

/** --python and --threads for a backend in another process (torch). */
function backendProcess(python: string | undefined, threads: number | undefined) {
  if (python === undefined && threads === undefined) return {};
  return { backendProcess: { ...(python !== undefined ? { python } : {}), ...(threads !== undefined ? { threads } : {}) } };
}

export async function trainCommand(argv: string[], { version, crashAt }: TrainCommandOptions): Promise<number> {
  const { values } = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false });
  if (values.help) {
    console.log(TRAIN_HELP);
    return 0;
  }
  const threads = parseThreads(values.threads, MAX_THREADS);
  if (threads !== undefined) setThreads(threads);
  const progress = progressHooks(values.quiet === true);
  try {
    const options = givenOptions(values);
    const resume = values.resume === true;
    const out = resolve(values.out ?? defaultOut(options, resume));
    const outcome = await trainRun(
      {
        ...options,
        out,
        resume,
        continueOnDivergence: values['continue-on-divergence'] === true,
        checkpointEvery: values['checkpoint-every'] === undefined ? { seconds: 180 } : parseCadence(values['checkpoint-every']),
        versions: { adzone: version, node: process.version },
        command: `adzone train ${argv.join(' ')}`.trim(),
        ...backendProcess(values.python, threads),
      },
      { ...progress, ...(crashAt ? { crashAt } : {}) },
    );
    progress.done();
    return printOutcome(outcome);
  } catch (e) {
    progress.done();
    if (e instanceof ResumeMismatchError) throw resumeMismatch(e);
    if (e instanceof ConfigError) throw inOptionWords(e);
    throw e;
  }
}

function printOutcome(outcome: TrainOutcome): number {
  if (outcome.status === 'interrupted' || outcome.status === 'stopped') return 1;
  const r = outcome.result;
  const file = join(outcome.out, RESULT_FILE);
  if (outcome.ended === 'before') {
    console.log(`the run in ${outcome.out} has already ended (${r.status}); see ${file}`);
    return 0;
  }
  const best = r.bestTestAcc ? `, best ${(100 * r.bestTestAcc.testAcc).toFixed(2)}% at epoch ${r.bestTestAcc.epoch}` : '';
  const fin = r.finalTestAcc === null ? 'no test accuracy' : `final test accuracy ${(100 * r.finalTestAcc).toFixed(2)}%`;
  const why = r.divergence ? ` (${r.divergence.reason})` : '';
  const rebuilt =
    outcome.ended === 'rebuilt' ? 'the run had ended but its result.json was missing; rebuilt it from the final checkpoint: ' : '';
  console.log(
    `${rebuilt}${r.status}${why}: ${fin}${best}; ${r.timings.steps} steps in ${fmtDuration(r.timings.totalSeconds)} (${r.timings.meanStepMs.toFixed(0)} ms/step); wrote ${file}`,
  );
  return 0;
}
