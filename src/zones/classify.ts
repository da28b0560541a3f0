/**
 * Zone classification of one evaluation point (docs/DESIGN.md §3).
 *
 * The decision is made by routing, without tolerance, and then checked with values:
 * 1. Over the reals (oracle): AD_R(J) for every member J of the family. If two members disagree,
 *    the point is a **bifurcation** (precision-independent). The real ties that matter are found
 *    by the vertex test: a tied window (or a ReLU at exactly 0) matters when routing all of its
 *    gradient to one tied entry gives different AD_R for different entries.
 * 2. In precision p, for a backend that exposes its routing (the engine): wherever the p routing
 *    equals the exact routing, AD_p differs from AD_R by rounding only. Where it differs, the oracle
 *    recomputes the backward *exactly along the p routing*: if that equals AD_R, the routing change
 *    was harmless (counted, still regular); otherwise the point is **compensation**, caused by a
 *    rounding-made tie ('tie') or a swapped argmax / ReLU sign ('flip').
 * 3. Value check: |AD_p(J) − AD_R(J)| against the rigorous bound γ_N·Σ|terms| (N from the oracle's
 *    depth). A regular point must be within it; a result outside it on a regular point is reported
 *    as an inconsistency, never hidden.
 * A backend with a fixed Jacobian (tfjs, torch) is classified against its measured tie rule, with the
 * routing read off its own forward values; a result that no admissible Jacobian explains along that
 * routing is a 'defect' (see classifyFixed), at a real tie too: there the framework chose a Jacobian,
 * and it must be an admissible one (admissible.ts). Every verdict says what it rests on (`verdictBasis`):
 * a backend without forward values (src/backends/types.ts) gets 'no-forward', since then a routing
 * defect cannot be told from a rounding-made tie.
 */

import type { AdBackend, BackendResult } from '../backends/types.ts';
import type { Accumulate } from '../engine/types.ts';
import { type BetaMode, choice, type JacobianChoice, jacobianName, type MaxPoolJacobian } from '../jacobians/index.ts';
import type { ExactBackward, ExactForward, ExactNumber, Oracle } from '../oracle/types.ts';
import type { Format } from '../precision/index.ts';
import { formatByName } from '../precision/index.ts';
import {
  activationShapes,
  flattenParams,
  type Gradients,
  hasParams,
  isFiniteProblem,
  type LayerRouting,
  type MaxPoolSpec,
  type Problem,
  type Routing,
  routingFromActivations,
  windowIndices,
} from '../problem/index.ts';
import type { Classification, EntryView, Finding, ValueCheck } from '../schema/verify.ts';
import { checkAdmissibleAtTie, roundingBound, type TieCheck } from './admissible.ts';
import type { Cause, Outcome } from './types.ts';

export interface ClassifyConfig {
  readonly precisions: readonly string[];
  readonly accumulate: Accumulate;
  /** MaxPool members compared for bifurcation and run on configurable backends. */
  readonly family: readonly MaxPoolJacobian[];
  /** ReLU'(0) values; the family is the product family × reluAlphas. */
  readonly reluAlphas: readonly number[];
  readonly betaMode: BetaMode;
  readonly oracle: Oracle;
  readonly backends: readonly AdBackend[];
  /** Tie rule of each fixed-Jacobian backend (measured, e.g. tfjs-cpu → first). */
  readonly tieRules?: Readonly<Record<string, MaxPoolJacobian>>;
}

export type { Classification, EntryView, Finding, ValueCheck } from '../schema/verify.ts';
export type { VerdictBasis } from '../problem/index.ts';

export interface RealTieSummary {
  /** Tied windows (k ≥ 2) over the reals. */
  readonly windows: number;
  /** Of those, windows whose choice changes the classified gradient. */
  readonly harmful: number;
  /** Harmless because every tied entry is a ReLU zero whose gradient ReLU' erases. */
  readonly allZero: number;
  /** Harmless for another reason (identical patches, zero upstream gradient, ...). */
  readonly otherHarmless: number;
  /** ReLU inputs exactly 0 over the reals. */
  readonly reluZeros: number;
}

