// @ts-nocheck — AssemblyScript, compiled by asc (`npm run build:kernels`) to kernels.wasm; tsc skips it.
/**
 * The engine's WebAssembly SIMD kernels. This file is the module's entry: it holds conv2d and
 * linear (forward, input gradient, weight and bias gradients), bit-identical to the JS loops of
 * ops/conv2d.ts and ops/linear.ts, and exports the kernels of the other ops (ops.as.ts) and the
 * roundings they share (round.as.ts).
 *
 * Every output element is its own left-to-right sum, in exactly the order its op documents; SIMD
 * runs only across independent output elements (4 output channels, input channels, output columns
 * or features per f32x4 vector, 2 per f64x2), so no sum is ever reassociated. A micro-kernel (mk)
 * computes up to 8 vectors of outputs at once (8 independent chains, to hide the add latency):
 *
 *   acc[p] = step(acc[p], vec[k], splat(src[p] + off[k]))   for every term k, in order,
 *
 * where the terms come as "segments" (vector offset, source offset, length) walked with constant
 * strides. The drivers (convFwd, convDx, convDw, linFwd, linDx, linDw) lay the operands out,
 * build the segments in the op's summation order, and round and store the outputs.
 *
 * Arithmetic kinds (`kind`, and the marker type T of the generic micro-kernel):
 *   0  f64: binary64 lanes, s + a·b in double: binary64 (both modes) and binary32 `wide`
 *   1  f32: binary32 lanes, fl32(s + fl32(a·b)): binary32 `strict` and binary16 `wide`
 *   2  i32: binary16 `strict`: binary32 lanes, every product and sum rounded to binary16 (r16v)
 *   3  u32: the same, faster, when every operand is finite and max|a|·max|b| ≤ 4: then no product
 *          or partial sum can round to ±Inf, whatever the number of terms (see `pick`), so the
 *          overflow step is left out and sums are rounded by Veltkamp's splitting (r16sum)
 * A caller asks for kind 2; the driver scans the operands and runs kind 3 when it may.
 * Output rounding `R` (the op's final round to p): 0 none, 1 to binary32, 2 to binary16, 3 to bfloat16.
 * A driver returns the kind it ran, plus 4 when it used its second layout (convFwd, convDx), or −1
 * when it declines (see "Zero terms": the JS path then computes the op).
 * A product of two binary16 values is exact in binary32, and rounding a binary32-rounded sum of two
 * binary16 values to binary16 equals rounding the exact sum (24 ≥ 2·11 + 2, as arith.ts explains for
 * double), so kind 2 gives f16round(s + f16round(a·b)) exactly as the JS path does.
 *
 * Zero terms. Padding (forward, weight gradient) and the holes of the scatter (input gradient) are
 * read as +0 instead of skipped. s + fl(w·0) = s exactly as long as w is finite (s is never −0: it
 * starts at +0 and a nonzero sum of values of p never rounds to zero), so a driver declines when
 * the factor that meets the zeros is not all finite.
 *
 * Memory: operands and outputs are at byte addresses in the module's (imported, shared) memory, as
 * binary64 or binary32 values (`se`, 8 or 4: device.ts stores tensors of formats of ≤ 32 bits as
 * binary32); a driver lays its scratch out from the scratch address and grows memory for it.
 */

import { r16full, r16sum, r16v, r32, r64, rbf16v } from './round.as';

export { addP, maxpoolBwd, maxpoolFwd, reluBwd, reluFwd, sceBwd, sceFwd } from './ops.as';

/** A binary32 value rounded to the format of round kind rk (round.as.ts), for the tests of the rounding. */
export function roundF32(rk: i32, x: f32): f32 {
  return r32(rk, x);
}

/** A double rounded to the format of round kind rk (round.as.ts), for the tests of the rounding. */
export function roundF64(rk: i32, x: f64): f64 {
  return r64(rk, x);
}

// ---------------------------------------------------------------------------------------------
// The micro-kernel

// @ts-ignore
@inline function splatAt<T>(p: usize): v128 {
  if (sizeof<T>() == 8) return v128.load64_splat(p);
  return v128.load32_splat(p);
}

/** One term: s + a·b in the kind's arithmetic. */
// @ts-ignore
@inline function step<T>(s: v128, a: v128, b: v128): v128 {
  if (isFloat<T>()) {
    if (sizeof<T>() == 8) return f64x2.add(s, f64x2.mul(a, b));
    return f32x4.add(s, f32x4.mul(a, b));
  }
  if (isSigned<T>()) return r16v(f32x4.add(s, r16v(f32x4.mul(a, b), true)), true);
  return r16sum(f32x4.add(s, r16v(f32x4.mul(a, b), false)));
}


