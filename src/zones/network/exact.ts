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
 *      negative pre-activation gets the constant-zero sid ZERO_SID. Within a tensor, equal sids mean
 *      identical computations on identical values: exactly equal, and the same function of θ.
 *      Equal-sid entries of a window are tied without arithmetic, and a unit whose sid was already
 *      decided exactly copies the decision. (On the JS loops, identical computations are also
 *      computed only once in the float pass: the background of an image costs one patch; the
 *      kernels compute every output, faster than the dedup would save.)
 *  (c) exact: what is left is recomputed in BigInt dyadic arithmetic (dyadic.ts), only over the
 *      receptive field it needs, recursively through earlier nodes, memoised per (tensor, sid);
 *      entries with e = 0 end the recursion.
 * Decisions are taken inline, so a ReLU decided non-positive feeds an exact 0 (e = 0) onward.
 */
import {
  certainlyGreater,
  finish,
  gamma,
  inflation,
  inflation32,
  SLACK,
  SUBNORMAL_RISK,
  TINY,
  TINY32,
  twoSumError,
  up32,
  UP32_FLOOR,
  UP32_SCALE,
} from './bounds.ts';
import { DY_ZERO, dyCmp, dyMul, dyOf, dyScale, dyShift, dySign, dySum, ratText, type Dy } from './dyadic.ts';
import { compileNetwork, describe, type Graph, type GraphNode, type NetworkSpec, type Params } from './graph.ts';
import { Interner, recycleInt32, takeInt32 } from './interner.ts';
import { forwardPair, kernelsActive, scratchFor, type ForwardPair } from './kernels.ts';

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

/** The conv patches of one layer (NetworkRun.convPatches). */
interface Patches {
  /** Patch id of every (n, pos), n·P + pos. */
  readonly id: Int32Array;
  /** By patch id: 1 when every in-bounds entry is an exact zero (the output is the bias, exactly). */
  readonly zero: Uint8Array;
  /** By patch id: its first (n·P + pos). */
  readonly rep: readonly number[];
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
  /** Whether the engine's WebAssembly kernels compute the dot products (else the JS loops). */
  private readonly kernels = kernelsActive();

