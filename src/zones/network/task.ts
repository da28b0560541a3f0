/**
 * One (batch, precision) task of the network-zones stage, the same code in the main thread and in
 * worker threads, deterministic on its own:
 *  1. estimator: engine gradients at p with MaxPool β = 0 and β = 1 (one forward: training mode,
 *     BN running statistics not updated), Σ_params ‖g0 − g1‖∞ against the paper's threshold;
 *  2. exact (no batch norm): exactRouting at the exact values of round_p(x), round_p(θ) (the
 *     evaluation point of a run at p), classified unit by unit against the engine's p routing
 *     (classifyNetwork, α), the first non-regular units explained (explain.ts).
 */
import { createEngineNet, type EngineNet, gradients, type NetGradients } from '../../backends/engine/network.ts';
import { rounder } from '../../engine/index.ts';
import { beta, choice } from '../../jacobians/index.ts';
import { initParams, type ModelSpec, modelSpec } from '../../models/index.ts';
import { formatByName } from '../../precision/index.ts';
import { classifyNetwork, type HarmlessTie, type NetworkClassification, type UnitFinding } from './classify.ts';
import type { TaskConfig } from './config.ts';
import { estimateZone } from './estimator.ts';
import { type ExactRoutingResult, exactRouting } from './exact.ts';
import { EXPLAIN_FIRST, explainedUnits, FINDINGS_PER_TASK, pickFindings } from './explain.ts';
import { routingFromDecisions } from './float.ts';
import { nodeLabel } from './labels.ts';
import type { ZonesBatchRecord, ZonesExactBatch, ZonesFinding, ZonesHarmlessTie, ZonesLayer } from './report.ts';
import type { NetRouting } from './types.ts';

export interface TaskBatch {
  readonly batch: number;
  readonly x: Float64Array;
  readonly shape: readonly [number, number, number, number];
  readonly labels: Int32Array;
  readonly indices: Int32Array;
}

export interface TaskResult {
  readonly record: ZonesBatchRecord;
  readonly findings: ZonesFinding[];
  readonly harmless: ZonesHarmlessTie[];
}

interface PerPrecision {
  readonly round: (v: number) => number;
  readonly params: Map<string, Float64Array>;
  readonly net: EngineNet;
}

/** The per-batch record without its exact part and timings. */
type RecordBase = Omit<ZonesBatchRecord, 'exact' | 'ms'>;

export class TaskContext {
  readonly spec: ModelSpec;
  private readonly init: Map<string, Float64Array>;
  private readonly per = new Map<string, PerPrecision>();
  private readonly labels = new Map<string, string>();

  constructor(readonly cfg: TaskConfig) {
    this.spec = modelSpec(cfg.model, cfg.modelOptions);
    this.init = initParams(this.spec, cfg.seed);
  }

  /** θ rounded to p: the parameters of a run at p (the engine would round them on entry anyway). */
  at(p: string): PerPrecision {
    let pp = this.per.get(p);
    if (!pp) {
      const round = rounder(formatByName(p));
      const params = new Map([...this.init].map(([k, v]) => [k, v.map(round)] as const));
      pp = { round, params, net: createEngineNet(this.spec, params) };
      this.per.set(p, pp);
    }
    return pp;
  }

  label(exactPath: string): string {
    let l = this.labels.get(exactPath);
    if (l === undefined) {
      l = nodeLabel(this.spec, exactPath);
      this.labels.set(exactPath, l);
    }
    return l;
  }

  run(p: string, b: TaskBatch): TaskResult {
    let t = performance.now();
    const { g0, base } = estimate(this, p, b);
    const engineMs = performance.now() - t;
    if (!this.cfg.exact)
      return { record: { ...base, exact: null, ms: { engine: engineMs, exact: 0, classify: 0 } }, findings: [], harmless: [] };
    t = performance.now();
    const { params, round } = this.at(p);
    const ex = exactRouting(this.spec, params, b.x.map(round), b.shape);
    const exactMs = performance.now() - t;
    t = performance.now();
    const c = classifyTask(this, ex, g0, b);
    const classifyMs = performance.now() - t;
    return {
      record: { ...base, exact: c.exact, ms: { engine: engineMs, exact: exactMs, classify: classifyMs } },
      findings: c.findings,
      harmless: c.harmless,
    };
  }
}

/** Step 1: the estimator at p, and the batch's MaxPool windows (all, and tied in p). */
function estimate(ctx: TaskContext, p: string, b: TaskBatch): { g0: NetGradients; base: RecordBase } {
  const { cfg } = ctx;
  const { net } = ctx.at(p);
  const format = formatByName(p);
  const batch = { x: b.x, shape: b.shape, labels: b.labels };
  const pass = { training: true, updateRunningStats: false } as const;
  const g0 = gradients(net, batch, { format, accumulate: cfg.accumulate, jacobian: choice(beta(0), cfg.reluAlpha) }, pass);
  const g1 = gradients(net, batch, { format, accumulate: cfg.accumulate, jacobian: choice(beta(1), cfg.reluAlpha) }, pass);
  const est = estimateZone(g0.grads, g1.grads, p);
  const estimator = {
    distance: est.distance,
    threshold: est.threshold,
    inZone: est.inZone,
    nonfinite: est.nonfinite,
    perParam: Object.fromEntries(est.perParam),
  };
  let windows = 0;
  let pTiedWindows = 0;
  for (const d of g0.decisions) {
    if (d.kind !== 'maxpool') continue;
    const o = d.ties.offsets;
    windows += o.length - 1;
    for (let k = 0; k + 1 < o.length; k++) if (o[k + 1] - o[k] >= 2) pTiedWindows++;
  }
  return {
    g0,
    base: { batch: b.batch, firstIndex: b.indices[0], size: b.indices.length, loss: g0.loss, windows, pTiedWindows, estimator },
  };
}

