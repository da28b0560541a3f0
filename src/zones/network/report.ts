/**
 * The result of the network-zones stage (stage.ts), written as zones.json, schema 'adzone/zones'
 * version 1 (src/schema/zones.ts checks it; src/report/zonesMarkdown.ts renders zones.md from it).
 */
import type { BatchZone, BifurcationCause, CompensationCause, HarmlessKind, UnitFinding, UnitZone } from './classify.ts';

/** Counts of one MaxPool / ReLU node (one batch, or summed over batches). */
export interface ZonesCounts {
  /** Windows (maxpool) or units (relu). */
  readonly units: number;
  readonly regular: number;
  readonly harmless: Readonly<Record<HarmlessKind, number>>;
  readonly bifurcation: Readonly<Record<BifurcationCause, number>>;
  readonly compensation: Readonly<Record<CompensationCause, number>>;
  /** p routing differs from the exact one without changing the Jacobian (counted regular). */
  readonly harmlessRoundingDiffs: number;
  /** maxpool: windows whose exact tie set has ≥ 2 entries (relu: units exactly at 0). */
  readonly exactTied: number;
  /** maxpool: windows tied in precision p (relu: units at 0 in p). */
  readonly pTied: number;
}

export interface ZonesLayer extends ZonesCounts {
  /** The engine's (PyTorch-style) node path, e.g. '2' or 'features.2'. */
  readonly node: string;
  /** The exact classifier's path, e.g. 'layers.2'. */
  readonly exactPath: string;
  readonly kind: 'maxpool' | 'relu';
  /** Human label: 'maxpool after conv1'. */
  readonly label: string;
}

export interface ZonesLayerAggregate extends ZonesLayer {
  /** Share of the node's units (over every batch) in each zone. */
  readonly share: Readonly<Record<UnitZone, number>>;
  /** Batches in which this node had a bifurcation or compensation unit. */
  readonly batchesWithNonRegular: number;
}

export interface ZonesExactBatch {
  readonly zone: BatchZone;
  readonly inZone: boolean;
  readonly units: number;
  readonly regular: number;
  readonly harmless: number;
  readonly bifurcation: number;
  readonly compensation: number;
  readonly harmlessRoundingDiffs: number;
  /** Samples of the batch with a bifurcation or compensation unit. */
  readonly samplesInZone: number;
  readonly layers: readonly ZonesLayer[];
  /** How the exact routing decided its units: float bounds, structure, exact arithmetic. */
  readonly filter: {
    readonly units: number;
    readonly float: number;
    readonly structural: number;
    readonly exact: number;
    readonly exactEvaluations: number;
  };
  /** More non-regular units existed than were explained. */
  readonly findingsTruncated: boolean;
}

export interface ZonesBatchRecord {
  /** 0-based mini-batch number (the first N of the split, in order). */
  readonly batch: number;
  /** Data-set index of its first sample. */
  readonly firstIndex: number;
  readonly size: number;
  /** Mean cross-entropy at β = 0, a value of p. */
  readonly loss: number;
  /** MaxPool windows of the batch, and those tied in precision p (the engine's routing). */
  readonly windows: number;
  readonly pTiedWindows: number;
  readonly estimator: {
    /** Σ_params ‖g0 − g1‖∞ (NaN when not finite). */
    readonly distance: number;
    readonly threshold: number;
    readonly inZone: boolean;
    readonly nonfinite: boolean;
    readonly perParam: Readonly<Record<string, number>>;
  };
  /** null when exact classification is impossible (batch norm). */
  readonly exact: ZonesExactBatch | null;
  readonly ms: { readonly engine: number; readonly exact: number; readonly classify: number };
}

export interface ZonesFinding extends UnitFinding {
  readonly batch: number;
  /** Data-set index of the sample. */
  readonly datasetIndex: number;
  /** Human-readable layer label, e.g. '5 maxpool 2×2 after conv2'. */
  readonly label: string;
}

export interface ZonesSummary {
  readonly batches: number;
  readonly estimatorInZone: number;
  readonly estimatorShare: number;
  /** null without exact classification. */
  readonly exactInZone: number | null;
  readonly exactShare: number | null;
  readonly exactBifurcation: number | null;
  readonly exactCompensation: number | null;
  /** Estimator vs exact, batch numbers in missedAt / inventedAt. */
  readonly comparison: {
    readonly total: number;
    readonly agree: number;
    readonly missed: number;
    readonly invented: number;
    readonly missedAt: readonly number[];
    readonly inventedAt: readonly number[];
  } | null;
  readonly distance: { readonly min: number; readonly median: number; readonly max: number; readonly nonfinite: number };
  /** Means per batch over MaxPool windows (null without exact classification, except pTied and units). */
  readonly windowsPerBatch: {
    readonly units: number;
    readonly pTied: number;
    readonly exactTied: number | null;
    readonly nonRegular: number | null;
    readonly bifurcation: number | null;
    readonly compensation: number | null;
    readonly harmlessAllZero: number | null;
    readonly harmlessIdenticalPatches: number | null;
  };
  /** Means per batch over ReLU units (null without exact classification). */
  readonly reluPerBatch: { readonly units: number; readonly nonRegular: number | null; readonly exactZero: number | null };
  readonly samplesInZonePerBatch: number | null;
}

export interface ZonesPrecisionReport {
  readonly precision: string;
  readonly format: string;
  readonly threshold: number;
  readonly summary: ZonesSummary;
  /** Summed over batches; null without exact classification. */
  readonly layers: readonly ZonesLayerAggregate[] | null;
  /** The first few non-regular units, one of each (layer, zone, cause) first. */
  readonly findings: readonly ZonesFinding[];
  /** A few harmless ties, explained (first batch). */
  readonly harmlessExamples: readonly ZonesFinding[];
  readonly timing: { readonly engineMs: number; readonly exactMs: number; readonly classifyMs: number };
  readonly batches: readonly ZonesBatchRecord[];
}

export interface ZonesConfig {
  readonly model: string;
  readonly variant: string;
  readonly modelOptions: Readonly<Record<string, unknown>>;
  readonly input: readonly number[];
  readonly classes: number;
  readonly parameters: number;
  readonly maxpoolNodes: number;
  readonly dataset: string;
  readonly split: string;
  readonly normalisation: { readonly mean: readonly number[]; readonly std: readonly number[] };
  readonly datasetSource: { readonly files: readonly string[]; readonly sha256: readonly string[]; readonly verified: readonly boolean[] };
  readonly batchSize: number;
  readonly batches: number;
  readonly order: string;
  readonly seed: number;
  readonly init: string;
  readonly precisions: readonly string[];
  readonly accumulate: string;
  readonly reluAlpha: number;
  readonly jobs: number;
  readonly estimator: {
    readonly betas: readonly [number, number];
    readonly thresholds: Readonly<Record<string, number>>;
    readonly forward: string;
  };
  readonly exact: { readonly available: boolean; readonly reason: string | null; readonly evaluationPoint: string };
}

export interface ZonesReport {
  readonly schema: 'adzone/zones';
  readonly schemaVersion: 1;
  readonly tool: Readonly<Record<string, string>>;
  readonly command: string;
  readonly createdAt: string;
  readonly config: ZonesConfig;
  readonly notes: readonly string[];
  readonly precisions: readonly ZonesPrecisionReport[];
  readonly timing: {
    readonly wallSeconds: number;
    readonly engineSeconds: number;
    readonly exactSeconds: number;
    readonly classifySeconds: number;
    readonly jobs: number;
  };
}
