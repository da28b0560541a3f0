/**
 * The `adzone` command line. Each command parses its options strictly: an unknown option or a bad
 * value prints what was wrong and how to fix it, and exits with code 2.
 */

import { readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BACKEND_IDS, type BackendOptions, type LoadedBackends, loadBackends } from '../backends/registry.ts';
import { TORCH_BRIDGE as TORCH_BRIDGE_PATH } from '../backends/torch.ts';
import type { Accumulate } from '../engine/types.ts';
import { GENERATORS, generatorById } from '../generators/index.ts';
import type { BetaMode } from '../jacobians/index.ts';
import { jacobianName, type MaxPoolJacobian, parseJacobian } from '../jacobians/index.ts';
import { decimalOracle } from '../oracle/index.ts';
import { FORMATS } from '../precision/index.ts';
import { type VerifyHeader, verifyMarkdown } from '../report/verifyMarkdown.ts';
import { writeResults } from '../schema/index.ts';
import { toJson } from '../util/atomic.ts';
import { assertWritableDir, assertWritableFile, writeFilesAtomic } from '../util/output.ts';
import { exportBatch } from '../zones/batch.ts';
import { addToCorpus } from '../zones/corpus.ts';
import { classifyOne, replayCase, runVerify, type VerifyOptions, type VerifyResult } from '../zones/verify.ts';
import { parseAlphas, parseChoice, parseIntOption, parseList, UsageError } from './args.ts';
import { progress } from './progress.ts';
import { reportError } from './exit.ts';

export const VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

const HELP = `adzone ${VERSION} — verify automatic differentiation through MaxPool against an exact oracle

Usage: adzone <command> [options]

Commands:
  verify    draw inputs at and near ties, classify AD at each precision and backend, write a report
  replay    re-create one case from its generator, seed and path, and classify it
  bench     training-step speed (engine 16/32/64 vs tfjs), exact classification cost, peak memory; writes bench/results.json
  zones     zones of a whole network on real mini-batches: the paper's estimator against the exact classification
  report    one self-contained HTML report (plus optional Markdown summary and JUnit XML) from result files
  gate      compare a report with a committed baseline under thresholds; exit 1 on a regression
  train     train LeNet-5 / VGG11 / ResNet18 with MaxPool Jacobian β at 16, 32 or 64 bits: test accuracy per epoch, checkpoints, resume
  tune      search the learning rate of a training config (trials on a validation split, successive halving), then train the lr chosen
  ablate    run a grid of training runs (model × data × β × precision × optimizer × batch norm × seed), resumable, sharded; merge shards into one table
  data      fetch a data set (SVHN, CIFAR-10, …) from its official source with checksums and resume
  nightly   the whole check in one time-budgeted job (property suites ×N, verify, zones, ablation, reports, gate); exit 0 unless something crashed
  help      this text, or 'adzone help <command>'

Run 'adzone help verify' for the options of a command.`;

const VERIFY_HELP = `adzone verify — zone counts per precision × generator × backend, with minimal counterexamples

Options:
  --samples N        draws per generator (default 200)
  --seed S           fast-check seed; the same seed gives the same draws and counts (default 1)
  --precision LIST   comma list of ${Object.keys(FORMATS).join(', ')} (default 16,32,64)
  --jacobians LIST   MaxPool Jacobian family: first, last, minnorm, beta:N (default first,minnorm,beta:10)
  --relu-alpha LIST  ReLU'(0) values in [0,1]; the family is jacobians × alphas (default 0)
  --accumulate MODE  strict (every op rounds to p) or wide (accumulate wider, round each op's output) (default strict)
  --beta-mode MODE   backward (β in the backward pass only) or mixed-forward (the paper's code) (default backward)
  --backends LIST    ${BACKEND_IDS.join(', ')} (default engine,tfjs-cpu,tfjs-wasm; absent ones are skipped with a line)
  --generators LIST  generator ids or 'all' (default all): ${GENERATORS.map((g) => g.id).join(', ')}
  --out DIR          where verify.json and verify.md go (default reports/verify)
  --no-shrink        skip shrinking minimal counterexamples
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

Example: adzone verify --samples 2000 --seed 1 --precision 16,32,64 --jacobians first,minnorm,beta:10 --out /tmp/v
         adzone verify --backends torch --precision 32,64,bf16 --generators exact-tie,argmax-flip-32 --out /tmp/vt`;

