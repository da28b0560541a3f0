/**
 * Pooling-window geometry: which flat NCHW input indices (batch 1) each output of a MaxPool
 * reads. Padding (−∞) is never listed.
 */
import type { MaxPoolSpec, Pair } from '../../problem/index.ts';
import { windowOutSize } from '../../problem/index.ts';

/** A lone MaxPool over a [1, channels, height, width] input. */
export interface PoolGeometry {
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly kernel: Pair;
  readonly stride: Pair;
  readonly padding: Pair;
}

/** One window of a pooling geometry: its channel, its output and the input entries it reads. */
export interface PoolWindow {
  readonly channel: number;
  /** Flat NCHW index of the output this window produces. */
  readonly out: number;
  /** Flat NCHW input indices inside the window (real entries only), row-major. */
  readonly entries: readonly number[];
}

export function poolOutSize(g: PoolGeometry): Pair {
  return [windowOutSize(g.height, g.kernel[0], g.stride[0], g.padding[0]), windowOutSize(g.width, g.kernel[1], g.stride[1], g.padding[1])];
}

export function inputSize(g: PoolGeometry): number {
  return g.channels * g.height * g.width;
}

export function outputSize(g: PoolGeometry): number {
  const [oh, ow] = poolOutSize(g);
  return g.channels * oh * ow;
}

export function poolSpec(g: PoolGeometry): MaxPoolSpec {
  return { kind: 'maxpool', kernel: g.kernel, stride: g.stride, padding: g.padding };
}

/** Every window of a pooling geometry, output by output (NCHW order), with the flat input indices it covers. */
export function poolWindows(g: PoolGeometry): PoolWindow[] {
  const [oh, ow] = poolOutSize(g);
  const out: PoolWindow[] = [];
  for (let c = 0; c < g.channels; c++) {
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++) {
        const entries: number[] = [];
        for (let ky = 0; ky < g.kernel[0]; ky++) {
          const r = y * g.stride[0] - g.padding[0] + ky;
          if (r < 0 || r >= g.height) continue;
          for (let kx = 0; kx < g.kernel[1]; kx++) {
            const s = x * g.stride[1] - g.padding[1] + kx;
            if (s < 0 || s >= g.width) continue;
            entries.push((c * g.height + r) * g.width + s);
          }
        }
        out.push({ channel: c, out: (c * oh + y) * ow + x, entries });
      }
    }
  }
  return out;
}