/**
 * nb (1..8) accumulators over the segments at `segs` (nseg triples of i32: vector byte offset from
 * vbase, source byte offset, length). Term k of a segment reads the vector at vbase + vOff + k·vs
 * and, for accumulator p, the scalar at src[p] + sOff + k·ss (src: nb i32 addresses at `srcs`).
 * The nb result vectors go to `out` (16 bytes each).
 */
// @ts-ignore
@inline function mkBody<T>(nb: i32, segs: usize, nseg: i32, vbase: usize, vs: usize, ss: usize, srcs: usize, out: usize): void {
  let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
  let a4 = i32x4.splat(0), a5 = i32x4.splat(0), a6 = i32x4.splat(0), a7 = i32x4.splat(0);
  const s0 = <usize>load<u32>(srcs);
  const s1 = nb > 1 ? <usize>load<u32>(srcs, 4) : 0;
  const s2 = nb > 2 ? <usize>load<u32>(srcs, 8) : 0;
  const s3 = nb > 3 ? <usize>load<u32>(srcs, 12) : 0;
  const s4 = nb > 4 ? <usize>load<u32>(srcs, 16) : 0;
  const s5 = nb > 5 ? <usize>load<u32>(srcs, 20) : 0;
  const s6 = nb > 6 ? <usize>load<u32>(srcs, 24) : 0;
  const s7 = nb > 7 ? <usize>load<u32>(srcs, 28) : 0;
  for (let g = 0; g < nseg; g++) {
    const e = segs + <usize>g * 12;
    let vp = vbase + <usize>load<u32>(e);
    let so = <usize>load<u32>(e, 4);
    const len = load<i32>(e, 8);
    for (let k = 0; k < len; k++) {
      const w = v128.load(vp);
      a0 = step<T>(a0, w, splatAt<T>(s0 + so));
      if (nb > 1) a1 = step<T>(a1, w, splatAt<T>(s1 + so));
      if (nb > 2) a2 = step<T>(a2, w, splatAt<T>(s2 + so));
      if (nb > 3) a3 = step<T>(a3, w, splatAt<T>(s3 + so));
      if (nb > 4) a4 = step<T>(a4, w, splatAt<T>(s4 + so));
      if (nb > 5) a5 = step<T>(a5, w, splatAt<T>(s5 + so));
      if (nb > 6) a6 = step<T>(a6, w, splatAt<T>(s6 + so));
      if (nb > 7) a7 = step<T>(a7, w, splatAt<T>(s7 + so));
      vp += vs;
      so += ss;
    }
  }
  v128.store(out, a0);
  if (nb > 1) v128.store(out, a1, 16);
  if (nb > 2) v128.store(out, a2, 32);
  if (nb > 3) v128.store(out, a3, 48);
  if (nb > 4) v128.store(out, a4, 64);
  if (nb > 5) v128.store(out, a5, 80);
  if (nb > 6) v128.store(out, a6, 96);
  if (nb > 7) v128.store(out, a7, 112);
}

function mkT<T>(nb: i32, segs: usize, nseg: i32, vbase: usize, vs: usize, ss: usize, srcs: usize, out: usize): void {
  switch (nb) {
    case 1: mkBody<T>(1, segs, nseg, vbase, vs, ss, srcs, out); break;
    case 2: mkBody<T>(2, segs, nseg, vbase, vs, ss, srcs, out); break;
    case 3: mkBody<T>(3, segs, nseg, vbase, vs, ss, srcs, out); break;
    case 4: mkBody<T>(4, segs, nseg, vbase, vs, ss, srcs, out); break;
    case 5: mkBody<T>(5, segs, nseg, vbase, vs, ss, srcs, out); break;
    case 6: mkBody<T>(6, segs, nseg, vbase, vs, ss, srcs, out); break;
    case 7: mkBody<T>(7, segs, nseg, vbase, vs, ss, srcs, out); break;
    default: mkBody<T>(8, segs, nseg, vbase, vs, ss, srcs, out);
  }
}

function mk(kind: i32, nb: i32, segs: usize, nseg: i32, vbase: usize, vs: i32, ss: i32, srcs: usize, out: usize): void {
  if (kind == 0) mkT<f64>(nb, segs, nseg, vbase, <usize>vs, <usize>ss, srcs, out);
  else if (kind == 1) mkT<f32>(nb, segs, nseg, vbase, <usize>vs, <usize>ss, srcs, out);
  else if (kind == 2) mkT<i32>(nb, segs, nseg, vbase, <usize>vs, <usize>ss, srcs, out);
  else mkT<u32>(nb, segs, nseg, vbase, <usize>vs, <usize>ss, srcs, out);
}

// ---------------------------------------------------------------------------------------------
// Outputs

