/**
 * Exact routing of a whole-network evaluation (DESIGN §3): for every MaxPool window its exact tie
 * set, for every ReLU unit its exact sign, with every number (input, parameters) taken at its exact
 * value. Paths and index conventions: types.ts.
 *
 * Deciding every unit in exact arithmetic would cost BigInt work per multiply-add of the whole
 * network. Instead one pass runs node by node, and each routing unit is decided by the first of
 * three filters that can:
 *  (a) float: a float64 forward carrying a rigorous error bound per activation (bounds.ts). A ReLU
 *      sign is certain when |â| > e (with the cheap Hölder bound of a dot product, else with its
 *      own sum); a window's maximum is certain when the top entry exceeds the others by more than
 *      their bounds; activations known exactly (e = 0: inputs, exact zeros after a decided ReLU,
 *      dot products of exact zeros) compare exactly;
 *  (b) structural: every activation gets a structural id (sid) from exact interning (interner.ts)
 *      of its computation: the input's exact value; a conv output's (filter, sids of its patch);
 *      a MaxPool output's [sid of the winner] when its exact tie set is one computation, else the
 *      sids of its window; a linear output's (row, sids of the whole input vector); a
 *      residual add's pair of sids; a ReLU keeps its input's sid, except that every output of a
 *      negative pre-activation gets the constant-zero sid ZERO_SID. Within a tensor, equal sids mean
 *      identical computations on identical values: exactly equal, and the same function of θ.
 *      Equal-sid entries of a window are tied without arithmetic, and a unit whose sid was already
 *      decided exactly copies the decision. (Identical computations are also computed only once
 *      in the float pass: the background of an image costs one patch.)
 *  (c) exact: what is left is recomputed in BigInt dyadic arithmetic (dyadic.ts), only over the
 *      receptive field it needs, recursively through earlier nodes, memoised per (tensor, sid);
 *      entries with e = 0 end the recursion.
 * Decisions are taken inline, so a ReLU decided non-positive feeds an exact 0 (e = 0) onward.
 */
import { certainlyGreater, finish, gamma, inflation, twoSumError } from './bounds.ts';
import { DY_ZERO, dyCmp, dyMul, dyOf, dyScale, dyShift, dySign, dySum, ratText, type Dy } from './dyadic.ts';
import { compileNetwork, describe, type Graph, type GraphNode, type NetworkSpec, type Params } from './graph.ts';
import { Interner } from './interner.ts';

/**
 * Structural id of a ReLU output whose exact pre-activation is negative: the constant 0. Negative,
 * so it never collides with an interned id, and not −1, which patch keys use for padding (zero
 * padding in a conv, −∞ in a MaxPool: conflating the latter with 0 would be wrong).
 */
export const ZERO_SID = -2;
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

interface TState {
  val: Float64Array;
  err: Float64Array;
  sid: Int32Array;
  /** Exact numerators by sid (shared with flatten aliases). */
  memo: Map<number, Dy>;
}

interface Counter {
  float: number;
  structural: number;
  exact: number;
}

class NetworkRun {
  readonly t: TState[] = [];
  readonly ties = new Map<number, number[][]>();
  readonly signs = new Map<number, Int8Array>();
  readonly counters = new Map<number, Counter>();
  private readonly wDy = new Map<number, (Dy | undefined)[]>();
  exactEvaluations = 0;

  constructor(
    readonly g: Graph,
    x: ArrayLike<number>,
  ) {
    const size = g.tensors[0].size;
    const val = Float64Array.from(x);
    const sid = new Int32Array(size);
    const ids = new Map<number, number>();
    for (let i = 0; i < size; i++) {
      let id = ids.get(val[i]); // SameValueZero: +0 and −0 are one real value
      if (id === undefined) {
        id = ids.size;
        ids.set(val[i], id);
      }
      sid[i] = id;
    }
    this.t.push({ val, err: new Float64Array(size), sid, memo: new Map() });
  }

