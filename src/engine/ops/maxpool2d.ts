/**
 * maxpool2d (NCHW, implicit −∞ padding of at most half the kernel, floor output size):
 *
 *   y[n,c,oh,ow] = max over the window of x[n,c,·,·]
 *
 * Forward, per window (in precision p: the inputs are values of p, comparing them is exact):
 * - the tie set I = every input entry equal to the max, ascending flat NCHW index of x (= row-major
 *   order in the window); padding never attains the max. Compares are IEEE: −0 and +0 tie, ±∞
 *   compare as numbers (a window of −∞ ties everywhere);
 * - NaN (the engine's own convention): a window holding NaN outputs NaN and its tie set is {first
 *   NaN}. Frameworks differ here, and each one's rule is measured (src/backends/tie_rule.ts): PyTorch
 *   1.13's CPU kernel sends the gradient to the *last* NaN, tfjs-cpu 4.22 to a non-NaN entry;
 * - the output is the value at I's first index.
 * The tie sets are recorded on the tape as the op's routing decision.
 *
 * Backward, with the tape's JacobianChoice (docs/DESIGN.md §2): for each window (ascending output index)
 * and each i_t ∈ I (ascending), dx[i_t] += w_t · gy[o], where w_t = round_p(num/den) from
 * tieWeights(member, |I|). Exact-zero weights are structural zeros of the Jacobian row and are
 * skipped (so `first` never multiplies an ∞ gradient by 0). Overlapping windows add into the same
 * entry; products and sums accumulate per the tape's mode and dx is rounded to p at the end.
 *
 * betaMode 'mixed-forward' (the paper's code, docs/DESIGN.md §2), for a beta(β) member: two max-pool
 * branches with the same max m, y = fl(fl(β·m) + fl((1−β)·m)) in p (cancellation at large β in
 * low precision); the backward sends fl(β·gy) through the minnorm branch and fl((1−β)·gy) through
 * the first branch, each branch's dx rounded to p, and the tape adds the two in p (as autograd does).
 */
import { FIRST, type MaxPoolJacobian, MINNORM, tieWeights } from '../../jacobians/index.ts';
import type { Pair } from '../../problem/index.ts';
import { type Arith, dotStep, roundAccumulated, roundBy } from '../arith.ts';
import type { TieSets } from '../tape.ts';
import type { Tensor } from '../tensor.ts';
import { windowMap } from '../windows.ts';

export interface MaxPool2dOptions {
  readonly kernel: Pair;
  readonly stride: Pair;
  /** Implicit −∞ padding on each side, [rows, cols]; at most half the kernel. */
  readonly padding: Pair;
}

export function maxpool2d(x: Tensor, { kernel, stride, padding }: MaxPool2dOptions): Tensor {
  const tape = x.tape;
  const ar = tape.arith;
  const { maxpool: member, betaMode } = tape.options.jacobian;
  if (x.shape.length !== 4) throw new Error(`maxpool2d: x must be 4-D (NCHW), got ${x.shape.join('×')}`);
  if (2 * padding[0] > kernel[0] || 2 * padding[1] > kernel[1]) {
    throw new Error(`maxpool2d: padding ${padding.join('×')} must be at most half the kernel ${kernel.join('×')}`);
  }
  const [N, C, H, W] = x.shape;
  const { outH, outW, k: K, map } = windowMap(H, W, kernel, stride, padding);
  const P = outH * outW;
  const HW = H * W;
  const xd = x.data;

  // Forward: tie sets, then the output.
  const nOut = N * C * P;
  const y = new Float64Array(nOut);
  const offsets = new Int32Array(nOut + 1);
  const indices = new Int32Array(nOut * K);
  let count = 0;
  for (let plane = 0; plane < N * C; plane++) {
    const base = plane * HW;
    for (let pos = 0; pos < P; pos++) {
      const o = plane * P + pos;
      // One pass: a larger value restarts the tie set, an equal one joins it (ascending index).
      const start = count;
      offsets[o] = start;
      let m = -Infinity;
      let seen = false;
      for (let t = 0; t < K; t++) {
        const idx = map[pos * K + t];
        if (idx < 0) continue;
        const v = xd[base + idx];
        if (Number.isNaN(v)) {
          count = start;
          indices[count++] = base + idx;
          seen = true;
          break;
        }
        if (v > m || !seen) {
          m = v;
          seen = true;
          count = start;
          indices[count++] = base + idx;
        } else if (v === m) indices[count++] = base + idx;
      }
      if (!seen) throw new Error(`maxpool2d: output ${o} has a window made only of padding`);
      y[o] = xd[indices[start]];
    }
  }
  offsets[nOut] = count;
  const ties: TieSets = { offsets, indices: indices.slice(0, count) };

  const mixed = betaMode === 'mixed-forward' && member.kind === 'beta';
  const betaP = mixed ? ar.round(member.beta) : 0;
  const oneMinusBetaP = mixed ? ar.round(1 - member.beta) : 0;
  if (mixed) {
    const { roundKind: rk, round } = ar;
    for (let o = 0; o < nOut; o++) y[o] = roundBy(rk, round, roundBy(rk, round, betaP * y[o]) + roundBy(rk, round, oneMinusBetaP * y[o])); // addP(mulP, mulP)
  }

  const out = tape.result(y, [N, C, outH, outW], [x], 'maxpool2d');
  tape.decisions.push({ kind: 'maxpool', output: out, ties });
  tape.record('maxpool2d', [x], out, (gy) => {
    if (!mixed) {
      tape.addGrad(x, scatter(ar, ties, member, gy, x.size));
      return;
    }
    const { roundKind: rk, round } = ar;
    const gMinnorm = new Float64Array(nOut);
    const gFirst = new Float64Array(nOut);
    for (let o = 0; o < nOut; o++) {
      gMinnorm[o] = roundBy(rk, round, betaP * gy[o]); // mulP
      gFirst[o] = roundBy(rk, round, oneMinusBetaP * gy[o]);
    }
    tape.addGrad(x, scatter(ar, ties, MINNORM, gMinnorm, x.size));
    tape.addGrad(x, scatter(ar, ties, FIRST, gFirst, x.size));
  });
  return out;
}

/** dx of one max-pool branch: each window's gradient spread over its tie set with member's weights, rounded to p. */
function scatter(ar: Arith, ties: TieSets, member: MaxPoolJacobian, gy: Float64Array, size: number): Float64Array {
  // Weights by tie-set size, each one correctly rounded division, made on first use.
  const weightsBySize: (Float64Array | undefined)[] = [];
  const weights = (k: number): Float64Array => {
    let w = weightsBySize[k];
    if (!w) {
      w = Float64Array.from(tieWeights(member, k), (r) => ar.round(r.num / r.den));
      weightsBySize[k] = w;
    }
    return w;
  };
  const { offsets, indices } = ties;
  const { accKind: kind, acc } = ar;
  const dx = new Float64Array(size);
  let w: Float64Array = new Float64Array(0);
  let wk = 0; // the size w is for; tie sets are never empty
  for (let o = 0; o < gy.length; o++) {
    const start = offsets[o];
    const k = offsets[o + 1] - start;
    if (k !== wk) {
      w = weights(k);
      wk = k;
    }
    const g = gy[o];
    for (let t = 0; t < k; t++) {
      const wt = w[t];
      if (wt === 0) continue;
      const i = indices[start + t];
      dx[i] = dotStep(kind, acc, dx[i], wt, g); // = ar.addProduct(dx[i], w[t], gy[o])
    }
  }
  roundAccumulated(ar, dx);
  return dx;
}
