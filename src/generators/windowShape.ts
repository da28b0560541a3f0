import type { Arbitrary } from 'fast-check';
import type { Pair } from '../problem/index.ts';
import type { PoolGeometry } from './_internals/geometry.ts';
import { geometryArbitrary, resolveWindowShape } from './_internals/window.ts';

export type { PoolGeometry } from './_internals/geometry.ts';

/**
 * windowShape's constraints (every field optional). The lone-MaxPool generators take the same
 * object as their `window` constraint.
 */
export interface WindowShapeOptions {
  /**
   * Least number of real (non-padding) entries some window must hold: a whole number from 1 to 16
   * (default 1; the tie generators raise it to what their tie needs, 2 or more).
   */
  readonly minEntries?: number;
  /** Largest input height and width: a whole number from 4 (kernels reach 4) to 64 (default 8). */
  readonly maxSize?: number;
  /** Range [min, max] of channel counts, 1 ≤ min ≤ max ≤ 16 (default [1, 2]). */
  readonly channels?: Pair;
}

/**
 * The geometry of a lone MaxPool: kernel 1–4 per axis, stride 1..kernel (stride < kernel gives
 * overlapping windows), padding 0..⌊kernel/2⌋, and input sizes (≤ maxSize) that give ≥ 1 output.
 *
 * Every draw is a map of independent integers that clamps rather than rejects, so any shrunk draw
 * is still a valid geometry; shrinking goes towards a 1-channel, small-kernel, stride-1, unpadded,
 * small input. A bad constraint throws ConfigError naming the field.
 */
export function windowShape(constraints: WindowShapeOptions = {}): Arbitrary<PoolGeometry> {
  return geometryArbitrary(resolveWindowShape({ who: 'windowShape', prefix: '' }, constraints));
}
