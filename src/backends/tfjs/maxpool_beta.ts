/**
 * MaxPool with a chosen member of the Jacobian family (docs/DESIGN.md §2) in tfjs, through tf.customGrad.
 *
 * Forward: tf.maxPool (NHWC, explicit padding that never wins the max), so the value is exactly
 * tfjs's own max. Backward, for a window with tie set I (entries equal to the window's max, in
 * row-major window order = ascending input index; padding never belongs to I), k = |I| and
 * dy the window's upstream gradient: dx[i_t] += w_t · dy with w_t = round_p(num/den) from
 * tieWeights(member, k): exactly the weights the engine applies (first, last, minnorm, beta:β).
 *
 * All in tf ops, one kernel offset (a, b) at a time, row-major:
 *   x_ab   = strided slice of the padded input: x_ab[n,i,j,c] = xpad[n, i·sh + a, j·sw + b, c]
 *   in_ab  = (x_ab == y) ∧ (position is real, not padding)        (y = the forward max)
 *   k      = Σ_ab in_ab;   t_ab = Σ_{a'b' ≤ ab} in_a'b' − 1       (position of ab in the tie set)
 *   w_ab   = in_ab · W[k][t_ab], W the table of rounded weights, gathered by (k, t)
 *   g_ab   = w_ab · dy where w_ab ≠ 0 (structural zeros skipped, so ∞·0 never makes a NaN), else 0
 *   dx     = Σ_ab g_ab scattered back to (i·sh + a, j·sw + b) (dilate by the stride, shift, crop)
 * Sums run in float32 in offset order; where windows do not overlap each dx entry gets one term.
 * A window whose max is NaN has an empty tie set (NaN ≠ NaN) and sends no gradient.
 */
import type { GradSaveFunc, Tensor, Tensor4D } from '@tensorflow/tfjs';
import { type MaxPoolJacobian, tieWeights } from '../../jacobians/index.ts';
import type { Pair } from '../../problem/index.ts';
import { tf } from './runtime.ts';

export interface MaxPoolBetaOptions {
  readonly kernel: Pair;
  readonly stride: Pair;
  /** Implicit −∞ padding per side [rows, cols], at most half the kernel. */
  readonly padding: Pair;
  readonly member: MaxPoolJacobian;
  /** How a weight num/den becomes a number of the run's precision: Math.fround (default) or f16round. */
  readonly roundWeight?: (x: number) => number;
}

type Explicit = [[number, number], [number, number], [number, number], [number, number]];

/** Flat weight table: entry (k − 1)·K + t is round(w_t) of a tie set of size k (0 beyond t ≥ k). */
function weightTable(member: MaxPoolJacobian, K: number, round: (x: number) => number): Float32Array {
  const table = new Float32Array(K * K);
  for (let k = 1; k <= K; k++) {
    tieWeights(member, k).forEach((w, t) => {
      table[(k - 1) * K + t] = round(w.num / w.den);
    });
  }
  return table;
}

/** Place g [N, OH, OW, C] at rows a + i·sh, cols b + j·sw of a zero [N, HP, WP, C] tensor. */
function scatterOffset(g: Tensor4D, a: number, b: number, sh: number, sw: number, hp: number, wp: number): Tensor4D {
  const [n, oh, ow, c] = g.shape;
  let t: Tensor4D = g;
  if (sh > 1)
    t = tf.reshape(
      tf.pad(tf.reshape(t, [n, oh, 1, ow * c]), [
        [0, 0],
        [0, 0],
        [0, sh - 1],
        [0, 0],
      ]),
      [n, oh * sh, ow, c],
    );
  if (sw > 1)
    t = tf.reshape(
      tf.pad(tf.reshape(t, [n * oh * sh, ow, 1, c]), [
        [0, 0],
        [0, 0],
        [0, sw - 1],
        [0, 0],
      ]),
      [n, oh * sh, ow * sw, c],
    );
  const [h1, w1] = [t.shape[1], t.shape[2]];
  // Shift by (a, b) and fit to HP × WP: pad before, then pad or crop after.
  const rows = Math.min(h1, hp - a);
  const cols = Math.min(w1, wp - b);
  if (rows < h1 || cols < w1) t = tf.slice(t, [0, 0, 0, 0], [n, rows, cols, c]);
  return tf.pad(t, [
    [0, 0],
    [a, hp - a - rows],
    [b, wp - b - cols],
    [0, 0],
  ]);
}

