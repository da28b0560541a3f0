/**
 * Sliding-window index maps shared by conv2d and maxpool2d (precomputed once per op, so the inner
 * loops are plain typed-array reads).
 */

import type { Pair } from '../problem/index.ts';
import { windowOutSize } from '../problem/index.ts';

export interface WindowMap {
  readonly outH: number;
  readonly outW: number;
  /** kh·kw: entries per window. */
  readonly k: number;
  /**
   * map[(oh·outW + ow)·k + i·kw + j] = ih·W + iw, the offset inside one H×W plane of the input
   * entry under kernel position (i, j) of output (oh, ow); −1 where the window covers padding.
   * Within a window, entries are in row-major order, i.e. ascending input offset.
   */
  readonly map: Int32Array;
}

export function windowMap(h: number, w: number, kernel: Pair, stride: Pair, padding: Pair): WindowMap {
  const [kh, kw] = kernel;
  const [sh, sw] = stride;
  const [ph, pw] = padding;
  const outH = windowOutSize(h, kh, sh, ph);
  const outW = windowOutSize(w, kw, sw, pw);
  if (outH < 1 || outW < 1) throw new Error(`window ${kh}×${kw} (stride ${sh}×${sw}, padding ${ph}×${pw}) does not fit a ${h}×${w} input`);
  const k = kh * kw;
  const map = new Int32Array(outH * outW * k);
  let m = 0;
  for (let oh = 0; oh < outH; oh++) {
    for (let ow = 0; ow < outW; ow++) {
      for (let i = 0; i < kh; i++) {
        const ih = oh * sh - ph + i;
        for (let j = 0; j < kw; j++) {
          const iw = ow * sw - pw + j;
          map[m++] = ih >= 0 && ih < h && iw >= 0 && iw < w ? ih * w + iw : -1;
        }
      }
    }
  }
  return { outH, outW, k, map };
}
