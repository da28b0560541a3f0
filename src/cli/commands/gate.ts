/** `adzone gate --baseline DIR REPORT_DIR [--update] [--thresholds FILE]`. */
import { parseArgs } from 'node:util';
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from '../args.ts';
import { shown } from '../../schema/discover.ts';
import { SchemaError } from '../../schema/index.ts';
import { compareSides, GateInputError, loadSide, type Side } from '../../gate/compare.ts';
import { loneMaxPoolGenerators } from '../../gate/lone.ts';
import { readThresholds, type Thresholds } from '../../gate/thresholds.ts';
import { updateBaseline } from '../../gate/update.ts';

export const GATE_HELP = `adzone gate — compare a report with a committed baseline under thresholds

Usage: adzone gate --baseline DIR REPORT_DIR [--update] [--thresholds FILE]

REPORT_DIR holds the new results (verify.json, and zones.json / train results when there are
any); --baseline DIR the committed ones and thresholds.json (what may move, and by how much):
  - inconsistent value checks must stay 0; compensation at 64 bits on lone-MaxPool generators
    must stay 0 (their input is exact there);
  - a row's non-regular share (per generator, backend, precision) may grow by at most the
    precision's margin; its defect share by at most its margin;
  - every framework backend's measured tie rule must stay the same; every baseline row must exist;
  - per network, the exact share of batches in a zone may grow by at most a margin;
  - per training configuration, the mean test accuracy at β = 0 may drop by at most a margin,
    between runs trained alike only (same epochs, lr, batch size, limits, …: the run's config
    but β, seed and logEvery); runs trained differently are noted, not compared.

Options:
  --baseline DIR      the committed baseline (e.g. fixtures/baseline/) (required)
  --thresholds FILE   thresholds file (default DIR/thresholds.json)
  --update            rewrite the baseline from REPORT_DIR on purpose (atomically) and say what changed

Exit codes: 0 every threshold holds (or --update done); 1 regressions, one line each saying what
moved, by how much and where to look; 2 unusable input (missing files, schema mismatch, runs with
different options).

Example: adzone gate --baseline fixtures/baseline/ reports/verify`;

export async function gateCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      baseline: { type: 'string' },
      thresholds: { type: 'string' },
      update: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) {
    console.log(GATE_HELP);
    return 0;
  }
  if (!values.baseline) throw new UsageError('gate needs --baseline DIR (the committed baseline, e.g. fixtures/baseline/)');
  if (positionals.length !== 1)
    throw new UsageError(
      `gate compares one REPORT_DIR with the baseline, got ${positionals.length ? positionals.map((p) => `'${p}'`).join(', ') : 'none'}`,
    );
  const baseDir = resolve(values.baseline);
  const repDir = resolve(positionals[0]);
  const thFile = resolve(values.thresholds ?? join(baseDir, 'thresholds.json'));
  const fail = (msg: string) => {
    process.stderr.write(`adzone gate: ${msg}\n`);
    return 2;
  };
  try {
    if (!existsSync(repDir) || !statSync(repDir).isDirectory()) return fail(`report directory ${positionals[0]} does not exist`);
    const rep = loadSide(repDir, 'report');
    if (!rep.verify && !rep.zones.length && !rep.runs.length)
      return fail(`no result files (verify.json, zones.json, train results) under ${positionals[0]}`);

    if (values.update) {
      let old: Side | undefined;
      let th: Thresholds | undefined;
      if (existsSync(baseDir)) {
        try {
          old = loadSide(baseDir, 'baseline');
        } catch (e) {
          process.stderr.write(`adzone gate: the old baseline is unreadable (${(e as Error).message}); replacing it\n`);
        }
        if (existsSync(thFile)) th = readThresholds(thFile);
      }
      const lone = th?.verify.loneMaxPoolGenerators ?? (await loneMaxPoolGenerators(rep.verify?.data.generators ?? []));
      const lines = await updateBaseline(baseDir, old, rep, lone);
      console.log(
        `gate: baseline ${shown(baseDir)} updated from ${shown(repDir)}${lines.length ? ':' : ' — nothing changed in the compared numbers'}`,
      );
      const MAX = 60;
      for (const l of lines.slice(0, MAX)) console.log(`  ${l}`);
      if (lines.length > MAX) console.log(`  … ${lines.length - MAX} more`);
      return 0;
    }

    if (!existsSync(baseDir) || !statSync(baseDir).isDirectory())
      return fail(`baseline directory ${values.baseline} does not exist (create it with --update)`);
    const t = readThresholds(thFile);
    const base = loadSide(baseDir, 'baseline');
    const lone =
      t.verify.loneMaxPoolGenerators ??
      (await loneMaxPoolGenerators([...(base.verify?.data.generators ?? []), ...(rep.verify?.data.generators ?? [])]));
    const outcome = compareSides(base, rep, t, lone);
    for (const n of outcome.notes) process.stderr.write(`gate: ${n}\n`);
    if (outcome.regressions.length) {
      for (const r of outcome.regressions) console.log(`REGRESSION ${r.line}`);
      process.stderr.write(
        `gate: ${outcome.regressions.length} regression${outcome.regressions.length > 1 ? 's' : ''} against ${shown(baseDir)} (thresholds ${shown(thFile)}); if the change is intended, rerun with --update\n`,
      );
      return 1;
    }
    console.log(`gate: OK — every threshold of ${shown(thFile)} holds for ${shown(repDir)} against ${shown(baseDir)}`);
    return 0;
  } catch (e) {
    if (e instanceof SchemaError || e instanceof GateInputError) return fail(e.message);
    throw e;
  }
}
