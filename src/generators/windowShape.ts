import fc, { type Arbitrary } from 'fast-check';
import type { Pair } from '../problem/index.ts';
import { poolWindows, type PoolGeometry } from './_internals/geometry.ts';

export type { PoolGeometry } from './_internals/geometry.ts';

export interface WindowShapeOptions {
  /** Least number of real (non-padding) entries some window must hold (default 1; at most 16). */
  readonly minEntries?: number;
  /** Largest input height and width (default 8). */
  readonly maxSize?: number;
  /** Range of channel counts (default [1, 2]). */
  readonly channels?: Pair;
}

interface Raw {
  channels: number;
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number];
  extra: [number, number];
}

/**
 * The geometry of a lone MaxPool: kernel 1–4 per axis, stride 1..kernel (stride < kernel gives
 * overlapping windows), padding 0..⌊kernel/2⌋, and input sizes (≤ maxSize) that give ≥ 1 output.
 *
 * Every draw is a map of independent integers through `normalise`, which clamps rather than
 * rejects, so any shrunk draw is still a valid geometry; shrinking goes towards a 1-channel,
 * small-kernel, stride-1, unpadded, small input.
 */
export function windowShape(opts: WindowShapeOptions = {}): Arbitrary<PoolGeometry> {
  const minEntries = Math.min(16, Math.max(1, opts.minEntries ?? 1));
  const maxSize = opts.maxSize ?? 8;
  if (maxSize < 4) throw new Error(`windowShape: maxSize must be at least 4 (kernels reach 4), got ${maxSize}`);
  const [cmin, cmax] = opts.channels ?? [1, 2];
  const axis = (max: number) => fc.tuple(fc.nat({ max }), fc.nat({ max }));
  return fc
    .record({
      channels: fc.integer({ min: cmin, max: cmax }),
      kernel: fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 })),
      stride: axis(3),
      padding: axis(2),
      extra: axis(maxSize - 1),
    })
    .map((raw) => normalise(raw, minEntries, maxSize));
}

function normalise(raw: Raw, minEntries: number, maxSize: number): PoolGeometry {
  let [kh, kw] = raw.kernel;
  while (kh * kw < minEntries) {
    if (kw < 4) kw++;
    else kh++;
  }
  const axisOf = (k: number, s: number, p: number, extra: number) => {
    const padding = Math.min(p, Math.floor(k / 2));
    const stride = Math.min(1 + s, k);
    const size = Math.min(maxSize, Math.max(1, k - 2 * padding) + extra);
    return { padding, stride, size };
  };
  const h = axisOf(kh, raw.stride[0], raw.padding[0], raw.extra[0]);
  const w = axisOf(kw, raw.stride[1], raw.padding[1], raw.extra[1]);
  let g: PoolGeometry = {
    channels: raw.channels,
    height: h.size,
    width: w.size,
    kernel: [kh, kw],
    stride: [h.stride, w.stride],
    padding: [h.padding, w.padding],
  };
  if (minEntries > 1 && !poolWindows(g).some((win) => win.entries.length >= minEntries)) {
    // Padding can leave every window short of real entries: drop it, and every window is full.
    g = { ...g, padding: [0, 0], height: Math.max(g.height, kh), width: Math.max(g.width, kw) };
  }
  return g;
}
