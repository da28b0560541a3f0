/**
 * `adzone report --markdown FILE.md`: a short summary for a pull-request comment. It opens with the
 * gate's verdict and the report's headline (the verdict paragraph and the table of what is wrong,
 * with 95% intervals and replay lines), then the zone table in README notation, the tie rules,
 * network zones, accuracy at each β and the bench targets. Every quoted text is escaped
 * (markdown.ts); no local path appears (the HTML report is named by its file name, as a CI
 * artifact; paths in the gate's lines are cut to their file name). Kept under GitHub's 65,536-character comment limit.
 */
import { basename } from 'node:path';
import { ofKind, type Discovered } from '../schema/discover.ts';
import type { VerifyJson } from '../schema/index.ts';
import { accuracyByBeta, modelLabel, trainRuns } from '../schema/runs.ts';
import { type Finding, headlineFindings } from './findings.ts';
import { columns, compactCounts, generatorsOf, rowOf } from './html/format.ts';
import { loneByFile } from './html/index.ts';
import { mdCode, mdRow, mdText, withoutLocalPaths } from './markdown.ts';
import { shareCell, wilson } from './stats.ts';
import { type GateState, type Verdict, type VerifyVerdict, verdictOf } from './verdict.ts';

export interface SummaryOptions {
  readonly title?: string;
  /** The HTML report: only its file name is written (a local path means nothing in a pull request). */
  readonly htmlPath?: string;
  /** The verdict to lead with; computed from the files when not given (no --fail-on; the gate left to the caller). */
  readonly verdict?: Verdict;
  /** A caller's own part (the nightly's stages and plan), in Markdown, right after the verdict. */
  readonly part?: string;
}

function gateLine(g: GateState): string | undefined {
  if (g.state === 'elsewhere') return undefined;
  if (g.state === 'not-run') return '**Gate**: not run (no baseline given).';
  if (g.state === 'unusable') return `**Gate**: could not run: ${mdText(withoutLocalPaths(g.message))}`;
  const r = g.result;
  if (r.verdict === 'regression') return `**Gate**: ❌ ${r.regressions.length} regression${r.regressions.length > 1 ? 's' : ''}`;
  if (r.verdict === 'partial')
    return `**Gate**: ✅ partial pass (not compared: ${mdText(withoutLocalPaths(r.skipped.map((s) => `${s.stage}, ${s.reason}`).join('; ')))})`;
  return '**Gate**: ✅ pass, every threshold holds';
}

function findingsTable(fs: readonly Finding[]): string[] {
  if (!fs.length) return ['Every draw is regular on every backend and precision.', ''];
  const shown = headlineFindings(fs);
  const rows = shown.map((f) =>
    mdRow([
      mdText(f.backend),
      mdText(f.precision),
      `${mdText(f.cls)}${f.failing ? ' **(fails)**' : ''}`,
      `${f.share.k} of ${f.share.n}`,
      mdText(shareCell(f.share)),
      mdText(
        f.generators
          .slice(0, 3)
          .map((g) => `${g.id} ${g.count}/${g.n}`)
          .join(', '),
      ),
      f.replay ? mdCode(f.replay, true) : '—',
    ]),
  );
  const more = fs.length > shown.length ? [`${fs.length - shown.length} more (backend, precision, class) in the HTML report.`, ''] : [];
  return [
    '| backend | bits | zone or outcome | draws | share [95% CI] | where | replay |',
    '| --- | --- | --- | ---: | ---: | --- | --- |',
    ...rows,
    '',
    ...more,
  ];
}

function headline(v: Verdict): string[] {
  const gate = gateLine(v.gate);
  const L = gate ? [gate, ''] : [];
  if (v.gate.state === 'done') for (const r of v.gate.result.regressions.slice(0, 20)) L.push(`- ${mdText(withoutLocalPaths(r.line))}`);
  if (v.gate.state === 'done' && v.gate.result.regressions.length) L.push('');
  L.push(v.sentences.map((s) => mdText(withoutLocalPaths(s))).join(' '), '');
  for (const vv of v.verify) L.push(...findingsTable(vv.findings));
  return L;
}

/** The checks that must hold, and the tie rules, as a two-column table. */
function checksTable(j: VerifyJson, vv: VerifyVerdict | undefined): string[] {
  const inconsistent = j.table.filter((r) => r.inconsistent > 0);
  const lone64 = vv?.lone64 ?? [];
  const L = ['| check | result |', '| --- | --- |'];
  L.push(
    mdRow([
      'inconsistent value checks (must be 0)',
      inconsistent.length
        ? `**${inconsistent.reduce((a, r) => a + r.inconsistent, 0)}** in ${mdText(inconsistent.map((r) => `${r.generator} ${r.backend} ${r.precision}`).join(', '))}`
        : '0 ✓',
    ]),
    mdRow([
      'compensation at 64 bits on lone-MaxPool generators (must be none)',
      lone64.length ? `**${mdText(lone64.map((r) => `${r.generator} ${r.backend}`).join(', '))}**` : 'none ✓',
    ]),
  );
  for (const t of j.tieRules)
    L.push(
      mdRow([
        `tie rule of ${mdText(t.backend)}`,
        `**${mdText(t.rule)}**${/DEFECT/.test(t.evidence) ? ' (defect measured, see report)' : ''}`,
      ]),
    );
  if (j.unavailable.length) L.push(mdRow(['skipped backends', mdText(j.unavailable.map((u) => `${u.id}: ${u.unavailable}`).join('; '))]));
  return [...L, ''];
}

