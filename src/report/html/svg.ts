/**
 * Inline SVG plots, built as strings: scales (linear, log), axes with labelled ticks, a legend, and
 * three chart types — grouped bars, lines/points with error bars, and horizontal ranges. No script
 * runs in the page: hover text is SVG <title>.
 *
 * Every chart is `<svg class="plot" data-plot=ID>`, every series a `<g class="series"
 * data-series=KEY data-points=N>` holding its marks, and the legend a `<g class="legend">` with one
 * `<text class="legend-label">` per series, so a test (or a reader of the DOM) can check what was
 * drawn.
 */

export const esc = (s: string | number): string =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const r2 = (x: number) => Math.round(x * 100) / 100;

export interface Series {
  readonly key: string;
  readonly label: string;
  readonly colour: string;
  /** stroke-dasharray for lines. */
  readonly dash?: string;
  /** Marker shape for points. */
  readonly marker?: 'circle' | 'square' | 'diamond' | 'triangle';
}

export type ScaleKind = 'linear' | 'log';

export interface AxisSpec {
  readonly label: string;
  readonly scale: ScaleKind;
  readonly min: number;
  readonly max: number;
  readonly format?: (v: number) => string;
}

export interface Scale {
  (v: number): number;
  readonly ticks: readonly number[];
  readonly format: (v: number) => string;
  readonly kind: ScaleKind;
  readonly min: number;
  readonly max: number;
}

/** 1, 2, 5 × 10^k steps: about `count` ticks over [min, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(min / step - 1e-9) * step; v <= max + step * 1e-9; v += step)
    out.push(Math.abs(v) < step * 1e-9 ? 0 : Number(v.toPrecision(12)));
  return out;
}

/** 10^k as the nearest double to the decimal 1ek (10 ** -5 is not 0.00001). */
export const pow10 = (k: number): number => Number(`1e${k}`);

/** Decades 10^k within [min, max]; thinned to at most `max` ticks. */
export function logTicks(min: number, max: number, most = 8): number[] {
  const lo = Math.ceil(Math.log10(min) - 1e-9);
  const hi = Math.floor(Math.log10(max) + 1e-9);
  const step = Math.max(1, Math.ceil((hi - lo + 1) / most));
  const out: number[] = [];
  for (let k = hi; k >= lo; k -= step) out.unshift(pow10(k));
  return out;
}

export function makeScale(a: AxisSpec, r0: number, r1: number): Scale {
  const log = a.scale === 'log';
  const d0 = log ? Math.log10(a.min) : a.min;
  const d1 = log ? Math.log10(a.max) : a.max;
  const f = ((v: number) => {
    const x = log ? Math.log10(Math.max(v, a.min)) : v;
    return r0 + ((x - d0) / (d1 - d0 || 1)) * (r1 - r0);
  }) as Scale;
  const ticks = log ? logTicks(a.min, a.max) : niceTicks(a.min, a.max);
  return Object.assign(f, { ticks, format: a.format ?? (log ? fmtPow : fmtNum), kind: a.scale, min: a.min, max: a.max });
}

export function fmtNum(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(0).replace('e+', 'e');
  return String(Number(v.toPrecision(4)));
}

const SUP: Record<string, string> = {
  '-': '⁻',
  '0': '⁰',
  '1': '¹',
  '2': '²',
  '3': '³',
  '4': '⁴',
  '5': '⁵',
  '6': '⁶',
  '7': '⁷',
  '8': '⁸',
  '9': '⁹',
};
/** 10^k as "10⁻³"; 1, 10, 100 and 1000 plainly. */
export function fmtPow(v: number): string {
  const k = Math.round(Math.log10(v));
  if (Math.abs(v - 10 ** k) > 1e-9 * v) return fmtNum(v);
  if (k >= 0 && k <= 3) return String(10 ** k);
  return `10${String(k).replace(/./g, (c) => SUP[c] ?? c)}`;
}

/** A share as a percentage: 100%, 12.5%, 0.5%, 0.01%, 10⁻⁵ %. */
export function fmtPct(v: number): string {
  if (v === 0) return '0%';
  const p = v * 100;
  if (p >= 10) return `${Number(p.toPrecision(3))}%`;
  if (p >= 0.01) return `${Number(p.toPrecision(2))}%`;
  return `${fmtPow(p)}%`;
}

