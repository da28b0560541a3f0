/**
 * reshape: the same values (row-major) under a new shape, e.g. flattening NCHW to [N, C·H·W]
 * before a linear layer. No arithmetic; the gradient is gy under the input's shape. Values in
 * device memory are shared, not copied (tensors never change).
 */
import type { Tensor } from '../tensor.ts';

export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const tape = x.tape;
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== x.size) throw new Error(`reshape: cannot view ${x.shape.join('×')} (${x.size} values) as ${shape.join('×')}`);
  if (tape.device && x.dev !== 0) {
    const out = tape.resultDev(x.dev, shape, [x], 'reshape');
    tape.recordDev('reshape', [x], out, (gy) => tape.addGradDev(x, gy, false));
    return out;
  }
  const out = tape.result(x.data.slice(), shape, [x], 'reshape');
  tape.record('reshape', [x], out, (gy) => tape.addGrad(x, gy));
  return out;
}
