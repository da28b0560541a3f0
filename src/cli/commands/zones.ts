/**
 * `adzone zones`: zones of a whole network on real mini-batches, the paper's threshold estimator
 * side by side with the exact classification (DESIGN §3).
 *
 * One θ (initParams(spec, seed), untrained), the first N mini-batches of a split in order,
 * normalised with the data set's recipe. For each batch and precision p:
 *  1. estimator: engine gradients at p with MaxPool β = 0 and β = 1 (one forward: training mode,
 *     BN running statistics not updated), Σ_params ‖g0 − g1‖∞ against the paper's threshold;
 *  2. exact: exactRouting at the exact values of round_p(x), round_p(θ) (the evaluation point of a
 *     run at p), classified unit by unit against the engine's p routing (classifyNetwork, α);
 *     impossible through batch norm: then the estimator runs alone and the report says so;
 *  3. per precision: the share of batches in a zone by each, and the estimator's misses and
 *     inventions (compareEstimator).
 * Writes DIR/zones.json (schema 'adzone/zones' 1, types in src/report/zonesMarkdown.ts) and
 * DIR/zones.md, atomically.
 *
 * Work is split into (batch, precision) tasks, each deterministic on its own, run on `--jobs`
 * worker threads (this module is the worker too: see the bottom); the result does not depend on
 * the number of jobs.
 */
import { parseArgs } from 'node:util';
import { join, resolve } from 'node:path';
import { availableParallelism } from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { UsageError, parseAlphas, parseChoice, parseIntOption, parseList } from '../args.ts';
import { progress } from '../progress.ts';
import { writeResults } from '../../schema/index.ts';
import {
  zonesMarkdown,
  type ZonesBatchRecord,
  type ZonesConfig,
  type ZonesCounts,
  type ZonesFinding,
  type ZonesHarmlessTie,
  type ZonesLayer,
  type ZonesLayerAggregate,
  type ZonesPrecisionReport,
  type ZonesReport,
  type ZonesSummary,
} from '../../report/zonesMarkdown.ts';
import {
  MODEL_NAMES,
  countParams,
  initParams,
  isModelName,
  modelSpec,
  type ModelOptions,
  type ModelSpec,
  type NetLayer,
} from '../../models/index.ts';
import { createEngineNet, gradients, type EngineNet } from '../../backends/engine/network.ts';
import {
  DATASET_NAMES,
  DataError,
  batches as dataBatches,
  datasetByName,
  type Dataset,
  type DatasetInfo,
  type Split,
} from '../../data/index.ts';
import {
  BATCHNORM_UNSUPPORTED,
  ESTIMATOR_THRESHOLDS,
  classifyNetwork,
  compareEstimator,
  estimateZone,
  exactRouting,
  routingFromDecisions,
  type NetRouting,
  type HarmlessTie,
  type UnitFinding,
} from '../../zones/network/index.ts';
import { formatByName } from '../../precision/index.ts';
import { BIFURCATION_CAUSES, COMPENSATION_CAUSES, HARMLESS_TIES, zeroCountsOf } from '../../problem/index.ts';
import { rounder } from '../../engine/index.ts';
import type { Accumulate } from '../../engine/types.ts';
import { beta, choice } from '../../jacobians/index.ts';

const PRECISIONS = ['16', '32', '64'] as const;
/**
 * Non-regular units explained per (batch, precision): one of every (layer, zone, cause) present,
 * then the first few others; the report keeps the first few overall, bifurcations first.
 */
const FINDINGS_PER_TASK = 4;
const FINDINGS_PER_PRECISION = 12;
/**
 * Explaining a unit costs exact values of its entries (deep receptive fields in BigInt), so a task
 * explains the first EXPLAIN_FIRST non-regular units in forward order, then, for every layer with
 * non-regular units none of which got explained, that layer's first EXPLAIN_PER_LAYER (in the first
 * batches only) — or, when the layer has an unexplained bifurcation, all its units up to
 * EXPLAIN_BUDGET so that the bifurcation is shown (in every batch: bifurcations are rare).
 */
const EXPLAIN_FIRST = 32;
/** Layers without an explained unit get one only in the first batches (bifurcations: in every batch). */
const EXPLAIN_LAYERS_IN_BATCHES = 2;
const EXPLAIN_PER_LAYER = 2;
const EXPLAIN_BUDGET = 1500;

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

