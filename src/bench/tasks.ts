/**
 * The measurements themselves, as a worker runs them: each builds its model from the seeded
 * initial parameters, times its step with timeSteps, and returns the timing with anything worth
 * reporting beside it. Heavy modules (tfjs, the exact router) are imported only by the task that
 * needs them, so a worker's peak memory is that of its own measurement.
 */
import type { ModelSpec } from '../models/spec.ts';
import { timeSteps } from './stats.ts';
import { type BenchModel, INIT_SEED, SGD, type StepTask, type Task, type Timing } from './types.ts';

export interface TaskResult {
  readonly timing: Timing;
  readonly detail?: Record<string, unknown>;
}

export async function benchSpec(model: BenchModel): Promise<ModelSpec> {
  const { modelSpec } = await import('../models/registry.ts');
  switch (model) {
    case 'lenet5':
      return modelSpec('lenet5');
    case 'vgg11-w0.25':
      return modelSpec('vgg11', { width: 0.25 });
    case 'resnet18-w0.25':
      return modelSpec('resnet18', { width: 0.25 });
  }
}

/** Run one task; `ready` is called once imports and data are in place, just before the model is built. */
export async function runTask(task: Task, ready: () => void): Promise<TaskResult> {
  if (task.kind === 'command') return commandTask(task, ready);
  return task.kind === 'exact' ? exactTask(task, ready) : stepTask(task, ready);
}

/**
 * A whole adzone command in a fresh process, as a user runs it (bin/adzone.js: the TypeScript
 * through tsx in a checkout, dist/ when installed), each run writing into its own temporary folder.
 * The command is asked for --json, whose summary gives the CPU seconds of all its threads; the load
 * average before and after each run is kept beside it (the machine may be shared).
 */
async function commandTask(task: Extract<Task, { kind: 'command' }>, ready: () => void): Promise<TaskResult> {
  const { spawnSync } = await import('node:child_process');
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { loadavg, tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { fileURLToPath } = await import('node:url');
  const bin = fileURLToPath(new URL('../../bin/adzone.js', import.meta.url));
  const runs: Record<string, unknown>[] = [];
  ready();
  const timing = await timeSteps(() => {
    const out = mkdtempSync(join(tmpdir(), 'adzone-bench-cmd-'));
    const args = task.args.map((a) => (a === '{out}' ? out : a));
    const load = loadavg()[0];
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: task.timeoutS * 1000, maxBuffer: 64 * 2 ** 20 });
    const wallSeconds = (performance.now() - t0) / 1000;
    rmSync(out, { recursive: true, force: true });
    if (r.status !== 0 && r.status !== 1)
      throw new Error(`adzone ${args.join(' ')} exited ${r.status ?? r.signal}: ${(r.stderr ?? '').trim().split('\n').pop()}`);
    const summary = JSON.parse(r.stdout) as { cpuSeconds?: number; jobs?: number; counterexamples?: number; exitCode?: number };
    runs.push({
      wallSeconds,
      cpuSeconds: summary.cpuSeconds,
      jobs: summary.jobs,
      counterexamples: summary.counterexamples,
      exitCode: r.status,
      loadavgBefore: load,
      loadavgAfter: loadavg()[0],
    });
  }, task.reps);
  return { timing, detail: { command: `adzone ${task.args.join(' ')}`, runs } };
}

