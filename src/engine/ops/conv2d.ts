/**
 * conv2d (NCHW, zero padding, optional bias; weight [out, in, kh, kw]):
 *
 *   y[n,o,oh,ow] = Σ_{c,i,j} w[o,c,i,j] · x[n, c, oh·sh − ph + i, ow·sw − pw + j]  +  b[o]
 *
 * Summation orders (each sum accumulates with the tape's Arith and is rounded to p once, at the end):
 * - forward: terms in ascending (c, i, j) — the flat order of w[o] — then + b[o] last. Terms that
 *   fall on the zero padding are skipped (they would add exactly 0).
 * - dx[n,c,h,w] = Σ w[o,c,i,j] · gy[n,o,oh,ow] over every (o, oh, ow, i, j) that reads x[n,c,h,w],
 *   ascending in that order (a scatter over the outputs).
 * - dw[o,c,i,j] = Σ gy[n,o,oh,ow] · x[n,c,…] over ascending (n, oh, ow).
 * - db[o] = Σ gy[n,o,oh,ow] over ascending (n, oh, ow).
 * The products-and-sums steps go through dotStep (arith.ts), the same value as Arith.addProduct.
 *
 * At 16, 32 and 64 bits the WebAssembly SIMD kernels (../kernels) compute the same sums in the same
 * orders, bit for bit, on the tape's device tensors. The loops below run for the other formats, for
 * a checked Arith, with ADZONE_KERNELS=js, and whenever a kernel declines (kernels/index.ts).
 */
import type { Pair } from '../../problem/index.ts';
import { type Arith, dotStep } from '../arith.ts';
import { type ConvShape, conv2dForwardDev, conv2dInputGradDev, conv2dParamGradDev } from '../kernels/conv2d.ts';
import type { KernelMode } from '../kernels/index.ts';
import type { Tensor } from '../tensor.ts';
import { windowMap } from '../windows.ts';

export interface Conv2dOptions {
  readonly stride: Pair;
  /** Zero padding on each side, [rows, cols]. */
  readonly padding: Pair;
}

export function conv2d(x: Tensor, w: Tensor, b: Tensor | null, { stride, padding }: Conv2dOptions): Tensor {
  const tape = x.tape;
  if (x.shape.length !== 4 || w.shape.length !== 4)
    throw new Error(`conv2d: x and w must be 4-D (NCHW, OIHW), got ${x.shape.join('×')} and ${w.shape.join('×')}`);
  const [N, C, H, W] = x.shape;
  const [O, Cw, KH, KW] = w.shape;
  if (Cw !== C) throw new Error(`conv2d: weight has ${Cw} input channels, x has ${C}`);
  if (b && b.size !== O) throw new Error(`conv2d: bias has ${b.size} values, needs ${O}`);
  const { outH, outW, k: K, map } = windowMap(H, W, [KH, KW], stride, padding);
  const s: Loops = { N, C, HW: H * W, O, K, P: outH * outW, map };
  const shape: ConvShape = { N, C, H, W, O, KH, KW, stride, padding, outH, outW };
  const km = tape.device?.gemm;
  return (km && conv2dDevice(km, shape, s, x, w, b)) || conv2dJs(s, shape, x, w, b);
}

/** The JS loops, forward and backward. */
function conv2dJs(s: Loops, shape: ConvShape, x: Tensor, w: Tensor, b: Tensor | null): Tensor {
  const tape = x.tape;
  const ar = tape.arith;
  const xd = x.data;
  const wd = w.data;
  const y = forward(ar, s, xd, wd, b ? b.data : null);
  const inputs = b ? [x, w, b] : [x, w];
  const out = tape.result(y, [shape.N, shape.O, shape.outH, shape.outW], inputs, 'conv2d');
  tape.record('conv2d', inputs, out, (gy) => {
    if (x.requiresGrad) tape.addGrad(x, inputGrad(ar, s, gy, wd));
    if (w.requiresGrad) tape.addGrad(w, weightGrad(ar, s, gy, xd));
    if (b?.requiresGrad) tape.addGrad(b, biasGrad(ar, s, gy));
  });
  return out;
}

/**
 * The kernels on device tensors (kernels/conv2d.ts), each direction falling back to its JS loop
 * when its kernel declines; null when the forward kernel declines (then conv2dJs runs).
 */
