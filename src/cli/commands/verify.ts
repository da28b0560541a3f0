/**
 * `adzone verify`: the verify stage (src/zones/verify.ts) from the command line. The options become
 * a VerifyConfig (a bad field is reported under the option that set it), the output folder is
 * checked writable before the work, the run's journal goes into it (hidden; --resume continues an
 * interrupted run), and verify.json (checked by the schema layer) and verify.md are written
 * together at the end. --fail-on makes findings an exit code; --json prints a summary on stdout.
 */
import { join, relative, resolve } from 'node:path';
import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { BACKEND_IDS, type BackendOptions } from '../../backends/registry.ts';
import { TORCH_BRIDGE } from '../../backends/torch.ts';
import type { Accumulate } from '../../engine/types.ts';
import { GENERATORS, generatorById } from '../../generators/index.ts';
import type { BetaMode } from '../../jacobians/index.ts';
import { FORMATS } from '../../precision/index.ts';
import { verifyMarkdown } from '../../report/verifyMarkdown.ts';
import { writeResults } from '../../schema/index.ts';
import { assertWritableDir, assertWritableFile, writeFilesAtomic } from '../../util/output.ts';
import { exportBatch } from '../../zones/batch.ts';
import { addToCorpus } from '../../zones/corpus.ts';
import { FAIL_ON, type FailOn, failingCells, failLine, type FailingCell } from '../../zones/failOn.ts';
import {
  resolveVerifyConfig,
  VERIFY_CONFIG_DEFAULTS as D,
  type VerifyConfig,
  type VerifyRun,
  verify,
  verifyJson,
} from '../../zones/verify.ts';
import {
  asUsage,
  asUsageAsync,
  joinNegativeValues,
  parseAlphas,
  parseChoice,
  parseIntOption,
  parseList,
  parseSeedOption,
  UsageError,
} from '../args.ts';
import { verifyProgress } from '../progress.ts';

export const VERIFY_HELP = `adzone verify — zone counts per generator × backend × precision, with minimal counterexamples

Defaults are the main job: ${D.samples} draws of each of the ${GENERATORS.length} generators on ${D.backends.join(', ')} (those
that can run here) at ${D.precisions.join(', ')} bits, each non-regular class shrunk within ${D.shrinkSteps} candidates,
on every CPU (at most ${D.maxDefaultJobs} threads). --samples 2000 is the long sweep.

Options:
  --samples N        draws per generator (default ${D.samples})
  --seed S           fast-check seed, signed or unsigned 32-bit (both forms draw the same); the same
                     seed gives the same draws, counts and counterexamples (default ${D.seed})
  --precision LIST   comma list of ${Object.keys(FORMATS).join(', ')} (default ${D.precisions.join(',')})
  --jacobians LIST   MaxPool Jacobian family: first, last, minnorm, beta:N (default ${D.jacobians.join(',')})
  --relu-alpha LIST  ReLU'(0) values in [0,1]; the family is jacobians × alphas (default 0)
  --accumulate MODE  strict (every op rounds to p) or wide (accumulate wider, round each op's output) (default strict)
  --beta-mode MODE   backward (β in the backward pass only) or mixed-forward (the paper's code) (default backward)
  --backends LIST    ${BACKEND_IDS.join(', ')} (default ${D.backends.join(',')}; absent ones are skipped with a line)
  --generators LIST  generator ids or 'all' (default all): ${GENERATORS.map((g) => g.id).join(', ')}
  --out DIR          where verify.json and verify.md go (default reports/verify)
  --no-shrink        skip shrinking minimal counterexamples
  --shrink-steps N   shrink candidates tried per class, at most (default ${D.shrinkSteps}): the budget that keeps
                     one stubborn counterexample from taking minutes; verify.md says which classes it stopped
  --jobs J           worker threads (default: the CPUs, at most ${D.maxDefaultJobs}); results do not depend on it
  --resume           continue an interrupted run from DIR/.verify-journal.jsonl (the same options)
  --fail-on LIST     exit 1, with one line per failing (generator, backend, precision) cell, when any cell
                     has one of: ${FAIL_ON.join(', ')} (default: none; exploring never fails)
  --json             print a summary on stdout (files, timing, per-cell counts, failing cells)
  --corpus DIR       also add each minimal counterexample to the replayed corpus (e.g. fixtures/counterexamples)
  --quiet            no progress line

PyTorch (--backends torch, through bridges/torch/adzone_torch_bridge.py; float32, float64 and bf16
on a CPU, float16 where the device runs it):
  --python PATH      the interpreter with torch (default: ADZONE_PYTHON, else the first of python3,
                     python, /usr/bin/python3, /usr/local/bin/python3 that imports torch)
  --device D         cpu or cuda (default cpu)
  --torch-module F:C compute every maxpool layer with your nn.Module C from file F (constructed like
                     torch.nn.MaxPool2d(kernel_size, stride, padding)) instead of F.max_pool2d
  --export-batch F   write the problems this run would send to the bridge to F (JSON Lines) and stop:
                     for a machine with PyTorch and no Node (a GPU box), run there
                       python3 adzone_torch_bridge.py --batch F --out RESULTS [--device cuda]
  --import-batch R   classify with the bridge's results file R instead of a live bridge (the same
                     --seed, --samples, --generators and --precision as the export; no shrinking)

Exit codes: 0 done (and nothing to fail on), 1 a cell has a --fail-on finding, 2 unusable options or input.

Examples: adzone verify --seed 1 --out /tmp/v
          adzone verify --samples 2000 --seed 1 --fail-on defect,inconsistent --json --out /tmp/v2000
          adzone verify --backends torch --precision 32,64,bf16 --generators exact-tie,argmax-flip-32 --out /tmp/vt`;