  constructor(
    readonly g: Graph,
    x: ArrayLike<number>,
  ) {
    const size = g.tensors[0].size;
    const val = Float64Array.from(x);
    const sid = new Int32Array(size);
    const ids = new Map<number, number>();
    let last = NaN; // inputs are finite: never equal to the first value
    let lastId = -1;
    for (let i = 0; i < size; i++) {
      const v = val[i];
      if (v === last) {
        // === like SameValueZero: +0 and −0 are one real value
        sid[i] = lastId;
        continue;
      }
      let id = ids.get(v); // SameValueZero
      if (id === undefined) {
        id = ids.size;
        ids.set(v, id);
      }
      sid[i] = id;
      last = v;
      lastId = id;
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
      const st: TState = {
        val: new Float64Array(info.size),
        err: new Float64Array(info.size),
        sid: new Int32Array(info.size),
        memo: new Map(),
      };
      this.t.push(st);
      switch (nd.kind) {
        case 'conv2d':
          this.conv(nd, st);
          return;
        case 'linear':
          this.linear(nd, st);
          return;
        case 'relu':
          this.relu(nd, k, st);
          return;
        case 'maxpool':
          this.maxpool(nd, k, st);
          return;
        case 'avgpool':
          this.avgpool(nd, st);
          return;
        case 'globalavgpool':
          this.globalavgpool(nd, st);
          return;
        case 'add':
          this.add(nd, st);
          return;
        case 'flatten':
          throw new Error('unreachable: flatten outputs are aliases');
      }
    });
  }

  // ---------------------------------------------------------------- (a)+(b): bounded float forward

  /**
   * A conv layer: (b) the structural id of every output, from the exact interning of its patch of
   * input sids (`convPatches`); (a) the values, and the bounds as a second dot product
   * Σ_k |w_k|·q_k + γ|b| with q_k = e_k + γ|x̂_k| (bounds.ts), on the engine's SIMD kernels (every
   * output summed on its own, the values in binary64, the bound sums in binary32 on operands
   * rounded up; the bound holds for any summation order), or both in binary64 on the JS loops
   * (`convJs`) when the kernels are off or decline, computed once per distinct patch.
   */
  private conv(nd: Extract<GraphNode, { kind: 'conv2d' }>, out: TState): void {
    const inp = this.t[nd.input];
    const [N, C, H, W] = this.g.tensors[nd.input].shape;
    const { outH, outW, kk, kernel, stride, padding } = nd.win;
    const P = outH * outW;
    const Co = nd.outC;
    const K = C * kk;
    const G = gamma(K + 1);
    const c = inflation(K + 4);
    const pt = this.convPatches(nd, inp);
    const osid = out.sid;
    for (let n = 0; n < N; n++) {
      for (let co = 0; co < Co; co++) {
        const ob = (n * Co + co) * P;
        for (let pos = 0; pos < P; pos++) osid[ob + pos] = pt.id[n * P + pos] * Co + co;
      }
    }
    const [KH, KW] = kernel;
    const [sh, sw] = stride;
    const [ph, pw] = padding;
    const w = nd.weight;
    const b = nd.bias;
    const nb = b ? b.length : 0;
    const pair =
      this.kernels && K < KERNEL_MAX_TERMS
        ? forwardPair(
            inp.val.length,
            w.length,
            nb,
            out.val.length,
            scratchFor(N * C * (H + 2 * ph) * (W + 2 * pw) + K * (Co + 4)),
            (v) => fillOperands(v, inp, w, b, G),
            (k, kind, x, wp, bp, y, sc) => k.convFwd(kind, 0, N, C, H, W, Co, KH, KW, sh, sw, ph, pw, outH, outW, x, wp, bp, y, sc),
          )
        : null;
    let bnd: Float64Array;
    if (pair) {
      out.val.set(pair.val);
      bnd = pair.bnd;
    } else {
      bnd = new Float64Array(out.val.length);
      convJs(nd, inp.val, qArray(inp, G), absArray(w), b ? scaledAbs(b, G) : null, C, H * W, pt, Co, P, K, out.val, bnd);
    }
    // The bound sums were computed in binary32 (kernel) or binary64 (JS loops): inflate accordingly.
    if (pair) convErr(bnd, inflation32(K), TINY32, pt, out.err, N, Co, P);
    else convErr(bnd, c, TINY, pt, out.err, N, Co, P);
  }

  /**
   * Exact interning of the conv patches: id[n·P + pos] = the patch's id (equal ids ⇔ equal keys of
   * input sids, −1 on padding, in (c, i, j) order; ids in order of first occurrence), rep[id] = its
   * first occurrence, zero[id] = 1 when every in-bounds entry is an exact zero. Two levels, both
   * exact: every (row of the padded input, output column)'s KW sids are interned first (a row of
   * one repeated sid, the constant background, through a cache by that sid), then a patch is the
   * key of its C·KH row ids (equal row-id keys ⇔ equal sid keys, row ids being exact themselves).
   */
  private convPatches(nd: Extract<GraphNode, { kind: 'conv2d' }>, inp: TState): Patches {
    const [N, C, H, W] = this.g.tensors[nd.input].shape;
    const { outH, outW, kernel, stride, padding } = nd.win;
    const [KH, KW] = kernel;
    const [sh, sw] = stride;
    const [ph, pw] = padding;
    const P = outH * outW;
    const HW = H * W;
    const R = (outH - 1) * sh + KH; // rows of the padded input that windows read
    const { val, err, sid } = inp;
    const nRows = Math.min(N * C * R * outW, 1 << 16);
    const rowInt = new Interner(KW * nRows, 32, nRows);
    let rowZero = new Uint8Array(nRows);
    /** Row id of the row [s, s, …, s], by s − ZERO_SID (−1: not interned yet). */
    const constRow = new SidCache(sid);
    const rows = new Int32Array(C * R * outW);
    const rowKey = new Int32Array(KW);
    const L = C * KH;
    const key = new Int32Array(L);
    const nPatches = Math.min(N * P, 1 << 16);
    const patchInt = new Interner(L * nPatches, 32, nPatches);
    const id = new Int32Array(N * P);
    let zero = new Uint8Array(nPatches);
    /** Patch id of the patch whose C·KH rows are all row r, by r (−1: not interned yet). */
    let constPatch = new Int32Array(1024).fill(-1);
    const rep: number[] = [];
    for (let n = 0; n < N; n++) {
      for (let ci = 0; ci < C; ci++) {
        const base = (n * C + ci) * HW;
        for (let r = 0; r < R; r++) {
          const ih = r - ph;
          const inRow = ih >= 0 && ih < H;
          const rb = base + ih * W;
          for (let ow = 0; ow < outW; ow++) {
            const iw0 = ow * sw - pw;
            let rid: number;
            if (inRow && iw0 >= 0 && iw0 + KW <= W) {
              const s0 = sid[rb + iw0];
              let same = true;
              for (let j = 1; j < KW; j++) if (sid[rb + iw0 + j] !== s0) same = false;
              rid = same ? constRow.get(s0) : -1;
              if (rid < 0) {
                let z = 1;
                for (let j = 0; j < KW; j++) {
                  const i = rb + iw0 + j;
                  rowKey[j] = sid[i];
                  if (val[i] !== 0 || err[i] !== 0) z = 0;
                }
                rid = rowInt.intern(rowKey, KW);
                if (rowInt.fresh) {
                  if (rid >= rowZero.length) rowZero = grown(rowZero);
                  rowZero[rid] = z;
                }
                if (same) constRow.set(s0, rid);
              }
            } else {
              let z = 1;
              for (let j = 0; j < KW; j++) {
                const iw = iw0 + j;
                if (!inRow || iw < 0 || iw >= W) rowKey[j] = -1;
                else {
                  const i = rb + iw;
                  rowKey[j] = sid[i];
                  if (val[i] !== 0 || err[i] !== 0) z = 0;
                }
              }
              rid = rowInt.intern(rowKey, KW);
              if (rowInt.fresh) {
                if (rid >= rowZero.length) rowZero = grown(rowZero);
                rowZero[rid] = z;
              }
            }
            rows[(ci * R + r) * outW + ow] = rid;
          }
        }
      }
      for (let oh = 0; oh < outH; oh++) {
        for (let ow = 0; ow < outW; ow++) {
          let z = 1;
          const r0 = rows[oh * sh * outW + ow];
          let same = true;
          for (let ci = 0; ci < C; ci++) {
            for (let i = 0; i < KH; i++) {
              const rid = rows[(ci * R + oh * sh + i) * outW + ow];
              key[ci * KH + i] = rid;
              z &= rowZero[rid];
              if (rid !== r0) same = false;
            }
          }
          const pos = oh * outW + ow;
          // A patch of one repeated row (the constant background): its id through a cache by row id.
          if (same && r0 >= constPatch.length) constPatch = grownFilled(constPatch, r0);
          let pid = same ? constPatch[r0] : -1;
          if (pid < 0) {
            pid = patchInt.intern(key, L);
            if (patchInt.fresh) {
              if (pid >= zero.length) zero = grown(zero);
              zero[pid] = z;
              rep.push(n * P + pos);
            }
            if (same) constPatch[r0] = pid;
          }
          id[n * P + pos] = pid;
        }
      }
    }
    rowInt.release();
    patchInt.release();
    constRow.release();
    return { id, zero, rep };
  }

  /** A linear layer: as conv, with one patch per sample (its whole input vector). */
  private linear(nd: Extract<GraphNode, { kind: 'linear' }>, out: TState): void {
    const inp = this.t[nd.input];
    const N = this.g.batch;
    const F = nd.inF;
    const O = nd.outF;
    const G = gamma(F + 1);
    const c = inflation(F + 4);
    const interner = new Interner(F * 4);
    const id = new Int32Array(N);
    let zero = new Uint8Array(16);
    const rep: number[] = [];
    for (let n = 0; n < N; n++) {
      const pid = interner.intern(inp.sid.subarray(n * F, (n + 1) * F), F);
      id[n] = pid;
      if (!interner.fresh) continue;
      let z = 1;
      for (let k = n * F; k < (n + 1) * F; k++) {
        if (inp.val[k] !== 0 || inp.err[k] !== 0) {
          z = 0;
          break;
        }
      }
      if (pid >= zero.length) zero = grown(zero);
      zero[pid] = z;
      rep.push(n);
    }
    interner.release();
    for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) out.sid[n * O + o] = id[n] * O + o;
    const w = nd.weight;
    const b = nd.bias;
    const pair =
      this.kernels && F < KERNEL_MAX_TERMS
        ? forwardPair(
            inp.val.length,
            w.length,
            b ? b.length : 0,
            out.val.length,
            scratchFor(N * F + F * (O + 4)),
            (v) => fillOperands(v, inp, w, b, G),
            (k, kind, x, wp, bp, y, sc) => k.linFwd(kind, 0, N, F, O, x, wp, bp, y, sc),
          )
        : null;
    let bnd: Float64Array;
    if (pair) {
      out.val.set(pair.val);
      bnd = pair.bnd;
    } else {
      const val = out.val;
      const q = qArray(inp, G);
      const absW = absArray(w);
      bnd = new Float64Array(out.val.length);
      for (const n of rep) {
        for (let o = 0; o < O; o++) {
          const wb = o * F;
          let s = 0;
          let bs = 0;
          for (let k = 0; k < F; k++) {
            s += w[wb + k] * inp.val[n * F + k];
            bs += absW[wb + k] * q[n * F + k];
          }
          val[n * O + o] = b ? s + b[o] : s;
          bnd[n * O + o] = b ? bs + G * Math.abs(b[o]) : bs;
        }
      }
      for (let n = 0; n < N; n++) {
        const r = rep[id[n]];
        if (r === n) continue;
        val.copyWithin(n * O, r * O, r * O + O);
        bnd.copyWithin(n * O, r * O, r * O + O);
      }
    }
    // The bound sums were computed in binary32 (kernel) or binary64 (JS loops): inflate accordingly.
    const cc = pair ? inflation32(F) : c;
    const tiny = pair ? TINY32 : TINY;
    for (let n = 0; n < N; n++) {
      const z = zero[id[n]];
      for (let o = 0; o < O; o++) {
        // finish(…, c), inlined (written so that no double is boxed); NaN (0·∞) → +∞
        const e = bnd[n * O + o] * cc + tiny;
        out.err[n * O + o] = e;
        if (Number.isNaN(e)) out.err[n * O + o] = Infinity;
        if (z !== 0) out.err[n * O + o] = 0;
      }
    }
  }

  private pooled(
    inp: TState,
    out: TState,
    o: number,
    idx: ArrayLike<number>,
    len: number,
    keyLen: number,
    key: Int32Array,
    interner: Interner,
    k: number,
    G: number,
    c: number,
  ): void {
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
    interner.release();
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
    interner.release();
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
    interner.release();
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
    const interner = new Interner(kk * 64);
    const cnt: Counter = { float: 0, structural: 0, exact: 0 };
    // One list per window o = plane·P + pos (the placeholder keeps the array of lists packed).
    const ties: number[][] = new Array<number[]>(N * C * P).fill(NO_TIES);
    /** Window sid → tie pattern (positions inside the window) of windows decided exactly. */
    const patterns = new Map<number, number[]>();
    const win = new Int32Array(kk);
    const cand = new Int32Array(kk);
    const { val, err, sid } = inp;
    // Output sids: 2·d(s) for a window won by the one computation s (d: a dense numbering of the
    // input sids), 2·(interned window key) + 1 otherwise: disjoint, and each injective.
    const single = new SidCache(sid);
    for (let plane = 0; plane < N * C; plane++) {
      const base = plane * HW;
      for (let pos = 0; pos < P; pos++) {
        const o = plane * P + pos;
        let len = 0;
        for (let j = 0; j < kk; j++) {
          const off = map[pos * kk + j];
          if (off >= 0) win[len++] = base + off;
        }
        // (a): the candidates, every entry not certainly below the top one.
        const nc = candidates(win, len, val, err, cand);
        if (nc === 1) {
          // The common case: one entry certainly above all others (or alone in its window).
          const top = cand[0];
          cnt.float++;
          ties[o] = [top];
          // One winner: the output is that computation (see below).
          out.sid[o] = 2 * single.dense(sid[top]);
          out.val[o] = val[top];
          out.err[o] = err[top];
          continue;
        }
        // (a)/(b), the next most common case: the candidates are all exact and equal, or all the
        // same computation (constant background).
        const c0 = cand[0];
        const cs0 = sid[c0];
        let sameSid = true;
        let sameExact = err[c0] === 0;
        let cbest = c0;
        for (let j = 1; j < nc; j++) {
          const i = cand[j];
          if (sid[i] !== cs0) sameSid = false;
          if (err[i] !== 0 || val[i] !== val[c0]) sameExact = false;
          if (err[i] < err[cbest]) cbest = i;
        }
        if (sameSid || sameExact) {
          if (sameExact) cnt.float++;
          else cnt.structural++;
          ties[o] = listOf(cand, nc);
          out.sid[o] = sameSid ? 2 * single.dense(cs0) : 2 * this.windowSid(interner, key, map, pos, kk, sid, base) + 1;
          out.val[o] = val[cbest];
          out.err[o] = err[cbest];
          continue;
        }
        const idx: number[] = [];
        for (let j = 0; j < kk; j++) {
          const off = map[pos * kk + j];
          key[j] = off < 0 ? -1 : sid[base + off];
          if (off >= 0) idx.push(base + off);
        }
        const wsid = interner.intern(key, kk);
        let T = this.decideFloat(idx, val, err, sid, cnt, cand);
        if (!T) {
          const pattern = patterns.get(wsid);
          if (pattern) {
            T = pattern.map((j) => idx[j]);
            cnt.structural++;
          } else {
            T = this.decideExact(nd.input, idx, val, err, sid);
            patterns.set(
              wsid,
              T.map((i) => idx.indexOf(i)),
            );
            cnt.exact++;
          }
        }
        ties[o] = T;
        // Structure of the output: when every exactly tied entry is the same computation s, the
        // output *is* s (same value, same function of θ whichever entry is routed), so its id
        // depends on s alone (2·d(s)) whatever the losing entries were; the window key (used above
        // to reuse tie patterns) would needlessly tell apart [A,B,B,B] and [B,A,B,B] with A the max.
        // Different computations tied exactly keep the window-specific id 2·wsid + 1 (conservative).
        const s0 = sid[T[0]];
        let same = true;
        for (let j = 1; j < T.length; j++) if (sid[T[j]] !== s0) same = false;
        out.sid[o] = same ? 2 * single.dense(s0) : 2 * wsid + 1;
        // Output: the tied entry with the smallest bound.
        let best = T[0];
        for (const i of T) if (err[i] < err[best]) best = i;
        out.val[o] = val[best];
        out.err[o] = err[best];
      }
    }
    interner.release();
    single.release();
    this.ties.set(k, ties);
    this.counters.set(k, cnt);
  }

  /** Interned id of a window's key of input sids (−1 on padding). */
  private windowSid(interner: Interner, key: Int32Array, map: Int32Array, pos: number, kk: number, sid: Int32Array, base: number): number {
    for (let j = 0; j < kk; j++) {
      const off = map[pos * kk + j];
      key[j] = off < 0 ? -1 : sid[base + off];
    }
    return interner.intern(key, kk);
  }

  /** Stages (a) and (b) for one window: the tie set, or null when only exact values can tell. */
  private decideFloat(
    idx: readonly number[],
    val: Float64Array,
    err: Float64Array,
    sid: Int32Array,
    cnt: Counter,
    cand: Int32Array,
  ): number[] | null {
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
  const rec = (t: number): ActivationRecord => ({
    shape: g.tensors[t].shape,
    val: run.t[t].val,
    err: run.t[t].err,
    sid: run.t[t].sid,
    den: g.tensors[t].den,
  });
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

/** Dot products this long or longer are bounded in binary64 (the binary32 bound needs (K+1)u₃₂ ≤ 1/2: bounds.ts). */
const KERNEL_MAX_TERMS = 2 ** 22;

/** Placeholder of a MaxPool's tie list before its window is decided (keeps the list packed). */
const NO_TIES: number[] = [];

/** cand[0..n) as a number[] of exactly n elements (no spare capacity: thousands of them are kept). */
function listOf(cand: Int32Array, n: number): number[] {
  switch (n) {
    case 1:
      return [cand[0]];
    case 2:
      return [cand[0], cand[1]];
    case 3:
      return [cand[0], cand[1], cand[2]];
    case 4:
      return [cand[0], cand[1], cand[2], cand[3]];
    default:
      return Array.from(cand.subarray(0, n));
  }
}

/**
 * Stage (a) for one MaxPool window (flat input indices win[0..len), in window order): writes to
 * `cand` every entry not certainly below i* (the largest lower bound â − e, a heuristic choice:
 * rigour comes from the test, bounds.ts `certainlyGreater`, inlined here), in window order, and
 * returns how many. One candidate: it is the exact maximum, alone.
 */
function candidates(win: Int32Array, len: number, val: Float64Array, err: Float64Array, cand: Int32Array): number {
  let top = win[0];
  let topLo = val[top] - err[top];
  for (let j = 1; j < len; j++) {
    const i = win[j];
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
    const i = win[j];
    const ei = err[i];
    // certainlyGreater(tv, te, val[i], ei)
    const greater = te === 0 && ei === 0 ? tv > val[i] : tv - val[i] > (te + ei) * SLACK + TINY;
    if (i === top || !greater) cand[nc++] = i;
  }
  return nc;
}

/**
 * A map from the sids of one tensor (ZERO_SID or non-negative) to non-negative numbers, in a typed
 * array indexed by s − ZERO_SID; −1 for absent.
 */
class SidCache {
  private map: Int32Array;

  constructor(sid: Int32Array) {
    let max = 0;
    for (let i = 0; i < sid.length; i++) if (sid[i] > max) max = sid[i];
    const n = max + 1 - ZERO_SID;
    this.map = takeInt32(n, false);
    this.map.fill(-1, 0, n);
  }

  /** Give the map back to the pool: the cache must not be used afterwards. */
  release(): void {
    recycleInt32(this.map);
  }

  get(s: number): number {
    return this.map[s - ZERO_SID];
  }

  set(s: number, v: number): void {
    this.map[s - ZERO_SID] = v;
  }

  private count = 0;

  /** A dense numbering of the sids asked for: 0, 1, 2, … in order of first request. */
  dense(s: number): number {
    let d = this.map[s - ZERO_SID];
    if (d < 0) {
      d = this.count++;
      this.map[s - ZERO_SID] = d;
    }
    return d;
  }
}

/**
 * A conv layer's error bounds from the computed bound sums (bounds.ts `finish`, inlined: no boxed
 * double per element): 0 for the outputs of all-exact-zero patches (the bias, exactly).
 */
function convErr(bnd: Float64Array, c: number, tiny: number, pt: Patches, err: Float64Array, N: number, Co: number, P: number): void {
  const { id, zero } = pt;
  for (let n = 0; n < N; n++) {
    for (let co = 0; co < Co; co++) {
      const ob = (n * Co + co) * P;
      for (let pos = 0; pos < P; pos++) {
        const o = ob + pos;
        const e = bnd[o] * c + tiny; // written so that no double is boxed
        err[o] = e;
        if (Number.isNaN(e)) err[o] = Infinity; // NaN (0·∞) → +∞
        if (zero[id[n * P + pos]] !== 0) err[o] = 0;
      }
    }
  }
}

/**
 * The kernels' operands of a dot-product layer: x̂, w, b for the values; q = e + γ|x̂|, |w|, γ|b|,
 * each rounded up to binary32 (bounds.ts `up32`), for the bounds.
 */
function fillOperands(v: ForwardPair, inp: TState, w: Float64Array, b: Float64Array | null, G: number): void {
  v.x.set(inp.val);
  v.w.set(w);
  const { val, err } = inp;
  const q = v.q;
  for (let i = 0; i < q.length; i++) {
    // up32(qTerm(err[i], val[i], G)), inlined (no boxed double)
    const a = Math.abs(val[i]);
    let g = G * a;
    if (a < SUBNORMAL_RISK && a !== 0) g += Number.MIN_VALUE;
    const qi = err[i] + g;
    const r = Math.fround(qi);
    q[i] = r >= qi ? r : Math.fround(qi * UP32_SCALE + UP32_FLOOR);
  }
  for (let i = 0; i < w.length; i++) v.absW[i] = up32(Math.abs(w[i]));
  if (b) {
    v.b.set(b);
    for (let i = 0; i < b.length; i++) v.gb[i] = up32(G * Math.abs(b[i]));
  }
}

/** q_k = e_k + γ|x̂_k| for every entry of a tensor (bounds.ts `qTerm`). */
function qArray(t: TState, G: number): Float64Array {
  return qInto(t, G, new Float64Array(t.val.length));
}

function qInto(t: TState, G: number, q: Float64Array): Float64Array {
  const { val, err } = t;
  for (let i = 0; i < q.length; i++) {
    // qTerm(err[i], val[i], G), inlined (no boxed double)
    const a = Math.abs(val[i]);
    let g = G * a;
    if (a < SUBNORMAL_RISK && a !== 0) g += Number.MIN_VALUE;
    q[i] = err[i] + g;
  }
  return q;
}

function absArray(a: Float64Array): Float64Array {
  const r = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) r[i] = Math.abs(a[i]);
  return r;
}

