/**
 * The verify.json sections of the HTML report: zone shares per generator (one grouped bar chart per
 * generator, backends × precisions on the x axis, one bar per zone class, each with its Wilson 95%
 * interval, on the one fixed scale of "share of draws"), an overview table, the self-checks, the
 * framework tie rules and defects, and the minimal counterexamples with exact and rounded values.
 */
import type { ReadResult, VerifyJson } from '../../schema/index.ts';
import { replayLine } from '../findings.ts';
import { pctOf, shareCell, wilson } from '../stats.ts';
import { textOn, ZONE_COLOUR, ZONE_LABEL, zoneSeries } from './colours.ts';
import { CLASS_ORDER, columns, compactCounts, countOf, generatorsOf, rowOf, shortDecimal } from './format.ts';
import { barChart, esc, fmtPct, SHARE_SCALES } from './svg.ts';

type Row = VerifyJson['table'][number];
type Column = ReturnType<typeof columns>[number];

const share = (r: Row, c: string) => (r.n > 0 ? countOf(r, c) / r.n : 0);

/** Cell colour for the overview: the dominant non-regular class, stronger with its share; the text black or white, whichever reads. */
function cellStyle(r: Row): string {
  let best: string | undefined;
  let bestShare = 0;
  for (const c of CLASS_ORDER) {
    const s = share(r, c);
    if (s > bestShare) {
      best = c;
      bestShare = s;
    }
  }
  if (!best) return '';
  const alpha = Math.round((0.15 + 0.55 * Math.sqrt(bestShare)) * 255)
    .toString(16)
    .padStart(2, '0');
  const bg = `${ZONE_COLOUR[best as keyof typeof ZONE_COLOUR]}${alpha}`;
  return ` style="background:${bg};color:${textOn(bg)}"`;
}

function metaLine(v: VerifyJson): string {
  return (
    `<p class="meta"><code class="cmd">${esc(v.command)}</code> · ${esc(v.createdAt)}, ${v.seconds.toFixed(0)} s. Seed ${v.seed}, ${v.samples} draws per generator; ` +
    `family {${esc(v.jacobians.join(', '))}} × ReLU'(0) ∈ {${v.reluAlphas.join(', ')}}, accumulation ${esc(v.accumulate)}, β mode ${esc(v.betaMode)}. ` +
    `Backends: ${v.backends.map((b) => esc(b.id)).join(', ')}${v.unavailable.length ? `; skipped: ${v.unavailable.map((u) => `${esc(u.id)} (${esc(u.unavailable)})`).join(', ')}` : ''}.</p>`
  );
}

