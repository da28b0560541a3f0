/**
 * Float forwards of a whole network, and routings read off float values:
 * - plainForward: a plain float64 forward (the baseline the exact routing's cost is measured against);
 * - simulateForward: a reference forward in precision p that rounds every operation to p (inputs and
 *   parameters first, then every product and every addition of a dot product in order, every
 *   average, every residual add), giving the routing that precision produces and the values of
 *   every MaxPool / ReLU input in p (what classifyNetwork reports as rounded values);
 * - routingFromValues: the routing implied by node-input values (maxpool: the entries equal to the
 *   window max, a window with NaN routes to its first NaN; relu: the sign, NaN counts as −1);
 * - routingFromDecisions: a backend's decision list in forward order (e.g. the engine's
 *   NetGradients.decisions, whose paths follow PyTorch naming) aligned with this module's paths.
 */

import type { ConvNode, Graph, GraphNode, LinearNode, NodeOf } from '../../oracle/network/index.ts';
import { type Format, formatByName, round } from '../../precision/index.ts';
import { compileNetwork, describe, type NetworkSpec, type Params, windows } from './graph.ts';
import type { NetRouting, NodeDescription, NodeRouting } from './types.ts';

export interface FloatForward {
  /** Output of the last node, NCHW flat. */
  readonly output: Float64Array;
  /** The input values of every MaxPool and ReLU node, by node path. */
  readonly inputs: ReadonlyMap<string, Float64Array>;
}

type Round = ((v: number) => number) | null;

function forward(g: Graph, x: ArrayLike<number>, rnd: Round, params: (w: Float64Array) => Float64Array): FloatForward {
  const vals: Float64Array[] = [rnd ? Float64Array.from(x, rnd) : Float64Array.from(x)];
  const inputs = new Map<string, Float64Array>();
  for (const nd of g.nodes) {
    const inp = vals[nd.input];
    if (nd.kind === 'relu' || nd.kind === 'maxpool') inputs.set(nd.path, inp);
    vals.push(layerForward(g, nd, inp, vals, rnd, params));
  }
  return { output: vals[g.output], inputs };
}

function layerForward(
  g: Graph,
  nd: GraphNode,
  inp: Float64Array,
  vals: readonly Float64Array[],
  rnd: Round,
  params: (w: Float64Array) => Float64Array,
): Float64Array {
  switch (nd.kind) {
    case 'conv2d':
    case 'linear':
      return dotForward(g, nd, inp, rnd, params);
    case 'relu':
      return inp.map((v) => Math.max(v, 0));
    case 'maxpool':
    case 'avgpool':
      return poolForward(g, nd, inp, rnd);
    case 'globalavgpool':
      return globalAvgForward(g, nd, inp, rnd);
    case 'flatten':
      return inp;
    case 'add': {
      const o = vals[nd.other];
      return rnd ? inp.map((v, i) => rnd(v + o[i])) : inp.map((v, i) => v + o[i]);
    }
  }
}

/** A conv or linear layer: every output a dot product summed from the bias, in (c, i, j) order. */
function dotForward(g: Graph, nd: ConvNode | LinearNode, inp: Float64Array, rnd: Round, params: (w: Float64Array) => Float64Array) {
  const [, C, H, W] = g.tensors[nd.input].shape;
  const conv = nd.kind === 'conv2d';
  const N = g.batch;
  const kk = conv ? nd.win.kk : 1;
  const P = conv ? nd.win.outH * nd.win.outW : 1;
  const K = conv ? C * kk : nd.inF;
  const Co = conv ? nd.outC : nd.outF;
  const w = params(nd.weight);
  const b = nd.bias ? params(nd.bias) : null;
  const patch = new Float64Array(K);
  const out = new Float64Array(g.tensors[nd.output].size);
  for (let n = 0; n < N; n++) {
    for (let pos = 0; pos < P; pos++) {
      if (conv) {
        const map = nd.win.map;
        for (let ci = 0; ci < C; ci++) {
          const base = (n * C + ci) * H * W;
          for (let j = 0; j < kk; j++) {
            const off = map[pos * kk + j];
            patch[ci * kk + j] = off < 0 ? 0 : inp[base + off];
          }
        }
      } else patch.set(inp.subarray(n * K, n * K + K));
      for (let co = 0; co < Co; co++) {
        const wb = co * K;
        let s = b ? b[co] : 0;
        if (rnd) for (let k = 0; k < K; k++) s = rnd(s + rnd(w[wb + k] * patch[k]));
        else for (let k = 0; k < K; k++) s += w[wb + k] * patch[k];
        out[(n * Co + co) * P + pos] = s;
      }
    }
  }
  return out;
}

