/**
 * Adam, PyTorch torch.optim.Adam semantics (amsgrad off; weight decay added to the gradient, not
 * decoupled as in AdamW; bias correction). For each parameter w with gradient g at step t (per
 * parameter, from 1), every step rounded to the master format q (optimizer.ts), R = round_q:
 *
 *   g ← R(g + R(wd · w))                     if weightDecay ≠ 0
 *   m ← R(m + R((1 − β1) · R(g − m)))         (PyTorch's exp_avg.lerp_(g, 1 − β1))
 *   v ← R(R(β2 · v) + R((1 − β2) · R(g · g)))
 *   c1 = 1 − β1^t, c2 = 1 − β2^t              (in double, as PyTorch computes them in Python)
 *   stepSize = R(lr / c1),  c2s = R(√c2)
 *   denom = R(R(R(√v) / c2s) + ε)
 *   w ← R(w − R(stepSize · R(m / denom)))
 * The constants 1 − β1, 1 − β2 are taken in double and rounded to q. Note that in pure binary16
 * (q = p = 16) the default ε = 1e−8 rounds to 0, so a parameter whose gradient has always been 0
 * gets 0/0 = NaN, as it does in PyTorch with fp16 parameters and Adam; use masterWeights '32'.
 * lr is the optimizer's current learning rate (settable between steps); state (the moments
 * 'exp_avg', 'exp_avg_sq' and t) exports and imports as optimizer.ts describes. With the kernels
 * the update runs in kernels/ops.as.ts (adamUpdate), bit for bit the loop below.
 */
import { type AccKind, roundBy, rounder, roundKindOf } from '../arith.ts';
import { adamKernel } from '../kernels/optim.ts';
import { defineOptimizer, type MasterWeights, masterFormat, type Optimizer, ParamState, unscaled } from './optimizer.ts';

export interface AdamOptions {
  readonly lr: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
  readonly weightDecay?: number;
  readonly masterWeights?: MasterWeights;
}

export function adam({ lr, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0, masterWeights = 'p' }: AdamOptions): Optimizer {
  if (!(lr >= 0)) throw new Error(`adam: lr must be ≥ 0, got ${lr}`);
  if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) throw new Error(`adam: betas must be in [0, 1), got ${beta1}, ${beta2}`);
  if (!(eps >= 0)) throw new Error(`adam: eps must be ≥ 0, got ${eps}`);
  if (!(weightDecay >= 0)) throw new Error(`adam: weightDecay must be ≥ 0, got ${weightDecay}`);
  const state = new ParamState();
  const describe = (lr: number) =>
    `adam(lr=${lr}, betas=(${beta1}, ${beta2}), eps=${eps}, weightDecay=${weightDecay}${masterWeights === '32' ? ', fp32 masters' : ''})`;
  return defineOptimizer('adam', lr, describe, state, (lr, params, grads, format, { gradScale = 1 }) => {
    const q = masterFormat(format, masterWeights);
    const R = rounder(q);
    const kq = roundKindOf(q);
    const wdQ = R(weightDecay);
    const c1Q = R(1 - beta1);
    const b2Q = R(beta2);
    const c2Q = R(1 - beta2);
    const epsQ = R(eps);
    for (const [name, param] of params) {
      const grad = grads.get(name);
      if (!grad) continue;
      if (grad.length !== param.length)
        throw new Error(`adam: gradient of ${name} has ${grad.length} values, the parameter ${param.length}`);
      const s = state.get(name, param, format, q);
      const w = s.weights;
      const g0 = unscaled(grad, q, gradScale);
      const m = s.buffer('exp_avg', 'zeros').values;
      const v = s.buffer('exp_avg_sq', 'zeros').values;
      const t = s.nextStep();
      const stepSize = R(lr / (1 - beta1 ** t));
      const c2s = R(Math.sqrt(1 - beta2 ** t));
      update(kq, R, w, g0, m, v, { wdQ, c1Q, b2Q, c2Q, epsQ, stepSize, c2s }, weightDecay !== 0);
      s.writeBack();
    }
  });
}

interface AdamConstants {
  readonly wdQ: number;
  readonly c1Q: number;
  readonly b2Q: number;
  readonly c2Q: number;
  readonly epsQ: number;
  readonly stepSize: number;
  readonly c2s: number;
}

/**
 * The update of one parameter, every step rounded by roundBy(kq, R, ·) (= R(·), without a call
 * through R per element): the formulas of the header, in that order.
 */
function update(
  kq: AccKind,
  R: (x: number) => number,
  w: Float64Array,
  g0: Float64Array,
  m: Float64Array,
  v: Float64Array,
  k: AdamConstants,
  decay: boolean,
): void {
  if (adamKernel(kq, w, g0, m, v, { ...k, decay })) return;
  const { wdQ, c1Q, b2Q, c2Q, epsQ, stepSize, c2s } = k;
  for (let i = 0; i < w.length; i++) {
    let g = g0[i];
    if (decay) g = roundBy(kq, R, g + roundBy(kq, R, wdQ * w[i]));
    m[i] = roundBy(kq, R, m[i] + roundBy(kq, R, c1Q * roundBy(kq, R, g - m[i])));
    v[i] = roundBy(kq, R, roundBy(kq, R, b2Q * v[i]) + roundBy(kq, R, c2Q * roundBy(kq, R, g * g)));
    const denom = roundBy(kq, R, roundBy(kq, R, roundBy(kq, R, Math.sqrt(v[i])) / c2s) + epsQ);
    w[i] = roundBy(kq, R, w[i] - roundBy(kq, R, stepSize * roundBy(kq, R, m[i] / denom)));
  }
}
