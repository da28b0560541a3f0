/**
 * The zones.json section: per-layer zone shares (one grouped bar chart per precision), the paper's
 * estimator against the exact classification (batches in zone per precision, and each batch's
 * estimator distance against its threshold, coloured by the exact verdict).
 */
import type { ReadResult, ZonesReport } from '../../schema/index.ts';
import { ZONE_COLOUR, zoneSeries } from './colours.ts';
import { barChart, chooseScale, esc, fmtPct, lineChart, pow10, type Point } from './svg.ts';

const sum = (r: Readonly<Record<string, number>>) => Object.values(r).reduce((a, b) => a + b, 0);
const numFmt = (x: number | null) =>
  x === null ? '—' : Number.isInteger(x) ? x.toLocaleString('en-US') : x.toLocaleString('en-US', { maximumFractionDigits: 1 });

export function zonesSection(res: ReadResult<'zones'>, id: string, fileLabel: string): string {
  const z: ZonesReport = res.data;
  const c = z.config;
  const out: string[] = [];
  out.push(
    `<section id="${id}"><h2>Network zones: ${esc(c.model)} (${esc(c.variant)}) on ${esc(c.dataset)} <span class="src">${esc(fileLabel)}</span></h2>`,
  );
  out.push(
    `<p class="meta"><code>${esc(z.command)}</code> — ${esc(z.createdAt)}. One θ (seed ${c.seed}), the first ${c.batches} ${esc(c.split)} mini-batches of ${c.batchSize}, ` +
      `${c.parameters.toLocaleString('en-US')} parameters; accumulation ${esc(c.accumulate)}, ReLU'(0) = ${c.reluAlpha}. ` +
      `Estimator: Σ‖g(β=0) − g(β=1)‖∞ against ${c.precisions.map((p) => `${c.estimator.thresholds[p] ?? '?'} at ${esc(p)}`).join(', ')}.</p>`,
  );
  for (const n of z.notes) out.push(`<p class="note">${esc(n)}</p>`);
  if (!c.exact.available)
    out.push(`<p class="warn">Estimator only: exact classification is impossible here (${esc(c.exact.reason ?? '')}).</p>`);

  // Headline table.
  out.push(
    '<table class="small"><thead><tr><th>precision</th><th>batches</th><th>estimator in zone</th><th>exact in zone</th><th>missed</th><th>invented</th><th>non-regular windows / batch</th><th>tied windows / batch</th></tr></thead><tbody>',
  );
  for (const p of z.precisions) {
    const s = p.summary;
    out.push(
      `<tr><td>${esc(p.precision)}</td><td>${s.batches}</td><td>${s.estimatorInZone} (${fmtPct(s.estimatorShare)})</td><td>${s.exactInZone === null ? '—' : `${s.exactInZone} (${fmtPct(s.exactShare ?? 0)})`}</td>` +
        `<td>${s.comparison?.missed ?? '—'}</td><td>${s.comparison?.invented ?? '—'}</td><td>${numFmt(s.windowsPerBatch.nonRegular)}</td><td>${numFmt(s.windowsPerBatch.exactTied)}</td></tr>`,
    );
  }
  out.push('</tbody></table>');

  // Estimator vs exact: batches in zone.
  const cmpSeries = [
    { key: 'estimator', label: 'estimator says zone', colour: '#0072B2' },
    { key: 'exact', label: 'exact: in zone', colour: ZONE_COLOUR.bifurcation },
    { key: 'missed', label: 'missed by estimator', colour: '#E69F00' },
    { key: 'invented', label: 'invented by estimator', colour: '#56B4E9' },
  ];
  out.push('<div class="grid">');
  out.push(
    `<figure>${barChart({
      id: `${id}-estimator`,
      title: 'Estimator against the exact classification',
      series: c.exact.available ? cmpSeries : cmpSeries.slice(0, 1),
      groups: z.precisions.map((p) => {
        const s = p.summary;
        const n = Math.max(1, s.batches);
        const t = (k: string, v: number | null | undefined) => ({
          series: k,
          value: v === null || v === undefined ? null : v / n,
          title: `${p.precision} bits · ${k}: ${v ?? '—'} of ${s.batches} batches`,
        });
        return {
          label: `${p.precision} bits`,
          values: [
            t('estimator', s.estimatorInZone),
            t('exact', s.exactInZone),
            t('missed', s.comparison?.missed),
            t('invented', s.comparison?.invented),
          ],
        };
      }),
      y: { label: 'share of batches', scale: 'linear', min: 0, max: 1, format: fmtPct },
      xLabel: 'precision',
    })}<figcaption>Share of mini-batches the paper's threshold estimator puts in a zone, the exact classification's share, and where they disagree.</figcaption></figure>`,
  );
  for (const p of z.precisions) {
    const inZ: Point[] = [];
    const notZ: Point[] = [];
    const unknown: Point[] = [];
    const ds = p.batches.map((b) => b.estimator.distance).filter((d) => Number.isFinite(d) && d > 0);
    const lo = Math.min(p.threshold, ...ds);
    const hi = Math.max(p.threshold, ...ds);
    const ymin = pow10(Math.floor(Math.log10(lo) - 0.5));
    const ymax = pow10(Math.ceil(Math.log10(hi) + 0.2));
    for (const b of p.batches) {
      const d = b.estimator.distance;
      const y = Number.isFinite(d) && d > 0 ? d : ymin;
      const pt: Point = {
        x: b.batch,
        y,
        title: `batch ${b.batch}: distance ${Number.isFinite(d) ? d.toExponential(2) : String(d)}${b.exact ? `, exact ${b.exact.zone}` : ''}`,
      };
      (b.exact === null ? unknown : b.exact.inZone ? inZ : notZ).push(pt);
    }
    const series = [
      ...(inZ.length ? [{ key: 'exact-zone', label: 'exact: in zone', colour: ZONE_COLOUR.bifurcation, points: inZ, line: false }] : []),
      ...(notZ.length
        ? [{ key: 'exact-regular', label: 'exact: regular', colour: '#777777', points: notZ, line: false, marker: 'square' as const }]
        : []),
      ...(unknown.length
        ? [
            {
              key: 'no-exact',
              label: 'no exact classification',
              colour: '#0072B2',
              points: unknown,
              line: false,
              marker: 'diamond' as const,
            },
          ]
        : []),
    ];
    const n = p.batches.length;
    out.push(
      `<figure>${lineChart({
        id: `${id}-distance-${p.precision}`,
        title: `Estimator distance per batch, ${p.precision} bits`,
        series,
        x: { label: 'mini-batch', scale: 'linear', min: 0, max: Math.max(1, n - 1) },
        y: { label: 'Σ‖g(β=0) − g(β=1)‖∞', scale: 'log', min: ymin, max: ymax },
        hlines: [{ y: p.threshold, label: `threshold ${p.threshold.toExponential(0)}`, colour: '#000' }],
      })}<figcaption>Above the dashed line the estimator counts the batch in a zone; the colour is the exact verdict. A distance of 0 is drawn at the bottom.</figcaption></figure>`,
    );
  }
  out.push('</div>');

  // Per layer.
  const withLayers = z.precisions.filter((p) => p.layers?.length);
  if (withLayers.length) {
    const keys = ['harmless', 'bifurcation', 'compensation:tie', 'compensation:flip'] as const;
    const val = (l: NonNullable<ZonesReport['precisions'][number]['layers']>[number], k: (typeof keys)[number]) =>
      l.units
        ? (k === 'harmless'
            ? sum(l.harmless)
            : k === 'bifurcation'
              ? sum(l.bifurcation)
              : ((l.compensation as Readonly<Record<string, number>>)[k.split(':')[1]] ?? 0)) / l.units
        : 0;
    const all = withLayers.flatMap((p) => p.layers!.flatMap((l) => keys.map((k) => val(l, k))));
    const sc = chooseScale(all, { linMax: 1 });
    out.push(
      `<h3>Per layer</h3><p class="note">Share of each layer's units (MaxPool windows, ReLU units) over every batch, ${sc.scale === 'log' ? 'log scale' : 'linear scale'}; hover for counts.</p><div class="grid">`,
    );
    for (const p of withLayers) {
      out.push(
        `<figure>${barChart({
          id: `${id}-layers-${p.precision}`,
          title: `Zones per layer, ${p.precision} bits`,
          series: zoneSeries([...keys]),
          groups: p.layers!.map((l) => ({
            label: l.label,
            values: keys.map((k) => ({
              series: k,
              value: val(l, k),
              title: `${l.label} · ${k}: ${fmtPct(val(l, k))} of ${l.units.toLocaleString('en-US')} units`,
            })),
          })),
          y: { label: 'share of units', scale: sc.scale, min: sc.min, max: sc.scale === 'log' ? 1 : sc.max, format: fmtPct },
          xLabel: 'layer',
          width: Math.max(440, 110 * p.layers!.length),
        })}</figure>`,
      );
    }
    out.push('</div>');
  }
  out.push('</section>');
  return out.join('\n');
}