// ---------------------------------------------------------------------------------------------
// Options

interface TaskConfig {
  readonly model: string;
  readonly modelOptions: ModelOptions;
  readonly seed: number;
  readonly accumulate: Accumulate;
  readonly reluAlpha: number;
  readonly exact: boolean;
}

interface Resolved {
  readonly task: TaskConfig;
  readonly spec: ModelSpec;
  readonly info: DatasetInfo;
  readonly split: Split;
  readonly batchSize: number;
  readonly batches: number;
  readonly precisions: string[];
  readonly out: string;
  readonly jobs: number;
  readonly quiet: boolean;
  readonly notes: string[];
  readonly exactReason: string | null;
}

function hasLayer(layers: readonly NetLayer[], kind: NetLayer['kind']): boolean {
  return layers.some((l) => l.kind === kind || (l.kind === 'residual' && (hasLayer(l.body, kind) || hasLayer(l.shortcut, kind))));
}

function countLayers(layers: readonly NetLayer[], kind: NetLayer['kind']): number {
  return layers.reduce(
    (a, l) => a + (l.kind === kind ? 1 : l.kind === 'residual' ? countLayers(l.body, kind) + countLayers(l.shortcut, kind) : 0),
    0,
  );
}

function parseWidth(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(\d+(?:\.\d+)?))?\s*$/.exec(v);
  const w = m ? Number(m[1]) / (m[2] === undefined ? 1 : Number(m[2])) : NaN;
  if (!(w > 0 && Number.isFinite(w)))
    throw new UsageError(`--width must be a positive number such as 0.25 or 1/4 (a channel multiplier), got '${v}'`);
  return w;
}