/** The bias of vector p, lane l, as an f64x2 (kind 0) or f32x4 vector; lanes ≥ `lanes` get 0. */
// @ts-ignore
@inline function biasVec(kind: i32, bias: usize, p: i32, bp: i32, bl: i32, lanes: i32): v128 {
  const b = bias + <usize>(p * bp) * SE;
  const s = <usize>bl * SE;
  if (kind == 0) {
    let v = f64x2.splat(ldS(b));
    if (lanes > 1) v = f64x2.replace_lane(v, 1, ldS(b + s));
    return v;
  }
  let v = f32x4.splat(<f32>ldS(b));
  v = f32x4.replace_lane(v, 1, lanes > 1 ? <f32>ldS(b + s) : 0);
  v = f32x4.replace_lane(v, 2, lanes > 2 ? <f32>ldS(b + 2 * s) : 0);
  v = f32x4.replace_lane(v, 3, lanes > 3 ? <f32>ldS(b + 3 * s) : 0);
  return v;
}

/**
 * Store nb result vectors of `lanes` valid lanes: lane l of vector p goes to the f64 at
 * dst + (p·pstride + l·lstride)·8, after adding the bias (when bias ≠ 0: the f64 at
 * bias + (p·bp + l·bl)·8) in the kind's arithmetic and rounding to p with R.
 */
function finish(kind: i32, R: i32, acc: usize, nb: i32, lanes: i32, bias: usize, bp: i32, bl: i32, dst: usize, lstride: i32, pstride: i32): void {
  const ls = <usize>lstride * SE;
  for (let p = 0; p < nb; p++) {
    let v = v128.load(acc + <usize>p * 16);
    const d = dst + <usize>(p * pstride) * SE;
    if (kind == 0) {
      if (bias != 0) v = f64x2.add(v, biasVec(0, bias, p, bp, bl, lanes));
      if (R == 1) v = f64x2.promote_low_f32x4(f32x4.demote_f64x2_zero(v));
      stS(d, f64x2.extract_lane(v, 0));
      if (lanes > 1) stS(d + ls, f64x2.extract_lane(v, 1));
      continue;
    }
    if (bias != 0) {
      v = f32x4.add(v, biasVec(1, bias, p, bp, bl, lanes));
      if (kind >= 2) v = r16full(v);
    }
    if (R == 2) v = r16full(v);
    else if (R == 3) v = rbf16v(v);
    if (SE == 4) {
      if (lstride == 1 && lanes == 4) {
        v128.store(d, v);
        continue;
      }
      store<f32>(d, f32x4.extract_lane(v, 0));
      if (lanes > 1) store<f32>(d + ls, f32x4.extract_lane(v, 1));
      if (lanes > 2) store<f32>(d + 2 * ls, f32x4.extract_lane(v, 2));
      if (lanes > 3) store<f32>(d + 3 * ls, f32x4.extract_lane(v, 3));
      continue;
    }
    const lo = f64x2.promote_low_f32x4(v);
    const hi = f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 2, 3));
    if (lstride == 1 && lanes == 4) {
      v128.store(d, lo);
      v128.store(d, hi, 16);
      continue;
    }
    store<f64>(d, f64x2.extract_lane(lo, 0));
    if (lanes > 1) store<f64>(d + ls, f64x2.extract_lane(lo, 1));
    if (lanes > 2) store<f64>(d + 2 * ls, f64x2.extract_lane(hi, 0));
    if (lanes > 3) store<f64>(d + 3 * ls, f64x2.extract_lane(hi, 1));
  }
}

// ---------------------------------------------------------------------------------------------
// Layout helpers

/**
 * Element size of the operands and outputs in memory (set by each driver from its `se`): 8 for
 * binary64 storage, 4 for binary32 storage, which holds every value of a format of ≤ 32 bits exactly.
 */
let SE: usize = 8;

// @ts-ignore
@inline function ldS(p: usize): f64 {
  return SE == 8 ? load<f64>(p) : <f64>load<f32>(p);
}

// @ts-ignore
@inline function stS(p: usize, v: f64): void {
  if (SE == 8) store<f64>(p, v);
  else store<f32>(p, <f32>v);
}

// @ts-ignore
@inline function a16(p: usize): usize {
  return (p + 15) & ~(<usize>15);
}

/** Grow memory so that [0, end) is addressable. */
function reserve(end: usize): void {
  const have = <usize>memory.size() << 16;
  if (end > have) {
    if (memory.grow(<i32>((end - have + 0xffff) >>> 16)) < 0) unreachable();
  }
}

// @ts-ignore
@inline function put(E: i32, p: usize, v: f64): void {
  if (E == 8) store<f64>(p, v);
  else store<f32>(p, <f32>v);
}

/** n f64 values from src (every ss values) to E-byte elements at dst (every ds elements). */
function copy(E: i32, src: usize, ss: i32, dst: usize, ds: i32, n: i32): void {
  const sb = <usize>ss * SE;
  const db = <usize>ds * E;
  if (E == 8) {
    for (let k = 0; k < n; k++) store<f64>(dst + <usize>k * db, ldS(src + <usize>k * sb));
  } else if (SE == 4) {
    for (let k = 0; k < n; k++) store<f32>(dst + <usize>k * db, load<f32>(src + <usize>k * sb));
  } else {
    for (let k = 0; k < n; k++) store<f32>(dst + <usize>k * db, <f32>load<f64>(src + <usize>k * sb));
  }
}

