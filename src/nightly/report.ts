/**
 * The nightly's outputs after the stages: the gate (src/gate's stage) against the baseline, its
 * verdict recorded and never failing the run, then the standard report (src/report's stage: HTML,
 * Markdown summary, JUnit XML of every result file under the out dir) led by that verdict, with the
 * nightly's own part right after it: the stages (what ran, what was skipped and why, what was cut
 * short), the plan, and the property suites' results.
 */
import { join } from 'node:path';
import { gateWithSides } from '../gate/index.ts';
import { type GateRun, type JunitSuite, report } from '../report/index.ts';
import { esc } from '../report/html/svg.ts';
import { shown } from '../schema/discover.ts';
import { SchemaError } from '../schema/index.ts';
import { InputError } from '../util/errors.ts';
import { writeFilesAtomic } from '../util/output.ts';
import { fmtSeconds } from './budget.ts';
import { LENET_UNIT, VGG_UNIT } from './data.ts';
import { MNIST_TRAIN_IMAGES, type Counts } from './plan.ts';
import type { SuitesSummary } from './suites.ts';

/** The gate's verdict as nightly.json records it. */
export interface GateVerdict {
  readonly verdict: 'pass' | 'partial' | 'regression' | 'unusable' | 'not-run';
  readonly baseline: string;
  readonly regressions: readonly string[];
  readonly notes: readonly string[];
  /** Stages the report declares it did not run (verdict 'partial'), and the baseline items each left out. */
  readonly skipped: readonly { readonly stage: string; readonly reason: string; readonly notCompared: number }[];
  readonly message?: string;
}

/**
 * The gate stage against `baseline` (null: none, the gate is not run, `why` says so): the record for
 * nightly.json and the run the report leads with. Unusable input (a result file that fails its schema,
 * a missing required result) is a verdict, 'unusable'; anything else thrown is a crash.
 */
export async function runGate(
  baseline: string | null,
  reportDir: string,
  why: string | null,
): Promise<{ record: GateVerdict; run: GateRun }> {
  const none = { regressions: [], notes: [], skipped: [] };
  if (!baseline)
    return {
      record: { ...none, verdict: 'not-run', baseline: '', message: why ?? 'no baseline' },
      run: { gate: { state: 'not-run' }, sides: {} },
    };
  try {
    const g = await gateWithSides({ baseline, report: reportDir });
    const r = g.result;
    const record: GateVerdict = {
      verdict: r.verdict,
      baseline: shown(baseline),
      regressions: r.regressions.map((x) => x.line),
      notes: [...r.notes],
      skipped: r.skipped.map((x) => ({ stage: x.stage, reason: x.reason, notCompared: x.notCompared })),
    };
    return { record, run: { gate: { state: 'done', result: r }, sides: { base: g.base, rep: g.rep } } };
  } catch (e) {
    if (!(e instanceof SchemaError || e instanceof InputError)) throw e;
    const message = e.message.split('\n')[0];
    return {
      record: { ...none, verdict: 'unusable', baseline: shown(baseline), message },
      run: { gate: { state: 'unusable', baseline: shown(baseline), message }, sides: {} },
    };
  }
}

/**
 * A skip's reason up to its first ': ' ('VGG11 (width 1/4)/CIFAR-10 left out', 'no input here'): the
 * nightly prints what was left out and how to get its data on a line of its own, nightly.json keeps it whole.
 */
const headOf = (reason: string) => reason.split(': ')[0];

/** The verdict in one line, as the nightly prints it. */
export function gateLine(g: GateVerdict): string {
  const against = g.baseline ? `against ${g.baseline}` : '';
  if (g.verdict === 'regression')
    return `gate ${against}: ${g.regressions.length} regression${g.regressions.length > 1 ? 's' : ''} (reported, not failing the nightly; see summary.md)`;
  if (g.verdict === 'partial')
    return `gate ${against}: PARTIAL — every threshold holds for what ran; not compared: ${g.skipped.map((s) => `${s.stage} (${headOf(s.reason)})`).join('; ')}`;
  if (g.verdict === 'pass') return `gate ${against}: pass — every threshold holds`;
  return `gate${against ? ` ${against}` : ''}: ${g.verdict}${g.message ? ` — ${g.message}` : ''}`;
}

export interface StageRecord {
  readonly stage: string;
  readonly status: 'done' | 'truncated' | 'skipped' | 'crashed';
  readonly plannedSeconds: number;
  readonly seconds: number;
  readonly note?: string;
  readonly error?: string;
}

