/**
 * Whole networks on the engine (src/engine), built from a backend-neutral ModelSpec (spec.ts):
 * forward, loss, backward and optimizer steps in precision p (16/32/64 bits, strict or wide).
 *
 *   createEngineNet(spec, init)         the network: parameters and BN buffers under PyTorch names
 *   gradients(net, batch, opts, {training})  loss, logits, ∂loss/∂θ per name, routing decisions
 *   trainStep(net, batch, opts, optimizer)   one optimizer step on the parameters, in place
 *
 * Values: parameters, buffers and the batch are rounded to p when they enter a pass (labels are
 * integers); the loss is softmaxCrossEntropy (mean over the batch) of the last layer's [N, K] output.
 * After trainStep the parameters hold values of p (the optimizer rounds every update op).
 *
 * Routing decisions (every MaxPool's tie sets, every ReLU's signs, in forward order) are tagged with
 * the node path of the layer that took them:
 *  - a named layer (conv2d, batchnorm2d, linear) is its name;
 *  - a residual block is the longest common dotted prefix of the names inside it ('layer1.0');
 *  - an unnamed layer (relu, maxpool, …) continues the numbering of the nearest named layer before
 *    it in the same list, when that name ends in an index as in an nn.Sequential: the ReLU two
 *    places after 'features.0' is 'features.2'. Otherwise it is its position: `${i}` at top level,
 *    `${block}.body.${i}` or `${block}.shortcut.${i}` inside a residual block ('layer1.0.body.2').
 *    A derived path that would collide with a layer name falls back to the position.
 * A residual block runs body, then shortcut, then adds: body(x) + shortcut(x).
 */

import { rounder } from '../../engine/arith.ts';
import { allFinite, type LossScaler } from '../../engine/lossScale.ts';
import {
  add,
  avgpool2d,
  batchnorm2d,
  conv2d,
  flatten,
  globalAvgPool,
  linear,
  maxpool2d,
  type RunningStats,
  relu,
  softmaxCrossEntropy,
} from '../../engine/ops/index.ts';
import type { Optimizer } from '../../engine/optim/index.ts';
import { type Decision, Tape } from '../../engine/tape.ts';
import type { Tensor } from '../../engine/tensor.ts';
import type { EngineOptions } from '../../engine/types.ts';
import { buffersOf, type ModelSpec, type NetLayer, type ParamSpec, paramsOf } from '../../models/spec.ts';
import { windowOutSize } from '../../problem/index.ts';

type Layer = Exclude<NetLayer, { kind: 'residual' }>;

/** A compiled node: a layer with its path, or a residual block of compiled lists. */
export type NetNode =
  | { readonly kind: 'layer'; readonly path: string; readonly layer: Layer }
  | { readonly kind: 'residual'; readonly path: string; readonly body: readonly NetNode[]; readonly shortcut: readonly NetNode[] };

export interface EngineNet {
  readonly spec: ModelSpec;
  /** Parameters by PyTorch name, in paramsOf order. Values of p after a trainStep in precision p. */
  readonly params: Map<string, Float64Array>;
  /** Batch-norm running statistics by PyTorch name (`….running_mean`, `….running_var`). */
  readonly buffers: Map<string, Float64Array>;
  readonly paramSpecs: readonly ParamSpec[];
  /** The compiled layers with their node paths (internal to this module). */
  readonly nodes: readonly NetNode[];
}

export interface Batch {
  /** Inputs, NCHW flat. */
  readonly x: Float64Array;
  readonly shape: readonly [number, number, number, number];
  /** One class index in [0, classes) per sample. */
  readonly labels: Int32Array;
}

/** A routing decision of the pass, tagged with the path of the node that took it. */
export type NetDecision = Decision & { readonly path: string };

export interface PassOptions {
  /** Batch statistics in batch norm (and running-statistics updates) when true; running statistics when false. */
  readonly training: boolean;
  /** Update the BN running statistics in net.buffers (only ever when training). Default: training. */
  readonly updateRunningStats?: boolean;
  /** Also compute ∂loss/∂input. Default false. */
  readonly inputGrad?: boolean;
  /**
   * Record the tape and run the backward (default true). False: the forward alone, for evaluation;
   * loss, logits and decisions are the same values, and grads come back empty.
   */
  readonly gradients?: boolean;
}

export interface NetGradients {
  /** The mean cross-entropy, a value of p. */
  readonly loss: number;
  /** [N, classes] flat, values of p. */
  readonly logits: Float64Array;
  /** ∂loss/∂θ by parameter name, values of p (zeros where the backward never reached). */
  readonly grads: Map<string, Float64Array>;
  /** Every MaxPool's tie sets and every ReLU's signs, in forward order. */
  readonly decisions: readonly NetDecision[];
  /** ∂loss/∂input (NCHW flat), when asked for. */
  readonly inputGrad?: Float64Array;
}

