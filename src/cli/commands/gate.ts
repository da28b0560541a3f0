/** `adzone gate --baseline DIR REPORT_DIR [--update] [--thresholds FILE] [--json]`: argv to the gate stage, its verdict to lines and an exit code. */
import { parseArgs } from 'node:util';
import { UsageError } from '../args.ts';
import { isUnusable } from '../exit.ts';
import { shown } from '../../schema/discover.ts';
import { gate, gateExitCode, updateGate } from '../../gate/index.ts';
import { summaryOf, unusableSummary, verdictLine } from '../../gate/summary.ts';

export const GATE_HELP = `adzone gate — compare a report with a committed baseline under thresholds

Usage: adzone gate --baseline DIR REPORT_DIR [--update] [--thresholds FILE] [--json]

REPORT_DIR holds the new results (verify.json, and zones.json / train results when there are
any); --baseline DIR the committed ones and thresholds.json (what may move, and by how much).
Every .json under both is read whole and must be a valid adzone file (a report may also hold
foreign JSON without a "schema" field, which is listed and ignored); every derived number (n, the
shares, the summaries, the final accuracies) is recomputed from the raw counts, and a file whose
stored numbers contradict its counts is refused. Then:
  - every baseline item must be in the report: each verify row and tie rule, each network and
    precision of zones, each training run (configuration, recipe, β, seed); a missing one is a
    regression naming it. A report may declare a stage it did not run (a nightly plan.json that
    leaves it out, or one network of zones in its leftOut): its items are not compared and the
    output names the stage (verdict PARTIAL);
  - inconsistent value checks must stay 0; compensation at 64 bits on lone-MaxPool generators
    must stay 0 (their input is exact there);
  - a row's non-regular share (per generator, backend, precision) may grow by at most the
    precision's margin; its defect share by at most its margin;
  - every framework backend's measured tie rule must stay the same;
  - per network, the exact share of batches in a zone may grow by at most a margin;
  - per training configuration, the mean test accuracy at β = 0 may drop by at most a margin,
    between runs trained alike only (same epochs, lr, batch size, limits, …).

Options:
  --baseline DIR      the committed baseline (e.g. fixtures/baseline/) (required)
  --thresholds FILE   thresholds file (default DIR/thresholds.json)
  --update            rewrite the baseline from REPORT_DIR on purpose (one transaction: built beside
                      it, then swapped in) and say what changed
  --json              print a machine summary on stdout (schema adzone/gate-summary: verdict, exitCode,
                      regressions, skipped stages, notes, error); the lines go to stderr

Exit codes: 0 every threshold holds (or --update done); 1 regressions, one line each saying what
moved, by how much and where to look; 2 unusable input (a missing folder, a file that fails its
schema or contradicts its counts, runs with different options), one line saying what and where.

Example: adzone gate --baseline fixtures/baseline/ reports/verify`;

/** Where a command's lines go (tests pass their own). */
export interface CommandIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}
export const consoleIo: CommandIo = {
  out: (l) => process.stdout.write(`${l}\n`),
  err: (l) => process.stderr.write(`${l}\n`),
};

function parse(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      baseline: { type: 'string' },
      thresholds: { type: 'string' },
      update: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) return undefined;
  if (!values.baseline) throw new UsageError('gate needs --baseline DIR (the committed baseline, e.g. fixtures/baseline/)');
  if (positionals.length !== 1)
    throw new UsageError(
      `gate compares one REPORT_DIR with the baseline, got ${positionals.length ? positionals.map((p) => `'${p}'`).join(', ') : 'none'}`,
    );
  return {
    baseline: values.baseline,
    report: positionals[0],
    thresholds: values.thresholds,
    update: values.update === true,
    json: values.json === true,
  };
}

async function update(o: NonNullable<ReturnType<typeof parse>>, io: CommandIo): Promise<number> {
  const r = await updateGate(o);
  for (const w of r.warnings) io.err(`adzone gate: ${w}`);
  io.out(
    `gate: baseline ${shown(r.baseline)} updated from ${shown(r.report)}${r.lines.length ? ':' : ' — nothing changed in the compared numbers'}`,
  );
  const MAX = 60;
  for (const l of r.lines.slice(0, MAX)) io.out(`  ${l}`);
  if (r.lines.length > MAX) io.out(`  … ${r.lines.length - MAX} more`);
  return 0;
}

export async function gateCommand(argv: string[], io: CommandIo = consoleIo): Promise<number> {
  const o = parse(argv);
  if (!o) {
    io.out(GATE_HELP);
    return 0;
  }
  // In --json mode stdout carries the summary only; every line goes to stderr.
  const lines = o.json ? io.err : io.out;
  try {
    if (o.update) return await update(o, { out: lines, err: io.err });
    const r = await gate(o);
    for (const n of r.notes) io.err(`gate: ${n}`);
    for (const x of r.regressions) lines(`REGRESSION ${x.line}`);
    (r.verdict === 'regression' ? io.err : lines)(verdictLine(r));
    if (o.json) io.out(JSON.stringify(summaryOf(r), null, 2));
    return gateExitCode(r);
  } catch (e) {
    if (!isUnusable(e)) throw e;
    const msg = (e as Error).message.split('\n')[0];
    io.err(`adzone gate: ${msg}`);
    if (o.json) io.out(JSON.stringify(unusableSummary(msg, o), null, 2));
    return 2;
  }
}
