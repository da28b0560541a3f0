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
 * orders, bit for bit. The loops below run for the other formats, for a checked Arith, with
 * ADZONE_KERNELS=js, and whenever a kernel declines (kernels/index.ts).
 */
import { dotStep, type Arith } from '../arith.ts';
import { kernelMode } from '../kernels/index.ts';
import { linearForwardKernel, linearInputGradKernel, linearParamGradKernel } from '../kernels/linear.ts';
import type { Tensor } from '../tensor.ts';

export function linear(x: Tensor, w: Tensor, b: Tensor | null): Tensor {
  const tape = x.tape;
  const ar = tape.arith;
  if (x.shape.length !== 2 || w.shape.length !== 2)
    throw new Error(`linear: x must be [N, in] and W [out, in], got ${x.shape.join('×')} and ${w.shape.join('×')}`);
  const [N, I] = x.shape;
  const [O, Iw] = w.shape;
  if (Iw !== I) throw new Error(`linear: W has ${Iw} inputs, x has ${I}`);
  if (b && b.size !== O) throw new Error(`linear: bias has ${b.size} values, needs ${O}`);
  const xd = x.data;
  const wd = w.data;
  const km = kernelMode(ar);

  const y = (km && linearForwardKernel(km, N, I, O, xd, wd, b ? b.data : null)) ?? forward(ar, N, I, O, xd, wd, b ? b.data : null);
  const inputs = b ? [x, w, b] : [x, w];
  const out = tape.result(y, [N, O], inputs, 'linear');

  tape.record('linear', inputs, out, (gy) => {
    if (x.requiresGrad) tape.addGrad(x, (km && linearInputGradKernel(km, N, I, O, gy, wd)) ?? inputGrad(ar, N, I, O, gy, wd));
    const wantB = b?.requiresGrad === true;
    if (!w.requiresGrad && !wantB) return;
    const k = km && linearParamGradKernel(km, N, I, O, gy, xd, w.requiresGrad, wantB);
    if (w.requiresGrad) tape.addGrad(w, k?.dw ?? weightGrad(ar, N, I, O, gy, xd));
    if (b && wantB) tape.addGrad(b, k?.db ?? biasGrad(ar, N, O, gy));
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
