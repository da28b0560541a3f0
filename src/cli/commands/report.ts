/** `adzone report DIR... [--out FILE.html] [--markdown FILE.md] [--junit FILE.xml] [--title T] [--fail-on LIST] [--baseline DIR]`: argv to the report stage, its outputs written as one transaction. */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseList, UsageError } from '../args.ts';
import { isUnusable } from '../exit.ts';
import { shown } from '../../schema/discover.ts';
import { assertWritableFile, type OutputFile, writeFilesAtomic } from '../../util/output.ts';
import { FAIL_ON_CLASSES, report } from '../../report/index.ts';
import { type CommandIo, consoleIo } from './gate.ts';

export const REPORT_HELP = `adzone report — one self-contained HTML page (inline CSS and SVG, no network) from result files

Usage: adzone report DIR... [--out FILE.html] [--markdown FILE.md] [--junit FILE.xml] [--title T]
                            [--fail-on LIST] [--baseline DIR [--thresholds FILE]]

Reads every .json under the DIRs (verify.json, zones.json, bench results.json, train result.json +
metrics.jsonl, ablate.json, at any depth): each must be a valid adzone file or the command stops
naming it (JSON without a "schema" field and an adzone file name is listed and ignored); every
derived number is checked against the counts. The page opens with the verdict: what is wrong
(backend, precision, zone or defect, count with a 95% interval, one replay line), then the plots.

Options:
  --out FILE.html      the HTML report (default reports/report.html)
  --markdown FILE.md   also a short Markdown summary for a pull-request comment: the gate verdict,
                       the headline and the tables, every quoted text escaped, no local paths
  --junit FILE.xml     also JUnit XML: one testcase per generator × backend × precision, failing on
                       inconsistent value checks or compensation at 64 bits on a lone MaxPool
  --fail-on LIST       also fail (JUnit failures, exit 1) every cell with draws in these classes:
                       ${FAIL_ON_CLASSES.join(', ')} (e.g. --fail-on defect,inconsistent)
  --baseline DIR       run the gate against this baseline (one DIR only): its verdict leads the page
                       and the summary, and the rows that differ are shown
  --thresholds FILE    the gate's thresholds (default DIR/thresholds.json of --baseline)
  --title TEXT         page title (default 'adzone report')

Every output is checked writable before any file is read, and all are written together at the end
(temps first, then renamed): a failure leaves no output half written.

Exit codes: 0 written; 1 written, and a --fail-on class has draws, a self-check fails or the gate
finds a regression; 2 bad options, an unwritable output, a missing DIR, no result files, a file that
fails its schema or contradicts its counts, or a baseline the gate cannot use.

Example: adzone report reports/verify --out reports/report.html --markdown reports/summary.md --junit reports/junit.xml --fail-on defect,inconsistent`;

function parse(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      out: { type: 'string' },
      markdown: { type: 'string' },
      junit: { type: 'string' },
      title: { type: 'string' },
      'fail-on': { type: 'string' },
      baseline: { type: 'string' },
      thresholds: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) return undefined;
  if (!positionals.length) throw new UsageError('report needs at least one DIR holding result files (e.g. reports/verify)');
  for (const [k, ext] of [
    ['out', '.html'],
    ['markdown', '.md'],
    ['junit', '.xml'],
  ] as const) {
    const v = values[k];
    if (v !== undefined && !v.toLowerCase().endsWith(ext)) throw new UsageError(`--${k} must name a ${ext} file, got '${v}'`);
  }
  if (values.thresholds && !values.baseline) throw new UsageError('--thresholds goes with --baseline DIR');
  if (values.baseline && positionals.length !== 1)
    throw new UsageError(`--baseline compares one report DIR with the baseline, got ${positionals.length}`);
  return {
    inputs: positionals,
    out: resolve(values.out ?? 'reports/report.html'),
    markdown: values.markdown ? resolve(values.markdown) : undefined,
    junit: values.junit ? resolve(values.junit) : undefined,
    title: values.title,
    failOn: values['fail-on'] === undefined ? [] : parseList('fail-on', values['fail-on'], [], FAIL_ON_CLASSES),
    baseline: values.baseline,
    thresholds: values.thresholds,
  };
}

export async function reportCommand(argv: string[], io: CommandIo = consoleIo): Promise<number> {
  const o = parse(argv);
  if (!o) {
    io.out(REPORT_HELP);
    return 0;
  }
  const outputs = [o.out, o.markdown, o.junit].filter((f): f is string => f !== undefined);
  try {
    // before any work: an output that cannot be written is found now, not after the reading
    for (const f of outputs) assertWritableFile(f);
    const r = await report({ ...o, htmlPath: o.out, ...(o.title ? { title: o.title } : {}) });
    const files: OutputFile[] = [{ path: o.out, data: r.html }];
    if (o.markdown) files.push({ path: o.markdown, data: r.markdown });
    if (o.junit) files.push({ path: o.junit, data: r.junit });
    writeFilesAtomic(files);
    for (const n of r.discovered.notes) io.err(`adzone report: ${n}`);
    io.err(`adzone report: read ${r.tally}; wrote ${outputs.map(shown).join(', ')}`);
    if (r.verdict.gate.state === 'unusable') io.err(`adzone report: the gate could not run: ${r.verdict.gate.message.split('\n')[0]}`);
    if (r.exitCode === 1) io.err('adzone report: failing: see the verdict at the top of the report');
    return r.exitCode;
  } catch (e) {
    if (!isUnusable(e)) throw e;
    io.err(`adzone report: ${(e as Error).message.split('\n')[0]}`);
    return 2;
  }
}
