/**
 * tfjs twins of the models (src/models): the network of a ModelSpec built from tf ops, so tfjs's
 * AD can be compared with the engine weight for weight.
 *
 *   const r = await tfjsGradients(spec, params, batch, { backend: 'cpu', precision: '32', jacobian: choice(FIRST), training: true });
 *   r.loss, r.logits, r.grads.get('conv1.weight'), r.buffers.get('bn1.running_mean')
 *   await tfjsTrainStep({ spec, params, buffers }, batch, { backend: 'wasm', precision: '16', jacobian: choice(beta(10)) }, sgd({ lr: 0.1 }));
 *
 * Layouts: the spec's (NCHW input, conv weights [out, in, kh, kw], linear [out, in]) outside;
 * inside, the input is transposed to NHWC once and every weight is transposed where it is used
 * (conv: [kh, kw, in, out]; linear: x·Wᵀ), so tf.grads returns gradients in the spec's layouts.
 * flatten transposes back to NCHW first, so features come in PyTorch's (c, h, w) order.
 *
 * The network, layer by layer (each a tf op or a few):
 *   conv2d       tf.conv2d (explicit zero padding), + bias
 *   batchnorm2d  training: μ = mean over (n, h, w), xc = x − μ, σ² = Σxc²/M (biased), the running
 *                statistics updated with Σxc²/(M − 1) (PyTorch's unbiased running variance);
 *                inference: μ, σ² from the buffers. y = xc · (1/√(σ² + ε)) · γ + β; in training
 *                the gradient flows through μ and σ², as in PyTorch.
 *   relu         jacobian 'native': tf.relu (ReLU'(0) = 0); otherwise ReLU'(0) = α through customGrad
 *   maxpool      'native': tf.maxPool with tfjs's own gradient (cpu: first, wasm: last, see
 *                tie_rule.ts); otherwise maxPoolBeta (maxpool_beta.ts), the chosen member exactly;
 *                betaMode 'mixed-forward' builds the paper's β·m_minnorm + (1 − β)·m_first
 *   avgpool, globalavgpool, flatten, linear (x·Wᵀ + b), residual (body(x) + shortcut(x))
 *   loss         mean cross-entropy: −mean_n Σ_k onehot·logSoftmax(z)  (PyTorch F.cross_entropy)
 *
 * Precision '32': float32 tensors, tfjs's own arithmetic. Precision '16': the engine's `wide`
 * mode emulated (f16.ts): inputs, parameters, buffers and constants rounded to binary16 on the JS
 * side (once, from the doubles), every op's output rounded with roundF16, and in the backward pass
 * the gradient reaching each op's output and each gradient an op sends to an input rounded too.
 *
 * Every call takes the tfjs lock (runtime.ts `exclusive`), activates its backend, and frees every
 * tensor it made before returning.
 */
import { f16round } from '@petamoriken/float16';
import type { GradSaveFunc, Tensor, Tensor1D, Tensor2D, Tensor4D } from '@tensorflow/tfjs';
import { FIRST, MINNORM, type JacobianChoice, type MaxPoolJacobian } from '../../jacobians/index.ts';
import { buffersOf, paramsOf, type ModelSpec, type NetLayer } from '../../models/spec.ts';
import { F16, F32 } from '../../precision/index.ts';
import type { Optimizer } from '../../engine/optim/index.ts';
import { f16Values, op16 } from './f16.ts';
import { maxPoolBeta } from './maxpool_beta.ts';
import { activate, exclusive, tf } from './runtime.ts';

export type TfjsNetBackend = 'cpu' | 'wasm';
export type TfjsNetPrecision = '32' | '16';

/** A batch: NCHW inputs (flat, [N, ...spec.input]) and one label in [0, classes) per sample. The engine's Batch fits. */
export interface TfjsBatch {
  readonly x: ArrayLike<number>;
  readonly shape: readonly [number, number, number, number];
  readonly labels: ArrayLike<number>;
}

export interface TfjsNetOptions {
  readonly backend: TfjsNetBackend;
  readonly precision: TfjsNetPrecision;
  /**
   * The Jacobian choice of the run (MaxPool member, ReLU'(0) = α, β mode), or 'native' for tfjs's
   * own MaxPool and ReLU gradients (the AD system as shipped).
   */
  readonly jacobian: JacobianChoice | 'native';
  /** Batch statistics in batch norm (and updated running statistics) when true; running statistics when false. */
  readonly training: boolean;
  /** BN running statistics by PyTorch name; missing ones start at mean 0, var 1. */
  readonly buffers?: ReadonlyMap<string, ArrayLike<number>>;
}

