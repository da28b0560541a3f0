/** `adzone report DIR... [--out FILE.html] [--markdown FILE.md] [--junit FILE.xml] [--title T]`. */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { UsageError } from '../args.ts';
import { discover, shown, type Discovered } from '../../schema/discover.ts';
import { SchemaError } from '../../schema/index.ts';
import { writeFileAtomic } from '../../util/atomic.ts';
import { renderHtml } from '../../report/html/index.ts';
import { summaryMarkdown } from '../../report/summary.ts';
import { junitXml } from '../../report/junit.ts';

export const REPORT_HELP = `adzone report — one self-contained HTML page (inline CSS and SVG, no network) from result files

Usage: adzone report DIR... [--out FILE.html] [--markdown FILE.md] [--junit FILE.xml]

Reads every result file under the DIRs (verify.json, zones.json, bench results.json, train
result.json + metrics.jsonl, ablate.json; a few levels deep), validating each against its schema.

Options:
  --out FILE.html      the HTML report (default reports/report.html)
  --markdown FILE.md   also a short Markdown summary for a pull-request comment
  --junit FILE.xml     also JUnit XML: one testcase per generator × backend × precision, failing on
                       inconsistent value checks or compensation at 64 bits on a lone MaxPool
  --title TEXT         page title (default 'adzone report')

Exit codes: 0 written; 2 bad options, a missing DIR, no result files, or a file that fails its schema.

Example: adzone report reports/verify reports/zones --out reports/report.html --markdown reports/summary.md --junit reports/junit.xml`;

export async function reportCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      out: { type: 'string' },
      markdown: { type: 'string' },
      junit: { type: 'string' },
      title: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) {
    console.log(REPORT_HELP);
    return 0;
  }
  if (!positionals.length) throw new UsageError('report needs at least one DIR holding result files (e.g. reports/verify)');
  for (const [k, ext] of [
    ['out', '.html'],
    ['markdown', '.md'],
    ['junit', '.xml'],
  ] as const) {
    const v = values[k];
    if (v !== undefined && !v.toLowerCase().endsWith(ext)) throw new UsageError(`--${k} must name a ${ext} file, got '${v}'`);
  }
  const out = resolve(values.out ?? 'reports/report.html');
  let d: Discovered;
  try {
    d = discover(positionals.map((p) => resolve(p)));
  } catch (e) {
    if (e instanceof SchemaError) {
      process.stderr.write(`adzone report: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  if (!d.results.length) {
    process.stderr.write(
      `adzone report: no result files (verify.json, zones.json, results.json, result.json, ablate.json) under ${positionals.join(', ')}\n`,
    );
    return 2;
  }
  const title = values.title ?? 'adzone report';
  writeFileAtomic(out, await renderHtml(d, { title }));
  const written = [shown(out)];
  if (values.markdown) {
    const md = resolve(values.markdown);
    writeFileAtomic(md, await summaryMarkdown(d, { title, htmlPath: shown(out) }));
    written.push(shown(md));
  }
  if (values.junit) {
    const j = resolve(values.junit);
    writeFileAtomic(j, await junitXml(d));
    written.push(shown(j));
  }
  const kinds = d.results.map((r) => r.kind);
  const tally = [...new Set(kinds)].map((k) => `${kinds.filter((x) => x === k).length} ${k}`).join(', ');
  process.stderr.write(
    `adzone report: read ${tally}${d.metrics.length ? `, ${d.metrics.length} metrics.jsonl` : ''}; wrote ${written.join(', ')}\n`,
  );
  return 0;
}
