/**
 * linear: y = x·Wᵀ + b, x [N, in], W [out, in], b [out]:
 *
 *   y[n,o] = Σ_i x[n,i] · W[o,i]  +  b[o]
 *
 * Summation orders (each sum accumulates with the tape's Arith, rounded to p once at the end):
 * - forward: ascending i, then + b[o] last;
 * - dx[n,i] = Σ_o gy[n,o] · W[o,i], ascending o;
 * - dW[o,i] = Σ_n gy[n,o] · x[n,i], ascending n;
 * - db[o] = Σ_n gy[n,o], ascending n.
 * The products-and-sums steps go through dotStep (arith.ts), the same value as Arith.addProduct.
 *
 * At 16, 32 and 64 bits the WebAssembly SIMD kernels (../kernels) compute the same sums in the same
 * orders, bit for bit, on the tape's device tensors. The loops below run for the other formats, for
 * a checked Arith, with ADZONE_KERNELS=js, and whenever a kernel declines (kernels/index.ts).
 */
import { type Arith, dotStep } from '../arith.ts';
import type { KernelMode } from '../kernels/index.ts';
import { linearForwardDev, linearInputGradDev, linearParamGradDev } from '../kernels/linear.ts';
import type { Tensor } from '../tensor.ts';

export function linear(x: Tensor, w: Tensor, b: Tensor | null): Tensor {
  if (x.shape.length !== 2 || w.shape.length !== 2)
    throw new Error(`linear: x must be [N, in] and W [out, in], got ${x.shape.join('×')} and ${w.shape.join('×')}`);
  const [N, I] = x.shape;
  const [O, Iw] = w.shape;
  if (Iw !== I) throw new Error(`linear: W has ${Iw} inputs, x has ${I}`);
  if (b && b.size !== O) throw new Error(`linear: bias has ${b.size} values, needs ${O}`);
  const km = x.tape.device?.gemm;
  return (km && linearDevice(km, N, I, O, x, w, b)) || linearJs(N, I, O, x, w, b);
}

/** The JS loops, forward and backward. */
function linearJs(N: number, I: number, O: number, x: Tensor, w: Tensor, b: Tensor | null): Tensor {
  const tape = x.tape;
  const ar = tape.arith;
  const xd = x.data;
  const wd = w.data;
  const y = forward(ar, N, I, O, xd, wd, b ? b.data : null);
  const inputs = b ? [x, w, b] : [x, w];
  const out = tape.result(y, [N, O], inputs, 'linear');
  tape.record('linear', inputs, out, (gy) => {
    if (x.requiresGrad) tape.addGrad(x, inputGrad(ar, N, I, O, gy, wd));
    if (w.requiresGrad) tape.addGrad(w, weightGrad(ar, N, I, O, gy, xd));
    if (b?.requiresGrad) tape.addGrad(b, biasGrad(ar, N, O, gy));
  });
  return out;
}

/** The kernels on device tensors (kernels/linear.ts), each falling back to its JS loop when it declines. */
function linearDevice(km: KernelMode, N: number, I: number, O: number, x: Tensor, w: Tensor, b: Tensor | null): Tensor | null {
  const tape = x.tape;
  const ar = tape.arith;
  const xp = tape.devOf(x);
  const wp = tape.devOf(w);
  const yp = linearForwardDev(tape, km, N, I, O, xp, wp, b ? tape.devOf(b) : 0);
  if (yp === null) return null;
  const inputs = b ? [x, w, b] : [x, w];
  const out = tape.resultDev(yp, [N, O], inputs, 'linear');
  tape.recordDev('linear', inputs, out, (gy) => {
    let gyHost: Float64Array | null = null;
    const host = () => {
      gyHost ??= tape.download(gy, out.size);
      return gyHost;
    };
    if (x.requiresGrad) {
      const dx = linearInputGradDev(tape, km, N, I, O, gy, wp);
      if (dx !== null) tape.addGradDev(x, dx, true);
      else tape.addGrad(x, inputGrad(ar, N, I, O, host(), w.data));
    }
    const wantB = b?.requiresGrad === true;
    if (!w.requiresGrad && !wantB) return;
    const k = linearParamGradDev(tape, km, N, I, O, gy, xp, w.requiresGrad, wantB);
    if (w.requiresGrad) {
      if (k) tape.addGradDev(w, k.dw, true);
      else tape.addGrad(w, weightGrad(ar, N, I, O, host(), x.data));
    }
    if (b && wantB) {
      if (k) tape.addGradDev(b, k.db, true);
      else tape.addGrad(b, biasGrad(ar, N, O, host()));
    }
  });
  return out;
}

function forward(ar: Arith, N: number, I: number, O: number, xd: Float64Array, wd: Float64Array, bd: Float64Array | null): Float64Array {
  const { accKind: kind, acc } = ar;
  const y = new Float64Array(N * O);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      let s = 0;
      for (let i = 0; i < I; i++) s = dotStep(kind, acc, s, xd[n * I + i], wd[o * I + i]);
      if (bd) s = ar.add(s, bd[o]);
      y[n * O + o] = ar.round(s);
    }
  }
  return y;
}

function inputGrad(ar: Arith, N: number, I: number, O: number, gy: Float64Array, wd: Float64Array): Float64Array {
  const { accKind: kind, acc } = ar;
  const dx = new Float64Array(N * I);
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < I; i++) {
      let s = 0;
      for (let o = 0; o < O; o++) s = dotStep(kind, acc, s, gy[n * O + o], wd[o * I + i]);
      dx[n * I + i] = ar.round(s);
    }
  }
  return dx;
}

function weightGrad(ar: Arith, N: number, I: number, O: number, gy: Float64Array, xd: Float64Array): Float64Array {
  const { accKind: kind, acc } = ar;
  const dw = new Float64Array(O * I);
  for (let o = 0; o < O; o++) {
    for (let i = 0; i < I; i++) {
      let s = 0;
      for (let n = 0; n < N; n++) s = dotStep(kind, acc, s, gy[n * O + o], xd[n * I + i]);
      dw[o * I + i] = ar.round(s);
    }
  }
  return dw;
}

function biasGrad(ar: Arith, N: number, O: number, gy: Float64Array): Float64Array {
  const db = new Float64Array(O);
  for (let o = 0; o < O; o++) {
    let s = 0;
    for (let n = 0; n < N; n++) s = ar.add(s, gy[n * O + o]);
    db[o] = ar.round(s);
  }
  return db;
}