function overviewTable(v: VerifyJson, cols: readonly Column[], lone: readonly string[]): string {
  const rows = generatorsOf(v).map(
    (g) =>
      `<tr><th title="${esc(g.description)}">${esc(g.id)}${lone.includes(g.id) ? ' <span class="tag">lone</span>' : ''}</th>${cols
        .map((c) => {
          const r = rowOf(v, g.id, c.backend, c.precision);
          if (!r) return '<td class="na">—</td>';
          const finite = r.n - countOf(r, 'nonfinite');
          const ci = wilson(finite - countOf(r, 'regular') - countOf(r, 'defect'), finite);
          return `<td${cellStyle(r)} title="${esc(`${r.n} draws; non-regular ${shareCell(ci)} of finite draws`)}">${esc(compactCounts(r))}</td>`;
        })
        .join('')}</tr>`,
  );
  return (
    '<h3>Overview</h3><p class="note">B bifurcation, C compensation (flips in brackets), D defect, NF nonfinite; the rest regular. Cell colour: the most frequent non-regular class, stronger with its share; hover a cell for the non-regular share with its 95% interval.</p>' +
    `<table class="overview"><thead><tr><th>generator</th>${cols.map((c) => `<th>${esc(c.backend)}<br>${esc(c.precision)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`
  );
}

function zoneCharts(v: VerifyJson, cols: readonly Column[], id: string): string {
  const classes = CLASS_ORDER.filter((c) => v.table.some((r) => countOf(r, c) > 0));
  const sc = SHARE_SCALES.draws;
  const charts = generatorsOf(v).map(
    (g) =>
      `<figure>${barChart({
        id: `${id}-zones-${g.id}`,
        title: g.id,
        series: zoneSeries(classes),
        groups: cols.map((c) => {
          const r = rowOf(v, g.id, c.backend, c.precision);
          return {
            label: c.label,
            values: classes.map((k) => {
              if (!r) return { series: k, value: null };
              const ci = wilson(countOf(r, k), r.n);
              return {
                series: k,
                value: ci.p,
                lo: ci.lo,
                hi: ci.hi,
                title: `${g.id} · ${c.label} · ${k}: ${countOf(r, k)} of ${r.n} (${shareCell(ci)})`,
              };
            }),
          };
        }),
        y: { label: 'share of draws', ...sc, format: fmtPct },
        xLabel: 'backend, precision (bits)',
        emptyText: 'every draw regular on every backend',
      })}<figcaption>${esc(g.description)}</figcaption></figure>`,
  );
  return (
    `<h3>Zone shares per precision and backend</h3><p class="note">Share of each generator's draws in each class (count / draws) with its Wilson 95% interval, on one log scale from ${pctOf(sc.min)} to 100% for every chart of this kind (a missing bar is 0); hover a bar for its count.</p>` +
    `<div class="grid">${charts.join('')}</div>`
  );
}

function selfChecks(v: VerifyJson, lone: readonly string[]): string {
  const inconsistent = v.table.reduce((a, r) => a + r.inconsistent, 0);
  const underflow = v.table.reduce((a, r) => a + (r.underflow ?? 0), 0);
  const lone64 = v.table.filter(
    (r) => r.precision === '64' && lone.includes(r.generator) && countOf(r, 'compensation:tie') + countOf(r, 'compensation:flip') > 0,
  );
  return (
    '<h3>Self-checks</h3><ul class="checks">' +
    `<li class="${inconsistent ? 'bad' : 'ok'}">Inconsistent value checks (a regular point outside its rigorous rounding bound): <b>${inconsistent}</b></li>` +
    `<li class="${lone64.length ? 'bad' : 'ok'}">Compensation at 64 bits on lone-MaxPool generators (impossible: their input is exact there): <b>${lone64.length ? lone64.map((r) => `${esc(r.generator)} ${esc(r.backend)}`).join(', ') : 'none'}</b></li>` +
    `<li>Results whose precision-p computation underflowed (the bound's standard model does not apply): ${underflow}</li></ul>`
  );
}

function realTies(v: VerifyJson): string {
  if (!v.realTies.length) return '';
  const rows = v.realTies.map(
    (t) =>
      `<tr><td>${esc(t.generator)}</td><td>${t.draws}</td><td>${t.tiedWindows}</td><td>${t.harmful}</td><td>${t.allZero}</td><td>${t.otherHarmless}</td><td>${t.reluZeros}</td></tr>`,
  );
  return (
    '<details><summary>Real ties per generator (over the reals)</summary><table class="small"><thead><tr><th>generator</th><th>draws</th><th>tied windows</th><th>harmful</th><th>all-zero after ReLU</th><th>other harmless</th><th>ReLU inputs = 0</th></tr></thead>' +
    `<tbody>${rows.join('')}</tbody></table></details>`
  );
}

export function verifySection(res: ReadResult<'verify'>, id: string, fileLabel: string, lone: readonly string[]): string {
  const v = res.data;
  const cols = columns(v);
  return [
    `<section id="${id}"><h2>Zones per generator <span class="src">${esc(fileLabel)}</span></h2>`,
    metaLine(v),
    zoneCharts(v, cols, id),
    overviewTable(v, cols, lone),
    selfChecks(v, lone),
    realTies(v),
    '</section>',
  ].join('\n');
}

function tieRuleTable(v: VerifyJson): string {
  const rows = v.tieRules.map((t) => {
    const [ev, defect] = t.evidence.split(/;\s*DEFECT:\s*/);
    return `<tr><td>${esc(t.backend)}</td><td><b class="rule">${esc(t.rule)}</b></td><td>${esc(ev)}${defect ? `<div class="defect"><b>Defect:</b> ${esc(defect)}</div>` : ''}</td></tr>`;
  });
  return `<table class="small"><thead><tr><th>backend</th><th>tie rule</th><th>evidence</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function defectChart(v: VerifyJson, id: string): string {
  const withDefects = [...new Set(v.table.filter((r) => countOf(r, 'defect') > 0).map((r) => `${r.backend}|${r.precision}`))];
  if (!withDefects.length) return '';
  const gens = generatorsOf(v).filter((g) => v.table.some((r) => r.generator === g.id && countOf(r, 'defect') > 0));
  const series = withDefects.map((k, i) => {
    const [b, p] = k.split('|');
    return { key: k, label: `${b} ${p}`, colour: i === 0 ? ZONE_COLOUR.defect : ['#555555', '#888888', '#0072B2'][(i - 1) % 3] };
  });
  const groups = gens.map((g) => ({
    label: g.id,
    values: series.map((s) => {
      const [b, p] = s.key.split('|');
      const r = rowOf(v, g.id, b, p);
      if (!r) return { series: s.key, value: null };
      const ci = wilson(countOf(r, 'defect'), r.n);
      return {
        series: s.key,
        value: ci.p,
        lo: ci.lo,
        hi: ci.hi,
        title: `${g.id} · ${s.label}: ${countOf(r, 'defect')} of ${r.n} defects (${shareCell(ci)})`,
      };
    }),
  }));
  return `<figure>${barChart({
    id: `${id}-defects`,
    title: 'Defects per generator',
    series,
    groups,
    y: { label: 'share of draws', ...SHARE_SCALES.draws, format: fmtPct },
    xLabel: 'generator',
    width: Math.max(420, 96 * gens.length),
  })}<figcaption>Share of draws whose framework gradient is a defect, per generator, with its 95% interval.</figcaption></figure>`;
}

/** tfjs tie rules (measured) and defects: the rule table, the defect evidence and a chart of defect shares. */
export function tieRuleSection(res: ReadResult<'verify'>, id: string, fileLabel: string): string {
  const v = res.data;
  const head = `<section id="${id}"><h2>Framework tie rules and defects <span class="src">${esc(fileLabel)}</span></h2>`;
  if (!v.tieRules.length) return `${head}\n<p>No framework backend ran, so no tie rule was measured.</p></section>`;
  return [
    head,
    '<p class="note">Each fixed-Jacobian backend\'s MaxPool rule at exact ties is measured before the run (lone-MaxPool cases with known tie sets). ' +
      "A <b>defect</b> is a framework gradient that is the exact AD of no admissible Jacobian along the routing of the framework's own forward values.</p>",
    tieRuleTable(v),
    defectChart(v, id),
    '</section>',
  ].join('\n');
}

type Cx = VerifyJson['counterexamples'][number];

function unitTable(f: Cx['classification']['findings'][number]): string {
  const ex = new Set(f.exact);
  const ro = new Set(f.rounded ?? []);
  const rows = f.entries
    .map(
      (e) =>
        `<tr><td>${e.index}${f.kind === 'maxpool' ? `${ex.has(e.index) ? ' ✱' : ''}${ro.has(e.index) ? ' ◆' : ''}` : ''}</td><td class="num" title="${esc(e.exact)}">${esc(shortDecimal(e.exact))}</td><td class="num">${e.rounded === null ? '—' : esc(String(e.rounded))}</td></tr>`,
    )
    .join('');
  return (
    `<p class="unit">layer ${f.layer} ${f.kind} ${f.kind === 'maxpool' ? 'window' : 'unit'} ${f.unit}: ${esc(f.what)}; exact ${f.kind === 'maxpool' ? 'tie set' : 'sign'} [${f.exact.join(', ')}]` +
    `${f.rounded ? `, in p [${f.rounded.join(', ')}]` : ''}${f.matters ? '' : ' (alone harmless)'}</p>` +
    `<table class="cx"><thead><tr><th>index</th><th>exact value</th><th>value in p</th></tr></thead><tbody>${rows}</tbody></table>`
  );
}

function card(c: Cx): string {
  const cl = c.classification;
  const p = c.case.problem;
  const colour = ZONE_COLOUR[(c.class in ZONE_COLOUR ? c.class : 'regular') as keyof typeof ZONE_COLOUR];
  const label = ZONE_LABEL[(c.class in ZONE_LABEL ? c.class : 'regular') as keyof typeof ZONE_LABEL];
  return (
    `<div class="card" style="border-left-color:${colour}"><h4>${esc(c.backend)} @ ${esc(c.precision)} bits · <i class="sw" style="background:${colour}"></i>${esc(label)}</h4>` +
    `<p class="meta">input ${p.input.shape.join('×')}, ${esc(p.layers.map((l) => l.kind).join(' → '))}; shrunk in ${c.numShrinks} steps${cl.findings.length > 2 ? `; ${cl.findings.length - 2} more units in verify.json` : ''}</p>` +
    cl.findings.slice(0, 2).map(unitTable).join('') +
    (cl.reason ? `<p class="meta">reason: ${esc(cl.reason)}</p>` : '') +
    (cl.matchedRules ? `<p class="meta">matches the exact AD of: ${esc(cl.matchedRules.join(', ') || 'no family member')}</p>` : '') +
    `<p class="replay"><code class="cmd">${esc(replayLine(c))}</code></p></div>`
  );
}

/** Minimal counterexamples: per generator, a small table of each explained unit's exact and rounded values. */
export function counterexampleSection(res: ReadResult<'verify'>, id: string, fileLabel: string): string {
  const v = res.data;
  const head = `<section id="${id}"><h2>Minimal counterexamples <span class="src">${esc(fileLabel)}</span></h2>`;
  if (!v.counterexamples.length) return `${head}\n<p>None: every draw was regular, or the run skipped shrinking.</p></section>`;
  const byGen = new Map<string, Cx[]>();
  for (const c of v.counterexamples) byGen.set(c.generator, [...(byGen.get(c.generator) ?? []), c]);
  const groups = [...byGen].map(
    ([gen, cs], i) =>
      `<details${i === 0 ? ' open' : ''}><summary><b>${esc(gen)}</b>: ${cs.length} case${cs.length > 1 ? 's' : ''}: ${cs.map((c) => `${esc(c.backend)} ${esc(c.precision)} ${esc(c.class)}`).join(', ')}</summary><div class="cards">${cs.map(card).join('')}</div></details>`,
  );
  return [
    head,
    `<p class="note">${v.counterexamples.length} shrunk cases, one per (generator, backend, precision, class). Each table lists a unit that explains the class: its entries' exact values (every digit is in verify.json) and their values in precision p; ✱ marks the exact tie set, ◆ the tie set in p.</p>`,
    ...groups,
    '</section>',
  ].join('\n');
}
