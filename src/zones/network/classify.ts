/**
 * Zones of a whole-network evaluation, unit by unit (DESIGN §3): every MaxPool window and every
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
import {
  BIFURCATION_CAUSES,
  COMPENSATION_CAUSES,
  HARMLESS_TIES,
  zeroCountsOf,
  type BifurcationCause,
  type CompensationCause,
  type HarmlessKind,
  type NonRegularZone,
  type UnitKind,
  type Zone,
} from '../../problem/index.ts';
import type { EntryExplanation, HarmlessTie, UnitFinding } from '../../schema/zones.ts';
import { windows } from './graph.ts';
import type { ExactRoutingResult } from './exact.ts';
import type { NetRouting, NodeDescription, NodeRouting } from './types.ts';

/** What a unit is in: a zone (never 'harmless': harmless ties are counted apart, as HARMLESS_TIES kinds). */
export type UnitZone = Zone;
export type BatchZone = Zone;
export type { BifurcationCause, CompensationCause, HarmlessKind };
export type { EntryExplanation, HarmlessTie, UnitFinding } from '../../schema/zones.ts';

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
  const reluZeroIsChoice = options.reluZeroIsChoice ?? false;
  const maxFindings = options.maxFindings ?? Infinity;
  const examplesPerNode = options.harmlessExamplesPerNode ?? 3;
  const byPath = new Map(exact.nodes.map((nd) => [nd.path, nd]));
  const batchN = exact.nodes.length ? exact.nodes[0].inputShape[0] : 0;
  const samples = Array.from({ length: batchN }, () => ({ bifurcation: 0, compensation: 0 }));
  const findings: UnitFinding[] = [];
  const harmlessExamples: HarmlessTie[] = [];
  let truncated = false;
  const summaries: NodeZoneSummary[] = [];

  for (const [path, er] of exact.routing) {
    const pr = pRouting.get(path);
    if (!pr || pr.kind !== er.kind) throw new Error(`classifyNetwork: the p routing has no ${er.kind} decisions for node ${path}`);
    const nd = byPath.get(path)!;
    const perSample = er.kind === 'maxpool' ? size(nd.outputShape) / batchN : size(nd.inputShape) / batchN;
    const values = pValues?.get(path) ?? null;
    const summary = {
      harmless: zeroCountsOf(HARMLESS_TIES),
      bifurcation: zeroCountsOf(BIFURCATION_CAUSES),
      compensation: zeroCountsOf(COMPENSATION_CAUSES),
      regular: 0,
      harmlessRoundingDiffs: 0,
    };
    let examples = 0;
    const win = er.kind === 'maxpool' ? windowIndexer(nd) : null;
    const entries = (unit: number): EntryExplanation[] =>
      (win ? win(unit) : [unit]).map((i) => ({
        index: i,
        exact: exact.exactInputText(path, i),
        p: values ? values[i] : null,
        sid: exact.inputSid(path, i),
      }));
    // A unit in a zone is a finding; a harmless tie is an example, counted apart (never a zone).
    const record = (
      unit: number,
      what: { zone: NonRegularZone; cause: BifurcationCause | CompensationCause } | { harmless: HarmlessKind },
      ex: readonly number[],
      rounded: readonly number[],
    ) => {
      const sample = Math.floor(unit / perSample);
      const at = { node: path, kind: er.kind, unit, sample };
      if ('harmless' in what) {
        if (examples >= examplesPerNode) return;
        examples++;
        harmlessExamples.push({ ...at, harmless: what.harmless, exact: ex, rounded, entries: entries(unit) });
        return;
      }
      samples[sample][what.zone]++;
      if (findings.length >= maxFindings) {
        truncated = true;
        return;
      }
      findings.push({ ...at, ...what, exact: ex, rounded, entries: entries(unit) });
    };

    if (er.kind === 'maxpool' && pr.kind === 'maxpool') {
      if (pr.ties.length !== er.ties.length)
        throw new Error(`classifyNetwork: node ${path} has ${er.ties.length} windows, the p routing ${pr.ties.length}`);
      const reluPath = exact.reluBefore(path);
      const reluSign = reluPath ? (exact.routing.get(reluPath) as Extract<NodeRouting, { kind: 'relu' }>).sign : null;
      const sid = exact.activations.get(nd.inputFrom)!.sid;
      er.ties.forEach((T, o) => {
        const P = pr.ties[o];
        if (T.length >= 2) {
          const inT = P.every((i) => T.includes(i));
          let harmless: HarmlessKind | null = null;
          const sid0 = sid[T[0]];
          // All-zero first: entries that are ReLU outputs of negative pre-activations (or of exact
          // zeros with α = 0) are exactly 0 and pass no gradient, whatever their structural ids.
          if (reluSign && T.every((i) => reluSign[i] < 0 || (reluSign[i] === 0 && alpha === 0))) harmless = 'all-zero';
          else if (T.every((i) => sid[i] === sid0)) harmless = 'identical-patches';
          const sign = harmless ? 1 : exact.exactInputSign(path, T[0]);
          if (harmless) {
            if (inT) {
              summary.harmless[harmless]++;
              record(o, { harmless }, T, P);
            } else {
              const cause: CompensationCause = P.some((i) => T.includes(i)) ? 'tie' : 'flip';
              summary.compensation[cause]++;
              record(o, { zone: 'compensation', cause }, T, P);
            }
            return;
          }
          const cause: BifurcationCause = sign > 0 ? 'tie-positive' : sign < 0 ? 'tie-negative' : 'tie-zero';
          summary.bifurcation[cause]++;
          record(o, { zone: 'bifurcation', cause }, T, P);
          return;
        }
        if (sameSet(T, P)) {
          summary.regular++;
          return;
        }
        const cause: CompensationCause = P.includes(T[0]) ? 'tie' : 'flip';
        summary.compensation[cause]++;
        record(o, { zone: 'compensation', cause }, T, P);
      });
    } else if (er.kind === 'relu' && pr.kind === 'relu') {
      if (pr.sign.length !== er.sign.length)
        throw new Error(`classifyNetwork: node ${path} has ${er.sign.length} units, the p routing ${pr.sign.length}`);
      const routed = routedMasks(exact, pRouting, path, er.sign.length);
      const d = (s: number) => (s > 0 ? 1 : s < 0 ? 0 : alpha);
      for (let i = 0; i < er.sign.length; i++) {
        const s = er.sign[i];
        const sp = pr.sign[i];
        const unrouted = routed !== null && !routed.exact[i] && !routed.p[i];
        if (s === 0) {
          if (unrouted) {
            summary.harmless.unrouted++;
            record(i, { harmless: 'unrouted' }, [s], [sp]);
          } else if (reluZeroIsChoice) {
            summary.bifurcation['tie-zero']++;
            record(i, { zone: 'bifurcation', cause: 'tie-zero' }, [s], [sp]);
          } else if (d(sp) === alpha) {
            summary.harmless['fixed-alpha']++;
            record(i, { harmless: 'fixed-alpha' }, [s], [sp]);
          } else {
            summary.compensation.flip++;
            record(i, { zone: 'compensation', cause: 'flip' }, [s], [sp]);
          }
          continue;
        }
        if (sp === s) {
          summary.regular++;
          continue;
        }
        if (unrouted || d(sp) === d(s)) {
          summary.regular++;
          summary.harmlessRoundingDiffs++;
          continue;
        }
        const cause: CompensationCause = sp === 0 ? 'tie' : 'flip';
        summary.compensation[cause]++;
        record(i, { zone: 'compensation', cause }, [s], [sp]);
      }
    }
    const units = er.kind === 'maxpool' ? er.ties.length : er.sign.length;
    const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
    const counts = {
      regular: summary.regular,
      harmless: sum(summary.harmless),
      bifurcation: sum(summary.bifurcation),
      compensation: sum(summary.compensation),
    };
    summaries.push({
      node: path,
      kind: er.kind,
      units,
      ...summary,
      share: {
        regular: units ? counts.regular / units : 0,
        harmless: units ? counts.harmless / units : 0,
        bifurcation: units ? counts.bifurcation / units : 0,
        compensation: units ? counts.compensation / units : 0,
      },
    });
  }

  const total = (f: (s: NodeZoneSummary) => number) => summaries.reduce((a, s) => a + f(s), 0);
  const sumR = (r: Readonly<Record<string, number>>) => Object.values(r).reduce((a, b) => a + b, 0);
  const bif = total((s) => sumR(s.bifurcation));
  const comp = total((s) => sumR(s.compensation));
  const zoneOf = (b: number, c: number): BatchZone => (b > 0 ? 'bifurcation' : c > 0 ? 'compensation' : 'regular');
  return {
    nodes: summaries,
    batch: {
      units: total((s) => s.units),
      regular: total((s) => s.regular),
      harmless: total((s) => sumR(s.harmless)),
      bifurcation: bif,
      compensation: comp,
      harmlessRoundingDiffs: total((s) => s.harmlessRoundingDiffs),
      zone: zoneOf(bif, comp),
      inZone: bif + comp > 0,
    },
    samples: samples.map((s) => ({ ...s, zone: zoneOf(s.bifurcation, s.compensation) })),
    findings,
    harmlessExamples,
    truncated,
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
