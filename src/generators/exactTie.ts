import fc, { type Arbitrary } from 'fast-check';
import type { Case } from './types.ts';
import { inputSize, outputSize, poolWindows, type PoolGeometry, type PoolWindow } from './_internals/geometry.ts';
import { clampIndex, orderByKeys } from './_internals/pick.ts';
import { cotangent } from './_internals/cotangent.ts';
import { background, below, binadeValue } from './_internals/values.ts';
import { lonePoolProblem } from './_internals/problems.ts';
import { list, maxCount, tieCounts } from './_internals/meta.ts';
import { integerRange, optionalBoolean, constraintsObject, type RangeConstraints } from './_internals/constraints.ts';
import { geometryArbitrary, MAX_KERNEL, resolveWindowShape } from './_internals/window.ts';
import type { WindowShapeOptions } from './windowShape.ts';

/** exactTie's constraints (every field optional). */
export interface ExactTieConstraints {
  /**
   * How many entries of the target window tie at its maximum: whole numbers, 2 ≤ min ≤ max ≤ 16
   * (default { min: 2 } up to all the window's entries). The window shape is drawn with at least
   * k.min entries in some window.
   */
  readonly k?: RangeConstraints;
  /** The pooling geometry (default: windowShape's defaults, with at least k.min entries in a window). */
  readonly window?: WindowShapeOptions;
  /**
   * Whether a tied entry is shared with an overlapping neighbour window that ties too (default: drawn).
   * true takes effect only on geometries with overlapping windows (stride < kernel).
   */
  readonly overlap?: boolean;
  /** Exponent range of the tie value ±(1 + f)·2^e: whole numbers from −1022 to 50 (default { min: −6, max: 3 }). */
  readonly binade?: RangeConstraints;
}

const FIELDS = ['k', 'window', 'overlap', 'binade'] as const;

interface Draw {
  target: number;
  k: number;
  keys: number[];
  tie: number;
  background: number[];
  overlap: boolean;
  partner: number;
  cotangent: number[];
}

/**
 * A lone MaxPool where a target window has k = 2..(all its entries) entries exactly equal (as
 * doubles) at its maximum and every other entry strictly smaller. With `overlap` (when the geometry
 * has overlapping windows) a tied entry is shared with a neighbouring window that is tied too; the
 * tie value then exceeds everything else in its channel.
 *
 * meta: k (tied entries in the target window), targetOut, tie, overlap, and with overlap partnerOut,
 * k2 (tied entries in the partner), shared (tied entries in both); tiedWindows (windows of the whole
 * input with ≥ 2 maxima), k16/k32/k64 (the target's tie count after rounding).
 *
 * Without constraints it draws what it always drew (same seed, same cases). A bad constraint throws
 * ConfigError naming the field.
 */
export function exactTie(constraints: ExactTieConstraints = {}): Arbitrary<Case> {
  const at = { who: 'exactTie', prefix: '' };
  const c = constraintsObject(at, constraints, FIELDS);
  const k = integerRange(at, 'k', c.k, { min: 2, max: MAX_KERNEL * MAX_KERNEL }, { min: 2, max: MAX_KERNEL * MAX_KERNEL });
  const binade = integerRange(at, 'binade', c.binade, { min: -6, max: 3 }, { min: -1022, max: 50 });
  const overlap = optionalBoolean(at, 'overlap', c.overlap);
  const shape = resolveWindowShape({ who: 'exactTie', prefix: 'window.' }, c.window, k.min);
  return geometryArbitrary(shape).chain((g) => {
    const windows = poolWindows(g);
    const candidates = windows.filter((w) => w.entries.length >= k.min);
    const maxK = Math.max(...candidates.map((w) => w.entries.length));
    const n = inputSize(g);
    return fc
      .record({
        target: fc.nat({ max: candidates.length - 1 }),
        k: fc.integer({ min: k.min, max: Math.min(k.max, maxK) }),
        keys: fc.array(fc.nat({ max: 15 }), { minLength: 16, maxLength: 16 }),
        tie: binadeValue(binade.min, binade.max),
        background: fc.array(background(8), { minLength: n, maxLength: n }),
        overlap: overlap === undefined ? fc.boolean() : fc.constant(overlap),
        partner: fc.nat({ max: 7 }),
        cotangent: cotangent(outputSize(g)),
      })
      .map((d) => build(g, windows, candidates, d));
  });
}

function build(g: PoolGeometry, windows: readonly PoolWindow[], candidates: readonly PoolWindow[], d: Draw): Case {
  const W = candidates[clampIndex(d.target, candidates.length)];
  const k = Math.min(d.k, W.entries.length);
  const order = orderByKeys(W.entries, d.keys);
  let tied = order.slice(0, k);
  let partner: PoolWindow | undefined;
  if (d.overlap) {
    const partners = windows.filter(
      (w) => w !== W && w.channel === W.channel && w.entries.length >= 2 && w.entries.some((e) => W.entries.includes(e)),
    );
    if (partners.length > 0) {
      const P = partners[d.partner % partners.length];
      partner = P;
      const shared = orderByKeys(
        W.entries.filter((e) => P.entries.includes(e)),
        d.keys,
      )[0];
      tied = [shared, ...order.filter((e) => e !== shared).slice(0, k - 1)];
      if (tied.filter((e) => P.entries.includes(e)).length < 2) {
        tied.push(
          orderByKeys(
            P.entries.filter((e) => !tied.includes(e)),
            d.keys,
          )[0],
        );
      }
    }
  }
  const data = d.background.slice();
  const M = d.tie;
  const plane = g.height * g.width;
  const scope = partner ? Array.from({ length: plane }, (_, i) => W.channel * plane + i) : W.entries;
  for (const e of scope) data[e] = below(M, data[e]);
  for (const e of tied) data[e] = M;

  const inW = (w: PoolWindow) => w.entries.map((e) => data[e]);
  const meta: Record<string, string | number | boolean> = {
    k: tied.filter((e) => W.entries.includes(e)).length,
    targetOut: W.out,
    tied: list(tied.filter((e) => W.entries.includes(e)).sort((a, b) => a - b)),
    tie: M,
    overlap: partner !== undefined,
    tiedWindows: windows.filter((w) => maxCount(inW(w)) >= 2).length,
    ...tieCounts(inW(W)),
  };
  if (partner) {
    const P = partner;
    meta.partnerOut = P.out;
    meta.k2 = tied.filter((e) => P.entries.includes(e)).length;
    meta.shared = tied.filter((e) => P.entries.includes(e) && W.entries.includes(e)).length;
  }
  return { problem: lonePoolProblem(g, data, d.cotangent), meta };
}
