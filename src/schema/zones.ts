/**
 * zones.json, schema 'adzone/zones' version 1: what `adzone zones` writes (src/cli/commands/zones.ts):
 * for each precision, per batch the estimator's verdict and the exact unit-by-unit classification
 * (src/zones/network/classify.ts), summed per layer and summarised.
 *
 * The count maps are closed: a count under a name that is not a harmless-tie kind, a cause or a
 * zone (src/problem/vocabulary.ts) is an error, so a doctored or misnamed count cannot pass. Other
 * fields this schema does not name are allowed (a newer adzone may add one within version 1).
 */
import { type StaticDecode, type TSchema, Type } from '@sinclair/typebox';
import { BIFURCATION_CAUSES, COMPENSATION_CAUSES, HARMLESS_TIES, NON_REGULAR_ZONES, UNIT_KINDS, ZONES } from '../problem/index.ts';
import type { DeepReadonly } from '../util/json.ts';
import { Count, JsonNumber, NonNegative, Nullable, oneOf, Precision, Share, Timestamp } from './kit.ts';

/** An object with exactly these keys, every value of schema `value`. */
const closedMap = <const K extends readonly string[], V extends TSchema>(keys: K, value: V) =>
  Type.Object(Type.Record(oneOf(keys), value).properties, { additionalProperties: false });

/** One entry of a unit: its flat NCHW index in the node's input, exact value, value in p and structural id. */
export const EntryExplanationSchema = Type.Object({
  index: Count(),
  exact: Type.String({ description: "exact decimal, or 'N/D' after odd average pools" }),
  p: Nullable(JsonNumber()),
  sid: Type.Integer({ description: 'structural id: equal ids ⇒ identical computations' }),
});

const unit = {
  node: Type.String(),
  kind: oneOf(UNIT_KINDS),
  /** Window index (flat NCHW in the node's output) or ReLU unit index. */
  unit: Count(),
  sample: Count(),
  /** Exact tie set (maxpool) or [exact sign] (relu). */
  exact: Type.Array(Type.Integer()),
  /** Tie set or [sign] in precision p. */
  rounded: Type.Array(Type.Integer()),
  entries: Type.Array(EntryExplanationSchema),
};

/** A bifurcation or compensation unit of a network, explained. */
export const UnitFindingSchema = Type.Object({
  ...unit,
  zone: oneOf(NON_REGULAR_ZONES),
  cause: Type.Union([oneOf(BIFURCATION_CAUSES), oneOf(COMPENSATION_CAUSES)]),
});

/** A harmless tie of a network, explained: counted apart, never a zone. */
export const HarmlessTieSchema = Type.Object({ ...unit, harmless: oneOf(HARMLESS_TIES) });

const inReport = { batch: Count(), datasetIndex: Count(), label: Type.String({ description: "e.g. '5 maxpool 2×2 after conv2'" }) };
export const ZonesFindingSchema = Type.Object({ ...UnitFindingSchema.properties, ...inReport });
export const ZonesHarmlessTieSchema = Type.Object({ ...HarmlessTieSchema.properties, ...inReport });

const counts = {
  /** Windows (maxpool) or units (relu). */
  units: Count(),
  regular: Count(),
  harmless: closedMap(HARMLESS_TIES, Count()),
  bifurcation: closedMap(BIFURCATION_CAUSES, Count()),
  compensation: closedMap(COMPENSATION_CAUSES, Count()),
  harmlessRoundingDiffs: Count({ description: 'p routing differs from the exact one without changing the Jacobian (counted regular)' }),
  exactTied: Count({ description: 'maxpool: windows whose exact tie set has ≥ 2 entries (relu: units exactly at 0)' }),
  pTied: Count({ description: 'maxpool: windows tied in precision p (relu: units at 0 in p)' }),
};
export const ZonesCountsSchema = Type.Object(counts);

const layer = {
  ...counts,
  node: Type.String({ description: "the engine's (PyTorch-style) node path, e.g. 'features.2'" }),
  exactPath: Type.String({ description: "the exact classifier's path, e.g. 'layers.2'" }),
  kind: oneOf(UNIT_KINDS),
  label: Type.String(),
};
export const ZonesLayerSchema = Type.Object(layer);

export const ZonesLayerAggregateSchema = Type.Object({
  ...layer,
  /** Share of the node's units (over every batch) in each zone, and of its harmless ties (counted apart). */
  share: closedMap([...ZONES, 'harmless'] as const, Share()),
  batchesWithNonRegular: Count(),
});

export const ZonesExactBatchSchema = Type.Object({
  zone: oneOf(ZONES),
  inZone: Type.Boolean(),
  units: Count(),
  regular: Count(),
  harmless: Count(),
  bifurcation: Count(),
  compensation: Count(),
  harmlessRoundingDiffs: Count(),
  samplesInZone: Count(),
  layers: Type.Array(ZonesLayerSchema),
  /** How the exact routing decided its units: float bounds, structure, exact arithmetic. */
  filter: Type.Object({ units: Count(), float: Count(), structural: Count(), exact: Count(), exactEvaluations: Count() }),
  findingsTruncated: Type.Boolean(),
});

