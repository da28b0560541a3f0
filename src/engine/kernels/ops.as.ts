// @ts-nocheck — AssemblyScript, compiled into kernels.wasm through kernels.as.ts; tsc skips it.
/**
 * The kernels of the ops around the convolutions and matrix products — ReLU, MaxPool (forward with
 * its tie sets, and the gradient scatter of every Jacobian), the elementwise add, the tape's
 * gradient accumulation and softmax cross-entropy — each bit-identical to its JS loop in
 * src/engine/ops (same operations in the same order, rounded the same way).
 *
 * Operands are tensors in the kernels' memory (src/engine/kernels/device.ts): values of the
 * engine's format p held as binary32 (E = 4; every format of ≤ 32 bits) or binary64 (E = 8, p =
 * binary64). `rk` is p's round kind and `ak` the accumulator's (round.as.ts: 0 none, 1 binary32,
 * 2 binary16, 3 bfloat16): strict mode has ak = rk; wide mode accumulates in binary32 (p ≤ 16
 * bits, ak = 1) or binary64 (p = binary32, ak = 0).
 *
 * Two ways to be bit-identical, chosen per op:
 * - in binary32 arithmetic, where a binary32 result rounded to p is p's rounding of the exact
 *   result (a product of two values of p ≤ 16 bits is exact in binary32; a sum or product rounded
 *   twice is rounded once, round.as.ts): ReLU's α·gy, the add, the accumulation, the scatter;
 * - in binary64 arithmetic with the JS path's roundings of doubles (r64), the JS expression for
 *   expression: softmax cross-entropy (exp and log are the host's Math.exp and Math.log, imported,
 *   since wasm has neither and another implementation could differ in the last bit).
 */
import { r16full, r32, r64, rbf16v } from './round.as';

// @ts-ignore
@external('env', 'exp') declare function hostExp(x: f64): f64;
// @ts-ignore
@external('env', 'log') declare function hostLog(x: f64): f64;

// @ts-ignore
@inline function ld(E: i32, p: usize, i: i32): f64 {
  return E == 8 ? load<f64>(p + (<usize>i << 3)) : <f64>load<f32>(p + (<usize>i << 2));
}

// @ts-ignore
@inline function st(E: i32, p: usize, i: i32, v: f64): void {
  if (E == 8) store<f64>(p + (<usize>i << 3), v);
  else store<f32>(p + (<usize>i << 2), <f32>v);
}

// ---------------------------------------------------------------------------------------------
// ReLU (ops/relu.ts)

/** y = x for x > 0 or NaN, +0 otherwise; sign = 1 (x > 0), 0 (x = ±0), −1 (x < 0 or NaN). */
export function reluFwd(E: i32, n: i32, x: usize, y: usize, sign: usize): void {
  let i = 0;
  if (E == 4) for (; i + 16 <= n; i += 16) relu16(x + (<usize>i << 2), y + (<usize>i << 2), sign + <usize>i);
  for (; i < n; i++) {
    const v = ld(E, x, i);
    store<i8>(sign + <usize>i, v > 0 ? 1 : v == 0 ? 0 : -1);
    st(E, y, i, v > 0 || v != v ? v : 0);
  }
}

/** reluFwd of 16 binary32 values: the signs as −(x > 0) + ¬(x > 0 ∨ x = 0), narrowed to bytes. */
// @ts-ignore
@inline function relu16(x: usize, y: usize, sign: usize): void {
  const s0 = relu4(x, y);
  const s1 = relu4(x + 16, y + 16);
  const s2 = relu4(x + 32, y + 32);
  const s3 = relu4(x + 48, y + 48);
  v128.store(sign, i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(s0, s1), i16x8.narrow_i32x4_s(s2, s3)));
}

// @ts-ignore
@inline function relu4(x: usize, y: usize): v128 {
  const v = v128.load(x);
  const zero = f32x4.splat(0);
  const gt = f32x4.gt(v, zero);
  v128.store(y, v128.and(v, v128.or(gt, f32x4.ne(v, v))));
  return i32x4.add(i32x4.neg(gt), v128.not(v128.or(gt, f32x4.eq(v, zero))));
}

/** dx = gy where sign > 0; round_p(α·gy) where sign = 0 and α ≠ 0; +0 elsewhere (a structural zero). */
export function reluBwd(E: i32, rk: i32, n: i32, sign: usize, gy: usize, alpha: f64, dx: usize): void {
  const a32 = <f32>alpha;
  let i = 0;
  // α ∈ [0, 1] (jacobians/family.ts), so α·gy stays in the range where r16full is exact.
  if (E == 4 && abs<f64>(alpha) <= 1) for (; i + 4 <= n; i += 4) reluBwd4(rk, sign + <usize>i, gy + (<usize>i << 2), a32, dx + (<usize>i << 2));
  for (; i < n; i++) {
    const s = load<i8>(sign + <usize>i);
    let d: f64 = 0;
    if (s > 0) d = ld(E, gy, i);
    else if (s == 0 && alpha != 0) d = E == 8 ? alpha * ld(E, gy, i) : <f64>r32(rk, a32 * <f32>ld(E, gy, i));
    st(E, dx, i, d);
  }
}

