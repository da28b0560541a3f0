/**
 * A ModelSpec compiled for exact evaluation: a flat list of nodes in forward order (residual
 * blocks unrolled into body, shortcut, add), every tensor's shape and exact denominator, and the
 * parameters checked against paramsOf (PyTorch names). Node paths: see types.ts.
 */
import { windowOutSize, type Pair } from '../../problem/index.ts';
import { windowMap } from '../../engine/windows.ts';
import { paramsOf, type ModelSpec, type NetLayer } from '../../models/spec.ts';
import { lcm, splitOdd } from './dyadic.ts';
import type { NodeDescription, Shape4 } from './types.ts';

/** What exactRouting needs of a spec: its layers, and (optionally) the input shape to check x against. */
export type NetworkSpec = Pick<ModelSpec, 'layers'> & Partial<Pick<ModelSpec, 'input' | 'name'>>;

export type Params = ReadonlyMap<string, Float64Array>;

export interface TensorInfo {
  readonly shape: Shape4;
  readonly size: number;
  /** Positive odd denominator: the exact value of entry i is numerator_i / den. */
  readonly den: bigint;
  /** Index of the producing node, −1 for the network input. */
  readonly producer: number;
  /** Flatten output: the tensor whose buffers it shares (same flat layout). */
  readonly alias: number | null;
}

/** Sliding windows: map[pos·kk + j] = offset inside one H×W plane, −1 on padding. */
export interface Windows {
  readonly kernel: Pair;
  readonly stride: Pair;
  readonly padding: Pair;
  readonly inH: number;
  readonly inW: number;
  readonly outH: number;
  readonly outW: number;
  /** kh·kw */
  readonly kk: number;
  readonly map: Int32Array;
}

interface Base {
  readonly path: string;
  readonly input: number;
  readonly output: number;
}

export type GraphNode =
  | (Base & {
      readonly kind: 'conv2d';
      readonly name: string;
      readonly inC: number;
      readonly outC: number;
      readonly win: Windows;
      readonly weight: Float64Array;
      readonly bias: Float64Array | null;
    })
  | (Base & { readonly kind: 'relu' })
  | (Base & { readonly kind: 'maxpool'; readonly win: Windows })
  | (Base & { readonly kind: 'avgpool'; readonly win: Windows; readonly odd: bigint; readonly twos: number })
  | (Base & { readonly kind: 'globalavgpool'; readonly odd: bigint; readonly twos: number })
  | (Base & { readonly kind: 'flatten' })
  | (Base & {
      readonly kind: 'linear';
      readonly name: string;
      readonly inF: number;
      readonly outF: number;
      readonly weight: Float64Array;
      readonly bias: Float64Array | null;
    })
  /** body(x) + shortcut(x): `input` is the body's output, `other` the shortcut's. */
  | (Base & { readonly kind: 'add'; readonly other: number });

export interface Graph {
  readonly nodes: readonly GraphNode[];
  readonly tensors: readonly TensorInfo[];
  readonly batch: number;
  /** The network output tensor. */
  readonly output: number;
  /** How many nodes read each tensor (the network output counts one more: the loss). */
  readonly uses: readonly number[];
}

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

/**
 * Compile `spec` for a batch of shape [N, C, H, W]. Throws NetworkSpecError on batch norm (see
 * BATCHNORM_UNSUPPORTED), missing or mis-sized parameters, non-finite numbers, impossible shapes.
 */
