/**
 * The per-precision part of zones.json from the per-batch records: per-layer counts summed over
 * batches, the headline summary (estimator against exact, windows and ReLU units per batch), the
 * findings kept, and the timings.
 */
import { formatByName } from '../../precision/index.ts';
import { compareEstimator, ESTIMATOR_THRESHOLDS } from './estimator.ts';
import { FINDINGS_PER_PRECISION, pickFindings } from './explain.ts';
import type { ZonesBatchRecord, ZonesCounts, ZonesLayerAggregate, ZonesPrecisionReport, ZonesSummary } from './report.ts';
import type { TaskResult } from './task.ts';

type Mutable<T> = {
  -readonly [K in keyof T]: T[K] extends Readonly<Record<string, number>> ? { -readonly [J in keyof T[K]]: number } : T[K];
};

const zeroCounts = (): Mutable<ZonesCounts> => ({
  units: 0,
  regular: 0,
  harmless: { 'identical-patches': 0, 'all-zero': 0, unrouted: 0, 'fixed-alpha': 0 },
  bifurcation: { 'tie-positive': 0, 'tie-zero': 0, 'tie-negative': 0 },
  compensation: { tie: 0, flip: 0 },
  harmlessRoundingDiffs: 0,
  exactTied: 0,
  pTied: 0,
});
const sumR = (r: Readonly<Record<string, number>>) => Object.values(r).reduce((a, b) => a + b, 0);

function addInto(acc: ReturnType<typeof zeroCounts>, l: ZonesCounts): void {
  acc.units += l.units;
  acc.regular += l.regular;
  acc.harmlessRoundingDiffs += l.harmlessRoundingDiffs;
  acc.exactTied += l.exactTied;
  acc.pTied += l.pTied;
  for (const k of Object.keys(acc.harmless) as (keyof typeof acc.harmless)[]) (acc.harmless as Record<string, number>)[k] += l.harmless[k];
  for (const k of Object.keys(acc.bifurcation) as (keyof typeof acc.bifurcation)[])
    (acc.bifurcation as Record<string, number>)[k] += l.bifurcation[k];
  for (const k of Object.keys(acc.compensation) as (keyof typeof acc.compensation)[])
    (acc.compensation as Record<string, number>)[k] += l.compensation[k];
}

/** The report of one precision from its tasks' results, batch by batch in order. */
export function precisionReport(p: string, rs: readonly TaskResult[], exactOk: boolean): ZonesPrecisionReport {
  const records = rs.map((x) => x.record);
  const layers = aggregateLayers(records);
  return {
    precision: p,
    format: formatByName(p).label,
    threshold: ESTIMATOR_THRESHOLDS[p],
    summary: summarise(records, layers, exactOk),
    layers,
    findings: pickFindings(
      rs.flatMap((x) => x.findings),
      FINDINGS_PER_PRECISION,
      (f) => `${f.node}|${f.zone}|${f.cause}`,
      true,
    ),
    harmlessExamples: rs.flatMap((x) => x.harmless).slice(0, 6),
    timing: {
      engineMs: records.reduce((a, x) => a + x.ms.engine, 0),
      exactMs: records.reduce((a, x) => a + x.ms.exact, 0),
      classifyMs: records.reduce((a, x) => a + x.ms.classify, 0),
    },
    batches: records,
  };
}

function aggregateLayers(records: readonly ZonesBatchRecord[]): ZonesLayerAggregate[] | null {
  if (!records.length || !records[0].exact) return null;
  return records[0].exact.layers.map((first, li) => {
    const acc = zeroCounts();
    let hit = 0;
    for (const r of records) {
      const l = r.exact!.layers[li];
      addInto(acc, l);
      if (sumR(l.bifurcation) + sumR(l.compensation) > 0) hit++;
    }
    const u = acc.units || 1;
    return {
      node: first.node,
      exactPath: first.exactPath,
      kind: first.kind,
      label: first.label,
      ...acc,
      share: {
        regular: acc.regular / u,
        harmless: sumR(acc.harmless) / u,
        bifurcation: sumR(acc.bifurcation) / u,
        compensation: sumR(acc.compensation) / u,
      },
      batchesWithNonRegular: hit,
    };
  });
}

function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

type ExactSummary = Pick<
  ZonesSummary,
  'exactInZone' | 'exactShare' | 'exactBifurcation' | 'exactCompensation' | 'comparison' | 'samplesInZonePerBatch'
>;

