/**
 * flatten: [N, C, H, W] (or any [N, …]) → [N, C·H·W], row-major, as before a linear layer.
 * A reshape: no arithmetic, the gradient is gy under the input's shape.
 */
import type { Tensor } from '../tensor.ts';
import { reshape } from './reshape.ts';

export function flatten(x: Tensor): Tensor {
  if (x.shape.length < 2) throw new Error(`flatten: x must be [N, …], got ${x.shape.join('×') || 'a scalar'}`);
  const N = x.shape[0];
  return reshape(x, [N, N === 0 ? 0 : x.size / N]);
}
