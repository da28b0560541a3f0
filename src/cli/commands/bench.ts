/**
 * `adzone bench`: training-step and exact-classification speed, measured side by side in one run
 * on one machine, each measurement alone in a child process (src/bench/). Writes
 * DIR/results.json (schema 'adzone/bench', version 2, see bench/README.md) and prints a table.
 * The targets live in src/bench/targets.ts, never in tests.
 */
import { parseArgs } from 'node:util';
import { UsageError, parseList } from '../args.ts';
import { BATCH, DEFAULT_GROUPS, GROUPS, type Group } from '../../bench/plan.ts';
import { runBench } from '../../bench/run.ts';
import { benchTable } from '../../bench/table.ts';
import { TARGETS } from '../../bench/targets.ts';

export const BENCH_HELP = `adzone bench — training-step speed (engine 16/32/64 bits vs tfjs), exact classification cost, peak memory

Measured side by side, each measurement in its own child process (so peak memory is its own):
  lenet    LeNet-5 SGD-momentum step, real MNIST batch of ${BATCH.full.lenet}: engine 32/16/64 bits (strict and wide),
           tfjs-wasm, tfjs-cpu, and PyTorch float32/float64 when python3 can import torch
  exact    exact routing of the same LeNet-5 batch at the 32-bit point vs the engine's 32-bit
           gradient pass and a plain float64 forward
  vgg      VGG11 width 1/4, CIFAR-10 subset batch of ${BATCH.full.vgg} (${BATCH.quick.vgg} with --quick): engine 16/32/64, tfjs-wasm 32
  resnet   ResNet18 width 1/4 with batch norm, batch of ${BATCH.full.resnet} (${BATCH.quick.resnet} with --quick): the same
  verify   wall time of whole verify runs, 3 each: the main job (adzone verify --seed 1) and the 2000-sample
           sweep; not in the default run (up to 18 minutes at the targets, 3 × 60 s + 3 × 300 s): --only verify
Targets: ${Object.values(TARGETS)
  .map((t) => `${t.id} ≤ ${t.max}${t.kind === 'seconds' ? ' s' : '×'}`)
  .join(', ')}.

Options:
  --out DIR      where results.json goes (default bench)
  --only LIST    comma list of ${GROUPS.join(', ')} (default ${DEFAULT_GROUPS.join(',')})
  --quick        a smoke run: one warm-up step and two timed steps a measurement
  --quiet        no progress lines on stderr`;

export async function benchCommand(argv: string[], version: string): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      out: { type: 'string' },
      only: { type: 'string' },
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
  const log = values.quiet ? () => {} : (s: string) => process.stderr.write(`${s}\n`);
  const r = await runBench(
    { out: values.out ?? 'bench', quick: values.quick === true, groups, version, command: `adzone bench ${argv.join(' ')}`.trim() },
    log,
  );
  console.log(benchTable(r.rows));
  for (const n of r.notes) console.log(n);
  const load = r.json.machine as { loadavgStart: number[]; loadavgEnd: number[]; cpuModel: string; cores: number };
  console.log(
    `Run time ${r.runSeconds.toFixed(0)} s on ${load.cores} × ${load.cpuModel}; load average ${load.loadavgStart[0].toFixed(2)} at start, ${load.loadavgEnd[0].toFixed(2)} at end. Wrote ${r.file}`,
  );
  return r.failed ? 1 : 0;
}
