/**
 * The verify.json sections of the HTML report: zone shares per generator (one grouped bar chart per
 * generator, backends × precisions on the x axis, one bar per zone class), an overview table, the
 * tfjs tie rules and the wasm defect, and the minimal counterexamples with exact and rounded values.
 */
import type { ReadResult, VerifyJson } from '../../schema/index.ts';
import { ZONE_COLOUR, zoneSeries } from './colours.ts';
import { CLASS_ORDER, columns, compactCounts, countOf, generatorsOf, pct1, rowOf, shortDecimal } from './format.ts';
import { barChart, chooseScale, esc, fmtPct } from './svg.ts';

type Row = VerifyJson['table'][number];

const share = (r: Row, c: string) => (r.n > 0 ? countOf(r, c) / r.n : 0);

/** Cell colour for the overview: the dominant non-regular class, stronger with its share. */
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
  return ` style="background:${ZONE_COLOUR[best as keyof typeof ZONE_COLOUR]}${alpha}"`;
}

export function verifySection(res: ReadResult<'verify'>, id: string, fileLabel: string, lone: readonly string[]): string {
  const v = res.data;
  const cols = columns(v);
  const gens = generatorsOf(v);
  const out: string[] = [];
  const totalInconsistent = v.table.reduce((a, r) => a + r.inconsistent, 0);
  const totalUnderflow = v.table.reduce((a, r) => a + (r.underflow ?? 0), 0);
  const lone64 = v.table.filter(
    (r) => r.precision === '64' && lone.includes(r.generator) && countOf(r, 'compensation:tie') + countOf(r, 'compensation:flip') > 0,
  );
  out.push(`<section id="${id}"><h2>Zones per generator <span class="src">${esc(fileLabel)}</span></h2>`);
  out.push(
    `<p class="meta"><code>${esc(v.command)}</code> — ${esc(v.createdAt)}, ${v.seconds.toFixed(0)} s. Seed ${v.seed}, ${v.samples} draws per generator; ` +
      `family {${esc(v.jacobians.join(', '))}} × ReLU'(0) ∈ {${v.reluAlphas.join(', ')}}, accumulation ${esc(v.accumulate)}, β mode ${esc(v.betaMode)}. ` +
      `Backends: ${v.backends.map((b) => esc(b.id)).join(', ')}${v.unavailable.length ? `; skipped: ${v.unavailable.map((u) => `${esc(u.id)} (${esc(u.unavailable)})`).join(', ')}` : ''}.</p>`,
  );
  out.push(
    `<ul class="checks">` +
      `<li class="${totalInconsistent ? 'bad' : 'ok'}">Inconsistent value checks (a regular point outside its rigorous rounding bound): <b>${totalInconsistent}</b></li>` +
      `<li class="${lone64.length ? 'bad' : 'ok'}">Compensation at 64 bits on lone-MaxPool generators (impossible: their input is exact there): <b>${lone64.length ? lone64.map((r) => `${esc(r.generator)} ${esc(r.backend)}`).join(', ') : 'none'}</b></li>` +
      `<li>Results whose precision-p computation underflowed (the bound's standard model does not apply): ${totalUnderflow}</li></ul>`,
  );

  // Overview table.
  out.push(
    '<h3>Overview</h3><p class="note">B bifurcation, C compensation (flips in brackets), D defect, NF nonfinite; the rest regular. Cell colour: the most frequent non-regular class, stronger with its share.</p>',
  );
  out.push(
    `<table class="overview"><thead><tr><th>generator</th>${cols.map((c) => `<th>${esc(c.backend)}<br>${esc(c.precision)}</th>`).join('')}</tr></thead><tbody>`,
  );
  for (const g of gens) {
    out.push(
      `<tr><th title="${esc(g.description)}">${esc(g.id)}${lone.includes(g.id) ? ' <span class="tag">lone</span>' : ''}</th>${cols
        .map((c) => {
          const r = rowOf(v, g.id, c.backend, c.precision);
          return r
            ? `<td${cellStyle(r)} title="${esc(`${r.n} draws; non-regular share ${pct1(r.nonRegularShare)}`)}">${esc(compactCounts(r))}</td>`
            : '<td class="na">—</td>';
        })
        .join('')}</tr>`,
    );
  }
  out.push('</tbody></table>');

  // One grouped bar chart per generator, on one shared y scale so the charts compare.
  const classes = CLASS_ORDER.filter((c) => v.table.some((r) => countOf(r, c) > 0));
  const allShares = v.table.flatMap((r) => classes.map((c) => share(r, c)));
  const sc = chooseScale(allShares, { decades: 1.5, linMax: 1 });
  const yMax = sc.scale === 'log' ? 1 : sc.max;
  out.push(
    `<h3>Zone shares per precision and backend</h3><p class="note">Share of each generator's draws in each class (count / draws), ${sc.scale === 'log' ? 'log scale (shares span decades; a missing bar is 0)' : 'linear scale'}; hover a bar for its count.</p><div class="grid">`,
  );
  for (const g of gens) {
    out.push(
      `<figure>${barChart({
        id: `${id}-zones-${g.id}`,
        title: g.id,
        series: zoneSeries(classes),
        groups: cols.map((c) => {
          const r = rowOf(v, g.id, c.backend, c.precision);
          return {
            label: c.label,
            values: classes.map((k) => ({
              series: k,
              value: r ? share(r, k) : null,
              title: r ? `${g.id} · ${c.label} · ${k}: ${countOf(r, k)} of ${r.n} (${fmtPct(share(r, k))})` : undefined,
            })),
          };
        }),
        y: { label: 'share of draws', scale: sc.scale, min: sc.min, max: yMax, format: fmtPct },
        xLabel: 'backend, precision (bits)',
        emptyText: 'every draw regular on every backend',
      })}<figcaption>${esc(g.description)}</figcaption></figure>`,
    );
  }
  out.push('</div>');

  // Real ties.
  if (v.realTies.length) {
    out.push(
      '<details><summary>Real ties per generator (over the reals)</summary><table class="small"><thead><tr><th>generator</th><th>draws</th><th>tied windows</th><th>harmful</th><th>all-zero after ReLU</th><th>other harmless</th><th>ReLU inputs = 0</th></tr></thead><tbody>',
    );
    for (const t of v.realTies)
      out.push(
        `<tr><td>${esc(t.generator)}</td><td>${t.draws}</td><td>${t.tiedWindows}</td><td>${t.harmful}</td><td>${t.allZero}</td><td>${t.otherHarmless}</td><td>${t.reluZeros}</td></tr>`,
      );
    out.push('</tbody></table></details>');
  }
  out.push('</section>');
  return out.join('\n');
}

