/**
 * PyTorch as a training backend ('torch'): the model of the run's ModelSpec, built and stepped in a
 * Python process (bridges/torch/adzone_torch_train.py) with torch's own conv2d, linear, batch_norm,
 * pools and cross-entropy, the run's MaxPool Jacobian as a custom autograd Function (β in the
 * backward pass; the paper's mixed forward as `betaMode` mixed-forward), and adzone's own SGD / Adam
 * update (src/engine/optim's formulas, op for op in the master format). Mode 'framework' only:
 * torch's arithmetic, at float32, float64, bfloat16 and float16 (where the device runs it: a CUDA
 * GPU; torch 1.13 has no float16 conv on a CPU), on `device` cpu or cuda.
 *
 * adzone keeps the run: it sends the seeded initial parameters (or a checkpoint's) rounded to p,
 * each batch as raw floats of p, and the learning rate of each step; the bridge answers each step
 * with the loss and the logits. Parameters, BN statistics and the optimizer's state stay in Python
 * between checkpoints: sync() brings them here (into `params`, `buffers` and the run's Optimizer,
 * in adzone's checkpoint layout) just before a checkpoint is written, and a resumed run sends them
 * back before its first step, so a killed run resumes bit for bit.
 */
import { fileURLToPath } from 'node:url';
import { rounder } from '../../engine/arith.ts';
import type { Optimizer, OptimizerState } from '../../engine/optim/index.ts';
import { buffersOf, paramsOf } from '../../models/spec.ts';
import { formatByName } from '../../precision/index.ts';
import { ConfigError, InputError } from '../../util/errors.ts';
import { findPython } from '../../util/python.ts';
import type { NetTrainer, TrainBackend, TrainerOptions, TrainPrecision } from '../backend.ts';
import { ADAM_DEFAULTS } from '../optim.ts';
import { countCorrect } from './count.ts';
import { TorchBridge, TorchRequestError, type WireArray } from './torchBridge.ts';

export const TORCH_TRAIN_BRIDGE = fileURLToPath(new URL('../../../bridges/torch/adzone_torch_train.py', import.meta.url));

/** torch's dtype of each training precision. */
export const TORCH_DTYPE: Readonly<Record<TrainPrecision, string>> = {
  '16': 'float16',
  bf16: 'bfloat16',
  '32': 'float32',
  '64': 'float64',
};

type Named = readonly [string, WireArray, readonly number[]];

/** Values of p as the wire carries them exactly: float32 for the formats inside binary32, float64 at 64 bits. */
function wireValues(values: ArrayLike<number>, precision: TrainPrecision, round: (x: number) => number): WireArray {
  if (precision === '64') return Float64Array.from(values);
  if (precision === '32') return Float32Array.from(values); // rounds to nearest even, as Math.fround
  return Float32Array.from(values, round); // a 16-bit value is a float32 exactly
}

interface Batch {
  readonly x: Float64Array;
  readonly shape: readonly number[];
  readonly labels: Int32Array;
}

/**
 * Why the bridge refused the model, in one line with what to do: a ConfigError on `device` (no such
 * device here) or `precision` (the device cannot compute in it), so the command line names its option.
 */
function refusal(o: TrainerOptions, e: unknown): Error {
  if (!(e instanceof TorchRequestError)) return e as Error;
  const device = o.device ?? 'cpu';
  if (e.code === 'unsupported' && e.field === 'device')
    return new ConfigError('device', `\`device\` ${device}: ${e.reason}; use \`device\` cpu`);
  if (e.code === 'unsupported' && e.field === 'dtype') {
    const instead =
      device === 'cpu'
        ? 'use `device` cuda on a machine whose torch has a GPU, or `precision` bf16, 32 or 64'
        : 'use another `precision` or `device` cpu';
    return new ConfigError(
      'precision',
      `\`backend\` torch cannot train at \`precision\` ${o.precision} on ${device}: ${e.reason}; ${instead}`,
    );
  }
  return new InputError(`the PyTorch training bridge refused ${o.spec.name}: ${e.message}`);
}

/** A torch trainer, with what a comparison with another backend needs beside the NetTrainer's steps. */
export class TorchTrainer implements NetTrainer {
  readonly backend = 'torch' as const;
  readonly params: Map<string, Float64Array>;
  private readonly bufferValues: Map<string, Float64Array>;
  private readonly round: (x: number) => number;
  /** Python's state has moved past what `params`, `buffers` and the run's optimizer hold. */
  private stale = false;
  /** The run's optimizer state (restored from a checkpoint) has been sent. */
  private sentOptimizer = false;
  /** Milliseconds the bridge spent computing the steps so far (the rest of a step's time is the transfer). */
  computeMs = 0;

  constructor(
    private readonly o: TrainerOptions,
    private readonly bridge: TorchBridge,
    readonly versions: Record<string, unknown>,
  ) {
    this.round = rounder(formatByName(o.precision));
    this.params = new Map([...o.params].map(([k, v]) => [k, v.map(this.round)] as const));
    this.bufferValues = new Map([...(o.buffers ?? new Map<string, Float64Array>())].map(([k, v]) => [k, v.map(this.round)] as const));
  }

