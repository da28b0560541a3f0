/**
 * `adzone bench`: training-step and exact-classification speed, measured side by side in one run
 * on one machine, each measurement alone in a child process (src/bench/). Writes
 * DIR/results.json (schema 'adzone/bench', version 2, see bench/README.md) and prints a table.
 * The targets live in src/bench/targets.ts, never in tests.
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BATCH, DEFAULT_GROUPS, GROUPS, type Group } from '../../bench/plan.ts';
import { runBench } from '../../bench/run.ts';
import { benchTable } from '../../bench/table.ts';
import { TARGETS } from '../../bench/targets.ts';
import { MAX_THREADS } from '../../engine/kernels/threads.ts';
import { writeResult } from '../../schema/index.ts';
import { assertWritableFile } from '../../util/output.ts';
import { parseList, parseThreads, UsageError } from '../args.ts';

export const BENCH_HELP = `adzone bench — training-step speed (engine 16/32/64 bits and bfloat16 vs PyTorch and tfjs), exact classification cost, peak memory

Measured side by side, each measurement in its own child process (so peak memory is its own):
  lenet    LeNet-5 SGD-momentum step, real MNIST batch of ${BATCH.full.lenet}: engine 32/16/64 bits and bfloat16 (strict
           and wide), tfjs-wasm, tfjs-cpu, and PyTorch float32, float64 and bfloat16; engine and PyTorch
           float32 also on N threads
  exact    exact routing of the same LeNet-5 batch at the 32-bit point vs the engine's 32-bit
           gradient pass and a plain float64 forward
  vgg      VGG11 width 1/4, CIFAR-10 subset batch of ${BATCH.full.vgg} (${BATCH.quick.vgg} with --quick): engine 16/32/64, tfjs-wasm 32,
           PyTorch float32; engine and PyTorch float32 also on N threads
  resnet   ResNet18 width 1/4 with batch norm, batch of ${BATCH.full.resnet} (${BATCH.quick.resnet} with --quick): the same
  verify   wall time of whole verify runs, 3 each: the main job (adzone verify --seed 1) and the 2000-sample
           sweep; not in the default run (up to 18 minutes at the targets, 3 × 60 s + 3 × 300 s): --only verify
PyTorch runs the same network, initial parameters and batch (its first-step loss is checked against
the engine's), pinned to the same thread count, through the first Python that imports torch.
Targets: ${Object.values(TARGETS)
  .map((t) => `${t.id} ≤ ${t.max}${t.kind === 'seconds' ? ' s' : '×'}`)
  .join(', ')}.

Options:
  --out DIR      where results.json goes (default bench)
  --only LIST    comma list of ${GROUPS.join(', ')} (default ${DEFAULT_GROUPS.join(',')})
  --python PATH  the Python interpreter for the PyTorch peer (default: ADZONE_PYTHON, else the
                 first of python3, python, /usr/bin/python3, /usr/local/bin/python3 that imports torch)
  --threads N    the multi-threaded rows' thread count, engine and PyTorch alike (default:
                 ADZONE_THREADS, else the available cores; 1: single-threaded rows only)
  --quick        a smoke run: one warm-up step and two timed steps a measurement
  --quiet        no progress lines on stderr`;

export async function benchCommand(argv: string[], version: string): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      out: { type: 'string' },
      only: { type: 'string' },
      python: { type: 'string' },
      threads: { type: 'string' },
      quick: { type: 'boolean' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(BENCH_HELP);
    return 0;
  }
  const groups = parseList('only', values.only, [...DEFAULT_GROUPS], GROUPS) as Group[];
  if (!groups.length) throw new UsageError(`--only needs at least one of ${GROUPS.join(', ')}`);
  if (values.python === '') throw new UsageError('--python needs the path of an interpreter');
  const threads = parseThreads(values.threads, MAX_THREADS);
  const file = join(resolve(values.out ?? 'bench'), 'results.json');
  assertWritableFile(file);
  const log = values.quiet ? () => {} : (s: string) => process.stderr.write(`${s}\n`);
  const r = await runBench({
    quick: values.quick === true,
    groups,
    version,
    command: `adzone bench ${argv.join(' ')}`.trim(),
    ...(values.python ? { python: values.python } : {}),
    ...(threads !== undefined ? { threads } : {}),
    log,
  });
  writeResult(file, 'bench', r.json);
  log(`wrote ${file}`);
  console.log(benchTable(r.rows));
  for (const n of r.notes) console.log(n);
  const load = r.json.machine as { loadavgStart: number[]; loadavgEnd: number[]; cpuModel: string; cores: number };
  console.log(
    `Run time ${r.runSeconds.toFixed(0)} s on ${load.cores} × ${load.cpuModel}; load average ${load.loadavgStart[0].toFixed(2)} at start, ${load.loadavgEnd[0].toFixed(2)} at end. Wrote ${file}`,
  );
  return r.failed ? 1 : 0;
}
