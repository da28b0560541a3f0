/**
 * The top of the HTML report: the verdict paragraph and a small table of what is wrong (backend,
 * precision, zone or outcome, count with its 95% interval, where, one replay line), before any plot.
 */
import { CLASS_WORDS, type Finding, headlineFindings } from '../findings.ts';
import { shareCell } from '../stats.ts';
import type { Verdict } from '../verdict.ts';
import { ZONE_COLOUR } from './colours.ts';
import { esc } from './svg.ts';

const CLASS_COLOUR: Record<Finding['cls'], string> = {
  defect: ZONE_COLOUR.defect,
  inconsistent: '#b3261e',
  compensation: ZONE_COLOUR['compensation:tie'],
  bifurcation: ZONE_COLOUR.bifurcation,
  nonfinite: ZONE_COLOUR.nonfinite,
};

function findingRow(f: Finding): string {
  const top = f.generators[0];
  const where = `${esc(top.id)} ${top.count}/${top.n}${f.generators.length > 1 ? ` + ${f.generators.length - 1} more` : ''}`;
  return (
    `<tr${f.failing ? ' class="failing"' : ''}><td>${esc(f.backend)}</td><td>${esc(f.precision)}</td>` +
    `<td><i class="sw" style="background:${CLASS_COLOUR[f.cls]}"></i><span title="${esc(CLASS_WORDS[f.cls])}">${esc(f.cls)}</span>${f.failing ? ' <b>(fails)</b>' : ''}</td>` +
    `<td class="num">${f.share.k} of ${f.share.n}</td><td class="num">${esc(shareCell(f.share))}</td><td title="${esc(f.generators.map((g) => `${g.id} ${g.count}/${g.n}`).join(', '))}">${where}</td>` +
    `<td class="replay">${f.replay ? `<code class="cmd">${esc(f.replay)}</code>` : '<span class="muted">no counterexample kept</span>'}</td></tr>`
  );
}

function findingsTable(findings: readonly Finding[]): string {
  if (!findings.length) return '<p>Every draw is regular on every backend and precision.</p>';
  const shown = headlineFindings(findings);
  const rest = findings.length - shown.length;
  return (
    '<table class="findings"><thead><tr><th>backend</th><th>bits</th><th>zone or outcome</th><th>draws</th><th>share [95% CI]</th><th>where (generator draws/n)</th><th>replay the smallest case</th></tr></thead>' +
    `<tbody>${shown.map(findingRow).join('')}</tbody></table>` +
    (rest > 0 ? `<p class="note">${rest} more (backend, precision, class) with draws: see the overview and the charts below.</p>` : '')
  );
}

export function verdictSection(v: Verdict): string {
  const lead = v.sentences.map((s) => esc(s)).join(' ');
  const tables = v.verify.map((vv) => findingsTable(vv.findings)).join('');
  return (
    `<section id="verdict" class="${v.failing ? 'failing' : 'ok'}"><h2>Verdict</h2><p class="lead">${lead}</p>${tables}` +
    '<p class="note"><b>bifurcation</b>: over the reals a tie is hit and the Jacobian choice changes the gradient · <b>compensation</b>: right over the reals, wrong in precision p because rounding made a tie or flipped an argmax · <b>defect</b>: a framework result no admissible Jacobian explains · <b>regular</b>: equal to the exact gradient up to rounding. Shares carry Wilson 95% intervals.</p></section>'
  );
}