/** A training step (SGD) or the evaluation of a batch (forward only), as the task's kind says. */
async function stepTask(task: StepTask, ready: () => void): Promise<TaskResult> {
  const { initParams, initBuffers } = await import('../models/init.ts');
  const { sgd } = await import('../engine/optim/index.ts');
  const { choice, FIRST } = await import('../jacobians/index.ts');
  const spec = await benchSpec(task.model);
  const optimizer = sgd(SGD);
  const training = task.kind === 'train-step';
  const trainingDetail = (jacobian: string, optimizerName: string) => (training ? { jacobian, optimizer: optimizerName } : {});
  if (task.backend === 'engine') {
    const { createEngineNet, evaluateBatch, trainStep } = await import('../backends/engine/network.ts');
    const { formatByName } = await import('../precision/index.ts');
    if (task.accumulate === 'framework') throw new Error('engine steps are strict or wide');
    const opts = { format: formatByName(task.precision), accumulate: task.accumulate, jacobian: choice(FIRST) };
    const { setThreads, threadSetting } = await import('../engine/kernels/threads.ts');
    setThreads(task.threads ?? 1);
    ready();
    const net = createEngineNet(spec, initParams(spec, INIT_SEED));
    const losses = lossLog();
    const timing = await timeSteps(() => {
      losses.push(training ? trainStep(net, task.batch, opts, optimizer).loss : evaluateBatch(net, task.batch, opts).loss);
    }, task.reps);
    return {
      timing,
      detail: {
        ...trainingDetail('first', optimizer.name),
        ...losses.detail(),
        threads: threadSetting().threads,
        kernels: await engineKernels(),
      },
    };
  }
  const { tfjsEvaluate, tfjsTrainStep } = await import('../backends/tfjs/models.ts');
  const { activate, exclusive, tf } = await import('../backends/tfjs/runtime.ts');
  const backend = task.backend === 'tfjs-wasm' ? 'wasm' : 'cpu';
  if (task.precision !== '32') throw new Error('tfjs is timed at 32 bits only');
  await exclusive(() => activate(backend)); // load the backend (and its wasm binary) before timing
  ready();
  const state = { spec, params: initParams(spec, INIT_SEED), buffers: training ? new Map<string, Float64Array>() : initBuffers(spec) };
  const jacobian = task.tfjsJacobian === 'first' ? choice(FIRST) : 'native';
  const losses = lossLog();
  const timing = await timeSteps(async () => {
    losses.push(
      training
        ? (await tfjsTrainStep(state, task.batch, { backend, precision: '32', jacobian }, optimizer)).loss
        : (await tfjsEvaluate(spec, state.params, task.batch, { backend, precision: '32', jacobian, buffers: state.buffers })).loss,
    );
  }, task.reps);
  const wasmFlavour = backend === 'wasm' ? wasmFeatures(tf) : undefined;
  return {
    timing,
    detail: {
      ...trainingDetail(task.tfjsJacobian ?? 'native', `${optimizer.name} (adzone's, on float32 values)`),
      ...losses.detail(),
      ...(wasmFlavour ? { wasm: wasmFlavour } : {}),
    },
  };
}

/**
 * The loss of the first step (at the initial parameters, before any update: the PyTorch peer's
 * first-step loss is checked against it) and of the last one.
 */
function lossLog() {
  let first: number | undefined;
  let last = Number.NaN;
  return {
    push(loss: number) {
      if (first === undefined) first = loss;
      last = loss;
    },
    detail: () => ({ firstLoss: first ?? Number.NaN, lastLoss: last }),
  };
}

/** Whether the engine's conv2d/linear ran on its WebAssembly kernels, and calls per kernel kind. */
async function engineKernels(): Promise<Record<string, unknown>> {
  const k = await import('../engine/kernels/index.ts');
  return { ...k.kernelStatus(), callsByKind: [...k.kernelCalls] };
}

/** Whether tfjs-wasm runs its SIMD and multi-threaded binary here (both are feature-detected at load). */
function wasmFeatures(tf: typeof import('@tensorflow/tfjs')): Record<string, unknown> | undefined {
  try {
    return { simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'), threads: tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT') };
  } catch {
    return undefined;
  }
}

async function exactTask(task: Extract<Task, { kind: 'exact' }>, ready: () => void): Promise<TaskResult> {
  const { initParams } = await import('../models/init.ts');
  const spec = await benchSpec('lenet5');
  // The 32-bit point: parameters and input rounded to binary32, taken at their exact values.
  const params = new Map([...initParams(spec, INIT_SEED)].map(([k, v]) => [k, v.map(Math.fround)]));
  const x = task.batch.x.map(Math.fround);
  const shape = task.batch.shape;
  if (task.what === 'gradients-32') {
    const { createEngineNet, gradients } = await import('../backends/engine/network.ts');
    const { choice, FIRST } = await import('../jacobians/index.ts');
    const { F32 } = await import('../precision/index.ts');
    const { setThreads } = await import('../engine/kernels/threads.ts');
    setThreads(1);
    ready();
    const net = createEngineNet(spec, params);
    const batch = { x, shape, labels: task.batch.labels };
    const timing = await timeSteps(
      () => gradients(net, batch, { format: F32, accumulate: 'strict', jacobian: choice(FIRST) }, { training: true }),
      task.reps,
    );
    return { timing, detail: { jacobian: 'first', threads: 1, kernels: await engineKernels() } };
  }
  const { exactRouting, plainForward } = await import('../zones/network/index.ts');
  ready();
  if (task.what === 'plain-forward-64') {
    const timing = await timeSteps(() => plainForward(spec, params, x, shape), task.reps);
    return { timing };
  }
  let totals: unknown;
  let exactEvaluations = 0;
  const timing = await timeSteps(() => {
    const r = exactRouting(spec, params, x, shape);
    totals = r.totals;
    exactEvaluations = r.exactEvaluations;
  }, task.reps);
  return { timing, detail: { units: totals, exactEvaluations } };
}