function resolveOptions(argv: string[]): Resolved | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      dataset: { type: 'string' },
      precision: { type: 'string' },
      batches: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      'batch-size': { type: 'string' },
      width: { type: 'string' },
      'batch-norm': { type: 'boolean' },
      'no-batch-norm': { type: 'boolean' },
      stem: { type: 'string' },
      accumulate: { type: 'string' },
      'relu-alpha': { type: 'string' },
      split: { type: 'string' },
      jobs: { type: 'string' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  const missing = (['model', 'dataset', 'batches', 'out'] as const).filter((k) => values[k] === undefined);
  if (missing.length)
    throw new UsageError(
      `zones needs ${missing.map((m) => `--${m}`).join(', ')} (e.g. adzone zones --model lenet5 --dataset mnist --batches 50 --out /tmp/zones)`,
    );

  const model = values.model!;
  if (!isModelName(model)) throw new UsageError(`--model: unknown model '${model}'; expected one of ${MODEL_NAMES.join(', ')}`);
  let info: DatasetInfo;
  try {
    info = datasetByName(values.dataset!);
  } catch {
    throw new UsageError(`--dataset: unknown data set '${values.dataset}'; expected one of ${DATASET_NAMES.join(', ')}`);
  }
  const precisions = parseList('precision', values.precision, [...PRECISIONS]);
  const badP = precisions.filter((p) => !(PRECISIONS as readonly string[]).includes(p));
  if (badP.length)
    throw new UsageError(
      `--precision: unknown value ${badP.map((p) => `'${p}'`).join(', ')}; expected a comma list of 16, 32, 64 (the estimator has thresholds for these only)`,
    );
  precisions.sort((a, b) => Number(a) - Number(b));
  if (!/^\s*\d+\s*$/.test(values.batches!) || Number(values.batches) < 1)
    throw new UsageError(`--batches must be a positive integer (how many mini-batches to measure), got '${values.batches}'`);
  const nBatches = Number(values.batches);
  const seed = parseIntOption('seed', values.seed, 1, 0, 2 ** 31 - 1);
  const batchSize = parseIntOption('batch-size', values['batch-size'], 128, 1, 65_536);
  const accumulate = parseChoice<Accumulate>('accumulate', values.accumulate, 'strict', ['strict', 'wide']);
  const alphas = parseAlphas(values['relu-alpha']);
  if (alphas.length !== 1)
    throw new UsageError(`--relu-alpha takes one value in [0, 1] for zones (the run's ReLU'(0)), got ${alphas.length}`);
  const reluAlpha = alphas[0];
  const split = parseChoice<Split>('split', values.split, info.splits.includes('train') ? 'train' : info.splits[0], ['train', 'test']);
  if (!info.splits.includes(split))
    throw new UsageError(`--split ${split}: ${info.name} has only the ${info.splits.join(', ')} split${info.splits.length > 1 ? 's' : ''}`);
  const cpus = availableParallelism();
  const jobs = parseIntOption('jobs', values.jobs, Math.max(1, Math.min(cpus, 4)), 1, 64);
  if (values['batch-norm'] && values['no-batch-norm']) throw new UsageError('--batch-norm and --no-batch-norm contradict each other');

  const opts: { width?: number; batchNorm?: boolean; stem?: 'cifar' | 'imagenet'; classes: number; input?: [number, number, number] } = {
    classes: info.classes,
  };
  const width = parseWidth(values.width);
  if (width !== undefined) opts.width = width;
  if (values['batch-norm']) opts.batchNorm = true;
  if (values['no-batch-norm']) opts.batchNorm = false;
  if (values.stem !== undefined) opts.stem = parseChoice<'cifar' | 'imagenet'>('stem', values.stem, 'cifar', ['cifar', 'imagenet']);
  const notes: string[] = [];
  // Shapes: every model takes a fixed input, except ResNet18 which ends in a global average pool
  // (as torchvision's adaptive pool) and so takes any H×W with the right channels.
  let spec: ModelSpec;
  try {
    const probe = modelSpec(model, { ...opts });
    const [c, h, w] = info.shape;
    if (probe.input[0] !== c || probe.input[1] !== h || probe.input[2] !== w) {
      if (model === 'resnet18' && probe.input[0] === c) {
        opts.input = [c, h, w];
        notes.push(
          `ResNet18 takes ${info.name}'s ${c}×${h}×${w} images instead of its default ${probe.input.join('×')} (it ends in a global average pool).`,
        );
      } else {
        const fits = DATASET_NAMES.filter((d) => datasetByName(d).shape.join('×') === probe.input.join('×'));
        throw new UsageError(
          `--model ${model} expects inputs of shape ${probe.input.join('×')} (C×H×W) but --dataset ${info.name} gives ${info.shape.join('×')}` +
            (fits.length ? `; use --dataset ${fits.join(' or ')}` : ''),
        );
      }
    }
    spec = modelSpec(model, { ...opts });
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`--model ${model}: ${(e as Error).message.replace(/^model '[^']*' /, '')}`);
  }
  if (!info.available) {
    let why = `${info.name}: no offline source`;
    try {
      info.load(split);
    } catch (e) {
      why = (e as Error).message;
    }
    throw new UsageError(`--dataset ${info.name} cannot be loaded: ${why}`);
  }
  const exactOk = !hasLayer(spec.layers, 'batchnorm2d');
  const exactReason = exactOk
    ? null
    : BATCHNORM_UNSUPPORTED.replace(/;.*$/, '.').replace(/^exact classification through batch norm is not supported: it/, 'batch norm');
  if (countLayers(spec.layers, 'maxpool') === 0)
    notes.push(
      'This model has no MaxPool: β cannot change any gradient, so the estimator distance is 0 by construction; only ReLU units can be non-regular.',
    );
  const modelOptions: ModelOptions = { ...opts };
  return {
    task: { model, modelOptions, seed, accumulate, reluAlpha, exact: exactOk },
    spec,
    info,
    split,
    batchSize,
    batches: nBatches,
    precisions,
    out: resolve(values.out!),
    jobs,
    quiet: values.quiet === true,
    notes,
    exactReason,
  };
}

// ---------------------------------------------------------------------------------------------
// One (batch, precision) task: the same code in the main thread and in workers

interface TaskBatch {
  readonly batch: number;
  readonly x: Float64Array;
  readonly shape: readonly [number, number, number, number];
  readonly labels: Int32Array;
  readonly indices: Int32Array;
}

interface TaskResult {
  readonly record: ZonesBatchRecord;
  readonly findings: ZonesFinding[];
  readonly harmless: ZonesHarmlessTie[];
}

interface PerPrecision {
  readonly round: (v: number) => number;
  readonly params: Map<string, Float64Array>;
  readonly net: EngineNet;
}

