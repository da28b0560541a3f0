// @ts-nocheck — AssemblyScript, compiled by asc (`npm run build:kernels`) to kernels.wasm; tsc skips it.
/**
 * The engine's WebAssembly SIMD kernels. This file is the module's entry: it holds the conv2d and
 * linear drivers (forward, input gradient, weight and bias gradients), bit-identical to the JS
 * loops of ops/conv2d.ts and ops/linear.ts, and exports the kernels of the other ops (ops.as.ts)
 * and the roundings they share (round.as.ts).
 *
 * Each driver lays its op out as one blocked matrix product (gemm.as.ts), C = A·B with the
 * reduction index k running over the op's terms in exactly the order it documents, so every output
 * is its own left-to-right sum; SIMD runs only across independent outputs:
 *
 *   op              C[m][q]                  m (rows)       q (columns)      k (terms, ascending)
 *   conv forward    y[n,o,oh,ow]             o              (n, oh, ow)      (c, i, j)
 *   conv dx         dx[n,c,h,w]              c              (n, h, w)        (o, KH−1−i, KW−1−j)
 *   conv dw, db     dw[o,c,i,j], db[o]       o              (c, i, j), 1     (n, oh, ow)
 *   linear forward  y[n,o]                   n              o                i
 *   linear dx       dx[n,i]                  n              i                o
 *   linear dW, db   dW[o,i], db[o]           o              i, 1             n
 *
 * B is gathered from the (zero-padded) input through two offset tables, B[k][q] = src[kofs[k] +
 * qofs[q]]; the input gradient of a conv reads gy dilated by the stride into a zero-padded grid, so
 * that its terms for (h, w) are the products with w flipped, in (o, oh, ow) order — the order of
 * the JS scatter. The bias is added after the sum (forward); db is the sum of gy against a column
 * of ones (fl(g·1) = g), computed with dW.
 *
 * Arithmetic kinds: gemm.as.ts (0 f64, 1 f32, 2 binary16 strict, 3 binary16 strict without the
 * overflow step, 4 bfloat16 strict). A caller asks for kind 2; the driver scans the operands and
 * runs kind 3 when it may (`pick`). Output rounding `R` (the op's final round to p): 0 none, 1 to
 * binary32, 2 to binary16, 3 to bfloat16. A driver returns the kind it ran, or −1 when it declines
 * (see "Zero terms": the JS path then computes the op).
 *
 * Zero terms. Padding (forward, weight gradient), the holes of the dilated gy (input gradient) and
 * the padding of partial tiles are read as +0 instead of skipped. s + fl(w·0) = s exactly as long
 * as w is finite (s is never −0: it starts at +0 and a nonzero sum of values of p never rounds to
 * zero), so a driver declines when the factor that meets the zeros is not all finite.
 *
 * Memory: operands and outputs are at byte addresses in the module's (imported, shared) memory, as
 * binary64 or binary32 values (`se`, 8 or 4: device.ts stores tensors of formats of ≤ 32 bits as
 * binary32); a driver lays its scratch out from the scratch address and grows memory for it.
 */

import { gemmBlock, KB, MR, QB } from './gemm.as';
import { r16full, r32, r64, rbf16v } from './round.as';

export {
  adamUpdate,
  addP,
  avgpoolBwd,
  avgpoolFwd,
  bnBwd,
  bnFwd,
  maxpool2x2,
  maxpoolBwd,
  maxpoolFwd,
  reluBwd,
  reluFwd,
  sceBwd,
  sceFwd,
  sgdUpdate,
} from './ops.as';

/** A binary32 value rounded to the format of round kind rk (round.as.ts), for the tests of the rounding. */
export function roundF32(rk: i32, x: f32): f32 {
  return r32(rk, x);
}

/** A double rounded to the format of round kind rk (round.as.ts), for the tests of the rounding. */
export function roundF64(rk: i32, x: f64): f64 {
  return r64(rk, x);
}

/** Start of the linear memory the caller may use (after the module's static data). */
export function heapBase(): usize {
  return __heap_base;
}

// ---------------------------------------------------------------------------------------------
// Storage and scratch

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
@inline function imin(a: i32, b: i32): i32 {
  return a < b ? a : b;
}

/** max |v| over n stored values; NaN when one is NaN (so `m < Infinity` tells that all are finite). */
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

/** planes H×W planes of stored values at src → zero-padded Hp×Wp planes of E-byte elements at dst (offset ph, pw). */
function padCopy(E: i32, src: usize, dst: usize, planes: i32, H: i32, W: i32, Hp: i32, Wp: i32, ph: i32, pw: i32): void {
  memory.fill(dst, 0, <usize>planes * Hp * Wp * E);
  for (let q = 0; q < planes; q++) {
    for (let h = 0; h < H; h++) {
      const s = src + <usize>((q * H + h) * W) * SE;
      const d = dst + (<usize>(q * Hp + h + ph) * Wp + pw) * E;
      if (SE == <usize>E) memory.copy(d, s, <usize>W * E);
      else for (let k = 0; k < W; k++) put(E, d + <usize>k * E, ldS(s + <usize>k * SE));
    }
  }
}

