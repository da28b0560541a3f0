/**
 * A reference conv2d output, exact and in precision p with the 'strict' convention (each product and
 * each addition rounded to p, terms summed in row-major (ci, ky, kx) order, bias added last). The
 * generators use it only to describe a draw in Case.meta; the engine is the system under test.
 */
import { round, type Format } from '../../precision/index.ts';
import type { Conv2dSpec, ConvParams } from '../../problem/index.ts';
import { add, exactOf, mul, ZERO, type Exact } from './exact.ts';

export interface ConvView {
  /** [1, C, H, W]. */
  readonly shape: readonly [number, number, number, number];
  readonly data: readonly number[];
  readonly conv: Conv2dSpec;
  readonly params: ConvParams;
}

/** The (input, weight) pairs feeding flat conv output `out`, in row-major (ci, ky, kx) order; padding skipped. */
export function convTerms(v: ConvView, out: number): { x: number; w: number }[] {
  const [, C, H, W] = v.shape;
  const [kh, kw] = v.conv.kernel;
  const [sh, sw] = v.conv.stride;
  const [ph, pw] = v.conv.padding;
  const oh = Math.floor((H + 2 * ph - kh) / sh) + 1;
  const ow = Math.floor((W + 2 * pw - kw) / sw) + 1;
  const co = Math.floor(out / (oh * ow));
  const oy = Math.floor((out % (oh * ow)) / ow);
  const ox = out % ow;
  const terms: { x: number; w: number }[] = [];
  for (let ci = 0; ci < C; ci++) {
    for (let ky = 0; ky < kh; ky++) {
      const r = oy * sh - ph + ky;
      if (r < 0 || r >= H) continue;
      for (let kx = 0; kx < kw; kx++) {
        const s = ox * sw - pw + kx;
        if (s < 0 || s >= W) continue;
        terms.push({ x: v.data[(ci * H + r) * W + s], w: v.params.weight[((co * C + ci) * kh + ky) * kw + kx] });
      }
    }
  }
  return terms;
}

function outChannel(v: ConvView, out: number): number {
  const [, , H, W] = v.shape;
  const oh = Math.floor((H + 2 * v.conv.padding[0] - v.conv.kernel[0]) / v.conv.stride[0]) + 1;
  const ow = Math.floor((W + 2 * v.conv.padding[1] - v.conv.kernel[1]) / v.conv.stride[1]) + 1;
  return Math.floor(out / (oh * ow));
}

export function convExact(v: ConvView, out: number): Exact {
  let acc = ZERO;
  for (const t of convTerms(v, out)) acc = add(acc, mul(exactOf(t.x), exactOf(t.w)));
  if (v.params.bias) acc = add(acc, exactOf(v.params.bias[outChannel(v, out)]));
  return acc;
}

export function convStrict(f: Format, v: ConvView, out: number): number {
  let acc: number | undefined;
  for (const t of convTerms(v, out)) {
    const prod = round(f, round(f, t.x) * round(f, t.w));
    acc = acc === undefined ? prod : round(f, acc + prod);
  }
  let r = acc ?? 0;
  if (v.params.bias) r = round(f, r + round(f, v.params.bias[outChannel(v, out)]));
  return r;
}
