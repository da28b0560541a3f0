/**
 * Exact routing of a whole-network evaluation (docs/DESIGN.md §3): for every MaxPool window its exact tie
 * set, for every ReLU unit its exact sign, with every number (input, parameters) taken at its exact
 * value. Paths and index conventions: types.ts.
 *
 * Deciding every unit in exact arithmetic would cost BigInt work per multiply-add of the whole
 * network. Instead one pass runs node by node, and each routing unit is decided by the first of
 * three filters that can:
 *  (a) float: a float64 forward carrying a rigorous error bound per activation (bounds.ts). A
 *      conv / linear layer is two dot products of the same shape on the engine's WebAssembly SIMD
 *      kernels (kernels.ts): its values in binary64, and its bounds Σ|w|·(e + γ|x̂|) + γ|b| in
 *      binary32 on operands rounded up (the JS loops compute both in binary64 when the kernels are
 *      off or decline). A ReLU sign is certain when |â| > e; a window's maximum is certain when the
 *      top entry exceeds the others by more than their bounds; activations known exactly (e = 0:
 *      inputs, exact zeros after a decided ReLU, dot products of exact zeros) compare exactly;
 *  (b) structural: every activation gets a structural id (sid) from exact interning (interner.ts)
 *      of its computation: the input's exact value; a conv output's (filter, sids of its patch);
 *      a MaxPool output's [sid of the winner] when its exact tie set is one computation, else the
 *      sids of its window (encoded 2·d(sid) and 2·id + 1: see maxpool); a linear output's (row,
 *      sids of the whole input vector); a
 *      residual add's pair of sids; a ReLU keeps its input's sid, except that every output of a
 *      negative pre-activation gets the constant-zero sid ZERO_SID (state.ts). Within a tensor, equal sids mean
 *      identical computations on identical values: exactly equal, and the same function of θ.
 *      Equal-sid entries of a window are tied without arithmetic, and a unit whose sid was already
 *      decided exactly copies the decision. (On the JS loops, identical computations are also
 *      computed only once in the float pass: the background of an image costs one patch; the
 *      kernels compute every output, faster than the dedup would save.)
 *  (c) exact: what is left is recomputed by the oracle in BigInt dyadic arithmetic
 *      (oracle/network: values.ts, dyadic.ts), only over the receptive field it needs,
 *      recursively through earlier nodes, memoised per (tensor, sid); entries with e = 0 end the
 *      recursion.
 * Decisions are taken inline, so a ReLU decided non-positive feeds an exact 0 (e = 0) onward.
 * The steps, by concern: dot.ts and patches.ts (conv, linear), pools.ts (averages, residual adds),
 * decide.ts (ReLU signs, MaxPool tie sets), state.ts (what they share); stage (c) is `exactAt` here.
 */
import { type Dy, dyOf, dyScale, dySign, type Graph, NodeValues, ratText } from '../../oracle/network/index.ts';
import { maxpoolForward, reluForward } from './decide.ts';
import { convForward, linearForward } from './dot.ts';
import { compileNetwork, describe, type NetworkSpec, type Params } from './graph.ts';
import { kernelsActive } from './kernels.ts';
import { addForward, avgpoolForward, globalavgpoolForward } from './pools.ts';
import { type Counter, emptyState, inputState, type RunContext, type TState } from './state.ts';
import type { ActivationRecord, FilterCounts, NetRouting, NodeDescription, NodeFilterStats, NodeRouting } from './types.ts';