// @ts-ignore
@inline function put(E: i32, p: usize, v: f64): void {
  if (E == 8) store<f64>(p, v);
  else store<f32>(p, <f32>v);
}

// ---------------------------------------------------------------------------------------------
// Packing A and B

/** A in tiles of MR rows, [tile][k][MR] E-byte elements: A[m][k] = src[m·ms + kofs[k]] (stored values), 0 for m ≥ M. */
function packA(E: i32, src: usize, ms: i32, kofs: usize, M: i32, K: i32, Ap: usize): void {
  const mtiles = (M + MR - 1) / MR;
  for (let mt = 0; mt < mtiles; mt++) {
    const tile = Ap + <usize>mt * K * MR * E;
    let k = 0;
    // Four full binary32 rows, four consecutive terms at a time: four loads, a 4×4 transpose.
    if (E == 4 && SE == 4 && mt * MR + MR <= M) {
      const row = src + <usize>(mt * MR) * ms * 4;
      const rs = <usize>ms * 4;
      for (; k + 4 <= K; k += 4) {
        const o = load<i32>(kofs + (<usize>k << 2));
        if (load<i32>(kofs + (<usize>k << 2), 4) != o + 1 || load<i32>(kofs + (<usize>k << 2), 8) != o + 2 || load<i32>(kofs + (<usize>k << 2), 12) != o + 3) break;
        const p = row + <usize>o * 4;
        const r0 = v128.load(p);
        const r1 = v128.load(p + rs);
        const r2 = v128.load(p + 2 * rs);
        const r3 = v128.load(p + 3 * rs);
        const t0 = i32x4.shuffle(r0, r1, 0, 4, 1, 5);
        const t1 = i32x4.shuffle(r2, r3, 0, 4, 1, 5);
        const t2 = i32x4.shuffle(r0, r1, 2, 6, 3, 7);
        const t3 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
        const d = tile + (<usize>k * MR) * 4;
        v128.store(d, i64x2.shuffle(t0, t1, 0, 2));
        v128.store(d, i64x2.shuffle(t0, t1, 1, 3), 16);
        v128.store(d, i64x2.shuffle(t2, t3, 0, 2), 32);
        v128.store(d, i64x2.shuffle(t2, t3, 1, 3), 48);
      }
    }
    for (let r = 0; r < MR; r++) {
      const m = mt * MR + r;
      const row = src + <usize>m * ms * SE;
      for (let kk = k; kk < K; kk++) {
        const v = m < M ? ldS(row + <usize>load<i32>(kofs + (<usize>kk << 2)) * SE) : 0;
        put(E, tile + (<usize>(kk * MR + r)) * E, v);
      }
    }
  }
}

/** 16 bytes of E-byte lanes from consecutive values of BE bytes at p (converted when BE ≠ E). */
// @ts-ignore
@inline function loadVec(E: i32, BE: i32, p: usize): v128 {
  if (BE == E) return v128.load(p);
  if (E == 4) return i32x4.shuffle(f32x4.demote_f64x2_zero(v128.load(p)), f32x4.demote_f64x2_zero(v128.load(p, 16)), 0, 1, 4, 5);
  return f64x2.promote_low_f32x4(v128.load64_zero(p));
}

// @ts-ignore
@inline function ldB(BE: i32, p: usize): f64 {
  return BE == 8 ? load<f64>(p) : <f64>load<f32>(p);
}

/**
 * B for terms k0 … k0+kb of a panel of qn columns, in tiles of 32 bytes a term ([tile][k][NR]):
 * B[k][q] = src[kofs[k] + qofs[q]] (values of BE bytes; qofs −1: 0, −2: 1, lanes ≥ qn: 0). A
 * vector of lanes whose offsets are consecutive is loaded whole.
 */
function packB(E: i32, BE: i32, src: usize, qofs: usize, qn: i32, kofs: usize, kb: i32, qtiles: i32, Bp: usize): void {
  const VL = 16 / E;
  for (let qt = 0; qt < qtiles; qt++) {
    const tile = Bp + <usize>qt * kb * 32;
    for (let v = 0; v < 2; v++) {
      const l0 = qt * 2 * VL + v * VL;
      const dst = tile + <usize>v * 16;
      const shape = vectorShape(VL, qofs, l0, qn);
      if (shape >= 0 && (shape == 0 || BE == E)) packRuns(E, BE, src, load<i32>(qofs + (<usize>l0 << 2)), shape, qofs, l0, kofs, kb, dst);
      else packLanes(E, BE, src, qofs, l0, qn, kofs, kb, dst);
    }
  }
}

