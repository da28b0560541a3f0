/**
 * Training sections: test accuracy against β per (precision, optimizer, batch norm) — and per
 * recipe when one configuration was trained several ways (other epochs, lr, limits, …: never
 * averaged together, labelled apart by the fields that differ) — mean over seeds with the min–max
 * spread as error bars, one chart per (model, data set); and training curves from metrics.jsonl.
 */
import type { MetricsFile } from '../../schema/discover.ts';
import { accuracyByBeta, configLabel, modelLabel, type RunRow } from '../../schema/runs.ts';
import { PALETTE, precisionColour } from './colours.ts';
import { esc, fmtPow, lineChart, niceTicks, pow10, type Series } from './svg.ts';

const DASHES = [undefined, '6 3', '2 3', '8 3 2 3'];
const betaLabel = (b: number) => (b === 0 ? '0' : b >= 1000 && Math.log10(b) % 1 === 0 ? fmtPow(b) : String(b));

export function accuracySection(runs: readonly RunRow[], id: string): string {
  if (!runs.length) return '';
  const out: string[] = [`<section id="${id}"><h2>Test accuracy against β</h2>`];
  out.push(
    '<p class="note">Final test accuracy per configuration: the line joins the mean over seeds, the error bar spans the lowest and highest seed. Colour: precision; line style: optimizer; square markers: with batch norm. β is on an ordinal axis (0, 1, 10, …).</p><div class="grid">',
  );
  const groups = new Map<string, RunRow[]>();
  // One chart per architecture (model, width, stem) and data set.
  for (const r of runs) {
    const g = `${modelLabel(r)}|${r.dataset}`;
    groups.set(g, [...(groups.get(g) ?? []), r]);
  }
  const optimizers = [...new Set(runs.map((r) => r.optimizer))].sort();
  for (const [g, rs] of groups) {
    const [model, dataset] = g.split('|');
    const betas = [...new Set(rs.map((r) => r.beta))].sort((a, b) => a - b);
    const xOf = (b: number) => betas.indexOf(b);
    // One series per configuration, or per (configuration, recipe) when one was trained several ways (see accuracyByBeta).
    const acc = accuracyByBeta(rs);
    const configs = [...new Map(acc.map((a) => [a.group, a])).values()].sort(
      (a, b) =>
        Number(a.config.precision) - Number(b.config.precision) ||
        a.config.optimizer.localeCompare(b.config.optimizer) ||
        Number(a.config.batchNorm) - Number(b.config.batchNorm) ||
        a.group.localeCompare(b.group),
    );
    // Dodge: shift each configuration a little along x so overlapping error bars stay apart.
    const dodge = (i: number) => (configs.length > 1 ? (i - (configs.length - 1) / 2) * Math.min(0.08, 0.5 / configs.length) : 0);
    const series = configs.map(({ group, label, config: cfg }, ci) => {
      const pts = acc
        .filter((a) => a.group === group)
        .sort((a, b) => a.beta - b.beta)
        .map((a) => ({
          x: xOf(a.beta) + dodge(ci),
          y: 100 * a.mean,
          lo: 100 * a.min,
          hi: 100 * a.max,
          title: `${label}, β = ${a.beta}: ${(100 * a.mean).toFixed(2)}% (${a.seeds} seed${a.seeds > 1 ? 's' : ''}, ${(100 * a.min).toFixed(2)}–${(100 * a.max).toFixed(2)}%)`,
        }));
      return {
        key: group,
        label,
        colour: precisionColour(cfg.precision),
        dash: DASHES[optimizers.indexOf(cfg.optimizer) % DASHES.length],
        marker: cfg.batchNorm ? ('square' as const) : ('circle' as const),
        points: pts,
      };
    });
    // one scale for every accuracy chart: 0 to 100%, whatever these runs reached
    out.push(
      `<figure>${lineChart({
        id: `${id}-${model.replace(/[^A-Za-z0-9]+/g, '-').replace(/-$/, '')}-${dataset}`,
        title: `${model} on ${dataset}`,
        series,
        x: {
          label: 'β (backward-pass mixing of minnorm into first)',
          scale: 'linear',
          min: -0.3,
          max: Math.max(0.3, betas.length - 0.7),
          ticks: betas.map((b, i) => ({ at: i, label: betaLabel(b) })),
        },
        y: { label: 'test accuracy (%)', scale: 'linear', min: 0, max: 100 },
        width: 520,
        height: 300,
      })}<figcaption>${rs.length} runs, ${configs.length} configurations.</figcaption></figure>`,
    );
  }
  out.push('</div>');
  // The numbers behind the charts.
  out.push(
    '<details><summary>Accuracy table</summary><table class="small"><thead><tr><th>model</th><th>data set</th><th>configuration</th><th>β</th><th>seeds</th><th>mean</th><th>min–max</th></tr></thead><tbody>',
  );
  for (const a of accuracyByBeta(runs).sort((x, y) => x.key.localeCompare(y.key) || x.beta - y.beta)) {
    out.push(
      `<tr><td>${esc(modelLabel(a.config))}</td><td>${esc(a.config.dataset)}</td><td>${esc(a.label)}</td><td>${a.beta}</td><td>${a.seeds}</td><td>${(100 * a.mean).toFixed(2)}%</td><td>${(100 * a.min).toFixed(2)}–${(100 * a.max).toFixed(2)}%</td></tr>`,
    );
  }
  out.push('</tbody></table></details>');
  out.push(tuneTable(runs));
  out.push('</section>');
  return out.join('\n');
}