export interface NightlyView {
  readonly command: string;
  readonly seed: number;
  readonly budgetSeconds: number;
  readonly elapsedSeconds: number;
  readonly planFile: string;
  readonly planSource: 'calibrated' | 'plan-file';
  readonly counts: Counts;
  readonly stages: readonly StageRecord[];
  readonly suites: SuitesSummary | null;
  readonly gate: GateVerdict;
  readonly notes: readonly string[];
  /** The zones units the data here left out (data.ts's names). */
  readonly leftOutUnits: readonly string[];
}

/** What the counts plan, one line per stage; `leftOut`: the units the data here leaves out (data.ts), said instead of their batches. */
export function countsLine(c: Counts, suites: SuitesSummary | null, leftOut: readonly string[] = []): string[] {
  const l: string[] = [];
  if (c.suites) {
    const reading = suites ? suites.files.filter((f) => f.readsMultiplier).length : null;
    l.push(
      `property suites: ${c.suites.files.length} files, fast-check runs ×${c.suites.multiplier}${reading === null ? '' : ` in the ${reading} that read ADZONE_FC_RUNS_MULTIPLIER (the others run their own numRuns, with the night's seed)`}`,
    );
  }
  if (c.verify)
    l.push(
      `verify: ${c.verify.generators.length} generators × ${c.verify.samples} draws on ${c.verify.backends.join(', ')} at ${c.verify.precisions.join('/')} bits, ≤ ${c.verify.maxShrinks} shrunk counterexamples`,
    );
  if (c.zones) {
    const z = c.zones;
    const gone = (unit: string) => leftOut.includes(unit);
    const lenet = gone(LENET_UNIT) ? `${LENET_UNIT} left out (no data here)` : `${LENET_UNIT} ${z.lenetBatches} batches of ${z.batchSize}`;
    const vgg = gone(VGG_UNIT)
      ? `${VGG_UNIT} left out (no data here)`
      : z.vggBatches
        ? `${VGG_UNIT} ${z.vggBatches} batches`
        : 'no VGG11 (budget)';
    l.push(`zones: ${lenet}, ${vgg}`);
  }
  if (c.train) {
    const t = c.train;
    const setup = t.backend ? `${t.backend} ${t.mode ?? 'strict'}` : 'tfjs-wasm (16 bits wide)';
    l.push(
      `ablation: LeNet-5/MNIST β ∈ {${[...new Set(t.runs.map((r) => r.beta))].join(', ')}} × ${[...new Set(t.runs.map((r) => r.precision))].join('/')} bits on ${setup}, SGD batch ${t.batchSize}, ` +
        `${t.limitTrain} training images (${t.limitTrain >= MNIST_TRAIN_IMAGES ? 'one full epoch' : `${(t.limitTrain / MNIST_TRAIN_IMAGES).toFixed(3)} epoch`}), ${t.limitTest} test images`,
    );
  }
  return l;
}

const statusClass = (status: string) => (status === 'done' || status === 'passed' ? 'ok' : status === 'skipped' ? '' : 'bad');

function suitesHtml(s: SuitesSummary): string {
  const rows = s.files
    .map(
      (f) =>
        `<tr><td><code>${esc(f.file)}</code></td><td class="${statusClass(f.status)}">${esc(f.status)}</td><td class="num">${f.passed}/${f.tests}</td><td class="num">${f.failed}</td><td class="num">${esc(fmtSeconds(f.seconds))}</td><td>${f.readsMultiplier ? `×${s.multiplier}` : '×1 (own numRuns)'}</td><td>${esc(f.note ?? '')}</td></tr>`,
    )
    .join('');
  const failures = s.files
    .flatMap((f) =>
      f.failures.map(
        (x) =>
          `<details><summary><code>${esc(f.file)}</code> — ${esc(x.name)}</summary><pre><code>${esc(x.message)}</code></pre></details>`,
      ),
    )
    .join('');
  return (
    `<h3>Property suites (fast-check seed ${s.seed}, multiplier ×${s.multiplier})</h3>` +
    `<p>${s.totals.passed} of ${s.totals.tests} tests passed, ${s.totals.failed} failed, in ${s.totals.files} files.</p>` +
    `<table><thead><tr><th>file</th><th>status</th><th>passed</th><th>failed</th><th>time</th><th>runs</th><th>note</th></tr></thead><tbody>${rows}</tbody></table>${failures}`
  );
}

/** The nightly's section of report.html, after the verdict (which carries the gate's). */
export function nightlyHtml(v: NightlyView): string {
  const stageRows = v.stages
    .map(
      (s) =>
        `<tr><td>${esc(s.stage)}</td><td class="${statusClass(s.status)}">${esc(s.status)}</td><td class="num">${esc(fmtSeconds(s.plannedSeconds))}</td><td class="num">${esc(fmtSeconds(s.seconds))}</td><td>${esc(s.error ?? s.note ?? '')}</td></tr>`,
    )
    .join('');
  return `<section id="nightly"><h2>Nightly <span class="src">${esc(v.command)}</span></h2>
<p class="meta">seed ${v.seed} · budget ${esc(fmtSeconds(v.budgetSeconds))} · ran ${esc(fmtSeconds(v.elapsedSeconds))} · plan <code>${esc(v.planFile)}</code> (${v.planSource === 'calibrated' ? 'fitted to this machine by a calibration' : 'counts from a plan file'})</p>
<ul>${countsLine(v.counts, v.suites, v.leftOutUnits)
    .map((l) => `<li>${esc(l)}</li>`)
    .join('')}</ul>
<p class="rule">${esc(gateLine(v.gate))}. The nightly records the gate's verdict and exits 0 on a regression; <code>adzone gate</code> on this folder exits 1.</p>
<h3>Stages</h3><table><thead><tr><th>stage</th><th>status</th><th>planned</th><th>took</th><th>note</th></tr></thead><tbody>${stageRows}</tbody></table>
${v.notes.length ? `<p class="note">${v.notes.map(esc).join('<br>')}</p>` : ''}
${v.suites ? suitesHtml(v.suites) : ''}
<p class="note">Re-running with <code>--plan ${esc(v.planFile)} --seed ${v.seed}</code> repeats every count and so every number (timings aside); a new calibration may choose other counts.</p>
</section>
`;
}

function suitesMarkdown(s: SuitesSummary): string[] {
  const L = [
    `**Property suites** (seed ${s.seed}, ×${s.multiplier}): ${s.totals.passed}/${s.totals.tests} passed, ${s.totals.failed} failed`,
    '',
  ];
  const bad = s.files.filter((f) => f.status !== 'passed');
  for (const f of bad) {
    const names = f.failures
      .map((x) => x.name)
      .slice(0, 5)
      .join('; ');
    L.push(`- \`${f.file}\`: ${f.status}${names ? ` — ${names}` : ''}${f.note ? ` (${f.note})` : ''}`);
  }
  return bad.length ? [...L, ''] : L;
}

/** The nightly's part of summary.md, after the verdict (which carries the gate's). */
export function nightlyMarkdown(v: NightlyView): string {
  const L: string[] = [`### Nightly — seed ${v.seed}, budget ${fmtSeconds(v.budgetSeconds)}, ran ${fmtSeconds(v.elapsedSeconds)}`, ''];
  const skipped = v.stages.filter((s) => s.status === 'skipped' || s.status === 'crashed' || s.status === 'truncated');
  for (const s of skipped) L.push(`- **${s.stage} ${s.status}**: ${(s.error ?? s.note ?? '').split('\n')[0].slice(0, 300)}`);
  if (skipped.length) L.push('');
  if (v.suites) L.push(...suitesMarkdown(v.suites));
  L.push('| stage | status | planned | took | note |', '| --- | --- | ---: | ---: | --- |');
  for (const s of v.stages)
    L.push(
      `| ${s.stage} | ${s.status} | ${fmtSeconds(s.plannedSeconds)} | ${fmtSeconds(s.seconds)} | ${(s.error ?? s.note ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ').slice(0, 200)} |`,
    );
  L.push('', ...countsLine(v.counts, v.suites, v.leftOutUnits).map((l) => `- ${l}`), '');
  L.push(`Plan: \`${v.planFile}\`; rerun with \`--plan ${v.planFile} --seed ${v.seed}\` for the same counts and numbers.`, '');
  return `${L.join('\n')}\n`;
}

const x = (s: string | number) =>
  String(s)
    .replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!)
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');