export const VERIFY_OPTIONS = {
  samples: { type: 'string' },
  seed: { type: 'string' },
  precision: { type: 'string' },
  jacobians: { type: 'string' },
  'relu-alpha': { type: 'string' },
  accumulate: { type: 'string' },
  'beta-mode': { type: 'string' },
  backends: { type: 'string' },
  generators: { type: 'string' },
  out: { type: 'string' },
  'no-shrink': { type: 'boolean' },
  'shrink-steps': { type: 'string' },
  jobs: { type: 'string' },
  resume: { type: 'boolean' },
  'fail-on': { type: 'string' },
  json: { type: 'boolean' },
  corpus: { type: 'string' },
  quiet: { type: 'boolean' },
  python: { type: 'string' },
  device: { type: 'string' },
  'torch-module': { type: 'string' },
  'export-batch': { type: 'string' },
  'import-batch': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof VERIFY_OPTIONS }>>['values'];

/** The option that sets each config field (for ConfigError messages). */
const FLAG: Readonly<Record<string, string>> = {
  samples: 'samples',
  seed: 'seed',
  precisions: 'precision',
  jacobians: 'jacobians',
  reluAlphas: 'relu-alpha',
  accumulate: 'accumulate',
  betaMode: 'beta-mode',
  generators: 'generators',
  backends: 'backends',
  shrinkSteps: 'shrink-steps',
  jobs: 'jobs',
  resume: 'resume',
};

/** The journal of a run writing into `out`: hidden, so report folders' readers pass it by. */
export const JOURNAL_FILE = '.verify-journal.jsonl';

/** What the options ask for beyond the stage's config. */
interface CommandOptions {
  readonly config: VerifyConfig;
  readonly out: string;
  readonly failOn: readonly FailOn[];
  readonly json: boolean;
  readonly corpus: string | undefined;
  readonly quiet: boolean;
}