/** Step 2: every unit classified against the engine's p routing, the first non-regular ones explained. */
function classifyTask(
  ctx: TaskContext,
  ex: ExactRoutingResult,
  g0: NetGradients,
  b: TaskBatch,
): { exact: ZonesExactBatch; findings: ZonesFinding[]; harmless: ZonesHarmlessTie[] } {
  const pRouting = routingFromDecisions(ex.nodes, g0.decisions);
  const routed = ex.nodes.filter((nd) => nd.kind === 'maxpool' || nd.kind === 'relu');
  const enginePath = new Map(routed.map((nd, i) => [nd.path, g0.decisions[i].path]));
  // p values of each MaxPool's input, for the explanations: the ReLU output just before it.
  const pValues = new Map<string, Float64Array>();
  routed.forEach((nd, i) => {
    if (nd.kind !== 'maxpool' || i === 0) return;
    const prev = g0.decisions[i - 1];
    if (prev.kind === 'relu' && ex.reluBefore(nd.path) === routed[i - 1].path) pValues.set(nd.path, prev.output.data);
  });
  const cls = classifyNetwork(ex, pRouting, pValues, ctx.cfg.reluAlpha, {
    maxFindings: EXPLAIN_FIRST,
    harmlessExamplesPerNode: b.batch === 0 ? 2 : 0,
  });
  const explained = explainedUnits(cls, ex, pRouting, pValues, ctx.cfg.reluAlpha, b.batch);
  const layers = cls.nodes.map((s) => layerRecord(ctx, s, ex.routing, pRouting, enginePath));
  const toFinding = (f: UnitFinding): ZonesFinding => ({ ...where(ctx, f, b, enginePath), zone: f.zone, cause: f.cause });
  const toHarmless = (f: HarmlessTie): ZonesHarmlessTie => ({ ...where(ctx, f, b, enginePath), harmless: f.harmless });
  const findings = pickFindings(explained, FINDINGS_PER_TASK, (f) => `${f.node}|${f.zone}|${f.cause}`).map(toFinding);
  return { exact: exactRecord(cls, ex, layers), findings, harmless: cls.harmlessExamples.map(toHarmless) };
}

function layerRecord(
  ctx: TaskContext,
  s: NetworkClassification['nodes'][number],
  exact: NetRouting,
  pRouting: NetRouting,
  enginePath: ReadonlyMap<string, string>,
): ZonesLayer {
  return {
    node: enginePath.get(s.node) ?? s.node,
    exactPath: s.node,
    kind: s.kind,
    label: ctx.label(s.node),
    units: s.units,
    regular: s.regular,
    harmless: { ...s.harmless },
    bifurcation: { ...s.bifurcation },
    compensation: { ...s.compensation },
    harmlessRoundingDiffs: s.harmlessRoundingDiffs,
    exactTied: tiedCount(exact, s.node),
    pTied: tiedCount(pRouting, s.node),
  };
}

/** Windows with ≥ 2 tied entries (maxpool), or units exactly at 0 (relu), of one node. */
function tiedCount(r: NetRouting, path: string): number {
  const d = r.get(path);
  if (!d) return 0;
  let n = 0;
  if (d.kind === 'maxpool') {
    for (const t of d.ties) if (t.length >= 2) n++;
  } else {
    for (let i = 0; i < d.sign.length; i++) if (d.sign[i] === 0) n++;
  }
  return n;
}

/** Where a unit is and what it holds, as zones.json records a finding or a harmless tie. */
function where(ctx: TaskContext, f: UnitFinding | HarmlessTie, b: TaskBatch, enginePath: ReadonlyMap<string, string>) {
  return {
    batch: b.batch,
    datasetIndex: b.indices[f.sample],
    sample: f.sample,
    node: enginePath.get(f.node) ?? f.node,
    label: ctx.label(f.node),
    kind: f.kind,
    unit: f.unit,
    exact: [...f.exact],
    rounded: [...f.rounded],
    entries: f.entries.map((e) => ({ ...e })),
  };
}

function exactRecord(cls: NetworkClassification, ex: ExactRoutingResult, layers: ZonesLayer[]): ZonesExactBatch {
  const { units, regular, harmless, bifurcation, compensation, harmlessRoundingDiffs, zone, inZone } = cls.batch;
  return {
    zone,
    inZone,
    units,
    regular,
    harmless,
    bifurcation,
    compensation,
    harmlessRoundingDiffs,
    samplesInZone: cls.samples.filter((s) => s.zone !== 'regular').length,
    layers,
    filter: { ...ex.totals, exactEvaluations: ex.exactEvaluations },
    findingsTruncated: cls.truncated,
  };
}