class TaskContext {
  readonly spec: ModelSpec;
  private readonly init: Map<string, Float64Array>;
  private readonly per = new Map<string, PerPrecision>();
  private labels: Map<string, string> | null = null;

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
    if (!this.labels) this.labels = new Map();
    let l = this.labels.get(exactPath);
    if (l === undefined) {
      l = nodeLabel(this.spec, exactPath);
      this.labels.set(exactPath, l);
    }
    return l;
  }

  run(p: string, b: TaskBatch): TaskResult {
    const { cfg } = this;
    const { round, params, net } = this.at(p);
    const format = formatByName(p);
    const batch = { x: b.x, shape: b.shape, labels: b.labels };
    const pass = { training: true, updateRunningStats: false } as const;
    let t = performance.now();
    const g0 = gradients(net, batch, { format, accumulate: cfg.accumulate, jacobian: choice(beta(0), cfg.reluAlpha) }, pass);
    const g1 = gradients(net, batch, { format, accumulate: cfg.accumulate, jacobian: choice(beta(1), cfg.reluAlpha) }, pass);
    const est = estimateZone(g0.grads, g1.grads, p);
    const engineMs = performance.now() - t;
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
    const base = { batch: b.batch, firstIndex: b.indices[0], size: b.indices.length, loss: g0.loss, windows, pTiedWindows, estimator };
    if (!cfg.exact)
      return { record: { ...base, exact: null, ms: { engine: engineMs, exact: 0, classify: 0 } }, findings: [], harmless: [] };

    t = performance.now();
    const x = b.x.map(round);
    const ex = exactRouting(this.spec, params, x, b.shape);
    const exactMs = performance.now() - t;
    t = performance.now();
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
    const cls = classifyNetwork(ex, pRouting, pValues, cfg.reluAlpha, {
      maxFindings: EXPLAIN_FIRST,
      harmlessExamplesPerNode: b.batch === 0 ? 2 : 0,
    });
    const explained: UnitFinding[] = [...cls.findings];
    if (cls.truncated) {
      for (const s of cls.nodes) {
        const bif = sumR(s.bifurcation);
        const bad = bif + sumR(s.compensation);
        if (!bad || cls.findings.some((f) => f.node === s.node && (f.zone === 'bifurcation' || !bif))) continue;
        if (!bif && b.batch >= EXPLAIN_LAYERS_IN_BATCHES) continue; // the report shows the first of each kind: early batches suffice
        const view = { ...ex, routing: OnlyNodes.of(ex.routing, new Set([s.node])) };
        const more = classifyNetwork(view, pRouting, pValues, cfg.reluAlpha, {
          maxFindings: bif && bad <= EXPLAIN_BUDGET ? Infinity : EXPLAIN_PER_LAYER,
          harmlessExamplesPerNode: 0,
        });
        explained.push(...more.findings.filter((f) => !cls.findings.some((g) => g.node === f.node && g.unit === f.unit)));
      }
    }
    const layers: ZonesLayer[] = cls.nodes.map((s) => {
      const [exactTied, pTied] = tiedCounts(ex.routing, pRouting, s.node);
      return {
        node: enginePath.get(s.node) ?? s.node,
        exactPath: s.node,
        kind: s.kind,
        label: this.label(s.node),
        units: s.units,
        regular: s.regular,
        harmless: { ...s.harmless },
        bifurcation: { ...s.bifurcation },
        compensation: { ...s.compensation },
        harmlessRoundingDiffs: s.harmlessRoundingDiffs,
        exactTied,
        pTied,
      };
    });
    const where = (f: UnitFinding | HarmlessTie) => ({
      batch: b.batch,
      datasetIndex: b.indices[f.sample],
      sample: f.sample,
      node: enginePath.get(f.node) ?? f.node,
      label: this.label(f.node),
      kind: f.kind,
      unit: f.unit,
    });
    const what = (f: UnitFinding | HarmlessTie) => ({
      exact: [...f.exact],
      rounded: [...f.rounded],
      entries: f.entries.map((e) => ({ ...e })),
    });
    const toFinding = (f: UnitFinding): ZonesFinding => ({ ...where(f), zone: f.zone, cause: f.cause, ...what(f) });
    const toHarmless = (f: HarmlessTie): ZonesHarmlessTie => ({ ...where(f), harmless: f.harmless, ...what(f) });
    const findings = pickFindings(explained, FINDINGS_PER_TASK, (f) => `${f.node}|${f.zone}|${f.cause}`).map(toFinding);
    const harmless = cls.harmlessExamples.map(toHarmless);
    const classifyMs = performance.now() - t;
    const { units, regular, harmless: nHarmless, bifurcation, compensation, harmlessRoundingDiffs, zone, inZone } = cls.batch;
    return {
      record: {
        ...base,
        exact: {
          zone,
          inZone,
          units,
          regular,
          harmless: nHarmless,
          bifurcation,
          compensation,
          harmlessRoundingDiffs,
          samplesInZone: cls.samples.filter((s) => s.zone !== 'regular').length,
          layers,
          filter: { ...ex.totals, exactEvaluations: ex.exactEvaluations },
          findingsTruncated: cls.truncated,
        },
        ms: { engine: engineMs, exact: exactMs, classify: classifyMs },
      },
      findings,
      harmless,
    };
  }
}