/** dx of a max pool (NHWC) under `member`, from the input x, the forward max y and dy. */
export function maxPoolBetaBackward(x: Tensor4D, y: Tensor4D, dy: Tensor4D, opts: MaxPoolBetaOptions): Tensor4D {
  return tf.tidy(() => {
    const [kh, kw] = opts.kernel;
    const [sh, sw] = opts.stride;
    const [ph, pw] = opts.padding;
    const K = kh * kw;
    const [n, h, w, c] = x.shape;
    const [, oh, ow] = y.shape;
    const hp = h + 2 * ph;
    const wp = w + 2 * pw;
    const pad: Explicit = [
      [0, 0],
      [ph, ph],
      [pw, pw],
      [0, 0],
    ];
    const xpad = ph || pw ? tf.pad(x, pad, 0) : x;
    const realPad = ph || pw ? tf.pad(tf.ones([1, h, w, 1]), pad, 0) : undefined;
    const at = (t: Tensor4D, a: number, b: number): Tensor4D =>
      tf.stridedSlice(t, [0, a, b, 0], [t.shape[0], a + (oh - 1) * sh + 1, b + (ow - 1) * sw + 1, t.shape[3]], [1, sh, sw, 1]) as Tensor4D;
    const tied: Tensor[] = [];
    for (let a = 0; a < kh; a++) {
      for (let b = 0; b < kw; b++) {
        let m = tf.equal(at(xpad, a, b), y);
        if (realPad) m = tf.logicalAnd(m, tf.cast(at(realPad as Tensor4D, a, b), 'bool'));
        tied.push(tf.cast(m, 'int32'));
      }
    }
    const k = tf.addN(tied);
    const table = tf.tensor1d(weightTable(opts.member, K, opts.roundWeight ?? Math.fround));
    const row = tf.mul(tf.maximum(tf.sub(k, 1), 0), K);
    let cum: Tensor = tf.zerosLike(k);
    let dx: Tensor4D = tf.zeros([n, hp, wp, c]);
    tied.forEach((m, idx) => {
      cum = tf.add(cum, m);
      const pos = tf.add(row, tf.maximum(tf.sub(cum, 1), 0));
      const wgt = tf.mul(tf.reshape(tf.gather(table, tf.cast(tf.reshape(pos, [-1]), 'int32')), y.shape), tf.cast(m, 'float32'));
      const g = tf.where(tf.notEqual(wgt, 0), tf.mul(wgt, dy), tf.zerosLike(dy)) as Tensor4D;
      dx = tf.add(dx, scatterOffset(g, Math.floor(idx / kw), idx % kw, sh, sw, hp, wp));
    });
    return ph || pw ? tf.slice(dx, [0, ph, pw, 0], [n, h, w, c]) : dx;
  });
}

/**
 * maxPool (NHWC) whose gradient is `member`'s Jacobian. tfjs's own gradient of tf.maxPool is the
 * backend's rule instead (cpu: first, wasm: last, see ../tie_rule.ts).
 */
export function maxPoolBeta(x: Tensor4D, opts: MaxPoolBetaOptions): Tensor4D {
  const [kh, kw] = opts.kernel;
  const [ph, pw] = opts.padding;
  if (2 * ph > kh || 2 * pw > kw) throw new Error(`maxPoolBeta: padding ${ph}×${pw} must be at most half the kernel ${kh}×${kw}`);
  const pad: Explicit = [
    [0, 0],
    [ph, ph],
    [pw, pw],
    [0, 0],
  ];
  const f = tf.customGrad((...args: (Tensor | GradSaveFunc)[]) => {
    const input = args[0] as Tensor4D;
    const y = tf.maxPool(input, [kh, kw], [...opts.stride] as [number, number], ph || pw ? pad : 'valid');
    (args[1] as GradSaveFunc)([input, y]);
    return {
      value: y,
      gradFunc: (dy: Tensor, saved: Tensor[]) => [maxPoolBetaBackward(saved[0] as Tensor4D, saved[1] as Tensor4D, dy as Tensor4D, opts)],
    };
  });
  return f(x) as Tensor4D;
}