export interface PointClassification {
  readonly bifurcation: boolean;
  readonly target: 'params' | 'input';
  readonly realTies: RealTieSummary;
  readonly results: readonly Classification[];
}

type Grads = Gradients<ExactNumber>;

function targetOf<T>(g: Gradients<T>, target: 'params' | 'input'): readonly T[] {
  return target === 'params' ? flattenParams(g) : g.input;
}

function sameExact(a: readonly ExactNumber[], b: readonly ExactNumber[]): boolean {
  return a.length === b.length && a.every((x, i) => x.equals(b[i]));
}

function jacobians(config: ClassifyConfig): JacobianChoice[] {
  const out: JacobianChoice[] = [];
  for (const m of config.family) for (const a of config.reluAlphas) out.push(choice(m, a, config.betaMode));
  return out;
}

function choiceName(j: JacobianChoice, withAlpha: boolean): string {
  return withAlpha ? `${jacobianName(j.maxpool)},α=${j.reluAlpha}` : jacobianName(j.maxpool);
}

/** Replace one unit's routing decision. */
function withUnit(routing: Routing, layerIdx: number, unit: number, value: readonly number[] | -1 | 0 | 1): Routing {
  return routing.map((r) => {
    if (r.layer !== layerIdx) return r;
    if (r.kind === 'maxpool') {
      const ties = r.ties.slice();
      ties[unit] = value as readonly number[];
      return { ...r, ties };
    }
    const sign = r.sign.slice();
    sign[unit] = value as -1 | 0 | 1;
    return { ...r, sign };
  });
}

interface Unit {
  readonly layer: number;
  readonly kind: 'maxpool' | 'relu';
  readonly unit: number;
}

function unitValue(r: LayerRouting, unit: number): readonly number[] {
  return r.kind === 'maxpool' ? r.ties[unit] : [r.sign[unit]];
}

/** Compare an exact and a float routing unit by unit; returns the differing units with their kind of change. */
/** A unit whose routing differs between the exact and a rounded forward, and how. */
export type RoutingDiff = Unit & { what: 'tie' | 'flip' | 'split' };

export function routingDiffs(exact: Routing, rounded: Routing): RoutingDiff[] {
  const diffs: RoutingDiff[] = [];
  exact.forEach((er, li) => {
    const rr = rounded[li];
    if (!rr || rr.kind !== er.kind || rr.layer !== er.layer) throw new Error(`routing layouts differ at routing entry ${li}`);
    if (er.kind === 'maxpool' && rr.kind === 'maxpool') {
      er.ties.forEach((e, u) => {
        const r = rr.ties[u];
        if (e.length === r.length && e.every((x, i) => x === r[i])) return;
        const inExact = r.filter((x) => e.includes(x));
        const what = inExact.length === 0 ? 'flip' : r.length > e.length || inExact.length < r.length ? 'tie' : 'split';
        diffs.push({ layer: er.layer, kind: 'maxpool', unit: u, what });
      });
    } else if (er.kind === 'relu' && rr.kind === 'relu') {
      er.sign.forEach((e, u) => {
        const r = rr.sign[u];
        if (e === r) return;
        const what = r === 0 ? 'tie' : e === 0 ? 'split' : 'flip';
        diffs.push({ layer: er.layer, kind: 'relu', unit: u, what });
      });
    }
  });
  return diffs;
}

/** Context shared by all classifications of one point: the exact computation, done once. */
class ExactPoint {
  readonly forward: ExactForward;
  readonly target: 'params' | 'input';
  readonly choices: JacobianChoice[];
  private readonly cache = new Map<string, ExactBackward>();
  private readonly alongCache = new WeakMap<BackendResult, ExactBackward>();
  private readonly diffCache = new WeakMap<BackendResult, RoutingDiff[]>();
  private readonly mattersCache = new WeakMap<BackendResult, Map<'params' | 'input', boolean>>();
  readonly shapes;