/** Log scale when the positive values span more than `decades` decades; then [10^⌊log min⌋, max]. */
export function chooseScale(
  values: readonly number[],
  opts: { decades?: number; linMin?: number; linMax?: number } = {},
): { scale: ScaleKind; min: number; max: number } {
  const pos = values.filter((v) => v > 0 && Number.isFinite(v));
  const max = pos.length ? Math.max(...pos) : 1;
  const minPos = pos.length ? Math.min(...pos) : max;
  if (pos.length && max / minPos > 10 ** (opts.decades ?? 1.5)) {
    return { scale: 'log', min: pow10(Math.floor(Math.log10(minPos) - 1e-9)), max: pow10(Math.ceil(Math.log10(max) - 1e-9)) };
  }
  return { scale: 'linear', min: opts.linMin ?? 0, max: opts.linMax ?? niceTicks(0, max * 1.05).at(-1) ?? max };
}

function marker(shape: Series['marker'], x: number, y: number, colour: string, size = 3.5, title?: string): string {
  const t = title ? `<title>${esc(title)}</title>` : '';
  const s = size;
  switch (shape) {
    case 'square':
      return `<rect x="${r2(x - s)}" y="${r2(y - s)}" width="${r2(2 * s)}" height="${r2(2 * s)}" fill="${colour}">${t}</rect>`;
    case 'diamond':
      return `<path d="M${r2(x)} ${r2(y - s * 1.3)}L${r2(x + s * 1.3)} ${r2(y)}L${r2(x)} ${r2(y + s * 1.3)}L${r2(x - s * 1.3)} ${r2(y)}Z" fill="${colour}">${t}</path>`;
    case 'triangle':
      return `<path d="M${r2(x)} ${r2(y - s * 1.3)}L${r2(x + s * 1.2)} ${r2(y + s)}L${r2(x - s * 1.2)} ${r2(y + s)}Z" fill="${colour}">${t}</path>`;
    default:
      return `<circle cx="${r2(x)}" cy="${r2(y)}" r="${s}" fill="${colour}">${t}</circle>`;
  }
}

/** Legend across the top: swatch + label per series, wrapping to more rows. Returns svg and height. */
export function legend(
  series: readonly Series[],
  x0: number,
  y0: number,
  width: number,
  kind: 'bar' | 'line',
): { svg: string; height: number } {
  const items: string[] = [];
  let x = x0;
  let y = y0;
  for (const s of series) {
    const w = 22 + s.label.length * 6.4 + 14;
    if (x + w > x0 + width && x > x0) {
      x = x0;
      y += 16;
    }
    const sw =
      kind === 'bar'
        ? `<rect x="${r2(x)}" y="${r2(y - 8)}" width="12" height="10" fill="${s.colour}"/>`
        : `<line x1="${r2(x - 1)}" x2="${r2(x + 15)}" y1="${r2(y - 3)}" y2="${r2(y - 3)}" stroke="${s.colour}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>${marker(s.marker, x + 7, y - 3, s.colour, 3)}`;
    items.push(
      `<g class="legend-item" data-series="${esc(s.key)}">${sw}<text class="legend-label" x="${r2(x + 18)}" y="${r2(y)}">${esc(s.label)}</text></g>`,
    );
    x += w;
  }
  return { svg: `<g class="legend">${items.join('')}</g>`, height: y - y0 + 18 };
}

function wrapLabel(s: string, max = 16): string[] {
  // Break at spaces, and after hyphens inside long words ('ulp-neighbour-16' → 'ulp-neighbour-', '16').
  const words = s.split(/\s+/).flatMap((w) => (w.length > max - 4 ? w.split(/(?<=-)/) : [w]));
  const lines: string[] = [];
  let cur = '';
  for (const w of words) {
    const joined = cur.endsWith('-') ? `${cur}${w}` : `${cur} ${w}`;
    if (cur && joined.length > max) {
      lines.push(cur);
      cur = w;
    } else cur = cur ? joined : w;
  }
  if (cur) lines.push(cur);
  return lines.slice(0, 3);
}

function yAxis(sc: Scale, x: number, x1: number, label: string, top: number, bottom: number): string {
  const parts: string[] = [];
  for (const t of sc.ticks) {
    const y = sc(t);
    parts.push(`<line class="grid" x1="${x}" x2="${x1}" y1="${r2(y)}" y2="${r2(y)}"/>`);
    parts.push(`<text class="tick" x="${x - 5}" y="${r2(y + 3.5)}" text-anchor="end">${esc(sc.format(t))}</text>`);
  }
  const mid = (top + bottom) / 2;
  parts.push(`<line class="axis" x1="${x}" x2="${x}" y1="${top}" y2="${bottom}"/>`);
  parts.push(`<text class="axis-label" transform="translate(${x - 48},${r2(mid)}) rotate(-90)" text-anchor="middle">${esc(label)}</text>`);
  return parts.join('');
}

