/**
 * A ModelSpec compiled for exact evaluation (the oracle's Graph, oracle/network/graph.ts): a flat
 * list of nodes in forward order (residual blocks unrolled into body, shortcut, add), every
 * tensor's shape and exact denominator, and the parameters checked against paramsOf (PyTorch
 * names). Node paths: see types.ts.
 */

import { windowMap } from '../../engine/windows.ts';
import { type ModelSpec, type NetLayer, paramsOf } from '../../models/spec.ts';
import { type Graph, type GraphNode, lcm, type Shape4, splitOdd, type TensorInfo, type Windows } from '../../oracle/network/index.ts';
import { type Pair, windowOutSize } from '../../problem/index.ts';
import type { NodeDescription } from './types.ts';

/** What exactRouting needs of a spec: its layers, and (optionally) the input shape to check x against. */
export type NetworkSpec = Pick<ModelSpec, 'layers'> & Partial<Pick<ModelSpec, 'input' | 'name'>>;

export type Params = ReadonlyMap<string, Float64Array>;

export class NetworkSpecError extends Error {
  override name = 'NetworkSpecError';
}

export const BATCHNORM_UNSUPPORTED =
  'exact classification through batch norm is not supported: it divides by sqrt(var + eps), which is ' +
  'irrational in general, so the network has no exact dyadic/rational value; use the estimator ' +
  '(src/zones/network/estimator.ts: Σ‖g(β=0) − g(β=1)‖∞ against a threshold) for networks with batch norm';

export function windows(inH: number, inW: number, kernel: Pair, stride: Pair, padding: Pair, what: string): Windows {
  const [kh, kw] = kernel;
  const [sh, sw] = stride;
  const [ph, pw] = padding;
  if (!(kh >= 1 && kw >= 1 && sh >= 1 && sw >= 1 && ph >= 0 && pw >= 0)) {
    throw new NetworkSpecError(
      `${what}: kernel and stride must be ≥ 1 and padding ≥ 0, got kernel ${kh}×${kw}, stride ${sh}×${sw}, padding ${ph}×${pw}`,
    );
  }
  const outH = windowOutSize(inH, kh, sh, ph);
  const outW = windowOutSize(inW, kw, sw, pw);
  if (outH < 1 || outW < 1)
    throw new NetworkSpecError(`${what}: input ${inH}×${inW} with kernel ${kh}×${kw}, padding ${ph}×${pw} gives an empty output`);
  // Validated above (with this module's error type); the index map itself is the engine's.
  const { k: kk, map } = windowMap(inH, inW, kernel, stride, padding);
  return { kernel, stride, padding, inH, inW, outH, outW, kk, map };
}

function param(params: Params, name: string, length: number): Float64Array {
  const p = params.get(name);
  if (!p) throw new NetworkSpecError(`parameter ${name} is missing`);
  if (p.length !== length) throw new NetworkSpecError(`parameter ${name} has ${p.length} values, needs ${length}`);
  for (let i = 0; i < p.length; i++) {
    if (!Number.isFinite(p[i])) throw new NetworkSpecError(`parameter ${name}[${i}] = ${p[i]} is not finite: it has no exact value`);
  }
  return p;
}

/** The input checks of compileNetwork: shape [N, C, H, W] matching the spec, finite values. */
function checkInput(spec: NetworkSpec, x: ArrayLike<number>, shape: readonly number[]): void {
  if (shape.length !== 4 || !shape.every((d) => Number.isInteger(d) && d >= 1))
    throw new NetworkSpecError(`input shape must be [N, C, H, W] of positive integers, got [${shape.join(', ')}]`);
  const [N, C, H, W] = shape;
  if (spec.input && (spec.input[0] !== C || spec.input[1] !== H || spec.input[2] !== W)) {
    throw new NetworkSpecError(`input shape ${C}×${H}×${W} does not match the spec's ${spec.input.join('×')}`);
  }
  if (x.length !== N * C * H * W)
    throw new NetworkSpecError(`input has ${x.length} values, shape ${shape.join('×')} needs ${N * C * H * W}`);
  for (let i = 0; i < x.length; i++)
    if (!Number.isFinite(x[i])) throw new NetworkSpecError(`input[${i}] = ${x[i]} is not finite: it has no exact value`);
  paramsOf(spec); // duplicate names
}