  constructor(
    readonly problem: Problem,
    readonly config: ClassifyConfig,
  ) {
    this.forward = config.oracle.forward(problem);
    this.target = hasParams(problem) ? 'params' : 'input';
    this.choices = jacobians(config);
    this.shapes = activationShapes(problem);
  }

  /** AD_R(J) along the exact routing (computed once per member). */
  ad(j: JacobianChoice): ExactBackward {
    const key = `${jacobianName(j.maxpool)},${j.reluAlpha}`;
    let r = this.cache.get(key);
    if (!r) {
      r = this.config.oracle.backward(this.problem, this.forward.routing, j);
      this.cache.set(key, r);
    }
    return r;
  }

  /** The exact backward along a backend's own routing (a run's routing in p), computed once per run result. */
  along(j: JacobianChoice, r: BackendResult): ExactBackward {
    let a = this.alongCache.get(r);
    if (!a) {
      a = this.config.oracle.backward(this.problem, r.routing!, j);
      this.alongCache.set(r, a);
    }
    return a;
  }

  /** The units where a run's p routing differs from the exact routing (computed once per run result). */
  diffs(r: BackendResult): RoutingDiff[] {
    let d = this.diffCache.get(r);
    if (!d) {
      d = r.routing ? routingDiffs(this.forward.routing, r.routing) : [];
      this.diffCache.set(r, d);
    }
    return d;
  }

  /**
   * Did rounding change a run's routing in a way that matters: does the exact backward along the
   * run's own routing differ from AD_R(J) at the target? Decided once per run and target, for the
   * zone (routedZone) and for the value check's reference (valueReference) alike.
   */
  routingMatters(j: JacobianChoice, r: BackendResult, target = this.target): boolean {
    if (this.diffs(r).length === 0) return false;
    const byTarget = this.mattersCache.get(r) ?? new Map<'params' | 'input', boolean>();
    this.mattersCache.set(r, byTarget);
    let m = byTarget.get(target);
    if (m === undefined) {
      m = !sameExact(this.targetGrads(this.along(j, r).grads, target), this.targetGrads(this.ad(j).grads, target));
      byTarget.set(target, m);
    }
    return m;
  }

  targetGrads(g: Grads, target = this.target): readonly ExactNumber[] {
    return targetOf(g, target);
  }

  bifurcation(target = this.target): boolean {
    const first = this.targetGrads(this.ad(this.choices[0]).grads, target);
    return this.choices.some((j) => !sameExact(first, this.targetGrads(this.ad(j).grads, target)));
  }

  /** Does changing this one unit's routing (from the exact routing) change AD_R? */
  matters(unit: Unit, value: readonly number[] | -1 | 0 | 1, j: JacobianChoice, target = this.target): boolean {
    const along = this.config.oracle.backward(this.problem, withUnit(this.forward.routing, unit.layer, unit.unit, value), j);
    return !sameExact(this.targetGrads(along.grads, target), this.targetGrads(this.ad(j).grads, target));
  }

  /** Vertex test for a real tie: do the single-entry routings of this unit give different AD_R? */
  realTieMatters(unit: Unit, target = this.target): boolean {
    const j = this.choices[0];
    const r = this.forward.routing.find((x) => x.layer === unit.layer)!;
    const vertices: Array<readonly number[] | -1 | 1> = r.kind === 'maxpool' ? r.ties[unit.unit].map((i) => [i]) : [-1, 1];
    const results = vertices.map((v) =>
      this.targetGrads(
        this.config.oracle.backward(this.problem, withUnit(this.forward.routing, unit.layer, unit.unit, v), {
          ...j,
          maxpool: { kind: 'first' },
        }).grads,
        target,
      ),
    );
    return results.some((g) => !sameExact(g, results[0]));
  }

  entries(unit: Unit, rounded?: readonly (readonly number[])[]): EntryView[] {
    const layer = this.problem.layers[unit.layer];
    const acts = this.forward.activations[unit.layer];
    const idx =
      layer.kind === 'maxpool'
        ? windowIndices(layer as MaxPoolSpec, this.shapes[unit.layer], this.shapes[unit.layer + 1], unit.unit)
        : [unit.unit];
    return idx.map((i) => ({ index: i, exact: acts[i].toString(), rounded: rounded ? rounded[unit.layer][i] : null }));
  }
}