  run(): void {
    this.g.nodes.forEach((nd, k) => {
      const info = this.g.tensors[nd.output];
      if (info.alias !== null) {
        this.t.push(this.t[info.alias]);
        return;
      }
      const st: TState = { val: new Float64Array(info.size), err: new Float64Array(info.size), sid: new Int32Array(info.size), memo: new Map() };
      this.t.push(st);
      switch (nd.kind) {
        case 'conv2d':
          return this.conv(nd, st);
        case 'linear':
          return this.linear(nd, st);
        case 'relu':
          return this.relu(nd, k, st);
        case 'maxpool':
          return this.maxpool(nd, k, st);
        case 'avgpool':
          return this.avgpool(nd, st);
        case 'globalavgpool':
          return this.globalavgpool(nd, st);
        case 'add':
          return this.add(nd, st);
        case 'flatten':
          throw new Error('unreachable: flatten outputs are aliases');
      }
    });
  }

  // ---------------------------------------------------------------- (a)+(b): bounded float forward

  /**
   * Per-filter norms for the cheap Hölder bound: Σ_k |w_k| q_k ≤ min(‖w‖∞·Σ_k q_k, ‖w‖₁·max_k q_k).
   * ‖w‖₁ is summed in float and inflated to an upper bound (K additions of non-negative numbers).
   */
  private norms(w: Float64Array, rows: number, K: number): { inf: Float64Array; one: Float64Array } {
    const inf = new Float64Array(rows);
    const one = new Float64Array(rows);
    const c = inflation(K);
    for (let r = 0; r < rows; r++) {
      let m = 0;
      let s = 0;
      for (let k = 0; k < K; k++) {
        const a = Math.abs(w[r * K + k]);
        if (a > m) m = a;
        s += a;
      }
      inf[r] = m;
      one[r] = s * c;
    }
    return { inf, one };
  }

  /**
   * A dot product's error bound from per-patch sums (see bounds.ts): q_k = e_k + γ·|x̂_k|,
   * Σ|w_k| q_k bounded by Hölder (cheap: O(1) per output); `refine` computes the sum itself
   * for the few units whose decision needs it.
   */
  private conv(nd: Extract<GraphNode, { kind: 'conv2d' }>, out: TState): void {
    const inp = this.t[nd.input];
    const [N, C, H, W] = this.g.tensors[nd.input].shape;
    const { outH, outW, kk, map } = nd.win;
    const P = outH * outW;
    const HW = H * W;
    const Co = nd.outC;
    const K = C * kk;
    const w = nd.weight;
    const b = nd.bias;
    const { inf, one } = this.norms(w, Co, K);
    const G = gamma(K + 1);
    const c = inflation(K + 4);
    const key = new Int32Array(K);
    const pv = new Float64Array(K);
    const interner = new Interner(K * 64);
    const repN: number[] = [];
    const repPos: number[] = [];
    const { val, err, sid } = inp;
    const oval = out.val;
    const oerr = out.err;
    const osid = out.sid;
    for (let n = 0; n < N; n++) {
      for (let pos = 0; pos < P; pos++) {
        const mb = pos * kk;
        for (let ci = 0; ci < C; ci++) {
          const base = (n * C + ci) * HW;
          const kb = ci * kk;
          for (let j = 0; j < kk; j++) {
            const off = map[mb + j];
            key[kb + j] = off < 0 ? -1 : sid[base + off];
          }
        }
        const id = interner.intern(key, K);
        if (!interner.fresh) {
          // (b) identical patch: identical outputs, computed once.
          const rn = repN[id];
          const rp = repPos[id];
          for (let co = 0; co < Co; co++) {
            const o = (n * Co + co) * P + pos;
            const r = (rn * Co + co) * P + rp;
            oval[o] = oval[r];
            oerr[o] = oerr[r];
            osid[o] = osid[r];
          }
          continue;
        }
        repN.push(n);
        repPos.push(pos);
        let qSum = 0;
        let qMax = 0;
        for (let ci = 0; ci < C; ci++) {
          const base = (n * C + ci) * HW;
          const kb = ci * kk;
          for (let j = 0; j < kk; j++) {
            const off = map[mb + j];
            if (off < 0) pv[kb + j] = 0;
            else {
              const v = val[base + off];
              pv[kb + j] = v;
              const q = err[base + off] + G * Math.abs(v);
              qSum += q;
              if (q > qMax) qMax = q;
            }
          }
        }
        const exactZero = qSum === 0 && qMax === 0 && allExactZero(pv, K, err, val, map, mb, kk, C, n, HW);
        for (let co = 0; co < Co; co++) {
          const wb = co * K;
          let s = b ? b[co] : 0;
          for (let k = 0; k < K; k++) s += w[wb + k] * pv[k];
          const o = (n * Co + co) * P + pos;
          oval[o] = s;
          if (exactZero) oerr[o] = 0;
          else {
            const h1 = inf[co] * qSum;
            const h2 = one[co] * qMax;
            oerr[o] = finish((h1 < h2 ? h1 : h2) + (b ? G * Math.abs(b[co]) : 0), c);
          }
          osid[o] = id * Co + co;
        }
      }
    }
  }