interface JunitCase {
  readonly classname: string;
  readonly name: string;
  readonly time: number;
  readonly failure?: { readonly type: string; readonly message: string };
  readonly skipped?: string;
  readonly out?: string;
}

function junitSuite(name: string, cases: readonly JunitCase[], timestamp: string): JunitSuite {
  const failures = cases.filter((c) => c.failure).length;
  const skipped = cases.filter((c) => c.skipped).length;
  const body = cases
    .map(
      (c) =>
        `    <testcase classname="${x(c.classname)}" name="${x(c.name)}" time="${c.time.toFixed(3)}">` +
        (c.failure
          ? `\n      <failure type="${x(c.failure.type)}" message="${x(c.failure.message.split('\n')[0].slice(0, 300))}">${x(c.failure.message)}</failure>`
          : '') +
        (c.skipped ? `\n      <skipped message="${x(c.skipped)}"/>` : '') +
        (c.out ? `\n      <system-out>${x(c.out)}</system-out>` : '') +
        `${c.failure || c.skipped || c.out ? '\n    ' : ''}</testcase>`,
    )
    .join('\n');
  return {
    xml: `  <testsuite name="${x(name)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="${skipped}" timestamp="${x(timestamp)}" time="${cases.reduce((a, c) => a + c.time, 0).toFixed(3)}">\n${body}\n  </testsuite>`,
    tests: cases.length,
    failures,
  };
}