export interface ExactRoutingResult {
  /** Exact tie sets of every MaxPool window and exact signs of every ReLU unit, by node path. */
  readonly routing: NetRouting;
  /** How many units each filter stage decided, per MaxPool / ReLU node, in forward order. */
  readonly stats: readonly NodeFilterStats[];
  readonly totals: FilterCounts;
  /** Exact values computed by stage (c) (memo misses), the size of the exact work done. */
  readonly exactEvaluations: number;
  readonly nodes: readonly NodeDescription[];
  /** The bounded float64 forward: 'input' and the output of every node path. */
  readonly activations: ReadonlyMap<string, ActivationRecord>;
  /** Exact value of entry `index` of the input of node `path`: exact decimal, or 'N/D' after odd average pools. */
  exactInputText(path: string, index: number): string;
  /** Exact sign of entry `index` of the input of node `path`. */
  exactInputSign(path: string, index: number): -1 | 0 | 1;
  /** Structural id of entry `index` of the input of node `path` (equal ids ⇒ identical computations). */
  inputSid(path: string, index: number): number;
  /** Path of the ReLU node whose output is exactly this node's input, or null. */
  reluBefore(path: string): string | null;
  /** The node reading this node's output when it is the only reader (the loss counts as a reader), or null. */
  onlyReader(path: string): { readonly path: string; readonly kind: NodeDescription['kind'] } | null;
}

/** One pass over the nodes in forward order, each step deciding its routing units inline (see the header). */
class NetworkRun implements RunContext {
  readonly t: TState[] = [];
  readonly ties = new Map<number, number[][]>();
  readonly signs = new Map<number, Int8Array>();
  readonly counters = new Map<number, Counter>();
  readonly kernels = kernelsActive();
  /** Exact values computed by stage (c) (memo misses). */
  exactEvaluations = 0;
  private readonly values: NodeValues;

  constructor(
    readonly g: Graph,
    x: ArrayLike<number>,
  ) {
    this.t.push(inputState(g.tensors[0].size, x));
    this.values = new NodeValues(
      g,
      { at: (t, i) => this.exactAt(t, i) },
      { sign: (k) => this.signs.get(k)!, ties: (k) => this.ties.get(k)! },
    );
  }

  run(): void {
    this.g.nodes.forEach((nd, k) => {
      const info = this.g.tensors[nd.output];
      if (info.alias !== null) {
        this.t.push(this.t[info.alias]);
        return;
      }
      const st = emptyState(info.size);
      this.t.push(st);
      forwardStep(this, nd, k, st);
    });
  }

  /**
   * Stage (c): the exact numerator of entry i of tensor t (value = numerator / den(t)). Entries
   * with e = 0 are their float value; others are memoised by sid (equal sids: equal values) and
   * computed by the oracle from the producing node's inputs, which come back here.
   */
  exactAt(t: number, i: number): Dy {
    const info = this.g.tensors[t];
    const st = this.t[t];
    if (st.err[i] === 0) return dyScale(dyOf(st.val[i]), info.den);
    const s = st.sid[i];
    const hit = st.memo.get(s);
    if (hit) return hit;
    const k = info.alias !== null ? this.g.tensors[info.alias].producer : info.producer;
    const r = this.values.entry(k, i);
    this.exactEvaluations++;
    st.memo.set(s, r);
    return r;
  }
}

/** One node of the forward: its values, bounds and sids, and the routing it decides. */
function forwardStep(run: NetworkRun, nd: Graph['nodes'][number], k: number, st: TState): void {
  switch (nd.kind) {
    case 'conv2d':
      convForward(run, nd, st);
      break;
    case 'linear':
      linearForward(run, nd, st);
      break;
    case 'relu':
      reluForward(run, nd, k, st);
      break;
    case 'maxpool':
      maxpoolForward(run, nd, k, st);
      break;
    case 'avgpool':
      avgpoolForward(run, nd, st);
      break;
    case 'globalavgpool':
      globalavgpoolForward(run, nd, st);
      break;
    case 'add':
      addForward(run, nd, st);
      break;
    case 'flatten':
      throw new Error('unreachable: flatten outputs are aliases');
  }
}

/** Exact sign of entry i of tensor t: from the bounds when they decide it, else exactly. */
function exactSign(run: NetworkRun, t: number, i: number): -1 | 0 | 1 {
  const st = run.t[t];
  const v = st.val[i];
  const e = st.err[i];
  if (e === 0) return v > 0 ? 1 : v < 0 ? -1 : 0;
  if (v > e) return 1;
  if (v < -e) return -1;
  return dySign(run.exactAt(t, i));
}