/** The units tied over the reals: MaxPool windows with ≥ 2 maximisers, ReLU inputs exactly 0. */
function realTieUnits(point: ExactPoint): Unit[] {
  const units: Unit[] = [];
  for (const r of point.forward.routing) {
    if (r.kind === 'maxpool') {
      r.ties.forEach((t, u) => {
        if (t.length > 1) units.push({ layer: r.layer, kind: 'maxpool', unit: u });
      });
    } else {
      r.sign.forEach((s, u) => {
        if (s === 0) units.push({ layer: r.layer, kind: 'relu', unit: u });
      });
    }
  }
  return units;
}

/** Is this all-zero window harmless because ReLU erases it (every tied entry is a ReLU output of a negative or α=0 input)? */
function isAllZeroWindow(point: ExactPoint, unit: Unit): boolean {
  if (unit.kind !== 'maxpool') return false;
  const r = point.forward.routing.find((x) => x.layer === unit.layer);
  if (r?.kind !== 'maxpool') return false;
  const ties = r.ties[unit.unit];
  if (!ties.every((i) => point.forward.activations[unit.layer][i].isZero())) return false;
  const prev = point.forward.routing.find((x) => x.layer === unit.layer - 1);
  return !!prev && prev.kind === 'relu' && ties.every((i) => prev.sign[i] < 0);
}

function bound(depth: number, magnitude: ExactNumber, format: Format): number {
  return roundingBound(depth, magnitude.toNumber(), format);
}

function valueCheck(
  point: ExactPoint,
  result: BackendResult,
  j: JacobianChoice,
  format: Format,
  name: string,
  target = point.target,
  ref: ExactBackward = point.ad(j),
): ValueCheck {
  const exact = point.targetGrads(ref.grads, target);
  const mag = point.targetGrads(ref.magnitude, target);
  const depth = targetOf(ref.depth, target);
  const got = targetOf(result.grads, target);
  const underflow = result.underflow === true ? { underflow: true } : {};
  let worst = { ratio: -1, err: 0, bound: 0, entry: 0 };
  let within = true;
  for (let i = 0; i < exact.length; i++) {
    const g = got[i];
    if (!Number.isFinite(g)) return { jacobian: name, maxError: NaN, bound: NaN, entry: i, within: false, ...underflow };
    const err = point.config.oracle.exact(g).sub(exact[i]).abs().toNumber();
    const b = bound(depth[i], mag[i], format);
    if (err > b) within = false;
    const ratio = err === 0 ? 0 : b === 0 ? Infinity : err / b;
    if (ratio > worst.ratio) worst = { ratio, err, bound: b, entry: i };
  }
  return { jacobian: name, maxError: worst.err, bound: worst.bound, entry: worst.entry, within, ...underflow };
}

/**
 * What a run's values are checked against: AD_R(J) along the exact routing, with that routing's
 * magnitudes and rounding depths; but where rounding changed the routing harmlessly (the exact
 * backward along the run's own routing is AD_R(J) again), that routing's, because it is the
 * arithmetic the run did: a three-way minnorm split divides by 3 and rounds where the exact routing
 * sends the whole cotangent to one entry (bfloat16 found it: a bound of 0 against an error of 2^-9).
 */
function valueReference(point: ExactPoint, j: JacobianChoice, r: BackendResult): ExactBackward {
  return point.diffs(r).length === 0 || point.routingMatters(j, r) ? point.ad(j) : point.along(j, r);
}

function allFinite(r: BackendResult): boolean {
  return r.output.every(Number.isFinite) && flattenParams(r.grads).every(Number.isFinite) && r.grads.input.every(Number.isFinite);
}

/** One run of a routed backend: the member J and its result. */
interface RoutedRun {
  readonly j: JacobianChoice;
  readonly r: BackendResult;
}