export async function verifyCommand(argv: string[], meta: { readonly version: string }): Promise<number> {
  const { values } = parseArgs({
    args: joinNegativeValues(argv, ['seed']),
    options: VERIFY_OPTIONS,
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(VERIFY_HELP);
    return 0;
  }
  const o = commandOptions(values, meta.version);
  const log = (s: string) => process.stderr.write(`${s}\n`);
  if (values['export-batch'] !== undefined) return exportBatchFile(resolve(values['export-batch']), o.config, meta.version, log);
  if (values['import-batch'] !== undefined && values['no-shrink'] !== true)
    log('--import-batch: no shrinking (it would ask the bridge for new problems)');
  const journal = join(o.out, JOURNAL_FILE);
  asUsage(optionOf, () => resolveVerifyConfig({ ...o.config, journal })); // a bad field stops here, before the output folder is made
  assertWritableDir(o.out);
  const bar = verifyProgress(o.quiet);
  const stopInterrupt = onInterrupt(() => {
    bar.done();
    log(`adzone verify: interrupted; the finished units are kept in ${journal}: run the same command with --resume to continue`);
  });
  let run: VerifyRun;
  try {
    run = await asUsageAsync(optionOf, () => verify({ ...o.config, journal, onProgress: bar.update, log }));
  } finally {
    stopInterrupt();
    bar.done();
  }
  const command = `adzone verify ${argv.join(' ')}`.trim();
  writeVerifyReport(o.out, run, command, meta.version);
  rmSync(journal, { force: true }); // everything it held is in verify.json now
  if (o.corpus) addCounterexamples(resolve(o.corpus), run, log);
  const failing = failingCells(run.result.table, o.failOn);
  for (const f of failing) log(failLine(f));
  if (o.json) console.log(JSON.stringify(summary(o, run, failing), null, 2));
  log(
    `wrote ${join(o.out, 'verify.json')} and ${join(o.out, 'verify.md')} (${run.result.seconds.toFixed(1)} s wall, ${(run.result.cpuSeconds ?? 0).toFixed(1)} s CPU on ${run.result.jobs} thread(s), ${run.result.counterexamples.length} minimal counterexamples)`,
  );
  return failing.length ? 1 : 0;
}

/** The options, parsed (forms only: the stage checks the values) into the stage's config and the command's own. */
function commandOptions(values: Values, version: string): CommandOptions {
  const backends = parseList('backends', values.backends, D.backends, BACKEND_IDS);
  for (const o of ['export-batch', 'import-batch'] as const)
    if (values[o] !== undefined && !backends.includes('torch'))
      throw new UsageError(`--${o} is for the PyTorch bridge: add torch to --backends`);
  if (values['export-batch'] !== undefined && values['import-batch'] !== undefined)
    throw new UsageError('--export-batch and --import-batch are two steps: export, compute with the bridge, then import');
  const generators =
    values.generators === undefined || values.generators === 'all'
      ? undefined
      : parseList(
          'generators',
          values.generators,
          [],
          GENERATORS.map((g) => g.id),
        );
  const config: VerifyConfig = {
    samples: parseIntOption('samples', values.samples, D.samples, 1, 1_000_000),
    seed: parseSeedOption('seed', values.seed, D.seed),
    precisions: parseList('precision', values.precision, D.precisions, Object.keys(FORMATS)),
    jacobians: parseList('jacobians', values.jacobians, D.jacobians),
    reluAlphas: parseAlphas(values['relu-alpha']),
    accumulate: parseChoice<Accumulate>('accumulate', values.accumulate, D.accumulate, ['strict', 'wide']),
    betaMode: parseChoice<BetaMode>('beta-mode', values['beta-mode'], D.betaMode, ['backward', 'mixed-forward']),
    backends,
    ...(generators ? { generators } : {}),
    backendOptions: torchOptions(values, version),
    // Shrinking asks the backend for new problems, which a results file cannot answer.
    shrink: values['no-shrink'] !== true && values['import-batch'] === undefined,
    shrinkSteps: parseIntOption('shrink-steps', values['shrink-steps'], D.shrinkSteps, 0, 1_000_000),
    ...(values.jobs !== undefined ? { jobs: parseIntOption('jobs', values.jobs, 1, 1, 64) } : {}),
    resume: values.resume === true,
  };
  return {
    config,
    out: resolve(values.out ?? 'reports/verify'),
    failOn: parseList('fail-on', values['fail-on'], [], FAIL_ON) as FailOn[],
    json: values.json === true,
    corpus: values.corpus,
    quiet: values.quiet === true,
  };
}

/** The PyTorch bridge's options (--python, --device, --torch-module, --import-batch), as the registry takes them. */
export function torchOptions(
  values: { python?: string; device?: string; 'torch-module'?: string; 'import-batch'?: string },
  clientVersion?: string,
): BackendOptions {
  const device = parseChoice('device', values.device, 'cpu', ['cpu', 'cuda']);
  return {
    torch: {
      ...(values.python ? { python: values.python } : {}),
      device,
      ...(values['torch-module'] ? { module: resolve(values['torch-module']) } : {}),
      ...(values['import-batch'] ? { results: resolve(values['import-batch']) } : {}),
      ...(clientVersion ? { clientVersion } : {}),
    },
  };
}

/** --export-batch FILE: write the problems the run would send to the bridge, and say how to go on. */
function exportBatchFile(file: string, c: VerifyConfig, version: string, log: (s: string) => void): number {
  const r = asUsage(optionOf, () => resolveVerifyConfig(c));
  assertWritableFile(file);
  const b = exportBatch({
    samples: r.samples,
    seed: r.seed,
    generators: r.generators.map(generatorById),
    precisions: r.precisions,
    clientVersion: version,
  });
  writeFilesAtomic([{ path: file, data: b.text }]);
  log(
    `wrote ${b.tieRuleRequests + b.verifyRequests} requests to ${file} (${b.tieRuleRequests} for the tie-rule measurement, ${b.verifyRequests} for the draws). ` +
      `Next: python3 ${relative(process.cwd(), TORCH_BRIDGE)} --batch ${file} --out RESULTS [--device cuda], ` +
      `then the same adzone verify command with --import-batch RESULTS instead of --export-batch`,
  );
  return 0;
}

function writeVerifyReport(out: string, run: VerifyRun, command: string, version: string): void {
  writeResults([
    { file: join(out, 'verify.json'), kind: 'verify', data: verifyJson(run, { command, version }) },
    { path: join(out, 'verify.md'), data: verifyMarkdown({ ...run.header, command }, run.result, run.betaMode) },
  ]);
}

function addCounterexamples(dir: string, run: VerifyRun, log: (s: string) => void): void {
  let added = 0;
  const h = run.header;
  for (const cx of run.result.counterexamples) {
    const f = addToCorpus(dir, {
      generator: cx.generator,
      seed: cx.seed,
      path: cx.path,
      backend: cx.backend,
      precision: cx.precision,
      accumulate: h.accumulate as Accumulate,
      jacobians: [...h.jacobians],
      reluAlphas: [...h.reluAlphas],
      expected: cx.class,
      note: `minimal ${cx.class} case of ${cx.generator} on ${cx.backend} at ${cx.precision} bits (adzone verify --seed ${h.seed})`,
      foundAt: h.createdAt,
      problem: cx.case.problem,
    });
    if (f) added++;
  }
  log(`corpus ${dir}: ${added} new case(s)`);
}

/** --json: what CI reads, on stdout. */
function summary(o: CommandOptions, run: VerifyRun, failing: readonly FailingCell[]) {
  const r = run.result;
  return {
    schema: 'adzone/verify-summary',
    schemaVersion: 1,
    files: { json: join(o.out, 'verify.json'), markdown: join(o.out, 'verify.md') },
    seed: run.header.seed,
    samples: run.header.samples,
    generators: run.header.generators.map((g) => g.id),
    backends: run.header.backends.map((b) => b.id),
    unavailable: run.header.unavailable,
    seconds: r.seconds,
    cpuSeconds: r.cpuSeconds,
    jobs: r.jobs,
    cells: r.table.map((t) => ({
      generator: t.generator,
      backend: t.backend,
      precision: t.precision,
      n: t.n,
      counts: t.counts,
      inconsistent: t.inconsistent,
    })),
    counterexamples: r.counterexamples.length,
    shrink: r.shrink,
    failOn: o.failOn,
    failing,
    exitCode: failing.length ? 1 : 0,
  };
}

/** Call `f` on Ctrl-C (then exit 130: the journal already holds every finished unit); returns the undo. */
function onInterrupt(f: () => void): () => void {
  const handler = () => {
    f();
    process.exit(130);
  };
  process.once('SIGINT', handler);
  return () => process.removeListener('SIGINT', handler);
}

/** The option that sets a config field, for ConfigError messages. */
const optionOf = (field: string): string | undefined => FLAG[field];
