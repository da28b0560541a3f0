/**
 * The paper's zone estimator for whole networks, without an oracle (docs/DESIGN.md §3): per mini-batch,
 * compute the parameter gradient twice in precision p, with β = 0 (g0) and β = 1 (g1), and count
 * the batch as "in a zone" when Σ over parameters of ‖g0 − g1‖∞ exceeds a per-precision threshold.
 * compareEstimator measures those flags against the exact classification (classify.ts), which is
 * the point: the threshold both invents zones (rounding noise above it) and misses them (real ties
 * whose effect stays below it, or cancels). It also runs where the exact classification cannot:
 * networks with batch norm.
 */

/** Thresholds of the paper: 1e-3 at 16 bits, 1e-7 at 32, 1e-15 at 64. */
export const ESTIMATOR_THRESHOLDS: Readonly<Record<string, number>> = { '16': 1e-3, '32': 1e-7, '64': 1e-15 };

export type GradientMap = ReadonlyMap<string, ArrayLike<number>>;

export interface EstimatorResult {
  /** Σ_params ‖g0 − g1‖∞ (NaN when a gradient entry is not finite). */
  readonly distance: number;
  /** ‖g0 − g1‖∞ of each parameter. */
  readonly perParam: ReadonlyMap<string, number>;
  readonly threshold: number;
  /** distance > threshold; a non-finite distance also counts (a NaN gradient is not regular). */
  readonly inZone: boolean;
  readonly nonfinite: boolean;
}

/** Σ over parameters of max_i |g0[i] − g1[i]|; the two maps must hold the same names and sizes. */
export function estimatorDistance(g0: GradientMap, g1: GradientMap): { distance: number; perParam: Map<string, number> } {
  if (g0.size !== g1.size) throw new Error(`estimator: the gradient maps have ${g0.size} and ${g1.size} parameters`);
  const perParam = new Map<string, number>();
  let distance = 0;
  for (const [name, a] of g0) {
    const b = g1.get(name);
    if (!b) throw new Error(`estimator: parameter ${name} is missing from the β=1 gradients`);
    if (a.length !== b.length) throw new Error(`estimator: parameter ${name} has ${a.length} entries at β=0 and ${b.length} at β=1`);
    let m = 0;
    for (let i = 0; i < a.length; i++) {
      const d = Math.abs(a[i] - b[i]);
      if (!(d <= m)) m = d; // NaN propagates
      if (Number.isNaN(d)) break;
    }
    perParam.set(name, m);
    distance += m;
  }
  return { distance, perParam };
}

/**
 * The estimator's verdict for one batch in `precision` ('16' | '32' | '64', or any key of
 * `thresholds`, which defaults to the paper's ESTIMATOR_THRESHOLDS).
 */
export function estimateZone(
  g0: GradientMap,
  g1: GradientMap,
  precision: string,
  thresholds: Readonly<Record<string, number>> = ESTIMATOR_THRESHOLDS,
): EstimatorResult {
  const threshold = thresholds[precision];
  if (threshold === undefined)
    throw new Error(`estimator: no threshold for precision '${precision}' (have ${Object.keys(thresholds).join(', ')})`);
  const { distance, perParam } = estimatorDistance(g0, g1);
  const nonfinite = !Number.isFinite(distance);
  return { distance, perParam, threshold, inZone: nonfinite || distance > threshold, nonfinite };
}

export interface EstimatorComparison {
  readonly total: number;
  /** Both say the same (zone / no zone). */
  readonly agree: number;
  /** The exact classification says zone, the estimator does not. */
  readonly missed: number;
  /** The estimator says zone, the exact classification does not. */
  readonly invented: number;
  /** Indices of the missed and invented batches. */
  readonly missedAt: readonly number[];
  readonly inventedAt: readonly number[];
}

/** Compare per-batch estimator flags with exact flags (e.g. classifyNetwork(...).batch.inZone). */
export function compareEstimator(estimatorFlags: readonly boolean[], exactFlags: readonly boolean[]): EstimatorComparison {
  if (estimatorFlags.length !== exactFlags.length)
    throw new Error(`compareEstimator: ${estimatorFlags.length} estimator flags for ${exactFlags.length} exact flags`);
  const missedAt: number[] = [];
  const inventedAt: number[] = [];
  let agree = 0;
  estimatorFlags.forEach((e, i) => {
    const x = exactFlags[i];
    if (e === x) agree++;
    else if (x) missedAt.push(i);
    else inventedAt.push(i);
  });
  return { total: exactFlags.length, agree, missed: missedAt.length, invented: inventedAt.length, missedAt, inventedAt };
}