/** tfjs tie rules (measured) and defects: the rule table, the defect evidence and a chart of defect shares. */
export function tieRuleSection(res: ReadResult<'verify'>, id: string, fileLabel: string): string {
  const v = res.data;
  const out: string[] = [`<section id="${id}"><h2>Framework tie rules and defects <span class="src">${esc(fileLabel)}</span></h2>`];
  if (!v.tieRules.length) {
    out.push('<p>No framework backend ran, so no tie rule was measured.</p></section>');
    return out.join('\n');
  }
  out.push(
    '<p class="note">Each fixed-Jacobian backend\'s MaxPool rule at exact ties is measured before the run (lone-MaxPool cases with known tie sets). ' +
      "A <b>defect</b> is a framework gradient that is the exact AD of no admissible Jacobian along the routing of the framework's own forward values.</p>",
  );
  out.push('<table class="small"><thead><tr><th>backend</th><th>tie rule</th><th>evidence</th></tr></thead><tbody>');
  for (const t of v.tieRules) {
    const [ev, defect] = t.evidence.split(/;\s*DEFECT:\s*/);
    out.push(
      `<tr><td>${esc(t.backend)}</td><td><b class="rule">${esc(t.rule)}</b></td><td>${esc(ev)}${defect ? `<div class="defect"><b>Defect:</b> ${esc(defect)}</div>` : ''}</td></tr>`,
    );
  }
  out.push('</tbody></table>');
  const withDefects = [...new Set(v.table.filter((r) => countOf(r, 'defect') > 0).map((r) => `${r.backend}|${r.precision}`))];
  if (withDefects.length) {
    const gens = generatorsOf(v).filter((g) => v.table.some((r) => r.generator === g.id && countOf(r, 'defect') > 0));
    const series = withDefects.map((k, i) => {
      const [b, p] = k.split('|');
      return { key: k, label: `${b} ${p}`, colour: i === 0 ? ZONE_COLOUR.defect : ['#555555', '#888888', '#0072B2'][(i - 1) % 3] };
    });
    const shares = v.table.filter((r) => countOf(r, 'defect') > 0).map((r) => countOf(r, 'defect') / r.n);
    const sc = chooseScale(shares, { linMax: 1 });
    out.push(
      `<figure>${barChart({
        id: `${id}-defects`,
        title: 'Defects per generator',
        series,
        groups: gens.map((g) => ({
          label: g.id,
          values: series.map((s) => {
            const [b, p] = s.key.split('|');
            const r = rowOf(v, g.id, b, p);
            return {
              series: s.key,
              value: r ? countOf(r, 'defect') / r.n : null,
              title: r ? `${g.id} · ${s.label}: ${countOf(r, 'defect')} of ${r.n} defects` : undefined,
            };
          }),
        })),
        y: { label: 'share of draws', scale: sc.scale, min: sc.min, max: sc.scale === 'log' ? 1 : sc.max, format: fmtPct },
        xLabel: 'generator',
        width: Math.max(420, 96 * gens.length),
      })}<figcaption>Share of draws whose framework gradient is a defect, per generator.</figcaption></figure>`,
    );
  }
  out.push('</section>');
  return out.join('\n');
}

