/**
 * Zones of a whole-network evaluation, unit by unit (docs/DESIGN.md §3): every MaxPool window and every
 * ReLU unit is classified from the exact routing (exact.ts) and the routing a float backend
 * produced in precision p. The family varied is MaxPool's Jacobians (as the paper's estimator
 * varies β); ReLU'(0) = α is the run's, fixed (see `reluZeroIsChoice` to vary it too).
 *
 * MaxPool window, exact tie set T (k = |T|), p tie set P:
 * - k ≥ 2, every tied entry with the same structural id (identical computations on identical
 *   values: the same function of θ, so the parameter gradient is the same whichever is chosen)
 *   → harmless 'identical-patches';
 * - k ≥ 2, tied value 0, the node's input is a ReLU output and every tied entry's pre-activation is
 *   < 0 (or exactly 0 with α = 0): ReLU' erases whatever is routed there → harmless 'all-zero';
 * - any other k ≥ 2 → bifurcation, cause 'tie-positive' (tied value > 0), 'tie-zero' (= 0: a
 *   pre-activation exactly 0 with α ≠ 0, or zeros not produced by a ReLU) or 'tie-negative' (< 0,
 *   only possible when the MaxPool does not follow a ReLU);
 * - a harmless tie stays harmless only if P ⊆ T (p routes among the real maximisers); otherwise
 *   p sends gradient to an entry that is not a real maximum → compensation as below;
 * - k = 1 and P ≠ T → compensation, cause 'flip' when P misses the real argmax, else 'tie'
 *   (rounding tied other entries with it); P = T → regular.
 * ReLU unit, exact sign s, p sign s_p, derivative d(s) = 1 / 0 / α for s > 0 / < 0 / = 0. A unit
 * is *unrouted* when its output feeds only a MaxPool whose window routes gradient to it neither in
 * the exact nor in the p routing: no gradient reaches it, whatever its derivative.
 * - s = 0 (a real tie at the kink): unrouted → harmless 'unrouted'; with reluZeroIsChoice →
 *   bifurcation 'tie-zero'; otherwise (α fixed) harmless 'fixed-alpha' if d(s_p) = α, else
 *   compensation 'flip' (rounding moved it off the kink and the derivative changed);
 * - s ≠ 0, s_p = s → regular; s_p ≠ s but unrouted or d(s_p) = d(s) (e.g. −1 → 0 with α = 0) →
 *   regular, counted as a harmless rounding difference; else compensation, 'tie' if s_p = 0, else 'flip'.
 * The batch is in a zone when any unit is in bifurcation or compensation; bifurcation wins.
 */

import type { ExactRoutingResult } from './exact.ts';
import { windows } from './graph.ts';
import type { NetRouting, NodeDescription, NodeRouting } from './types.ts';

import type { BifurcationCause, CompensationCause, HarmlessKind, NonRegularZone, UnitKind, Zone } from '../../problem/index.ts';
import type { HarmlessTie, UnitFinding } from '../../schema/zones.ts';

/** What a unit is in: a zone (never 'harmless': harmless ties are counted apart, as HARMLESS_TIES kinds). */
export type UnitZone = Zone;
export type BatchZone = Zone;
export type { BifurcationCause, CompensationCause, HarmlessKind };
export type { EntryExplanation, HarmlessTie, UnitFinding } from '../../schema/zones.ts';
import type { EntryExplanation } from '../../schema/zones.ts';

/** Where the recorder puts a unit: a zone other than regular, or the harmless ties counted apart. */
type Destination = NonRegularZone | 'harmless';

export interface NodeZoneSummary {
  readonly node: string;
  readonly kind: UnitKind;
  readonly units: number;
  readonly regular: number;
  readonly harmless: Readonly<Record<HarmlessKind, number>>;
  readonly bifurcation: Readonly<Record<BifurcationCause, number>>;
  readonly compensation: Readonly<Record<CompensationCause, number>>;
  /** Units whose p routing differs from the exact one without changing the Jacobian (counted regular). */
  readonly harmlessRoundingDiffs: number;
  /** Share of the node's units in each zone, and of its harmless ties (counted apart, not a zone). */
  readonly share: Readonly<Record<UnitZone | 'harmless', number>>;
}

export interface ZoneTotals {
  readonly units: number;
  readonly regular: number;
  readonly harmless: number;
  readonly bifurcation: number;
  readonly compensation: number;
  readonly harmlessRoundingDiffs: number;
}

