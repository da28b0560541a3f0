/**
 * zones.md: the human report of `adzone zones` (zones.json holds everything; this is the short
 * read). The types of zones.json, schema 'adzone/zones' version 1, are src/zones/network/report.ts.
 *
 * Sections: a headline table (per precision: estimator vs exact share of batches in a zone, the
 * estimator's misses and inventions, non-regular and tied windows per batch), a per-layer table
 * per precision, explanations of the first few non-regular units, the timing, and a paragraph
 * comparing the shape of the result with docs/DESIGN.md §4's PyTorch reference.
 */
import type { ZonesFinding, ZonesHarmlessTie, ZonesLayerAggregate, ZonesPrecisionReport, ZonesReport } from '../schema/zones.ts';

// The types of zones.json are derived from its schema; re-exported for the readers that import them from here.
export type {
  ZonesBatchRecord,
  ZonesConfig,
  ZonesCounts,
  ZonesExactBatch,
  ZonesFinding,
  ZonesHarmlessTie,
  ZonesLayer,
  ZonesLayerAggregate,
  ZonesPrecisionReport,
  ZonesReport,
  ZonesSummary,
} from '../schema/zones.ts';

// ---------------------------------------------------------------------------------------------
// zones.md

const pct = (x: number | null) => (x === null ? '—' : `${(100 * x).toFixed(x > 0 && x < 0.001 ? 3 : 1)}%`);
const num = (x: number | null, d = 1) =>
  x === null
    ? '—'
    : !Number.isFinite(x)
      ? String(x)
      : Number.isInteger(x)
        ? x.toLocaleString('en-US')
        : Math.abs(x) < 1
          ? x.toPrecision(2)
          : x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const sci = (x: number) => (Number.isFinite(x) ? (x === 0 ? '0' : x.toExponential(2)) : String(x));
const sumR = (r: Readonly<Record<string, number>>) => Object.values(r).reduce((a, b) => a + b, 0);
const secs = (ms: number) => (ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`);

function causes(r: Readonly<Record<string, number>>): string {
  const parts = Object.entries(r)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k} ${num(v)}`);
  return parts.length ? parts.join(', ') : '0';
}

function batchList(xs: readonly number[]): string {
  if (!xs.length) return '';
  const shown = xs.slice(0, 12).join(', ');
  return ` (batch${xs.length > 1 ? 'es' : ''} ${shown}${xs.length > 12 ? ', …' : ''})`;
}

export function zonesMarkdown(r: ZonesReport): string {
  const L = [
    ...intro(r),
    ...headline(r),
    ...(r.config.exact.available ? [...perLayer(r), ...explanations(r)] : []),
    ...timing(r),
    '## Against the PyTorch reference (docs/DESIGN.md §4)',
    '',
    referenceComparison(r),
    '',
  ];
  return `${L.join('\n')}\n`;
}

/** Title, command, what was measured, and the run's notes. */
function intro(r: ZonesReport): string[] {
  const c = r.config;
  const exact = c.exact.available;
  const L: string[] = [`# adzone zones — ${c.model} (${c.variant}) on ${c.dataset}`, '', `\`${r.command}\``, ''];
  L.push(
    `One θ (untrained, initParams seed ${c.seed}), the first ${c.batches} ${c.split} mini-batch${c.batches > 1 ? 'es' : ''} of ${c.batchSize} in order, ` +
      `normalised (mean ${c.normalisation.mean.join('/')}, std ${c.normalisation.std.join('/')}); ${c.parameters.toLocaleString('en-US')} parameters, ` +
      `${c.maxpoolNodes} MaxPool layer${c.maxpoolNodes === 1 ? '' : 's'}; accumulation ${c.accumulate}, ReLU'(0) = ${c.reluAlpha}. ` +
      `Estimator: Σ_params ‖g(β=0) − g(β=1)‖∞ > threshold (${c.precisions.map((p) => `${sci(c.estimator.thresholds[p])} at ${p}`).join(', ')}). ` +
      (exact ? `Exact: routing at the exact values of round_p(x), round_p(θ), unit by unit against the engine's p routing.` : ''),
  );
  L.push('');
  if (!exact) {
    L.push(
      `> **Estimator only.** Exact classification is impossible for this model: ${c.exact.reason} The exact columns below are empty; the estimator's flags cannot be checked here.`,
    );
    L.push('');
  }
  for (const n of r.notes) L.push(`> ${n}`, '');
  return L;
}

