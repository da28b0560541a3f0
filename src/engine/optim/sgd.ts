/**
 * SGD with momentum, weight decay and optional Nesterov momentum, PyTorch torch.optim.SGD
 * semantics (dampening 0). For each parameter w with gradient g, every step rounded to the master
 * format q (optimizer.ts), R = round_q:
 *
 *   g ← R(g + R(wd · w))                       if weightDecay ≠ 0 (decay added to the gradient)
 *   buf ← g (first step),  R(R(μ · buf) + g)   if momentum μ ≠ 0
 *   g ← R(g + R(μ · buf)) (nesterov)  or  buf
 *   w ← R(w − R(lr · g))
 * lr is the optimizer's current learning rate (settable between steps); state (the momentum buffer
 * 'momentum') exports and imports as optimizer.ts describes. With the kernels the update runs in
 * kernels/ops.as.ts (sgdUpdate), bit for bit the loop below.
 */
import { type AccKind, roundBy, rounder, roundKindOf } from '../arith.ts';
import { sgdKernel } from '../kernels/optim.ts';
import { defineOptimizer, type MasterWeights, masterFormat, type Optimizer, ParamState, unscaled } from './optimizer.ts';

export interface SgdOptions {
  readonly lr: number;
  readonly momentum?: number;
  readonly weightDecay?: number;
  readonly nesterov?: boolean;
  readonly masterWeights?: MasterWeights;
}

export function sgd({ lr, momentum = 0, weightDecay = 0, nesterov = false, masterWeights = 'p' }: SgdOptions): Optimizer {
  if (!(lr >= 0)) throw new Error(`sgd: lr must be ≥ 0, got ${lr}`);
  if (!(momentum >= 0)) throw new Error(`sgd: momentum must be ≥ 0, got ${momentum}`);
  if (!(weightDecay >= 0)) throw new Error(`sgd: weightDecay must be ≥ 0, got ${weightDecay}`);
  if (nesterov && momentum === 0) throw new Error('sgd: Nesterov momentum needs momentum > 0');
  const state = new ParamState();
  const describe = (lr: number) =>
    `sgd(lr=${lr}, momentum=${momentum}, weightDecay=${weightDecay}${nesterov ? ', nesterov' : ''}${masterWeights === '32' ? ', fp32 masters' : ''})`;
  return defineOptimizer('sgd', lr, describe, state, (lr, params, grads, format, { gradScale = 1 }) => {
    const q = masterFormat(format, masterWeights);
    const R = rounder(q);
    const kq = roundKindOf(q);
    const lrQ = R(lr);
    const muQ = R(momentum);
    const wdQ = R(weightDecay);
    for (const [name, param] of params) {
      const grad = grads.get(name);
      if (!grad) continue;
      if (grad.length !== param.length)
        throw new Error(`sgd: gradient of ${name} has ${grad.length} values, the parameter ${param.length}`);
      const s = state.get(name, param, format, q);
      const w = s.weights;
      const g0 = unscaled(grad, q, gradScale);
      const buf = momentum !== 0 ? s.buffer('momentum', 'zeros') : null;
      update(kq, R, w, g0, buf ? buf.values : null, buf?.fresh === true, lrQ, muQ, wdQ, weightDecay !== 0, nesterov);
      s.writeBack();
    }
  });
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
  buf: Float64Array | null,
  fresh: boolean,
  lrQ: number,
  muQ: number,
  wdQ: number,
  decay: boolean,
  nesterov: boolean,
): void {
  if (sgdKernel(kq, w, g0, buf, fresh, { lr: lrQ, mu: muQ, wd: wdQ, decay, nesterov })) return;
  for (let i = 0; i < w.length; i++) {
    let g = g0[i];
    if (decay) g = roundBy(kq, R, g + roundBy(kq, R, wdQ * w[i]));
    if (buf) {
      const b = fresh ? g : roundBy(kq, R, roundBy(kq, R, muQ * buf[i]) + g);
      buf[i] = b;
      g = nesterov ? roundBy(kq, R, g + roundBy(kq, R, muQ * b)) : b;
    }
    w[i] = roundBy(kq, R, w[i] - roundBy(kq, R, lrQ * g));
  }
}