  buffers(): Map<string, Float64Array> {
    return this.bufferValues;
  }

  private batchArrays(b: Batch): Named[] {
    return [
      ['x', wireValues(b.x, this.o.precision, this.round), b.shape],
      ['labels', b.labels, [b.labels.length]],
    ];
  }

  /** A checkpoint's optimizer state, sent once before the first step of a resumed run. */
  private async sendOptimizer(optimizer: Optimizer): Promise<void> {
    if (this.sentOptimizer) return;
    this.sentOptimizer = true;
    const { state, arrays } = optimizer.exportState();
    if (state.params.length === 0) return;
    const named: Named[] = [...arrays].map(([k, v]) => [`opt/${k}`, v, [v.length]] as const);
    await this.call('import', { optimizer: { params: state.params } }, named);
  }

  private async call(type: string, head: object, arrays: readonly Named[]) {
    try {
      return await this.bridge.request(type, head, arrays);
    } catch (e) {
      if (e instanceof TorchRequestError) throw new InputError(`the PyTorch training bridge failed at '${type}': ${e.message}`);
      throw e;
    }
  }

  async step(batch: Batch, optimizer: Optimizer, lossScale: unknown): Promise<{ loss: number; correct: number; skipped: false }> {
    if (lossScale) throw new Error('loss scaling runs on the engine only');
    await this.sendOptimizer(optimizer);
    this.stale = true;
    const r = await this.call('step', { lr: optimizer.lr }, this.batchArrays(batch));
    this.computeMs += Number(r.head.ms) || 0;
    return {
      loss: r.arrays.get('loss')![0],
      correct: countCorrect(r.arrays.get('logits')!, batch.labels, this.o.spec.classes),
      skipped: false,
    };
  }

  async evaluate(batch: Batch): Promise<{ loss: number; correct: number }> {
    const r = await this.call('evaluate', {}, this.batchArrays(batch));
    return { loss: r.arrays.get('loss')![0], correct: countCorrect(r.arrays.get('logits')!, batch.labels, this.o.spec.classes) };
  }

  /** Parameters, BN statistics and the optimizer's state from Python into `params`, `buffers()` and `optimizer`. */
  async sync(optimizer: Optimizer): Promise<void> {
    if (!this.stale) return;
    const r = await this.call('export', {}, []);
    const opt = new Map<string, Float64Array>();
    for (const [k, v] of r.arrays) {
      const values = Float64Array.from(v);
      if (k.startsWith('param/')) this.params.set(k.slice(6), values);
      else if (k.startsWith('buffer/')) this.bufferValues.set(k.slice(7), values);
      else if (k.startsWith('opt/')) opt.set(k.slice(4), values);
    }
    const entries = ((r.head.optimizer ?? {}) as { params?: OptimizerState['params'] }).params ?? [];
    optimizer.importState({ kind: optimizer.kind, lr: optimizer.lr, params: entries }, opt);
    this.stale = false;
  }

  close(): Promise<void> {
    return this.bridge.close();
  }

  /** Loss, logits and gradient of a batch in training mode, without the step (BN statistics untouched). */
  async gradients(batch: Batch): Promise<{ loss: number; logits: Float64Array; grads: Map<string, Float64Array> }> {
    const r = await this.call('grads', {}, this.batchArrays(batch));
    const grads = new Map<string, Float64Array>();
    for (const [k, v] of r.arrays) if (k.startsWith('grad/')) grads.set(k.slice(5), Float64Array.from(v));
    return { loss: r.arrays.get('loss')![0], logits: Float64Array.from(r.arrays.get('logits')!), grads };
  }

  /**
   * Replace the parameters (and any BN statistics given) and the optimizer's state (an export of an
   * optimizer of the run's kind, e.g. the engine's): the next step starts from exactly that state.
   */
  async load(
    params: ReadonlyMap<string, Float64Array>,
    optimizer: ReturnType<Optimizer['exportState']>,
    buffers = new Map<string, Float64Array>(),
  ): Promise<void> {
    const named: Named[] = [];
    for (const [k, v] of params) named.push([`param/${k}`, wireValues(v, this.o.precision, this.round), [v.length]]);
    for (const [k, v] of buffers) named.push([`buffer/${k}`, wireValues(v, this.o.precision, this.round), [v.length]]);
    for (const [k, v] of optimizer.arrays) named.push([`opt/${k}`, v, [v.length]]);
    await this.call('import', { optimizer: { params: optimizer.state.params } }, named);
    for (const [k, v] of params) this.params.set(k, v.map(this.round));
    for (const [k, v] of buffers) this.bufferValues.set(k, v.map(this.round));
    this.sentOptimizer = true;
    this.stale = true;
  }