const pctOr = (x: number | null | undefined) => (x == null ? '—' : `${(100 * x).toFixed(2)}%`);

/** The runs whose lr was searched (adzone ablate with a `tune:` block): the lr chosen and every trial. */
function tuneTable(runs: readonly RunRow[]): string {
  const tuned = runs.filter((r) => r.tune).sort((a, b) => Number(a.precision) - Number(b.precision) || a.beta - b.beta || a.seed - b.seed);
  if (!tuned.length) return '';
  const rows = tuned.map((r) => {
    const t = r.tune!;
    const trials = t.trials
      .map((x) => `${x.lr}: ${x.status}${x.status === 'pruned' ? ` at ${x.epochs}` : ''} (${pctOr(x.valAcc)})`)
      .join('; ');
    return `<tr><td>${esc(modelLabel(r))}</td><td>${esc(configLabel(r))}</td><td>${r.beta}</td><td>${r.seed}</td><td>${t.lr}</td><td>${pctOr(t.valAcc)}</td><td>${pctOr(r.testAccuracy)}</td><td class="small">${esc(trials)}</td></tr>`;
  });
  return [
    '<details><summary>Learning rates searched</summary>',
    '<p class="note">Each run\'s lr was chosen by a search (its tune.json): trials drawn stratified log-uniform, pruned by successive halving, chosen on the validation accuracy of a split carved from the train split (the paper chooses on test accuracy). Trials: lr: how it ended (validation accuracy at its last epoch).</p>',
    '<table class="small"><thead><tr><th>model</th><th>configuration</th><th>β</th><th>seed</th><th>lr chosen</th><th>validation</th><th>test</th><th>trials</th></tr></thead><tbody>',
    ...rows,
    '</tbody></table></details>',
  ].join('\n');
}

const X_KEYS = ['epoch', 'step', 'iteration', 'iter', 'batch'];
const SKIP = new Set([
  'seed',
  'beta',
  'lr',
  'seconds',
  'epochSeconds',
  'trainSeconds',
  'evalSeconds',
  'steps',
  'skipped',
  'lossScale',
  'ms',
  ...X_KEYS,
]);

interface CurveSpec {
  readonly metric: string;
  readonly title: string;
  readonly x: string;
  /** Which lines of a metrics file this curve reads. */
  readonly lines: (m: MetricsFile) => readonly Record<string, unknown>[];
}

/**
 * Curves to draw. `adzone train` writes 'step' lines (loss every K steps) and 'epoch' lines (loss,
 * trainAcc, testLoss, testAcc): training loss per step, the rest per epoch. Files without `kind`
 * get one curve per numeric field against the first of epoch / step / iteration present.
 */
function curveSpecs(files: readonly MetricsFile[]): CurveSpec[] {
  const kinded = files.some((m) => m.lines.some((l) => l.kind === 'step' || l.kind === 'epoch'));
  if (kinded) {
    const steps = (m: MetricsFile) => {
      const s = m.lines.filter((l) => l.kind === 'step');
      return s.length ? s : m.lines.filter((l) => l.kind === 'epoch');
    };
    const epochs = (m: MetricsFile) => m.lines.filter((l) => l.kind === 'epoch');
    return [
      { metric: 'loss', title: 'training loss', x: 'step', lines: steps },
      { metric: 'testAcc', title: 'test accuracy', x: 'epoch', lines: epochs },
      { metric: 'testLoss', title: 'test loss', x: 'epoch', lines: epochs },
      { metric: 'trainAcc', title: 'training accuracy', x: 'epoch', lines: epochs },
    ];
  }
  const x = X_KEYS.find((k) => files.every((m) => m.lines.every((l) => typeof l[k] === 'number'))) ?? 'line';
  const names = [
    ...new Set(files.flatMap((m) => m.lines.flatMap((l) => Object.keys(l).filter((k) => typeof l[k] === 'number' && !SKIP.has(k))))),
  ].slice(0, 6);
  return names.map((n) => ({ metric: n, title: n, x, lines: (m: MetricsFile) => m.lines }));
}