export interface TrainStepResult {
  /** The loss of the batch before the step (unscaled), a value of p. */
  readonly loss: number;
  /** True when loss scaling found a non-finite gradient and the step was skipped. */
  readonly skipped: boolean;
  /** The loss scale used for this step (1 without loss scaling). */
  readonly scale: number;
}

// ---------------------------------------------------------------------------------------------
// Building

/**
 * A network from a spec and initial values for every parameter (by PyTorch name; `init` may also
 * hold BN buffers, which otherwise start at mean 0, var 1). The values are copied.
 */
export function createEngineNet(spec: ModelSpec, init: ReadonlyMap<string, Float64Array>): EngineNet {
  const paramSpecs = paramsOf(spec);
  const bufferSpecs = buffersOf(spec);
  const known = new Set([...paramSpecs, ...bufferSpecs].map((p) => p.name));
  for (const name of init.keys())
    if (!known.has(name))
      throw new Error(`createEngineNet(${spec.name}): init has '${name}', which is neither a parameter nor a buffer of the spec`);
  const params = new Map<string, Float64Array>();
  for (const p of paramSpecs) {
    const v = init.get(p.name);
    if (!v) throw new Error(`createEngineNet(${spec.name}): no initial values for parameter '${p.name}'`);
    params.set(p.name, checkedCopy(p.name, p.shape, v));
  }
  const buffers = new Map<string, Float64Array>();
  for (const b of bufferSpecs) {
    const v = init.get(b.name);
    const n = b.shape.reduce((a, c) => a * c, 1);
    buffers.set(b.name, v ? checkedCopy(b.name, b.shape, v) : new Float64Array(n).fill(b.kind === 'bn-running-var' ? 1 : 0));
  }
  checkShapes(spec);
  return { spec, params, buffers, paramSpecs, nodes: compile(spec.layers, null, layerNames(spec.layers)) };
}

function checkedCopy(name: string, shape: readonly number[], v: Float64Array): Float64Array {
  const n = shape.reduce((a, c) => a * c, 1);
  if (v.length !== n) throw new Error(`'${name}' has shape ${shape.join('×')} (${n} values), got ${v.length} values`);
  return v.slice();
}

function layerNames(layers: readonly NetLayer[], out = new Set<string>()): Set<string> {
  for (const l of layers) {
    if (l.kind === 'residual') {
      layerNames(l.body, out);
      layerNames(l.shortcut, out);
    } else if ('name' in l) out.add(l.name);
  }
  return out;
}

/** Attach node paths (see the header) to a list of layers; `scope` is null at top level. */
function compile(layers: readonly NetLayer[], scope: string | null, names: ReadonlySet<string>): NetNode[] {
  const positional = (i: number) => (scope === null ? `${i}` : `${scope}.${i}`);
  return layers.map((l, i): NetNode => {
    if (l.kind === 'residual') {
      const path = commonPrefix([...layerNames([l])]) || positional(i);
      return {
        kind: 'residual',
        path,
        body: compile(l.body, `${path}.body`, names),
        shortcut: compile(l.shortcut, `${path}.shortcut`, names),
      };
    }
    if ('name' in l) return { kind: 'layer', path: l.name, layer: l };
    return { kind: 'layer', path: sequentialPath(layers, i, names) ?? positional(i), layer: l };
  });
}

/** 'prefix.(k + i − j)' from the nearest named layer j < i named 'prefix.k' with no residual block in between. */
function sequentialPath(layers: readonly NetLayer[], i: number, names: ReadonlySet<string>): string | null {
  for (let j = i - 1; j >= 0; j--) {
    const l = layers[j];
    if (l.kind === 'residual') return null;
    if (!('name' in l)) continue;
    const m = /^(?:(.*)\.)?(\d+)$/.exec(l.name);
    if (!m) return null;
    const path = `${m[1] === undefined ? '' : `${m[1]}.`}${Number(m[2]) + i - j}`;
    return names.has(path) ? null : path;
  }
  return null;
}

/** Longest common dotted prefix of names, never a whole name ('layer1.0.conv1', 'layer1.0.bn1' → 'layer1.0'). */
function commonPrefix(names: readonly string[]): string {
  if (names.length === 0) return '';
  const split = names.map((n) => n.split('.'));
  const prefix: string[] = [];
  const max = Math.min(...split.map((s) => s.length - 1));
  for (let k = 0; k < max && split.every((s) => s[k] === split[0][k]); k++) prefix.push(split[0][k]);
  return prefix.join('.');
}