export const ZonesBatchRecordSchema = Type.Object({
  batch: Count(),
  firstIndex: Count(),
  size: Count(),
  loss: JsonNumber({ description: 'mean cross-entropy at β = 0, a value of p' }),
  windows: Count(),
  pTiedWindows: Count(),
  estimator: Type.Object({
    distance: JsonNumber({ description: 'Σ_params ‖g0 − g1‖∞' }),
    threshold: Type.Number(),
    inZone: Type.Boolean(),
    nonfinite: Type.Boolean(),
    perParam: Type.Record(Type.String(), JsonNumber()),
  }),
  exact: Nullable(ZonesExactBatchSchema, { description: 'null when exact classification is impossible (batch norm)' }),
  ms: Type.Object({ engine: NonNegative(), exact: NonNegative(), classify: NonNegative() }),
});

const perBatch = () => Nullable(NonNegative());
export const ZonesSummarySchema = Type.Object({
  batches: Count(),
  estimatorInZone: Count(),
  estimatorShare: Share(),
  exactInZone: Nullable(Count()),
  exactShare: Nullable(Share()),
  exactBifurcation: Nullable(Count()),
  exactCompensation: Nullable(Count()),
  comparison: Nullable(
    Type.Object({
      total: Count(),
      agree: Count(),
      missed: Count(),
      invented: Count(),
      missedAt: Type.Array(Count()),
      inventedAt: Type.Array(Count()),
    }),
  ),
  distance: Type.Object({ min: JsonNumber(), median: JsonNumber(), max: JsonNumber(), nonfinite: Count() }),
  windowsPerBatch: Type.Object({
    units: NonNegative(),
    pTied: NonNegative(),
    exactTied: perBatch(),
    nonRegular: perBatch(),
    bifurcation: perBatch(),
    compensation: perBatch(),
    harmlessAllZero: perBatch(),
    harmlessIdenticalPatches: perBatch(),
  }),
  reluPerBatch: Type.Object({ units: NonNegative(), nonRegular: perBatch(), exactZero: perBatch() }),
  samplesInZonePerBatch: perBatch(),
});

export const ZonesPrecisionReportSchema = Type.Object({
  precision: Precision(),
  format: Type.String(),
  threshold: Type.Number(),
  summary: ZonesSummarySchema,
  layers: Nullable(Type.Array(ZonesLayerAggregateSchema), { description: 'summed over batches; null without exact classification' }),
  findings: Type.Array(ZonesFindingSchema),
  harmlessExamples: Type.Array(ZonesHarmlessTieSchema),
  timing: Type.Object({ engineMs: NonNegative(), exactMs: NonNegative(), classifyMs: NonNegative() }),
  batches: Type.Array(ZonesBatchRecordSchema),
});

export const ZonesConfigSchema = Type.Object({
  model: Type.String(),
  variant: Type.String(),
  modelOptions: Type.Record(Type.String(), Type.Unknown()),
  input: Type.Array(Count()),
  classes: Count(),
  parameters: Count(),
  maxpoolNodes: Count(),
  dataset: Type.String(),
  split: Type.String(),
  normalisation: Type.Object({ mean: Type.Array(Type.Number()), std: Type.Array(Type.Number()) }),
  datasetSource: Type.Object({ files: Type.Array(Type.String()), sha256: Type.Array(Type.String()), verified: Type.Array(Type.Boolean()) }),
  batchSize: Count(),
  batches: Count(),
  order: Type.String(),
  seed: Type.Integer(),
  init: Type.String(),
  precisions: Type.Array(Precision(), { minItems: 1 }),
  accumulate: Type.String(),
  reluAlpha: Share(),
  jobs: Count(),
  estimator: Type.Object({
    betas: Type.Tuple([Type.Number(), Type.Number()]),
    thresholds: Type.Record(Type.String(), Type.Number()),
    forward: Type.String(),
  }),
  exact: Type.Object({ available: Type.Boolean(), reason: Nullable(Type.String()), evaluationPoint: Type.String() }),
});

export const ZonesSchema = Type.Object({
  schema: Type.Literal('adzone/zones'),
  schemaVersion: Type.Literal(1),
  tool: Type.Record(Type.String(), Type.String()),
  command: Type.String(),
  createdAt: Timestamp(),
  config: ZonesConfigSchema,
  notes: Type.Array(Type.String()),
  precisions: Type.Array(ZonesPrecisionReportSchema, { minItems: 1 }),
  timing: Type.Object({
    wallSeconds: NonNegative(),
    engineSeconds: NonNegative(),
    exactSeconds: NonNegative(),
    classifySeconds: NonNegative(),
    jobs: Count(),
  }),
});

type Of<T extends TSchema> = DeepReadonly<StaticDecode<T>>;
export type EntryExplanation = Of<typeof EntryExplanationSchema>;
export type UnitFinding = Of<typeof UnitFindingSchema>;
export type HarmlessTie = Of<typeof HarmlessTieSchema>;
export type ZonesFinding = Of<typeof ZonesFindingSchema>;
export type ZonesHarmlessTie = Of<typeof ZonesHarmlessTieSchema>;
export type ZonesCounts = Of<typeof ZonesCountsSchema>;
export type ZonesLayer = Of<typeof ZonesLayerSchema>;
export type ZonesLayerAggregate = Of<typeof ZonesLayerAggregateSchema>;
export type ZonesExactBatch = Of<typeof ZonesExactBatchSchema>;
export type ZonesBatchRecord = Of<typeof ZonesBatchRecordSchema>;
export type ZonesSummary = Of<typeof ZonesSummarySchema>;
export type ZonesPrecisionReport = Of<typeof ZonesPrecisionReportSchema>;
export type ZonesConfig = Of<typeof ZonesConfigSchema>;
export type ZonesReport = Of<typeof ZonesSchema>;