/** planes H×W planes of f64 at src → zero-padded Hp×Wp planes of E-byte elements at dst (offset ph, pw). */
function padCopy(E: i32, src: usize, dst: usize, planes: i32, H: i32, W: i32, Hp: i32, Wp: i32, ph: i32, pw: i32): void {
  memory.fill(dst, 0, <usize>planes * Hp * Wp * E);
  for (let q = 0; q < planes; q++) {
    for (let h = 0; h < H; h++) {
      const s = src + (<usize>(q * H + h) * W) * SE;
      const d = dst + (<usize>(q * Hp + h + ph) * Wp + pw) * E;
      copy(E, s, 1, d, 1, W);
    }
  }
}

// @ts-ignore
@inline function seg(p: usize, vOff: i32, sOff: i32, len: i32): void {
  store<i32>(p, vOff);
  store<i32>(p, sOff, 4);
  store<i32>(p, len, 8);
}

// @ts-ignore
@inline function imin(a: i32, b: i32): i32 {
  return a < b ? a : b;
}
// @ts-ignore
@inline function imax(a: i32, b: i32): i32 {
  return a > b ? a : b;
}

/** max |v| over n f64 values; NaN when one is NaN (so `m < Infinity` tells that all are finite). */
function scan(src: usize, n: i32): f64 {
  let m: f64 = 0;
  for (let k = 0; k < n; k++) {
    const a = abs<f64>(ldS(src + <usize>k * SE));
    if (a > m || a != a) m = a;
  }
  return m;
}

/**
 * The kind to run for a requested kind and the largest |a|, |b| of the two factors (NaN or Inf
 * when one is not finite). Binary16 strict without the overflow step (kind 3) is exact when the
 * operands are finite and max|a|·max|b| ≤ 4: every rounded product is then at most 4, and a
 * partial sum that reaches [2^14, 2^15) has ulp 16, so adding a product of at most 4 < 16/2 rounds
 * back to it: no sum of any length passes 2^15, far below the overflow threshold 65520.
 */
function pick(kind: i32, maxA: f64, maxB: f64): i32 {
  if (kind != 2) return kind;
  return maxA * maxB <= 4 ? 3 : 2;
}

// @ts-ignore
@inline function finite(m: f64): bool {
  return m < Infinity;
}

/** Start of the linear memory the caller may use (after the module's static data). */
export function heapBase(): usize {
  return __heap_base;
}

// ---------------------------------------------------------------------------------------------
// conv2d (NCHW, weight [O, C, KH, KW]); see ops/conv2d.ts for the summation orders

/**
 * y[n,o,oh,ow] = Σ_(c,i,j) w[o,c,i,j]·x[n,c,oh·sh−ph+i,ow·sw−pw+j] + b[o], terms in (c, i, j)
 * order, padding read as +0 (with padding the driver declines unless w is finite). b = 0: no bias.
 * Two layouts, whichever fills more lanes:
 * - lanes = output channels, the 8 accumulators = 8 output positions (any stride);
 * - stride 1 along rows only: lanes = consecutive output columns of one row (their x are
 *   consecutive too), the 8 accumulators = 8 output channels.
 */