/** Classify with a backend that exposes its routing and takes any Jacobian (the engine). */
async function classifyRouted(
  point: ExactPoint,
  backend: AdBackend,
  precision: string,
  bif: boolean,
  inputBif: boolean,
): Promise<Classification> {
  const { config, problem } = point;
  const format = formatByName(precision);
  const withAlpha = config.reluAlphas.length > 1;
  const runs: RoutedRun[] = await Promise.all(
    point.choices.map(async (j) => ({
      j,
      r: await backend.run(problem, { precision, accumulate: config.accumulate, jacobian: j, checkUnderflow: true }),
    })),
  );
  const base = { backend: backend.id, precision, target: point.target, verdictBasis: 'own-forward' } as const;
  const decide = (target: 'params' | 'input') => routedZone(point, backend.id, runs, target);
  const checks = () =>
    runs.map(({ j, r }) => valueCheck(point, r, j, format, choiceName(j, withAlpha), point.target, valueReference(point, j, r)));
  if (bif) {
    const inputZone = point.target === 'params' ? (inputBif ? 'bifurcation' : decide('input').zone) : undefined;
    return {
      ...base,
      zone: 'bifurcation',
      ...(inputZone ? { inputZone } : {}),
      findings: realTieFindings(point, runs[0].r.activations),
      harmlessRoundingDiffs: 0,
      valueChecks: checks(),
    };
  }
  if (!runs.every(({ r }) => allFinite(r))) {
    return {
      ...base,
      zone: 'nonfinite',
      reason: `precision ${precision} overflowed or produced NaN although the point is finite (e.g. |x| > max finite ${format.maxFinite})`,
      findings: [],
      harmlessRoundingDiffs: 0,
      valueChecks: [],
    };
  }
  const main = decide(point.target);
  const inputZone = point.target === 'params' ? (inputBif ? 'bifurcation' : decide('input').zone) : undefined;
  const valueChecks = checks();
  const inconsistent = main.zone === 'regular' && valueChecks.some((v) => !v.within && !v.underflow);
  return {
    ...base,
    zone: main.zone,
    ...(main.cause ? { cause: main.cause } : {}),
    ...(inputZone ? { inputZone } : {}),
    findings: main.findings,
    harmlessRoundingDiffs: main.harmless,
    valueChecks,
    ...(inconsistent ? { inconsistent } : {}),
    ...(runs.some(({ r }) => r.underflow) ? { underflow: true } : {}),
  };
}

/**
 * The zone of a routed backend's runs for one target: compensation when the exact AD along some
 * run's own p routing differs from AD_R, explained by the units whose routing rounding changed;
 * otherwise regular, with the routing changes that did not matter counted.
 */
function routedZone(
  point: ExactPoint,
  backendId: string,
  runs: readonly RoutedRun[],
  target: 'params' | 'input',
): { zone: Outcome; cause?: Cause; findings: Finding[]; harmless: number } {
  const findings: Finding[] = [];
  let harmless = 0;
  let compensated = false;
  for (const { j, r } of runs) {
    if (!r.routing) throw new Error(`backend ${backendId} exposes no routing`);
    const diffs = point.diffs(r);
    if (diffs.length === 0) continue;
    if (!point.routingMatters(j, r, target)) {
      harmless = Math.max(harmless, diffs.length);
      continue;
    }
    compensated = true;
    for (const d of diffs) {
      if (findings.some((f) => f.layer === d.layer && f.unit === d.unit && f.kind === d.kind)) continue;
      findings.push(diffFinding(point, d, r.routing, r.activations, j, target));
    }
  }
  const mattering = findings.filter((f) => f.matters);
  const causeFrom = mattering.length > 0 ? mattering : findings;
  const cause: Cause | undefined = compensated ? (causeFrom.some((f) => f.what === 'flip') ? 'flip' : 'tie') : undefined;
  return { zone: compensated ? 'compensation' : 'regular', cause, findings, harmless };
}