  private linear(nd: Extract<GraphNode, { kind: 'linear' }>, out: TState): void {
    const inp = this.t[nd.input];
    const N = this.g.batch;
    const F = nd.inF;
    const O = nd.outF;
    const w = nd.weight;
    const b = nd.bias;
    const { inf, one } = this.norms(w, O, F);
    const G = gamma(F + 1);
    const c = inflation(F + 4);
    const interner = new Interner(F * 4);
    const rep: number[] = [];
    for (let n = 0; n < N; n++) {
      const id = interner.intern(inp.sid.subarray(n * F, (n + 1) * F), F);
      if (!interner.fresh) {
        out.val.copyWithin(n * O, rep[id] * O, rep[id] * O + O);
        out.err.copyWithin(n * O, rep[id] * O, rep[id] * O + O);
        out.sid.copyWithin(n * O, rep[id] * O, rep[id] * O + O);
        continue;
      }
      rep.push(n);
      const pv = inp.val.subarray(n * F, (n + 1) * F);
      let qSum = 0;
      let qMax = 0;
      let exactZero = true;
      for (let k = 0; k < F; k++) {
        const v = pv[k];
        const e = inp.err[n * F + k];
        const q = e + G * Math.abs(v);
        qSum += q;
        if (q > qMax) qMax = q;
        if (v !== 0 || e !== 0) exactZero = false;
      }
      for (let o = 0; o < O; o++) {
        const wb = o * F;
        let s = b ? b[o] : 0;
        for (let k = 0; k < F; k++) s += w[wb + k] * pv[k];
        out.val[n * O + o] = s;
        if (exactZero) out.err[n * O + o] = 0;
        else {
          const h1 = inf[o] * qSum;
          const h2 = one[o] * qMax;
          out.err[n * O + o] = finish((h1 < h2 ? h1 : h2) + (b ? G * Math.abs(b[o]) : 0), c);
        }
        out.sid[n * O + o] = id * O + o;
      }
    }
  }

