/**
 * Which non-regular units of a (batch, precision) task get explained, and which the report keeps.
 * Explaining a unit costs exact values of its entries (deep receptive fields in BigInt), so a task
 * explains the first EXPLAIN_FIRST non-regular units in forward order, then, for every layer with
 * non-regular units none of which got explained, that layer's first EXPLAIN_PER_LAYER (in the first
 * batches only) — or, when the layer has an unexplained bifurcation, all its units up to
 * EXPLAIN_BUDGET so that the bifurcation is shown (in every batch: bifurcations are rare).
 */
import { classifyNetwork, type NetworkClassification, type UnitFinding } from './classify.ts';
import type { ExactRoutingResult } from './exact.ts';
import type { NetRouting } from './types.ts';

/** Non-regular units explained per (batch, precision): one of every (layer, zone, cause) present, then the first few others. */
export const FINDINGS_PER_TASK = 4;
/** The report keeps the first few per precision, bifurcations first. */
export const FINDINGS_PER_PRECISION = 12;
export const EXPLAIN_FIRST = 32;
/** Layers without an explained unit get one only in the first batches (bifurcations: in every batch). */
const EXPLAIN_LAYERS_IN_BATCHES = 2;
const EXPLAIN_PER_LAYER = 2;
const EXPLAIN_BUDGET = 1500;

const sumR = (r: Readonly<Record<string, number>>) => Object.values(r).reduce((a, b) => a + b, 0);

/**
 * The exact routing of every node, iterated over some nodes only: classifyNetwork walks
 * `exact.routing` in order and looks other nodes up with get(), so this classifies (and explains)
 * just those nodes. Should it ever walk the map another way, it classifies them all: slower, not wrong.
 */
class OnlyNodes<K, V> extends Map<K, V> {
  private only: ReadonlySet<K> = new Set();
  static of<K, V>(all: ReadonlyMap<K, V>, only: ReadonlySet<K>): OnlyNodes<K, V> {
    const m = new OnlyNodes<K, V>(all);
    m.only = only;
    return m;
  }
  override *[Symbol.iterator](): MapIterator<[K, V]> {
    for (const e of super.entries()) if (this.only.has(e[0])) yield e;
  }
}

/**
 * The task's explained units: the classification's own findings, and, when it stopped explaining
 * early, more for the layers it left unexplained (see the header).
 */
export function explainedUnits(
  cls: NetworkClassification,
  ex: ExactRoutingResult,
  pRouting: NetRouting,
  pValues: ReadonlyMap<string, Float64Array>,
  reluAlpha: number,
  batch: number,
): UnitFinding[] {
  const explained: UnitFinding[] = [...cls.findings];
  if (!cls.truncated) return explained;
  for (const s of cls.nodes) {
    const bif = sumR(s.bifurcation);
    const bad = bif + sumR(s.compensation);
    if (!bad || cls.findings.some((f) => f.node === s.node && (f.zone === 'bifurcation' || !bif))) continue;
    if (!bif && batch >= EXPLAIN_LAYERS_IN_BATCHES) continue; // the report shows the first of each kind: early batches suffice
    const view = { ...ex, routing: OnlyNodes.of(ex.routing, new Set([s.node])) };
    const more = classifyNetwork(view, pRouting, pValues, reluAlpha, {
      maxFindings: bif && bad <= EXPLAIN_BUDGET ? Infinity : EXPLAIN_PER_LAYER,
      harmlessExamplesPerNode: 0,
    });
    explained.push(...more.findings.filter((f) => !cls.findings.some((g) => g.node === f.node && g.unit === f.unit)));
  }
  return explained;
}

/**
 * The first of every distinct key (bifurcations, then MaxPool windows, then ReLU units; each in order), then the
 * others in order, up to k — or every distinct key when there are more than k of them.
 */
export function pickFindings<T extends { readonly zone: string; readonly kind: string }>(
  all: readonly T[],
  k: number,
  key: (f: T) => string,
  capDistinct = false,
): T[] {
  const seen = new Set<string>();
  const first: T[] = [];
  const rest: T[] = [];
  for (const f of all) {
    const kf = key(f);
    (seen.has(kf) ? rest : first).push(f);
    seen.add(kf);
  }
  const rank = (f: T) => (f.zone === 'bifurcation' ? 0 : f.kind === 'maxpool' ? 1 : 2);
  first.sort((a, b) => rank(a) - rank(b));
  const picked = [...first, ...rest];
  return picked.slice(0, capDistinct ? k : Math.max(k, first.length));
}
