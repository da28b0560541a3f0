/**
 * avgpool2d (NCHW, no padding, floor output size; PyTorch AvgPool2d with padding 0):
 *
 *   y[n,c,oh,ow] = (Σ_{i,j} x[n, c, oh·sh + i, ow·sw + j]) / K,   K = kh·kw
 *
 * Forward, per window: s = Σ x over the window in row-major order (ascending flat index),
 * accumulated with the tape's Arith (strict: each addition rounded to p; wide: in W), then
 * y = round_p(acc(s / K)) — the sum divided by K in double, then rounded (correctly rounded for
 * p ≤ 32 in strict mode, see arith.ts).
 *
 * Backward: each window sends acc(gy[o] / K) to each of its K entries; an entry covered by several
 * (overlapping) windows sums their contributions in ascending output order o; dx is rounded to p
 * at the end. Without overlap every entry gets exactly one term, round_p(gy[o] / K).
 *
 * On a tape with kernels both directions run in kernels/ops.as.ts (avgpoolFwd, avgpoolBwd), bit
 * for bit the loops below.
 */
import type { Pair } from '../../problem/index.ts';
import { roundAccumulated, roundBy } from '../arith.ts';
import { uploadI32 } from '../kernels/device.ts';
import type { Tensor } from '../tensor.ts';
import { windowMap } from '../windows.ts';

export interface AvgPool2dOptions {
  readonly kernel: Pair;
  readonly stride: Pair;
}

export function avgpool2d(x: Tensor, { kernel, stride }: AvgPool2dOptions): Tensor {
  const tape = x.tape;
  const ar = tape.arith;
  if (x.shape.length !== 4) throw new Error(`avgpool2d: x must be 4-D (NCHW), got ${x.shape.join('×')}`);
  const [N, C, H, W] = x.shape;
  const { outH, outW, k: K, map } = windowMap(H, W, kernel, stride, [0, 0]);
  const P = outH * outW;
  const HW = H * W;
  const d = tape.device;
  if (d) {
    const mapP = uploadI32(d, map);
    const yp = tape.alloc(N * C * P);
    d.raw.avgpoolFwd(d.E, d.ak, d.rk, N * C, HW, P, K, mapP, tape.devOf(x), yp);
    const out = tape.resultDev(yp, [N, C, outH, outW], [x], 'avgpool2d');
    tape.recordDev('avgpool2d', [x], out, (gy) => {
      const dx = tape.alloc(x.size);
      d.raw.avgpoolBwd(d.E, d.ak, d.rk, N * C, HW, P, K, mapP, gy, dx, tape.allocBytes(8 * x.size));
      tape.addGradDev(x, dx, true);
    });
    return out;
  }
  const xd = x.data;
  // acc(x) and round(x) as roundBy(ak, A, x) and roundBy(rk, R, x): the same values as ar.acc / ar.round.
  const { accKind: ak, acc: A, roundKind: rk, round: R } = ar;

  const y = new Float64Array(N * C * P);
  for (let plane = 0; plane < N * C; plane++) {
    const base = plane * HW;
    for (let pos = 0; pos < P; pos++) {
      let s = 0;
      for (let t = 0; t < K; t++) s = roundBy(ak, A, s + xd[base + map[pos * K + t]]); // ar.add
      y[plane * P + pos] = roundBy(rk, R, roundBy(ak, A, s / K)); // round(div(s, K))
    }
  }
  const out = tape.result(y, [N, C, outH, outW], [x], 'avgpool2d');

  tape.record('avgpool2d', [x], out, (gy) => {
    const dx = new Float64Array(x.size);
    for (let plane = 0; plane < N * C; plane++) {
      const base = plane * HW;
      for (let pos = 0; pos < P; pos++) {
        const g = roundBy(ak, A, gy[plane * P + pos] / K); // ar.div
        for (let t = 0; t < K; t++) {
          const i = base + map[pos * K + t];
          dx[i] = roundBy(ak, A, dx[i] + g); // ar.add
        }
      }
    }
    roundAccumulated(ar, dx);
    tape.addGrad(x, dx);
  });
  return out;
}