export function convFwd(se: i32, kind: i32, R: i32, N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, sh: i32, sw: i32, ph: i32, pw: i32, outH: i32, outW: i32, x: usize, w: usize, b: usize, y: usize, scratch: usize): i32 {
  SE = <usize>se;
  if (kind == 2 || ph > 0 || pw > 0) {
    const mw = scan(w, O * C * KH * KW);
    if ((ph > 0 || pw > 0) && !finite(mw)) return -1;
    kind = pick(kind, mw, kind == 2 ? scan(x, N * C * H * W) : 0);
  }
  const E = kind == 0 ? 8 : 4;
  const L = 16 / E;
  const Op = ((O + L - 1) / L) * L;
  const Hp = H + 2 * ph;
  const Wp = W + 2 * pw;
  const K = KH * KW;
  const P = outH * outW;
  const rowLanes = sw == 1 && <i64>O * outH * (((outW + L - 1) / L) * L) < <i64>Op * P;
  const xs = a16(scratch);
  const wT = a16(xs + <usize>N * C * Hp * Wp * E + 16); // 16: the last row's vectors read past its end
  const segs = a16(wT + <usize>C * K * Op * E);
  const srcs = a16(segs + <usize>C * KH * 12);
  const acc = srcs + 32;
  reserve(acc + 128);
  padCopy(E, x, xs, N * C, H, W, Hp, Wp, ph, pw);
  if (rowLanes) {
    // w as it is (O, C, KH, KW), in E-byte elements: accumulator p reads w[o0 + p] from srcs[p].
    copy(E, w, 1, wT, 1, O * C * K);
    for (let c = 0; c < C; c++) for (let i = 0; i < KH; i++) seg(segs + <usize>(c * KH + i) * 12, (c * Hp * Wp + i * Wp) * E, (c * K + i * KW) * E, KW);
    for (let n = 0; n < N; n++) {
      for (let oh = 0; oh < outH; oh++) {
        for (let ow0 = 0; ow0 < outW; ow0 += L) {
          const vb = xs + <usize>(n * C * Hp * Wp + oh * sh * Wp + ow0) * E;
          for (let o0 = 0; o0 < O; o0 += 8) {
            const nb = imin(8, O - o0);
            for (let p = 0; p < nb; p++) store<u32>(srcs + <usize>p * 4, <u32>(wT + <usize>(o0 + p) * C * K * E));
            mk(kind, nb, segs, C * KH, vb, E, E, srcs, acc);
            finish(kind, R, acc, nb, imin(L, outW - ow0), b == 0 ? 0 : b + <usize>o0 * SE, 1, 0, y + (<usize>(n * O + o0) * P + oh * outW + ow0) * SE, 1, P);
          }
        }
      }
    }
    return kind + 4;
  }
  memory.fill(wT, 0, <usize>C * K * Op * E);
  for (let o = 0; o < O; o++) copy(E, w + <usize>o * C * K * SE, 1, wT + <usize>o * E, Op, C * K);
  for (let c = 0; c < C; c++) for (let i = 0; i < KH; i++) seg(segs + <usize>(c * KH + i) * 12, (c * KH + i) * KW * Op * E, (c * Hp * Wp + i * Wp) * E, KW);
  for (let n = 0; n < N; n++) {
    for (let pos0 = 0; pos0 < P; pos0 += 8) {
      const nb = imin(8, P - pos0);
      for (let p = 0; p < nb; p++) {
        const oh = (pos0 + p) / outW;
        const ow = (pos0 + p) % outW;
        store<u32>(srcs + <usize>p * 4, <u32>(xs + <usize>(n * C * Hp * Wp + oh * sh * Wp + ow * sw) * E));
      }
      for (let ob = 0; ob < O; ob += L) {
        mk(kind, nb, segs, C * KH, wT + <usize>ob * E, Op * E, E, srcs, acc);
        finish(kind, R, acc, nb, imin(L, O - ob), b == 0 ? 0 : b + <usize>ob * SE, 0, 1, y + (<usize>(n * O + ob) * P + pos0) * SE, P, 1);
      }
    }
  }
  return kind;
}

/** Terms of one row of convDx for output columns w0..w0+nb−1: the union of their kernel columns j. */
// @ts-ignore
@inline function jSpan(w0: i32, nb: i32, pw: i32, KW: i32, outW: i32, sw: i32): i32 {
  return imax(0, imin(KW - 1, w0 + nb - 1 + pw) - imax(0, w0 + pw - (outW - 1) * sw) + 1);
}

/**
 * dx[n,c,h,w] = Σ w[o,c,i,j]·gy[n,o,oh,ow] over the (o, oh, ow, i, j) that read x[n,c,h,w],
 * ascending (o, oh, ow): for a fixed o that is i descending, then j descending. gy is laid out
 * dilated by the stride (zeros between its entries) with zero margins, so one term list (o, i ∈ the
 * rows that reach h, j ∈ the union of the columns that reach a block of positions w) serves a block
 * of positions of one row h: the terms a position does not have read +0 (the driver declines unless
 * w is finite). Two layouts, whichever computes fewer lanes:
 * - lanes = input channels, the 8 accumulators = 8 consecutive w (any stride);
 * - stride 1: lanes = consecutive w (their gy are consecutive too), accumulators = 8 channels.
 */
