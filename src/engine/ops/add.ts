/**
 * add: y = a + b elementwise, same shape (the residual connection body(x) + shortcut(x)).
 *
 * Forward: y[i] = round_p(a[i] + b[i]) — an elementwise op of its own, rounded to p in both modes
 * (one addition, so strict and wide agree). IEEE: ∞ + (−∞) = NaN.
 * Backward: da = gy, db = gy (no arithmetic; the tape adds them into whatever else a and b receive).
 * On a tape with kernels the forward is kernels/ops.as.ts addP, bit for bit the loop below.
 */
import { roundBy } from '../arith.ts';
import type { Tensor } from '../tensor.ts';

export function add(a: Tensor, b: Tensor): Tensor {
  const tape = a.tape;
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(`add: shapes ${a.shape.join('×')} and ${b.shape.join('×')} differ`);
  }
  const d = tape.device;
  if (d) {
    const yp = tape.alloc(a.size);
    d.raw.addP(d.E, d.rk, a.size, tape.devOf(a), tape.devOf(b), yp);
    const out = tape.resultDev(yp, a.shape, [a, b], 'add');
    tape.recordDev('add', [a, b], out, (gy) => {
      tape.addGradDev(a, gy, false);
      tape.addGradDev(b, gy, false);
    });
    return out;
  }
  const { roundKind: rk, round } = tape.arith;
  const ad = a.data;
  const bd = b.data;
  const y = new Float64Array(a.size);
  for (let i = 0; i < y.length; i++) y[i] = roundBy(rk, round, ad[i] + bd[i]); // addP(ad[i], bd[i])
  const out = tape.result(y, a.shape, [a, b], 'add');
  tape.record('add', [a, b], out, (gy) => {
    tape.addGrad(a, gy);
    tape.addGrad(b, gy);
  });
  return out;
}