/** Walk the spec's shapes from spec.input, failing early with the layer that does not fit. */
function checkShapes(spec: ModelSpec): void {
  const walk = (layers: readonly NetLayer[], s: readonly number[], where: string): readonly number[] => {
    layers.forEach((l, i) => {
      const at = `${where}[${i}] ${l.kind}${'name' in l ? ` '${l.name}'` : ''}`;
      const fail = (why: string): never => {
        throw new Error(`model ${spec.name}: ${at} does not fit input ${s.join('×')}: ${why}`);
      };
      const spatial = () => (s.length === 3 ? s : fail('needs a [C, H, W] input'));
      switch (l.kind) {
        case 'conv2d': {
          const [c, h, w] = spatial();
          if (c !== l.inChannels) fail(`expects ${l.inChannels} channels`);
          s = [
            l.outChannels,
            windowOutSize(h, l.kernel[0], l.stride[0], l.padding[0]),
            windowOutSize(w, l.kernel[1], l.stride[1], l.padding[1]),
          ];
          break;
        }
        case 'batchnorm2d':
          if (spatial()[0] !== l.channels) fail(`expects ${l.channels} channels`);
          break;
        case 'relu':
          break;
        case 'maxpool':
        case 'avgpool': {
          const [c, h, w] = spatial();
          const pad = l.kind === 'maxpool' ? l.padding : ([0, 0] as const);
          s = [c, windowOutSize(h, l.kernel[0], l.stride[0], pad[0]), windowOutSize(w, l.kernel[1], l.stride[1], pad[1])];
          break;
        }
        case 'globalavgpool':
          s = [spatial()[0], 1, 1];
          break;
        case 'flatten':
          s = [s.reduce((a, b) => a * b, 1)];
          break;
        case 'linear':
          if (s.length !== 1 || s[0] !== l.inFeatures) fail(`expects ${l.inFeatures} features (flatten first)`);
          s = [l.outFeatures];
          break;
        case 'residual': {
          const b = walk(l.body, s, `${at}.body`);
          const sc = walk(l.shortcut, s, `${at}.shortcut`);
          if (b.join() !== sc.join()) fail(`body gives ${b.join('×')}, shortcut ${sc.join('×')}`);
          s = b;
          break;
        }
      }
      if (s.some((d) => !(d >= 1))) fail('gives an empty output');
    });
    return s;
  };
  const out = walk(spec.layers, spec.input, 'layers');
  if (out.length !== 1 || out[0] !== spec.classes)
    throw new Error(`model ${spec.name}: output is ${out.join('×')}, expected [${spec.classes}] logits`);
}

// ---------------------------------------------------------------------------------------------
// Passes

interface Ctx {
  readonly tape: Tape;
  readonly params: ReadonlyMap<string, Tensor>;
  readonly running: ReadonlyMap<string, RunningStats>;
  readonly training: boolean;
  readonly decisions: NetDecision[];
}

function forward(nodes: readonly NetNode[], x: Tensor, ctx: Ctx): Tensor {
  let h = x;
  for (const node of nodes) {
    if (node.kind === 'residual') {
      const body = forward(node.body, h, ctx);
      const shortcut = forward(node.shortcut, h, ctx);
      h = add(body, shortcut);
      continue;
    }
    const before = ctx.tape.decisions.length;
    h = forwardLayer(node.layer, h, ctx);
    for (let d = before; d < ctx.tape.decisions.length; d++) ctx.decisions.push({ ...ctx.tape.decisions[d], path: node.path });
  }
  return h;
}

function forwardLayer(l: Layer, h: Tensor, ctx: Ctx): Tensor {
  const param = (name: string) => ctx.params.get(name)!;
  switch (l.kind) {
    case 'conv2d':
      return conv2d(h, param(`${l.name}.weight`), l.bias ? param(`${l.name}.bias`) : null, l);
    case 'batchnorm2d':
      return batchnorm2d(h, param(`${l.name}.weight`), param(`${l.name}.bias`), ctx.running.get(l.name)!, {
        training: ctx.training,
        eps: l.eps,
        momentum: l.momentum,
      });
    case 'relu':
      return relu(h);
    case 'maxpool':
      return maxpool2d(h, l);
    case 'avgpool':
      return avgpool2d(h, l);
    case 'globalavgpool':
      return globalAvgPool(h);
    case 'flatten':
      return flatten(h);
    case 'linear':
      return linear(h, param(`${l.name}.weight`), l.bias ? param(`${l.name}.bias`) : null);
  }
}

/**
 * One pass on a fresh tape, whose device memory (engine kernels) is given back at the end, after
 * the results are read; `keepDecisionValues`: the decisions' output tensors stay readable too.
 */
