/**
 * The zones.json section: the paper's estimator against the exact classification (batches in zone
 * per precision, with Wilson 95% intervals, on the fixed linear scale of "share of batches"; each
 * batch's estimator distance against its threshold, coloured by the exact verdict), and per-layer
 * zone shares (one grouped bar chart per precision, on the fixed log scale of "share of units").
 */
import type { ReadResult, ZonesReport } from '../../schema/index.ts';
import { shareCell, wilson } from '../stats.ts';
import { ZONE_COLOUR, zoneSeries } from './colours.ts';
import { barChart, esc, fmtPct, lineChart, type Point, pow10, SHARE_SCALES } from './svg.ts';

type Precision = ZonesReport['precisions'][number];
type Layer = NonNullable<Precision['layers']>[number];

const sum = (r: Readonly<Record<string, number>>) => Object.values(r).reduce((a, b) => a + b, 0);
const numFmt = (x: number | null) =>
  x === null ? '—' : Number.isInteger(x) ? x.toLocaleString('en-US') : x.toLocaleString('en-US', { maximumFractionDigits: 1 });

function header(z: ZonesReport, id: string, fileLabel: string): string {
  const c = z.config;
  const out = [
    `<section id="${id}"><h2>Network zones: ${esc(c.model)} (${esc(c.variant)}) on ${esc(c.dataset)} <span class="src">${esc(fileLabel)}</span></h2>`,
    `<p class="meta"><code class="cmd">${esc(z.command)}</code> · ${esc(z.createdAt)}. One θ (seed ${c.seed}), the first ${c.batches} ${esc(c.split)} mini-batches of ${c.batchSize}, ` +
      `${c.parameters.toLocaleString('en-US')} parameters; accumulation ${esc(c.accumulate)}, ReLU'(0) = ${c.reluAlpha}. ` +
      `Estimator: Σ‖g(β=0) − g(β=1)‖∞ against ${c.precisions.map((p) => `${c.estimator.thresholds[p] ?? '?'} at ${esc(p)}`).join(', ')}.</p>`,
    ...z.notes.map((n) => `<p class="note">${esc(n)}</p>`),
  ];
  if (!c.exact.available)
    out.push(`<p class="warn">Estimator only: exact classification is impossible here (${esc(c.exact.reason ?? '')}).</p>`);
  return out.join('\n');
}

function headlineTable(z: ZonesReport): string {
  const rows = z.precisions.map((p) => {
    const s = p.summary;
    const est = wilson(s.estimatorInZone, s.batches);
    const exact = s.exactInZone === null ? '—' : `${s.exactInZone} (${esc(shareCell(wilson(s.exactInZone, s.batches)))})`;
    return (
      `<tr><td>${esc(p.precision)}</td><td>${s.batches}</td><td>${s.estimatorInZone} (${esc(shareCell(est))})</td><td>${exact}</td>` +
      `<td>${s.comparison?.missed ?? '—'}</td><td>${s.comparison?.invented ?? '—'}</td><td>${numFmt(s.windowsPerBatch.nonRegular)}</td><td>${numFmt(s.windowsPerBatch.exactTied)}</td></tr>`
    );
  });
  return (
    '<table class="small"><thead><tr><th>precision</th><th>batches</th><th>estimator in zone [95% CI]</th><th>exact in zone [95% CI]</th><th>missed</th><th>invented</th><th>non-regular windows / batch</th><th>tied windows / batch</th></tr></thead>' +
    `<tbody>${rows.join('')}</tbody></table>`
  );
}

const CMP_SERIES = [
  { key: 'estimator', label: 'estimator says zone', colour: '#0072B2' },
  { key: 'exact', label: 'exact: in zone', colour: ZONE_COLOUR.bifurcation },
  { key: 'missed', label: 'missed by estimator', colour: '#E69F00' },
  { key: 'invented', label: 'invented by estimator', colour: '#56B4E9' },
];

function estimatorChart(z: ZonesReport, id: string): string {
  const groups = z.precisions.map((p) => {
    const s = p.summary;
    const bar = (k: string, v: number | null | undefined) => {
      if (v === null || v === undefined) return { series: k, value: null };
      const ci = wilson(v, s.batches);
      return {
        series: k,
        value: ci.p,
        lo: ci.lo,
        hi: ci.hi,
        title: `${p.precision} bits · ${k}: ${v} of ${s.batches} batches (${shareCell(ci)})`,
      };
    };
    return {
      label: `${p.precision} bits`,
      values: [
        bar('estimator', s.estimatorInZone),
        bar('exact', s.exactInZone),
        bar('missed', s.comparison?.missed),
        bar('invented', s.comparison?.invented),
      ],
    };
  });
  return `<figure>${barChart({
    id: `${id}-estimator`,
    title: 'Estimator against the exact classification',
    series: z.config.exact.available ? CMP_SERIES : CMP_SERIES.slice(0, 1),
    groups,
    y: { label: 'share of batches', ...SHARE_SCALES.batches, format: fmtPct },
    xLabel: 'precision',
  })}<figcaption>Share of mini-batches the paper's threshold estimator puts in a zone, the exact classification's share, and where they disagree, with 95% intervals.</figcaption></figure>`;
}