/** A unit whose routing rounding changed, explained: exact and p decisions, whether it alone matters, its entries. */
function diffFinding(
  point: ExactPoint,
  d: Unit & { what: 'tie' | 'flip' | 'split' },
  rounded: Routing,
  activations: BackendResult['activations'],
  j: JacobianChoice,
  target: 'params' | 'input',
): Finding {
  const value = unitValue(rounded.find((x) => x.layer === d.layer)!, d.unit);
  return {
    layer: d.layer,
    kind: d.kind,
    unit: d.unit,
    what: d.what,
    exact: unitValue(point.forward.routing.find((x) => x.layer === d.layer)!, d.unit),
    rounded: value,
    matters: point.matters(d, d.kind === 'maxpool' ? value : (value[0] as -1 | 0 | 1), j, target),
    entries: point.entries(d, activations),
  };
}

function realTieFindings(point: ExactPoint, rounded?: readonly (readonly number[])[]): Finding[] {
  const out: Finding[] = [];
  for (const u of realTieUnits(point)) {
    if (!point.realTieMatters(u)) continue;
    const r = point.forward.routing.find((x) => x.layer === u.layer)!;
    out.push({ ...u, what: 'real-tie', exact: unitValue(r, u.unit), rounded: null, matters: true, entries: point.entries(u, rounded) });
  }
  return out;
}

/**
 * Classify a fixed-Jacobian backend (a framework): its tie rule is measured, not chosen, and its
 * routing is read off the forward values it returns (routingFromActivations).
 * - within rounding of AD_R(rule): regular (routing changes that did not matter are counted);
 * - else within rounding of the exact AD *along its own routing*: compensation, explained by the
 *   routing units rounding changed;
 * - else: defect, the result is no admissible Jacobian's AD for the routing it computed.
 * At a real tie (bifurcation) the result is a defect when no admissible Jacobian explains it along
 * its own routing (admissibleAtTie), and a bifurcation otherwise.
 */
async function classifyFixed(
  point: ExactPoint,
  backend: AdBackend,
  precision: string,
  bif: boolean,
  inputBif: boolean,
): Promise<Classification> {
  const { config, problem } = point;
  const format = formatByName(precision);
  const alpha = config.reluAlphas.includes(0) ? 0 : config.reluAlphas[0];
  const r = await backend.run(problem, {
    precision,
    accumulate: config.accumulate,
    jacobian: choice({ kind: 'first' }, alpha, config.betaMode),
  });
  const routing = ownRouting(backend, problem, r, precision);
  const base = { backend: backend.id, precision, target: point.target, verdictBasis: routing ? 'own-forward' : 'no-forward' } as const;
  if (!allFinite(r)) {
    return {
      ...base,
      zone: 'nonfinite',
      reason: `${backend.id} produced a non-finite value on a finite point`,
      findings: [],
      harmlessRoundingDiffs: 0,
      valueChecks: [],
    };
  }
  const rule = choice(config.tieRules?.[backend.id] ?? { kind: 'first' }, alpha, config.betaMode);
  const ruleName = jacobianName(rule.maxpool);
  // Which members' exact AD does the result match within rounding? (the tie rule, observed here)
  const matchedRules = (['first', 'last', 'minnorm'] as const).filter(
    (kind) => valueCheck(point, r, choice({ kind }, alpha, config.betaMode), format, kind).within,
  );
  const diffs = routing ? routingDiffs(point.forward.routing, routing) : [];
  const along = routing && diffs.length ? config.oracle.backward(problem, routing, rule) : undefined;

  const decide = (target: 'params' | 'input') => fixedZone(point, r, rule, routing, diffs, along, format, target);
  if (bif) {
    // At a real tie the framework chose a Jacobian: it must still be an admissible one along its own routing (admissible.ts).
    const tie = (target: 'params' | 'input') =>
      routing ? admissibleAtTie(point, r, rule, routing, diffs.length === 0, format, target) : undefined;
    const main = tie(point.target);
    const inputZone =
      point.target === 'params'
        ? inputBif
          ? tie('input')?.admissible === false
            ? 'defect'
            : 'bifurcation'
          : decide('input').zone
        : undefined;
    return {
      ...base,
      zone: main?.admissible === false ? 'defect' : 'bifurcation',
      findings: realTieFindings(point, r.activations),
      harmlessRoundingDiffs: 0,
      valueChecks: [valueCheck(point, r, rule, format, ruleName)],
      matchedRules,
      ...(inputZone ? { inputZone } : {}),
      ...(main?.admissible === false ? { reason: main.reason } : {}),
    };
  }
  const inputZone = point.target === 'params' ? (inputBif ? 'bifurcation' : decide('input').zone) : undefined;
  const d = decide(point.target);
  return {
    ...base,
    zone: d.zone,
    ...(d.cause ? { cause: d.cause } : {}),
    ...(inputZone ? { inputZone } : {}),
    findings: d.findings,
    harmlessRoundingDiffs: d.harmless,
    valueChecks: d.checks,
    matchedRules,
    ...(d.zone === 'defect' ? { reason: defectReason(point, r, rule, routing, along, format) } : {}),
    ...(!routing && d.zone === 'compensation' ? { reason: NO_FORWARD_REASON } : {}),
  };
}