function summarise(records: readonly ZonesBatchRecord[], layers: readonly ZonesLayerAggregate[] | null, exactOk: boolean): ZonesSummary {
  const n = records.length;
  const est = records.map((r) => r.estimator.inZone);
  const dists = records.map((r) => r.estimator.distance);
  const finite = dists.filter((d) => Number.isFinite(d));
  const estimatorInZone = est.filter(Boolean).length;
  const perBatch = (f: (r: ZonesBatchRecord) => number) => (n ? records.reduce((a, r) => a + f(r), 0) / n : 0);
  const exact = exactOk && layers;
  return {
    batches: n,
    estimatorInZone,
    estimatorShare: n ? estimatorInZone / n : 0,
    ...(exact ? exactSummary(records, est) : NO_EXACT),
    distance: {
      min: finite.length ? Math.min(...finite) : NaN,
      median: median(dists),
      max: finite.length ? Math.max(...finite) : NaN,
      nonfinite: dists.length - finite.length,
    },
    windowsPerBatch: exact
      ? windowsPerBatch(records, layers)
      : { units: perBatch((r) => r.windows), pTied: perBatch((r) => r.pTiedWindows), ...NO_EXACT_WINDOWS },
    reluPerBatch: exact ? reluPerBatch(records, layers) : { units: 0, nonRegular: null, exactZero: null },
  };
}

const NO_EXACT: ExactSummary = {
  exactInZone: null,
  exactShare: null,
  exactBifurcation: null,
  exactCompensation: null,
  comparison: null,
  samplesInZonePerBatch: null,
};

const NO_EXACT_WINDOWS = {
  exactTied: null,
  nonRegular: null,
  bifurcation: null,
  compensation: null,
  harmlessAllZero: null,
  harmlessIdenticalPatches: null,
};

function exactSummary(records: readonly ZonesBatchRecord[], est: readonly boolean[]): ExactSummary {
  const n = records.length;
  const ex = records.map((r) => r.exact!.inZone);
  const cmp = compareEstimator(est, ex);
  const exactInZone = ex.filter(Boolean).length;
  return {
    exactInZone,
    exactShare: exactInZone / n,
    exactBifurcation: records.filter((r) => r.exact!.zone === 'bifurcation').length,
    exactCompensation: records.filter((r) => r.exact!.zone === 'compensation').length,
    comparison: { ...cmp, missedAt: cmp.missedAt.map((i) => records[i].batch), inventedAt: cmp.inventedAt.map((i) => records[i].batch) },
    samplesInZonePerBatch: records.reduce((a, r) => a + r.exact!.samplesInZone, 0) / n,
  };
}

/** Means per batch of a per-layer quantity summed over some layers. */
function perBatchOf(n: number, ls: readonly ZonesLayerAggregate[], f: (l: ZonesLayerAggregate) => number): number {
  return ls.reduce((a, l) => a + f(l), 0) / n;
}

function windowsPerBatch(records: readonly ZonesBatchRecord[], layers: readonly ZonesLayerAggregate[]): ZonesSummary['windowsPerBatch'] {
  const n = records.length;
  const mp = layers.filter((l) => l.kind === 'maxpool');
  return {
    units: perBatchOf(n, mp, (l) => l.units),
    pTied: records.reduce((a, r) => a + r.pTiedWindows, 0) / n,
    exactTied: perBatchOf(n, mp, (l) => l.exactTied),
    nonRegular: perBatchOf(n, mp, (l) => sumR(l.bifurcation) + sumR(l.compensation)),
    bifurcation: perBatchOf(n, mp, (l) => sumR(l.bifurcation)),
    compensation: perBatchOf(n, mp, (l) => sumR(l.compensation)),
    harmlessAllZero: perBatchOf(n, mp, (l) => l.harmless['all-zero']),
    harmlessIdenticalPatches: perBatchOf(n, mp, (l) => l.harmless['identical-patches']),
  };
}

function reluPerBatch(records: readonly ZonesBatchRecord[], layers: readonly ZonesLayerAggregate[]): ZonesSummary['reluPerBatch'] {
  const n = records.length;
  const rl = layers.filter((l) => l.kind === 'relu');
  return {
    units: perBatchOf(n, rl, (l) => l.units),
    nonRegular: perBatchOf(n, rl, (l) => sumR(l.bifurcation) + sumR(l.compensation)),
    exactZero: perBatchOf(n, rl, (l) => l.exactTied),
  };
}