function conv2dDevice(km: KernelMode, shape: ConvShape, s: Loops, x: Tensor, w: Tensor, b: Tensor | null): Tensor | null {
  const tape = x.tape;
  const ar = tape.arith;
  const xp = tape.devOf(x);
  const wp = tape.devOf(w);
  const yp = conv2dForwardDev(tape, km, shape, xp, wp, b ? tape.devOf(b) : 0);
  if (yp === null) return null;
  const inputs = b ? [x, w, b] : [x, w];
  const out = tape.resultDev(yp, [shape.N, shape.O, shape.outH, shape.outW], inputs, 'conv2d');
  tape.recordDev('conv2d', inputs, out, (gy) => {
    let gyHost: Float64Array | null = null;
    const host = () => {
      gyHost ??= tape.download(gy, out.size);
      return gyHost;
    };
    if (x.requiresGrad) {
      const dx = conv2dInputGradDev(tape, km, shape, gy, wp);
      if (dx !== null) tape.addGradDev(x, dx, true);
      else tape.addGrad(x, inputGrad(ar, s, host(), w.data));
    }
    const wantB = b?.requiresGrad === true;
    if (!w.requiresGrad && !wantB) return;
    const k = conv2dParamGradDev(tape, km, shape, gy, xp, w.requiresGrad, wantB);
    if (w.requiresGrad) {
      if (k) tape.addGradDev(w, k.dw, true);
      else tape.addGrad(w, weightGrad(ar, s, host(), x.data));
    }
    if (b && wantB) {
      if (k) tape.addGradDev(b, k.db, true);
      else tape.addGrad(b, biasGrad(ar, s, host()));
    }
  });
  return out;
}

/** Sizes of the JS loops: P output positions per plane, K = kh·kw taps, map from windowMap. */
interface Loops {
  readonly N: number;
  readonly C: number;
  readonly HW: number;
  readonly O: number;
  readonly K: number;
  readonly P: number;
  readonly map: Int32Array;
}

function forward(ar: Arith, { N, C, HW, O, K, P, map }: Loops, xd: Float64Array, wd: Float64Array, bd: Float64Array | null): Float64Array {
  const { accKind: kind, acc } = ar;
  const y = new Float64Array(N * O * P);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      for (let pos = 0; pos < P; pos++) {
        let s = 0;
        for (let c = 0; c < C; c++) {
          const xBase = (n * C + c) * HW;
          const wBase = (o * C + c) * K;
          for (let t = 0; t < K; t++) {
            const idx = map[pos * K + t];
            if (idx >= 0) s = dotStep(kind, acc, s, wd[wBase + t], xd[xBase + idx]);
          }
        }
        if (bd) s = ar.add(s, bd[o]);
        y[(n * O + o) * P + pos] = ar.round(s);
      }
    }
  }
  return y;
}

function inputGrad(ar: Arith, { N, C, HW, O, K, P, map }: Loops, gy: Float64Array, wd: Float64Array): Float64Array {
  const { accKind: kind, acc } = ar;
  const dx = new Float64Array(N * C * HW);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      for (let pos = 0; pos < P; pos++) {
        const g = gy[(n * O + o) * P + pos];
        for (let c = 0; c < C; c++) {
          const xBase = (n * C + c) * HW;
          const wBase = (o * C + c) * K;
          for (let t = 0; t < K; t++) {
            const idx = map[pos * K + t];
            if (idx >= 0) dx[xBase + idx] = dotStep(kind, acc, dx[xBase + idx], wd[wBase + t], g);
          }
        }
      }
    }
  }
  for (let i = 0; i < dx.length; i++) dx[i] = ar.round(dx[i]);
  return dx;
}

function weightGrad(ar: Arith, { N, C, HW, O, K, P, map }: Loops, gy: Float64Array, xd: Float64Array): Float64Array {
  const { accKind: kind, acc } = ar;
  const dw = new Float64Array(O * C * K);
  for (let o = 0; o < O; o++) {
    for (let c = 0; c < C; c++) {
      for (let t = 0; t < K; t++) {
        let s = 0;
        for (let n = 0; n < N; n++) {
          const xBase = (n * C + c) * HW;
          const gBase = (n * O + o) * P;
          for (let pos = 0; pos < P; pos++) {
            const idx = map[pos * K + t];
            if (idx >= 0) s = dotStep(kind, acc, s, gy[gBase + pos], xd[xBase + idx]);
          }
        }
        dw[(o * C + c) * K + t] = ar.round(s);
      }
    }
  }
  return dw;
}

function biasGrad(ar: Arith, { N, O, P }: Loops, gy: Float64Array): Float64Array {
  const db = new Float64Array(O);
  for (let o = 0; o < O; o++) {
    let s = 0;
    for (let n = 0; n < N; n++) for (let pos = 0; pos < P; pos++) s = ar.add(s, gy[(n * O + o) * P + pos]);
    db[o] = ar.round(s);
  }
  return db;
}