function tiedCounts(exact: NetRouting, p: NetRouting, path: string): [number, number] {
  const count = (r: NetRouting) => {
    const d = r.get(path);
    if (!d) return 0;
    let n = 0;
    if (d.kind === 'maxpool') {
      for (const t of d.ties) if (t.length >= 2) n++;
    } else {
      for (let i = 0; i < d.sign.length; i++) if (d.sign[i] === 0) n++;
    }
    return n;
  };
  return [count(exact), count(p)];
}

/** 'maxpool after conv1' for the exact classifier's path 'layers.2' ('layers.5.body.2', …). */
function nodeLabel(spec: ModelSpec, exactPath: string): string {
  const parts = exactPath.split('.');
  let list: readonly NetLayer[] = spec.layers;
  let scopeName = '';
  let layer: NetLayer | undefined;
  let i = -1;
  for (let k = 1; k < parts.length; k++) {
    const seg = parts[k];
    if (seg === 'body' || seg === 'shortcut') {
      const r = layer;
      if (r?.kind !== 'residual') return exactPath;
      list = seg === 'body' ? r.body : r.shortcut;
      scopeName = `${scopeName ? `${scopeName} ` : ''}block ${seg}`;
      continue;
    }
    i = Number(seg);
    layer = list[i];
    if (!layer) return exactPath;
  }
  if (!layer) return exactPath;
  const kind = layer.kind === 'maxpool' ? `maxpool ${layer.kernel.join('×')}` : layer.kind;
  for (let j = i - 1; j >= 0; j--) {
    const l = list[j];
    if ('name' in l) return `${kind} after ${l.name}`;
    if (l.kind === 'residual') {
      const names: string[] = [];
      const walk = (ls: readonly NetLayer[]): void => {
        for (const m of ls) {
          if (m.kind === 'residual') {
            walk(m.body);
            walk(m.shortcut);
          } else if ('name' in m) names.push(m.name);
        }
      };
      walk([l]);
      const prefix = names.length ? names[0].split('.').slice(0, -1).join('.') : '';
      return `${kind} after block ${prefix || j}`;
    }
  }
  return scopeName ? `${kind} (${scopeName})` : kind;
}

// ---------------------------------------------------------------------------------------------
// Running the tasks: in process, or on worker threads

interface Task {
  readonly id: number;
  readonly precision: string;
  readonly batch: TaskBatch;
}

type ToWorker =
  | { readonly type: 'task'; readonly id: number; readonly precision: string; readonly batch: TaskBatch }
  | { readonly type: 'stop' };
type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'done'; readonly id: number; readonly result: TaskResult }
  | { readonly type: 'error'; readonly id: number; readonly message: string };

const WORKER_TAG = 'adzone-zones-worker';