/** A MaxPool (NaN wins its window) or average pool (summed in window order, then divided). */
function poolForward(g: Graph, nd: NodeOf<'maxpool'> | NodeOf<'avgpool'>, inp: Float64Array, rnd: Round): Float64Array {
  const info = g.tensors[nd.output];
  const [, C, H, W] = g.tensors[nd.input].shape;
  const { outH, outW, kk, map } = nd.win;
  const P = outH * outW;
  const out = new Float64Array(info.size);
  for (let plane = 0; plane < info.shape[0] * C; plane++) {
    const base = plane * H * W;
    for (let pos = 0; pos < P; pos++) {
      let acc = nd.kind === 'maxpool' ? -Infinity : 0;
      let nan = false;
      for (let j = 0; j < kk; j++) {
        const off = map[pos * kk + j];
        if (off < 0) continue;
        const v = inp[base + off];
        if (nd.kind === 'maxpool') {
          if (Number.isNaN(v)) nan = true;
          else if (v > acc) acc = v;
        } else acc = rnd ? rnd(acc + v) : acc + v;
      }
      out[plane * P + pos] = nd.kind === 'maxpool' ? (nan ? NaN : acc) : rnd ? rnd(acc / kk) : acc / kk;
    }
  }
  return out;
}

function globalAvgForward(g: Graph, nd: NodeOf<'globalavgpool'>, inp: Float64Array, rnd: Round): Float64Array {
  const info = g.tensors[nd.output];
  const [, , H, W] = g.tensors[nd.input].shape;
  const out = new Float64Array(info.size);
  for (let plane = 0; plane < info.size; plane++) {
    let acc = 0;
    for (let j = 0; j < H * W; j++) acc = rnd ? rnd(acc + inp[plane * H * W + j]) : acc + inp[plane * H * W + j];
    out[plane] = rnd ? rnd(acc / (H * W)) : acc / (H * W);
  }
  return out;
}

/** A plain float64 forward (no bounds, no rounding to another format). */
export function plainForward(spec: NetworkSpec, params: Params, x: ArrayLike<number>, shape: readonly number[]): FloatForward {
  return forward(compileNetwork(spec, params, x, shape), x, null, (w) => w);
}

/**
 * A reference forward in precision `format` (a Format or its name: '16', '32', '64', 'bf16', …),
 * rounding every operation (see the header), with the routing it produces.
 */
export function simulateForward(
  spec: NetworkSpec,
  params: Params,
  x: ArrayLike<number>,
  shape: readonly number[],
  format: Format | string,
): FloatForward & { readonly routing: NetRouting } {
  const f = typeof format === 'string' ? formatByName(format) : format;
  const g = compileNetwork(spec, params, x, shape);
  const rnd = f.name === '64' ? null : (v: number) => round(f, v);
  const fwd = forward(g, x, rnd, (w) => (rnd ? w.map(rnd) : w));
  return { ...fwd, routing: routingFromValues(describe(g), fwd.inputs) };
}

/**
 * The routing implied by the input values of every MaxPool and ReLU node (by path), e.g. the
 * activations a framework returns. `nodes` are the exact result's node descriptions.
 */