export interface NetworkClassification {
  readonly nodes: readonly NodeZoneSummary[];
  readonly batch: ZoneTotals & { readonly zone: BatchZone; readonly inZone: boolean };
  /** Per sample of the batch (a sample's units depend on that sample only: no batch norm). */
  readonly samples: readonly { readonly zone: BatchZone; readonly bifurcation: number; readonly compensation: number }[];
  /** Every bifurcation and compensation unit (up to maxFindings), explained. */
  readonly findings: readonly UnitFinding[];
  /** The first few harmless ties of each node, explained. */
  readonly harmlessExamples: readonly HarmlessTie[];
  /** More bifurcation/compensation units existed than maxFindings. */
  readonly truncated: boolean;
}

export interface ClassifyNetworkOptions {
  /** Count ReLU'(0) as a family choice: a routed ReLU at exactly 0 is then a bifurcation. Default false. */
  readonly reluZeroIsChoice?: boolean;
  /** Cap on explained bifurcation/compensation units (exact values are computed for each). Default Infinity. */
  readonly maxFindings?: number;
  /** Explained harmless ties per node. Default 3. */
  readonly harmlessExamplesPerNode?: number;
}

const size = (s: readonly number[]) => s[0] * s[1] * s[2] * s[3];

function sameSet(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

type Counts = {
  harmless: Record<HarmlessKind, number>;
  bifurcation: Record<BifurcationCause, number>;
  compensation: Record<CompensationCause, number>;
  regular: number;
  harmlessRoundingDiffs: number;
};

type What = { cause?: BifurcationCause | CompensationCause; harmless?: HarmlessKind };

/** Where the units of one classification go: per-node counts, per-sample tallies, explained findings. */
class Recorder {
  readonly samples: { bifurcation: number; compensation: number }[];
  readonly findings: UnitFinding[] = [];
  readonly harmlessExamples: HarmlessTie[] = [];
  truncated = false;
  private readonly maxFindings: number;
  private readonly examplesPerNode: number;

  constructor(
    private readonly exact: ExactRoutingResult,
    private readonly pValues: ReadonlyMap<string, ArrayLike<number>> | null,
    options: ClassifyNetworkOptions,
    batchN: number,
  ) {
    this.maxFindings = options.maxFindings ?? Infinity;
    this.examplesPerNode = options.harmlessExamplesPerNode ?? 3;
    this.samples = Array.from({ length: batchN }, () => ({ bifurcation: 0, compensation: 0 }));
  }

  /** The recorder of one node: counts the unit in its zone, tallies its sample, explains it while the caps allow. */
  node(nd: NodeDescription, kind: 'maxpool' | 'relu', batchN: number): NodeRecorder {
    const path = nd.path;
    const perSample = kind === 'maxpool' ? size(nd.outputShape) / batchN : size(nd.inputShape) / batchN;
    const values = this.pValues?.get(path) ?? null;
    const win = kind === 'maxpool' ? windowIndexer(nd) : null;
    const entries = (unit: number): EntryExplanation[] =>
      (win ? win(unit) : [unit]).map((i) => ({
        index: i,
        exact: this.exact.exactInputText(path, i),
        p: values ? values[i] : null,
        sid: this.exact.inputSid(path, i),
      }));
    const counts: Counts = {
      harmless: { 'identical-patches': 0, 'all-zero': 0, unrouted: 0, 'fixed-alpha': 0 },
      bifurcation: { 'tie-positive': 0, 'tie-zero': 0, 'tie-negative': 0 },
      compensation: { tie: 0, flip: 0 },
      regular: 0,
      harmlessRoundingDiffs: 0,
    };
    let examples = 0;
    const record = (unit: number, zone: Destination, what: What, ex: readonly number[], rounded: readonly number[]) => {
      if (zone === 'harmless') counts.harmless[what.harmless!]++;
      else if (zone === 'bifurcation') counts.bifurcation[what.cause as BifurcationCause]++;
      else counts.compensation[what.cause as CompensationCause]++;
      const sample = Math.floor(unit / perSample);
      if (zone === 'bifurcation') this.samples[sample].bifurcation++;
      if (zone === 'compensation') this.samples[sample].compensation++;
      const at = { node: path, kind, unit, sample, exact: ex, rounded, entries: entries(unit) };
      if (zone === 'harmless') {
        // A harmless tie is an example, counted apart: never a zone.
        if (examples >= this.examplesPerNode) return;
        examples++;
        this.harmlessExamples.push({ ...at, harmless: what.harmless! });
        return;
      }
      if (this.findings.length >= this.maxFindings) {
        this.truncated = true;
        return;
      }
      this.findings.push({ ...at, zone, cause: what.cause! });
    };
    return { counts, record };
  }
}

interface NodeRecorder {
  readonly counts: Counts;
  record(unit: number, zone: Destination, what: What, ex: readonly number[], rounded: readonly number[]): void;
}

/**
 * Classify every MaxPool window and ReLU unit of one evaluation.
 * @param exact     exactRouting(...) of the evaluation
 * @param pRouting  the routing of a float backend's forward in precision p (same node paths)
 * @param pValues   the p values of each MaxPool (and, optionally, ReLU) node's input, by path, to report
 * @param alpha     ReLU'(0) of the run
 */
export function classifyNetwork(
  exact: ExactRoutingResult,
  pRouting: NetRouting,
  pValues: ReadonlyMap<string, ArrayLike<number>> | null,
  alpha: number,
  options: ClassifyNetworkOptions = {},
): NetworkClassification {
  const byPath = new Map(exact.nodes.map((nd) => [nd.path, nd]));
  const batchN = exact.nodes.length ? exact.nodes[0].inputShape[0] : 0;
  const rec = new Recorder(exact, pValues, options, batchN);
  const summaries: NodeZoneSummary[] = [];
  for (const [path, er] of exact.routing) {
    const pr = pRouting.get(path);
    if (!pr || pr.kind !== er.kind) throw new Error(`classifyNetwork: the p routing has no ${er.kind} decisions for node ${path}`);
    const node = rec.node(byPath.get(path)!, er.kind, batchN);
    if (er.kind === 'maxpool' && pr.kind === 'maxpool') classifyWindows(exact, path, er, pr, alpha, node);
    else if (er.kind === 'relu' && pr.kind === 'relu')
      classifyRelus(exact, pRouting, path, er, pr, alpha, options.reluZeroIsChoice ?? false, node);
    summaries.push(nodeSummary(path, er, node.counts));
  }
  return {
    nodes: summaries,
    batch: batchTotals(summaries),
    samples: rec.samples.map((s) => ({ ...s, zone: zoneOf(s.bifurcation, s.compensation) })),
    findings: rec.findings,
    harmlessExamples: rec.harmlessExamples,
    truncated: rec.truncated,
  };
}

type MaxPoolRouting = Extract<NodeRouting, { kind: 'maxpool' }>;
type ReluRouting = Extract<NodeRouting, { kind: 'relu' }>;

/** Every window of a MaxPool node, by its exact tie set T against the p tie set (see the header). */
function classifyWindows(
  exact: ExactRoutingResult,
  path: string,
  er: MaxPoolRouting,
  pr: MaxPoolRouting,
  alpha: number,
  node: NodeRecorder,
) {
  if (pr.ties.length !== er.ties.length)
    throw new Error(`classifyNetwork: node ${path} has ${er.ties.length} windows, the p routing ${pr.ties.length}`);
  const reluPath = exact.reluBefore(path);
  const reluSign = reluPath ? (exact.routing.get(reluPath) as ReluRouting).sign : null;
  const nd = exact.nodes.find((n) => n.path === path)!;
  const sid = exact.activations.get(nd.inputFrom)!.sid;
  const { counts, record } = node;
  er.ties.forEach((T, o) => {
    const P = pr.ties[o];
    if (T.length >= 2) {
      // All-zero first: entries that are ReLU outputs of negative pre-activations (or of exact
      // zeros with α = 0) are exactly 0 and pass no gradient, whatever their structural ids.
      let harmless: HarmlessKind | null = null;
      if (reluSign && T.every((i) => reluSign[i] < 0 || (reluSign[i] === 0 && alpha === 0))) harmless = 'all-zero';
      else if (T.every((i) => sid[i] === sid[T[0]])) harmless = 'identical-patches';
      if (!harmless) {
        const sign = exact.exactInputSign(path, T[0]);
        record(o, 'bifurcation', { cause: sign > 0 ? 'tie-positive' : sign < 0 ? 'tie-negative' : 'tie-zero' }, T, P);
      } else if (P.every((i) => T.includes(i))) record(o, 'harmless', { harmless }, T, P);
      else record(o, 'compensation', { cause: P.some((i) => T.includes(i)) ? 'tie' : 'flip' }, T, P);
      return;
    }
    if (sameSet(T, P)) counts.regular++;
    else record(o, 'compensation', { cause: P.includes(T[0]) ? 'tie' : 'flip' }, T, P);
  });
}

/** Every unit of a ReLU node, by its exact sign s against the p sign (see the header). */
function classifyRelus(
  exact: ExactRoutingResult,
  pRouting: NetRouting,
  path: string,
  er: ReluRouting,
  pr: ReluRouting,
  alpha: number,
  reluZeroIsChoice: boolean,
  node: NodeRecorder,
) {
  if (pr.sign.length !== er.sign.length)
    throw new Error(`classifyNetwork: node ${path} has ${er.sign.length} units, the p routing ${pr.sign.length}`);
  const routed = routedMasks(exact, pRouting, path, er.sign.length);
  const d = (s: number) => (s > 0 ? 1 : s < 0 ? 0 : alpha);
  const { counts, record } = node;
  for (let i = 0; i < er.sign.length; i++) {
    const s = er.sign[i];
    const sp = pr.sign[i];
    const unrouted = routed !== null && !routed.exact[i] && !routed.p[i];
    if (s === 0) {
      if (unrouted) record(i, 'harmless', { harmless: 'unrouted' }, [s], [sp]);
      else if (reluZeroIsChoice) record(i, 'bifurcation', { cause: 'tie-zero' }, [s], [sp]);
      else if (d(sp) === alpha) record(i, 'harmless', { harmless: 'fixed-alpha' }, [s], [sp]);
      else record(i, 'compensation', { cause: 'flip' }, [s], [sp]);
    } else if (sp === s) counts.regular++;
    else if (unrouted || d(sp) === d(s)) {
      counts.regular++;
      counts.harmlessRoundingDiffs++;
    } else record(i, 'compensation', { cause: sp === 0 ? 'tie' : 'flip' }, [s], [sp]);
  }
}

const sumR = (r: Readonly<Record<string, number>>) => Object.values(r).reduce((a, b) => a + b, 0);
const zoneOf = (b: number, c: number): BatchZone => (b > 0 ? 'bifurcation' : c > 0 ? 'compensation' : 'regular');

function nodeSummary(path: string, er: NodeRouting, counts: Counts): NodeZoneSummary {
  const units = er.kind === 'maxpool' ? er.ties.length : er.sign.length;
  const share = (n: number) => (units ? n / units : 0);
  return {
    node: path,
    kind: er.kind,
    units,
    ...counts,
    share: {
      regular: share(counts.regular),
      harmless: share(sumR(counts.harmless)),
      bifurcation: share(sumR(counts.bifurcation)),
      compensation: share(sumR(counts.compensation)),
    },
  };
}

function batchTotals(summaries: readonly NodeZoneSummary[]): NetworkClassification['batch'] {
  const total = (f: (s: NodeZoneSummary) => number) => summaries.reduce((a, s) => a + f(s), 0);
  const bif = total((s) => sumR(s.bifurcation));
  const comp = total((s) => sumR(s.compensation));
  return {
    units: total((s) => s.units),
    regular: total((s) => s.regular),
    harmless: total((s) => sumR(s.harmless)),
    bifurcation: bif,
    compensation: comp,
    harmlessRoundingDiffs: total((s) => s.harmlessRoundingDiffs),
    zone: zoneOf(bif, comp),
    inZone: bif + comp > 0,
  };
}

/** For a ReLU whose output only a MaxPool reads: which units that MaxPool routes to, exactly and in p. */
function routedMasks(
  exact: ExactRoutingResult,
  pRouting: NetRouting,
  reluPath: string,
  n: number,
): { exact: Uint8Array; p: Uint8Array } | null {
  const reader = exact.onlyReader(reluPath);
  if (reader?.kind !== 'maxpool') return null;
  const mark = (r: NodeRouting | undefined) => {
    const m = new Uint8Array(n);
    if (r?.kind !== 'maxpool') return null;
    for (const t of r.ties) for (const i of t) m[i] = 1;
    return m;
  };
  const e = mark(exact.routing.get(reader.path));
  const p = mark(pRouting.get(reader.path));
  return e && p ? { exact: e, p } : null;
}

/** Window → its input indices (in-bounds, ascending) for a maxpool node. */
function windowIndexer(nd: NodeDescription): (o: number) => number[] {
  const [, , H, W] = nd.inputShape;
  const { map, kk, outH, outW } = windows(H, W, nd.window!.kernel, nd.window!.stride, nd.window!.padding, nd.path);
  const P = outH * outW;
  return (o) => {
    const plane = Math.floor(o / P);
    const pos = o % P;
    const out: number[] = [];
    for (let j = 0; j < kk; j++) {
      const off = map[pos * kk + j];
      if (off >= 0) out.push(plane * H * W + off);
    }
    return out;
  };
}