async function runTasks(
  cfg: TaskConfig,
  tasks: Iterable<Task>,
  total: number,
  jobs: number,
  onDone: (t: Task, r: TaskResult) => void,
): Promise<void> {
  if (jobs <= 1 || total <= 1) {
    const ctx = new TaskContext(cfg);
    for (const t of tasks) {
      onDone(t, ctx.run(t.precision, t.batch));
      await new Promise((r) => setImmediate(r)); // let the progress line flush
    }
    return;
  }
  const it = tasks[Symbol.iterator]();
  const api = import.meta.resolve('tsx/esm/api');
  const code =
    `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); })` +
    `.catch((e) => { require('node:worker_threads').parentPort.postMessage({ type: 'error', id: -1, message: String(e && e.stack || e) }); });`;
  const n = Math.min(jobs, total);
  const workers: Worker[] = [];
  await new Promise<void>((resolveAll, rejectAll) => {
    let running = 0;
    let failed = false;
    const inFlight = new Map<number, Task>();
    const fail = (e: Error) => {
      if (failed) return;
      failed = true;
      for (const w of workers) void w.terminate();
      rejectAll(e);
    };
    const feed = (w: Worker) => {
      const next = it.next();
      if (next.done) {
        w.postMessage({ type: 'stop' } satisfies ToWorker);
        return;
      }
      const t = next.value;
      inFlight.set(t.id, t);
      w.postMessage({ type: 'task', id: t.id, precision: t.precision, batch: t.batch } satisfies ToWorker);
    };
    for (let k = 0; k < n; k++) {
      const w = new Worker(code, { eval: true, workerData: { tag: WORKER_TAG, cfg } });
      workers.push(w);
      running++;
      w.on('message', (m: FromWorker) => {
        if (failed) return;
        if (m.type === 'ready') return feed(w);
        if (m.type === 'error') return fail(new Error(`zones worker: ${m.message}`));
        const t = inFlight.get(m.id)!;
        inFlight.delete(m.id);
        try {
          onDone(t, m.result);
        } catch (e) {
          return fail(e as Error);
        }
        feed(w);
      });
      w.on('error', (e) => fail(e));
      w.on('exit', (code) => {
        running--;
        if (failed) return;
        if (code !== 0) return fail(new Error(`zones worker exited with code ${code}`));
        if (running === 0) inFlight.size ? fail(new Error('zones workers stopped with tasks left')) : resolveAll();
      });
    }
  });
}

function workerMain(): void {
  const port = parentPort!;
  let ctx: TaskContext;
  try {
    ctx = new TaskContext((workerData as { cfg: TaskConfig }).cfg);
  } catch (e) {
    port.postMessage({ type: 'error', id: -1, message: (e as Error).stack ?? String(e) } satisfies FromWorker);
    return;
  }
  port.on('message', (m: ToWorker) => {
    if (m.type === 'stop') {
      port.close();
      return;
    }
    try {
      port.postMessage({ type: 'done', id: m.id, result: ctx.run(m.precision, m.batch) } satisfies FromWorker);
    } catch (e) {
      port.postMessage({ type: 'error', id: m.id, message: (e as Error).stack ?? String(e) } satisfies FromWorker);
    }
  });
  port.postMessage({ type: 'ready' } satisfies FromWorker);
}

// ---------------------------------------------------------------------------------------------
// Aggregation

type Mutable<T> = {
  -readonly [K in keyof T]: T[K] extends Readonly<Record<string, number>> ? { -readonly [J in keyof T[K]]: number } : T[K];
};

