/**
 * The unfiltered reference: every activation of the network computed exactly, layer by layer, as
 * rationals n/d (n a BigInt dyadic, d a positive BigInt), with plain index arithmetic and no
 * filter, no structural ids, no memo. Slow; the properties check exactRouting against it on tiny
 * networks. It walks the model spec itself, not the compiled graph exactRouting and the oracle's
 * network values share (so a bug in compileNetwork cannot hide in both), and model specs sit
 * above the oracle: that is why this exact forward lives here rather than in src/oracle.
 */
import type { NetLayer } from '../../models/spec.ts';
import { DY_ZERO, type Dy, dyAdd, dyCmp, dyMul, dyOf, dyScale, dyShift, dySign, splitOdd } from '../../oracle/network/index.ts';
import { BATCHNORM_UNSUPPORTED, type NetworkSpec, NetworkSpecError, type Params } from './graph.ts';
import type { NetRouting, NodeRouting } from './types.ts';

/** An exact rational n/d, d > 0. */
export interface Q {
  readonly n: Dy;
  readonly d: bigint;
}

export function qAdd(a: Q, b: Q): Q {
  if (a.d === b.d) return { n: dyAdd(a.n, b.n), d: a.d };
  return { n: dyAdd(dyScale(a.n, b.d), dyScale(b.n, a.d)), d: a.d * b.d };
}

export function qCmp(a: Q, b: Q): -1 | 0 | 1 {
  return a.d === b.d ? dyCmp(a.n, b.n) : dyCmp(dyScale(a.n, b.d), dyScale(b.n, a.d));
}

function qOf(x: number): Q {
  return { n: dyOf(x), d: 1n };
}

function qMulNum(a: Q, w: number): Q {
  return { n: dyMul(a.n, dyOf(w)), d: a.d };
}

/** Divide by a positive integer k: the power of two goes into the exponent, the odd part into d. */
function qDivInt(a: Q, k: number): Q {
  const { odd, twos } = splitOdd(k);
  return { n: dyShift(a.n, -twos), d: a.d * odd };
}

interface T {
  shape: [number, number, number, number];
  v: Q[];
}

export interface BruteForceResult {
  readonly routing: NetRouting;
  /** Exact activations: 'input' and the output of every node path. */
  readonly activations: ReadonlyMap<string, { readonly shape: readonly number[]; readonly values: readonly Q[] }>;
}

function getParam(params: Params, name: string): Float64Array {
  const p = params.get(name);
  if (!p) throw new NetworkSpecError(`parameter ${name} is missing`);
  return p;
}

type Layer<K extends NetLayer['kind']> = Extract<NetLayer, { kind: K }>;

/** What one layer of the reference forward writes besides its output: the routing of MaxPool / ReLU nodes. */
type RoutingOut = Map<string, NodeRouting>;

/** Exact forward of everything (no filtering). Same paths and conventions as exactRouting. */
export function bruteForceRouting(spec: NetworkSpec, params: Params, x: ArrayLike<number>, shape: readonly number[]): BruteForceResult {
  const routing: RoutingOut = new Map();
  const acts = new Map<string, { shape: readonly number[]; values: readonly Q[] }>();
  const input: T = { shape: [shape[0], shape[1], shape[2], shape[3]], v: Array.from(x, qOf) };
  acts.set('input', { shape: input.shape, values: input.v });
  const seq = (layers: readonly NetLayer[], prefix: string, t0: T): T => {
    let t = t0;
    layers.forEach((l, li) => {
      const path = `${prefix}.${li}`;
      t = layer(l, path, t);
      acts.set(path, { shape: t.shape, values: t.v });
    });
    return t;
  };
  const layer = (l: NetLayer, path: string, t: T): T => {
    switch (l.kind) {
      case 'batchnorm2d':
        throw new NetworkSpecError(BATCHNORM_UNSUPPORTED);
      case 'conv2d':
        return conv(l, params, t);
      case 'relu':
        return relu(path, t, routing);
      case 'maxpool':
      case 'avgpool':
        return pool(l, path, t, routing);
      case 'globalavgpool':
        return globalAvg(t);
      case 'flatten':
        return { shape: [t.shape[0], t.shape[1] * t.shape[2] * t.shape[3], 1, 1], v: t.v };
      case 'linear':
        return linear(l, params, t);
      case 'residual': {
        const b = seq(l.body, `${path}.body`, t);
        const s = seq(l.shortcut, `${path}.shortcut`, t);
        return { shape: b.shape, v: b.v.map((q, i) => qAdd(q, s.v[i])) };
      }
    }
  };
  seq(spec.layers, 'layers', input);
  return { routing, activations: acts };
}

/** Output size along one axis: input n, kernel k, stride s, padding p. */
const outSize = (n: number, k: number, s: number, p: number) => Math.floor((n + 2 * p - k) / s) + 1;