export interface TfjsNetResult {
  /** Mean cross-entropy (a float32 value; a binary16 value in precision '16'). */
  readonly loss: number;
  /** ∂loss/∂θ by PyTorch name, in the spec's layouts. */
  readonly grads: Map<string, Float64Array>;
  /** [N, classes] flat. */
  readonly logits: Float64Array;
  /** BN running statistics after the pass: updated when training, the inputs (rounded) otherwise. */
  readonly buffers: Map<string, Float64Array>;
}

type Explicit = [[number, number], [number, number], [number, number], [number, number]];
const explicit = (p: readonly [number, number]): Explicit | 'valid' =>
  p[0] || p[1]
    ? [
        [0, 0],
        [p[0], p[0]],
        [p[1], p[1]],
        [0, 0],
      ]
    : 'valid';

/** Everything a layer needs while the network runs. */
interface Ctx {
  readonly p16: boolean;
  /** Round a JS number to the run's precision. */
  readonly round: (x: number) => number;
  /** An op as the run's precision computes it: itself at 32 bits, wrapped by op16 at 16. */
  readonly op: <A extends Tensor[]>(f: (...xs: A) => Tensor) => (...xs: A) => Tensor;
  readonly jacobian: JacobianChoice | 'native';
  readonly training: boolean;
  readonly params: ReadonlyMap<string, Tensor>;
  /** Running statistics (values of p) by PyTorch buffer name. */
  readonly buffers: ReadonlyMap<string, Float32Array>;
  /** Batch statistics of each BN layer, kept (tf.keep) for the running-statistics update. */
  readonly stats: Map<string, { mean: Tensor; varUnbiased: Tensor }>;
}

const scalar = (ctx: Ctx, v: number) => tf.scalar(ctx.round(v));

/** ReLU with ReLU'(0) = α: dx = dy where x > 0, α·dy where x = 0, 0 below (and for NaN), zero slopes structural. */
function reluWithAlpha(x: Tensor, alpha: number): Tensor {
  const f = tf.customGrad((...args: (Tensor | GradSaveFunc)[]) => {
    const input = args[0] as Tensor;
    (args[1] as GradSaveFunc)([input]);
    return {
      value: tf.relu(input),
      gradFunc: (dy: Tensor, [xs]: Tensor[]) => {
        const slope = tf.where(tf.greater(xs, 0), tf.onesLike(xs), tf.where(tf.equal(xs, 0), tf.fill(xs.shape, alpha), tf.zerosLike(xs)));
        return [tf.where(tf.notEqual(slope, 0), tf.mul(dy, slope), tf.zerosLike(dy))];
      },
    };
  });
  return f(x);
}

function maxpool(l: Extract<NetLayer, { kind: 'maxpool' }>, a: Tensor4D, ctx: Ctx): Tensor4D {
  const stride = [...l.stride] as [number, number];
  const kernel = [...l.kernel] as [number, number];
  if (ctx.jacobian === 'native') return tf.maxPool(a, kernel, stride, explicit(l.padding));
  const roundWeight = ctx.p16 ? f16round : Math.fround;
  const pool = (member: MaxPoolJacobian) => (x: Tensor4D) => maxPoolBeta(x, { kernel, stride, padding: l.padding, member, roundWeight });
  const member = ctx.jacobian.maxpool;
  if (ctx.jacobian.betaMode !== 'mixed-forward' || member.kind !== 'beta') return ctx.op(pool(member))(a) as Tensor4D;
  // The paper's code: two pools with the same max, mixed in the forward pass (docs/DESIGN.md §2).
  const b = scalar(ctx, member.beta);
  const c = scalar(ctx, 1 - member.beta);
  const mixed = ctx.op((u: Tensor, v: Tensor) => tf.add(u, v));
  const scale = ctx.op((k: Tensor, u: Tensor) => tf.mul(k, u));
  return mixed(scale(b, ctx.op(pool(MINNORM))(a)), scale(c, ctx.op(pool(FIRST))(a))) as Tensor4D;
}

