/**
 * `adzone report --markdown FILE.md`: a short summary for a pull-request comment — the zone table
 * in README notation, the checks that must hold, the tie rules, network zones, accuracy at each β
 * and the bench targets. Kept well under GitHub's 65,536-character comment limit.
 */
import { ofKind, shown, type Discovered } from '../schema/discover.ts';
import { accuracyByBeta, modelLabel, trainRuns } from '../schema/runs.ts';
import { loneMaxPoolGenerators } from '../gate/lone.ts';
import { columns, compactCounts, compensation, countOf, generatorsOf, rowOf } from './html/format.ts';

const pct = (x: number | null | undefined) => (x === null || x === undefined ? '—' : `${(100 * x).toFixed(x > 0 && x < 0.001 ? 3 : 1)}%`);
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export async function summaryMarkdown(d: Discovered, o: { title?: string; htmlPath?: string } = {}): Promise<string> {
  const L: string[] = [];
  L.push(`## ${o.title ?? 'adzone report'}`, '');
  if (o.htmlPath) L.push(`Full report: \`${o.htmlPath}\` (self-contained HTML).`, '');

  for (const v of ofKind(d, 'verify')) {
    const j = v.data;
    const cols = columns(j);
    const lone = await loneMaxPoolGenerators(j.generators);
    const inconsistent = j.table.filter((r) => r.inconsistent > 0);
    const lone64 = j.table.filter((r) => r.precision === '64' && lone.includes(r.generator) && compensation(r) > 0);
    L.push(`### Zones per generator — \`${shown(v.file)}\``, '');
    L.push(
      `\`${j.command}\` · ${j.createdAt} · ${j.samples} draws per generator, seed ${j.seed}, family {${j.jacobians.join(', ')}}, ${j.accumulate}`,
      '',
    );
    L.push(`| check | result |`, `| --- | --- |`);
    L.push(
      `| inconsistent value checks (must be 0) | ${inconsistent.length ? `**${inconsistent.reduce((a, r) => a + r.inconsistent, 0)}** in ${inconsistent.map((r) => `${r.generator} ${r.backend} ${r.precision}`).join(', ')}` : '0 ✓'} |`,
    );
    L.push(
      `| compensation at 64 bits on lone-MaxPool generators (must be none) | ${lone64.length ? `**${lone64.map((r) => `${r.generator} ${r.backend} (${compensation(r)})`).join(', ')}**` : 'none ✓'} |`,
    );
    for (const t of j.tieRules)
      L.push(`| tie rule of ${t.backend} | **${t.rule}**${/DEFECT/.test(t.evidence) ? ' (defect measured, see report)' : ''} |`);
    if (j.unavailable.length) L.push(`| skipped backends | ${j.unavailable.map((u) => `${u.id}: ${cell(u.unavailable)}`).join('; ')} |`);
    L.push('');
    L.push(`B bifurcation, C compensation (flips in brackets), D defect, NF nonfinite; the rest regular.`, '');
    L.push(`| generator | ${cols.map((c) => c.label).join(' | ')} |`, `| --- |${' --- |'.repeat(cols.length)}`);
    for (const g of generatorsOf(j)) {
      L.push(
        `| ${g.id} | ${cols
          .map((c) => {
            const r = rowOf(j, g.id, c.backend, c.precision);
            return r ? compactCounts(r) : '—';
          })
          .join(' | ')} |`,
      );
    }
    const defects = j.table.filter((r) => countOf(r, 'defect') > 0);
    L.push(
      '',
      `${j.counterexamples.length} minimal counterexamples; ${defects.length ? `defects on ${[...new Set(defects.map((r) => r.backend))].join(', ')}` : 'no defects'}.`,
      '',
    );
  }

  for (const z of ofKind(d, 'zones')) {
    const c = z.data.config;
    L.push(
      `### Network zones — ${c.model} (${c.variant}) on ${c.dataset}, ${c.batches} batches of ${c.batchSize} — \`${shown(z.file)}\``,
      '',
    );
    L.push('| precision | estimator in zone | exact in zone | missed | invented |', '| --- | ---: | ---: | ---: | ---: |');
    for (const p of z.data.precisions) {
      const s = p.summary;
      L.push(
        `| ${p.precision} | ${s.estimatorInZone} (${pct(s.estimatorShare)}) | ${s.exactInZone === null ? '—' : `${s.exactInZone} (${pct(s.exactShare)})`} | ${s.comparison?.missed ?? '—'} | ${s.comparison?.invented ?? '—'} |`,
      );
    }
    L.push('');
  }

  const runs = trainRuns(d.results);
  if (runs.length) {
    const acc = accuracyByBeta(runs);
    const betas = [...new Set(acc.map((a) => a.beta))].sort((a, b) => a - b);
    // one row per configuration, or per (configuration, recipe) when one was trained several ways
    const cfgs = [...new Map(acc.map((a) => [a.group, a])).values()];
    L.push('### Test accuracy against β (mean over seeds, min–max)', '');
    L.push(
      `| model | data | configuration | ${betas.map((b) => `β=${b}`).join(' | ')} |`,
      `| --- | --- | --- |${' ---: |'.repeat(betas.length)}`,
    );
    for (const c of cfgs) {
      L.push(
        `| ${cell(modelLabel(c.config))} | ${c.config.dataset} | ${cell(c.label)} | ${betas
          .map((b) => {
            const a = acc.find((x) => x.beta === b && x.group === c.group);
            return a
              ? `${(100 * a.mean).toFixed(2)}%${a.seeds > 1 ? ` (${(100 * a.min).toFixed(1)}–${(100 * a.max).toFixed(1)})` : ''}`
              : '—';
          })
          .join(' | ')} |`,
      );
    }
    L.push('');
  }

  for (const b of ofKind(d, 'bench')) {
    const hits = b.data.targets.flatMap((t) =>
      t.results.map((r) => `${t.id} ${r.row}: ${Number.isFinite(r.ratio) ? r.ratio.toFixed(2) : r.ratio} (≤ ${t.max}) ${r.verdict ?? ''}`),
    );
    L.push(`### Speed — \`${shown(b.file)}\``, '', ...hits.map((h) => `- ${h}`), '');
  }
  if (!d.results.length) L.push('No result files found.', '');
  let s = `${L.join('\n')}\n`;
  if (s.length > 60_000) s = `${s.slice(0, 59_000)}\n\n… (truncated; see the HTML report)\n`;
  return s;
}