function distanceChart(p: Precision, id: string): string {
  const ds = p.batches.map((b) => b.estimator.distance).filter((d) => Number.isFinite(d) && d > 0);
  const ymin = pow10(Math.floor(Math.log10(Math.min(p.threshold, ...ds)) - 0.5));
  const ymax = pow10(Math.ceil(Math.log10(Math.max(p.threshold, ...ds)) + 0.2));
  const sets: Record<'in' | 'out' | 'none', Point[]> = { in: [], out: [], none: [] };
  for (const b of p.batches) {
    const d = b.estimator.distance;
    const pt = {
      x: b.batch,
      y: Number.isFinite(d) && d > 0 ? d : ymin,
      title: `batch ${b.batch}: distance ${Number.isFinite(d) ? d.toExponential(2) : String(d)}${b.exact ? `, exact ${b.exact.zone}` : ''}`,
    };
    sets[b.exact === null ? 'none' : b.exact.inZone ? 'in' : 'out'].push(pt);
  }
  const series = [
    { key: 'exact-zone', label: 'exact: in zone', colour: ZONE_COLOUR.bifurcation, points: sets.in, line: false },
    { key: 'exact-regular', label: 'exact: regular', colour: '#777777', points: sets.out, line: false, marker: 'square' as const },
    { key: 'no-exact', label: 'no exact classification', colour: '#0072B2', points: sets.none, line: false, marker: 'diamond' as const },
  ].filter((s) => s.points.length);
  return `<figure>${lineChart({
    id: `${id}-distance-${p.precision}`,
    title: `Estimator distance per batch, ${p.precision} bits`,
    series,
    x: { label: 'mini-batch', scale: 'linear', min: 0, max: Math.max(1, p.batches.length - 1) },
    y: { label: 'Σ‖g(β=0) − g(β=1)‖∞', scale: 'log', min: ymin, max: ymax },
    hlines: [{ y: p.threshold, label: `threshold ${p.threshold.toExponential(0)}`, colour: '#000' }],
  })}<figcaption>Above the dashed line the estimator counts the batch in a zone; the colour is the exact verdict. A distance of 0 is drawn at the bottom.</figcaption></figure>`;
}

const LAYER_KEYS = ['harmless', 'bifurcation', 'compensation:tie', 'compensation:flip'] as const;

/** Units of a layer in one of LAYER_KEYS (harmless ties counted apart, never a zone). */
function layerCount(l: Layer, k: (typeof LAYER_KEYS)[number]): number {
  if (k === 'harmless') return sum(l.harmless);
  if (k === 'bifurcation') return sum(l.bifurcation);
  return (l.compensation as Readonly<Record<string, number>>)[k.split(':')[1]] ?? 0;
}

function layerCharts(z: ZonesReport, id: string): string {
  const withLayers = z.precisions.filter((p) => p.layers?.length);
  if (!withLayers.length) return '';
  const charts = withLayers.map((p) => {
    const groups = p.layers!.map((l) => ({
      label: l.label,
      values: LAYER_KEYS.map((k) => {
        const ci = wilson(layerCount(l, k), l.units);
        return {
          series: k,
          value: ci.p,
          lo: ci.lo,
          hi: ci.hi,
          title: `${l.label} · ${k}: ${layerCount(l, k)} of ${l.units.toLocaleString('en-US')} units (${shareCell(ci)})`,
        };
      }),
    }));
    return `<figure>${barChart({
      id: `${id}-layers-${p.precision}`,
      title: `Zones per layer, ${p.precision} bits`,
      series: zoneSeries([...LAYER_KEYS]),
      groups,
      y: { label: 'share of units', ...SHARE_SCALES.units, format: fmtPct },
      xLabel: 'layer',
      width: Math.max(440, 110 * p.layers!.length),
    })}</figure>`;
  });
  return `<h3>Per layer</h3><p class="note">Share of each layer's units (MaxPool windows, ReLU units) over every batch with its 95% interval, on one log scale for every chart of this kind; hover for counts.</p><div class="grid">${charts.join('')}</div>`;
}

export function zonesSection(res: ReadResult<'zones'>, id: string, fileLabel: string): string {
  const z = res.data;
  return [
    header(z, id, fileLabel),
    headlineTable(z),
    `<div class="grid">${estimatorChart(z, id)}${z.precisions.map((p) => distanceChart(p, id)).join('')}</div>`,
    layerCharts(z, id),
    '</section>',
  ].join('\n');
}
