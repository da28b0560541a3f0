/**
 * The nightly's outputs after the stages: the gate against the committed baseline (recorded, never
 * failing the run), then the standard report (src/report: HTML, Markdown summary, JUnit XML) of
 * every result file under the out dir, each with a "Nightly" part added: stage timings, the plan,
 * the property suites' results and the gate's verdict.
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { discover, shown } from '../schema/discover.ts';
import { SchemaError } from '../schema/index.ts';
import { compareSides, GateInputError, loadSide } from '../gate/compare.ts';
import { loneMaxPoolGenerators } from '../gate/lone.ts';
import { readThresholds } from '../gate/thresholds.ts';
import { renderHtml } from '../report/html/index.ts';
import { esc } from '../report/html/svg.ts';
import { summaryMarkdown } from '../report/summary.ts';
import { junitXml } from '../report/junit.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { fmtSeconds } from './budget.ts';
import { MNIST_TRAIN_IMAGES, type Counts } from './plan.ts';
import type { SuitesSummary } from './suites.ts';

export interface GateVerdict {
  readonly verdict: 'pass' | 'regression' | 'unusable' | 'not-run';
  readonly baseline: string;
  readonly regressions: readonly string[];
  readonly notes: readonly string[];
  readonly message?: string;
}

/** `adzone gate --baseline DIR OUT` as a library call: the verdict and its lines, never an exit. */
export async function runGate(baselineDir: string, reportDir: string): Promise<GateVerdict> {
  const baseline = resolve(baselineDir);
  const base = { baseline: shown(baseline), regressions: [] as string[], notes: [] as string[] };
  try {
    if (!existsSync(baseline) || !statSync(baseline).isDirectory())
      return { ...base, verdict: 'unusable', message: `baseline directory ${shown(baseline)} does not exist` };
    const t = readThresholds(join(baseline, 'thresholds.json'));
    const rep = loadSide(reportDir, 'report');
    if (!rep.verify && !rep.zones.length && !rep.runs.length)
      return { ...base, verdict: 'unusable', message: `no result files under ${shown(reportDir)}` };
    const b = loadSide(baseline, 'baseline');
    const lone =
      t.verify.loneMaxPoolGenerators ??
      (await loneMaxPoolGenerators([...(b.verify?.data.generators ?? []), ...(rep.verify?.data.generators ?? [])]));
    const outcome = compareSides(b, rep, t, lone);
    return {
      ...base,
      verdict: outcome.regressions.length ? 'regression' : 'pass',
      regressions: outcome.regressions.map((r) => r.line),
      notes: [...outcome.notes],
    };
  } catch (e) {
    if (e instanceof SchemaError || e instanceof GateInputError) return { ...base, verdict: 'unusable', message: e.message };
    throw e;
  }
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
}

