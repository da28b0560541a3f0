/**
 * globalAvgPool: [N, C, H, W] → [N, C, 1, 1], the mean of each plane (ResNet's adaptive average
 * pool to 1×1). It is avgpool2d with one H×W window, so it shares avgpool2d's arithmetic and
 * orders: s = Σ over the plane in row-major order, y = round_p(acc(s / (H·W))); backward sends
 * round_p(acc(gy / (H·W))) to every entry of the plane.
 */
import type { Tensor } from '../tensor.ts';
import { avgpool2d } from './avgpool2d.ts';

export function globalAvgPool(x: Tensor): Tensor {
  if (x.shape.length !== 4) throw new Error(`globalAvgPool: x must be 4-D (NCHW), got ${x.shape.join('×')}`);
  const [, , H, W] = x.shape;
  return avgpool2d(x, { kernel: [H, W], stride: [H, W] });
}