/**
 * How the VL lanes l0 … of a vector of B read their source: 0 one run of consecutive offsets;
 * r (1 … VL−1) two runs, lanes [0, r) and [r, VL); VL any offsets, all real; −1 some lane is a
 * constant (beyond qn, padding of the panel, or the column of ones).
 */
// @ts-ignore
@inline function vectorShape(VL: i32, qofs: usize, l0: i32, qn: i32): i32 {
  if (l0 + VL > qn) return -1;
  for (let l = 0; l < VL; l++) if (load<i32>(qofs + (<usize>(l0 + l) << 2)) < 0) return -1;
  let split = 0;
  for (let l = 1; l < VL; l++) {
    if (load<i32>(qofs + (<usize>(l0 + l) << 2)) != load<i32>(qofs + (<usize>(l0 + l - 1) << 2)) + 1) {
      if (split != 0) return VL;
      split = l;
    }
  }
  return split;
}

/**
 * A vector of real lanes for kb terms: one load (one run, converted when BE ≠ E), two loads and a
 * blend (two runs: the second read from r lanes before its start, memory that exists: the
 * source sits above the engine's own data), or a load per lane.
 */
function packRuns(E: i32, BE: i32, src: usize, o0: i32, shape: i32, qofs: usize, l0: i32, kofs: usize, kb: i32, dst: usize): void {
  const VL = 16 / E;
  if (shape == 0) {
    const base = src + <usize>o0 * BE;
    for (let kk = 0; kk < kb; kk++) v128.store(dst + <usize>kk * 32, loadVec(E, BE, base + <usize>load<i32>(kofs + (<usize>kk << 2)) * BE));
    return;
  }
  const q = qofs + (<usize>l0 << 2);
  if (shape < VL) {
    const b0 = src + <usize>o0 * E;
    const b1 = src + <usize>(load<i32>(q + (<usize>shape << 2)) - shape) * E;
    for (let kk = 0; kk < kb; kk++) {
      const k = <usize>load<i32>(kofs + (<usize>kk << 2)) * E;
      const v0 = v128.load(b0 + k);
      const v1 = v128.load(b1 + k);
      let r: v128;
      if (E == 8) r = i64x2.shuffle(v0, v1, 0, 3);
      else if (shape == 1) r = i32x4.shuffle(v0, v1, 0, 5, 6, 7);
      else if (shape == 2) r = i32x4.shuffle(v0, v1, 0, 1, 6, 7);
      else r = i32x4.shuffle(v0, v1, 0, 1, 2, 7);
      v128.store(dst + <usize>kk * 32, r);
    }
    return;
  }
  // Any offsets (VL = 4 binary32 lanes here: two binary64 lanes are at most two runs).
  const s0 = src + <usize>load<i32>(q) * E;
  const s1 = src + <usize>load<i32>(q, 4) * E;
  const s2 = src + <usize>load<i32>(q, 8) * E;
  const s3 = src + <usize>load<i32>(q, 12) * E;
  for (let kk = 0; kk < kb; kk++) {
    const k = <usize>load<i32>(kofs + (<usize>kk << 2)) * E;
    let r = v128.load32_zero(s0 + k);
    r = v128.load32_lane(s1 + k, r, 1);
    r = v128.load32_lane(s2 + k, r, 2);
    r = v128.load32_lane(s3 + k, r, 3);
    v128.store(dst + <usize>kk * 32, r);
  }
}