export function countsLine(c: Counts, suites: SuitesSummary | null): string[] {
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
  if (c.zones)
    l.push(
      `zones: LeNet-5/MNIST ${c.zones.lenetBatches} batches of ${c.zones.batchSize}${c.zones.vggBatches ? `, VGG11 (width 1/4)/CIFAR-10 ${c.zones.vggBatches} batches` : ', no VGG11 (budget)'}`,
    );
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

export function nightlyHtml(v: NightlyView): string {
  const stageRows = v.stages
    .map(
      (s) =>
        `<tr><td>${esc(s.stage)}</td><td class="${s.status === 'done' ? 'ok' : s.status === 'skipped' ? '' : 'bad'}">${esc(s.status)}</td><td class="num">${esc(fmtSeconds(s.plannedSeconds))}</td><td class="num">${esc(fmtSeconds(s.seconds))}</td><td>${esc(s.error ?? s.note ?? '')}</td></tr>`,
    )
    .join('');
  const g = v.gate;
  const gateHtml =
    g.verdict === 'pass'
      ? `<p class="rule">Gate against <code>${esc(g.baseline)}</code>: <b style="color:#00734f">pass</b> — every threshold holds.</p>`
      : g.verdict === 'regression'
        ? `<p class="rule">Gate against <code>${esc(g.baseline)}</code>: <b style="color:#b3261e">${g.regressions.length} regression${g.regressions.length > 1 ? 's' : ''}</b> (reported; the nightly does not fail on them).</p><ul class="checks">${g.regressions.map((r) => `<li class="bad">${esc(r)}</li>`).join('')}</ul>`
        : `<p class="rule">Gate against <code>${esc(g.baseline)}</code>: <b>${esc(g.verdict)}</b>${g.message ? ` — ${esc(g.message)}` : ''}</p>`;
  const gateNotes = g.notes.length ? `<p class="note">${g.notes.map(esc).join('<br>')}</p>` : '';
  let suites = '';
  if (v.suites) {
    const s = v.suites;
    const rows = s.files
      .map(
        (f) =>
          `<tr><td><code>${esc(f.file)}</code></td><td class="${f.status === 'passed' ? 'ok' : f.status === 'skipped' ? '' : 'bad'}">${esc(f.status)}</td><td class="num">${f.passed}/${f.tests}</td><td class="num">${f.failed}</td><td class="num">${esc(fmtSeconds(f.seconds))}</td><td>${f.readsMultiplier ? `×${s.multiplier}` : '×1 (own numRuns)'}</td><td>${esc(f.note ?? '')}</td></tr>`,
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
    suites =
      `<h3>Property suites (fast-check seed ${s.seed}, multiplier ×${s.multiplier})</h3>` +
      `<p>${s.totals.passed} of ${s.totals.tests} tests passed, ${s.totals.failed} failed, in ${s.totals.files} files.</p>` +
      `<table><thead><tr><th>file</th><th>status</th><th>passed</th><th>failed</th><th>time</th><th>runs</th><th>note</th></tr></thead><tbody>${rows}</tbody></table>${failures}`;
  }
  return `<section id="nightly"><h2>Nightly <span class="src">${esc(v.command)}</span></h2>
<p class="meta">seed ${v.seed} · budget ${esc(fmtSeconds(v.budgetSeconds))} · ran ${esc(fmtSeconds(v.elapsedSeconds))} · plan <code>${esc(v.planFile)}</code> (${v.planSource === 'calibrated' ? 'fitted to this machine by a calibration' : 'counts from a plan file'})</p>
<ul>${countsLine(v.counts, v.suites)
    .map((l) => `<li>${esc(l)}</li>`)
    .join('')}</ul>
${gateHtml}${gateNotes}
<h3>Stages</h3><table><thead><tr><th>stage</th><th>status</th><th>planned</th><th>took</th><th>note</th></tr></thead><tbody>${stageRows}</tbody></table>
${v.notes.length ? `<p class="note">${v.notes.map(esc).join('<br>')}</p>` : ''}
${suites}
<p class="note">Re-running with <code>--plan ${esc(v.planFile)} --seed ${v.seed}</code> repeats every count and so every number (timings aside); a new calibration may choose other counts.</p>
</section>
`;
}

export function nightlyMarkdown(v: NightlyView): string {
  const L: string[] = [];
  L.push(`## adzone nightly — seed ${v.seed}, budget ${fmtSeconds(v.budgetSeconds)}, ran ${fmtSeconds(v.elapsedSeconds)}`, '');
  const g = v.gate;
  L.push(
    `**Gate** against \`${g.baseline}\`: ${g.verdict === 'pass' ? 'pass ✓' : g.verdict === 'regression' ? `**${g.regressions.length} regression${g.regressions.length > 1 ? 's' : ''}** (reported, not failing the nightly)` : `${g.verdict}${g.message ? ` — ${g.message}` : ''}`}`,
    '',
  );
  for (const r of g.regressions.slice(0, 30)) L.push(`- ${r}`);
  if (g.regressions.length > 30) L.push(`- … ${g.regressions.length - 30} more (see nightly.json)`);
  if (g.regressions.length) L.push('');
  if (v.suites) {
    const s = v.suites;
    L.push(
      `**Property suites** (seed ${s.seed}, ×${s.multiplier}): ${s.totals.passed}/${s.totals.tests} passed, ${s.totals.failed} failed`,
      '',
    );
    const bad = s.files.filter((f) => f.status !== 'passed');
    for (const f of bad)
      L.push(
        `- \`${f.file}\`: ${f.status}${
          f.failures.length
            ? ` — ${f.failures
                .map((x) => x.name)
                .slice(0, 5)
                .join('; ')}`
            : ''
        }${f.note ? ` (${f.note})` : ''}`,
      );
    if (bad.length) L.push('');
  }
  L.push('| stage | status | planned | took | note |', '| --- | --- | ---: | ---: | --- |');
  for (const s of v.stages)
    L.push(
      `| ${s.stage} | ${s.status} | ${fmtSeconds(s.plannedSeconds)} | ${fmtSeconds(s.seconds)} | ${(s.error ?? s.note ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ').slice(0, 200)} |`,
    );
  L.push('', ...countsLine(v.counts, v.suites).map((l) => `- ${l}`), '');
  L.push(`Plan: \`${v.planFile}\`; rerun with \`--plan ${v.planFile} --seed ${v.seed}\` for the same counts and numbers.`, '');
  return `${L.join('\n')}\n`;
}

const x = (s: string | number) =>
  String(s)
    .replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!)
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');

/** Extra JUnit suites: one testcase per property test, one for the gate, one per stage. */
export function nightlyJunitSuites(v: NightlyView, timestamp: string): { xml: string; tests: number; failures: number }[] {
  const out: { xml: string; tests: number; failures: number }[] = [];
  const suite = (
    name: string,
    cases: { classname: string; name: string; time: number; failure?: { type: string; message: string }; skipped?: string; out?: string }[],
  ) => {
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
    out.push({
      xml: `  <testsuite name="${x(name)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="${skipped}" timestamp="${x(timestamp)}" time="${cases.reduce((a, c) => a + c.time, 0).toFixed(3)}">\n${body}\n  </testsuite>`,
      tests: cases.length,
      failures,
    });
  };
  if (v.suites) {
    for (const f of v.suites.files) {
      const cls = `adzone.properties.${f.file.replace(/^properties\//, '').replace(/\.test\.ts$/, '')}`;
      const cases = f.cases.map((c) => ({
        classname: cls,
        name: c.name,
        time: c.seconds,
        ...(c.status === 'failed' ? { failure: { type: 'property', message: c.message ?? 'failed' } } : {}),
        ...(c.status !== 'failed' && c.status !== 'passed' ? { skipped: c.status } : {}),
      }));
      if (f.status === 'timed-out' || f.status === 'crashed')
        cases.push({ classname: cls, name: '(file)', time: f.seconds, failure: { type: f.status, message: f.note ?? f.status } });
      if (f.status === 'skipped') cases.push({ classname: cls, name: '(file)', time: 0, skipped: f.note ?? 'not run' });
      suite(`adzone nightly property suite ${f.file} (×${f.readsMultiplier ? v.suites.multiplier : 1}, seed ${v.suites.seed})`, cases);
    }
  }
  const g = v.gate;
  suite(`adzone nightly gate (${g.baseline})`, [
    {
      classname: 'adzone.nightly.gate',
      name: 'baseline thresholds',
      time: 0,
      ...(g.verdict === 'regression' ? { failure: { type: 'regression', message: g.regressions.join('\n') } } : {}),
      ...(g.verdict === 'unusable' || g.verdict === 'not-run' ? { skipped: `${g.verdict}${g.message ? `: ${g.message}` : ''}` } : {}),
      out: [...g.notes, ...(g.verdict === 'regression' ? ['reported only: the nightly exits 0 on gate regressions'] : [])].join('\n'),
    },
  ]);
  suite(
    'adzone nightly stages',
    v.stages.map((s) => ({
      classname: 'adzone.nightly.stage',
      name: s.stage,
      time: s.seconds,
      ...(s.status === 'crashed' ? { failure: { type: 'crashed', message: s.error ?? 'crashed' } } : {}),
      ...(s.status === 'skipped' ? { skipped: s.note ?? 'skipped' } : {}),
      ...(s.status === 'truncated' ? { out: `truncated: ${s.note ?? 'the budget ran out'}` } : {}),
    })),
  );
  return out;
}

/** Insert the nightly's part into the standard report's HTML, Markdown and JUnit. */
export async function writeReports(out: string, v: NightlyView): Promise<{ html: string; markdown: string; junit: string }> {
  const d = discover([out]);
  const title = `adzone nightly — seed ${v.seed}`;
  const html = join(out, 'report.html');
  const markdown = join(out, 'summary.md');
  const junit = join(out, 'junit.xml');
  let page = await renderHtml(d, { title });
  page = page.replace('<nav>', '<nav><a href="#nightly">Nightly</a>').replace('<main>\n', `<main>\n${nightlyHtml(v)}`);
  writeFileAtomic(html, page);
  const md = await summaryMarkdown(d, { title, htmlPath: shown(html) });
  writeFileAtomic(markdown, `${nightlyMarkdown(v)}\n${md.replace(/^## .*\n/, '')}`);
  const base = await junitXml(d);
  const extra = nightlyJunitSuites(v, new Date().toISOString());
  const m = /<testsuites name="adzone" tests="(\d+)" failures="(\d+)"/.exec(base);
  const tests = Number(m?.[1] ?? 0) + extra.reduce((a, s) => a + s.tests, 0);
  const failures = Number(m?.[2] ?? 0) + extra.reduce((a, s) => a + s.failures, 0);
  const xml = base
    .replace(
      /<testsuites name="adzone" tests="\d+" failures="\d+"/,
      `<testsuites name="adzone nightly" tests="${tests}" failures="${failures}"`,
    )
    .replace('</testsuites>', `${extra.map((s) => s.xml).join('\n')}\n</testsuites>`);
  writeFileAtomic(junit, xml);
  return { html, markdown, junit };
}
