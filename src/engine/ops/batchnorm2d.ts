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
 *
 * On a tape with kernels both directions run in kernels/ops.as.ts (bnFwd, bnBwd), bit for bit the
 * loops below.
 */
import { type Arith, dotStep, roundBy } from '../arith.ts';
import { memViews, uploadF64 } from '../kernels/device.ts';
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

export function batchnorm2d(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  running: RunningStats,
  { training, eps, momentum }: BatchNorm2dOptions,
): Tensor {
  const tape = x.tape;
  if (x.shape.length !== 4) throw new Error(`batchnorm2d: x must be 4-D (NCHW), got ${x.shape.join('×')}`);
  const [N, C, H, W] = x.shape;
  for (const [what, n] of [
    ['gamma', gamma.size],
    ['beta', beta.size],
    ['running mean', running.mean.length],
    ['running var', running.var.length],
  ] as const) {
    if (n !== C) throw new Error(`batchnorm2d: ${what} has ${n} values, x has ${C} channels`);
  }
  const M = N * H * W;
  if (training && M < 2)
    throw new Error(`batchnorm2d: training needs more than 1 value per channel, got ${M} (input ${x.shape.join('×')})`);
  const g: Geometry = { N, C, HW: H * W, M, training };
  if (tape.device) return batchnormDevice(x, gamma, beta, running, eps, momentum, g);
  // acc(x) and round(x) as roundBy(ak, A, x) and roundBy(rk, R, x): the same values as ar.acc / ar.round
  // (ar.add(a, b) = acc(a + b), ar.mul(a, b) = acc(a·b), …), without a call through the Arith per element.
  const { accKind: ak, acc: A } = tape.arith;
  const epsA = roundBy(ak, A, eps);
  const xd = x.data;

  // Forward. xhat is kept for the backward (values of p in strict, of W in wide).
  const xhat = new Float64Array(x.size);
  const invstd = new Float64Array(C);
  const y = new Float64Array(x.size);
  for (let c = 0; c < C; c++) {
    const variance = training
      ? batchStats(tape.arith, g, c, xd, xhat, running, momentum)
      : runningStats(tape.arith, g, c, xd, xhat, running);
    invstd[c] = roundBy(ak, A, 1 / roundBy(ak, A, Math.sqrt(roundBy(ak, A, variance + epsA))));
    normalize(tape.arith, g, c, invstd[c], gamma.data[c], beta.data[c], xhat, y);
  }
  const inputs = [x, gamma, beta];
  const out = tape.result(y, x.shape, inputs, 'batchnorm2d');
  tape.record('batchnorm2d', inputs, out, (gy) => {
    const { dx, dgamma, dbeta } = backward(tape.arith, g, gy, xhat, invstd, gamma.data, x.requiresGrad);
    if (dx) tape.addGrad(x, dx);
    tape.addGrad(gamma, dgamma);
    tape.addGrad(beta, dbeta);
  });
  return out;
}

/**
 * The forward and backward in kernels/ops.as.ts (bnFwd, bnBwd): the same double expressions with
 * the same roundings, x̂ kept in device memory as doubles; the running statistics go there and
 * back as [mean, var] pairs.
 */
function batchnormDevice(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  running: RunningStats,
  eps: number,
  momentum: number,
  g: Geometry,
): Tensor {
  const tape = x.tape;
  const d = tape.device!;
  const { N, C, HW, training } = g;
  const stats = new Float64Array(2 * C);
  for (let c = 0; c < C; c++) {
    stats[2 * c] = running.mean[c];
    stats[2 * c + 1] = running.var[c];
  }
  const sp = uploadF64(d, stats);
  const xhat = tape.allocBytes(8 * x.size);
  const inv = tape.allocBytes(8 * C);
  const yp = tape.alloc(x.size);
  const gp = tape.devOf(gamma);
  d.raw.bnFwd(d.E, d.ak, d.rk, N, C, HW, training ? 1 : 0, tape.devOf(x), gp, tape.devOf(beta), sp, eps, momentum, xhat, inv, yp);
  if (training) {
    const v = memViews(d.memory).f64;
    for (let c = 0; c < C; c++) {
      running.mean[c] = v[(sp >> 3) + 2 * c];
      running.var[c] = v[(sp >> 3) + 2 * c + 1];
    }
  }
  const inputs = [x, gamma, beta];
  const out = tape.resultDev(yp, x.shape, inputs, 'batchnorm2d');
  tape.recordDev('batchnorm2d', inputs, out, (gy) => {
    const dx = x.requiresGrad ? tape.alloc(x.size) : 0;
    const dgamma = tape.alloc(C);
    const dbeta = tape.alloc(C);
    d.raw.bnBwd(d.E, d.ak, d.rk, N, C, HW, training ? 1 : 0, gy, xhat, inv, gp, dx, dgamma, dbeta);
    if (dx) tape.addGradDev(x, dx, true);
    tape.addGradDev(gamma, dgamma, true);
    tape.addGradDev(beta, dbeta, true);
  });
  return out;
}

/** Sizes: N samples, C channels, HW values a plane, M = N·HW values a channel. */
interface Geometry {
  readonly N: number;
  readonly C: number;
  readonly HW: number;
  readonly M: number;
  readonly training: boolean;
}