  /**
   * Tighten the bound of unit i of tensor t when a conv / linear produced it: the dot product's
   * own Σ_k |w_k|·(e_k + γ|x̂_k|) + γ|b| instead of its Hölder bound (both rigorous). Returns
   * whether the bound got tighter.
   */
  private refine(t: number, i: number): boolean {
    const info = this.g.tensors[t];
    if (info.producer < 0 || info.alias !== null) return false;
    const nd = this.g.nodes[info.producer];
    const inp = this.t[nd.input];
    let bs = 0;
    let K: number;
    if (nd.kind === 'conv2d') {
      const [, C, H, W] = this.g.tensors[nd.input].shape;
      const { outH, outW, kk, map } = nd.win;
      const P = outH * outW;
      const pos = i % P;
      const co = Math.floor(i / P) % nd.outC;
      const n = Math.floor(i / (P * nd.outC));
      K = C * kk;
      const G = gamma(K + 1);
      if (nd.bias) bs = G * Math.abs(nd.bias[co]);
      for (let ci = 0; ci < C; ci++) {
        for (let j = 0; j < kk; j++) {
          const off = map[pos * kk + j];
          if (off < 0) continue;
          const xi = (n * C + ci) * H * W + off;
          bs += Math.abs(nd.weight[co * K + ci * kk + j]) * (inp.err[xi] + G * Math.abs(inp.val[xi]));
        }
      }
    } else if (nd.kind === 'linear') {
      const n = Math.floor(i / nd.outF);
      const o = i % nd.outF;
      K = nd.inF;
      const G = gamma(K + 1);
      if (nd.bias) bs = G * Math.abs(nd.bias[o]);
      for (let f = 0; f < K; f++) {
        const xi = n * K + f;
        bs += Math.abs(nd.weight[o * K + f]) * (inp.err[xi] + G * Math.abs(inp.val[xi]));
      }
    } else return false;
    const e = finish(bs, inflation(K + 4));
    const st = this.t[t];
    if (!(e < st.err[i])) return false;
    st.err[i] = e;
    return true;
  }

  private pooled(inp: TState, out: TState, o: number, idx: ArrayLike<number>, len: number, keyLen: number, key: Int32Array, interner: Interner, k: number, G: number, c: number): void {
    let s = 0;
    let se = 0;
    let sa = 0;
    for (let j = 0; j < len; j++) {
      const i = idx[j];
      s += inp.val[i];
      se += inp.err[i];
      sa += Math.abs(inp.val[i]);
    }
    out.val[o] = s / k;
    out.err[o] = se === 0 && sa === 0 ? 0 : finish((se + G * sa) / k, c);
    out.sid[o] = interner.intern(key, keyLen);
  }

  private avgpool(nd: Extract<GraphNode, { kind: 'avgpool' }>, out: TState): void {
    const inp = this.t[nd.input];
    const [N, C, H, W] = this.g.tensors[nd.input].shape;
    const { outH, outW, kk, map } = nd.win;
    const P = outH * outW;
    const key = new Int32Array(kk);
    const idx = new Int32Array(kk);
    const interner = new Interner(kk * 64);
    const G = gamma(kk);
    const c = inflation(kk + 4);
    for (let plane = 0; plane < N * C; plane++) {
      const base = plane * H * W;
      for (let pos = 0; pos < P; pos++) {
        let len = 0;
        for (let j = 0; j < kk; j++) {
          const off = map[pos * kk + j];
          key[j] = off < 0 ? -1 : inp.sid[base + off];
          if (off >= 0) idx[len++] = base + off;
        }
        this.pooled(inp, out, plane * P + pos, idx, len, kk, key, interner, kk, G, c);
      }
    }
  }

  private globalavgpool(nd: Extract<GraphNode, { kind: 'globalavgpool' }>, out: TState): void {
    const inp = this.t[nd.input];
    const [N, C, H, W] = this.g.tensors[nd.input].shape;
    const HW = H * W;
    const idx = new Int32Array(HW);
    const interner = new Interner(HW * 16);
    const G = gamma(HW);
    const c = inflation(HW + 4);
    for (let plane = 0; plane < N * C; plane++) {
      for (let j = 0; j < HW; j++) idx[j] = plane * HW + j;
      this.pooled(inp, out, plane, idx, HW, HW, inp.sid.subarray(plane * HW, plane * HW + HW), interner, HW, G, c);
    }
  }