// @ts-ignore
@inline function reluBwd4(rk: i32, sign: usize, gy: usize, a32: f32, dx: usize): void {
  const s = i32x4.extend_low_i16x8_s(i16x8.extend_low_i8x16_s(v128.load32_zero(sign)));
  const g = v128.load(gy);
  let d = v128.and(g, i32x4.gt_s(s, i32x4.splat(0)));
  if (a32 != 0) {
    let p = f32x4.mul(f32x4.splat(a32), g);
    if (rk == 2) p = r16full(p);
    else if (rk == 3) p = rbf16v(p);
    d = v128.or(d, v128.and(p, i32x4.eq(s, i32x4.splat(0))));
  }
  v128.store(dx, d);
}

// ---------------------------------------------------------------------------------------------
// Elementwise add (ops/add.ts) and the tape's gradient accumulation (tape.ts addGrad)

/** y = round_p(a + b) elementwise (y may be a: dst += src in p). */
export function addP(E: i32, rk: i32, n: i32, a: usize, b: usize, y: usize): void {
  if (E == 8) {
    for (let i = 0; i < n; i++) st(8, y, i, ld(8, a, i) + ld(8, b, i));
    return;
  }
  let i = 0;
  // A sum of two binary16 values stays below 2^17, where r16full is exact (round.as.ts).
  for (; i + 4 <= n; i += 4) {
    let v = f32x4.add(v128.load(a + (<usize>i << 2)), v128.load(b + (<usize>i << 2)));
    if (rk == 2) v = r16full(v);
    else if (rk == 3) v = rbf16v(v);
    v128.store(y + (<usize>i << 2), v);
  }
  for (; i < n; i++) store<f32>(y + (<usize>i << 2), r32(rk, load<f32>(a + (<usize>i << 2)) + load<f32>(b + (<usize>i << 2))));
}

// ---------------------------------------------------------------------------------------------
// MaxPool (ops/maxpool2d.ts)

/**
 * Forward over planes of HW inputs and P outputs, K taps a window (map: P·K plane offsets, −1 on
 * padding, ascending within a window): y, and the tie sets as offsets (P·planes + 1) and the
 * compacted indices (flat input indices, ascending within a set). Returns the number of indices,
 * or −1 when a window is made only of padding. NaN: the set is {first NaN}.
 */
export function maxpoolFwd(E: i32, planes: i32, HW: i32, P: i32, K: i32, map: usize, x: usize, y: usize, offsets: usize, indices: usize): i32 {
  return E == 4 ? maxpoolFwdT<f32>(planes, HW, P, K, map, x, y, offsets, indices) : maxpoolFwdT<f64>(planes, HW, P, K, map, x, y, offsets, indices);
}

/**
 * Branch-free per window (the running compares of the JS loop mispredict on real data): the max m
 * over the window's taps (wasm max: a NaN anywhere makes m NaN), then the tie set = every tap equal
 * to m, ascending — the set the JS loop's restarts leave, −0 and +0 tying. m NaN: the first NaN.
 * The output is the value at the set's first index.
 */
function maxpoolFwdT<T>(planes: i32, HW: i32, P: i32, K: i32, map: usize, x: usize, y: usize, offsets: usize, indices: usize): i32 {
  let count = 0;
  const sh = alignof<T>();
  for (let plane = 0; plane < planes; plane++) {
    const base = plane * HW;
    const xb = x + (<usize>base << sh);
    for (let pos = 0; pos < P; pos++) {
      const o = plane * P + pos;
      const taps = map + (<usize>(pos * K) << 2);
      store<i32>(offsets + (<usize>o << 2), count);
      let m = <T>NaN;
      let seen = false;
      for (let t = 0; t < K; t++) {
        const idx = load<i32>(taps + (<usize>t << 2));
        if (idx < 0) continue;
        const v = load<T>(xb + (<usize>idx << sh));
        m = seen ? max<T>(m, v) : v;
        seen = true;
      }
      if (!seen) return -1;
      const start = count;
      if (m != m) {
        for (let t = 0; t < K; t++) {
          const idx = load<i32>(taps + (<usize>t << 2));
          if (idx < 0) continue;
          const v = load<T>(xb + (<usize>idx << sh));
          if (v != v) {
            store<i32>(indices + (<usize>count << 2), base + idx);
            count++;
            break;
          }
        }
      } else {
        for (let t = 0; t < K; t++) {
          const idx = load<i32>(taps + (<usize>t << 2));
          if (idx < 0) continue;
          store<i32>(indices + (<usize>count << 2), base + idx);
          count += i32(load<T>(xb + (<usize>idx << sh)) == m);
        }
      }
      store<T>(y + (<usize>o << sh), load<T>(x + (<usize>load<i32>(indices + (<usize>start << 2)) << sh)));
    }
  }
  store<i32>(offsets + (<usize>(planes * P) << 2), count);
  return count;
}

/**
 * maxpoolFwd for 2×2 windows at stride 2 without padding (LeNet's and VGG's): the same tie sets
 * and outputs, with the four taps addressed directly (p, p + 1, p + W, p + W + 1: ascending).
 */
export function maxpool2x2(E: i32, planes: i32, H: i32, W: i32, outH: i32, outW: i32, x: usize, y: usize, offsets: usize, indices: usize): i32 {
  return E == 4 ? maxpool2x2T<f32>(planes, H, W, outH, outW, x, y, offsets, indices) : maxpool2x2T<f64>(planes, H, W, outH, outW, x, y, offsets, indices);
}