/** The headline table and one line of detail per precision. */
function headline(r: ZonesReport): string[] {
  const L: string[] = ['## Headline', ''];
  L.push(
    '| precision | batches | estimator in zone | exact in zone | missed | invented | non-regular windows per batch | tied windows per batch (harmless: all-zero / identical patches) |',
  );
  L.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const p of r.precisions) {
    const s = p.summary;
    const w = s.windowsPerBatch;
    const cmp = s.comparison;
    L.push(
      `| ${p.precision} | ${s.batches} | ${s.estimatorInZone} (${pct(s.estimatorShare)}) | ${s.exactInZone === null ? '—' : `${s.exactInZone} (${pct(s.exactShare)})`} | ` +
        `${cmp ? cmp.missed : '—'} | ${cmp ? cmp.invented : '—'} | ${num(w.nonRegular)} | ` +
        `${w.exactTied === null ? '—' : `${num(w.exactTied)} of ${num(w.units)} (${num(w.harmlessAllZero)} / ${num(w.harmlessIdenticalPatches)})`} |`,
    );
  }
  L.push('');
  L.push(
    '"In zone" for the exact classification: some MaxPool window or ReLU unit is in bifurcation (a real tie that reaches the gradient) or compensation ' +
      '(rounding made or broke a tie, or swapped the argmax). *Missed*: exact says zone, the estimator does not; *invented*: the reverse. ' +
      'Tied windows are exact ties (≥ 2 entries equal to the real maximum); harmless ones are all-zero windows after a ReLU whose pre-activations are ' +
      'all negative, and ties between identical input patches.',
  );
  L.push('');
  for (const p of r.precisions) L.push(`- **${p.precision} bits**: ${precisionDetail(p).join('; ')}.`);
  L.push('');
  return L;
}

function precisionDetail(p: ZonesPrecisionReport): string[] {
  const s = p.summary;
  const bits: string[] = [];
  bits.push(
    `estimator distance min ${sci(s.distance.min)}, median ${sci(s.distance.median)}, max ${sci(s.distance.max)} (threshold ${sci(p.threshold)})${s.distance.nonfinite ? `, ${s.distance.nonfinite} non-finite` : ''}`,
  );
  bits.push(`windows tied in p ${num(s.windowsPerBatch.pTied)} per batch`);
  if (s.exactInZone !== null) {
    bits.push(
      `exact: ${s.exactBifurcation} batch${s.exactBifurcation === 1 ? '' : 'es'} with a bifurcation, ${s.exactCompensation} with compensation only`,
    );
    bits.push(
      `non-regular ReLU units ${num(s.reluPerBatch.nonRegular)} per batch, samples in zone ${num(s.samplesInZonePerBatch)} per batch`,
    );
  }
  if (s.comparison && (s.comparison.missed || s.comparison.invented)) {
    if (s.comparison.missed) bits.push(`missed${batchList(s.comparison.missedAt)}`);
    if (s.comparison.invented) bits.push(`invented${batchList(s.comparison.inventedAt)}`);
  }
  return bits;
}

/** Per precision, per layer: counts summed over every batch. */
function perLayer(r: ZonesReport): string[] {
  const L: string[] = [
    '## Per layer',
    '',
    "Counts summed over every batch; shares are of the layer's windows (MaxPool) or units (ReLU).",
    '',
  ];
  for (const p of r.precisions) {
    if (!p.layers) continue;
    L.push(`### ${p.precision} bits`);
    L.push('');
    L.push(
      '| layer | units | regular | harmless (all-zero / identical / unrouted / fixed-α) | bifurcation (causes) | compensation (causes) | exact tied | tied in p | batches hit |',
    );
    L.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const l of p.layers) L.push(layerRow(l));
    L.push('');
  }
  L.push(
    'Causes: `tie-positive` a real tie among positive values that reaches the gradient; `tie-zero` a real tie at 0 that is not erased by the ReLU before it; ' +
      '`tie` rounding tied the real argmax with other entries (or put a ReLU input at 0); `flip` rounding moved the argmax (or a ReLU sign). ' +
      'For ReLU rows "exact tied" counts units exactly at 0 and "tied in p" units at 0 in p.',
  );
  L.push('');
  return L;
}

