/**
 * The `adzone` command line: a dispatcher. Each command lives in src/cli/commands/<name>.ts, is
 * loaded only when run, parses its options strictly (an unknown option or a bad value prints what
 * was wrong and how to fix it, and exits 2) and calls its stage. Errors become one line and an exit
 * code in one place (exit.ts).
 */
import { readFileSync } from 'node:fs';
import { UsageError } from './args.ts';
import { reportError } from './exit.ts';

export const VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

type Run = (argv: string[]) => Promise<number>;

/** Every command: what it does (for `adzone help`), and how to run it. */
const COMMANDS: Readonly<Record<string, { readonly summary: string; readonly run: Run }>> = {
  verify: {
    summary: 'draw inputs at and near ties, classify AD at each precision and backend, write a report',
    run: async (a) => (await import('./commands/verify.ts')).verifyCommand(a, { version: VERSION }),
  },
  replay: {
    summary: 're-create one case from its generator, seed and path, and classify it',
    run: async (a) => (await import('./commands/replay.ts')).replayCommand(a, { version: VERSION }),
  },
  bench: {
    summary:
      'training-step speed (engine 16/32/64 vs tfjs), exact classification cost, verify wall time, peak memory; writes bench/results.json',
    run: async (a) => (await import('./commands/bench.ts')).benchCommand(a, VERSION),
  },
  zones: {
    summary: "zones of a whole network on real mini-batches: the paper's estimator against the exact classification",
    run: async (a) => (await import('./commands/zones.ts')).zones(a, { version: VERSION }),
  },
  report: {
    summary: 'one self-contained HTML report (plus optional Markdown summary and JUnit XML) from result files',
    run: async (a) => (await import('./commands/report.ts')).reportCommand(a),
  },
  gate: {
    summary: 'compare a report with a committed baseline under thresholds; exit 1 on a regression',
    run: async (a) => (await import('./commands/gate.ts')).gateCommand(a),
  },
  train: {
    summary: 'train LeNet-5 / VGG11 / ResNet18 with MaxPool Jacobian β at 16, 32 or 64 bits: test accuracy per epoch, checkpoints, resume',
    run: async (a) => (await import('./commands/train.ts')).trainCommand(a, { version: VERSION }),
  },
  ablate: {
    summary:
      'run a grid of training runs (model × data × β × precision × optimizer × batch norm × seed), resumable, sharded; merge shards into one table',
    run: async (a) => (await import('./commands/ablate.ts')).ablateCommand(a, { version: VERSION }),
  },
  tune: {
    summary: 'search the learning rate of a training config (trials on a validation split, successive halving), then train the lr chosen',
    run: async (a) => (await import('./commands/tune.ts')).tuneCommand(a, { version: VERSION }),
  },
  data: {
    summary: 'fetch a data set (SVHN, CIFAR-10, …) from its official source with checksums and resume',
    run: async (a) => (await import('./commands/data.ts')).dataCommand(a),
  },
  nightly: {
    summary:
      'the whole check in one time-budgeted job (property suites ×N, verify, zones, ablation, reports, gate); exit 0 unless something crashed',
    run: async (a) => (await import('./commands/nightly.ts')).nightlyCommand(a, { version: VERSION }),
  },
};

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return `adzone ${VERSION} — verify automatic differentiation through MaxPool against an exact oracle

Usage: adzone <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
  .join('\n')}
  ${'help'.padEnd(width)}  this text, or 'adzone help <command>'

Options: -V, --version prints the version; -h, --help this text.
Run 'adzone help verify' for the options of a command.`;
}

function unknown(cmd: string): UsageError {
  return new UsageError(`unknown command '${cmd}'; expected one of ${Object.keys(COMMANDS).join(', ')}`);
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  // A reader that stops early (`adzone replay … | head -1`) is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
  });
  try {
    if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') {
      if (rest[0] === undefined) {
        console.log(help());
        return 0;
      }
      const c = COMMANDS[rest[0]];
      if (!c) throw unknown(rest[0]);
      return await c.run(['--help']);
    }
    if (cmd === '--version' || cmd === '-V' || cmd === 'version') {
      console.log(VERSION);
      return 0;
    }
    const c = COMMANDS[cmd];
    if (!c) throw unknown(cmd);
    return await c.run(rest);
  } catch (e) {
    // The usage hint names the command only when there is one.
    return reportError(e, cmd !== undefined && cmd in COMMANDS ? cmd : undefined);
  }
}