  /**
   * Rounding bounds of this batch's loss and gradient at the current parameters, for sequential nets
   * of conv2d, relu, maxpool, flatten and linear (bridges/torch/adzone_torch_bound.py): `exact` (float64
   * from the same values), `error` bounds |computed − exact| for any implementation in this
   * precision, `diff` bounds |one implementation − another| (the engine's and torch's, say);
   * `uncertain` counts routing decisions the bounds cannot vouch for, `assumedTies` the ties they
   * assume both keep.
   */
  async bound(batch: Batch): Promise<{
    exact: Map<string, Float64Array>;
    error: Map<string, Float64Array>;
    diff: Map<string, Float64Array>;
    uncertain: { relu: number; maxpool: number };
    assumedTies: number;
  }> {
    const r = await this.call('bound', {}, this.batchArrays(batch));
    const pick = (prefix: string) =>
      new Map([...r.arrays].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), Float64Array.from(v)] as const));
    return {
      exact: pick('exact/'),
      error: pick('error/'),
      diff: pick('diff/'),
      uncertain: r.head.uncertain as { relu: number; maxpool: number },
      assumedTies: r.head.assumedTies as number,
    };
  }
}

/** The init request: the spec, the Jacobian, the optimizer's settings, and the initial values rounded to p. */
function initRequest(o: TrainerOptions, threads: number) {
  const round = rounder(formatByName(o.precision));
  const arrays: Named[] = [];
  for (const p of paramsOf(o.spec)) arrays.push([`param/${p.name}`, wireValues(o.params.get(p.name)!, o.precision, round), p.shape]);
  for (const b of buffersOf(o.spec)) {
    const v = o.buffers?.get(b.name);
    if (v) arrays.push([`buffer/${b.name}`, wireValues(v, o.precision, round), b.shape]);
  }
  const member = o.jacobian.maxpool;
  if (member.kind !== 'beta') throw new Error(`the torch trainer takes a beta(β) MaxPool Jacobian, got '${member.kind}'`);
  const head = {
    device: o.device ?? 'cpu',
    dtype: TORCH_DTYPE[o.precision],
    threads,
    spec: o.spec,
    jacobian: { beta: member.beta, betaMode: o.jacobian.betaMode, reluAlpha: o.jacobian.reluAlpha },
    optimizer: {
      nesterov: false,
      momentum: 0,
      weightDecay: 0,
      masterWeights: 'p',
      ...ADAM_DEFAULTS,
      ...(o.optimizer ?? { kind: 'sgd', lr: 0 }),
    },
  };
  return { head, arrays };
}

const pythons = new Map<string, ReturnType<typeof findPython>>();

/** The interpreter that imports torch, asked once per process (each probe imports torch: seconds). */
function pythonWithTorch(explicit: string | undefined, env: NodeJS.ProcessEnv): ReturnType<typeof findPython> {
  const key = JSON.stringify([explicit ?? null, env.ADZONE_PYTHON ?? null, env.PATH ?? null]);
  let found = pythons.get(key);
  if (!found) {
    found = findPython('torch', explicit, env);
    if (!('missing' in found)) pythons.set(key, found);
  }
  return found;
}

/** A torch trainer (the descriptor's `create`, typed as what it is). */
export async function createTorchTrainer(o: TrainerOptions): Promise<TorchTrainer> {
  const env = o.process?.env ?? process.env;
  const found = pythonWithTorch(o.process?.python, env);
  if ('missing' in found) throw new InputError(`backend torch: ${found.missing}`);
  const threads = o.process?.threads ?? 1;
  const bridge = await TorchBridge.start({
    python: found.python,
    script: TORCH_TRAIN_BRIDGE,
    label: `the PyTorch training bridge (${found.python})`,
    env,
  });
  const { head, arrays } = initRequest(o, threads);
  let ready: Record<string, unknown>;
  try {
    ready = (await bridge.request('init', head, arrays)).head;
  } catch (e) {
    await bridge.close();
    throw refusal(o, e);
  }
  const frameworks = (bridge.hello.frameworks ?? {}) as Record<string, unknown>;
  const bridgeInfo = (bridge.hello.bridge ?? {}) as { version?: string };
  return new TorchTrainer(o, bridge, {
    torch: frameworks.torch ?? null,
    python: `${found.python} (${frameworks.python ?? found.pythonVersion})`,
    ...(frameworks.cuda ? { cuda: frameworks.cuda } : {}),
    torchBridge: `adzone-torch-train ${bridgeInfo.version ?? '?'}`,
    torchDevice: ready.device ?? head.device,
    torchDtype: head.dtype,
    torchThreads: ready.threads ?? threads,
  });
}

export const torchTrainBackend: TrainBackend = {
  id: 'torch',
  unsupported: (_precision, mode) =>
    mode === 'strict' || mode === 'wide'
      ? `\`backend\` torch computes in torch's own arithmetic (\`mode\` framework); \`mode\` ${mode} is the engine's: use \`backend\` engine for it, or drop \`mode\``
      : null,
  defaultMode: () => 'framework',
  create: createTorchTrainer,
};