function layerRow(l: ZonesLayerAggregate): string {
  const h = l.harmless;
  const b = sumR(l.bifurcation);
  const cm = sumR(l.compensation);
  return (
    `| \`${l.node}\` ${l.label} | ${num(l.units)} | ${pct(l.share.regular)} | ${pct(l.share.harmless)} (${num(h['all-zero'])} / ${num(h['identical-patches'])} / ${num(h.unrouted)} / ${num(h['fixed-alpha'])}) | ` +
    `${num(b)} ${b ? `(${pct(l.share.bifurcation)}: ${causes(l.bifurcation)})` : ''} | ${num(cm)} ${cm ? `(${pct(l.share.compensation)}: ${causes(l.compensation)})` : ''} | ` +
    `${num(l.exactTied)} | ${num(l.pTied)} | ${l.batchesWithNonRegular} |`
  );
}

/** The explained non-regular units of each precision, and a few harmless ties. */
function explanations(r: ZonesReport): string[] {
  const L: string[] = ['## Explanations', ''];
  let any = false;
  for (const p of r.precisions) {
    if (!p.findings.length) continue;
    any = true;
    L.push(`### ${p.precision} bits — non-regular units`);
    L.push('');
    L.push(
      "The first unit of each (layer, zone, cause) in batch order, bifurcations first, then MaxPool windows, then ReLU units. Entries: index in the layer's input, exact value, value in p, structural id (equal ids: identical computations).",
    );
    L.push('');
    for (const f of p.findings) L.push(...finding(f));
    L.push('');
  }
  if (!any) L.push('No non-regular unit at any precision.', '');
  const withHarmless = r.precisions.find((p) => p.harmlessExamples.length);
  if (withHarmless) {
    L.push(`### Harmless ties (${withHarmless.precision} bits, first batch)`);
    L.push('');
    for (const f of withHarmless.harmlessExamples.slice(0, 4)) L.push(...finding(f));
    L.push('');
  }
  return L;
}

function timing(r: ZonesReport): string[] {
  const exact = r.config.exact.available;
  const L: string[] = [
    '## Timing',
    '',
    '| precision | engine (2 passes) | exact routing | classification |',
    '| --- | ---: | ---: | ---: |',
  ];
  for (const p of r.precisions)
    L.push(
      `| ${p.precision} | ${secs(p.timing.engineMs)} | ${exact ? secs(p.timing.exactMs) : '—'} | ${exact ? secs(p.timing.classifyMs) : '—'} |`,
    );
  L.push('');
  L.push(
    `Wall time ${r.timing.wallSeconds.toFixed(1)} s with ${r.timing.jobs} job${r.timing.jobs > 1 ? 's' : ''}. Stage times are elapsed time inside each task, summed over tasks ` +
      `(with several jobs they add up to more than the wall time; on a busy machine they include waiting for a CPU). ${bottleneck(r)}`,
  );
  L.push('');
  return L;
}

function finding(f: ZonesFinding | ZonesHarmlessTie): string[] {
  const what = 'harmless' in f ? `harmless ${f.harmless}` : `${f.zone} (${f.cause})`;
  const setText = (s: readonly number[]) => (f.kind === 'maxpool' ? `{${s.join(', ')}}` : `${s[0] > 0 ? '+' : s[0] < 0 ? '−' : '0'}`);
  const head =
    `- batch ${f.batch}, sample ${f.sample} (data-set index ${f.datasetIndex}), \`${f.node}\` ${f.label}, ${f.kind === 'maxpool' ? 'window' : 'unit'} ${f.unit}: **${what}** — ` +
    (f.kind === 'maxpool'
      ? `exact tie set ${setText(f.exact)}, in p ${setText(f.rounded)}`
      : `exact sign ${setText(f.exact)}, in p ${setText(f.rounded)}`);
  const rows = f.entries.map((e) => {
    const exactText = e.exact.length > 40 ? `${e.exact.slice(0, 40)}…` : e.exact;
    return `    - [${e.index}] exact ${exactText}${e.p === null ? '' : `, in p ${e.p}`}${f.kind === 'maxpool' ? `, structure #${e.sid}` : ''}`;
  });
  return [head, ...rows];
}

function bottleneck(r: ZonesReport): string {
  const parts: string[] = [];
  for (const p of r.precisions) {
    const t = p.timing;
    const total = t.engineMs + t.exactMs + t.classifyMs;
    if (!total) continue;
    const stage = t.exactMs + t.classifyMs > t.engineMs ? 'the exact stage (routing + classification)' : 'the engine (two gradient passes)';
    parts.push(`${p.precision} bits: ${stage}, ${Math.round((100 * Math.max(t.engineMs, t.exactMs + t.classifyMs)) / total)}%`);
  }
  return parts.length ? `Bottleneck per precision — ${parts.join('; ')}.` : '';
}