/** The graph under construction: nodes and tensors appended in forward order. */
interface Builder {
  readonly params: Params;
  readonly nodes: GraphNode[];
  readonly tensors: TensorInfo[];
}

/** A new tensor produced by the next node pushed. */
function tensor(b: Builder, shape: Shape4, den: bigint, alias: number | null = null): number {
  b.tensors.push({ shape, size: shape[0] * shape[1] * shape[2] * shape[3], den, producer: b.nodes.length, alias });
  return b.tensors.length - 1;
}

function push(b: Builder, nd: GraphNode): number {
  b.nodes.push(nd);
  return nd.output;
}

/** The layers of one sequence, in order, from tensor `input`; returns the last output tensor. */
function seq(b: Builder, layers: readonly NetLayer[], prefix: string, input: number): number {
  let t = input;
  layers.forEach((l, i) => {
    t = layer(b, l, `${prefix}.${i}`, t);
  });
  return t;
}

function layer(b: Builder, l: NetLayer, path: string, t: number): number {
  const inT = b.tensors[t];
  const [n, c, h, w] = inT.shape;
  switch (l.kind) {
    case 'batchnorm2d':
      throw new NetworkSpecError(`${path} (${l.name}): ${BATCHNORM_UNSUPPORTED}`);
    case 'conv2d':
      return conv(b, l, path, t);
    case 'relu':
      return push(b, { kind: 'relu', path, input: t, output: tensor(b, inT.shape, inT.den) });
    case 'maxpool':
      return maxpool(b, l, path, t);
    case 'avgpool': {
      const win = windows(h, w, l.kernel, l.stride, [0, 0], `${path} avgpool`);
      const { odd, twos } = splitOdd(win.kk);
      const output = tensor(b, [n, c, win.outH, win.outW], inT.den * odd);
      return push(b, { kind: 'avgpool', path, input: t, output, win, odd, twos });
    }
    case 'globalavgpool': {
      const { odd, twos } = splitOdd(h * w);
      return push(b, { kind: 'globalavgpool', path, input: t, output: tensor(b, [n, c, 1, 1], inT.den * odd), odd, twos });
    }
    case 'flatten':
      return push(b, { kind: 'flatten', path, input: t, output: tensor(b, [n, c * h * w, 1, 1], inT.den, inT.alias ?? t) });
    case 'linear':
      return linear(b, l, path, t);
    case 'residual':
      return residual(b, l, path, t);
    default: {
      const never: never = l;
      throw new NetworkSpecError(`unknown layer kind ${(never as { kind: string }).kind}`);
    }
  }
}

function conv(b: Builder, l: Extract<NetLayer, { kind: 'conv2d' }>, path: string, t: number): number {
  const inT = b.tensors[t];
  const [n, c, h, w] = inT.shape;
  if (c !== l.inChannels) throw new NetworkSpecError(`${path} (${l.name}): input has ${c} channels, the layer expects ${l.inChannels}`);
  const win = windows(h, w, l.kernel, l.stride, l.padding, `${path} (${l.name})`);
  const K = l.inChannels * l.kernel[0] * l.kernel[1];
  const weight = param(b.params, `${l.name}.weight`, l.outChannels * K);
  const bias = l.bias ? param(b.params, `${l.name}.bias`, l.outChannels) : null;
  const output = tensor(b, [n, l.outChannels, win.outH, win.outW], inT.den);
  return push(b, { kind: 'conv2d', path, input: t, output, name: l.name, inC: c, outC: l.outChannels, win, weight, bias });
}