const NO_FORWARD_REASON =
  'the result is beyond rounding of the exact AD, and the backend returned no forward values: whether rounding changed its routing ' +
  '(compensation) or its gradient is routed wrongly (a defect) cannot be told; compensation is assumed, unverified';

/**
 * The routing a backend followed: exposed, or read off its forward values; undefined when it has
 * neither. A backend that declares forward values and returns none breaks the contract (src/backends/types.ts).
 */
function ownRouting(backend: AdBackend, problem: Problem, r: BackendResult, precision: string): Routing | undefined {
  const routing = r.routing ?? (r.activations ? routingFromActivations(problem, r.activations) : undefined);
  if (!routing && backend.forwardValues) {
    throw new Error(`${backend.id} declares forward values but returned neither activations nor routing at ${precision} bits`);
  }
  return routing;
}

/**
 * A fixed-Jacobian backend's result at a real tie, against every admissible Jacobian along its own
 * routing: its measured rule, then first, last, minnorm and the family, then rows chosen window by
 * window (admissible.ts). Along the exact routing the oracle's AD of each member is already cached.
 */
function admissibleAtTie(
  point: ExactPoint,
  r: BackendResult,
  rule: JacobianChoice,
  routing: Routing,
  exactRouting: boolean,
  format: Format,
  target: 'params' | 'input',
): TieCheck {
  return checkAdmissibleAtTie({
    oracle: point.config.oracle,
    problem: point.problem,
    routing,
    target,
    got: targetOf(r.grads, target),
    format,
    reluAlpha: rule.reluAlpha,
    betaMode: rule.betaMode,
    members: [rule.maxpool, { kind: 'first' }, { kind: 'last' }, { kind: 'minnorm' }, ...point.config.family],
    ...(exactRouting ? { known: (j: JacobianChoice) => point.ad(j) } : {}),
  });
}

/** The outcome of a fixed-Jacobian backend for one target. */
interface FixedZone {
  zone: Outcome;
  cause?: Cause;
  findings: Finding[];
  checks: ValueCheck[];
  harmless: number;
}

/**
 * A fixed-Jacobian backend's zone for one target: regular within rounding of AD_R(rule);
 * compensation within rounding of the exact AD along its own routing; otherwise a defect (or, when
 * it exposes no routing to explain the difference, compensation by a rounding-made tie).
 */
function fixedZone(
  point: ExactPoint,
  r: BackendResult,
  rule: JacobianChoice,
  routing: Routing | undefined,
  diffs: readonly RoutingDiff[],
  along: ExactBackward | undefined,
  format: Format,
  target: 'params' | 'input',
): FixedZone {
  const ruleName = jacobianName(rule.maxpool);
  const vc = valueCheck(point, r, rule, format, ruleName, target);
  if (vc.within) return { zone: 'regular', findings: [], checks: [vc], harmless: diffs.length };
  if (!along) {
    return {
      zone: routing ? 'defect' : 'compensation',
      ...(routing ? {} : { cause: 'tie' as Cause }),
      findings: [],
      checks: [vc],
      harmless: 0,
    };
  }
  const va = valueCheck(point, r, rule, format, `${ruleName} along its routing`, target, along);
  if (!va.within) return { zone: 'defect', findings: [], checks: [vc, va], harmless: 0 };
  const findings = diffs.map((d) => diffFinding(point, d, routing!, r.activations, rule, target));
  const causeFrom = findings.some((f) => f.matters) ? findings.filter((f) => f.matters) : findings;
  return {
    zone: 'compensation',
    cause: causeFrom.some((f) => f.what === 'flip') ? 'flip' : 'tie',
    findings,
    checks: [vc, va],
    harmless: 0,
  };
}