const zeroCounts = (): Mutable<ZonesCounts> => ({
  units: 0,
  regular: 0,
  harmless: zeroCountsOf(HARMLESS_TIES),
  bifurcation: zeroCountsOf(BIFURCATION_CAUSES),
  compensation: zeroCountsOf(COMPENSATION_CAUSES),
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

function summarise(records: readonly ZonesBatchRecord[], layers: readonly ZonesLayerAggregate[] | null, exactOk: boolean): ZonesSummary {
  const n = records.length;
  const est = records.map((r) => r.estimator.inZone);
  const dists = records.map((r) => r.estimator.distance);
  const finite = dists.filter((d) => Number.isFinite(d));
  const estimatorInZone = est.filter(Boolean).length;
  const perBatch = (f: (r: ZonesBatchRecord) => number) => (n ? records.reduce((a, r) => a + f(r), 0) / n : 0);
  let exactPart: Pick<
    ZonesSummary,
    'exactInZone' | 'exactShare' | 'exactBifurcation' | 'exactCompensation' | 'comparison' | 'samplesInZonePerBatch'
  > = {
    exactInZone: null,
    exactShare: null,
    exactBifurcation: null,
    exactCompensation: null,
    comparison: null,
    samplesInZonePerBatch: null,
  };
  let windows: ZonesSummary['windowsPerBatch'] = {
    units: perBatch((r) => r.windows),
    pTied: perBatch((r) => r.pTiedWindows),
    exactTied: null,
    nonRegular: null,
    bifurcation: null,
    compensation: null,
    harmlessAllZero: null,
    harmlessIdenticalPatches: null,
  };
  let relu: ZonesSummary['reluPerBatch'] = { units: 0, nonRegular: null, exactZero: null };
  if (exactOk && layers) {
    const ex = records.map((r) => r.exact!.inZone);
    const cmp = compareEstimator(est, ex);
    const exactInZone = ex.filter(Boolean).length;
    exactPart = {
      exactInZone,
      exactShare: exactInZone / n,
      exactBifurcation: records.filter((r) => r.exact!.zone === 'bifurcation').length,
      exactCompensation: records.filter((r) => r.exact!.zone === 'compensation').length,
      comparison: { ...cmp, missedAt: cmp.missedAt.map((i) => records[i].batch), inventedAt: cmp.inventedAt.map((i) => records[i].batch) },
      samplesInZonePerBatch: records.reduce((a, r) => a + r.exact!.samplesInZone, 0) / n,
    };
    const mp = layers.filter((l) => l.kind === 'maxpool');
    const rl = layers.filter((l) => l.kind === 'relu');
    const s = (ls: readonly ZonesLayerAggregate[], f: (l: ZonesLayerAggregate) => number) => ls.reduce((a, l) => a + f(l), 0) / n;
    windows = {
      units: s(mp, (l) => l.units),
      pTied: perBatch((r) => r.pTiedWindows),
      exactTied: s(mp, (l) => l.exactTied),
      nonRegular: s(mp, (l) => sumR(l.bifurcation) + sumR(l.compensation)),
      bifurcation: s(mp, (l) => sumR(l.bifurcation)),
      compensation: s(mp, (l) => sumR(l.compensation)),
      harmlessAllZero: s(mp, (l) => l.harmless['all-zero']),
      harmlessIdenticalPatches: s(mp, (l) => l.harmless['identical-patches']),
    };
    relu = {
      units: s(rl, (l) => l.units),
      nonRegular: s(rl, (l) => sumR(l.bifurcation) + sumR(l.compensation)),
      exactZero: s(rl, (l) => l.exactTied),
    };
  }
  return {
    batches: n,
    estimatorInZone,
    estimatorShare: n ? estimatorInZone / n : 0,
    ...exactPart,
    distance: {
      min: finite.length ? Math.min(...finite) : NaN,
      median: median(dists),
      max: finite.length ? Math.max(...finite) : NaN,
      nonfinite: dists.length - finite.length,
    },
    windowsPerBatch: windows,
    reluPerBatch: relu,
  };
}

/**
 * The first of every distinct key (bifurcations, then MaxPool windows, then ReLU units; each in order), then the
 * others in order, up to k — or every distinct key when there are more than k of them.
 */
function pickFindings<T extends { readonly zone: string; readonly kind: string }>(
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

// ---------------------------------------------------------------------------------------------
// The command

export async function zones(argv: string[], meta: { readonly help: string; readonly version: string }): Promise<number> {
  const opts = resolveOptions(argv);
  if (opts === 'help') {
    console.log(meta.help);
    return 0;
  }
  const r: Resolved = opts;
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const started = performance.now();
  let dataset: Dataset;
  try {
    dataset = r.info.load(r.split, { limit: r.batches * r.batchSize });
  } catch (e) {
    if (e instanceof DataError && (e.kind === 'option' || e.kind === 'unavailable'))
      throw new UsageError(`--dataset ${r.info.name}: ${e.message}`);
    throw e;
  }
  const available = Math.ceil(dataset.n / r.batchSize);
  if (available < r.batches) {
    throw new UsageError(
      `--batches ${r.batches}: the ${r.info.name} ${r.split} split has ${dataset.n} images, only ${available} batch${available === 1 ? '' : 'es'} of ${r.batchSize}`,
    );
  }
  if (dataset.n < r.batches * r.batchSize)
    log(`note: the last batch has ${dataset.n - (r.batches - 1) * r.batchSize} images (the split ends)`);

  const P = r.precisions.length;
  const total = r.batches * P;
  // Tasks batch-major, so a batch is held only while its precisions run.
  function* tasks(): Generator<Task> {
    let id = 0;
    let b = 0;
    for (const d of dataBatches(dataset, { batchSize: r.batchSize, shuffle: false })) {
      if (b >= r.batches) break;
      const batch: TaskBatch = { batch: d.batch, x: d.x, shape: d.shape, labels: d.labels, indices: d.indices };
      for (const p of r.precisions) yield { id: id++, precision: p, batch };
      b++;
    }
  }
  const jobs = Math.min(r.jobs, total);
  log(
    `zones: ${r.spec.name}/${r.spec.variant} on ${r.info.name} ${r.split}, ${r.batches} batch${r.batches > 1 ? 'es' : ''} of ${r.batchSize} × precision ${r.precisions.join(',')}` +
      `${r.task.exact ? '' : ' (estimator only: batch norm)'}, ${jobs} job${jobs > 1 ? 's' : ''}`,
  );
  const bar = progress(r.quiet);
  const results: (TaskResult | undefined)[][] = r.precisions.map(() => new Array<TaskResult | undefined>(r.batches));
  let done = 0;
  bar.update(0, total, 'starting'); // starts the clock, so the first rate is a real one
  await runTasks(r.task, tasks(), total, jobs, (t, res) => {
    results[r.precisions.indexOf(t.precision)][t.batch.batch] = res;
    done++;
    bar.update(done, total, `batch ${t.batch.batch + 1}/${r.batches} at ${t.precision} bits`);
  });
  bar.done();
  const wallSeconds = (performance.now() - started) / 1000;

  const precisions: ZonesPrecisionReport[] = r.precisions.map((p, pi) => {
    const rs = results[pi].map((x, b) => {
      if (!x) throw new Error(`internal: no result for batch ${b} at ${p} bits`);
      return x;
    });
    const records = rs.map((x) => x.record);
    const layers = aggregateLayers(records);
    return {
      precision: p,
      format: formatByName(p).label,
      threshold: ESTIMATOR_THRESHOLDS[p],
      summary: summarise(records, layers, r.task.exact),
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
  });

  const spec = r.spec;
  const config: ZonesConfig = {
    model: r.task.model,
    variant: spec.variant,
    modelOptions: { ...r.task.modelOptions },
    input: [...spec.input],
    classes: spec.classes,
    parameters: countParams(spec),
    maxpoolNodes: countLayers(spec.layers, 'maxpool'),
    dataset: r.info.name,
    split: r.split,
    normalisation: r.info.normalisation,
    datasetSource: dataset.source,
    batchSize: r.batchSize,
    batches: r.batches,
    order: 'the first N mini-batches in data-set order (no shuffle, no augmentation)',
    seed: r.task.seed,
    init: 'initParams(spec, seed): untrained, one θ for every batch and precision',
    precisions: r.precisions,
    accumulate: r.task.accumulate,
    reluAlpha: r.task.reluAlpha,
    jobs,
    estimator: {
      betas: [0, 1],
      thresholds: Object.fromEntries(r.precisions.map((p) => [p, ESTIMATOR_THRESHOLDS[p]])),
      forward: 'training mode, batch-norm running statistics not updated; β in the backward pass only',
    },
    exact: {
      available: r.task.exact,
      reason: r.exactReason,
      evaluationPoint: "exact values of round_p(x) and round_p(θ), compared with the engine's routing at p",
    },
  };
  const sec = (f: (p: ZonesPrecisionReport) => number) => precisions.reduce((a, p) => a + f(p), 0) / 1000;
  const report: ZonesReport = {
    schema: 'adzone/zones',
    schemaVersion: 1,
    tool: { adzone: meta.version, node: process.version, v8: process.versions.v8, platform: `${process.platform}-${process.arch}` },
    command: `adzone zones ${argv.join(' ')}`.trim(),
    createdAt: new Date().toISOString(),
    config,
    notes: r.notes,
    precisions,
    timing: {
      wallSeconds,
      engineSeconds: sec((p) => p.timing.engineMs),
      exactSeconds: sec((p) => p.timing.exactMs),
      classifySeconds: sec((p) => p.timing.classifyMs),
      jobs,
    },
  };
  writeResults([
    { file: join(r.out, 'zones.json'), kind: 'zones', data: report },
    { path: join(r.out, 'zones.md'), data: zonesMarkdown(report) },
  ]);
  log(`wrote ${join(r.out, 'zones.json')} and ${join(r.out, 'zones.md')} (${wallSeconds.toFixed(1)} s)`);
  return 0;
}

// This module is also the worker's entry (see runTasks); start serving once everything above is defined.
if (!isMainThread && (workerData as { tag?: string } | null)?.tag === WORKER_TAG) workerMain();