  private add(nd: Extract<GraphNode, { kind: 'add' }>, out: TState): void {
    const a = this.t[nd.input];
    const b = this.t[nd.other];
    const interner = new Interner(1024);
    const key = new Int32Array(2);
    const c = inflation(4);
    for (let i = 0; i < out.val.length; i++) {
      const x = a.val[i];
      const y = b.val[i];
      const s = x + y;
      const r = twoSumError(x, y, s);
      out.val[i] = s;
      const ex = a.err[i] + b.err[i];
      out.err[i] = ex === 0 && r === 0 ? 0 : finish(ex + Math.abs(r), c);
      key[0] = a.sid[i];
      key[1] = b.sid[i];
      out.sid[i] = interner.intern(key, 2);
    }
  }

  private relu(nd: Extract<GraphNode, { kind: 'relu' }>, k: number, out: TState): void {
    const inp = this.t[nd.input];
    const n = out.val.length;
    const sign = new Int8Array(n);
    const cnt: Counter = { float: 0, structural: 0, exact: 0 };
    const decided = new Map<number, -1 | 0 | 1>();
    const { val, err, sid } = inp;
    for (let i = 0; i < n; i++) {
      const v = val[i];
      const e = err[i];
      let s: -1 | 0 | 1;
      if (e === 0) {
        s = v > 0 ? 1 : v < 0 ? -1 : 0;
        cnt.float++;
      } else if (v > e) {
        s = 1;
        cnt.float++;
      } else if (v < -e) {
        s = -1;
        cnt.float++;
      } else if (this.refine(nd.input, i) && (v > err[i] || v < -err[i])) {
        // (a) again, with the dot product's own bound instead of its Hölder bound.
        s = v > 0 ? 1 : -1;
        cnt.float++;
      } else {
        const known = decided.get(sid[i]);
        if (known !== undefined) {
          s = known;
          cnt.structural++;
        } else {
          s = dySign(this.exactAt(nd.input, i));
          decided.set(sid[i], s);
          cnt.exact++;
        }
      }
      sign[i] = s;
      if (s > 0) {
        out.val[i] = v;
        out.err[i] = err[i];
      }
      // A strictly negative pre-activation makes the output the constant 0 for its value and for
      // the parameter gradient (ReLU' = 0 there): every such unit gets the one constant-zero sid,
      // so patches that differ only in *which* negative value was clipped are identical. An input
      // exactly 0 keeps its sid: with ReLU'(0) = α ≠ 0 its gradient still depends on it.
      out.sid[i] = s < 0 ? ZERO_SID : sid[i];
    }
    this.signs.set(k, sign);
    this.counters.set(k, cnt);
  }

  private maxpool(nd: Extract<GraphNode, { kind: 'maxpool' }>, k: number, out: TState): void {
    const inp = this.t[nd.input];
    const [N, C, H, W] = this.g.tensors[nd.input].shape;
    const { outH, outW, kk, map } = nd.win;
    const P = outH * outW;
    const HW = H * W;
    const key = new Int32Array(kk);
    const interner = new Interner(kk * 256);
    const cnt: Counter = { float: 0, structural: 0, exact: 0 };
    const ties: number[][] = new Array(N * C * P);
    /** Window sid → tie pattern (positions inside the window) of windows decided exactly. */
    const patterns = new Map<number, number[]>();
    const idx: number[] = [];
    const cand = new Int32Array(kk);
    const { val, err, sid } = inp;
    for (let plane = 0; plane < N * C; plane++) {
      const base = plane * HW;
      for (let pos = 0; pos < P; pos++) {
        const o = plane * P + pos;
        idx.length = 0;
        for (let j = 0; j < kk; j++) {
          const off = map[pos * kk + j];
          key[j] = off < 0 ? -1 : sid[base + off];
          if (off >= 0) idx.push(base + off);
        }
        const wsid = interner.intern(key, kk);
        out.sid[o] = wsid;
        let T = this.decideFloat(idx, val, err, sid, cnt, cand);
        if (!T) {
          const pattern = patterns.get(wsid);
          if (pattern) {
            T = pattern.map((j) => idx[j]);
            cnt.structural++;
          } else {
            T = this.decideExact(nd.input, idx, val, err, sid);
            patterns.set(wsid, T.map((i) => idx.indexOf(i)));
            cnt.exact++;
          }
        }
        ties[o] = T;
        // Structure of the output: when every exactly tied entry is the same computation s, the
        // output *is* s (same value, same function of θ whichever entry is routed), so it gets the
        // id of the length-1 key [s] whatever the losing entries were; the window key (used above
        // to reuse tie patterns) would needlessly tell apart [A,B,B,B] and [B,A,B,B] with A the max.
        // Different computations tied exactly keep the window-specific id (conservative).
        const s0 = sid[T[0]];
        if (T.every((i) => sid[i] === s0)) {
          key[0] = s0;
          out.sid[o] = interner.intern(key, 1);
        }
        // Output: the tied entry with the smallest bound.
        let best = T[0];
        for (const i of T) if (err[i] < err[best]) best = i;
        out.val[o] = val[best];
        out.err[o] = err[best];
      }
    }
    this.ties.set(k, ties);
    this.counters.set(k, cnt);
  }