function batchnorm(l: Extract<NetLayer, { kind: 'batchnorm2d' }>, a: Tensor4D, ctx: Ctx): Tensor {
  const { op } = ctx;
  const gamma = ctx.params.get(`${l.name}.weight`)!;
  const beta = ctx.params.get(`${l.name}.bias`)!;
  const eps = scalar(ctx, l.eps);
  let xc: Tensor;
  let variance: Tensor;
  if (ctx.training) {
    const [n, h, w] = a.shape;
    const m = n * h * w;
    if (m < 2) throw new Error(`batchnorm ${l.name}: training needs more than 1 value per channel, got ${m}`);
    const mean = op((x: Tensor) => tf.mean(x, [0, 1, 2]))(a);
    xc = op((x: Tensor, mu: Tensor) => tf.sub(x, mu))(a, mean);
    const s2 = op((d: Tensor) => tf.sum(tf.square(d), [0, 1, 2]))(xc);
    variance = op((s: Tensor) => tf.div(s, m))(s2);
    const varUnbiased = op((s: Tensor) => tf.div(s, m - 1))(s2);
    ctx.stats.set(l.name, { mean: tf.keep(mean), varUnbiased: tf.keep(varUnbiased) });
  } else {
    const mean = tf.tensor1d(ctx.buffers.get(`${l.name}.running_mean`)!);
    variance = tf.tensor1d(ctx.buffers.get(`${l.name}.running_var`)!);
    xc = op((x: Tensor, mu: Tensor) => tf.sub(x, mu))(a, mean);
  }
  const std = op((v: Tensor, e: Tensor) => tf.sqrt(tf.add(v, e)))(variance, eps);
  const invstd = op((s: Tensor) => tf.reciprocal(s))(std);
  const xhat = op((d: Tensor, k: Tensor) => tf.mul(d, k))(xc, invstd);
  const scaled = op((u: Tensor, g: Tensor) => tf.mul(u, g))(xhat, gamma);
  return op((u: Tensor, b: Tensor) => tf.add(u, b))(scaled, beta);
}

function runLayer(l: NetLayer, a: Tensor, ctx: Ctx): Tensor {
  const { op } = ctx;
  const param = (name: string) => ctx.params.get(name)!;
  switch (l.kind) {
    case 'conv2d': {
      const stride = [...l.stride] as [number, number];
      const pad = explicit(l.padding);
      const conv = op((x: Tensor, w: Tensor) => tf.conv2d(x as Tensor4D, tf.transpose(w, [2, 3, 1, 0]) as Tensor4D, stride, pad));
      const y = conv(a, param(`${l.name}.weight`));
      return l.bias ? op((u: Tensor, b: Tensor) => tf.add(u, b))(y, param(`${l.name}.bias`)) : y;
    }
    case 'batchnorm2d':
      return batchnorm(l, a as Tensor4D, ctx);
    case 'relu':
      return ctx.jacobian === 'native'
        ? op((x: Tensor) => tf.relu(x))(a)
        : op((x: Tensor) => reluWithAlpha(x, ctx.round((ctx.jacobian as JacobianChoice).reluAlpha)))(a);
    case 'maxpool':
      return maxpool(l, a as Tensor4D, ctx);
    case 'avgpool':
      return op((x: Tensor) => tf.avgPool(x as Tensor4D, [...l.kernel] as [number, number], [...l.stride] as [number, number], 'valid'))(a);
    case 'globalavgpool':
      return op((x: Tensor) => tf.mean(x, [1, 2], true))(a);
    case 'flatten':
      return a.rank === 2 ? a : tf.reshape(tf.transpose(a, [0, 3, 1, 2]), [a.shape[0], -1]);
    case 'linear': {
      const y = op((x: Tensor, w: Tensor) => tf.matMul(x as Tensor2D, w as Tensor2D, false, true))(a, param(`${l.name}.weight`));
      return l.bias ? op((u: Tensor, b: Tensor) => tf.add(u, b))(y, param(`${l.name}.bias`)) : y;
    }
    case 'residual': {
      const body = l.body.reduce((t, m) => runLayer(m, t, ctx), a);
      const shortcut = l.shortcut.reduce((t, m) => runLayer(m, t, ctx), a);
      return op((u: Tensor, v: Tensor) => tf.add(u, v))(body, shortcut);
    }
  }
}