/**
 * Training: the batch mean and biased variance of channel c (xhat gets the centred values), and
 * the running statistics updated with the unbiased variance. Returns the variance.
 */
function batchStats(
  ar: Arith,
  { N, C, HW, M }: Geometry,
  c: number,
  xd: Float64Array,
  xhat: Float64Array,
  running: RunningStats,
  momentum: number,
): number {
  const { accKind: ak, acc: A, roundKind: rk, round: R } = ar;
  let s = 0;
  for (let n = 0; n < N; n++) {
    const base = (n * C + c) * HW;
    for (let i = 0; i < HW; i++) s = roundBy(ak, A, s + xd[base + i]);
  }
  const mean = roundBy(ak, A, s / M);
  let s2 = 0;
  for (let n = 0; n < N; n++) {
    const base = (n * C + c) * HW;
    for (let i = 0; i < HW; i++) {
      const d = roundBy(ak, A, xd[base + i] - mean);
      xhat[base + i] = d; // centred value; scaled by invstd in normalize
      s2 = roundBy(ak, A, s2 + roundBy(ak, A, d * d));
    }
  }
  const variance = roundBy(ak, A, s2 / M);
  const unbiased = roundBy(ak, A, s2 / (M - 1));
  const mom = roundBy(ak, A, momentum);
  const keep = roundBy(ak, A, 1 - momentum);
  running.mean[c] = roundBy(rk, R, roundBy(ak, A, roundBy(ak, A, keep * roundBy(rk, R, running.mean[c])) + roundBy(ak, A, mom * mean)));
  running.var[c] = roundBy(rk, R, roundBy(ak, A, roundBy(ak, A, keep * roundBy(rk, R, running.var[c])) + roundBy(ak, A, mom * unbiased)));
  return variance;
}

/** Inference: the running statistics of channel c, rounded to p (xhat gets the centred values). Returns the variance. */
function runningStats(ar: Arith, { N, C, HW }: Geometry, c: number, xd: Float64Array, xhat: Float64Array, running: RunningStats): number {
  const { accKind: ak, acc: A, roundKind: rk, round: R } = ar;
  const mean = roundBy(rk, R, running.mean[c]);
  const variance = roundBy(rk, R, running.var[c]);
  for (let n = 0; n < N; n++) {
    const base = (n * C + c) * HW;
    for (let i = 0; i < HW; i++) xhat[base + i] = roundBy(ak, A, xd[base + i] - mean);
  }
  return variance;
}

/** x̂ = acc(xc · invstd) in place of the centred values, and y = round_p(acc(acc(x̂ · γ) + β)), for channel c. */
function normalize(
  ar: Arith,
  { N, C, HW }: Geometry,
  c: number,
  inv: number,
  g: number,
  b: number,
  xhat: Float64Array,
  y: Float64Array,
): void {
  const { accKind: ak, acc: A, roundKind: rk, round: R } = ar;
  for (let n = 0; n < N; n++) {
    const base = (n * C + c) * HW;
    for (let i = 0; i < HW; i++) {
      const h = roundBy(ak, A, xhat[base + i] * inv);
      xhat[base + i] = h;
      y[base + i] = roundBy(rk, R, roundBy(ak, A, roundBy(ak, A, h * g) + b));
    }
  }
}

/** dβ, dγ and (when wanted) dx, by the formulas of the header. */
function backward(
  ar: Arith,
  { N, C, HW, M, training }: Geometry,
  gy: Float64Array,
  xhat: Float64Array,
  invstd: Float64Array,
  gd: Float64Array,
  wantX: boolean,
): { dx: Float64Array | null; dgamma: Float64Array; dbeta: Float64Array } {
  const { accKind: ak, acc: A, roundKind: rk, round: R } = ar;
  const dgamma = new Float64Array(C);
  const dbeta = new Float64Array(C);
  const dx = wantX ? new Float64Array(N * C * HW) : null;
  for (let c = 0; c < C; c++) {
    let sg = 0;
    let sgx = 0;
    for (let n = 0; n < N; n++) {
      const base = (n * C + c) * HW;
      for (let i = 0; i < HW; i++) {
        sg = roundBy(ak, A, sg + gy[base + i]);
        sgx = dotStep(ak, A, sgx, gy[base + i], xhat[base + i]); // ar.addProduct
      }
    }
    dbeta[c] = roundBy(rk, R, sg);
    dgamma[c] = roundBy(rk, R, sgx);
    if (!dx) continue;
    const k = roundBy(ak, A, gd[c] * invstd[c]);
    const a = roundBy(ak, A, sg / M);
    const b = roundBy(ak, A, sgx / M);
    for (let n = 0; n < N; n++) {
      const base = (n * C + c) * HW;
      for (let i = 0; i < HW; i++) {
        const j = base + i;
        dx[j] = training
          ? roundBy(rk, R, roundBy(ak, A, k * roundBy(ak, A, roundBy(ak, A, gy[j] - a) - roundBy(ak, A, xhat[j] * b))))
          : roundBy(rk, R, roundBy(ak, A, k * gy[j]));
      }
    }
  }
  return { dx, dgamma, dbeta };
}