export function convDx(se: i32, kind: i32, R: i32, N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, sh: i32, sw: i32, ph: i32, pw: i32, outH: i32, outW: i32, gy: usize, w: usize, dx: usize, scratch: usize): i32 {
  SE = <usize>se;
  const mw = scan(w, O * C * KH * KW);
  if (!finite(mw)) return -1;
  kind = pick(kind, mw, kind == 2 ? scan(gy, N * O * outH * outW) : 0);
  const E = kind == 0 ? 8 : 4;
  const L = 16 / E;
  const Cp = ((C + L - 1) / L) * L;
  const K = KH * KW;
  const P = outH * outW;
  const PADL = 7;
  const Qh = (outH - 1) * sh + 1;
  const Qw = PADL + (outW - 1) * sw + 1 + 8;
  // Lanes computed per row (times O·|i|): channels on lanes with 8-column blocks, or columns on lanes.
  let costC: i64 = 0;
  let costW: i64 = 0;
  for (let w0 = 0; w0 < W; w0 += 8) costC += <i64>Cp * imin(8, W - w0) * jSpan(w0, imin(8, W - w0), pw, KW, outW, sw);
  for (let w0 = 0; w0 < W; w0 += L) costW += <i64>C * L * jSpan(w0, L, pw, KW, outW, sw);
  const rowLanes = sh == 1 && sw == 1 && costW < costC;
  const gyD = a16(scratch);
  const wT = a16(gyD + <usize>N * O * Qh * Qw * E);
  const segs = a16(wT + <usize>O * K * Cp * E);
  const srcs = a16(segs + <usize>O * KH * 12);
  const acc = srcs + 32;
  reserve(acc + 128);
  memory.fill(gyD, 0, <usize>N * O * Qh * Qw * E);
  for (let q = 0; q < N * O; q++) {
    for (let oh = 0; oh < outH; oh++) {
      const s = gy + <usize>(q * P + oh * outW) * SE;
      const d = gyD + <usize>((q * Qh + oh * sh) * Qw + PADL) * E;
      copy(E, s, 1, d, sw, outW);
    }
  }
  if (rowLanes) {
    // w as it is (O, C, KH, KW): accumulator p (channel c0 + p) reads w[o, c0 + p, i, j] from srcs[p].
    copy(E, w, 1, wT, 1, O * C * K);
    for (let n = 0; n < N; n++) {
      for (let h = 0; h < H; h++) {
        const ilo = imax(0, h + ph - (outH - 1));
        const ihi = imin(KH - 1, h + ph);
        for (let w0 = 0; w0 < W; w0 += L) {
          const jlo = imax(0, w0 + pw - (outW - 1));
          const jhi = imin(KW - 1, w0 + L - 1 + pw);
          const len = imax(0, jhi - jlo + 1);
          let nseg = 0;
          for (let o = 0; o < O; o++) {
            for (let i = ihi; i >= ilo; i--) {
              seg(segs + <usize>nseg * 12, ((o * Qh + h + ph - i) * Qw - jhi) * E, ((o * C * KH + i) * KW + jhi) * E, len);
              nseg++;
            }
          }
          const vb = gyD + <usize>(n * O * Qh * Qw + PADL + w0 + pw) * E;
          for (let c0 = 0; c0 < C; c0 += 8) {
            const nb = imin(8, C - c0);
            for (let p = 0; p < nb; p++) store<u32>(srcs + <usize>p * 4, <u32>(wT + <usize>(c0 + p) * K * E));
            mk(kind, nb, segs, nseg, vb, E, -E, srcs, acc);
            finish(kind, R, acc, nb, imin(L, W - w0), 0, 0, 0, dx + (<usize>(n * C + c0) * H * W + h * W + w0) * SE, 1, H * W);
          }
        }
      }
    }
    return kind + 4;
  }
  memory.fill(wT, 0, <usize>O * K * Cp * E);
  for (let o = 0; o < O; o++) for (let c = 0; c < C; c++) copy(E, w + <usize>(o * C + c) * K * SE, 1, wT + <usize>(o * K * Cp + c) * E, Cp, K);
  for (let n = 0; n < N; n++) {
    for (let h = 0; h < H; h++) {
      const ilo = imax(0, h + ph - (outH - 1) * sh);
      const ihi = imin(KH - 1, h + ph);
      for (let w0 = 0; w0 < W; w0 += 8) {
        const nb = imin(8, W - w0);
        const jlo = imax(0, w0 + pw - (outW - 1) * sw);
        const jhi = imin(KW - 1, w0 + nb - 1 + pw);
        const len = imax(0, jhi - jlo + 1);
        let nseg = 0;
        for (let o = 0; o < O; o++) {
          for (let i = ihi; i >= ilo; i--) {
            seg(segs + <usize>nseg * 12, ((o * KH + i) * KW + jhi) * Cp * E, ((o * Qh + h + ph - i) * Qw - jhi) * E, len);
            nseg++;
          }
        }
        for (let p = 0; p < nb; p++) store<u32>(srcs + <usize>p * 4, <u32>(gyD + <usize>(n * O * Qh * Qw + PADL + w0 + p + pw) * E));
        for (let cb = 0; cb < C; cb += L) {
          mk(kind, nb, segs, nseg, wT + <usize>cb * E, -Cp * E, E, srcs, acc);
          finish(kind, R, acc, nb, imin(L, C - cb), 0, 0, 0, dx + (<usize>(n * C + cb) * H * W + h * W + w0) * SE, H * W, 1);
        }
      }
    }
  }
  return kind;
}

/**
 * dw[o,c,i,j] = Σ gy[n,o,oh,ow]·x[n,c,oh·sh−ph+i,ow·sw−pw+j] and db[o] = Σ gy[n,o,oh,ow], both over
 * ascending (n, oh, ow). Lanes: output channels; the 8 accumulators: up to 8 kernel taps (i, j) of
 * one input channel. Padding read as +0 (the caller checks that gy is finite when there is
 * padding). db is the same sum with every x = 1 (fl(g·1) = g). dw = 0 or db = 0: not wanted.
 */
