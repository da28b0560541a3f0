/**
 * 16-bit emulation for tfjs, which has float32 tensors only.
 *
 * The emulated mode is the engine's `wide` (src/engine/arith.ts): every op computes in float32 and
 * its output is rounded to binary16. `roundF16` is that rounding, built from tf ops only so it runs
 * on every backend; `op16` wraps an op so that its forward output and the gradient it sends to
 * each input are both rounded; `f16Values` rounds doubles (inputs, parameters) on the JS side.
 *
 * roundF16(x), x float32, to the nearest binary16 value, ties to even:
 *   a    = |x|
 *   ufp  = 2^⌊log2 max(2^-14, min(a, 2^16))⌋, exactly, by Rump–Ogita–Oishi's "unit in the first
 *          place" (Rump, "Ultimately fast accurate summation", SISC 2009, Alg. 3.5) in float32:
 *          q = fl(φ·c), φ = 2^23 + 1;  ufp = |q − fl((1 − 2^-24)·q)|, for c = clip(a, 2^-14, 2^16)
 *          (valid for every normal c that does not overflow; both products are single roundings);
 *   qnt  = ufp · 2^-10: the binary16 quantum of a's binade, 2^-24 for every a below 2^-14 (the
 *          subnormals share the quantum of the lowest normal binade);
 *   m    = min(a / qnt, 2^22): exact (a power-of-two scaling whose result is normal: a/qnt ≥ 2^-125);
 *   n    = fl(fl(m + 2^23) − 2^23): round-half-even of m to an integer (for 0 ≤ m < 2^23 the sum
 *          lies in [2^23, 2^24), where float32's spacing is 1, and float32 addition rounds to
 *          nearest, ties to even); the subtraction is exact;
 *   r    = n · qnt (exact: n ≤ 2^11), +∞ when r > 65504 (so 65520 = 65504 + half an ulp overflows,
 *          ties to even going up to 2^16);
 * then the sign: −r for x < 0; a zero result takes x·0 (so −0 and negatives that underflow stay
 * −0); NaN is passed through unchanged.
 *
 * On the cpu backend every float32 op is computed in double and rounded once to float32; for
 * +, −, ×, ÷ of float32 operands that double rounding is innocuous (Figueroa, "When is double
 * rounding innocuous?", 1995: 53 ≥ 2·24 + 2), so both backends give the correctly rounded float32
 * result each step above assumes. The property suite checks roundF16 against
 * @petamoriken/float16's f16round on every binary16 value, every midpoint between neighbours and
 * the float32 neighbours of each midpoint, plus arbitrary float32 inputs, on cpu and wasm.
 */
import { f16round } from '@petamoriken/float16';
import type { GradSaveFunc, Tensor } from '@tensorflow/tfjs';
import { tf } from './runtime.ts';

const PHI = 2 ** 23 + 1;
const ONE_MINUS_EPS = 1 - 2 ** -24;
const F16_MAX = 65504;

/** Round every element of a float32 tensor to binary16 (see the file comment). Returns a new tensor. */
export function roundF16(t: Tensor): Tensor {
  return tf.tidy(() => {
    const x = t.dtype === 'float32' ? t : tf.cast(t, 'float32');
    const a = tf.abs(x);
    const c = tf.clipByValue(a, 2 ** -14, 2 ** 16);
    const q = tf.mul(c, PHI);
    const ufp = tf.abs(tf.sub(q, tf.mul(q, ONE_MINUS_EPS)));
    const quantum = tf.mul(ufp, 2 ** -10);
    const m = tf.minimum(tf.div(a, quantum), 2 ** 22);
    const n = tf.sub(tf.add(m, 2 ** 23), 2 ** 23);
    const r = tf.mul(n, quantum);
    const finite = tf.where(tf.greater(r, F16_MAX), tf.scalar(Infinity), r);
    const signed = tf.where(tf.less(x, 0), tf.neg(finite), finite);
    const zeroKeepsSign = tf.where(tf.equal(finite, 0), tf.mul(x, 0), signed);
    return tf.where(tf.isNaN(x), x, zeroKeepsSign);
  });
}

/** Doubles rounded straight to binary16 (one rounding, as the engine rounds its inputs), held in a Float32Array (exact). */
export function f16Values(values: ArrayLike<number>): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = f16round(values[i]);
  return out;
}

/**
 * Straight-through rounding node: forward roundF16(y); backward roundF16(dy), where dy is the sum
 * of every gradient contribution y received (so the sum of contributions is rounded, as the
 * engine's tape rounds it).
 */
const roundNode = tf.customGrad((...args: (Tensor | GradSaveFunc)[]) => {
  (args[1] as GradSaveFunc)([]);
  return { value: roundF16(args[0] as Tensor), gradFunc: (dy: Tensor) => [roundF16(dy)] };
});

/** Identity forward; the gradient arriving here (one op's contribution to an input) is rounded. */
const roundGradNode = tf.customGrad((...args: (Tensor | GradSaveFunc)[]) => {
  (args[1] as GradSaveFunc)([]);
  return { value: tf.clone(args[0] as Tensor), gradFunc: (dy: Tensor) => [roundF16(dy)] };
});

/**
 * Wrap an op for the 16-bit `wide` emulation: its output is rounded to binary16 in the forward
 * pass, and in the backward pass the gradient reaching its output (summed over consumers) and the
 * gradient it sends to each input are rounded to binary16. The op itself (and its tfjs gradient)
 * computes in float32 in between.
 */
export function op16<A extends Tensor[]>(f: (...xs: A) => Tensor): (...xs: A) => Tensor {
  return (...xs: A) => roundNode(f(...(xs.map((x) => roundGradNode(x)) as A)));
}
