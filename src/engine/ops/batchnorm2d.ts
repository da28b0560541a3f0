/**
 * batchnorm2d (NCHW, per channel c, M = N·H·W entries per channel), PyTorch BatchNorm2d:
 *
 *   y = γ[c] · (x − μ) / √(σ² + ε) + β[c]
 *
 * training: μ, σ² are the batch statistics of channel c (σ² biased, divided by M), and the running
 * statistics are updated in place with the unbiased variance (divided by M − 1):
 *   running = (1 − momentum) · running + momentum · batch.
 * inference: μ, σ² are the running statistics; nothing is updated.
 *
 * Arithmetic (acc/round as in arith.ts: strict rounds every step to p; wide keeps the steps inside
 * the op in W and rounds only what leaves it — y, the gradients and the running statistics — to p).
 * Sums run over ascending (n, h, w) of the channel, left to right from 0:
 *   mean   = acc(acc(Σ x) / M)
 *   xc     = acc(x − mean)                    (per entry)
 *   var    = acc(S2 / M), varU = acc(S2 / (M − 1)),   S2 = acc(Σ acc(xc · xc))
 *   std    = acc(√acc(var + ε)),  invstd = acc(1 / std)
 *   x̂      = acc(xc · invstd)
 *   y      = round_p(acc(acc(x̂ · γ) + β))
 *   running_mean = round_p(acc(acc(keep · running_mean) + acc(mom · mean)))   (likewise running_var
 *   with varU), where mom = acc(momentum) and keep = acc(1 − momentum), 1 − momentum taken in double.
 * In inference mean and var are the running statistics (rounded to p on entry) and S2 is not formed.
 * Division and √ are done in double then rounded: correctly rounded for p ≤ 32 (arith.ts).
 *
 * Backward (the full derivative, through the batch statistics in training). With
 *   Sg = acc(Σ gy),  Sgx = acc(Σ acc(gy · x̂))          (ascending (n, h, w))
 *   dβ = round_p(Sg),  dγ = round_p(Sgx)
 *   training:  dx = round_p(acc(k · acc(acc(gy − a) − acc(x̂ · b)))),
 *              k = acc(γ · invstd), a = acc(Sg / M), b = acc(Sgx / M)
 *              (dx = γ·invstd·(gy − mean(gy) − x̂·mean(gy·x̂)), the textbook formula)
 *   inference: dx = round_p(acc(k · gy)).
 * x̂ and invstd used by the backward are the forward's (rounded) values.
 */
import type { Tensor } from '../tensor.ts';

export interface RunningStats {
  /** Per channel; values of p. Updated in place when training. */
  readonly mean: Float64Array;
  /** Per channel; values of p. Updated in place (with the unbiased batch variance) when training. */
  readonly var: Float64Array;
}

export interface BatchNorm2dOptions {
  readonly training: boolean;
  readonly eps: number;
  readonly momentum: number;
}

export function batchnorm2d(x: Tensor, gamma: Tensor, beta: Tensor, running: RunningStats, { training, eps, momentum }: BatchNorm2dOptions): Tensor {
  const tape = x.tape;
  const ar = tape.arith;
  if (x.shape.length !== 4) throw new Error(`batchnorm2d: x must be 4-D (NCHW), got ${x.shape.join('×')}`);
  const [N, C, H, W] = x.shape;
  for (const [what, n] of [['gamma', gamma.size], ['beta', beta.size], ['running mean', running.mean.length], ['running var', running.var.length]] as const) {
    if (n !== C) throw new Error(`batchnorm2d: ${what} has ${n} values, x has ${C} channels`);
  }
  const HW = H * W;
  const M = N * HW;
  if (training && M < 2) throw new Error(`batchnorm2d: training needs more than 1 value per channel, got ${M} (input ${x.shape.join('×')})`);
  const xd = x.data;
  const gd = gamma.data;
  const bd = beta.data;
  const epsA = ar.acc(eps);

  // Forward. xhat is kept for the backward (values of p in strict, of W in wide).
  const xhat = new Float64Array(x.size);
  const invstd = new Float64Array(C);
  const y = new Float64Array(x.size);
  for (let c = 0; c < C; c++) {
    let mean: number;
    let variance: number;
    if (training) {
      let s = 0;
      for (let n = 0; n < N; n++) {
        const base = (n * C + c) * HW;
        for (let i = 0; i < HW; i++) s = ar.add(s, xd[base + i]);
      }
      mean = ar.div(s, M);
      let s2 = 0;
      for (let n = 0; n < N; n++) {
        const base = (n * C + c) * HW;
        for (let i = 0; i < HW; i++) {
          const d = ar.sub(xd[base + i], mean);
          xhat[base + i] = d; // centred value; scaled by invstd below
          s2 = ar.add(s2, ar.mul(d, d));
        }
      }
      variance = ar.div(s2, M);
      const unbiased = ar.div(s2, M - 1);
      const mom = ar.acc(momentum);
      const keep = ar.acc(1 - momentum);
      running.mean[c] = ar.round(ar.add(ar.mul(keep, ar.round(running.mean[c])), ar.mul(mom, mean)));
      running.var[c] = ar.round(ar.add(ar.mul(keep, ar.round(running.var[c])), ar.mul(mom, unbiased)));
    } else {
      mean = ar.round(running.mean[c]);
      variance = ar.round(running.var[c]);
      for (let n = 0; n < N; n++) {
        const base = (n * C + c) * HW;
        for (let i = 0; i < HW; i++) xhat[base + i] = ar.sub(xd[base + i], mean);
      }
    }
    const inv = ar.div(1, ar.sqrt(ar.add(variance, epsA)));
    invstd[c] = inv;
    const g = gd[c];
    const b = bd[c];
    for (let n = 0; n < N; n++) {
      const base = (n * C + c) * HW;
      for (let i = 0; i < HW; i++) {
        const h = ar.mul(xhat[base + i], inv);
        xhat[base + i] = h;
        y[base + i] = ar.round(ar.add(ar.mul(h, g), b));
      }
    }
  }
  const inputs = [x, gamma, beta];
  const out = tape.result(y, x.shape, inputs, 'batchnorm2d');

  tape.record('batchnorm2d', inputs, out, (gy) => {
    const dgamma = new Float64Array(C);
    const dbeta = new Float64Array(C);
    const dx = x.requiresGrad ? new Float64Array(x.size) : null;
    for (let c = 0; c < C; c++) {
      let sg = 0;
      let sgx = 0;
      for (let n = 0; n < N; n++) {
        const base = (n * C + c) * HW;
        for (let i = 0; i < HW; i++) {
          sg = ar.add(sg, gy[base + i]);
          sgx = ar.addProduct(sgx, gy[base + i], xhat[base + i]);
        }
      }
      dbeta[c] = ar.round(sg);
      dgamma[c] = ar.round(sgx);
      if (!dx) continue;
      const k = ar.mul(gd[c], invstd[c]);
      const a = ar.div(sg, M);
      const b = ar.div(sgx, M);
      for (let n = 0; n < N; n++) {
        const base = (n * C + c) * HW;
        for (let i = 0; i < HW; i++) {
          const j = base + i;
          dx[j] = training ? ar.round(ar.mul(k, ar.sub(ar.sub(gy[j], a), ar.mul(xhat[j], b)))) : ar.round(ar.mul(k, gy[j]));
        }
      }
    }
    if (dx) tape.addGrad(x, dx);
    tape.addGrad(gamma, dgamma);
    tape.addGrad(beta, dbeta);
  });
  return out;
}