/** Where a defect shows: the first gradient entries beyond rounding, with exact and computed values. */
function defectReason(
  point: ExactPoint,
  r: BackendResult,
  j: JacobianChoice,
  routing: Routing | undefined,
  along: ExactBackward | undefined,
  format: Format,
): string {
  const ref = along ?? point.ad(j);
  const exact = point.targetGrads(ref.grads);
  const got = targetOf(r.grads, point.target);
  const bad: string[] = [];
  for (let i = 0; i < exact.length && bad.length < 3; i++) {
    const err = point.config.oracle.exact(got[i]).sub(exact[i]).abs();
    if (!err.isZero() && !valueCheckEntry(point, ref, i, err, format))
      bad.push(`${point.target}[${i}]: exact ${exact[i].toString()}, got ${got[i]}`);
  }
  return `the result matches the exact AD of ${jacobianName(j.maxpool)} neither along the exact routing nor along the routing of its own forward values${routing ? '' : ' (not exposed)'}; ${bad.join('; ')}`;
}

function valueCheckEntry(point: ExactPoint, ref: ExactBackward, i: number, err: ExactNumber, format: Format): boolean {
  return err.toNumber() <= bound(targetOf(ref.depth, point.target)[i], point.targetGrads(ref.magnitude)[i], format);
}

/**
 * Classify one point for every configured backend and precision. The exact computation is done
 * once and shared. Non-finite points get zone 'nonfinite' for every backend and precision.
 */
export async function classifyPoint(problem: Problem, config: ClassifyConfig): Promise<PointClassification> {
  const target = hasParams(problem) ? 'params' : 'input';
  if (!isFiniteProblem(problem)) {
    const reason = 'the point holds NaN or ±Inf: it has no exact value, so zones are not defined there';
    return {
      bifurcation: false,
      target,
      realTies: { windows: 0, harmful: 0, allZero: 0, otherHarmless: 0, reluZeros: 0 },
      results: config.backends.flatMap((b) =>
        config.precisions
          .filter((p) => b.precisions.includes(p))
          .map((precision) => ({
            backend: b.id,
            precision,
            zone: 'nonfinite' as Outcome,
            target,
            reason,
            findings: [],
            harmlessRoundingDiffs: 0,
            valueChecks: [],
          })),
      ),
    };
  }
  const point = new ExactPoint(problem, config);
  const bif = point.bifurcation();
  const inputBif = target === 'params' ? point.bifurcation('input') : bif;
  // Real-tie census (what kind of ties the point has, harmful or not).
  let windows = 0;
  let harmful = 0;
  let allZero = 0;
  let otherHarmless = 0;
  let reluZeros = 0;
  for (const u of realTieUnits(point)) {
    if (u.kind === 'relu') {
      reluZeros++;
      continue;
    }
    windows++;
    if (point.realTieMatters(u)) harmful++;
    else if (isAllZeroWindow(point, u)) allZero++;
    else otherHarmless++;
  }
  const results: Classification[] = [];
  for (const backend of config.backends) {
    for (const precision of config.precisions) {
      if (!backend.precisions.includes(precision)) continue;
      results.push(
        backend.fixedJacobian
          ? await classifyFixed(point, backend, precision, bif, inputBif)
          : await classifyRouted(point, backend, precision, bif, inputBif),
      );
    }
  }
  return { bifurcation: bif, target, realTies: { windows, harmful, allZero, otherHarmless, reluZeros }, results };
}