  /** Stages (a) and (b) for one window: the tie set, or null when only exact values can tell. */
  private decideFloat(idx: readonly number[], val: Float64Array, err: Float64Array, sid: Int32Array, cnt: Counter, cand: Int32Array): number[] | null {
    const len = idx.length;
    if (len === 1) {
      cnt.float++;
      return [idx[0]];
    }
    // i*: the largest lower bound (a heuristic choice; rigour comes from certainlyGreater).
    let top = idx[0];
    let topLo = val[top] - err[top];
    for (let j = 1; j < len; j++) {
      const i = idx[j];
      const lo = val[i] - err[i];
      if (lo > topLo || Number.isNaN(topLo)) {
        top = i;
        topLo = lo;
      }
    }
    const tv = val[top];
    const te = err[top];
    let nc = 0;
    for (let j = 0; j < len; j++) {
      const i = idx[j];
      if (i === top || !certainlyGreater(tv, te, val[i], err[i])) cand[nc++] = i;
    }
    if (nc === 1) {
      cnt.float++;
      return [cand[0]];
    }
    // Fast path: every candidate has the same sid (identical computations), or all are exact and equal.
    const s0 = sid[cand[0]];
    let sameSid = true;
    let sameExact = err[cand[0]] === 0;
    for (let j = 1; j < nc; j++) {
      const i = cand[j];
      if (sid[i] !== s0) sameSid = false;
      if (err[i] !== 0 || val[i] !== val[cand[0]]) sameExact = false;
    }
    const list: number[] = [];
    for (let j = 0; j < nc; j++) list.push(cand[j]);
    if (sameExact || sameSid) {
      if (sameExact) cnt.float++;
      else cnt.structural++;
      return list;
    }
    // Classes of candidates known to be exactly equal: same sid, or both exact with equal values.
    const classes = this.classes(list, val, err, sid);
    if (classes.length === 1) {
      if (classes[0].viaSid) cnt.structural++;
      else cnt.float++;
      return classes[0].members.sort((a, b) => a - b);
    }
    // Compare classes by their tightest member.
    let best = classes[0];
    for (const cl of classes) if (val[cl.rep] - err[cl.rep] > val[best.rep] - err[best.rep]) best = cl;
    const left = classes.filter((cl) => cl === best || !certainlyGreater(val[best.rep], err[best.rep], val[cl.rep], err[cl.rep]));
    if (left.length === 1) {
      if (classes.some((cl) => cl.viaSid)) cnt.structural++;
      else cnt.float++;
      return left[0].members.sort((a, b) => a - b);
    }
    return null;
  }