/**
 * One paragraph comparing the shape of the measurement with docs/DESIGN.md §4: the PyTorch 1.13 LeNet-5 /
 * MNIST estimator run (0 batches over threshold at 64, 4 of 100 at 32, 0 at bfloat16 despite ≈590 real
 * ties per batch; ≈122k of 202k windows tied, 79k all-zero, the rest identical patches) and the
 * paper's VGG11 / CIFAR10 shares (100% / 55.2% / 0% at 16 / 32 / 64).
 */
export function referenceComparison(r: ZonesReport): string {
  const c = r.config;
  const match: string[] = [];
  const differ: string[] = [];
  if (c.exact.available) orderingChecks(r, match, differ);
  let ref: string;
  if (c.model.startsWith('lenet5') && c.dataset === 'mnist') ref = lenetComparison(r, match, differ);
  else if (c.model === 'vgg11' && (c.dataset === 'cifar10' || c.dataset === 'svhn')) ref = vggComparison(r, match, differ);
  else {
    ref =
      'docs/DESIGN.md §4 (no reference run exists for this model and data set; the expected shape is the same everywhere: zones common at 16 bits, rarer at 32, none at 64)';
    for (const p of r.precisions) {
      const e = p.summary.estimatorShare;
      if (p.precision === '64') (e === 0 ? match : differ).push(`the estimator flags ${pct(e)} of batches at 64 bits`);
    }
    if (c.maxpoolNodes === 0)
      differ.push(
        'this model has no MaxPool, so β cannot change any gradient and the estimator is 0 by construction; only ReLU units can be non-regular',
      );
  }
  return summarise(ref, match, differ, r);
}

const byPrecision = (r: ZonesReport, p: string) => r.precisions.find((x) => x.precision === p) ?? null;
const shareOf = (p: ZonesPrecisionReport | null, key: 'estimatorShare' | 'exactShare') => (p ? p.summary[key] : null);

/** Ordering of the exact non-regular share (16 > 32 > 64, 64 ≈ 0): the expectation of every reference. */
function orderingChecks(r: ZonesReport, match: string[], differ: string[]): void {
  const nr = (p: ZonesPrecisionReport | null) => (p ? (p.summary.windowsPerBatch.nonRegular ?? 0) : null);
  const a = nr(byPrecision(r, '16'));
  const b = nr(byPrecision(r, '32'));
  const d = nr(byPrecision(r, '64'));
  if (a === null || b === null || d === null) return;
  const ordered = a >= b && b >= d && (a > d || a === 0);
  (ordered ? match : differ).push(
    `non-regular windows per batch fall with precision (${num(a)} at 16, ${num(b)} at 32, ${num(d)} at 64 bits)${ordered ? '' : ' — not in the expected order 16 > 32 > 64'}`,
  );
  if (d === 0) match.push('64 bits is exactly regular, as every reference has it');
  else differ.push(`64 bits is not exactly regular (${num(d)} non-regular windows per batch)`);
}

/** LeNet-5 / MNIST against the PyTorch run of docs/DESIGN.md §4; returns the reference's description. */
function lenetComparison(r: ZonesReport, match: string[], differ: string[]): string {
  const exact = r.config.exact.available;
  const p16 = byPrecision(r, '16');
  const e64 = shareOf(byPrecision(r, '64'), 'estimatorShare');
  const e32 = shareOf(byPrecision(r, '32'), 'estimatorShare');
  const e16 = shareOf(p16, 'estimatorShare');
  if (e64 !== null) (e64 === 0 ? match : differ).push(`the estimator flags ${pct(e64)} of batches at 64 bits (reference 0 of 100)`);
  if (e32 !== null)
    (e32 <= 0.1 ? match : differ).push(
      `it flags ${pct(e32)} at 32 bits (reference 4 of 100: two rounding noise just over 1e-7, two real ties)`,
    );
  if (e16 !== null) {
    const x16 = shareOf(p16, 'exactShare');
    const missesReal = exact && x16 !== null && x16 > e16;
    (e16 === 0 || missesReal ? match : differ).push(
      `at 16 bits it flags ${pct(e16)}${exact && x16 !== null ? ` while the exact classification puts ${pct(x16)} in a zone (${num(p16!.summary.windowsPerBatch.nonRegular)} non-regular windows per batch)` : ''} — the reference saw 0 flagged at bfloat16 despite ≈590 real ties per batch, i.e. the estimator misses zones in low precision` +
        (missesReal ? ' (the same happens here, in binary16, which PyTorch CPU cannot run)' : ''),
    );
  }
  const p32 = byPrecision(r, '32');
  if (exact && p32) tieChecks(p32.summary.windowsPerBatch, match, differ);
  if (r.config.model === 'lenet5')
    differ.push(
      "the architecture is the paper's unpadded LeNet-5 with its Kaiming/N(0, 0.01) init, not the padded default-init net of the PyTorch run (run --model lenet5-padded for that one), so window counts differ by design",
    );
  return 'the PyTorch 1.13 CPU run of docs/DESIGN.md §4 (lenet5-padded, default init, first 100 MNIST batches of 128)';
}