export function compileNetwork(spec: NetworkSpec, params: Params, x: ArrayLike<number>, shape: readonly number[]): Graph {
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

  const nodes: GraphNode[] = [];
  const tensors: TensorInfo[] = [{ shape: [N, C, H, W], size: N * C * H * W, den: 1n, producer: -1, alias: null }];
  const newTensor = (shape: Shape4, den: bigint, alias: number | null = null): number => {
    tensors.push({ shape, size: shape[0] * shape[1] * shape[2] * shape[3], den, producer: nodes.length, alias });
    return tensors.length - 1;
  };

  const seq = (layers: readonly NetLayer[], prefix: string, input: number): number => {
    let t = input;
    layers.forEach((l, i) => {
      const path = `${prefix}.${i}`;
      const inT = tensors[t];
      const [n, c, h, w] = inT.shape;
      switch (l.kind) {
        case 'batchnorm2d':
          throw new NetworkSpecError(`${path} (${l.name}): ${BATCHNORM_UNSUPPORTED}`);
        case 'conv2d': {
          if (c !== l.inChannels)
            throw new NetworkSpecError(`${path} (${l.name}): input has ${c} channels, the layer expects ${l.inChannels}`);
          const win = windows(h, w, l.kernel, l.stride, l.padding, `${path} (${l.name})`);
          const K = l.inChannels * l.kernel[0] * l.kernel[1];
          const weight = param(params, `${l.name}.weight`, l.outChannels * K);
          const bias = l.bias ? param(params, `${l.name}.bias`, l.outChannels) : null;
          const out = newTensor([n, l.outChannels, win.outH, win.outW], inT.den);
          nodes.push({ kind: 'conv2d', path, input: t, output: out, name: l.name, inC: c, outC: l.outChannels, win, weight, bias });
          t = out;
          break;
        }
        case 'relu': {
          const out = newTensor(inT.shape, inT.den);
          nodes.push({ kind: 'relu', path, input: t, output: out });
          t = out;
          break;
        }
        case 'maxpool': {
          if (2 * l.padding[0] > l.kernel[0] || 2 * l.padding[1] > l.kernel[1]) {
            throw new NetworkSpecError(
              `${path} maxpool: padding ${l.padding.join('×')} must be at most half the kernel ${l.kernel.join('×')}`,
            );
          }
          const win = windows(h, w, l.kernel, l.stride, l.padding, `${path} maxpool`);
          const out = newTensor([n, c, win.outH, win.outW], inT.den);
          nodes.push({ kind: 'maxpool', path, input: t, output: out, win });
          t = out;
          break;
        }
        case 'avgpool': {
          const win = windows(h, w, l.kernel, l.stride, [0, 0], `${path} avgpool`);
          const { odd, twos } = splitOdd(win.kk);
          const out = newTensor([n, c, win.outH, win.outW], inT.den * odd);
          nodes.push({ kind: 'avgpool', path, input: t, output: out, win, odd, twos });
          t = out;
          break;
        }
        case 'globalavgpool': {
          const { odd, twos } = splitOdd(h * w);
          const out = newTensor([n, c, 1, 1], inT.den * odd);
          nodes.push({ kind: 'globalavgpool', path, input: t, output: out, odd, twos });
          t = out;
          break;
        }
        case 'flatten': {
          const out = newTensor([n, c * h * w, 1, 1], inT.den, inT.alias ?? t);
          nodes.push({ kind: 'flatten', path, input: t, output: out });
          t = out;
          break;
        }
        case 'linear': {
          if (h !== 1 || w !== 1 || c !== l.inFeatures) {
            throw new NetworkSpecError(
              `${path} (${l.name}): linear needs a flat input [N, ${l.inFeatures}] (add a flatten), got ${inT.shape.join('×')}`,
            );
          }
          const weight = param(params, `${l.name}.weight`, l.outFeatures * l.inFeatures);
          const bias = l.bias ? param(params, `${l.name}.bias`, l.outFeatures) : null;
          const out = newTensor([n, l.outFeatures, 1, 1], inT.den);
          nodes.push({ kind: 'linear', path, input: t, output: out, name: l.name, inF: l.inFeatures, outF: l.outFeatures, weight, bias });
          t = out;
          break;
        }
        case 'residual': {
          const b = seq(l.body, `${path}.body`, t);
          const s = seq(l.shortcut, `${path}.shortcut`, t);
          const bs = tensors[b].shape;
          const ss = tensors[s].shape;
          if (bs.some((d, k) => d !== ss[k]))
            throw new NetworkSpecError(`${path} residual: body output ${bs.join('×')} and shortcut output ${ss.join('×')} differ`);
          const out = newTensor(bs, lcm(tensors[b].den, tensors[s].den));
          nodes.push({ kind: 'add', path, input: b, other: s, output: out });
          t = out;
          break;
        }
        default: {
          const never: never = l;
          throw new NetworkSpecError(`unknown layer kind ${(never as { kind: string }).kind}`);
        }
      }
    });
    return t;
  };
  const output = seq(spec.layers, 'layers', 0);
  const uses = tensors.map(() => 0);
  for (const nd of nodes) {
    uses[nd.input]++;
    if (nd.kind === 'add') uses[nd.other]++;
  }
  uses[output]++;
  return { nodes, tensors, batch: N, output, uses };
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
