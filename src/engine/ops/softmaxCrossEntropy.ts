/**
 * softmaxCrossEntropy: the mean cross-entropy of softmax(logits) against integer labels
 * (PyTorch F.cross_entropy, reduction 'mean'), logits [N, K], labels in [0, K):
 *
 *   L = (1/N) Σ_n ( log Σ_k exp(z[n,k] − m_n) − (z[n,label_n] − m_n) ),   m_n = max_k z[n,k]
 *
 * Subtracting the row max keeps every exponent ≤ 0, so exp never overflows and the largest term is
 * exactly 1 (the loss of a row is finite whenever its label's logit is within range of the max).
 *
 * Forward, per row n (k ascending; acc/round as in arith.ts):
 *   m = max_k z (exact compares; NaN entries make the row NaN through d)
 *   d_k = acc(z_k − m),  e_k = acc(exp(d_k)),  S = acc(Σ_k e_k),  ℓ_n = acc(acc(log S) − d_label)
 *   L = round_p(acc(acc(Σ_n ℓ_n) / N))    (rows summed in ascending n)
 * exp and log are Math.exp / Math.log rounded (faithful, see arith.ts). In 16 bits everything
 * behaves as IEEE half: z − m can overflow to −∞ (exp gives 0), exp underflows through subnormals,
 * an ∞ logit gives ∞ − ∞ = NaN; nothing is flushed or clamped.
 *
 * Backward, with g the gradient of the scalar L (the seed, 1 unless the loss is scaled):
 *   dz[n,k] = round_p(acc(acc(acc(e_k / S) − [k = label_n]) · acc(g / N)))
 * i.e. (softmax − onehot)·g/N.
 *
 * On a tape with kernels both directions run in kernels/ops.as.ts (sceFwd, sceBwd): the same double
 * expressions with the same roundings, exp and log being the host's Math.exp and Math.log.
 */
import { roundBy } from '../arith.ts';
import { uploadI32 } from '../kernels/device.ts';
import type { Tensor } from '../tensor.ts';

export function softmaxCrossEntropy(logits: Tensor, labels: Int32Array): Tensor {
  const tape = logits.tape;
  const ar = tape.arith;
  if (logits.shape.length !== 2) throw new Error(`softmaxCrossEntropy: logits must be [N, K], got ${logits.shape.join('×')}`);
  const [N, K] = logits.shape;
  if (labels.length !== N) throw new Error(`softmaxCrossEntropy: ${labels.length} labels for ${N} rows`);
  if (N < 1) throw new Error('softmaxCrossEntropy: empty batch');
  for (let n = 0; n < N; n++) {
    if (!(labels[n] >= 0 && labels[n] < K)) throw new Error(`softmaxCrossEntropy: label ${labels[n]} of row ${n} is not in [0, ${K})`);
  }
  if (tape.device) return softmaxCrossEntropyDevice(logits, labels);
  const z = logits.data;
  // acc(x) and round(x) as roundBy(ak, A, x) and roundBy(rk, R, x): the same values as ar.acc / ar.round.
  const { accKind: ak, acc: A, roundKind: rk, round: R } = ar;
  const e = new Float64Array(N * K); // exp(z − m), kept for the backward
  const sums = new Float64Array(N);
  let total = 0;
  for (let n = 0; n < N; n++) {
    const row = n * K;
    const label = labels[n];
    let m = -Infinity;
    for (let k = 0; k < K; k++) if (z[row + k] > m) m = z[row + k];
    let s = 0;
    let dLabel = 0;
    for (let k = 0; k < K; k++) {
      const d = roundBy(ak, A, z[row + k] - m); // ar.sub
      if (k === label) dLabel = d;
      const ek = roundBy(ak, A, Math.exp(d)); // ar.exp
      e[row + k] = ek;
      s = roundBy(ak, A, s + ek); // ar.add
    }
    sums[n] = s;
    total = roundBy(ak, A, total + roundBy(ak, A, roundBy(ak, A, Math.log(s)) - dLabel)); // add(total, sub(log(s), dLabel))
  }
  const loss = roundBy(rk, R, roundBy(ak, A, total / N)); // round(div(total, N))
  const out = tape.result(Float64Array.of(loss), [], [logits], 'softmaxCrossEntropy');

  tape.record('softmaxCrossEntropy', [logits], out, (gy) => {
    const gN = roundBy(ak, A, gy[0] / N);
    const dz = new Float64Array(N * K);
    for (let n = 0; n < N; n++) {
      const row = n * K;
      const label = labels[n];
      const sn = sums[n];
      for (let k = 0; k < K; k++) {
        const p = roundBy(ak, A, e[row + k] / sn); // ar.div
        const q = k === label ? roundBy(ak, A, p - 1) : p; // ar.sub(p, 1)
        dz[row + k] = roundBy(rk, R, roundBy(ak, A, q * gN)); // round(mul(q, gN))
      }
    }
    tape.addGrad(logits, dz);
  });
  return out;
}

function softmaxCrossEntropyDevice(logits: Tensor, labels: Int32Array): Tensor {
  const tape = logits.tape;
  const d = tape.device!;
  const [N, K] = logits.shape;
  const lp = uploadI32(d, labels);
  const e = tape.allocBytes(8 * N * K);
  const sums = tape.allocBytes(8 * N);
  const loss = d.raw.sceFwd(d.E, d.ak, d.rk, N, K, tape.devOf(logits), lp, e, sums);
  const out = tape.result(Float64Array.of(loss), [], [logits], 'softmaxCrossEntropy');
  tape.record('softmaxCrossEntropy', [logits], out, (gy) => {
    const dz = tape.alloc(N * K);
    d.raw.sceBwd(d.E, d.ak, d.rk, N, K, e, sums, lp, gy[0], dz);
    tape.addGradDev(logits, dz, true);
  });
  return out;
}