function maxpool2x2T<T>(planes: i32, H: i32, W: i32, outH: i32, outW: i32, x: usize, y: usize, offsets: usize, indices: usize): i32 {
  const sh = alignof<T>();
  let count = 0;
  let o = 0;
  for (let plane = 0; plane < planes; plane++) {
    for (let oh = 0; oh < outH; oh++) {
      const row = plane * H * W + 2 * oh * W;
      for (let ow = 0; ow < outW; ow++, o++) {
        const p = row + 2 * ow;
        const a = load<T>(x + (<usize>p << sh));
        const b = load<T>(x + (<usize>(p + 1) << sh));
        const c = load<T>(x + (<usize>(p + W) << sh));
        const d = load<T>(x + (<usize>(p + W + 1) << sh));
        const m = max<T>(max<T>(a, b), max<T>(c, d));
        store<i32>(offsets + (<usize>o << 2), count);
        const q = indices + (<usize>count << 2);
        if (m != m) {
          store<i32>(q, a != a ? p : b != b ? p + 1 : c != c ? p + W : p + W + 1);
          count++;
        } else {
          store<i32>(q, p);
          let k = i32(a == m);
          store<i32>(q + (<usize>k << 2), p + 1);
          k += i32(b == m);
          store<i32>(q + (<usize>k << 2), p + W);
          k += i32(c == m);
          store<i32>(q + (<usize>k << 2), p + W + 1);
          count += k + i32(d == m);
        }
        store<T>(y + (<usize>o << sh), load<T>(x + (<usize>load<i32>(q) << sh)));
      }
    }
  }
  store<i32>(offsets + (<usize>o << 2), count);
  return count;
}

/**
 * The gradient scatter of one MaxPool branch: for each window o (ascending) and each index of its
 * tie set (ascending), dx[i] = acc(dx[i] + acc(w_t · gy[o])), w = wtab[k(k−1)/2 + t] for a set of
 * k (values of p, f64); zero weights are skipped. dx (n entries) starts at +0 and is rounded to p
 * at the end when the accumulator is wider than p. `acc64`: n doubles of scratch, used when the
 * accumulator is binary64 and p is not (binary32 wide).
 */
export function maxpoolBwd(E: i32, ak: i32, rk: i32, nOut: i32, n: i32, offsets: usize, indices: usize, wtab: usize, gy: usize, dx: usize, acc64: usize): void {
  if (ak == 0) maxpoolBwd64(E, nOut, n, offsets, indices, wtab, gy, dx, acc64);
  else maxpoolBwd32(ak, rk, nOut, n, offsets, indices, wtab, gy, dx);
}

function maxpoolBwd64(E: i32, nOut: i32, n: i32, offsets: usize, indices: usize, wtab: usize, gy: usize, dx: usize, acc64: usize): void {
  const s = E == 8 ? dx : acc64;
  memory.fill(s, 0, <usize>n << 3);
  for (let o = 0; o < nOut; o++) {
    const start = load<i32>(offsets + (<usize>o << 2));
    const k = load<i32>(offsets + (<usize>(o + 1) << 2)) - start;
    const row = wtab + (<usize>((k * (k - 1)) >> 1) << 3);
    const g = ld(E, gy, o);
    for (let t = 0; t < k; t++) {
      const w = load<f64>(row + (<usize>t << 3));
      if (w == 0) continue;
      const i = load<i32>(indices + (<usize>(start + t) << 2));
      const p = s + (<usize>i << 3);
      store<f64>(p, load<f64>(p) + w * g);
    }
  }
  if (E == 4) for (let i = 0; i < n; i++) store<f32>(dx + (<usize>i << 2), <f32>load<f64>(s + (<usize>i << 3)));
}

function maxpoolBwd32(ak: i32, rk: i32, nOut: i32, n: i32, offsets: usize, indices: usize, wtab: usize, gy: usize, dx: usize): void {
  memory.fill(dx, 0, <usize>n << 2);
  for (let o = 0; o < nOut; o++) {
    const start = load<i32>(offsets + (<usize>o << 2));
    const k = load<i32>(offsets + (<usize>(o + 1) << 2)) - start;
    const row = wtab + (<usize>((k * (k - 1)) >> 1) << 3);
    const g = load<f32>(gy + (<usize>o << 2));
    for (let t = 0; t < k; t++) {
      const w = load<f64>(row + (<usize>t << 3));
      if (w == 0) continue;
      const i = load<i32>(indices + (<usize>(start + t) << 2));
      const p = dx + (<usize>i << 2);
      store<f32>(p, r32(ak, load<f32>(p) + r32(ak, <f32>w * g)));
    }
  }
  if (ak != rk) for (let i = 0; i < n; i++) store<f32>(dx + (<usize>i << 2), r32(rk, load<f32>(dx + (<usize>i << 2))));
}

// ---------------------------------------------------------------------------------------------
// Softmax cross-entropy (ops/softmaxCrossEntropy.ts), in binary64 with the JS roundings

/**
 * The mean cross-entropy of logits z [N, K] against labels (i32): keeps e = exp(z − m) (N·K
 * doubles) and the row sums S (N doubles) for the backward, returns the loss (a value of p).
 */