export function routingFromValues(nodes: readonly NodeDescription[], inputs: ReadonlyMap<string, ArrayLike<number>>): NetRouting {
  const routing = new Map<string, NodeRouting>();
  nodes.forEach((nd) => {
    if (nd.kind !== 'maxpool' && nd.kind !== 'relu') return;
    const x = inputs.get(nd.path);
    if (!x) throw new Error(`routingFromValues: no input values for node ${nd.path}`);
    if (nd.kind === 'relu') {
      const sign = new Int8Array(x.length);
      for (let i = 0; i < x.length; i++) sign[i] = x[i] > 0 ? 1 : x[i] === 0 ? 0 : -1;
      routing.set(nd.path, { kind: 'relu', sign });
      return;
    }
    const [, C, H, W] = nd.inputShape;
    const N = nd.outputShape[0];
    if (!nd.window) throw new Error(`routingFromValues: maxpool node ${nd.path} has no window geometry`);
    const { map, kk } = windows(H, W, nd.window.kernel, nd.window.stride, nd.window.padding, nd.path);
    const P = nd.outputShape[2] * nd.outputShape[3];
    const ties: number[][] = [];
    for (let plane = 0; plane < N * C; plane++) {
      const base = plane * H * W;
      for (let pos = 0; pos < P; pos++) {
        const idx: number[] = [];
        for (let j = 0; j < kk; j++) {
          const off = map[pos * kk + j];
          if (off >= 0) idx.push(base + off);
        }
        const nan = idx.find((i) => Number.isNaN(x[i]));
        if (nan !== undefined) {
          ties.push([nan]);
          continue;
        }
        let m = -Infinity;
        for (const i of idx) if (x[i] > m) m = x[i];
        ties.push(idx.filter((i) => x[i] === m));
      }
    }
    routing.set(nd.path, { kind: 'maxpool', ties });
  });
  return routing;
}

/** A routing decision as a backend lists it: tie sets as arrays or as offsets/indices (the engine's TieSets). */
export type DecisionLike =
  | {
      readonly kind: 'maxpool';
      readonly ties: readonly (readonly number[])[] | { readonly offsets: ArrayLike<number>; readonly indices: ArrayLike<number> };
    }
  | { readonly kind: 'relu'; readonly sign: ArrayLike<number> };

/**
 * Align a list of routing decisions in forward order (MaxPool and ReLU nodes, residual body before
 * shortcut) with the node paths of `nodes` (an exact result's `nodes`). Throws when the kinds or
 * sizes do not line up.
 */
export function routingFromDecisions(nodes: readonly NodeDescription[], decisions: readonly DecisionLike[]): NetRouting {
  const routed = nodes.filter((nd) => nd.kind === 'maxpool' || nd.kind === 'relu');
  if (routed.length !== decisions.length)
    throw new Error(`routingFromDecisions: ${decisions.length} decisions for ${routed.length} MaxPool/ReLU nodes`);
  const routing = new Map<string, NodeRouting>();
  routed.forEach((nd, i) => {
    const d = decisions[i];
    if (d.kind !== nd.kind) throw new Error(`routingFromDecisions: decision ${i} is ${d.kind}, node ${nd.path} is ${nd.kind}`);
    const size = (s: readonly number[]) => s[0] * s[1] * s[2] * s[3];
    if (d.kind === 'relu') {
      if (d.sign.length !== size(nd.inputShape))
        throw new Error(`routingFromDecisions: ${nd.path} has ${size(nd.inputShape)} units, decision ${i} ${d.sign.length}`);
      routing.set(nd.path, { kind: 'relu', sign: d.sign });
      return;
    }
    let ties: (readonly number[])[];
    if (Array.isArray(d.ties)) ties = d.ties as (readonly number[])[];
    else {
      const { offsets, indices } = d.ties as { readonly offsets: ArrayLike<number>; readonly indices: ArrayLike<number> };
      ties = [];
      for (let o = 0; o + 1 < offsets.length; o++)
        ties.push(Array.from({ length: offsets[o + 1] - offsets[o] }, (_, j) => indices[offsets[o] + j]));
    }
    if (ties.length !== size(nd.outputShape))
      throw new Error(`routingFromDecisions: ${nd.path} has ${size(nd.outputShape)} windows, decision ${i} ${ties.length}`);
    routing.set(nd.path, { kind: 'maxpool', ties });
  });
  return routing;
}