  private classes(cand: readonly number[], val: Float64Array, err: Float64Array, sid: Int32Array) {
    const classes: { rep: number; members: number[]; sids: number[]; exactVal: number | null; viaSid: boolean }[] = [];
    for (const i of cand) {
      const exact = err[i] === 0;
      const cl = classes.find((c) => c.sids.includes(sid[i]) || (exact && c.exactVal !== null && c.exactVal === val[i]));
      if (!cl) {
        classes.push({ rep: i, members: [i], sids: [sid[i]], exactVal: exact ? val[i] : null, viaSid: false });
        continue;
      }
      if (cl.sids.includes(sid[i])) {
        if (!exact) cl.viaSid = true;
      } else cl.sids.push(sid[i]);
      cl.members.push(i);
      if (err[i] < err[cl.rep]) cl.rep = i;
      if (exact && cl.exactVal === null) cl.exactVal = val[i];
    }
    return classes;
  }

  /** Stage (c) for one window: exact values of one member per class of the remaining candidates. */
  private decideExact(t: number, idx: readonly number[], val: Float64Array, err: Float64Array, sid: Int32Array): number[] {
    // Recompute the candidate set (cheap) and its classes, then compare representatives exactly.
    let top = idx[0];
    for (const i of idx) if (val[i] - err[i] > val[top] - err[top]) top = i;
    const cand = idx.filter((i) => i === top || !certainlyGreater(val[top], err[top], val[i], err[i]));
    const classes = this.classes(cand, val, err, sid);
    let maxV: Dy | null = null;
    let T: number[] = [];
    for (const cl of classes) {
      const v = this.exactAt(t, cl.rep);
      const c = maxV === null ? 1 : dyCmp(v, maxV);
      if (c > 0) {
        maxV = v;
        T = cl.members.slice();
      } else if (c === 0) T.push(...cl.members);
    }
    return T.sort((a, b) => a - b);
  }

  // ---------------------------------------------------------------- (c): exact values