function verifyPart(d: Discovered, verdict: Verdict): string[] {
  const L: string[] = [];
  for (const v of ofKind(d, 'verify')) {
    const j = v.data;
    const cols = columns(j);
    L.push(`### Zones per generator (${mdText(basename(v.file))})`, '');
    L.push(
      // not the command line: it holds the paths of the machine that ran it
      `${mdText(j.createdAt)} · ${j.samples} draws per generator, seed ${j.seed}, family {${mdText(j.jacobians.join(', '))}}, ${mdText(j.accumulate)} accumulation`,
      '',
    );
    L.push(
      ...checksTable(
        j,
        verdict.verify.find((x) => x.file === v.file),
      ),
    );
    L.push('B bifurcation, C compensation (flips in brackets), D defect, NF nonfinite; the rest regular.', '');
    L.push(mdRow(['generator', ...cols.map((c) => mdText(c.label))]), `| --- |${' --- |'.repeat(cols.length)}`);
    for (const g of generatorsOf(j))
      L.push(
        mdRow([
          mdText(g.id),
          ...cols.map((c) => {
            const r = rowOf(j, g.id, c.backend, c.precision);
            return r ? mdText(compactCounts(r)) : '—';
          }),
        ]),
      );
    L.push('', `${j.counterexamples.length} minimal counterexamples.`, '');
  }
  return L;
}

function zonesPart(d: Discovered): string[] {
  const L: string[] = [];
  for (const z of ofKind(d, 'zones')) {
    const c = z.data.config;
    L.push(`### Network zones: ${mdText(`${c.model} (${c.variant}) on ${c.dataset}, ${c.batches} batches of ${c.batchSize}`)}`, '');
    L.push(
      '| precision | estimator in zone [95% CI] | exact in zone [95% CI] | missed | invented |',
      '| --- | ---: | ---: | ---: | ---: |',
    );
    for (const p of z.data.precisions) {
      const s = p.summary;
      const exact = s.exactInZone === null ? '—' : `${s.exactInZone} (${mdText(shareCell(wilson(s.exactInZone, s.batches)))})`;
      L.push(
        mdRow([
          mdText(p.precision),
          `${s.estimatorInZone} (${mdText(shareCell(wilson(s.estimatorInZone, s.batches)))})`,
          exact,
          String(s.comparison?.missed ?? '—'),
          String(s.comparison?.invented ?? '—'),
        ]),
      );
    }
    L.push('');
  }
  return L;
}

function trainPart(d: Discovered): string[] {
  const runs = trainRuns(d.results);
  if (!runs.length) return [];
  const acc = accuracyByBeta(runs);
  const betas = [...new Set(acc.map((a) => a.beta))].sort((a, b) => a - b);
  // one row per configuration, or per (configuration, recipe) when one was trained several ways
  const cfgs = [...new Map(acc.map((a) => [a.group, a])).values()];
  const L = ['### Test accuracy against β (mean over seeds, min–max)', ''];
  L.push(
    `| model | data | configuration | ${betas.map((b) => `β=${b}`).join(' | ')} |`,
    `| --- | --- | --- |${' ---: |'.repeat(betas.length)}`,
  );
  for (const c of cfgs) {
    const cells = betas.map((b) => {
      const a = acc.find((x) => x.beta === b && x.group === c.group);
      return a ? `${(100 * a.mean).toFixed(2)}%${a.seeds > 1 ? ` (${(100 * a.min).toFixed(1)}–${(100 * a.max).toFixed(1)})` : ''}` : '—';
    });
    L.push(mdRow([mdText(modelLabel(c.config)), mdText(c.config.dataset), mdText(c.label), ...cells]));
  }
  return [...L, ''];
}

function benchPart(d: Discovered): string[] {
  return ofKind(d, 'bench').flatMap((b) => [
    `### Speed (${mdText(basename(b.file))})`,
    '',
    ...b.data.targets.flatMap((t) =>
      t.results.map(
        (r) =>
          `- ${mdText(`${t.id} ${r.row}: ${Number.isFinite(r.ratio) ? r.ratio.toFixed(2) : r.ratio} (≤ ${t.max}) ${r.verdict ?? ''}`)}`,
      ),
    ),
    '',
  ]);
}

export async function summaryMarkdown(d: Discovered, o: SummaryOptions = {}): Promise<string> {
  const verdict = o.verdict ?? verdictOf(d, { lone: await loneByFile(d), failOn: [], gate: { state: 'elsewhere' } });
  const L = [`## ${mdText(o.title ?? 'adzone report')}`, '', ...headline(verdict)];
  if (o.htmlPath)
    L.push(
      `The full report (plots, counterexamples with exact values) is the self-contained HTML file ${mdCode(basename(o.htmlPath))}.`,
      '',
    );
  if (o.part) L.push(o.part.trimEnd(), '');
  L.push(...verifyPart(d, verdict), ...zonesPart(d), ...trainPart(d), ...benchPart(d));
  if (!d.results.length) L.push('No result files found.', '');
  let s = `${L.join('\n')}\n`;
  if (s.length > 60_000) s = `${s.slice(0, 59_000)}\n\n… (truncated; see the HTML report)\n`;
  return s;
}