function pass(net: EngineNet, batch: Batch, opts: EngineOptions, o: PassOptions, seed: number, keepDecisionValues = true): NetGradients {
  const { spec } = net;
  const [N, C, H, W] = batch.shape;
  if (C !== spec.input[0] || H !== spec.input[1] || W !== spec.input[2])
    throw new Error(`model ${spec.name} takes [N, ${spec.input.join(', ')}] inputs, got [${batch.shape.join(', ')}]`);
  if (batch.x.length !== N * C * H * W)
    throw new Error(`batch: shape ${batch.shape.join('×')} needs ${N * C * H * W} values, got ${batch.x.length}`);
  if (batch.labels.length !== N) throw new Error(`batch: ${N} samples but ${batch.labels.length} labels`);

  const tape = new Tape(opts);
  try {
    return passOn(tape, net, batch, o, seed);
  } finally {
    tape.release(keepDecisionValues ? tape.decisions.map((d) => d.output) : []);
  }
}

function passOn(tape: Tape, net: EngineNet, batch: Batch, o: PassOptions, seed: number): NetGradients {
  const { spec } = net;
  const params = new Map<string, Tensor>();
  const withGrads = o.gradients !== false;
  for (const p of net.paramSpecs) params.set(p.name, tape.tensor(net.params.get(p.name)!, p.shape, withGrads, p.name));
  // Working copies of the running statistics, rounded to p; written back only when updating.
  const running = new Map<string, RunningStats>();
  const r = tape.arith.round;
  for (const b of buffersOf(spec)) {
    if (b.kind !== 'bn-running-mean') continue;
    const layer = b.name.slice(0, -'.running_mean'.length);
    running.set(layer, { mean: net.buffers.get(b.name)!.map(r), var: net.buffers.get(`${layer}.running_var`)!.map(r) });
  }
  const x = tape.tensor(batch.x, batch.shape, withGrads && o.inputGrad === true, 'input');
  const ctx: Ctx = { tape, params, running, training: o.training, decisions: [] };
  const logits = forward(net.nodes, x, ctx);
  const loss = softmaxCrossEntropy(logits, batch.labels);
  if (withGrads) tape.backward(loss, [seed]);

  if (o.training && (o.updateRunningStats ?? true)) {
    for (const [layer, stats] of running) {
      net.buffers.get(`${layer}.running_mean`)!.set(stats.mean);
      net.buffers.get(`${layer}.running_var`)!.set(stats.var);
    }
  }
  const grads = new Map<string, Float64Array>();
  if (withGrads) for (const [name, t] of params) grads.set(name, t.grad ?? new Float64Array(t.size));
  return {
    loss: loss.data[0],
    logits: logits.data,
    grads,
    decisions: ctx.decisions,
    ...(o.inputGrad ? { inputGrad: x.grad ?? new Float64Array(x.size) } : {}),
  };
}

/**
 * Loss, logits, the gradient of the loss w.r.t. every parameter and the routing decisions of one
 * batch in precision p (opts: format, accumulation mode, Jacobian choice). In training mode batch
 * norm uses batch statistics and (unless updateRunningStats is false) updates net.buffers.
 */
export function gradients(net: EngineNet, batch: Batch, opts: EngineOptions, o: PassOptions): NetGradients {
  return pass(net, batch, opts, o, 1);
}

/**
 * Loss and logits of one batch without the backward (evaluation: batch norm on the running
 * statistics). The same values as gradients(net, batch, opts, { training: false }) at the cost of a
 * forward only.
 */
export function evaluateBatch(net: EngineNet, batch: Batch, opts: EngineOptions): { loss: number; logits: Float64Array } {
  const r = pass(net, batch, opts, { training: false, gradients: false }, 1, false);
  return { loss: r.loss, logits: r.logits };
}

/**
 * One training step: net.params are first rounded to p in place (the p-weights the optimizer
 * steps), then gradients in training mode, then optimizer.step on net.params in place (values of p
 * afterwards). With a loss scaler the backward is seeded with its scale S, the
 * optimizer unscales, and a step with a non-finite gradient is skipped (nothing changes but the
 * BN running statistics of the forward pass and the scaler).
 */
export function trainStep(
  net: EngineNet,
  batch: Batch,
  opts: EngineOptions,
  optimizer: Optimizer,
  { lossScale }: { lossScale?: LossScaler } = {},
): TrainStepResult {
  const round = rounder(opts.format);
  for (const v of net.params.values()) for (let i = 0; i < v.length; i++) v[i] = round(v[i]); // the p-weights the optimizer steps
  const scale = lossScale ? lossScale.scale : 1;
  const r = pass(net, batch, opts, { training: true }, scale, false);
  if (lossScale) {
    const finite = allFinite(r.grads.values());
    lossScale.update(finite);
    if (!finite) return { loss: r.loss, skipped: true, scale };
  }
  optimizer.step(net.params, r.grads, opts.format, { gradScale: scale });
  return { loss: r.loss, skipped: false, scale };
}
