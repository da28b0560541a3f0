/**
 * windowShape's constraints resolved, and the arbitrary they give. The lone-MaxPool generators call
 * these with their own floor on minEntries (a tie needs two entries in one window) and their own
 * field prefix ('window.'), so a bad nested field is reported where the caller wrote it.
 */
import fc, { type Arbitrary } from 'fast-check';
import type { Pair } from '../../problem/index.ts';
import type { WindowShapeOptions } from '../windowShape.ts';
import { constraintsObject, integer, check, type Where } from './constraints.ts';
import { poolWindows, type PoolGeometry } from './geometry.ts';

export interface WindowShape {
  readonly minEntries: number;
  readonly maxSize: number;
  readonly channels: Pair;
}

/** Kernels reach 4 × 4 per window. */
export const MAX_KERNEL = 4;
const MAX_ENTRIES = MAX_KERNEL * MAX_KERNEL;

export const WINDOW_SHAPE_FIELDS = ['minEntries', 'maxSize', 'channels'] as const;

/** Defaults filled and every field checked; minEntries is raised to `leastEntries` (the generator's own need). */
export function resolveWindowShape(at: Where, value: WindowShapeOptions | undefined, leastEntries = 1): WindowShape {
  const c = constraintsObject(at, value, WINDOW_SHAPE_FIELDS);
  const minEntries = integer(at, 'minEntries', c.minEntries, 1, { min: 1, max: MAX_ENTRIES });
  const maxSize = integer(at, 'maxSize', c.maxSize, 8, { min: MAX_KERNEL, max: 64 });
  const channels = c.channels ?? [1, 2];
  check(
    at,
    'channels',
    Array.isArray(channels) &&
      channels.length === 2 &&
      channels.every((n) => Number.isInteger(n) && n >= 1 && n <= 16) &&
      channels[0] <= channels[1],
    `must be a pair [min, max] of whole numbers, 1 ≤ min ≤ max ≤ 16, got ${JSON.stringify(channels)}`,
  );
  return { minEntries: Math.max(minEntries, leastEntries), maxSize, channels };
}

interface Raw {
  channels: number;
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number];
  extra: [number, number];
}

/** Independent integers mapped through `normalise` (clamping, never rejecting: every shrink stays valid). */
export function geometryArbitrary(s: WindowShape): Arbitrary<PoolGeometry> {
  const [cmin, cmax] = s.channels;
  const axis = (max: number) => fc.tuple(fc.nat({ max }), fc.nat({ max }));
  return fc
    .record({
      channels: fc.integer({ min: cmin, max: cmax }),
      kernel: fc.tuple(fc.integer({ min: 1, max: MAX_KERNEL }), fc.integer({ min: 1, max: MAX_KERNEL })),
      stride: axis(3),
      padding: axis(2),
      extra: axis(s.maxSize - 1),
    })
    .map((raw) => normalise(raw, s.minEntries, s.maxSize));
}

function normalise(raw: Raw, minEntries: number, maxSize: number): PoolGeometry {
  let [kh, kw] = raw.kernel;
  while (kh * kw < minEntries) {
    if (kw < MAX_KERNEL) kw++;
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