/**
 * The y axis of a training curve, by the kind of metric and never by the data: losses on a log
 * scale (they fall over decades), accuracies linear from 0 to 1 (or 100), anything else linear.
 */
function curveScale(metric: string, ys: readonly number[]): { scale: 'linear' | 'log'; min: number; max: number } {
  if (/acc/i.test(metric)) return { scale: 'linear', min: 0, max: Math.max(...ys) <= 1 ? 1 : 100 };
  if (/loss/i.test(metric)) {
    const pos = ys.filter((y) => y > 0);
    const lo = pos.length ? Math.min(...pos) : 1e-3;
    const hi = pos.length ? Math.max(...pos) : 1;
    return { scale: 'log', min: pow10(Math.floor(Math.log10(lo))), max: pow10(Math.ceil(Math.log10(hi) + 1e-9)) };
  }
  const top = Math.max(0, ...ys);
  return { scale: 'linear', min: Math.min(0, ...ys), max: top > 0 ? (niceTicks(0, top * 1.05).at(-1) ?? top) : 1 };
}

export function curvesSection(metrics: readonly MetricsFile[], runs: readonly RunRow[], id: string): string {
  const files = metrics.filter((m) => m.lines.length > 0);
  if (!files.length) return '';
  const MAX_RUNS = 10;
  const shownFiles = files.slice(0, MAX_RUNS);
  const label = (m: MetricsFile) => {
    const r = runs.find((x) => x.dir === m.dir);
    return r ? `${configLabel(r)} β=${r.beta} seed ${r.seed}` : m.dir.split(/[\\/]/).slice(-1)[0];
  };
  const colour = (m: MetricsFile, i: number) => {
    const r = runs.find((x) => x.dir === m.dir);
    // One run per precision: the precision colour; several: a palette.
    return r && new Set(shownFiles.map((f) => runs.find((x) => x.dir === f.dir)?.precision)).size === shownFiles.length
      ? precisionColour(r.precision)
      : PALETTE[i % PALETTE.length];
  };
  const out: string[] = [`<section id="${id}"><h2>Training curves</h2>`];
  if (files.length > MAX_RUNS) out.push(`<p class="note">Showing ${MAX_RUNS} of ${files.length} runs with metrics.jsonl.</p>`);
  out.push('<div class="grid">');
  for (const c of curveSpecs(shownFiles)) {
    const series: (Series & { points: { x: number; y: number }[] })[] = shownFiles
      .map((m, i) => ({
        key: m.file,
        label: label(m),
        colour: colour(m, i),
        points: c
          .lines(m)
          .map((l, j) => ({ x: c.x === 'line' ? j : (l[c.x] as number), y: l[c.metric] as number }))
          .filter((p) => typeof p.x === 'number' && typeof p.y === 'number' && Number.isFinite(p.y)),
      }))
      .filter((s) => s.points.length > 0);
    if (!series.length) continue;
    const xs = series.flatMap((s) => s.points.map((p) => p.x));
    const ys = series.flatMap((s) => s.points.map((p) => p.y));
    const sc = curveScale(c.metric, ys);
    const isAcc = /acc/i.test(c.metric);
    const yMin = sc.min;
    const yMax = sc.max;
    out.push(
      `<figure>${lineChart({
        id: `${id}-${c.metric}`,
        title: `${c.title} per ${c.x}`,
        series: series.map((s) => ({
          ...s,
          points: s.points.map((p) => ({ ...p, title: `${s.label}: ${c.x} ${p.x}, ${c.metric} ${Number(p.y.toPrecision(5))}` })),
        })),
        x: { label: c.x, scale: 'linear', min: Math.min(...xs), max: Math.max(Math.min(...xs) + 1, ...xs) },
        y: {
          label: `${c.metric}${sc.scale === 'log' ? ' (log scale)' : ''}`,
          scale: sc.scale,
          min: yMin,
          max: yMax,
          ...(isAcc && yMax <= 1 ? { format: (v: number) => `${Math.round(100 * v)}%` } : {}),
        },
        width: 520,
        height: 300,
      })}</figure>`,
    );
  }
  out.push('</div></section>');
  return out.join('\n');
}