export interface BarValue {
  readonly series: string;
  /** null: not measured (nothing drawn). */
  readonly value: number | null;
  /** A 95% interval around the value, drawn as an error bar on the bar. */
  readonly lo?: number;
  readonly hi?: number;
  /** Hover text. */
  readonly title?: string;
}

/** The y axis of each kind of share chart: one fixed scale per kind, whatever the data, so charts of a kind compare across reports. */
export const SHARE_SCALES = {
  /** Draws of a verify row (n up to 10,000: 1/n ≥ 10⁻⁴). */
  draws: { scale: 'log', min: 1e-4, max: 1 },
  /** Mini-batches of a network (a few to a few hundred). */
  batches: { scale: 'linear', min: 0, max: 1 },
  /** Units (windows, ReLUs) of a layer over every batch (up to millions). */
  units: { scale: 'log', min: 1e-6, max: 1 },
} as const satisfies Record<string, { scale: ScaleKind; min: number; max: number }>;

/** A vertical error bar with caps from lo to hi at x (clamped to the axis). */
function errorBar(sy: Scale, x: number, lo: number, hi: number): string {
  const clamp = (v: number) => Math.min(Math.max(v, sy.min), sy.max);
  const y0 = sy(clamp(lo));
  const y1 = sy(clamp(hi));
  return `<path class="errbar" d="M${r2(x)} ${r2(y0)}V${r2(y1)}M${r2(x - 3)} ${r2(y0)}h6M${r2(x - 3)} ${r2(y1)}h6" stroke="#222" stroke-width="1.1" style="fill:none"/>`;
}

export interface BarChartSpec {
  readonly id: string;
  readonly title: string;
  readonly groups: readonly { readonly label: string; readonly values: readonly BarValue[] }[];
  readonly series: readonly Series[];
  readonly y: AxisSpec;
  readonly xLabel: string;
  /** Shown in the middle when no series has a bar. */
  readonly emptyText?: string;
  readonly width?: number;
  readonly height?: number;
}

/** Grouped bar chart: one band per group, one bar per series inside it. */
export function barChart(c: BarChartSpec): string {
  const W = c.width ?? 420;
  const H = c.height ?? 260;
  const left = 62;
  const right = 10;
  const drawn = (s: Series) =>
    c.groups.some((g) =>
      g.values.some((v) => v.series === s.key && v.value !== null && (v.value > 0 || (c.y.scale === 'linear' && v.value < 0))),
    );
  // Only series with at least one bar appear (colours stay fixed per key, so charts still compare).
  const shownSeries = c.series.filter(drawn);
  const lg = legend(shownSeries, left, 34, W - left - right, 'bar');
  const top = 30 + lg.height + 4;
  const longest = Math.max(...c.groups.map((g) => wrapLabel(g.label).length));
  const bottom = H - 22 - 12 * longest;
  const sy = makeScale(c.y, bottom, top);
  const band = (W - left - right) / Math.max(1, c.groups.length);
  const inner = band * 0.84;
  const bw = inner / Math.max(1, shownSeries.length);
  const base = c.y.scale === 'log' ? bottom : sy(Math.max(0, c.y.min));
  const bars = new Map<string, string[]>(shownSeries.map((s) => [s.key, []]));
  c.groups.forEach((g, gi) => {
    const gx = left + gi * band + (band - inner) / 2;
    shownSeries.forEach((s, si) => {
      const v = g.values.find((x) => x.series === s.key);
      if (!v || v.value === null || !(v.value > 0 || (c.y.scale === 'linear' && v.value < 0))) return;
      const y = sy(Math.min(v.value, c.y.max));
      const x = gx + si * bw;
      const err = v.lo !== undefined && v.hi !== undefined && v.hi > v.lo ? errorBar(sy, x + bw / 2, v.lo, v.hi) : '';
      bars
        .get(s.key)!
        .push(
          `<rect x="${r2(x + 0.5)}" y="${r2(Math.min(y, base))}" width="${r2(Math.max(1, bw - 1))}" height="${r2(Math.max(1, Math.abs(base - y)))}" fill="${s.colour}"><title>${esc(v.title ?? `${g.label} · ${s.label}: ${sy.format(v.value)}`)}</title></rect>${err}`,
        );
    });
  });
  const xl = c.groups
    .map((g, gi) => {
      const cx = left + gi * band + band / 2;
      const lines = wrapLabel(g.label);
      return `<text class="tick" x="${r2(cx)}" y="${bottom + 14}" text-anchor="middle">${lines.map((l, i) => `<tspan x="${r2(cx)}" dy="${i ? 12 : 0}">${esc(l)}</tspan>`).join('')}</text>`;
    })
    .join('');
  const series = shownSeries
    .map((s) => `<g class="series" data-series="${esc(s.key)}" data-points="${bars.get(s.key)!.length}">${bars.get(s.key)!.join('')}</g>`)
    .join('');
  const empty = shownSeries.length
    ? ''
    : `<text class="empty" x="${r2((left + W - right) / 2)}" y="${r2((top + bottom) / 2)}" text-anchor="middle">${esc(c.emptyText ?? 'nothing to draw')}</text>`;
  return svgDoc(c.id, c.title, W, H, [
    `<text class="title" x="${left}" y="18">${esc(c.title)}</text>`,
    lg.svg,
    yAxis(sy, left, W - right, c.y.label, top, bottom),
    `<line class="axis" x1="${left}" x2="${W - right}" y1="${bottom}" y2="${bottom}"/>`,
    series,
    empty,
    xl,
    `<text class="axis-label" x="${r2((left + W - right) / 2)}" y="${H - 4}" text-anchor="middle">${esc(c.xLabel)}</text>`,
  ]);
}

