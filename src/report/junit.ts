/**
 * `adzone report --junit FILE.xml`: JUnit XML for CI dashboards. One testcase per generator ×
 * backend × precision of every verify.json, failing when
 * - a regular point fell outside its rigorous rounding bound (inconsistent > 0);
 * - a lone-MaxPool generator shows compensation at 64 bits (its input is exact there: impossible);
 * - the row's counts do not add up to its draws;
 * - with `failOn` (`adzone report --fail-on defect,inconsistent,…`, the words of findings.ts), the
 *   row has draws in one of the listed classes: one failure per class, with its count, its 95%
 *   interval and a replay line;
 * plus one testcase per measured framework tie rule (failing when the rule is not one of the
 * family's members) and one per zones.json precision (failing when a batch has a non-finite
 * estimator distance, i.e. the network overflowed). Without `failOn`, defects are reported in
 * system-out only: they are known framework findings, and `adzone gate` watches them for change.
 */
import { ofKind, shown, type Discovered } from '../schema/discover.ts';
import type { VerifyJson } from '../schema/index.ts';
import { loneMaxPoolGenerators } from '../gate/lone.ts';
import { countIn, type FailOnClass, replayLine } from './findings.ts';
import { compactCounts, compensation, countOf } from './html/format.ts';
import { shareCell, wilson } from './stats.ts';

const x = (s: string | number) =>
  String(s)
    .replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!)
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');

interface Case {
  readonly classname: string;
  readonly name: string;
  readonly failures: readonly { readonly type: string; readonly message: string }[];
  readonly out?: string;
}

function suite(name: string, file: string, cases: readonly Case[], timestamp: string): string {
  const failures = cases.filter((c) => c.failures.length).length;
  const body = cases
    .map(
      (c) =>
        `    <testcase classname="${x(c.classname)}" name="${x(c.name)}" file="${x(file)}" time="0">` +
        c.failures.map((f) => `\n      <failure type="${x(f.type)}" message="${x(f.message)}">${x(f.message)}</failure>`).join('') +
        (c.out ? `\n      <system-out>${x(c.out)}</system-out>` : '') +
        `${c.failures.length || c.out ? '\n    ' : ''}</testcase>`,
    )
    .join('\n');
  return `  <testsuite name="${x(name)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="0" timestamp="${x(timestamp)}" time="0">\n${body}\n  </testsuite>`;
}

type Verify = VerifyJson;
type Row = VerifyJson['table'][number];

/** The failures a --fail-on list gives a row: one per listed class it has draws in. */
function failOnFailures(v: Verify, r: Row, failOn: readonly FailOnClass[]): { type: string; message: string }[] {
  return (
    failOn
      // inconsistent draws fail their row whatever the list says (above)
      .filter((c) => c !== 'inconsistent' && countIn(r, c) > 0)
      .map((c) => {
        const cx = v.counterexamples.find(
          (x) =>
            x.generator === r.generator &&
            x.backend === r.backend &&
            x.precision === r.precision &&
            (c === 'compensation' ? x.class.startsWith('compensation') : x.class === c),
        );
        return {
          type: c,
          message: `${countIn(r, c)} ${c} draw(s) of ${r.n} (${shareCell(wilson(countIn(r, c), r.n))}, 95% CI) for ${r.generator} on ${r.backend} at ${r.precision} bits (--fail-on ${failOn.join(',')})${cx ? `; replay: ${replayLine(cx)}` : ''}`,
        };
      })
  );
}

/** A test suite a caller adds (the nightly's stages and property suites), already in JUnit XML, with its counts. */
export interface JunitSuite {
  readonly xml: string;
  readonly tests: number;
  readonly failures: number;
}

export interface JunitOptions {
  /** Classes whose draws fail their row (`--fail-on`). */
  readonly failOn?: readonly FailOnClass[];
  /** The `<testsuites>` name (default 'adzone'). */
  readonly name?: string;
  /** Suites added after the result files' own, counted in the totals. */
  readonly extraSuites?: readonly JunitSuite[];
}

export async function junitXml(d: Discovered, o: JunitOptions = {}): Promise<string> {
  const suites: JunitSuite[] = [];
  const add = (name: string, file: string, cases: Case[], ts: string) =>
    suites.push({ xml: suite(name, file, cases, ts), tests: cases.length, failures: cases.filter((c) => c.failures.length).length });
  for (const v of ofKind(d, 'verify')) {
    const j = v.data;
    const lone = await loneMaxPoolGenerators(j.generators);
    const cases: Case[] = j.table.map((r) => {
      const f: { type: string; message: string }[] = [];
      if (r.inconsistent > 0)
        f.push({
          type: 'inconsistent',
          message: `${r.inconsistent} regular draw(s) of ${r.n} fell outside the rigorous rounding bound (${r.generator} on ${r.backend} at ${r.precision} bits)`,
        });
      if (r.precision === '64' && lone.includes(r.generator) && compensation(r) > 0) {
        f.push({
          type: 'compensation-64',
          message: `${compensation(r)} compensation(s) at 64 bits on lone-MaxPool generator ${r.generator} (${r.backend}): impossible, its input is exact at 64 bits`,
        });
      }
      const sum = Object.values(r.counts).reduce((a, b) => a + b, 0);
      if (sum !== r.n) f.push({ type: 'counts', message: `counts add up to ${sum}, not the ${r.n} draws` });
      f.push(...failOnFailures(j, r, o.failOn ?? []));
      return {
        classname: `adzone.verify.${r.generator}`,
        name: `${r.backend} ${r.precision}-bit`,
        failures: f,
        out: `${compactCounts(r)} (${r.n} draws); non-regular share ${(100 * r.nonRegularShare).toFixed(1)}%${countOf(r, 'defect') ? `; ${countOf(r, 'defect')} defect(s)` : ''}${r.underflow ? `; ${r.underflow} underflowed` : ''}`,
      };
    });
    for (const t of j.tieRules) {
      cases.push({
        classname: 'adzone.verify.tie-rule',
        name: t.backend,
        failures: ['first', 'last', 'minnorm'].includes(t.rule)
          ? []
          : [{ type: 'tie-rule', message: `${t.backend} follows no member of the family at ties (measured '${t.rule}'): ${t.evidence}` }],
        out: `rule ${t.rule}: ${t.evidence}`,
      });
    }
    add(`adzone verify (${shown(v.file)})`, shown(v.file), cases, j.createdAt);
  }
  for (const z of ofKind(d, 'zones')) {
    const c = z.data.config;
    const cases: Case[] = z.data.precisions.map((p) => ({
      classname: `adzone.zones.${c.model}.${c.dataset}`,
      name: `${p.precision}-bit`,
      failures:
        p.summary.distance.nonfinite > 0
          ? [
              {
                type: 'nonfinite',
                message: `${p.summary.distance.nonfinite} batch(es) with a non-finite estimator distance at ${p.precision} bits`,
              },
            ]
          : [],
      out: `estimator in zone ${p.summary.estimatorInZone}/${p.summary.batches}, exact ${p.summary.exactInZone ?? '—'}/${p.summary.batches}`,
    }));
    add(`adzone zones ${c.model}/${c.dataset} (${shown(z.file)})`, shown(z.file), cases, z.data.createdAt);
  }
  suites.push(...(o.extraSuites ?? []));
  const tests = suites.reduce((a, s) => a + s.tests, 0);
  const failures = suites.reduce((a, s) => a + s.failures, 0);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="${x(o.name ?? 'adzone')}" tests="${tests}" failures="${failures}" errors="0" time="0">\n${suites.map((s) => s.xml).join('\n')}\n</testsuites>\n`;
}
