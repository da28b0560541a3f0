/**
 * `adzone replay`: the replay stage (src/zones/replay.ts) from the command line: re-create one case
 * from the generator, seed and path verify.md prints beside it, classify it, and print the class
 * (first line) and the routing units that explain it with exact and rounded values, or, with
 * --json, the case and its classification.
 */
import { parseArgs } from 'node:util';
import type { Accumulate } from '../../engine/types.ts';
import type { BetaMode } from '../../jacobians/index.ts';
import { toJson } from '../../util/atomic.ts';
import { ConfigError } from '../../util/errors.ts';
import { REPLAY_DEFAULTS, type ReplayResult, replay } from '../../zones/replay.ts';
import { VERIFY_CONFIG_DEFAULTS as D } from '../../zones/verify.ts';
import { inOptionWords, joinNegativeValues, parseAlphas, parseChoice, parseList, parseSeedOption, UsageError } from '../args.ts';
import { torchOptions } from './verify.ts';

export const REPLAY_HELP = `adzone replay — re-create and classify one case from a report

Options:
  --generator ID     generator id (required)
  --seed S           fast-check seed from the report, signed or unsigned 32-bit (required)
  --path P           fast-check path from the report (required)
  --precision P      precision to classify at (default ${REPLAY_DEFAULTS.precision})
  --backend ID       backend (default ${REPLAY_DEFAULTS.backend})
  --jacobians LIST   as for verify (default ${D.jacobians.join(',')})
  --relu-alpha LIST  as for verify (default 0)
  --accumulate MODE  strict or wide (default strict)
  --beta-mode MODE   backward or mixed-forward (default backward)
  --python PATH      for --backend torch: the interpreter with torch (as for verify)
  --device D         for --backend torch: cpu or cuda (default cpu)
  --torch-module F:C for --backend torch: your nn.Module for maxpool layers (as for verify)
  --json             print the case and its classification as JSON

The first line printed is 'GENERATOR seed S path P: CLASS on BACKEND at P bits', S in its one
printed form (unsigned).`;

const OPTIONS = {
  generator: { type: 'string' },
  seed: { type: 'string' },
  path: { type: 'string' },
  precision: { type: 'string' },
  backend: { type: 'string' },
  jacobians: { type: 'string' },
  'relu-alpha': { type: 'string' },
  accumulate: { type: 'string' },
  'beta-mode': { type: 'string' },
  python: { type: 'string' },
  device: { type: 'string' },
  'torch-module': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const FLAG: Readonly<Record<string, string>> = { reluAlphas: 'relu-alpha', betaMode: 'beta-mode' };

export async function replayCommand(argv: string[], meta: { readonly version: string }): Promise<number> {
  const { values } = parseArgs({ args: joinNegativeValues(argv, ['seed']), options: OPTIONS, strict: true, allowPositionals: false });
  if (values.help) {
    console.log(REPLAY_HELP);
    return 0;
  }
  if (!values.generator || values.seed === undefined || values.path === undefined)
    throw new UsageError('replay needs --generator, --seed and --path (all three are printed beside each counterexample in verify.md)');
  const precision = parseList('precision', values.precision, [REPLAY_DEFAULTS.precision]);
  if (precision.length !== 1) throw new UsageError('replay classifies at one --precision');
  let r: ReplayResult;
  try {
    r = await replay({
      generator: values.generator,
      seed: parseSeedOption('seed', values.seed, 0),
      path: values.path,
      precision: precision[0],
      backend: values.backend ?? REPLAY_DEFAULTS.backend,
      jacobians: parseList('jacobians', values.jacobians, D.jacobians),
      reluAlphas: parseAlphas(values['relu-alpha']),
      accumulate: parseChoice<Accumulate>('accumulate', values.accumulate, D.accumulate, ['strict', 'wide']),
      betaMode: parseChoice<BetaMode>('beta-mode', values['beta-mode'], D.betaMode, ['backward', 'mixed-forward']),
      backendOptions: torchOptions(values, meta.version),
      log: (s) => process.stderr.write(`${s}\n`),
    });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    throw inOptionWords(e, (field) => FLAG[field] ?? field);
  }
  if (values.json) console.log(toJson({ seed: r.seed, case: r.case, classification: r.classification }));
  else printReplay(r);
  return 0;
}

function printReplay(r: ReplayResult): void {
  const cls = r.classification;
  console.log(`${r.generator} seed ${r.seed} path ${r.path}: ${r.class} on ${cls.backend} at ${cls.precision} bits`);
  console.log(`input ${r.case.problem.input.shape.join('×')}: [${r.case.problem.input.data.join(', ')}]`);
  for (const f of cls.findings) {
    console.log(
      `  layer ${f.layer} ${f.kind} unit ${f.unit}: ${f.what}, exact [${f.exact.join(', ')}]${f.rounded ? `, in p [${f.rounded.join(', ')}]` : ''}`,
    );
    for (const e of f.entries) console.log(`    [${e.index}] exact ${e.exact}  in p ${e.rounded ?? '—'}`);
  }
  if (cls.reason) console.log(`reason: ${cls.reason}`);
}