/** A vector with constant lanes (0, or 1 for the column of ones) or a conversion: lane by lane. */
function packLanes(E: i32, BE: i32, src: usize, qofs: usize, l0: i32, qn: i32, kofs: usize, kb: i32, dst: usize): void {
  const VL = 16 / E;
  for (let l = 0; l < VL; l++) {
    const o = l0 + l < qn ? load<i32>(qofs + (<usize>(l0 + l) << 2)) : -1;
    const d = dst + <usize>l * E;
    if (o < 0) {
      const c: f64 = o == -2 ? 1 : 0;
      for (let kk = 0; kk < kb; kk++) put(E, d + <usize>kk * 32, c);
    } else {
      const s = src + <usize>o * BE;
      for (let kk = 0; kk < kb; kk++) put(E, d + <usize>kk * 32, ldB(BE, s + <usize>load<i32>(kofs + (<usize>kk << 2)) * BE));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Outputs

/** The bias of the kind's lanes: row bias (splat of b[row]) or column bias (b[col … col+lanes)), 0 beyond `cnt` lanes. */
// @ts-ignore
@inline function biasVec(kind: i32, bias: usize, row: i32, col: i32, cnt: i32): v128 {
  if (row >= 0) {
    const v = ldS(bias + <usize>row * SE);
    return kind == 0 ? f64x2.splat(v) : f32x4.splat(<f32>v);
  }
  const b = bias + <usize>col * SE;
  if (kind == 0) {
    let r = f64x2.splat(ldS(b));
    if (cnt > 1) r = f64x2.replace_lane(r, 1, ldS(b + SE));
    return r;
  }
  let r = f32x4.splat(<f32>ldS(b));
  r = f32x4.replace_lane(r, 1, cnt > 1 ? <f32>ldS(b + SE) : 0);
  r = f32x4.replace_lane(r, 2, cnt > 2 ? <f32>ldS(b + 2 * SE) : 0);
  r = f32x4.replace_lane(r, 3, cnt > 3 ? <f32>ldS(b + 3 * SE) : 0);
  return r;
}

/** A vector of sums with the bias added (in the kind's arithmetic) and rounded to p with R. */
// @ts-ignore
@inline function finishVec(kind: i32, R: i32, v: v128, b: v128, hasBias: bool): v128 {
  if (kind == 0) {
    if (hasBias) v = f64x2.add(v, b);
    if (R == 1) v = f64x2.promote_low_f32x4(f32x4.demote_f64x2_zero(v));
    return v;
  }
  if (hasBias) {
    v = f32x4.add(v, b);
    if (kind == 2 || kind == 3) v = r16full(v);
    else if (kind == 4) v = rbf16v(v);
  }
  if (R == 2) v = r16full(v);
  else if (R == 3) v = rbf16v(v);
  return v;
}

/** Store `cnt` lanes of a finished vector (E-byte lanes) as stored values at d. */
// @ts-ignore
@inline function storeVec(E: i32, v: v128, cnt: i32, d: usize): void {
  if (E == 8) {
    if (SE == 8 && cnt == 2) {
      v128.store(d, v);
      return;
    }
    for (let l = 0; l < cnt; l++) {
      const x = l == 0 ? f64x2.extract_lane(v, 0) : f64x2.extract_lane(v, 1);
      if (SE == 8) store<f64>(d + <usize>l * 8, x);
      else store<f32>(d + <usize>l * 4, <f32>x);
    }
    return;
  }
  if (SE == 4 && cnt == 4) {
    v128.store(d, v);
    return;
  }
  if (SE == 8 && cnt == 4) {
    v128.store(d, f64x2.promote_low_f32x4(v));
    v128.store(d, f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 2, 3)), 16);
    return;
  }
  for (let l = 0; l < cnt; l++) {
    const x = l == 0 ? f32x4.extract_lane(v, 0) : l == 1 ? f32x4.extract_lane(v, 1) : l == 2 ? f32x4.extract_lane(v, 2) : f32x4.extract_lane(v, 3);
    if (SE == 4) store<f32>(d + <usize>l * 4, x);
    else store<f64>(d + <usize>l * 8, <f64>x);
  }
}

/**
 * Columns q0 … q0+qn of rows m0 … m0+rows of C (of M rows; row m0 first in Cacc, row stride ldc)
 * to the output: C[m][q] goes to out[(n·M + m)·P + p] where q = n·P + p (P = Q for a plain
 * row-major [M][Q] output); the bias is per row (biasRow) or per column.
 */
function finishPanel(kind: i32, R: i32, E: i32, Cacc: usize, ldc: usize, m0: i32, rows: i32, M: i32, q0: i32, qn: i32, P: i32, out: usize, bias: usize, biasRow: bool): void {
  const VL = 16 / E;
  const hasBias = bias != 0;
  for (let m = m0; m < m0 + rows; m++) {
    const row = Cacc + <usize>(m - m0) * ldc;
    let q = 0;
    while (q < qn) {
      const qa = q0 + q;
      const n = qa / P;
      const p = qa - n * P;
      const run = imin(qn - q, P - p);
      const dst = out + (<usize>(n * M + m) * P + p) * SE;
      for (let j = 0; j < run; j += VL) {
        const cnt = imin(VL, run - j);
        const b = hasBias ? biasVec(kind, bias, biasRow ? m : -1, qa + j, cnt) : i32x4.splat(0);
        storeVec(E, finishVec(kind, R, v128.load(row + <usize>(q + j) * E), b, hasBias), cnt, dst + <usize>j * SE);
      }
      q += run;
    }
  }
}

/** Column col of rows m0 … m0+rows of C (row m0 first in Cacc) rounded with R to out[m] (db: no bias). */
function finishColumn(kind: i32, R: i32, E: i32, Cacc: usize, ldc: usize, m0: i32, rows: i32, col: i32, out: usize): void {
  for (let m = m0; m < m0 + rows; m++) {
    const c = Cacc + <usize>(m - m0) * ldc + <usize>col * E;
    const v = E == 8 ? f64x2.splat(load<f64>(c)) : f32x4.splat(load<f32>(c));
    storeVec(E, finishVec(kind, R, v, i32x4.splat(0), false), 1, out + <usize>m * SE);
  }
}

// ---------------------------------------------------------------------------------------------
// The product of a driver, as a job for one or several threads

/**
 * A driver prepares its product (padded copies, offset tables, A packed) and describes it in a job
 * (i32 fields at `lastJob()`); `runProduct(job, t, T)` then computes thread t's share of it, with
 * its own scratch (a B panel and the partial sums). The work is cut into tasks — a panel of QB
 * columns, times a group of rows when panels are fewer than threads — and thread t takes tasks
 * [t·n/T, (t+1)·n/T): each output is computed whole by one thread, in the same operations whatever
 * T is, so the results are the same bit for bit for any number of threads.
 */
const J_KIND = 0;
const J_R = 1;
const J_E = 2;
const J_BE = 3;
const J_AP = 4;
const J_M = 5;
const J_K = 6;
const J_SRC = 7;
const J_KOFS = 8;
const J_QOFS = 9;
const J_Q = 10;
const J_QALL = 11;
const J_OUT = 12;
const J_P = 13;
const J_BIAS = 14;
const J_BIASROW = 15;
const J_DB = 16;
const J_SE = 17;
const J_MGROUPS = 18;
const J_TSCR = 19;
const J_TSZ = 20;
const J_NEXT = 21;
const J_FIELDS = 22;

let job: usize = 0;

/** The job the last driver call prepared. */
export function lastJob(): usize {
  return job;
}

// @ts-ignore
@inline function jget(j: usize, f: i32): i32 {
  return load<i32>(j + (<usize>f << 2));
}

// @ts-ignore
@inline function jset(j: usize, f: i32, v: i32): void {
  store<i32>(j + (<usize>f << 2), v);
}

/**
 * Scratch of a driver: the job, then the offset tables (kofsA, kofsB: K entries; qofs: Qall), then
 * `T` thread scratches (a B panel and the partial sums of a panel); reserves the memory. The
 * tables' addresses are in the L_* globals.
 */
let L_kofsA: usize = 0;
let L_kofsB: usize = 0;
let L_qofs: usize = 0;

function layout(E: i32, start: usize, M: i32, K: i32, Qall: i32, T: i32): void {
  job = a16(start);
  L_kofsA = a16(job + J_FIELDS * 4);
  L_kofsB = a16(L_kofsA + <usize>K * 4);
  L_qofs = a16(L_kofsB + <usize>K * 4);
  const tscr = a16(L_qofs + <usize>Qall * 4);
  const tsz = a16(<usize>QB * KB * E + <usize>((M + MR - 1) / MR) * MR * QB * E + 64);
  reserve(tscr + <usize>max<i32>(T, 1) * tsz);
  const npanels = (Qall + QB - 1) / QB;
  const mtiles = (M + MR - 1) / MR;
  jset(job, J_E, E);
  jset(job, J_M, M);
  jset(job, J_K, K);
  jset(job, J_QALL, Qall);
  jset(job, J_KOFS, <i32>L_kofsB);
  jset(job, J_QOFS, <i32>L_qofs);
  jset(job, J_SE, <i32>SE);
  jset(job, J_TSCR, <i32>tscr);
  jset(job, J_TSZ, <i32>tsz);
  jset(job, J_NEXT, 0);
  // Fewer panels than threads: split rows too (each thread then packs the B panels it needs).
  jset(job, J_MGROUPS, T > 1 && npanels < 2 * T ? imin(mtiles, (2 * T + npanels - 1) / npanels) : 1);
}

/** The rest of the job: what to multiply and where the results go. */
function describe(kind: i32, R: i32, BE: i32, Ap: usize, src: usize, Q: i32, out: usize, P: i32, bias: usize, biasRow: bool, db: usize): void {
  jset(job, J_KIND, kind);
  jset(job, J_R, R);
  jset(job, J_BE, BE);
  jset(job, J_AP, <i32>Ap);
  jset(job, J_SRC, <i32>src);
  jset(job, J_Q, Q);
  jset(job, J_OUT, <i32>out);
  jset(job, J_P, P);
  jset(job, J_BIAS, <i32>bias);
  jset(job, J_BIASROW, biasRow ? 1 : 0);
  jset(job, J_DB, <i32>db);
}

/** After a driver's preparation: T = 0 computes the whole product now (one thread), else the caller runs the threads. */
function finishDriver(T: i32, kind: i32): i32 {
  if (T == 0) runProduct(job, 0, 1);
  return kind;
}

/**
 * Thread t of T: tasks of the job's product C = A·B over Qall columns (qofs has Qall entries;
 * the first Q go to `out`, a column Q of ones, if any, to `db`), panel by panel and block by
 * block, then finished into the outputs.
 */
export function runProduct(j: usize, t: i32, T: i32): void {
  SE = <usize>jget(j, J_SE);
  const E = jget(j, J_E);
  const M = jget(j, J_M);
  const Qall = jget(j, J_QALL);
  const mgroups = jget(j, J_MGROUPS);
  const mtiles = (M + MR - 1) / MR;
  const npanels = (Qall + QB - 1) / QB;
  const tasks = npanels * mgroups;
  const tscr = <usize>jget(j, J_TSCR) + <usize>t * <usize>jget(j, J_TSZ);
  const Bp = a16(tscr);
  const Cacc = a16(Bp + <usize>QB * KB * E);
  for (;;) {
    const task = atomic.add<i32>(j + (<usize>J_NEXT << 2), 1);
    if (task >= tasks) break;
    const panel = task / mgroups;
    const g = task - panel * mgroups;
    const mt0 = <i32>((<i64>mtiles * g) / mgroups);
    const mt1 = <i32>((<i64>mtiles * (g + 1)) / mgroups);
    if (mt1 > mt0) productTask(j, E, panel * QB, mt0, mt1, Bp, Cacc);
  }
}

/** Rows of tiles mt0 … mt1 of the panel at column q0. */
function productTask(j: usize, E: i32, q0: i32, mt0: i32, mt1: i32, Bp: usize, Cacc: usize): void {
  const kind = jget(j, J_KIND);
  const M = jget(j, J_M);
  const K = jget(j, J_K);
  const Q = jget(j, J_Q);
  const Qall = jget(j, J_QALL);
  const Ap = <usize>jget(j, J_AP);
  const lda = <usize>K * MR * E;
  const ldc = <usize>QB * E;
  const NR = 32 / E;
  const qn = imin(QB, Qall - q0);
  const qtiles = (qn + NR - 1) / NR;
  const m0 = mt0 * MR;
  const rows = imin(M, mt1 * MR) - m0;
  memory.fill(Cacc, 0, <usize>(mt1 - mt0) * MR * ldc);
  for (let k0 = 0; k0 < K; k0 += KB) {
    const kb = imin(KB, K - k0);
    packB(E, jget(j, J_BE), <usize>jget(j, J_SRC), <usize>jget(j, J_QOFS) + (<usize>q0 << 2), qn, <usize>jget(j, J_KOFS) + (<usize>k0 << 2), kb, qtiles, Bp);
    gemmBlock(kind, Ap + <usize>mt0 * lda + <usize>k0 * MR * E, lda, mt1 - mt0, Bp, qtiles, Cacc, ldc, kb);
  }
  const R = jget(j, J_R);
  const bias = <usize>jget(j, J_BIAS);
  const out = <usize>jget(j, J_OUT);
  if (Q > q0) finishPanel(kind, R, E, Cacc, ldc, m0, rows, M, q0, imin(qn, Q - q0), jget(j, J_P), out, bias, jget(j, J_BIASROW) != 0);
  if (Qall > Q && Q >= q0 && Q < q0 + qn) finishColumn(kind, R, E, Cacc, ldc, m0, rows, Q - q0, <usize>jget(j, J_DB));
}

// ---------------------------------------------------------------------------------------------
// conv2d (NCHW, weight [O, C, KH, KW]); see ops/conv2d.ts for the summation orders

/** y[n,o,oh,ow] = Σ_(c,i,j) w[o,c,i,j]·x[n,c,oh·sh−ph+i,ow·sw−pw+j] + b[o]; b = 0: no bias. */
export function convFwd(se: i32, T: i32, kind: i32, R: i32, N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, sh: i32, sw: i32, ph: i32, pw: i32, outH: i32, outW: i32, x: usize, w: usize, b: usize, y: usize, scratch: usize): i32 {
  SE = <usize>se;
  if (kind == 2 || ph > 0 || pw > 0) {
    const mw = scan(w, O * C * KH * KW);
    if ((ph > 0 || pw > 0) && !finite(mw)) return -1;
    kind = pick(kind, mw, kind == 2 ? scan(x, N * C * H * W) : 0);
  }
  const E = kind == 0 ? 8 : 4;
  const Hp = H + 2 * ph;
  const Wp = W + 2 * pw;
  const K = C * KH * KW;
  const P = outH * outW;
  const Q = N * P;
  const xs = a16(scratch);
  const Ap = a16(xs + <usize>N * C * Hp * Wp * E + 64);
  layout(E, Ap + <usize>((O + MR - 1) / MR) * MR * K * E, O, K, Q, T);
  padCopy(E, x, xs, N * C, H, W, Hp, Wp, ph, pw);
  for (let k = 0; k < K; k++) store<i32>(L_kofsA + (<usize>k << 2), k);
  for (let c = 0, k = 0; c < C; c++)
    for (let i = 0; i < KH; i++) for (let j = 0; j < KW; j++, k++) store<i32>(L_kofsB + (<usize>k << 2), (c * Hp + i) * Wp + j);
  for (let n = 0, q = 0; n < N; n++)
    for (let oh = 0; oh < outH; oh++) for (let ow = 0; ow < outW; ow++, q++) store<i32>(L_qofs + (<usize>q << 2), (n * C * Hp + oh * sh) * Wp + ow * sw);
  packA(E, w, K, L_kofsA, O, K, Ap);
  describe(kind, R, E, Ap, xs, Q, y, P, b, true, 0);
  return finishDriver(T, kind);
}

/**
 * dx[n,c,h,w] = Σ w[o,c,i,j]·gy[n,o,oh,ow] over the (o, oh, ow, i, j) that read x[n,c,h,w],
 * ascending (o, oh, ow): for a fixed o that is i descending, then j descending. gy is laid out
 * dilated by the stride in a zero grid (gyD, KH−1 rows and KW−1 columns bigger than x), so that
 * the terms of (h, w) are gyD[n, o, h + i', w + j'] · w[o, c, KH−1−i', KW−1−j'], k = (o, i', j')
 * ascending. The holes read +0: the driver declines unless w is finite.
 */
export function convDx(se: i32, T: i32, kind: i32, R: i32, N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, sh: i32, sw: i32, ph: i32, pw: i32, outH: i32, outW: i32, gy: usize, w: usize, dx: usize, scratch: usize): i32 {
  SE = <usize>se;
  const mw = scan(w, O * C * KH * KW);
  if (!finite(mw)) return -1;
  const Tt = KH - 1 - ph;
  const Tl = KW - 1 - pw;
  if (Tt < 0 || Tl < 0) return -1;
  kind = pick(kind, mw, kind == 2 ? scan(gy, N * O * outH * outW) : 0);
  const E = kind == 0 ? 8 : 4;
  const Hd = H + KH - 1;
  const Wd = W + KW - 1;
  const K = O * KH * KW;
  const Q = N * H * W;
  const gyD = a16(scratch);
  const Ap = a16(gyD + <usize>N * O * Hd * Wd * E + 64);
  layout(E, Ap + <usize>((C + MR - 1) / MR) * MR * K * E, C, K, Q, T);
  memory.fill(gyD, 0, <usize>N * O * Hd * Wd * E);
  for (let q = 0; q < N * O; q++) {
    for (let oh = 0; oh < outH; oh++) {
      const d = gyD + (<usize>(q * Hd + Tt + oh * sh) * Wd + Tl) * E;
      const s = gy + <usize>((q * outH + oh) * outW) * SE;
      if (sw == 1 && SE == <usize>E) memory.copy(d, s, <usize>outW * E);
      else for (let ow = 0; ow < outW; ow++) put(E, d + <usize>(ow * sw) * E, ldS(s + <usize>ow * SE));
    }
  }
  for (let o = 0, k = 0; o < O; o++)
    for (let i = 0; i < KH; i++)
      for (let j = 0; j < KW; j++, k++) {
        store<i32>(L_kofsA + (<usize>k << 2), ((o * C * KH) + KH - 1 - i) * KW + KW - 1 - j);
        store<i32>(L_kofsB + (<usize>k << 2), (o * Hd + i) * Wd + j);
      }
  for (let n = 0, q = 0; n < N; n++) for (let h = 0; h < H; h++) for (let x = 0; x < W; x++, q++) store<i32>(L_qofs + (<usize>q << 2), (n * O * Hd + h) * Wd + x);
  packA(E, w, KH * KW, L_kofsA, C, K, Ap);
  describe(kind, R, E, Ap, gyD, Q, dx, H * W, 0, true, 0);
  return finishDriver(T, kind);
}

/**
 * dw[o,c,i,j] = Σ gy[n,o,oh,ow]·x[n,c,oh·sh−ph+i,ow·sw−pw+j] and db[o] = Σ gy[n,o,oh,ow], both over
 * ascending (n, oh, ow): A = gy (rows o), B = the padded x at the taps (columns (c, i, j)) and a
 * column of ones for db. Padding reads +0 against gy: with padding dw needs a finite gy.
 * dw = 0 or db = 0: not wanted.
 */
export function convDw(se: i32, T: i32, kind: i32, R: i32, N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, sh: i32, sw: i32, ph: i32, pw: i32, outH: i32, outW: i32, gy: usize, x: usize, dw: usize, db: usize, scratch: usize): i32 {
  SE = <usize>se;
  const padded = dw != 0 && (ph > 0 || pw > 0);
  if (kind == 2 || padded) {
    const mg = scan(gy, N * O * outH * outW);
    if (padded && !finite(mg)) return -1;
    kind = pick(kind, mg, kind == 2 ? max<f64>(dw != 0 ? scan(x, N * C * H * W) : 0, 1) : 0);
  }
  const E = kind == 0 ? 8 : 4;
  const Hp = H + 2 * ph;
  const Wp = W + 2 * pw;
  const P = outH * outW;
  const K = N * P;
  const Q = dw != 0 ? C * KH * KW : 0;
  const Qall = Q + (db != 0 ? 1 : 0);
  const xs = a16(scratch);
  const Ap = a16(xs + (dw != 0 ? <usize>N * C * Hp * Wp * E : 0) + 64);
  layout(E, Ap + <usize>((O + MR - 1) / MR) * MR * K * E, O, K, Qall, T);
  if (dw != 0) padCopy(E, x, xs, N * C, H, W, Hp, Wp, ph, pw);
  for (let n = 0, k = 0; n < N; n++)
    for (let oh = 0; oh < outH; oh++)
      for (let ow = 0; ow < outW; ow++, k++) {
        store<i32>(L_kofsA + (<usize>k << 2), n * O * P + oh * outW + ow);
        store<i32>(L_kofsB + (<usize>k << 2), (n * C * Hp + oh * sh) * Wp + ow * sw);
      }
  for (let c = 0, q = 0; c < C && dw != 0; c++)
    for (let i = 0; i < KH; i++) for (let j = 0; j < KW; j++, q++) store<i32>(L_qofs + (<usize>q << 2), (c * Hp + i) * Wp + j);
  if (db != 0) store<i32>(L_qofs + (<usize>Q << 2), -2);
  packA(E, gy, P, L_kofsA, O, K, Ap);
  describe(kind, R, E, Ap, xs, Q, dw, Q, 0, true, db);
  return finishDriver(T, kind);
}

// ---------------------------------------------------------------------------------------------
// linear (x [N, I], W [O, I]); see ops/linear.ts for the summation orders

/** y[n,o] = Σ_i x[n,i]·W[o,i] + b[o], ascending i: A = x (rows n), B[i][o] = W[o,i]. */
export function linFwd(se: i32, T: i32, kind: i32, R: i32, N: i32, I: i32, O: i32, x: usize, w: usize, b: usize, y: usize, scratch: usize): i32 {
  SE = <usize>se;
  if (kind == 2) kind = pick(kind, scan(w, O * I), scan(x, N * I));
  const E = kind == 0 ? 8 : 4;
  const Ap = a16(scratch);
  layout(E, Ap + <usize>((N + MR - 1) / MR) * MR * I * E, N, I, O, T);
  for (let i = 0; i < I; i++) {
    store<i32>(L_kofsA + (<usize>i << 2), i);
    store<i32>(L_kofsB + (<usize>i << 2), i);
  }
  for (let o = 0; o < O; o++) store<i32>(L_qofs + (<usize>o << 2), o * I);
  packA(E, x, I, L_kofsA, N, I, Ap);
  describe(kind, R, <i32>SE, Ap, w, O, y, O, b, false, 0);
  return finishDriver(T, kind);
}

/** dx[n,i] = Σ_o gy[n,o]·W[o,i], ascending o: A = gy (rows n), B[o][i] = W[o,i]. */
export function linDx(se: i32, T: i32, kind: i32, R: i32, N: i32, I: i32, O: i32, gy: usize, w: usize, dx: usize, scratch: usize): i32 {
  SE = <usize>se;
  if (kind == 2) kind = pick(kind, scan(gy, N * O), scan(w, O * I));
  const E = kind == 0 ? 8 : 4;
  const Ap = a16(scratch);
  layout(E, Ap + <usize>((N + MR - 1) / MR) * MR * O * E, N, O, I, T);
  for (let o = 0; o < O; o++) {
    store<i32>(L_kofsA + (<usize>o << 2), o);
    store<i32>(L_kofsB + (<usize>o << 2), o * I);
  }
  for (let i = 0; i < I; i++) store<i32>(L_qofs + (<usize>i << 2), i);
  packA(E, gy, O, L_kofsA, N, O, Ap);
  describe(kind, R, <i32>SE, Ap, w, I, dx, I, 0, false, 0);
  return finishDriver(T, kind);
}

/**
 * dW[o,i] = Σ_n gy[n,o]·x[n,i] and db[o] = Σ_n gy[n,o], ascending n: A = gy (rows o), B[n][i] =
 * x[n,i] and a column of ones for db. dw = 0 or db = 0: not wanted.
 */
export function linDw(se: i32, T: i32, kind: i32, R: i32, N: i32, I: i32, O: i32, gy: usize, x: usize, dw: usize, db: usize, scratch: usize): i32 {
  SE = <usize>se;
  if (kind == 2) kind = pick(kind, scan(gy, N * O), max<f64>(dw != 0 ? scan(x, N * I) : 0, 1));
  const E = kind == 0 ? 8 : 4;
  const Q = dw != 0 ? I : 0;
  const Qall = Q + (db != 0 ? 1 : 0);
  const Ap = a16(scratch);
  layout(E, Ap + <usize>((O + MR - 1) / MR) * MR * N * E, O, N, Qall, T);
  for (let n = 0; n < N; n++) {
    store<i32>(L_kofsA + (<usize>n << 2), n * O);
    store<i32>(L_kofsB + (<usize>n << 2), n * I);
  }
  for (let i = 0; i < Q; i++) store<i32>(L_qofs + (<usize>i << 2), i);
  if (db != 0) store<i32>(L_qofs + (<usize>Q << 2), -2);
  packA(E, gy, 1, L_kofsA, O, N, Ap);
  describe(kind, R, <i32>SE, Ap, x, Q, dw, Q, 0, false, db);
  return finishDriver(T, kind);
}