/** Minimal counterexamples: per generator, a small table of each explained unit's exact and rounded values. */
export function counterexampleSection(res: ReadResult<'verify'>, id: string, fileLabel: string): string {
  const v = res.data;
  const out: string[] = [`<section id="${id}"><h2>Minimal counterexamples <span class="src">${esc(fileLabel)}</span></h2>`];
  if (!v.counterexamples.length) {
    out.push('<p>None: every draw was regular, or the run skipped shrinking.</p></section>');
    return out.join('\n');
  }
  out.push(
    `<p class="note">${v.counterexamples.length} shrunk cases, one per (generator, backend, precision, class). Each table lists a unit that explains the class: its entries' exact values (every digit is in verify.json) and their values in precision p; ✱ marks the exact tie set, ◆ the tie set in p.</p>`,
  );
  const byGen = new Map<string, VerifyJson['counterexamples'][number][]>();
  for (const c of v.counterexamples) byGen.set(c.generator, [...(byGen.get(c.generator) ?? []), c]);
  let first = true;
  for (const [gen, cs] of byGen) {
    out.push(
      `<details${first ? ' open' : ''}><summary><b>${esc(gen)}</b> — ${cs.length} case${cs.length > 1 ? 's' : ''}: ${cs.map((c) => `${esc(c.backend)} ${esc(c.precision)} ${esc(c.class)}`).join(', ')}</summary><div class="cards">`,
    );
    first = false;
    for (const c of cs) {
      const cl = c.classification;
      const p = c.case.problem;
      const colour = ZONE_COLOUR[(c.class in ZONE_COLOUR ? c.class : 'regular') as keyof typeof ZONE_COLOUR];
      const units = cl.findings.slice(0, 2).map((f) => {
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
      });
      const layers = p.layers.map((l) => l.kind).join(' → ');
      out.push(
        `<div class="card" style="border-left-color:${colour}"><h4>${esc(c.backend)} @ ${esc(c.precision)} bits · <span style="color:${colour === '#000000' ? '#000' : colour}">${esc(c.class)}</span></h4>` +
          `<p class="meta">input ${p.input.shape.join('×')}, ${esc(layers)}; shrunk in ${c.numShrinks} steps${cl.findings.length > 2 ? `; ${cl.findings.length - 2} more units in verify.json` : ''}</p>` +
          units.join('') +
          (cl.reason ? `<p class="meta">reason: ${esc(cl.reason)}</p>` : '') +
          (cl.matchedRules ? `<p class="meta">matches the exact AD of: ${esc(cl.matchedRules.join(', ') || 'no family member')}</p>` : '') +
          `<p class="replay"><code>adzone replay --generator ${esc(c.generator)} --seed ${c.seed} --path ${esc(c.path)} --precision ${esc(c.precision)} --backend ${esc(c.backend)}</code></p></div>`,
      );
    }
    out.push('</div></details>');
  }
  out.push('</section>');
  return out.join('\n');
}
