/**
 * zones.json, schema 'adzone/zones' version 1: what `adzone zones` writes (src/cli/commands/zones.ts); its
 * TypeScript types are ZonesReport and friends in src/report/zonesMarkdown.ts. Cause and harmless
 * breakdowns are checked as maps of counts, so a new cause name is not a schema change.
 */
import { any, arr, bool, count, lit, nullable, num, obj, oneOf, rec, share, str } from './shape.ts';

const counts = {
  units: count(),
  regular: count(),
  harmless: rec(count()),
  bifurcation: rec(count()),
  compensation: rec(count()),
  harmlessRoundingDiffs: count(),
  exactTied: count(),
  pTied: count(),
};
const layer = { ...counts, node: str(), exactPath: str(), kind: oneOf('maxpool', 'relu'), label: str() };
const maybe = (s: ReturnType<typeof num>) => nullable(s);

const finding = obj({
  batch: count(),
  node: str(),
  kind: oneOf('maxpool', 'relu'),
  unit: count(),
  zone: oneOf('harmless', 'bifurcation', 'compensation'),
  exact: arr(num()),
  rounded: arr(num()),
  entries: arr(obj({ exact: str() })),
});

const batch = obj({
  batch: count(),
  firstIndex: count(),
  size: count(),
  loss: num({ nonFinite: true }),
  windows: count(),
  pTiedWindows: count(),
  estimator: obj({
    distance: num({ nonFinite: true }),
    threshold: num(),
    inZone: bool(),
    nonfinite: bool(),
    perParam: rec(num({ nonFinite: true })),
  }),
  exact: nullable(
    obj({
      zone: oneOf('regular', 'bifurcation', 'compensation'),
      inZone: bool(),
      units: count(),
      regular: count(),
      harmless: count(),
      bifurcation: count(),
      compensation: count(),
      samplesInZone: count(),
      layers: arr(obj(layer)),
    }),
  ),
  ms: obj({ engine: num(), exact: num(), classify: num() }),
});

const summary = obj({
  batches: count(),
  estimatorInZone: count(),
  estimatorShare: share(),
  exactInZone: nullable(count()),
  exactShare: nullable(share()),
  exactBifurcation: nullable(count()),
  exactCompensation: nullable(count()),
  comparison: nullable(
    obj({ total: count(), agree: count(), missed: count(), invented: count(), missedAt: arr(count()), inventedAt: arr(count()) }),
  ),
  distance: obj({ min: num({ nonFinite: true }), median: num({ nonFinite: true }), max: num({ nonFinite: true }), nonfinite: count() }),
  windowsPerBatch: obj({
    units: num({ min: 0 }),
    pTied: num({ min: 0 }),
    exactTied: maybe(num({ min: 0 })),
    nonRegular: maybe(num({ min: 0 })),
    bifurcation: maybe(num({ min: 0 })),
    compensation: maybe(num({ min: 0 })),
    harmlessAllZero: maybe(num({ min: 0 })),
    harmlessIdenticalPatches: maybe(num({ min: 0 })),
  }),
  samplesInZonePerBatch: maybe(num({ min: 0 })),
});

export const zonesShape = obj({
  schema: lit('adzone/zones'),
  schemaVersion: lit(1),
  tool: rec(str()),
  command: str(),
  createdAt: str(),
  config: obj({
    model: str(),
    variant: str(),
    parameters: count(),
    dataset: str(),
    split: str(),
    batchSize: count(),
    batches: count(),
    seed: num({ int: true }),
    precisions: arr(str(), 1),
    accumulate: str(),
    reluAlpha: share(),
    estimator: obj({ betas: arr(num()), thresholds: rec(num()) }),
    exact: obj({ available: bool(), reason: nullable(str()) }),
  }),
  notes: arr(str()),
  precisions: arr(
    obj({
      precision: str(),
      format: str(),
      threshold: num(),
      summary,
      layers: nullable(arr(obj({ ...layer, share: rec(share()), batchesWithNonRegular: count() }))),
      findings: arr(finding),
      harmlessExamples: arr(any()),
      batches: arr(batch),
    }),
    1,
  ),
  timing: obj({ wallSeconds: num({ min: 0 }) }),
});
