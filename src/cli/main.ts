/**
 * The `adzone` command line. Each command parses its options strictly: an unknown option or a bad
 * value prints what was wrong and how to fix it, and exits with code 2.
 */
import { parseArgs } from 'node:util';
import { join, resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { UsageError, parseAlphas, parseChoice, parseIntOption, parseList } from './args.ts';
import { progress } from './progress.ts';
import { parseJacobian, jacobianName, type MaxPoolJacobian } from '../jacobians/index.ts';
import { FORMATS } from '../precision/index.ts';
import { GENERATORS, generatorById } from '../generators/index.ts';
import { BACKEND_IDS, loadBackends } from '../backends/registry.ts';
import { decimalOracle } from '../oracle/index.ts';
import { runVerify, replayCase, classifyOne, type VerifyOptions } from '../zones/verify.ts';
import { verifyMarkdown, type VerifyHeader } from '../report/verifyMarkdown.ts';
import { toJson } from '../util/atomic.ts';
import { writeResults } from '../schema/index.ts';
import { addToCorpus } from '../zones/corpus.ts';
import type { Accumulate } from '../engine/types.ts';
import type { BetaMode } from '../jacobians/index.ts';

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

Example: adzone verify --samples 2000 --seed 1 --precision 16,32,64 --jacobians first,minnorm,beta:10 --out /tmp/v`;

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

async function verify(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
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
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(VERIFY_HELP);
    return 0;
  }
  const samples = parseIntOption('samples', values.samples, 200, 1, 1_000_000);
  const seed = parseIntOption('seed', values.seed, 1, 0, 2 ** 31 - 1);
  const precisions = parseList('precision', values.precision, ['16', '32', '64'], Object.keys(FORMATS));
  const family = familyFrom(values.jacobians);
  const reluAlphas = parseAlphas(values['relu-alpha']);
  const accumulate = parseChoice<Accumulate>('accumulate', values.accumulate, 'strict', ['strict', 'wide']);
  const betaMode = parseChoice<BetaMode>('beta-mode', values['beta-mode'], 'backward', ['backward', 'mixed-forward']);
  const backendIds = parseList('backends', values.backends, ['engine', 'tfjs-cpu', 'tfjs-wasm'], BACKEND_IDS);
  const genIds =
    values.generators === undefined || values.generators === 'all'
      ? GENERATORS.map((g) => g.id)
      : parseList(
          'generators',
          values.generators,
          [],
          GENERATORS.map((g) => g.id),
        );
  const out = resolve(values.out ?? 'reports/verify');
  const quiet = values.quiet === true;
  const log = (s: string) => process.stderr.write(`${s}\n`);

  const loaded = await loadBackends(backendIds, log);
  if (!loaded.backends.length) throw new UsageError(`none of the backends ${backendIds.join(', ')} could be loaded`);
  const generators = genIds.map((id) => generatorById(id));
  const bar = progress(quiet);
  const opts: VerifyOptions = {
    samples,
    seed,
    precisions,
    family,
    reluAlphas,
    accumulate,
    betaMode,
    generators,
    backends: loaded.backends,
    oracle: decimalOracle,
    tieRules: loaded.tieRules,
    shrink: values['no-shrink'] !== true,
    onProgress: bar.update,
  };
  const result = await runVerify(opts);
  bar.done();
  const header: VerifyHeader = {
    command: `adzone verify ${argv.join(' ')}`.trim(),
    createdAt: new Date().toISOString(),
    seed,
    samples,
    precisions,
    jacobians: family.map(jacobianName),
    reluAlphas,
    accumulate,
    backends: loaded.backends.map((b) => ({ id: b.id, description: b.description })),
    unavailable: loaded.unavailable,
    tieRules: loaded.tieEvidence,
    generators: generators.map((g) => ({ id: g.id, description: g.description, nearTie: g.nearTie })),
  };
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
  if (values.corpus) {
    let added = 0;
    for (const c of result.counterexamples) {
      const f = addToCorpus(resolve(values.corpus), {
        generator: c.generator,
        seed: c.seed,
        path: c.path,
        backend: c.backend,
        precision: c.precision,
        accumulate,
        jacobians: family.map(jacobianName),
        reluAlphas,
        expected: c.class,
        note: `minimal ${c.class} case of ${c.generator} on ${c.backend} at ${c.precision} bits (adzone verify --seed ${seed})`,
        foundAt: header.createdAt,
        problem: c.case.problem,
      });
      if (f) added++;
    }
    log(`corpus ${values.corpus}: ${added} new case(s)`);
  }
  log(
    `wrote ${join(out, 'verify.json')} and ${join(out, 'verify.md')} (${result.seconds.toFixed(1)} s, ${result.counterexamples.length} minimal counterexamples)`,
  );
  return 0;
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
  const loaded = await loadBackends([backendId], (s) => process.stderr.write(`${s}\n`));
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
      case 'data':
        return await (await import('./commands/data.ts')).dataCommand(rest);
      default:
        throw new UsageError(`unknown command '${cmd}'; run 'adzone help' for the list`);
    }
  } catch (e) {
    const err = e as Error & { code?: string };
    if (e instanceof UsageError || err.code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`adzone: ${err.message}\nRun 'adzone help ${cmd && cmd !== 'help' ? cmd : ''}' for usage.\n`);
      return 2;
    }
    if (/^unknown (generator|backend|precision|Jacobian)/i.test(err.message)) {
      process.stderr.write(`adzone: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`adzone: ${err.stack ?? err.message}\n`);
    return 1;
  }
}
