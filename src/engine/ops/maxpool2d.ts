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
 *
 * On a tape with kernels the forward and the scatter of every member run in kernels/ops.as.ts
 * (maxpoolFwd, maxpoolBwd), bit for bit the loops below; 'mixed-forward' stays on the JS loops.
 */
import { FIRST, type MaxPoolJacobian, MINNORM, tieWeights } from '../../jacobians/index.ts';
import type { Pair } from '../../problem/index.ts';
import { type Arith, dotStep, roundAccumulated, roundBy } from '../arith.ts';
import { memViews, uploadF64, uploadI32 } from '../kernels/device.ts';
import type { TieSets } from '../tape.ts';
import type { Tensor } from '../tensor.ts';
import { type WindowMap, windowMap } from '../windows.ts';

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
  const win = windowMap(H, W, kernel, stride, padding);
  const mixed = betaMode === 'mixed-forward' && member.kind === 'beta';
  if (tape.device && !mixed) return maxpoolDevice(x, win, member, stride, padding);
  const { y, ties } = forwardJs(x.data, N * C, H * W, win);
  const nOut = y.length;
  const betaP = mixed ? ar.round(member.beta) : 0;
  const oneMinusBetaP = mixed ? ar.round(1 - member.beta) : 0;
  if (mixed) {
    const { roundKind: rk, round } = ar;
    for (let o = 0; o < nOut; o++) y[o] = roundBy(rk, round, roundBy(rk, round, betaP * y[o]) + roundBy(rk, round, oneMinusBetaP * y[o])); // addP(mulP, mulP)
  }

  const out = tape.result(y, [N, C, win.outH, win.outW], [x], 'maxpool2d');
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

/** The forward on doubles: per window, the tie set in one pass (see the header), then the output. */
function forwardJs(xd: Float64Array, planes: number, HW: number, { outH, outW, k: K, map }: WindowMap): { y: Float64Array; ties: TieSets } {
  const P = outH * outW;
  const nOut = planes * P;
  const y = new Float64Array(nOut);
  const offsets = new Int32Array(nOut + 1);
  const indices = new Int32Array(nOut * K);
  let count = 0;
  for (let plane = 0; plane < planes; plane++) {
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
  return { y, ties: { offsets, indices: indices.slice(0, count) } };
}

/** 2×2 windows at stride 2 without padding: kernels/ops.as.ts maxpool2x2 addresses the taps directly. */
function twoByTwo(shape: readonly number[], win: WindowMap, stride: Pair, padding: Pair): boolean {
  return (
    win.k === 4 && stride[0] === 2 && stride[1] === 2 && padding[0] === 0 && padding[1] === 0 && win.map[1] === 1 && win.map[2] === shape[3]
  );
}

/**
 * The forward and the scatter in kernels/ops.as.ts (maxpoolFwd, maxpoolBwd): the same tie sets
 * and values as forwardJs and scatter. The tie sets are copied out for the routing decision and
 * kept in device memory for the backward.
 */
function maxpoolDevice(x: Tensor, win: WindowMap, member: MaxPoolJacobian, stride: Pair, padding: Pair): Tensor {
  const tape = x.tape;
  const d = tape.device!;
  const [N, C, H, W] = x.shape;
  const { outH, outW, k: K } = win;
  const P = outH * outW;
  const nOut = N * C * P;
  const yp = tape.alloc(nOut);
  const offP = tape.allocBytes(4 * (nOut + 1));
  const idxP = tape.allocBytes(4 * nOut * K);
  const count = twoByTwo(x.shape, win, stride, padding)
    ? d.raw.maxpool2x2(d.E, N * C, H, W, outH, outW, tape.devOf(x), yp, offP, idxP)
    : d.raw.maxpoolFwd(d.E, N * C, H * W, P, K, uploadI32(d, win.map), tape.devOf(x), yp, offP, idxP);
  if (count < 0) throw new Error('maxpool2d: an output has a window made only of padding');
  const v = memViews(d.memory);
  const ties: TieSets = { offsets: v.i32.slice(offP >> 2, (offP >> 2) + nOut + 1), indices: v.i32.slice(idxP >> 2, (idxP >> 2) + count) };
  const out = tape.resultDev(yp, [N, C, outH, outW], [x], 'maxpool2d');
  tape.decisions.push({ kind: 'maxpool', output: out, ties });
  tape.recordDev('maxpool2d', [x], out, (gy) => {
    const ar = tape.arith;
    const wtab = new Float64Array((K * (K + 1)) / 2);
    for (let k = 1; k <= K; k++)
      tieWeights(member, k).forEach((r, t) => {
        wtab[(k * (k - 1)) / 2 + t] = ar.round(r.num / r.den);
      });
    const dx = tape.alloc(x.size);
    const acc64 = d.E === 4 && d.ak === 0 ? tape.allocBytes(8 * x.size) : 0;
    d.raw.maxpoolBwd(d.E, d.ak, d.rk, nOut, x.size, offP, idxP, uploadF64(d, wtab), gy, dx, acc64);
    tape.addGradDev(x, dx, true);
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