export function sceFwd(E: i32, ak: i32, rk: i32, N: i32, K: i32, z: usize, labels: usize, e: usize, sums: usize): f64 {
  let total: f64 = 0;
  for (let n = 0; n < N; n++) {
    const row = n * K;
    const label = load<i32>(labels + (<usize>n << 2));
    let m: f64 = -Infinity;
    for (let k = 0; k < K; k++) {
      const v = ld(E, z, row + k);
      if (v > m) m = v;
    }
    let s: f64 = 0;
    let dLabel: f64 = 0;
    for (let k = 0; k < K; k++) {
      const d = r64(ak, ld(E, z, row + k) - m);
      if (k == label) dLabel = d;
      const ek = r64(ak, hostExp(d));
      store<f64>(e + (<usize>(row + k) << 3), ek);
      s = r64(ak, s + ek);
    }
    store<f64>(sums + (<usize>n << 3), s);
    total = r64(ak, total + r64(ak, r64(ak, hostLog(s)) - dLabel));
  }
  return r64(rk, r64(ak, total / <f64>N));
}

/** dz[n,k] = round_p(acc(acc(acc(e/S) − [k = label]) · acc(g/N))). */
export function sceBwd(E: i32, ak: i32, rk: i32, N: i32, K: i32, e: usize, sums: usize, labels: usize, g: f64, dz: usize): void {
  const gN = r64(ak, g / <f64>N);
  for (let n = 0; n < N; n++) {
    const row = n * K;
    const label = load<i32>(labels + (<usize>n << 2));
    const sn = load<f64>(sums + (<usize>n << 3));
    for (let k = 0; k < K; k++) {
      const p = r64(ak, load<f64>(e + (<usize>(row + k) << 3)) / sn);
      const q = k == label ? r64(ak, p - 1) : p;
      st(E, dz, row + k, r64(rk, r64(ak, q * gN)));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Batch norm (ops/batchnorm2d.ts) and average pooling (ops/avgpool2d.ts), in binary64 with the JS
// roundings: each JS expression roundBy(k, ·) of a double is rr(k, ·) of the same double here.

/** r64 with the binary32 case inline (the common one in hot loops). */
// @ts-ignore
@inline function rr(k: i32, x: f64): f64 {
  if (k == 0) return x;
  if (k == 1) return <f64><f32>x;
  return r64(k, x);
}

/**
 * Batch-norm forward of channels [c0, c1) (x, y: N·C·HW stored values; xhat: N·C·HW doubles kept
 * for the backward; invstd, gamma/beta (stored), stats: per channel). training: batch mean and
 * biased variance, and stats[2c], stats[2c+1] ← the running mean and variance updated with the
 * unbiased variance (mom = acc(momentum), keep = acc(1 − momentum) in double). Inference: stats
 * hold the running mean and variance, only read.
 */
export function bnFwd(E: i32, ak: i32, rk: i32, N: i32, C: i32, HW: i32, training: i32, x: usize, gamma: usize, beta: usize, stats: usize, eps: f64, momentum: f64, xhat: usize, invstd: usize, y: usize): void {
  if (E == 4 && (ak == 1 || ak == 2)) {
    bnFwd32(ak, rk, N, C, HW, training, x, gamma, beta, stats, eps, momentum, xhat, invstd, y);
    return;
  }
  const M = N * HW;
  const epsA = rr(ak, eps);
  for (let c = 0; c < C; c++) {
    let variance: f64;
    if (training) {
      let s: f64 = 0;
      for (let n = 0; n < N; n++) for (let i = 0, b = (n * C + c) * HW; i < HW; i++) s = rr(ak, s + ld(E, x, b + i));
      const mean = rr(ak, s / <f64>M);
      let s2: f64 = 0;
      for (let n = 0; n < N; n++) {
        for (let i = 0, b = (n * C + c) * HW; i < HW; i++) {
          const d = rr(ak, ld(E, x, b + i) - mean);
          store<f64>(xhat + (<usize>(b + i) << 3), d);
          s2 = rr(ak, s2 + rr(ak, d * d));
        }
      }
      variance = rr(ak, s2 / <f64>M);
      const unbiased = rr(ak, s2 / <f64>(M - 1));
      const mom = rr(ak, momentum);
      const keep = rr(ak, 1 - momentum);
      const pm = stats + (<usize>(2 * c) << 3);
      store<f64>(pm, rr(rk, rr(ak, rr(ak, keep * rr(rk, load<f64>(pm))) + rr(ak, mom * mean))));
      store<f64>(pm, rr(rk, rr(ak, rr(ak, keep * rr(rk, load<f64>(pm, 8))) + rr(ak, mom * unbiased))), 8);
    } else {
      const mean = rr(rk, load<f64>(stats + (<usize>(2 * c) << 3)));
      variance = rr(rk, load<f64>(stats + (<usize>(2 * c) << 3), 8));
      for (let n = 0; n < N; n++) for (let i = 0, b = (n * C + c) * HW; i < HW; i++) store<f64>(xhat + (<usize>(b + i) << 3), rr(ak, ld(E, x, b + i) - mean));
    }
    const inv = rr(ak, 1 / rr(ak, sqrt<f64>(rr(ak, variance + epsA))));
    store<f64>(invstd + (<usize>c << 3), inv);
    const g = ld(E, gamma, c);
    const bb = ld(E, beta, c);
    for (let n = 0; n < N; n++) {
      for (let i = 0, b = (n * C + c) * HW; i < HW; i++) {
        const p = xhat + (<usize>(b + i) << 3);
        const h = rr(ak, load<f64>(p) * inv);
        store<f64>(p, h);
        st(E, y, b + i, rr(rk, rr(ak, rr(ak, h * g) + bb)));
      }
    }
  }
}

/** Batch-norm backward: dβ, dγ (per channel), and dx when dx ≠ 0 (training: through the batch statistics). */
export function bnBwd(E: i32, ak: i32, rk: i32, N: i32, C: i32, HW: i32, training: i32, gy: usize, xhat: usize, invstd: usize, gamma: usize, dx: usize, dgamma: usize, dbeta: usize): void {
  if (E == 4 && (ak == 1 || ak == 2)) {
    bnBwd32(ak, rk, N, C, HW, training, gy, xhat, invstd, gamma, dx, dgamma, dbeta);
    return;
  }
  const M = <f64>(N * HW);
  for (let c = 0; c < C; c++) {
    let sg: f64 = 0;
    let sgx: f64 = 0;
    for (let n = 0; n < N; n++) {
      for (let i = 0, b = (n * C + c) * HW; i < HW; i++) {
        const g = ld(E, gy, b + i);
        sg = rr(ak, sg + g);
        sgx = rr(ak, sgx + rr(ak, g * load<f64>(xhat + (<usize>(b + i) << 3))));
      }
    }
    st(E, dbeta, c, rr(rk, sg));
    st(E, dgamma, c, rr(rk, sgx));
    if (dx == 0) continue;
    const k = rr(ak, ld(E, gamma, c) * load<f64>(invstd + (<usize>c << 3)));
    const a = rr(ak, sg / M);
    const bm = rr(ak, sgx / M);
    for (let n = 0; n < N; n++) {
      for (let i = 0, b = (n * C + c) * HW; i < HW; i++) {
        const g = ld(E, gy, b + i);
        const v = training
          ? rr(rk, rr(ak, k * rr(ak, rr(ak, g - a) - rr(ak, load<f64>(xhat + (<usize>(b + i) << 3)) * bm))))
          : rr(rk, rr(ak, k * g));
        st(E, dx, b + i, v);
      }
    }
  }
}

/** Average pooling forward: per window (K taps of map, ascending) s = acc(s + x), y = round_p(acc(s / K)). */
export function avgpoolFwd(E: i32, ak: i32, rk: i32, planes: i32, HW: i32, P: i32, K: i32, map: usize, x: usize, y: usize): void {
  for (let plane = 0; plane < planes; plane++) {
    const base = plane * HW;
    for (let pos = 0; pos < P; pos++) {
      let s: f64 = 0;
      for (let t = 0; t < K; t++) s = rr(ak, s + ld(E, x, base + load<i32>(map + (<usize>(pos * K + t) << 2))));
      st(E, y, plane * P + pos, rr(rk, rr(ak, s / <f64>K)));
    }
  }
}

/**
 * Average pooling backward: each window sends g = acc(gy / K) to its taps, an entry summing what it
 * gets in ascending window order (acc64: n doubles of scratch), then dx = round_p of the sums when
 * the accumulator is wider than p.
 */
export function avgpoolBwd(E: i32, ak: i32, rk: i32, planes: i32, HW: i32, P: i32, K: i32, map: usize, gy: usize, dx: usize, acc64: usize): void {
  const n = planes * HW;
  memory.fill(acc64, 0, <usize>n << 3);
  for (let plane = 0; plane < planes; plane++) {
    const base = plane * HW;
    for (let pos = 0; pos < P; pos++) {
      const g = rr(ak, ld(E, gy, plane * P + pos) / <f64>K);
      for (let t = 0; t < K; t++) {
        const p = acc64 + (<usize>(base + load<i32>(map + (<usize>(pos * K + t) << 2))) << 3);
        store<f64>(p, rr(ak, load<f64>(p) + g));
      }
    }
  }
  for (let i = 0; i < n; i++) {
    const v = load<f64>(acc64 + (<usize>i << 3));
    st(E, dx, i, ak == rk ? v : rr(rk, v));
  }
}

// ---------------------------------------------------------------------------------------------
// Batch norm with a binary32 or binary16 accumulator (ak = 1, 2; binary32 storage): every step in
// binary32 arithmetic, rounded with r32. The JS path rounds each double result to the accumulator;
// for +, −, ×, ÷ and √ of binary32 values the binary32 operation is that rounding (binary64 has
// ≥ 2·24 + 2 bits), and for binary16 the binary32 result rounded again is too (24 ≥ 2·11 + 2,
// binary16's whole range being normal in binary32). bfloat16 strict (ak = 3) keeps the binary64
// path: its subnormals are binary32's, where that margin is not shown. x̂ is kept as binary32 here
// (its values are the accumulator's), as doubles on the binary64 path.

/** Four channels' sums of x (each ascending n, then position, acc-rounded at each step) in R0…R3: four independent chains interleaved. */
let R0: f32 = 0;
let R1: f32 = 0;
let R2: f32 = 0;
let R3: f32 = 0;

function sum4(ak: i32, N: i32, C: i32, HW: i32, c: i32, x: usize): void {
  let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
  const plane = <usize>HW << 2;
  for (let n = 0; n < N; n++) {
    const p = x + (<usize>((n * C + c) * HW) << 2);
    for (let i = 0; i < HW; i++) {
      const q = p + (<usize>i << 2);
      s0 = r32(ak, s0 + load<f32>(q));
      s1 = r32(ak, s1 + load<f32>(q + plane));
      s2 = r32(ak, s2 + load<f32>(q + 2 * plane));
      s3 = r32(ak, s3 + load<f32>(q + 3 * plane));
    }
  }
  R0 = s0;
  R1 = s1;
  R2 = s2;
  R3 = s3;
}

/** Four channels centred (x̂ ← acc(x − mean), doubles) and their sums of squares in R0…R3, interleaved. */
function center4(ak: i32, N: i32, C: i32, HW: i32, c: i32, x: usize, xhat: usize, m0: f32, m1: f32, m2: f32, m3: f32): void {
  let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
  for (let n = 0; n < N; n++) {
    const b = (n * C + c) * HW;
    for (let i = 0; i < HW; i++) {
      const j = b + i;
      const d0 = r32(ak, load<f32>(x + (<usize>j << 2)) - m0);
      const d1 = r32(ak, load<f32>(x + (<usize>(j + HW) << 2)) - m1);
      const d2 = r32(ak, load<f32>(x + (<usize>(j + 2 * HW) << 2)) - m2);
      const d3 = r32(ak, load<f32>(x + (<usize>(j + 3 * HW) << 2)) - m3);
      store<f32>(xhat + (<usize>j << 2), d0);
      store<f32>(xhat + (<usize>(j + HW) << 2), d1);
      store<f32>(xhat + (<usize>(j + 2 * HW) << 2), d2);
      store<f32>(xhat + (<usize>(j + 3 * HW) << 2), d3);
      s0 = r32(ak, s0 + r32(ak, d0 * d0));
      s1 = r32(ak, s1 + r32(ak, d1 * d1));
      s2 = r32(ak, s2 + r32(ak, d2 * d2));
      s3 = r32(ak, s3 + r32(ak, d3 * d3));
    }
  }
  R0 = s0;
  R1 = s1;
  R2 = s2;
  R3 = s3;
}

/** The channel's sum of x (ascending n, then position), acc-rounded at each step. *//** The channel's sum of x (ascending n, then position), acc-rounded at each step. */
// @ts-ignore
@inline function sum32(ak: i32, N: i32, C: i32, HW: i32, c: i32, x: usize): f32 {
  let s: f32 = 0;
  for (let n = 0; n < N; n++) {
    const p = x + (<usize>((n * C + c) * HW) << 2);
    for (let i = 0; i < HW; i++) s = r32(ak, s + load<f32>(p + (<usize>i << 2)));
  }
  return s;
}

function bnFwd32(ak: i32, rk: i32, N: i32, C: i32, HW: i32, training: i32, x: usize, gamma: usize, beta: usize, stats: usize, eps: f64, momentum: f64, xhat: usize, invstd: usize, y: usize): void {
  const M = <f32>(N * HW);
  const epsA = <f32>r64(ak, eps);
  // Training: the batch variance of each channel into invstd (as a double, replaced below),
  // four channels at a time where there are four (independent sums interleaved).
  for (let c = 0; training && c < C; ) {
    if (C - c >= 4) {
      sum4(ak, N, C, HW, c, x);
      const m0 = r32(ak, R0 / M), m1 = r32(ak, R1 / M), m2 = r32(ak, R2 / M), m3 = r32(ak, R3 / M);
      center4(ak, N, C, HW, c, x, xhat, m0, m1, m2, m3);
      const q0 = R0, q1 = R1, q2 = R2, q3 = R3;
      runningStats32(ak, rk, M, c, m0, q0, stats, momentum, invstd);
      runningStats32(ak, rk, M, c + 1, m1, q1, stats, momentum, invstd);
      runningStats32(ak, rk, M, c + 2, m2, q2, stats, momentum, invstd);
      runningStats32(ak, rk, M, c + 3, m3, q3, stats, momentum, invstd);
      c += 4;
      continue;
    }
    const mean = r32(ak, sum32(ak, N, C, HW, c, x) / M);
    let s2: f32 = 0;
    for (let n = 0; n < N; n++) {
      const b = (n * C + c) * HW;
      for (let i = 0; i < HW; i++) {
        const d = r32(ak, load<f32>(x + (<usize>(b + i) << 2)) - mean);
        store<f32>(xhat + (<usize>(b + i) << 2), d);
        s2 = r32(ak, s2 + r32(ak, d * d));
      }
    }
    runningStats32(ak, rk, M, c, mean, s2, stats, momentum, invstd);
    c++;
  }
  for (let c = 0; c < C; c++) {
    let variance: f32;
    if (training) variance = <f32>load<f64>(invstd + (<usize>c << 3));
    else {
      const pm = stats + (<usize>(2 * c) << 3);
      const mean = <f32>r64(rk, load<f64>(pm));
      variance = <f32>r64(rk, load<f64>(pm, 8));
      for (let n = 0; n < N; n++) {
        const b = (n * C + c) * HW;
        for (let i = 0; i < HW; i++) store<f32>(xhat + (<usize>(b + i) << 2), r32(ak, load<f32>(x + (<usize>(b + i) << 2)) - mean));
      }
    }
    const inv = r32(ak, <f32>1 / r32(ak, sqrt<f32>(r32(ak, variance + epsA))));
    store<f64>(invstd + (<usize>c << 3), <f64>inv);
    normalize32(ak, rk, N, C, HW, c, inv, load<f32>(gamma + (<usize>c << 2)), load<f32>(beta + (<usize>c << 2)), xhat, y);
  }
}

/** Channel c's variance acc(S2/M) into invstd[c] (a double, for bnFwd32), and its running statistics updated (in double with the JS roundings). */
function runningStats32(ak: i32, rk: i32, M: f32, c: i32, mean: f32, s2: f32, stats: usize, momentum: f64, invstd: usize): void {
  store<f64>(invstd + (<usize>c << 3), <f64>r32(ak, s2 / M));
  const unbiased = r32(ak, s2 / (M - 1));
  const mom = r64(ak, momentum);
  const keep = r64(ak, 1 - momentum);
  const pm = stats + (<usize>(2 * c) << 3);
  store<f64>(pm, r64(rk, r64(ak, r64(ak, keep * r64(rk, load<f64>(pm))) + r64(ak, mom * <f64>mean))));
  store<f64>(pm, r64(rk, r64(ak, r64(ak, keep * r64(rk, load<f64>(pm, 8))) + r64(ak, mom * <f64>unbiased))), 8);
}

/** x̂ = acc(x̂ · inv) in place and y = round_p(acc(acc(x̂ · γ) + β)) for channel c (binary32 vectors, then the tail). */
function normalize32(ak: i32, rk: i32, N: i32, C: i32, HW: i32, c: i32, inv: f32, g: f32, bb: f32, xhat: usize, y: usize): void {
  const vinv = f32x4.splat(inv);
  const vg = f32x4.splat(g);
  const vb = f32x4.splat(bb);
  for (let n = 0; n < N; n++) {
    const b = (n * C + c) * HW;
    let i = 0;
    for (; i + 4 <= HW; i += 4) {
      const p = xhat + (<usize>(b + i) << 2);
      const h = rv(ak, f32x4.mul(v128.load(p), vinv));
      v128.store(p, h);
      v128.store(y + (<usize>(b + i) << 2), rv(rk, rv(ak, f32x4.add(rv(ak, f32x4.mul(h, vg)), vb))));
    }
    for (; i < HW; i++) {
      const p = xhat + (<usize>(b + i) << 2);
      const h = r32(ak, load<f32>(p) * inv);
      store<f32>(p, h);
      store<f32>(y + (<usize>(b + i) << 2), r32(rk, r32(ak, r32(ak, h * g) + bb)));
    }
  }
}

/**
 * Binary32 lanes rounded to the format of kind k (1: as they are, 2: binary16, 3: bfloat16). For
 * binary16 the lanes are results of one operation on binary16 values (below 2^33), where r16full
 * is exact (round.as.ts).
 */
// @ts-ignore
@inline function rv(k: i32, v: v128): v128 {
  if (k == 2) return r16full(v);
  if (k == 3) return rbf16v(v);
  return v;
}

function bnBwd32(ak: i32, rk: i32, N: i32, C: i32, HW: i32, training: i32, gy: usize, xhat: usize, invstd: usize, gamma: usize, dx: usize, dgamma: usize, dbeta: usize): void {
  const M = <f32>(N * HW);
  for (let c = 0; c < C; ) {
    const G = C - c >= 2 ? 2 : 1;
    if (G == 2) sums2(ak, N, C, HW, c, gy, xhat);
    else sums1(ak, N, C, HW, c, gy, xhat);
    const sg0 = R0, sgx0 = R1, sg1 = R2, sgx1 = R3;
    bwdChannel32(ak, rk, M, N, C, HW, c, training, sg0, sgx0, gy, xhat, invstd, gamma, dx, dgamma, dbeta);
    if (G == 2) bwdChannel32(ak, rk, M, N, C, HW, c + 1, training, sg1, sgx1, gy, xhat, invstd, gamma, dx, dgamma, dbeta);
    c += G;
  }
}

/** Channel c's Σ gy and Σ acc(gy · x̂) into R0, R1 (ascending n, then position). */
function sums1(ak: i32, N: i32, C: i32, HW: i32, c: i32, gy: usize, xhat: usize): void {
  let sg: f32 = 0;
  let sgx: f32 = 0;
  for (let n = 0; n < N; n++) {
    const b = (n * C + c) * HW;
    for (let i = 0; i < HW; i++) {
      const g = load<f32>(gy + (<usize>(b + i) << 2));
      sg = r32(ak, sg + g);
      sgx = r32(ak, sgx + r32(ak, g * load<f32>(xhat + (<usize>(b + i) << 2))));
    }
  }
  R0 = sg;
  R1 = sgx;
}

/** sums1 of channels c and c + 1 interleaved: R0, R1 for c; R2, R3 for c + 1. */
function sums2(ak: i32, N: i32, C: i32, HW: i32, c: i32, gy: usize, xhat: usize): void {
  let sg0: f32 = 0, sgx0: f32 = 0, sg1: f32 = 0, sgx1: f32 = 0;
  for (let n = 0; n < N; n++) {
    const b = (n * C + c) * HW;
    for (let i = 0; i < HW; i++) {
      const j = b + i;
      const g0 = load<f32>(gy + (<usize>j << 2));
      const g1 = load<f32>(gy + (<usize>(j + HW) << 2));
      sg0 = r32(ak, sg0 + g0);
      sg1 = r32(ak, sg1 + g1);
      sgx0 = r32(ak, sgx0 + r32(ak, g0 * load<f32>(xhat + (<usize>j << 2))));
      sgx1 = r32(ak, sgx1 + r32(ak, g1 * load<f32>(xhat + (<usize>(j + HW) << 2))));
    }
  }
  R0 = sg0;
  R1 = sgx0;
  R2 = sg1;
  R3 = sgx1;
}

/** dβ, dγ of channel c from its sums, and its dx when wanted (binary32 vectors, then the tail). */
function bwdChannel32(ak: i32, rk: i32, M: f32, N: i32, C: i32, HW: i32, c: i32, training: i32, sg: f32, sgx: f32, gy: usize, xhat: usize, invstd: usize, gamma: usize, dx: usize, dgamma: usize, dbeta: usize): void {
  store<f32>(dbeta + (<usize>c << 2), r32(rk, sg));
  store<f32>(dgamma + (<usize>c << 2), r32(rk, sgx));
  if (dx == 0) return;
  const k = r32(ak, load<f32>(gamma + (<usize>c << 2)) * <f32>load<f64>(invstd + (<usize>c << 3)));
  const a = r32(ak, sg / M);
  const bm = r32(ak, sgx / M);
  const vk = f32x4.splat(k);
  const va = f32x4.splat(a);
  const vbm = f32x4.splat(bm);
  for (let n = 0; n < N; n++) {
    const b = (n * C + c) * HW;
    let i = 0;
    for (; i + 4 <= HW; i += 4) {
      const g = v128.load(gy + (<usize>(b + i) << 2));
      const v = training
        ? rv(rk, rv(ak, f32x4.mul(vk, rv(ak, f32x4.sub(rv(ak, f32x4.sub(g, va)), rv(ak, f32x4.mul(v128.load(xhat + (<usize>(b + i) << 2)), vbm)))))))
        : rv(rk, rv(ak, f32x4.mul(vk, g)));
      v128.store(dx + (<usize>(b + i) << 2), v);
    }
    for (; i < HW; i++) {
      const g = load<f32>(gy + (<usize>(b + i) << 2));
      const v = training
        ? r32(rk, r32(ak, k * r32(ak, r32(ak, g - a) - r32(ak, load<f32>(xhat + (<usize>(b + i) << 2)) * bm))))
        : r32(rk, r32(ak, k * g));
      store<f32>(dx + (<usize>(b + i) << 2), v);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Optimizer updates (optim/sgd.ts, optim/adam.ts), in binary64 with the JS roundings to the master
// format q (round kind qk), on doubles: the parameters, gradients and state come and go as the
// optimizer's Float64Arrays.

/**
 * SGD: g ← R(g + R(wd·w)) if decay; buf ← g (fresh) or R(R(μ·buf) + g) if buf ≠ 0; g ← R(g + R(μ·buf))
 * (nesterov) or buf; w ← R(w − R(lr·g)). w, g, buf: n doubles each.
 */
export function sgdUpdate(qk: i32, n: i32, w: usize, g: usize, buf: usize, fresh: i32, lr: f64, mu: f64, wd: f64, decay: i32, nesterov: i32): void {
  for (let i = 0; i < n; i++) {
    const pw = w + (<usize>i << 3);
    let gi = load<f64>(g + (<usize>i << 3));
    if (decay) gi = rr(qk, gi + rr(qk, wd * load<f64>(pw)));
    if (buf != 0) {
      const pb = buf + (<usize>i << 3);
      const b = fresh ? gi : rr(qk, rr(qk, mu * load<f64>(pb)) + gi);
      store<f64>(pb, b);
      gi = nesterov ? rr(qk, gi + rr(qk, mu * b)) : b;
    }
    store<f64>(pw, rr(qk, load<f64>(pw) - rr(qk, lr * gi)));
  }
}

/**
 * Adam (PyTorch semantics, optim/adam.ts): m ← R(m + R(c1·R(g − m))), v ← R(R(β2·v) + R(c2·R(g·g))),
 * denom = R(R(R(√v) / c2s) + ε), w ← R(w − R(stepSize·R(m / denom))), after the weight decay.
 */
export function adamUpdate(qk: i32, n: i32, w: usize, g: usize, m: usize, v: usize, wd: f64, decay: i32, c1: f64, b2: f64, c2: f64, eps: f64, stepSize: f64, c2s: f64): void {
  for (let i = 0; i < n; i++) {
    const pw = w + (<usize>i << 3);
    const pm = m + (<usize>i << 3);
    const pv = v + (<usize>i << 3);
    let gi = load<f64>(g + (<usize>i << 3));
    if (decay) gi = rr(qk, gi + rr(qk, wd * load<f64>(pw)));
    const mi = rr(qk, load<f64>(pm) + rr(qk, c1 * rr(qk, gi - load<f64>(pm))));
    store<f64>(pm, mi);
    const vi = rr(qk, rr(qk, b2 * load<f64>(pv)) + rr(qk, c2 * rr(qk, gi * gi)));
    store<f64>(pv, vi);
    const denom = rr(qk, rr(qk, rr(qk, sqrt<f64>(vi)) / c2s) + eps);
    store<f64>(pw, rr(qk, load<f64>(pw) - rr(qk, stepSize * rr(qk, mi / denom))));
  }
}