export interface Point {
  readonly x: number;
  readonly y: number;
  /** Error bar (spread), drawn when both are given. */
  readonly lo?: number;
  readonly hi?: number;
  readonly title?: string;
}

export interface LineChartSpec {
  readonly id: string;
  readonly title: string;
  readonly series: readonly (Series & { readonly points: readonly Point[]; readonly line?: boolean })[];
  readonly x: AxisSpec & { readonly ticks?: readonly { readonly at: number; readonly label: string }[] };
  readonly y: AxisSpec;
  /** Horizontal reference lines (e.g. a threshold). */
  readonly hlines?: readonly { readonly y: number; readonly label: string; readonly colour?: string }[];
  readonly width?: number;
  readonly height?: number;
}

/** Lines and/or points per series, with optional error bars and reference lines. */
export function lineChart(c: LineChartSpec): string {
  const W = c.width ?? 420;
  const H = c.height ?? 260;
  const left = 62;
  const right = 12;
  const shownSeries = c.series.filter((s) => s.points.some((p) => Number.isFinite(p.x) && Number.isFinite(p.y)));
  const lg = legend(shownSeries, left, 34, W - left - right, shownSeries.some((s) => s.line !== false) ? 'line' : 'bar');
  const top = 30 + lg.height + 4;
  const bottom = H - 36;
  const sy = makeScale(c.y, bottom, top);
  const sx = makeScale(c.x, left + 10, W - right - 10);
  const xt = c.x.ticks ?? sx.ticks.map((t) => ({ at: t, label: sx.format(t) }));
  const parts: string[] = [
    `<text class="title" x="${left}" y="18">${esc(c.title)}</text>`,
    lg.svg,
    yAxis(sy, left, W - right, c.y.label, top, bottom),
  ];
  parts.push(`<line class="axis" x1="${left}" x2="${W - right}" y1="${bottom}" y2="${bottom}"/>`);
  for (const t of xt) {
    const x = sx(t.at);
    parts.push(
      `<line class="axis" x1="${r2(x)}" x2="${r2(x)}" y1="${bottom}" y2="${bottom + 4}"/><text class="tick" x="${r2(x)}" y="${bottom + 15}" text-anchor="middle">${esc(t.label)}</text>`,
    );
  }
  parts.push(`<text class="axis-label" x="${r2((left + W - right) / 2)}" y="${H - 4}" text-anchor="middle">${esc(c.x.label)}</text>`);
  for (const h of c.hlines ?? []) {
    const y = sy(h.y);
    parts.push(
      `<g class="refline"><line x1="${left}" x2="${W - right}" y1="${r2(y)}" y2="${r2(y)}" stroke="${h.colour ?? '#555'}" stroke-dasharray="5 3" stroke-width="1.2"/>` +
        `<text class="tick" x="${W - right - 2}" y="${r2(y - 4)}" text-anchor="end" fill="${h.colour ?? '#555'}">${esc(h.label)}</text></g>`,
    );
  }
  const clampY = (v: number) => Math.min(Math.max(v, sy.min), sy.max);
  for (const s of shownSeries) {
    const pts = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
    const g: string[] = [];
    if (s.line !== false && pts.length > 1) {
      const d = pts.map((p, i) => `${i ? 'L' : 'M'}${r2(sx(p.x))} ${r2(sy(clampY(p.y)))}`).join('');
      g.push(`<path d="${d}" fill="none" stroke="${s.colour}" stroke-width="1.8"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
    }
    for (const p of pts) {
      const x = sx(p.x);
      if (p.lo !== undefined && p.hi !== undefined && p.hi > p.lo) {
        const y0 = sy(clampY(p.lo));
        const y1 = sy(clampY(p.hi));
        g.push(
          `<path class="errbar" d="M${r2(x)} ${r2(y0)}V${r2(y1)}M${r2(x - 3)} ${r2(y0)}h6M${r2(x - 3)} ${r2(y1)}h6" stroke="${s.colour}" stroke-width="1.2" fill="none"/>`,
        );
      }
      g.push(marker(s.marker, x, sy(clampY(p.y)), s.colour, s.line === false ? 2.6 : 3.2, p.title));
    }
    parts.push(`<g class="series" data-series="${esc(s.key)}" data-points="${pts.length}">${g.join('')}</g>`);
  }
  return svgDoc(c.id, c.title, W, H, parts);
}

export interface RangeRow {
  readonly label: string;
  readonly series: string;
  readonly value: number | null;
  readonly lo?: number;
  readonly hi?: number;
  readonly title?: string;
}

/** Horizontal dot-and-range chart: one row per label, a dot at the value and a line over [lo, hi]. */
export function rangeChart(c: {
  id: string;
  title: string;
  rows: readonly RangeRow[];
  series: readonly Series[];
  x: AxisSpec;
  width?: number;
}): string {
  const W = c.width ?? 900;
  const left = 230;
  const right = 16;
  const series = c.series.filter((s) => c.rows.some((r) => r.series === s.key && r.value !== null && r.value > 0));
  const lg = legend(series, left, 34, W - left - right, 'bar');
  const top = 30 + lg.height + 6;
  const rowH = 17;
  const bottom = top + rowH * c.rows.length;
  const H = bottom + 38;
  const sx = makeScale(c.x, left + 4, W - right);
  const parts: string[] = [`<text class="title" x="10" y="18">${esc(c.title)}</text>`, lg.svg];
  for (const t of sx.ticks) {
    const x = sx(t);
    parts.push(
      `<line class="grid" x1="${r2(x)}" x2="${r2(x)}" y1="${top}" y2="${bottom}"/><text class="tick" x="${r2(x)}" y="${bottom + 14}" text-anchor="middle">${esc(sx.format(t))}</text>`,
    );
  }
  parts.push(`<line class="axis" x1="${left}" x2="${W - right}" y1="${bottom}" y2="${bottom}"/>`);
  parts.push(`<text class="axis-label" x="${r2((left + W - right) / 2)}" y="${H - 4}" text-anchor="middle">${esc(c.x.label)}</text>`);
  const by = new Map<string, string[]>(series.map((s) => [s.key, []]));
  c.rows.forEach((r, i) => {
    const y = top + rowH * i + rowH / 2;
    parts.push(`<text class="tick" x="${left - 6}" y="${r2(y + 3.5)}" text-anchor="end">${esc(r.label)}</text>`);
    const s = series.find((q) => q.key === r.series);
    if (!s || r.value === null || !(r.value > 0)) return;
    const seg =
      r.lo !== undefined && r.hi !== undefined
        ? `<line x1="${r2(sx(r.lo))}" x2="${r2(sx(r.hi))}" y1="${r2(y)}" y2="${r2(y)}" stroke="${s.colour}" stroke-width="2.5" opacity="0.45"/>`
        : '';
    by.get(s.key)!.push(`${seg}${marker('circle', sx(r.value), y, s.colour, 4, r.title ?? `${r.label}: ${sx.format(r.value)}`)}`);
  });
  parts.push(
    ...series.map(
      (s) => `<g class="series" data-series="${esc(s.key)}" data-points="${by.get(s.key)!.length}">${by.get(s.key)!.join('')}</g>`,
    ),
  );
  return svgDoc(c.id, c.title, W, H, parts);
}

function svgDoc(id: string, title: string, W: number, H: number, parts: readonly string[]): string {
  return `<svg class="plot" data-plot="${esc(id)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">${parts.join('')}</svg>`;
}