function conv(l: Layer<'conv2d'>, params: Params, t: T): T {
  const [N, C, H, W] = t.shape;
  const at = (n: number, c: number, y: number, xx: number) => t.v[((n * C + c) * H + y) * W + xx];
  const w = getParam(params, `${l.name}.weight`);
  const b = l.bias ? getParam(params, `${l.name}.bias`) : null;
  const [kh, kw] = l.kernel;
  const OH = outSize(H, kh, l.stride[0], l.padding[0]);
  const OW = outSize(W, kw, l.stride[1], l.padding[1]);
  const v: Q[] = [];
  for (let n = 0; n < N; n++)
    for (let co = 0; co < l.outChannels; co++)
      for (let oy = 0; oy < OH; oy++)
        for (let ox = 0; ox < OW; ox++) {
          let s: Q = { n: DY_ZERO, d: 1n };
          if (b) s = qAdd(s, qOf(b[co]));
          for (let ci = 0; ci < C; ci++)
            for (let i = 0; i < kh; i++)
              for (let j = 0; j < kw; j++) {
                const y = oy * l.stride[0] - l.padding[0] + i;
                const xx = ox * l.stride[1] - l.padding[1] + j;
                if (y < 0 || y >= H || xx < 0 || xx >= W) continue;
                s = qAdd(s, qMulNum(at(n, ci, y, xx), w[((co * C + ci) * kh + i) * kw + j]));
              }
          v.push(s);
        }
  return { shape: [N, l.outChannels, OH, OW], v };
}

function relu(path: string, t: T, routing: RoutingOut): T {
  const sign = t.v.map((q) => dySign(q.n));
  routing.set(path, { kind: 'relu', sign: Int8Array.from(sign) });
  return { shape: t.shape, v: t.v.map((q, i) => (sign[i] > 0 ? q : { n: DY_ZERO, d: q.d })) };
}

function pool(l: Layer<'maxpool'> | Layer<'avgpool'>, path: string, t: T, routing: RoutingOut): T {
  const [N, C, H, W] = t.shape;
  const [kh, kw] = l.kernel;
  const pad = l.kind === 'maxpool' ? l.padding : ([0, 0] as const);
  const OH = outSize(H, kh, l.stride[0], pad[0]);
  const OW = outSize(W, kw, l.stride[1], pad[1]);
  const v: Q[] = [];
  const ties: number[][] = [];
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let oy = 0; oy < OH; oy++)
        for (let ox = 0; ox < OW; ox++) {
          const idx: number[] = [];
          for (let i = 0; i < kh; i++)
            for (let j = 0; j < kw; j++) {
              const y = oy * l.stride[0] - pad[0] + i;
              const xx = ox * l.stride[1] - pad[1] + j;
              if (y >= 0 && y < H && xx >= 0 && xx < W) idx.push(((n * C + c) * H + y) * W + xx);
            }
          if (l.kind === 'maxpool') {
            let m = t.v[idx[0]];
            for (const i of idx) if (qCmp(t.v[i], m) > 0) m = t.v[i];
            ties.push(idx.filter((i) => qCmp(t.v[i], m) === 0).sort((a, b) => a - b));
            v.push(m);
          } else {
            let s: Q = { n: DY_ZERO, d: 1n };
            for (const i of idx) s = qAdd(s, t.v[i]);
            v.push(qDivInt(s, kh * kw));
          }
        }
  if (l.kind === 'maxpool') routing.set(path, { kind: 'maxpool', ties });
  return { shape: [N, C, OH, OW], v };
}

function globalAvg(t: T): T {
  const [N, C, H, W] = t.shape;
  const v: Q[] = [];
  for (let p = 0; p < N * C; p++) {
    let s: Q = { n: DY_ZERO, d: 1n };
    for (let j = 0; j < H * W; j++) s = qAdd(s, t.v[p * H * W + j]);
    v.push(qDivInt(s, H * W));
  }
  return { shape: [N, C, 1, 1], v };
}

function linear(l: Layer<'linear'>, params: Params, t: T): T {
  const [N, C, H, W] = t.shape;
  const w = getParam(params, `${l.name}.weight`);
  const b = l.bias ? getParam(params, `${l.name}.bias`) : null;
  const F = C * H * W;
  const v: Q[] = [];
  for (let n = 0; n < N; n++)
    for (let o = 0; o < l.outFeatures; o++) {
      let s: Q = { n: DY_ZERO, d: 1n };
      if (b) s = qAdd(s, qOf(b[o]));
      for (let f = 0; f < F; f++) s = qAdd(s, qMulNum(t.v[n * F + f], w[o * F + f]));
      v.push(s);
    }
  return { shape: [N, l.outFeatures, 1, 1], v };
}