/** fl(G·|b|) for every entry (a bias's term of the bound). */
function scaledAbs(b: Float64Array, G: number): Float64Array {
  const r = new Float64Array(b.length);
  for (let i = 0; i < b.length; i++) r[i] = G * Math.abs(b[i]);
  return r;
}

/** a, grown past index i, the new entries −1. */
function grownFilled(a: Int32Array, i: number): Int32Array<ArrayBuffer> {
  let n = a.length * 2;
  while (n <= i) n *= 2;
  const r = new Int32Array(n).fill(-1);
  r.set(a);
  return r;
}

function grown(a: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  const r = new Uint8Array(a.length * 2);
  r.set(a);
  return r;
}

/**
 * The JS path of a conv layer's values and bounds (kernels off or declined): the same two dot
 * products as the kernel (summed from 0 in (c, i, j) order, bias last), once per distinct patch,
 * copied to its repeats (identical patches: identical outputs).
 */
function convJs(
  nd: Extract<GraphNode, { kind: 'conv2d' }>,
  x: Float64Array,
  q: Float64Array,
  absW: Float64Array,
  gb: Float64Array | null,
  C: number,
  HW: number,
  pt: Patches,
  Co: number,
  P: number,
  K: number,
  val: Float64Array,
  bnd: Float64Array,
): void {
  const { kk, map } = nd.win;
  const w = nd.weight;
  const b = nd.bias;
  const pv = new Float64Array(K);
  const pq = new Float64Array(K);
  for (const r of pt.rep) {
    const n = Math.floor(r / P);
    const pos = r - n * P;
    for (let ci = 0; ci < C; ci++) {
      const base = (n * C + ci) * HW;
      for (let j = 0; j < kk; j++) {
        const off = map[pos * kk + j];
        pv[ci * kk + j] = off < 0 ? 0 : x[base + off];
        pq[ci * kk + j] = off < 0 ? 0 : q[base + off];
      }
    }
    for (let co = 0; co < Co; co++) {
      const wb = co * K;
      let s = 0;
      let bs = 0;
      for (let k = 0; k < K; k++) {
        s += w[wb + k] * pv[k];
        bs += absW[wb + k] * pq[k];
      }
      const o = (n * Co + co) * P + pos;
      val[o] = b ? s + b[co] : s;
      bnd[o] = gb ? bs + gb[co] : bs;
    }
  }
  const N = pt.id.length / P;
  for (let n = 0; n < N; n++) {
    for (let pos = 0; pos < P; pos++) {
      const r = pt.rep[pt.id[n * P + pos]];
      if (r === n * P + pos) continue;
      const rn = Math.floor(r / P);
      const rp = r - rn * P;
      for (let co = 0; co < Co; co++) {
        val[(n * Co + co) * P + pos] = val[(rn * Co + co) * P + rp];
        bnd[(n * Co + co) * P + pos] = bnd[(rn * Co + co) * P + rp];
      }
    }
  }
}
