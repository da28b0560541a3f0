/**
 * Filter stages (a) and (b) of the dot-product layers, conv and linear (exact.ts): the structural
 * id of every output from the exact interning of its input patch; the values, and the bounds as a
 * second dot product Σ_k |w_k|·q_k + γ|b| with q_k = e_k + γ|x̂_k| (bounds.ts), on the engine's
 * SIMD kernels (kernels.ts: every output summed on its own, the values in binary64, the bound sums
 * in binary32 on operands rounded up; the bound holds for any summation order), or both in
 * binary64 on the JS loops when the kernels are off or decline, computed once per distinct patch.
 */
import type { ConvNode, LinearNode } from '../../oracle/network/index.ts';
import { gamma, inflation, inflation32, SUBNORMAL_RISK, TINY, TINY32, UP32_FLOOR, UP32_SCALE, up32 } from './bounds.ts';
import { Interner } from './interner.ts';
import { type ForwardPair, forwardPair, scratchFor } from './kernels.ts';
import { convPatches, type Patches } from './patches.ts';
import { grown, type RunContext, type TState } from './state.ts';

/** Dot products this long or longer are bounded in binary64 (the binary32 bound needs (K+1)u₃₂ ≤ 1/2: bounds.ts). */
const KERNEL_MAX_TERMS = 2 ** 22;

/** A conv layer: sids from its patches, values and bounds on the kernels or the JS loops. */
export function convForward(run: RunContext, nd: ConvNode, out: TState): void {
  const inp = run.t[nd.input];
  const [N, C, H, W] = run.g.tensors[nd.input].shape;
  const { outH, outW, kk, kernel, stride, padding } = nd.win;
  const P = outH * outW;
  const Co = nd.outC;
  const K = C * kk;
  const G = gamma(K + 1);
  const pt = convPatches(run.g, nd, inp);
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
  const pair =
    run.kernels && K < KERNEL_MAX_TERMS
      ? forwardPair(
          inp.val.length,
          w.length,
          b ? b.length : 0,
          out.val.length,
          scratchFor(N * C * (H + 2 * ph) * (W + 2 * pw) + K * (Co + 4)),
          (v) => fillOperands(v, inp, w, b, G),
          (k, kind, x, wp, bp, y, sc) => k.convFwd(kind, 0, N, C, H, W, Co, KH, KW, sh, sw, ph, pw, outH, outW, x, wp, bp, y, sc),
        )
      : null;
  // The bound sums were computed in binary32 (kernel) or binary64 (JS loops): inflate accordingly.
  if (pair) {
    out.val.set(pair.val);
    convErr(pair.bnd, inflation32(K), TINY32, pt, out.err, N, Co, P);
  } else {
    const bnd = new Float64Array(out.val.length);
    convJs(nd, inp.val, qArray(inp, G), absArray(w), b ? scaledAbs(b, G) : null, C, H * W, pt, Co, P, K, out.val, bnd);
    convErr(bnd, inflation(K + 4), TINY, pt, out.err, N, Co, P);
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
 * The JS path of a conv layer's values and bounds (kernels off or declined): the same two dot
 * products as the kernel (summed from 0 in (c, i, j) order, bias last), once per distinct patch,
 * copied to its repeats (identical patches: identical outputs).
 */
function convJs(
  nd: ConvNode,
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
  copyRepeats(pt, Co, P, val, bnd);
}

/** Every patch's outputs copied from its first occurrence's (identical patches: identical outputs). */
function copyRepeats(pt: Patches, Co: number, P: number, val: Float64Array, bnd: Float64Array): void {
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

/** A linear layer: as conv, with one patch per sample (its whole input vector). */
export function linearForward(run: RunContext, nd: LinearNode, out: TState): void {
  const inp = run.t[nd.input];
  const N = run.g.batch;
  const F = nd.inF;
  const O = nd.outF;
  const G = gamma(F + 1);
  const pt = linearPatches(inp, N, F);
  for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) out.sid[n * O + o] = pt.id[n] * O + o;
  const w = nd.weight;
  const b = nd.bias;
  const pair =
    run.kernels && F < KERNEL_MAX_TERMS
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
  } else bnd = linearJs(nd, inp, pt, N, G, out.val);
  // The bound sums were computed in binary32 (kernel) or binary64 (JS loops): inflate accordingly.
  linearErr(bnd, pair ? inflation32(F) : inflation(F + 4), pair ? TINY32 : TINY, pt, out.err, N, O);
}

/** The samples' input vectors interned: equal vectors of sids get one id. */
function linearPatches(inp: TState, N: number, F: number): Patches {
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
  return { id, zero, rep };
}

/** The JS path of a linear layer's values (into val) and bound sums (returned), once per distinct input vector. */
function linearJs(nd: LinearNode, inp: TState, pt: Patches, N: number, G: number, val: Float64Array): Float64Array {
  const F = nd.inF;
  const O = nd.outF;
  const w = nd.weight;
  const b = nd.bias;
  const q = qArray(inp, G);
  const absW = absArray(w);
  const bnd = new Float64Array(val.length);
  for (const n of pt.rep) {
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
    const r = pt.rep[pt.id[n]];
    if (r === n) continue;
    val.copyWithin(n * O, r * O, r * O + O);
    bnd.copyWithin(n * O, r * O, r * O + O);
  }
  return bnd;
}

/** A linear layer's error bounds (as convErr). */
function linearErr(bnd: Float64Array, cc: number, tiny: number, pt: Patches, err: Float64Array, N: number, O: number): void {
  for (let n = 0; n < N; n++) {
    const z = pt.zero[pt.id[n]];
    for (let o = 0; o < O; o++) {
      // finish(…, c), inlined (written so that no double is boxed); NaN (0·∞) → +∞
      const e = bnd[n * O + o] * cc + tiny;
      err[n * O + o] = e;
      if (Number.isNaN(e)) err[n * O + o] = Infinity;
      if (z !== 0) err[n * O + o] = 0;
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
  const { val, err } = t;
  const q = new Float64Array(val.length);
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