  private weightDy(k: number, w: Float64Array, i: number): Dy {
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

  /** Exact numerator of entry i of tensor t (value = numerator / den(t)). */
  exactAt(t: number, i: number): Dy {
    const info = this.g.tensors[t];
    const st = this.t[t];
    if (st.err[i] === 0) return dyScale(dyOf(st.val[i]), info.den);
    const s = st.sid[i];
    const hit = st.memo.get(s);
    if (hit) return hit;
    const k = info.alias !== null ? this.g.tensors[info.alias].producer : info.producer;
    const r = this.compute(k, i);
    this.exactEvaluations++;
    st.memo.set(s, r);
    return r;
  }

  private compute(k: number, i: number): Dy {
    const nd = this.g.nodes[k];
    const den = this.g.tensors[nd.output].den;
    switch (nd.kind) {
      case 'conv2d': {
        const [, C, H, W] = this.g.tensors[nd.input].shape;
        const { outH, outW, kk, map } = nd.win;
        const P = outH * outW;
        const pos = i % P;
        const co = Math.floor(i / P) % nd.outC;
        const n = Math.floor(i / (P * nd.outC));
        const K = C * kk;
        const terms: Dy[] = [];
        if (nd.bias) terms.push(dyScale(dyOf(nd.bias[co]), den));
        const inp = this.t[nd.input];
        for (let ci = 0; ci < C; ci++) {
          const base = (n * C + ci) * H * W;
          for (let j = 0; j < kk; j++) {
            const off = map[pos * kk + j];
            if (off < 0) continue;
            const wi = co * K + ci * kk + j;
            if (nd.weight[wi] === 0) continue;
            const xi = base + off;
            if (inp.val[xi] === 0 && inp.err[xi] === 0) continue;
            terms.push(dyMul(this.weightDy(k, nd.weight, wi), this.exactAt(nd.input, xi)));
          }
        }
        return dySum(terms);
      }
      case 'linear': {
        const n = Math.floor(i / nd.outF);
        const o = i % nd.outF;
        const terms: Dy[] = [];
        if (nd.bias) terms.push(dyScale(dyOf(nd.bias[o]), den));
        const inp = this.t[nd.input];
        for (let f = 0; f < nd.inF; f++) {
          const wi = o * nd.inF + f;
          if (nd.weight[wi] === 0) continue;
          const xi = n * nd.inF + f;
          if (inp.val[xi] === 0 && inp.err[xi] === 0) continue;
          terms.push(dyMul(this.weightDy(k, nd.weight, wi), this.exactAt(nd.input, xi)));
        }
        return dySum(terms);
      }
      case 'relu':
        return this.signs.get(k)![i] > 0 ? this.exactAt(nd.input, i) : DY_ZERO;
      case 'maxpool':
        return this.exactAt(nd.input, this.ties.get(k)![i][0]);
      case 'avgpool': {
        const [, , H, W] = this.g.tensors[nd.input].shape;
        const { outH, outW, kk, map } = nd.win;
        const P = outH * outW;
        const pos = i % P;
        const plane = Math.floor(i / P);
        const terms: Dy[] = [];
        for (let j = 0; j < kk; j++) {
          const off = map[pos * kk + j];
          if (off >= 0) terms.push(this.exactAt(nd.input, plane * H * W + off));
        }
        return dyShift(dySum(terms), -nd.twos);
      }
      case 'globalavgpool': {
        const [, , H, W] = this.g.tensors[nd.input].shape;
        const terms: Dy[] = [];
        for (let j = 0; j < H * W; j++) terms.push(this.exactAt(nd.input, i * H * W + j));
        return dyShift(dySum(terms), -nd.twos);
      }
      case 'add': {
        const da = this.g.tensors[nd.input].den;
        const db = this.g.tensors[nd.other].den;
        return dySum([dyScale(this.exactAt(nd.input, i), den / da), dyScale(this.exactAt(nd.other, i), den / db)]);
      }
      case 'flatten':
        return this.exactAt(nd.input, i);
    }
  }
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
  const activations = new Map<string, ActivationRecord>();
  const rec = (t: number): ActivationRecord => ({ shape: g.tensors[t].shape, val: run.t[t].val, err: run.t[t].err, sid: run.t[t].sid, den: g.tensors[t].den });
  activations.set('input', rec(0));
  for (const nd of g.nodes) activations.set(nd.path, rec(nd.output));
  const byPath = new Map(g.nodes.map((nd, k) => [nd.path, k]));
  const node = (path: string) => {
    const k = byPath.get(path);
    if (k === undefined) throw new Error(`no node at path '${path}' (paths: ${[...byPath.keys()].join(', ')})`);
    return g.nodes[k];
  };
  return {
    routing,
    stats,
    totals,
    get exactEvaluations() {
      return run.exactEvaluations;
    },
    nodes: describe(g),
    activations,
    exactInputText: (path, index) => {
      const nd = node(path);
      return ratText(run.exactAt(nd.input, index), g.tensors[nd.input].den);
    },
    exactInputSign: (path, index) => {
      const nd = node(path);
      const st = run.t[nd.input];
      const v = st.val[index];
      const e = st.err[index];
      if (e === 0) return v > 0 ? 1 : v < 0 ? -1 : 0;
      if (v > e) return 1;
      if (v < -e) return -1;
      return dySign(run.exactAt(nd.input, index));
    },
    inputSid: (path, index) => run.t[node(path).input].sid[index],
    reluBefore: (path) => {
      const t = node(path).input;
      const p = g.tensors[t].producer;
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

/** Every in-bounds entry of a conv patch is an exact zero (then the output is the bias, exactly). */
function allExactZero(pv: Float64Array, K: number, err: Float64Array, val: Float64Array, map: Int32Array, mb: number, kk: number, C: number, n: number, HW: number): boolean {
  for (let k = 0; k < K; k++) if (pv[k] !== 0) return false;
  for (let ci = 0; ci < C; ci++) {
    const base = (n * C + ci) * HW;
    for (let j = 0; j < kk; j++) {
      const off = map[mb + j];
      if (off >= 0 && (err[base + off] !== 0 || val[base + off] !== 0)) return false;
    }
  }
  return true;
}