function maxpool(b: Builder, l: Extract<NetLayer, { kind: 'maxpool' }>, path: string, t: number): number {
  const inT = b.tensors[t];
  const [n, c, h, w] = inT.shape;
  if (2 * l.padding[0] > l.kernel[0] || 2 * l.padding[1] > l.kernel[1]) {
    throw new NetworkSpecError(`${path} maxpool: padding ${l.padding.join('×')} must be at most half the kernel ${l.kernel.join('×')}`);
  }
  const win = windows(h, w, l.kernel, l.stride, l.padding, `${path} maxpool`);
  return push(b, { kind: 'maxpool', path, input: t, output: tensor(b, [n, c, win.outH, win.outW], inT.den), win });
}

function linear(b: Builder, l: Extract<NetLayer, { kind: 'linear' }>, path: string, t: number): number {
  const inT = b.tensors[t];
  const [n, c, h, w] = inT.shape;
  if (h !== 1 || w !== 1 || c !== l.inFeatures) {
    throw new NetworkSpecError(
      `${path} (${l.name}): linear needs a flat input [N, ${l.inFeatures}] (add a flatten), got ${inT.shape.join('×')}`,
    );
  }
  const weight = param(b.params, `${l.name}.weight`, l.outFeatures * l.inFeatures);
  const bias = l.bias ? param(b.params, `${l.name}.bias`, l.outFeatures) : null;
  const output = tensor(b, [n, l.outFeatures, 1, 1], inT.den);
  return push(b, { kind: 'linear', path, input: t, output, name: l.name, inF: l.inFeatures, outF: l.outFeatures, weight, bias });
}

function residual(b: Builder, l: Extract<NetLayer, { kind: 'residual' }>, path: string, t: number): number {
  const body = seq(b, l.body, `${path}.body`, t);
  const short = seq(b, l.shortcut, `${path}.shortcut`, t);
  const bs = b.tensors[body].shape;
  const ss = b.tensors[short].shape;
  if (bs.some((d, k) => d !== ss[k]))
    throw new NetworkSpecError(`${path} residual: body output ${bs.join('×')} and shortcut output ${ss.join('×')} differ`);
  const output = tensor(b, bs, lcm(b.tensors[body].den, b.tensors[short].den));
  return push(b, { kind: 'add', path, input: body, other: short, output });
}

/**
 * Compile `spec` for a batch of shape [N, C, H, W]. Throws NetworkSpecError on batch norm (see
 * BATCHNORM_UNSUPPORTED), missing or mis-sized parameters, non-finite numbers, impossible shapes.
 */
export function compileNetwork(spec: NetworkSpec, params: Params, x: ArrayLike<number>, shape: readonly number[]): Graph {
  checkInput(spec, x, shape);
  const [N, C, H, W] = shape;
  const b: Builder = { params, nodes: [], tensors: [{ shape: [N, C, H, W], size: N * C * H * W, den: 1n, producer: -1, alias: null }] };
  const output = seq(b, spec.layers, 'layers', 0);
  const uses = b.tensors.map(() => 0);
  for (const nd of b.nodes) {
    uses[nd.input]++;
    if (nd.kind === 'add') uses[nd.other]++;
  }
  uses[output]++;
  return { nodes: b.nodes, tensors: b.tensors, batch: N, output, uses };
}

export function describe(g: Graph): NodeDescription[] {
  return g.nodes.map((nd) => ({
    path: nd.path,
    kind: nd.kind,
    inputShape: g.tensors[nd.input].shape,
    outputShape: g.tensors[nd.output].shape,
    inputFrom: g.tensors[nd.input].producer < 0 ? 'input' : g.nodes[g.tensors[nd.input].producer].path,
    ...('win' in nd ? { window: { kernel: nd.win.kernel, stride: nd.win.stride, padding: nd.win.padding } } : {}),
  }));
}
