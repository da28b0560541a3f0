/**
 * `adzone zones`: the network-zones stage (src/zones/network/stage.ts) from the command line. The
 * options become a NetworkZonesConfig (a bad field is reported under the option that set it), the
 * output folder is checked writable before the work, and DIR/zones.json (checked by the schema
 * layer) and DIR/zones.md are written together at the end.
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { zonesMarkdown } from '../../report/zonesMarkdown.ts';
import { writeResults } from '../../schema/index.ts';
import { assertWritableDir } from '../../util/output.ts';
import { type NetworkZonesConfig, networkZones, resolveNetworkZonesConfig } from '../../zones/network/index.ts';
import { asUsageAsync, parseAlphas, parseList, UsageError } from '../args.ts';
import { progress } from '../progress.ts';

export const ZONES_HELP = `adzone zones — share of mini-batches in a zone for one θ of a network: the paper's threshold
estimator (Σ‖g(β=0) − g(β=1)‖∞) side by side with the exact classification of every MaxPool window and ReLU unit

Options:
  --model NAME       lenet5, lenet5-padded, vgg11, resnet18 (required)
  --dataset NAME     mnist, cifar10, svhn, imagenet (required; its shape must fit the model)
  --batches N        the first N mini-batches of the split, in order (required)
  --out DIR          where zones.json and zones.md go (required)
  --precision LIST   comma list of 16, 32, 64 (default 16,32,64)
  --seed S           seed of the untrained parameters initParams(spec, S) (default 1)
  --batch-size B     mini-batch size (default 128)
  --width W          channel multiplier for vgg11 / resnet18, e.g. 0.25 or 1/4 (default 1)
  --batch-norm       insert batch norm (then only the estimator runs: exact classification
                     through batch norm is impossible); --no-batch-norm removes it (resnet18 has it by default)
  --stem S           resnet18 only: cifar or imagenet (default cifar)
  --accumulate MODE  strict or wide (default strict)
  --relu-alpha A     ReLU'(0) of the run, in [0, 1] (default 0)
  --split S          train or test (default train; imagenet has test only)
  --jobs J           worker threads (default: CPUs, at most 4); results do not depend on it
  --quiet            no progress line

Example: adzone zones --model lenet5 --dataset mnist --precision 16,32,64 --batches 50 --seed 1 --out /tmp/zones-lenet`;

const OPTIONS = {
  model: { type: 'string' },
  dataset: { type: 'string' },
  precision: { type: 'string' },
  batches: { type: 'string' },
  seed: { type: 'string' },
  out: { type: 'string' },
  'batch-size': { type: 'string' },
  width: { type: 'string' },
  'batch-norm': { type: 'boolean' },
  'no-batch-norm': { type: 'boolean' },
  stem: { type: 'string' },
  accumulate: { type: 'string' },
  'relu-alpha': { type: 'string' },
  split: { type: 'string' },
  jobs: { type: 'string' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];

/** The option that sets each config field. */
const FLAG: Readonly<Record<string, string>> = {
  model: 'model',
  dataset: 'dataset',
  batches: 'batches',
  precisions: 'precision',
  seed: 'seed',
  batchSize: 'batch-size',
  width: 'width',
  batchNorm: 'batch-norm',
  stem: 'stem',
  accumulate: 'accumulate',
  reluAlpha: 'relu-alpha',
  split: 'split',
  jobs: 'jobs',
};

export async function zones(argv: string[], meta: { readonly help?: string; readonly version: string }): Promise<number> {
  const { values } = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false });
  if (values.help) {
    console.log(meta.help ?? ZONES_HELP);
    return 0;
  }
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const bar = progress(values.quiet === true);
  const config: NetworkZonesConfig = {
    ...configFrom(values),
    onProgress: bar.update,
    log,
    version: meta.version,
    command: `adzone zones ${argv.join(' ')}`.trim(),
  };
  const out = resolve(values.out!);
  const report = await asUsageAsync(
    (field) => FLAG[field],
    async () => {
      resolveNetworkZonesConfig(config); // a bad field stops here, before the output folder is made
      assertWritableDir(out);
      try {
        return await networkZones(config);
      } finally {
        bar.done();
      }
    },
  );
  const json = join(out, 'zones.json');
  const md = join(out, 'zones.md');
  writeResults([
    { file: json, kind: 'zones', data: report },
    { path: md, data: zonesMarkdown(report) },
  ]);
  log(`wrote ${json} and ${md} (${report.timing.wallSeconds.toFixed(1)} s)`);
  return 0;
}

/** The config the options ask for (syntax only: the stage checks the values). */
function configFrom(values: Values): NetworkZonesConfig {
  const missing = (['model', 'dataset', 'batches', 'out'] as const).filter((k) => values[k] === undefined);
  if (missing.length)
    throw new UsageError(
      `zones needs ${missing.map((m) => `--${m}`).join(', ')} (e.g. adzone zones --model lenet5 --dataset mnist --batches 50 --out /tmp/zones)`,
    );
  if (values['batch-norm'] && values['no-batch-norm']) throw new UsageError('--batch-norm and --no-batch-norm contradict each other');
  const alphas = values['relu-alpha'] === undefined ? undefined : parseAlphas(values['relu-alpha']);
  if (alphas && alphas.length !== 1)
    throw new UsageError(`--relu-alpha takes one value in [0, 1] for zones (the run's ReLU'(0)), got ${alphas.length}`);
  const optional = {
    precisions: values.precision === undefined ? undefined : parseList('precision', values.precision, []),
    seed: numberOption('seed', values.seed),
    batchSize: numberOption('batch-size', values['batch-size']),
    width: parseWidth(values.width),
    batchNorm: values['batch-norm'] ? true : values['no-batch-norm'] ? false : undefined,
    stem: values.stem as NetworkZonesConfig['stem'],
    accumulate: values.accumulate as NetworkZonesConfig['accumulate'],
    reluAlpha: alphas?.[0],
    split: values.split as NetworkZonesConfig['split'],
    jobs: numberOption('jobs', values.jobs),
  };
  const given = Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined));
  return { model: values.model!, dataset: values.dataset!, batches: numberOption('batches', values.batches)!, ...given };
}

/** A number written in decimal (the stage checks its range); undefined when the option is not given. */
function numberOption(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\s*[+-]?\d+(\.\d+)?\s*$/.test(v)) throw new UsageError(`--${name} must be a number, got '${v}'`);
  return Number(v);
}

/** A channel multiplier: a number or a fraction such as 1/4. */
function parseWidth(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(\d+(?:\.\d+)?))?\s*$/.exec(v);
  const w = m ? Number(m[1]) / (m[2] === undefined ? 1 : Number(m[2])) : NaN;
  if (!(w > 0 && Number.isFinite(w)))
    throw new UsageError(`--width must be a positive number such as 0.25 or 1/4 (a channel multiplier), got '${v}'`);
  return w;
}