/** Tied windows at 32 bits against the reference's ≈122k of 202k, 79k of them all-zero. */
function tieChecks(w: ZonesPrecisionReport['summary']['windowsPerBatch'], match: string[], differ: string[]): void {
  if (w.exactTied === null || w.units <= 0) return;
  const tiedShare = w.exactTied / w.units;
  const allZeroShare = w.exactTied ? (w.harmlessAllZero ?? 0) / w.exactTied : 0;
  const identShare = w.exactTied ? (w.harmlessIdenticalPatches ?? 0) / w.exactTied : 0;
  const refTied = 122 / 202;
  const refAllZero = 79 / 122;
  (Math.abs(tiedShare - refTied) < 0.2 ? match : differ).push(
    `${pct(tiedShare)} of pooling windows are exactly tied (${num(w.exactTied)} of ${num(w.units)} per batch; reference ≈60%, 122k of 202k)`,
  );
  (identShare + allZeroShare > 0.9 ? match : differ).push(
    `almost all ties are harmless: ${pct(allZeroShare)} all-zero and ${pct(identShare)} identical patches (reference: 65% all-zero, almost all the rest identical background patches)`,
  );
  if (Math.abs(allZeroShare - refAllZero) > 0.1) {
    differ.push(
      `the split of harmless ties differs: ${pct(allZeroShare)} all-zero here against ${pct(refAllZero)} in the reference (a different θ and architecture change how many ReLU outputs are all zero)`,
    );
  }
}

/** VGG11 / CIFAR-10 (or SVHN) against the paper's shares; returns the reference's description. */
function vggComparison(r: ZonesReport, match: string[], differ: string[]): string {
  const c = r.config;
  const refShare: Record<string, number> = { '16': 1, '32': 0.552, '64': 0 };
  for (const p of r.precisions) {
    const e = p.summary.estimatorShare;
    const x = p.summary.exactShare;
    const want = refShare[p.precision];
    if (want === undefined) continue;
    const close = (v: number) => (want === 0 ? v === 0 : want === 1 ? v >= 0.9 : v > 0.1 && v < 0.95);
    (close(e) ? match : differ).push(
      `estimator ${pct(e)} at ${p.precision} bits (paper ${pct(want)})${x === null ? '' : `, exact ${pct(x)}`}`,
    );
  }
  if (c.batches < 50)
    differ.push(`only ${c.batches} batch${c.batches > 1 ? 'es' : ''} were measured (the paper: 391), so shares are coarse`);
  if (c.modelOptions.width !== undefined && c.modelOptions.width !== 1)
    differ.push(`the network is ${String(c.modelOptions.width)}× the paper's width`);
  if (c.dataset === 'cifar10') differ.push('the CIFAR-10 images are the shared JPEG-decoded subset (lossy), not the official batches');
  return "the paper's VGG11 / CIFAR10 shares of mini-batches in a zone (one θ, 391 batches: 100% at 16 bits, 55.2% at 32, 0% at 64)";
}

function summarise(ref: string, match: string[], differ: string[], r: ZonesReport): string {
  const s = [`Compared with ${ref} — shape, not digits.`];
  s.push(match.length ? `What matches: ${match.join('; ')}.` : 'Nothing measured here lines up with the reference.');
  s.push(differ.length ? `What does not: ${differ.join('; ')}.` : 'Nothing measured here contradicts it.');
  if (!r.config.exact.available)
    s.push("Without the exact classification (batch norm) the estimator's misses and inventions cannot be counted here.");
  else {
    const missed = r.precisions.reduce((a, p) => a + (p.summary.comparison?.missed ?? 0), 0);
    const invented = r.precisions.reduce((a, p) => a + (p.summary.comparison?.invented ?? 0), 0);
    s.push(
      missed || invented
        ? `As in the reference, the threshold estimator is not a classifier: over all precisions it missed ${missed} and invented ${invented} batch zone${missed + invented === 1 ? '' : 's'} against the exact classification.`
        : 'Here the threshold estimator agreed with the exact classification on every batch.',
    );
  }
  return s.join(' ');
}