/** The routing and filter statistics of every MaxPool / ReLU node, in forward order. */
function collectRouting(g: Graph, run: NetworkRun): { routing: Map<string, NodeRouting>; stats: NodeFilterStats[]; totals: FilterCounts } {
  const routing = new Map<string, NodeRouting>();
  const stats: NodeFilterStats[] = [];
  const totals = { units: 0, float: 0, structural: 0, exact: 0 };
  g.nodes.forEach((nd, k) => {
    if (nd.kind !== 'maxpool' && nd.kind !== 'relu') return;
    const c = run.counters.get(k)!;
    const units = c.float + c.structural + c.exact;
    stats.push({ node: nd.path, kind: nd.kind, units, ...c });
    totals.units += units;
    totals.float += c.float;
    totals.structural += c.structural;
    totals.exact += c.exact;
    routing.set(nd.path, nd.kind === 'maxpool' ? { kind: 'maxpool', ties: run.ties.get(k)! } : { kind: 'relu', sign: run.signs.get(k)! });
  });
  return { routing, stats, totals };
}

/** The bounded float forward by node path ('input' for the network input). */
function activationRecords(g: Graph, run: NetworkRun): Map<string, ActivationRecord> {
  const rec = (t: number): ActivationRecord => ({
    shape: g.tensors[t].shape,
    val: run.t[t].val,
    err: run.t[t].err,
    sid: run.t[t].sid,
    den: g.tensors[t].den,
  });
  const activations = new Map<string, ActivationRecord>();
  activations.set('input', rec(0));
  for (const nd of g.nodes) activations.set(nd.path, rec(nd.output));
  return activations;
}

/** The node at `path`; throws naming the paths there are. */
function nodeFinder(g: Graph): (path: string) => Graph['nodes'][number] {
  const byPath = new Map(g.nodes.map((nd, k) => [nd.path, k]));
  return (path) => {
    const k = byPath.get(path);
    if (k === undefined) throw new Error(`no node at path '${path}' (paths: ${[...byPath.keys()].join(', ')})`);
    return g.nodes[k];
  };
}

/**
 * The exact routing of the real computation of `spec` on the batch `x` (NCHW, `shape` [N, C, H, W])
 * with parameters `params` (PyTorch names, as paramsOf), every number at its exact value.
 * Throws NetworkSpecError for batch norm (not exactly computable: use the estimator), missing
 * parameters, non-finite numbers or impossible shapes.
 */
export function exactRouting(spec: NetworkSpec, params: Params, x: ArrayLike<number>, shape: readonly number[]): ExactRoutingResult {
  const g = compileNetwork(spec, params, x, shape);
  const run = new NetworkRun(g, x);
  run.run();
  const node = nodeFinder(g);
  return {
    ...collectRouting(g, run),
    get exactEvaluations() {
      return run.exactEvaluations;
    },
    nodes: describe(g),
    activations: activationRecords(g, run),
    exactInputText: (path, index) => {
      const nd = node(path);
      return ratText(run.exactAt(nd.input, index), g.tensors[nd.input].den);
    },
    exactInputSign: (path, index) => exactSign(run, node(path).input, index),
    inputSid: (path, index) => run.t[node(path).input].sid[index],
    reluBefore: (path) => {
      const p = g.tensors[node(path).input].producer;
      return p >= 0 && g.nodes[p].kind === 'relu' ? g.nodes[p].path : null;
    },
    onlyReader: (path) => {
      const t = node(path).output;
      if (g.uses[t] !== 1) return null;
      const reader = g.nodes.find((nd) => nd.input === t || (nd.kind === 'add' && nd.other === t));
      return reader ? { path: reader.path, kind: reader.kind } : null;
    },
  };
}
