/**
 * The exact value of one entry of a node's output in a compiled network (graph.ts), from the exact
 * values of the entries it reads: conv and linear Σ w·x + b, ReLU and MaxPool along the routing
 * already decided, average pools as a dyadic sum over the odd part carried in the tensor's
 * denominator, residual adds over the common denominator. Every value is a numerator over its
 * tensor's denominator (TensorInfo.den), in BigInt dyadic arithmetic (dyadic.ts), so nothing rounds.
 *
 * The caller supplies the input entries (`ExactInputs.at`), which is where it decides how to get
 * them: the filtered exact routing (zones/network/exact.ts) answers from float values known to be
 * exact, from a memo by structural id, or by asking for the producing node's entry here again.
 * Only the entries a result depends on are asked for: a zero weight skips its input entirely.
 */
import { DY_ZERO, type Dy, dyMul, dyOf, dyScale, dyShift, dySum } from './dyadic.ts';
import type { ConvNode, Graph, GraphNode, LinearNode, NodeOf } from './graph.ts';

/** Where the exact values of a node's inputs come from. */
export interface ExactInputs {
  /** Exact numerator of entry i of tensor t (the value is numerator / den(t)). */
  at(t: number, i: number): Dy;
}

/** The routing decided so far, by node index: ReLU signs and MaxPool tie sets (ascending). */
export interface DecidedRouting {
  sign(k: number): ArrayLike<number>;
  ties(k: number): readonly (readonly number[])[];
}

export class NodeValues {
  /** Exact weights by node, converted on first use (most are never needed). */
  private readonly wDy = new Map<number, (Dy | undefined)[]>();

  constructor(
    readonly g: Graph,
    readonly inputs: ExactInputs,
    readonly routing: DecidedRouting,
  ) {}

  /** Exact numerator of entry i of node k's output (over its output tensor's denominator). */
  entry(k: number, i: number): Dy {
    const nd = this.g.nodes[k];
    switch (nd.kind) {
      case 'conv2d':
        return convValue(this, k, nd, i);
      case 'linear':
        return linearValue(this, k, nd, i);
      case 'relu':
        return this.routing.sign(k)[i] > 0 ? this.inputs.at(nd.input, i) : DY_ZERO;
      case 'maxpool':
        return this.inputs.at(nd.input, this.routing.ties(k)[i][0]);
      case 'avgpool':
        return avgpoolValue(this, nd, i);
      case 'globalavgpool':
        return globalavgpoolValue(this, nd, i);
      case 'add':
        return addValue(this, nd, i);
      case 'flatten':
        return this.inputs.at(nd.input, i);
    }
  }

  /** Weight i of node k, exactly. */
  weight(k: number, w: Float64Array, i: number): Dy {
    let arr = this.wDy.get(k);
    if (!arr) {
      arr = new Array(w.length);
      this.wDy.set(k, arr);
    }
    let d = arr[i];
    if (d === undefined) {
      d = dyOf(w[i]);
      arr[i] = d;
    }
    return d;
  }
}

/** The bias of output channel c as a numerator over the output's denominator (none: no term). */
function biasTerm(v: NodeValues, nd: GraphNode, bias: Float64Array | null, c: number): Dy[] {
  return bias ? [dyScale(dyOf(bias[c]), v.g.tensors[nd.output].den)] : [];
}

function convValue(v: NodeValues, k: number, nd: ConvNode, i: number): Dy {
  const [, C, H, W] = v.g.tensors[nd.input].shape;
  const { outH, outW, kk, map } = nd.win;
  const P = outH * outW;
  const pos = i % P;
  const co = Math.floor(i / P) % nd.outC;
  const n = Math.floor(i / (P * nd.outC));
  const K = C * kk;
  const terms = biasTerm(v, nd, nd.bias, co);
  for (let ci = 0; ci < C; ci++) {
    const base = (n * C + ci) * H * W;
    for (let j = 0; j < kk; j++) {
      const off = map[pos * kk + j];
      if (off < 0) continue;
      const wi = co * K + ci * kk + j;
      if (nd.weight[wi] === 0) continue;
      const x = v.inputs.at(nd.input, base + off);
      if (x.m !== 0n) terms.push(dyMul(v.weight(k, nd.weight, wi), x));
    }
  }
  return dySum(terms);
}

function linearValue(v: NodeValues, k: number, nd: LinearNode, i: number): Dy {
  const n = Math.floor(i / nd.outF);
  const o = i % nd.outF;
  const terms = biasTerm(v, nd, nd.bias, o);
  for (let f = 0; f < nd.inF; f++) {
    const wi = o * nd.inF + f;
    if (nd.weight[wi] === 0) continue;
    const x = v.inputs.at(nd.input, n * nd.inF + f);
    if (x.m !== 0n) terms.push(dyMul(v.weight(k, nd.weight, wi), x));
  }
  return dySum(terms);
}

function avgpoolValue(v: NodeValues, nd: NodeOf<'avgpool'>, i: number): Dy {
  const [, , H, W] = v.g.tensors[nd.input].shape;
  const { outH, outW, kk, map } = nd.win;
  const P = outH * outW;
  const pos = i % P;
  const plane = Math.floor(i / P);
  const terms: Dy[] = [];
  for (let j = 0; j < kk; j++) {
    const off = map[pos * kk + j];
    if (off >= 0) terms.push(v.inputs.at(nd.input, plane * H * W + off));
  }
  return dyShift(dySum(terms), -nd.twos);
}

function globalavgpoolValue(v: NodeValues, nd: NodeOf<'globalavgpool'>, i: number): Dy {
  const [, , H, W] = v.g.tensors[nd.input].shape;
  const terms: Dy[] = [];
  for (let j = 0; j < H * W; j++) terms.push(v.inputs.at(nd.input, i * H * W + j));
  return dyShift(dySum(terms), -nd.twos);
}

function addValue(v: NodeValues, nd: NodeOf<'add'>, i: number): Dy {
  const den = v.g.tensors[nd.output].den;
  const da = v.g.tensors[nd.input].den;
  const db = v.g.tensors[nd.other].den;
  return dySum([dyScale(v.inputs.at(nd.input, i), den / da), dyScale(v.inputs.at(nd.other, i), den / db)]);
}
