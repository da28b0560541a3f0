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
class Builder {
  readonly nodes: GraphNode[] = [];
  readonly tensors: TensorInfo[];

  constructor(
    readonly params: Params,
    input: Shape4,
  ) {
    this.tensors = [{ shape: input, size: input[0] * input[1] * input[2] * input[3], den: 1n, producer: -1, alias: null }];
  }

  /** A new tensor produced by the next node pushed. */
  tensor(shape: Shape4, den: bigint, alias: number | null = null): number {
    this.tensors.push({ shape, size: shape[0] * shape[1] * shape[2] * shape[3], den, producer: this.nodes.length, alias });
    return this.tensors.length - 1;
  }

  /** The layers of one sequence, in order, from tensor `input`; returns the last output tensor. */
  seq(layers: readonly NetLayer[], prefix: string, input: number): number {
    let t = input;
    layers.forEach((l, i) => {
      t = this.layer(l, `${prefix}.${i}`, t);
    });
    return t;
  }

  private layer(l: NetLayer, path: string, t: number): number {
    const inT = this.tensors[t];
    const [n, c, h, w] = inT.shape;
    switch (l.kind) {
      case 'batchnorm2d':
        throw new NetworkSpecError(`${path} (${l.name}): ${BATCHNORM_UNSUPPORTED}`);
      case 'conv2d':
        return this.conv(l, path, t);
      case 'relu':
        return this.push({ kind: 'relu', path, input: t, output: this.tensor(inT.shape, inT.den) });
      case 'maxpool':
        return this.maxpool(l, path, t);
      case 'avgpool': {
        const win = windows(h, w, l.kernel, l.stride, [0, 0], `${path} avgpool`);
        const { odd, twos } = splitOdd(win.kk);
        const output = this.tensor([n, c, win.outH, win.outW], inT.den * odd);
        return this.push({ kind: 'avgpool', path, input: t, output, win, odd, twos });
      }
      case 'globalavgpool': {
        const { odd, twos } = splitOdd(h * w);
        return this.push({ kind: 'globalavgpool', path, input: t, output: this.tensor([n, c, 1, 1], inT.den * odd), odd, twos });
      }
      case 'flatten':
        return this.push({ kind: 'flatten', path, input: t, output: this.tensor([n, c * h * w, 1, 1], inT.den, inT.alias ?? t) });
      case 'linear':
        return this.linear(l, path, t);
      case 'residual':
        return this.residual(l, path, t);
      default: {
        const never: never = l;
        throw new NetworkSpecError(`unknown layer kind ${(never as { kind: string }).kind}`);
      }
    }
  }

  private push(nd: GraphNode): number {
    this.nodes.push(nd);
    return nd.output;
  }

  private conv(l: Extract<NetLayer, { kind: 'conv2d' }>, path: string, t: number): number {
    const inT = this.tensors[t];
    const [n, c, h, w] = inT.shape;
    if (c !== l.inChannels) throw new NetworkSpecError(`${path} (${l.name}): input has ${c} channels, the layer expects ${l.inChannels}`);
    const win = windows(h, w, l.kernel, l.stride, l.padding, `${path} (${l.name})`);
    const K = l.inChannels * l.kernel[0] * l.kernel[1];
    const weight = param(this.params, `${l.name}.weight`, l.outChannels * K);
    const bias = l.bias ? param(this.params, `${l.name}.bias`, l.outChannels) : null;
    const output = this.tensor([n, l.outChannels, win.outH, win.outW], inT.den);
    return this.push({ kind: 'conv2d', path, input: t, output, name: l.name, inC: c, outC: l.outChannels, win, weight, bias });
  }

  private maxpool(l: Extract<NetLayer, { kind: 'maxpool' }>, path: string, t: number): number {
    const inT = this.tensors[t];
    const [n, c, h, w] = inT.shape;
    if (2 * l.padding[0] > l.kernel[0] || 2 * l.padding[1] > l.kernel[1]) {
      throw new NetworkSpecError(`${path} maxpool: padding ${l.padding.join('×')} must be at most half the kernel ${l.kernel.join('×')}`);
    }
    const win = windows(h, w, l.kernel, l.stride, l.padding, `${path} maxpool`);
    return this.push({ kind: 'maxpool', path, input: t, output: this.tensor([n, c, win.outH, win.outW], inT.den), win });
  }

  private linear(l: Extract<NetLayer, { kind: 'linear' }>, path: string, t: number): number {
    const inT = this.tensors[t];
    const [n, c, h, w] = inT.shape;
    if (h !== 1 || w !== 1 || c !== l.inFeatures) {
      throw new NetworkSpecError(
        `${path} (${l.name}): linear needs a flat input [N, ${l.inFeatures}] (add a flatten), got ${inT.shape.join('×')}`,
      );
    }
    const weight = param(this.params, `${l.name}.weight`, l.outFeatures * l.inFeatures);
    const bias = l.bias ? param(this.params, `${l.name}.bias`, l.outFeatures) : null;
    const output = this.tensor([n, l.outFeatures, 1, 1], inT.den);
    return this.push({ kind: 'linear', path, input: t, output, name: l.name, inF: l.inFeatures, outF: l.outFeatures, weight, bias });
  }

  private residual(l: Extract<NetLayer, { kind: 'residual' }>, path: string, t: number): number {
    const b = this.seq(l.body, `${path}.body`, t);
    const s = this.seq(l.shortcut, `${path}.shortcut`, t);
    const bs = this.tensors[b].shape;
    const ss = this.tensors[s].shape;
    if (bs.some((d, k) => d !== ss[k]))
      throw new NetworkSpecError(`${path} residual: body output ${bs.join('×')} and shortcut output ${ss.join('×')} differ`);
    return this.push({ kind: 'add', path, input: b, other: s, output: this.tensor(bs, lcm(this.tensors[b].den, this.tensors[s].den)) });
  }
}

/**
 * Compile `spec` for a batch of shape [N, C, H, W]. Throws NetworkSpecError on batch norm (see
 * BATCHNORM_UNSUPPORTED), missing or mis-sized parameters, non-finite numbers, impossible shapes.
 */
export function compileNetwork(spec: NetworkSpec, params: Params, x: ArrayLike<number>, shape: readonly number[]): Graph {
  checkInput(spec, x, shape);
  const [N, C, H, W] = shape;
  const b = new Builder(params, [N, C, H, W]);
  const output = b.seq(spec.layers, 'layers', 0);
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