export function convDw(se: i32, kind: i32, R: i32, N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, sh: i32, sw: i32, ph: i32, pw: i32, outH: i32, outW: i32, gy: usize, x: usize, dw: usize, db: usize, scratch: usize): i32 {
  SE = <usize>se;
  const padded = dw != 0 && (ph > 0 || pw > 0);
  if (kind == 2 || padded) {
    const mg = scan(gy, N * O * outH * outW);
    if (padded && !finite(mg)) return -1;
    kind = pick(kind, mg, kind == 2 ? max<f64>(dw != 0 ? scan(x, N * C * H * W) : 0, 1) : 0);
  }
  const E = kind == 0 ? 8 : 4;
  const L = 16 / E;
  const Op = ((O + L - 1) / L) * L;
  const Hp = H + 2 * ph;
  const Wp = W + 2 * pw;
  const K = KH * KW;
  const P = outH * outW;
  const gyT = a16(scratch);
  const xs = a16(gyT + <usize>N * P * Op * E);
  const segs = a16(xs + (dw != 0 ? <usize>N * C * Hp * Wp * E : 0));
  const srcs = a16(segs + <usize>N * outH * 12);
  const acc = srcs + 32;
  const one = acc + 128;
  reserve(one + 16);
  memory.fill(gyT, 0, <usize>N * P * Op * E);
  for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) copy(E, gy + <usize>(n * O + o) * P * SE, 1, gyT + <usize>(n * P * Op + o) * E, Op, P);
  if (dw != 0) {
    padCopy(E, x, xs, N * C, H, W, Hp, Wp, ph, pw);
    for (let n = 0; n < N; n++) for (let oh = 0; oh < outH; oh++) seg(segs + <usize>(n * outH + oh) * 12, (n * P + oh * outW) * Op * E, (n * C * Hp * Wp + oh * sh * Wp) * E, outW);
    const blocks = (K + 7) / 8;
    for (let c = 0; c < C; c++) {
      let t0 = 0;
      for (let bk = 0; bk < blocks; bk++) {
        const nb = (K - t0) / (blocks - bk); // spread the taps evenly over the blocks
        for (let p = 0; p < nb; p++) {
          const t = t0 + p;
          store<u32>(srcs + <usize>p * 4, <u32>(xs + <usize>(c * Hp * Wp + (t / KW) * Wp + (t % KW)) * E));
        }
        for (let ob = 0; ob < O; ob += L) {
          mk(kind, nb, segs, N * outH, gyT + <usize>ob * E, Op * E, sw * E, srcs, acc);
          finish(kind, R, acc, nb, imin(L, O - ob), 0, 0, 0, dw + <usize>((ob * C + c) * K + t0) * SE, C * K, 1);
        }
        t0 += nb;
      }
    }
  }
  if (db != 0) {
    put(E, one, 1.0);
    store<u32>(srcs, <u32>one);
    seg(segs, 0, 0, N * P);
    for (let ob = 0; ob < O; ob += L) {
      mk(kind, 1, segs, 1, gyT + <usize>ob * E, Op * E, 0, srcs, acc);
      finish(kind, R, acc, 1, imin(L, O - ob), 0, 0, 0, db + <usize>ob * SE, 1, 0);
    }
  }
  return kind;
}

// ---------------------------------------------------------------------------------------------
// linear (x [N, I], W [O, I]); see ops/linear.ts for the summation orders

/** y[n,o] = Σ_i x[n,i]·W[o,i] + b[o], ascending i. Lanes: outputs o; accumulators: 8 samples n. */
export function linFwd(se: i32, kind: i32, R: i32, N: i32, I: i32, O: i32, x: usize, w: usize, b: usize, y: usize, scratch: usize): i32 {
  SE = <usize>se;
  if (kind == 2) kind = pick(kind, scan(w, O * I), scan(x, N * I));
  const E = kind == 0 ? 8 : 4;
  const L = 16 / E;
  const Op = ((O + L - 1) / L) * L;
  const xs = a16(scratch);
  const wT = a16(xs + <usize>N * I * E);
  const segs = a16(wT + <usize>I * Op * E);
  const srcs = segs + 16;
  const acc = srcs + 32;
  reserve(acc + 128);
  copy(E, x, 1, xs, 1, N * I);
  memory.fill(wT, 0, <usize>I * Op * E);
  for (let o = 0; o < O; o++) copy(E, w + <usize>o * I * SE, 1, wT + <usize>o * E, Op, I);
  seg(segs, 0, 0, I);
  for (let n0 = 0; n0 < N; n0 += 8) {
    const nb = imin(8, N - n0);
    for (let p = 0; p < nb; p++) store<u32>(srcs + <usize>p * 4, <u32>(xs + <usize>(n0 + p) * I * E));
    for (let ob = 0; ob < O; ob += L) {
      mk(kind, nb, segs, 1, wT + <usize>ob * E, Op * E, E, srcs, acc);
      finish(kind, R, acc, nb, imin(L, O - ob), b == 0 ? 0 : b + <usize>ob * SE, 0, 1, y + <usize>(n0 * O + ob) * SE, 1, O);
    }
  }
  return kind;
}