function propertySuiteCases(f: SuitesSummary['files'][number]): JunitCase[] {
  const cls = `adzone.properties.${f.file.replace(/^properties\//, '').replace(/\.test\.ts$/, '')}`;
  const cases: JunitCase[] = f.cases.map((c) => ({
    classname: cls,
    name: c.name,
    time: c.seconds,
    ...(c.status === 'failed' ? { failure: { type: 'property', message: c.message ?? 'failed' } } : {}),
    ...(c.status !== 'failed' && c.status !== 'passed' ? { skipped: c.status } : {}),
  }));
  if (f.status === 'timed-out' || f.status === 'crashed')
    cases.push({ classname: cls, name: '(file)', time: f.seconds, failure: { type: f.status, message: f.note ?? f.status } });
  if (f.status === 'skipped') cases.push({ classname: cls, name: '(file)', time: 0, skipped: f.note ?? 'not run' });
  return cases;
}

function gateCase(g: GateVerdict): JunitCase {
  const out = [
    ...g.skipped.map((s) => `PARTIAL: ${s.stage} not compared (${s.reason}); ${s.notCompared} baseline item(s) left out`),
    ...g.notes,
    ...(g.verdict === 'regression' ? ['reported only: the nightly exits 0 on gate regressions'] : []),
  ];
  return {
    classname: 'adzone.nightly.gate',
    name: 'baseline thresholds',
    time: 0,
    ...(g.verdict === 'regression' ? { failure: { type: 'regression', message: g.regressions.join('\n') } } : {}),
    ...(g.verdict === 'unusable' || g.verdict === 'not-run' ? { skipped: `${g.verdict}${g.message ? `: ${g.message}` : ''}` } : {}),
    out: out.join('\n'),
  };
}

/** Extra JUnit suites: one testcase per property test, one for the gate, one per stage. */
export function nightlyJunitSuites(v: NightlyView, timestamp: string): JunitSuite[] {
  const out: JunitSuite[] = [];
  for (const f of v.suites?.files ?? [])
    out.push(
      junitSuite(
        `adzone nightly property suite ${f.file} (×${f.readsMultiplier ? v.suites!.multiplier : 1}, seed ${v.suites!.seed})`,
        propertySuiteCases(f),
        timestamp,
      ),
    );
  out.push(junitSuite(`adzone nightly gate (${v.gate.baseline || 'no baseline'})`, [gateCase(v.gate)], timestamp));
  const stages = v.stages.map((s) => ({
    classname: 'adzone.nightly.stage',
    name: s.stage,
    time: s.seconds,
    ...(s.status === 'crashed' ? { failure: { type: 'crashed', message: s.error ?? 'crashed' } } : {}),
    ...(s.status === 'skipped' ? { skipped: s.note ?? 'skipped' } : {}),
    ...(s.status === 'truncated' ? { out: `truncated: ${s.note ?? 'the budget ran out'}` } : {}),
  }));
  out.push(junitSuite('adzone nightly stages', stages, timestamp));
  return out;
}

/** report.html, summary.md and junit.xml of every result file under `out` (src/report's stage), led by the gate run, with the nightly's part; written together. */
export async function writeReports(out: string, v: NightlyView, gate: GateRun): Promise<{ html: string; markdown: string; junit: string }> {
  const html = join(out, 'report.html');
  const markdown = join(out, 'summary.md');
  const junit = join(out, 'junit.xml');
  const r = await report({
    inputs: [out],
    title: `adzone nightly — seed ${v.seed}`,
    htmlPath: html,
    gateRun: gate,
    part: {
      html: { id: 'nightly', title: 'Nightly', html: nightlyHtml(v) },
      markdown: nightlyMarkdown(v),
      junitSuites: nightlyJunitSuites(v, new Date().toISOString()),
      junitName: 'adzone nightly',
    },
  });
  writeFilesAtomic([
    { path: html, data: r.html },
    { path: markdown, data: r.markdown },
    { path: junit, data: r.junit },
  ]);
  return { html, markdown, junit };
}