/** Mean cross-entropy of logits [N, K] against one-hot labels. */
function crossEntropy(logits: Tensor, onehot: Tensor, ctx: Ctx): Tensor {
  const ls = ctx.op((z: Tensor) => tf.logSoftmax(z))(logits);
  const picked = ctx.op((u: Tensor, o: Tensor) => tf.sum(tf.mul(u, o), 1))(ls, onehot);
  return ctx.op((u: Tensor) => tf.neg(tf.mean(u)))(picked);
}

function validate(spec: ModelSpec, params: ReadonlyMap<string, ArrayLike<number>>, batch: TfjsBatch): void {
  const [n, c, h, w] = batch.shape;
  const [sc, sh, sw] = spec.input;
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`batch: needs at least one sample, got shape ${batch.shape.join('×')}`);
  if (c !== sc || h !== sh || w !== sw)
    throw new Error(`model ${spec.name} takes [N, ${spec.input.join(', ')}] inputs, got [${batch.shape.join(', ')}]`);
  if (batch.x.length !== n * c * h * w)
    throw new Error(`batch: shape ${batch.shape.join('×')} needs ${n * c * h * w} values, got ${batch.x.length}`);
  if (batch.labels.length !== n) throw new Error(`batch: ${n} samples but ${batch.labels.length} labels`);
  for (let i = 0; i < n; i++) {
    const y = batch.labels[i];
    if (!(Number.isInteger(y) && y >= 0 && y < spec.classes))
      throw new Error(`batch: label ${y} of sample ${i} is not in [0, ${spec.classes})`);
  }
  for (const p of paramsOf(spec)) {
    const v = params.get(p.name);
    const size = p.shape.reduce((a, b) => a * b, 1);
    if (!v) throw new Error(`tfjs ${spec.name}: no values for parameter '${p.name}'`);
    if (v.length !== size)
      throw new Error(`tfjs ${spec.name}: '${p.name}' has shape ${p.shape.join('×')} (${size} values), got ${v.length}`);
  }
}

/** The pass itself; call inside `exclusive` after `activate`. */
function pass(
  spec: ModelSpec,
  params: ReadonlyMap<string, ArrayLike<number>>,
  batch: TfjsBatch,
  opts: TfjsNetOptions,
  withGrads = true,
): TfjsNetResult {
  validate(spec, params, batch);
  const p16 = opts.precision === '16';
  const round = p16 ? f16round : Math.fround;
  const values = (v: ArrayLike<number>): Float32Array => (p16 ? f16Values(v) : Float32Array.from(v as ArrayLike<number>));
  const buffers = new Map<string, Float32Array>();
  for (const b of buffersOf(spec)) {
    const v = opts.buffers?.get(b.name) ?? new Float64Array(b.shape[0]).fill(b.kind === 'bn-running-var' ? 1 : 0);
    if (v.length !== b.shape[0]) throw new Error(`tfjs ${spec.name}: buffer '${b.name}' needs ${b.shape[0]} values, got ${v.length}`);
    buffers.set(b.name, values(v));
  }
  const stats = new Map<string, { mean: Tensor; varUnbiased: Tensor }>();
  let logits: Tensor | undefined; // kept out of the tidies until read
  let result: TfjsNetResult | undefined;
  try {
    tf.tidy(() => {
      const specs = paramsOf(spec);
      const tensors = specs.map((p) => tf.tensor(values(params.get(p.name)!), [...p.shape]));
      const x = tf.transpose(tf.tensor4d(values(batch.x), [...batch.shape] as [number, number, number, number]), [0, 2, 3, 1]);
      const onehot = tf.cast(tf.oneHot(tf.tensor1d(Array.from(batch.labels), 'int32') as Tensor1D, spec.classes), 'float32');
      const forward = (...ps: Tensor[]): Tensor => {
        const ctx: Ctx = {
          p16,
          round,
          op: p16 ? op16 : (f) => f,
          jacobian: opts.jacobian,
          training: opts.training,
          params: new Map(specs.map((p, i) => [p.name, ps[i]])),
          buffers,
          stats,
        };
        const z = spec.layers.reduce((t, l) => runLayer(l, t, ctx), x as Tensor);
        logits = tf.keep(z);
        return crossEntropy(z, onehot, ctx);
      };
      // Evaluation needs no backward: the same forward, called directly.
      const { value, grads } = withGrads ? tf.valueAndGrads(forward)(tensors) : { value: forward(...tensors), grads: [] as Tensor[] };
      const out = new Map<string, Float64Array>();
      if (withGrads)
        specs.forEach((p, i) => {
          out.set(p.name, Float64Array.from(grads[i].dataSync()));
        });
      const z = Float64Array.from(logits!.dataSync());
      const newBuffers = new Map<string, Float64Array>();
      for (const [name, v] of buffers) newBuffers.set(name, Float64Array.from(v));
      if (opts.training) {
        for (const l of bnLayers(spec.layers)) {
          const s = stats.get(l.name)!;
          const keep = round(1 - l.momentum);
          const mom = round(l.momentum);
          const update = (name: string, batchStat: Tensor) => {
            const bs = batchStat.dataSync();
            const r = newBuffers.get(name)!;
            // In float32 arithmetic (then binary16 in '16'): round(round(keep·r) + round(mom·b)).
            for (let i = 0; i < r.length; i++) r[i] = round(round(keep * r[i]) + round(mom * bs[i]));
          };
          update(`${l.name}.running_mean`, s.mean);
          update(`${l.name}.running_var`, s.varUnbiased);
        }
      }
      result = { loss: value.dataSync()[0], grads: out, logits: z, buffers: newBuffers };
    });
  } finally {
    for (const s of stats.values()) tf.dispose([s.mean, s.varUnbiased]);
    if (logits) tf.dispose(logits);
  }
  return result!;
}