const REPLAY_HELP = `adzone replay — re-create and classify one case from a report

Options:
  --generator ID     generator id (required)
  --seed S           fast-check seed from the report (required)
  --path P           fast-check path from the report (required)
  --precision P      precision to classify at (default 16)
  --backend ID       backend (default engine)
  --jacobians LIST   as for verify (default first,minnorm,beta:10)
  --relu-alpha LIST  as for verify (default 0)
  --accumulate MODE  strict or wide (default strict)
  --python PATH      for --backend torch: the interpreter with torch (as for verify)
  --device D         for --backend torch: cpu or cuda (default cpu)
  --torch-module F:C for --backend torch: your nn.Module for maxpool layers (as for verify)
  --json             print the case and its classification as JSON`;

const ZONES_HELP = `adzone zones — share of mini-batches in a zone for one θ of a network: the paper's threshold
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

function familyFrom(value: string | undefined): MaxPoolJacobian[] {
  const names = parseList('jacobians', value, ['first', 'minnorm', 'beta:10']);
  const fam = names.map((n) => {
    try {
      return parseJacobian(n);
    } catch (e) {
      throw new UsageError(`--jacobians: ${(e as Error).message}`);
    }
  });
  if (fam.length < 2) throw new UsageError('--jacobians needs at least two members: bifurcation means two members disagree');
  return fam;
}

const VERIFY_OPTIONS = {
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
  corpus: { type: 'string' },
  quiet: { type: 'boolean' },
  python: { type: 'string' },
  device: { type: 'string' },
  'torch-module': { type: 'string' },
  'export-batch': { type: 'string' },
  'import-batch': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type VerifyValues = ReturnType<typeof parseArgs<{ args: string[]; options: typeof VERIFY_OPTIONS; strict: true }>>['values'];

/** The PyTorch bridge's options (--python, --device, --torch-module, --import-batch), as the registry takes them. */
function torchOptions(values: { python?: string; device?: string; 'torch-module'?: string; 'import-batch'?: string }): BackendOptions {
  const device = parseChoice('device', values.device, 'cpu', ['cpu', 'cuda']);
  return {
    torch: {
      ...(values.python ? { python: values.python } : {}),
      device,
      ...(values['torch-module'] ? { module: resolve(values['torch-module']) } : {}),
      ...(values['import-batch'] ? { results: resolve(values['import-batch']) } : {}),
      clientVersion: VERSION,
    },
  };
}

function generatorIds(value: string | undefined): string[] {
  const all = GENERATORS.map((g) => g.id);
  return value === undefined || value === 'all' ? all : parseList('generators', value, [], all);
}

/** verify's options, parsed and checked. */
function verifyConfig(values: VerifyValues) {
  const backendIds = parseList('backends', values.backends, ['engine', 'tfjs-cpu', 'tfjs-wasm'], BACKEND_IDS);
  for (const o of ['export-batch', 'import-batch'] as const) {
    if (values[o] !== undefined && !backendIds.includes('torch'))
      throw new UsageError(`--${o} is for the PyTorch bridge: add torch to --backends`);
  }
  if (values['export-batch'] !== undefined && values['import-batch'] !== undefined) {
    throw new UsageError('--export-batch and --import-batch are two steps: export, compute with the bridge, then import');
  }
  return {
    samples: parseIntOption('samples', values.samples, 200, 1, 1_000_000),
    seed: parseIntOption('seed', values.seed, 1, 0, 2 ** 31 - 1),
    precisions: parseList('precision', values.precision, ['16', '32', '64'], Object.keys(FORMATS)),
    family: familyFrom(values.jacobians),
    reluAlphas: parseAlphas(values['relu-alpha']),
    accumulate: parseChoice<Accumulate>('accumulate', values.accumulate, 'strict', ['strict', 'wide']),
    betaMode: parseChoice<BetaMode>('beta-mode', values['beta-mode'], 'backward', ['backward', 'mixed-forward']),
    backendIds,
    generators: generatorIds(values.generators).map((id) => generatorById(id)),
    out: resolve(values.out ?? 'reports/verify'),
    backendOptions: torchOptions(values),
    // Shrinking asks the backend for new problems, which a results file cannot answer.
    shrink: values['no-shrink'] !== true && values['import-batch'] === undefined,
  };
}

/** --export-batch FILE: write the problems the run would send to the bridge, and say how to go on. */
function exportBatchFile(file: string, c: ReturnType<typeof verifyConfig>, log: (s: string) => void): number {
  assertWritableFile(file);
  const b = exportBatch({ samples: c.samples, seed: c.seed, generators: c.generators, precisions: c.precisions, clientVersion: VERSION });
  writeFilesAtomic([{ path: file, data: b.text }]);
  log(
    `wrote ${b.tieRuleRequests + b.verifyRequests} requests to ${file} (${b.tieRuleRequests} for the tie-rule measurement, ${b.verifyRequests} for the draws). ` +
      `Next: python3 ${relative(process.cwd(), TORCH_BRIDGE_PATH)} --batch ${file} --out RESULTS [--device cuda], ` +
      `then the same adzone verify command with --import-batch RESULTS instead of --export-batch`,
  );
  return 0;
}

async function verify(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: VERIFY_OPTIONS, strict: true, allowPositionals: false });
  if (values.help) {
    console.log(VERIFY_HELP);
    return 0;
  }
  const c = verifyConfig(values);
  const log = (s: string) => process.stderr.write(`${s}\n`);
  if (values['export-batch'] !== undefined) return exportBatchFile(resolve(values['export-batch']), c, log);
  if (values['import-batch'] !== undefined && values['no-shrink'] !== true)
    log('--import-batch: no shrinking (it would ask the bridge for new problems)');
  assertWritableDir(c.out);

  const loaded = await loadBackends(c.backendIds, log, c.backendOptions);
  if (!loaded.backends.length) throw new UsageError(`none of the backends ${c.backendIds.join(', ')} could be loaded`);
  const bar = progress(values.quiet === true);
  const opts: VerifyOptions = {
    ...c,
    backends: loaded.backends,
    oracle: decimalOracle,
    tieRules: loaded.tieRules,
    onProgress: bar.update,
  };
  const result = await runVerify(opts);
  bar.done();
  const header: VerifyHeader = {
    command: `adzone verify ${argv.join(' ')}`.trim(),
    createdAt: new Date().toISOString(),
    seed: c.seed,
    samples: c.samples,
    precisions: c.precisions,
    jacobians: c.family.map(jacobianName),
    reluAlphas: c.reluAlphas,
    accumulate: c.accumulate,
    backends: loaded.backends.map((b) => ({ id: b.id, description: b.description })),
    unavailable: loaded.unavailable,
    tieRules: loaded.tieEvidence,
    generators: c.generators.map((g) => ({ id: g.id, description: g.description, nearTie: g.nearTie })),
  };
  writeVerifyReport(c.out, header, result, c.betaMode, loaded);
  if (values.corpus) addCounterexamples(resolve(values.corpus), result, header, c, log);
  log(
    `wrote ${join(c.out, 'verify.json')} and ${join(c.out, 'verify.md')} (${result.seconds.toFixed(1)} s, ${result.counterexamples.length} minimal counterexamples)`,
  );
  return 0;
}

function writeVerifyReport(out: string, header: VerifyHeader, result: VerifyResult, betaMode: BetaMode, loaded: LoadedBackends): void {
  const json = {
    schema: 'adzone/verify',
    schemaVersion: 1,
    tool: { adzone: VERSION, node: process.version, backends: Object.fromEntries(loaded.backends.map((b) => [b.id, b.versions])) },
    ...header,
    betaMode,
    ...result,
  };
  writeResults([
    { file: join(out, 'verify.json'), kind: 'verify', data: json },
    { path: join(out, 'verify.md'), data: verifyMarkdown(header, result) },
  ]);
}

function addCounterexamples(
  dir: string,
  result: VerifyResult,
  header: VerifyHeader,
  c: { seed: number; accumulate: Accumulate; family: MaxPoolJacobian[]; reluAlphas: number[] },
  log: (s: string) => void,
): void {
  let added = 0;
  for (const cx of result.counterexamples) {
    const f = addToCorpus(dir, {
      generator: cx.generator,
      seed: cx.seed,
      path: cx.path,
      backend: cx.backend,
      precision: cx.precision,
      accumulate: c.accumulate,
      jacobians: c.family.map(jacobianName),
      reluAlphas: c.reluAlphas,
      expected: cx.class,
      note: `minimal ${cx.class} case of ${cx.generator} on ${cx.backend} at ${cx.precision} bits (adzone verify --seed ${c.seed})`,
      foundAt: header.createdAt,
      problem: cx.case.problem,
    });
    if (f) added++;
  }
  log(`corpus ${dir}: ${added} new case(s)`);
}

async function replay(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      generator: { type: 'string' },
      seed: { type: 'string' },
      path: { type: 'string' },
      precision: { type: 'string' },
      backend: { type: 'string' },
      jacobians: { type: 'string' },
      'relu-alpha': { type: 'string' },
      accumulate: { type: 'string' },
      python: { type: 'string' },
      device: { type: 'string' },
      'torch-module': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(REPLAY_HELP);
    return 0;
  }
  if (!values.generator || values.seed === undefined || values.path === undefined) {
    throw new UsageError('replay needs --generator, --seed and --path (all three are printed beside each counterexample in verify.md)');
  }
  if (!/^\d+(:\d+)*$/.test(values.path))
    throw new UsageError(`--path must look like 12:0:3 (fast-check's counterexample path), got '${values.path}'`);
  const gen = generatorById(values.generator);
  const seed = parseIntOption('seed', values.seed, 0, 0, 2 ** 32 - 1);
  const precision = parseList('precision', values.precision, ['16'], Object.keys(FORMATS));
  if (precision.length !== 1) throw new UsageError('replay classifies at one --precision');
  const backendId = parseChoice('backend', values.backend, 'engine', BACKEND_IDS);
  const loaded = await loadBackends([backendId], (s) => process.stderr.write(`${s}\n`), torchOptions(values));
  if (!loaded.backends.length) return 1;
  const c = replayCase(gen, seed, values.path);
  const cls = await classifyOne(
    {
      precisions: precision,
      family: familyFrom(values.jacobians),
      reluAlphas: parseAlphas(values['relu-alpha']),
      accumulate: parseChoice<Accumulate>('accumulate', values.accumulate, 'strict', ['strict', 'wide']),
      betaMode: 'backward',
      backends: loaded.backends,
      oracle: decimalOracle,
      tieRules: loaded.tieRules,
    },
    loaded.backends[0],
    precision[0],
    c.problem,
  );
  if (values.json) {
    console.log(toJson({ case: c, classification: cls }));
  } else {
    console.log(
      `${gen.id} seed ${seed} path ${values.path}: ${cls.zone}${cls.cause ? `:${cls.cause}` : ''} on ${cls.backend} at ${cls.precision} bits`,
    );
    console.log(`input ${c.problem.input.shape.join('×')}: [${c.problem.input.data.join(', ')}]`);
    for (const f of cls.findings) {
      console.log(
        `  layer ${f.layer} ${f.kind} unit ${f.unit}: ${f.what}, exact [${f.exact.join(', ')}]${f.rounded ? `, in p [${f.rounded.join(', ')}]` : ''}`,
      );
      for (const e of f.entries) console.log(`    [${e.index}] exact ${e.exact}  in p ${e.rounded ?? '—'}`);
    }
  }
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        if (rest[0] === 'bench') return await (await import('./commands/bench.ts')).benchCommand(['--help'], VERSION);
        if (rest[0] === 'report') return await (await import('./commands/report.ts')).reportCommand(['--help']);
        if (rest[0] === 'gate') return await (await import('./commands/gate.ts')).gateCommand(['--help']);
        if (rest[0] === 'train') return await (await import('./commands/train.ts')).trainCommand(['--help'], { version: VERSION });
        if (rest[0] === 'ablate') return await (await import('./commands/ablate.ts')).ablateCommand(['--help'], { version: VERSION });
        if (rest[0] === 'tune') return await (await import('./commands/tune.ts')).tuneCommand(['--help'], { version: VERSION });
        if (rest[0] === 'data') return await (await import('./commands/data.ts')).dataCommand(['--help']);
        if (rest[0] === 'nightly') return await (await import('./commands/nightly.ts')).nightlyCommand(['--help'], { version: VERSION });
        console.log(rest[0] === 'verify' ? VERIFY_HELP : rest[0] === 'replay' ? REPLAY_HELP : rest[0] === 'zones' ? ZONES_HELP : HELP);
        return 0;
      case '--version':
        console.log(VERSION);
        return 0;
      case 'verify':
        return await verify(rest);
      case 'replay':
        return await replay(rest);
      case 'bench':
        return await (await import('./commands/bench.ts')).benchCommand(rest, VERSION);
      case 'zones': {
        const { zones } = await import('./commands/zones.ts');
        return await zones(rest, { help: ZONES_HELP, version: VERSION });
      }
      case 'report':
        return await (await import('./commands/report.ts')).reportCommand(rest);
      case 'gate':
        return await (await import('./commands/gate.ts')).gateCommand(rest);
      case 'train':
        return await (await import('./commands/train.ts')).trainCommand(rest, { version: VERSION });
      case 'nightly':
        return await (await import('./commands/nightly.ts')).nightlyCommand(rest, { version: VERSION });
      case 'ablate':
        return await (await import('./commands/ablate.ts')).ablateCommand(rest, { version: VERSION });
      case 'tune':
        return await (await import('./commands/tune.ts')).tuneCommand(rest, { version: VERSION });
      case 'data':
        return await (await import('./commands/data.ts')).dataCommand(rest);
      default:
        throw new UsageError(`unknown command '${cmd}'; run 'adzone help' for the list`);
    }
  } catch (e) {
    return reportError(e, cmd);
  }
}
