/**
 * relu: y = max(x, 0), with ReLU'(0) = α from the tape's JacobianChoice (docs/DESIGN.md §2).
 *
 * Forward: y = x for x > 0, 0 for x ≤ 0 (±0 give +0), NaN for NaN. The sign of each input is
 * recorded on the tape as the op's routing decision: 1 (x > 0), 0 (x = ±0), −1 (x < 0, and NaN,
 * which like PyTorch's mask x > 0 passes no gradient).
 *
 * Backward: dx = gy where x > 0; 0 where x < 0; round_p(α_p · gy) where x = 0, with α_p = round_p(α).
 * A zero slope is a structural zero: it gives 0 even when gy is ±∞ or NaN.
 */
import { roundBy } from '../arith.ts';
import type { Tensor } from '../tensor.ts';

export function relu(x: Tensor): Tensor {
  const tape = x.tape;
  const ar = tape.arith;
  const xd = x.data;
  const y = new Float64Array(x.size);
  const sign = new Int8Array(x.size);
  for (let i = 0; i < xd.length; i++) {
    const v = xd[i];
    sign[i] = v > 0 ? 1 : v === 0 ? 0 : -1;
    y[i] = v > 0 || Number.isNaN(v) ? v : 0;
  }
  const out = tape.result(y, x.shape, [x], 'relu');
  tape.decisions.push({ kind: 'relu', output: out, sign });
  const alpha = ar.round(tape.options.jacobian.reluAlpha);
  tape.record('relu', [x], out, (gy) => {
    const { roundKind: rk, round } = ar;
    const dx = new Float64Array(x.size);
    for (let i = 0; i < dx.length; i++) {
      if (sign[i] > 0) dx[i] = gy[i];
      else if (sign[i] === 0 && alpha !== 0) dx[i] = roundBy(rk, round, alpha * gy[i]); // ar.mulP(alpha, gy[i])
    }
    tape.addGrad(x, dx);
  });
  return out;
}
