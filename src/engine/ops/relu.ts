/**
 * relu: y = max(x, 0), with ReLU'(0) = α from the tape's JacobianChoice (docs/DESIGN.md §2).
 *
 * Forward: y = x for x > 0, 0 for x ≤ 0 (±0 give +0), NaN for NaN. The sign of each input is
 * recorded on the tape as the op's routing decision: 1 (x > 0), 0 (x = ±0), −1 (x < 0, and NaN,
 * which like PyTorch's mask x > 0 passes no gradient).
 *
 * Backward: dx = gy where x > 0; 0 where x < 0; round_p(α_p · gy) where x = 0, with α_p = round_p(α).
 * A zero slope is a structural zero: it gives 0 even when gy is ±∞ or NaN.
 *
 * On a tape with kernels both directions run in kernels/ops.as.ts (reluFwd, reluBwd), bit for bit
 * the loops below.
 */
import { roundBy } from '../arith.ts';
import { memViews } from '../kernels/device.ts';
import type { Tensor } from '../tensor.ts';

export function relu(x: Tensor): Tensor {
  const tape = x.tape;
  const alpha = tape.arith.round(tape.options.jacobian.reluAlpha);
  if (tape.device) return reluDevice(x, alpha);
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
  tape.record('relu', [x], out, (gy) => {
    const { roundKind: rk, round } = tape.arith;
    const dx = new Float64Array(x.size);
    for (let i = 0; i < dx.length; i++) {
      if (sign[i] > 0) dx[i] = gy[i];
      else if (sign[i] === 0 && alpha !== 0) dx[i] = roundBy(rk, round, alpha * gy[i]); // ar.mulP(alpha, gy[i])
    }
    tape.addGrad(x, dx);
  });
  return out;
}

function reluDevice(x: Tensor, alpha: number): Tensor {
  const tape = x.tape;
  const d = tape.device!;
  const n = x.size;
  const xp = tape.devOf(x);
  const yp = tape.alloc(n);
  const sp = tape.allocBytes(n);
  d.raw.reluFwd(d.E, n, xp, yp, sp);
  const sign = memViews(d.memory).i8.slice(sp, sp + n);
  const out = tape.resultDev(yp, x.shape, [x], 'relu');
  tape.decisions.push({ kind: 'relu', output: out, sign });
  tape.recordDev('relu', [x], out, (gy) => {
    const dx = tape.alloc(n);
    d.raw.reluBwd(d.E, d.rk, n, sp, gy, alpha, dx);
    tape.addGradDev(x, dx, true);
  });
  return out;
}