/** dx[n,i] = Σ_o gy[n,o]·W[o,i], ascending o. Lanes: inputs i; accumulators: 8 samples n. */
export function linDx(se: i32, kind: i32, R: i32, N: i32, I: i32, O: i32, gy: usize, w: usize, dx: usize, scratch: usize): i32 {
  SE = <usize>se;
  if (kind == 2) kind = pick(kind, scan(gy, N * O), scan(w, O * I));
  const E = kind == 0 ? 8 : 4;
  const L = 16 / E;
  const Ip = ((I + L - 1) / L) * L;
  const gys = a16(scratch);
  const wp = a16(gys + <usize>N * O * E);
  const segs = a16(wp + <usize>O * Ip * E);
  const srcs = segs + 16;
  const acc = srcs + 32;
  reserve(acc + 128);
  copy(E, gy, 1, gys, 1, N * O);
  memory.fill(wp, 0, <usize>O * Ip * E);
  for (let o = 0; o < O; o++) copy(E, w + <usize>o * I * SE, 1, wp + <usize>o * Ip * E, 1, I);
  seg(segs, 0, 0, O);
  for (let n0 = 0; n0 < N; n0 += 8) {
    const nb = imin(8, N - n0);
    for (let p = 0; p < nb; p++) store<u32>(srcs + <usize>p * 4, <u32>(gys + <usize>(n0 + p) * O * E));
    for (let ib = 0; ib < I; ib += L) {
      mk(kind, nb, segs, 1, wp + <usize>ib * E, Ip * E, E, srcs, acc);
      finish(kind, R, acc, nb, imin(L, I - ib), 0, 0, 0, dx + <usize>(n0 * I + ib) * SE, 1, I);
    }
  }
  return kind;
}

/**
 * dW[o,i] = Σ_n gy[n,o]·x[n,i] and db[o] = Σ_n gy[n,o], ascending n. dW lanes: inputs i,
 * accumulators: 8 outputs o; db lanes: outputs o (the sum with every x = 1). dw = 0 or db = 0: not wanted.
 */
export function linDw(se: i32, kind: i32, R: i32, N: i32, I: i32, O: i32, gy: usize, x: usize, dw: usize, db: usize, scratch: usize): i32 {
  SE = <usize>se;
  if (kind == 2) kind = pick(kind, scan(gy, N * O), max<f64>(dw != 0 ? scan(x, N * I) : 0, 1));
  const E = kind == 0 ? 8 : 4;
  const L = 16 / E;
  const Ip = ((I + L - 1) / L) * L;
  const Op = ((O + L - 1) / L) * L;
  const gys = a16(scratch);
  const xp = a16(gys + <usize>N * O * E);
  const gyP = a16(xp + <usize>N * Ip * E);
  const segs = a16(gyP + <usize>N * Op * E);
  const srcs = segs + 16;
  const acc = srcs + 32;
  const one = acc + 128;
  reserve(one + 16);
  if (dw != 0) {
    copy(E, gy, 1, gys, 1, N * O);
    memory.fill(xp, 0, <usize>N * Ip * E);
    for (let n = 0; n < N; n++) copy(E, x + <usize>n * I * SE, 1, xp + <usize>n * Ip * E, 1, I);
    seg(segs, 0, 0, N);
    for (let o0 = 0; o0 < O; o0 += 8) {
      const nb = imin(8, O - o0);
      for (let p = 0; p < nb; p++) store<u32>(srcs + <usize>p * 4, <u32>(gys + <usize>(o0 + p) * E));
      for (let ib = 0; ib < I; ib += L) {
        mk(kind, nb, segs, 1, xp + <usize>ib * E, Ip * E, O * E, srcs, acc);
        finish(kind, R, acc, nb, imin(L, I - ib), 0, 0, 0, dw + <usize>(o0 * I + ib) * SE, 1, I);
      }
    }
  }
  if (db != 0) {
    memory.fill(gyP, 0, <usize>N * Op * E);
    for (let n = 0; n < N; n++) copy(E, gy + <usize>n * O * SE, 1, gyP + <usize>n * Op * E, 1, O);
    put(E, one, 1.0);
    store<u32>(srcs, <u32>one);
    seg(segs, 0, 0, N);
    for (let ob = 0; ob < O; ob += L) {
      mk(kind, 1, segs, 1, gyP + <usize>ob * E, Op * E, 0, srcs, acc);
      finish(kind, R, acc, 1, imin(L, O - ob), 0, 0, 0, db + <usize>ob * SE, 1, 0);
    }
  }
  return kind;
}
