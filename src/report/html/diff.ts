/**
 * A report beside a baseline (`adzone report --baseline DIR`): the gate's verdict and its lines,
 * then the verify rows whose counts differ, each share baseline → report with its 95% interval,
 * and the rows and tie rules only one side has.
 */
import { shown } from '../../schema/discover.ts';
import type { VerifyJson } from '../../schema/index.ts';
import type { Side } from '../../gate/index.ts';
import { shareCell, wilson } from '../stats.ts';
import type { GateState } from '../verdict.ts';
import { compactCounts, countOf } from './format.ts';
import { esc } from './svg.ts';

type Row = VerifyJson['table'][number];
const key = (r: Row) => `${r.generator}|${r.backend}|${r.precision}`;

/** Bifurcation + compensation over the finite draws, with its interval. */
function nonRegular(r: Row) {
  const finite = r.n - countOf(r, 'nonfinite');
  return wilson(finite - countOf(r, 'regular') - countOf(r, 'defect'), finite);
}

function rowDiffs(b: VerifyJson, r: VerifyJson): string {
  const baseRows = new Map(b.table.map((x) => [key(x), x]));
  const repRows = new Map(r.table.map((x) => [key(x), x]));
  const lines: string[] = [];
  for (const [k, rr] of repRows) {
    const br = baseRows.get(k);
    if (br && compactCounts(br) === compactCounts(rr) && br.n === rr.n && br.inconsistent === rr.inconsistent) continue;
    const was = br ? nonRegular(br) : undefined;
    const now = nonRegular(rr);
    lines.push(
      `<tr><td>${esc(rr.generator)}</td><td>${esc(rr.backend)}</td><td>${esc(rr.precision)}</td><td>${br ? `${esc(compactCounts(br))} of ${br.n}` : 'no row'}</td><td>${esc(compactCounts(rr))} of ${rr.n}</td>` +
        `<td class="num">${was ? esc(shareCell(was)) : '—'}</td><td class="num">${esc(shareCell(now))}</td><td class="num">${was ? `${now.p >= was.p ? '+' : '−'}${Math.abs(100 * (now.p - was.p)).toFixed(1)} pp` : 'new'}</td></tr>`,
    );
  }
  for (const [k, br] of baseRows)
    if (!repRows.has(k))
      lines.push(
        `<tr class="failing"><td>${esc(br.generator)}</td><td>${esc(br.backend)}</td><td>${esc(br.precision)}</td><td>${esc(compactCounts(br))} of ${br.n}</td><td>missing</td><td class="num">${esc(shareCell(nonRegular(br)))}</td><td>—</td><td>—</td></tr>`,
      );
  if (!lines.length) return `<p>Every one of the ${r.table.length} rows has the baseline's counts.</p>`;
  return (
    '<table class="small"><thead><tr><th>generator</th><th>backend</th><th>bits</th><th>baseline</th><th>report</th><th>non-regular, baseline [95% CI]</th><th>non-regular, report [95% CI]</th><th>change</th></tr></thead>' +
    `<tbody>${lines.join('')}</tbody></table>`
  );
}

function tieRuleDiffs(b: VerifyJson, r: VerifyJson): string {
  const out: string[] = [];
  for (const bt of b.tieRules) {
    const rt = r.tieRules.find((x) => x.backend === bt.backend);
    if (!rt || rt.rule !== bt.rule)
      out.push(`<li class="bad">tie rule of ${esc(bt.backend)}: '${esc(bt.rule)}' → ${rt ? `'${esc(rt.rule)}'` : 'not measured'}</li>`);
  }
  return out.length ? `<ul class="checks">${out.join('')}</ul>` : '';
}

export function baselineSection(g: GateState, sides: { base?: Side; rep?: Side }, id = 'baseline'): string {
  if (g.state === 'not-run' || g.state === 'elsewhere') return '';
  if (g.state === 'unusable')
    return `<section id="${id}"><h2>Against the baseline <span class="src">${esc(g.baseline)}</span></h2><p class="warn">The gate could not run: ${esc(g.message)}</p></section>`;
  const r = g.result;
  const head = `<section id="${id}"><h2>Against the baseline <span class="src">${esc(shown(r.baseline))}</span></h2>`;
  const verdict =
    r.verdict === 'regression'
      ? `<p><b class="bad">${r.regressions.length} regression${r.regressions.length > 1 ? 's' : ''}</b> under ${esc(shown(r.thresholds))}:</p><ul class="checks">${r.regressions.map((x) => `<li class="bad">${esc(x.line)}</li>`).join('')}</ul>`
      : `<p><b class="ok-text">${r.verdict === 'pass' ? 'pass' : 'partial pass'}</b>: every threshold of ${esc(shown(r.thresholds))} holds${r.skipped.length ? `; not compared: ${r.skipped.map((s) => `${esc(s.stage)} (${esc(s.reason)}; ${s.notCompared} baseline item(s))`).join(', ')}` : ''}.</p>`;
  const notes = r.notes.length
    ? `<details><summary>What was compared</summary><p class="note">${r.notes.map(esc).join('<br>')}</p></details>`
    : '';
  const bv = sides.base?.verify?.data;
  const rv = sides.rep?.verify?.data;
  const rows = bv && rv ? `<h3>verify rows that differ</h3>${rowDiffs(bv, rv)}${tieRuleDiffs(bv, rv)}` : '';
  return [head, verdict, notes, rows, '</section>'].join('\n');
}
