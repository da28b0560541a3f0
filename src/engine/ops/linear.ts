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
 */
import { dotStep } from '../arith.ts';
import type { Tensor } from '../tensor.ts';

export function linear(x: Tensor, w: Tensor, b: Tensor | null): Tensor {
  const tape = x.tape;
  const ar = tape.arith;
  const { accKind: kind, acc } = ar;
  if (x.shape.length !== 2 || w.shape.length !== 2) throw new Error(`linear: x must be [N, in] and W [out, in], got ${x.shape.join('×')} and ${w.shape.join('×')}`);
  const [N, I] = x.shape;
  const [O, Iw] = w.shape;
  if (Iw !== I) throw new Error(`linear: W has ${Iw} inputs, x has ${I}`);
  if (b && b.size !== O) throw new Error(`linear: bias has ${b.size} values, needs ${O}`);
  const xd = x.data;
  const wd = w.data;

  const y = new Float64Array(N * O);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      let s = 0;
      for (let i = 0; i < I; i++) s = dotStep(kind, acc, s, xd[n * I + i], wd[o * I + i]);
      if (b) s = ar.add(s, b.data[o]);
      y[n * O + o] = ar.round(s);
    }
  }
  const inputs = b ? [x, w, b] : [x, w];
  const out = tape.result(y, [N, O], inputs, 'linear');

  tape.record('linear', inputs, out, (gy) => {
    if (x.requiresGrad) {
      const dx = new Float64Array(x.size);
      for (let n = 0; n < N; n++) {
        for (let i = 0; i < I; i++) {
          let s = 0;
          for (let o = 0; o < O; o++) s = dotStep(kind, acc, s, gy[n * O + o], wd[o * I + i]);
          dx[n * I + i] = ar.round(s);
        }
      }
      tape.addGrad(x, dx);
    }
    if (w.requiresGrad) {
      const dw = new Float64Array(w.size);
      for (let o = 0; o < O; o++) {
        for (let i = 0; i < I; i++) {
          let s = 0;
          for (let n = 0; n < N; n++) s = dotStep(kind, acc, s, gy[n * O + o], xd[n * I + i]);
          dw[o * I + i] = ar.round(s);
        }
      }
      tape.addGrad(w, dw);
    }
    if (b && b.requiresGrad) {
      const db = new Float64Array(O);
      for (let o = 0; o < O; o++) {
        let s = 0;
        for (let n = 0; n < N; n++) s = ar.add(s, gy[n * O + o]);
        db[o] = ar.round(s);
      }
      tape.addGrad(b, db);
    }
  });
  return out;
}