function bnLayers(layers: readonly NetLayer[], out: Extract<NetLayer, { kind: 'batchnorm2d' }>[] = []) {
  for (const l of layers) {
    if (l.kind === 'batchnorm2d') out.push(l);
    else if (l.kind === 'residual') {
      bnLayers(l.body, out);
      bnLayers(l.shortcut, out);
    }
  }
  return out;
}

/**
 * Loss, logits and ∂loss/∂θ of one batch, computed by tfjs on `opts.backend` in `opts.precision`,
 * with the run's MaxPool Jacobian (or tfjs's own with jacobian 'native'). Parameters are doubles by
 * PyTorch name (rounded to the precision on entry); nothing passed in is modified.
 */
export function tfjsGradients(
  spec: ModelSpec,
  params: ReadonlyMap<string, ArrayLike<number>>,
  batch: TfjsBatch,
  opts: TfjsNetOptions,
): Promise<TfjsNetResult> {
  return exclusive(async () => {
    await activate(opts.backend);
    return pass(spec, params, batch, opts);
  });
}

/**
 * Loss and logits of one batch in evaluation mode (batch norm on the running statistics), the
 * forward of tfjsGradients without its backward: the same values, at the cost of a forward only.
 */
export function tfjsEvaluate(
  spec: ModelSpec,
  params: ReadonlyMap<string, ArrayLike<number>>,
  batch: TfjsBatch,
  opts: Omit<TfjsNetOptions, 'training'>,
): Promise<{ loss: number; logits: Float64Array }> {
  return exclusive(async () => {
    await activate(opts.backend);
    const r = pass(spec, params, batch, { ...opts, training: false }, false);
    return { loss: r.loss, logits: r.logits };
  });
}

/** Parameters and BN running statistics a training run carries from step to step. */
export interface TfjsNetState {
  readonly spec: ModelSpec;
  readonly params: Map<string, Float64Array>;
  readonly buffers: Map<string, Float64Array>;
}

/**
 * One training step in place: the parameters are rounded to the precision, gradients are taken in
 * training mode, the BN running statistics are replaced by the updated ones, and `optimizer`
 * (src/engine/optim: PyTorch SGD / Adam semantics, every update op rounded to its master format,
 * binary16 or binary32 here) steps the parameters, which hold values of the precision afterwards.
 */
export async function tfjsTrainStep(
  state: TfjsNetState,
  batch: TfjsBatch,
  opts: Omit<TfjsNetOptions, 'training' | 'buffers'>,
  optimizer: Optimizer,
): Promise<{ loss: number; logits: Float64Array }> {
  const format = opts.precision === '16' ? F16 : F32;
  const round = opts.precision === '16' ? f16round : Math.fround;
  for (const v of state.params.values()) for (let i = 0; i < v.length; i++) v[i] = round(v[i]);
  const r = await tfjsGradients(state.spec, state.params, batch, { ...opts, training: true, buffers: state.buffers });
  for (const [name, v] of r.buffers) state.buffers.set(name, v);
  optimizer.step(state.params, r.grads, format);
  return { loss: r.loss, logits: r.logits };
}
