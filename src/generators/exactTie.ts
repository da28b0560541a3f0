import fc, { type Arbitrary } from 'fast-check';
import type { Case } from './types.ts';
import { inputSize, outputSize, poolWindows, type PoolGeometry, type PoolWindow } from './_internals/geometry.ts';
import { clampIndex, orderByKeys } from './_internals/pick.ts';
import { cotangent } from './_internals/cotangent.ts';
import { background, below, binadeValue } from './_internals/values.ts';
import { lonePoolProblem } from './_internals/problems.ts';
import { list, maxCount, tieCounts } from './_internals/meta.ts';
import { windowShape } from './windowShape.ts';

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
 */
export function exactTie(): Arbitrary<Case> {
  return windowShape({ minEntries: 2 }).chain((g) => {
    const windows = poolWindows(g);
    const candidates = windows.filter((w) => w.entries.length >= 2);
    const maxK = Math.max(...candidates.map((w) => w.entries.length));
    const n = inputSize(g);
    return fc
      .record({
        target: fc.nat({ max: candidates.length - 1 }),
        k: fc.integer({ min: 2, max: maxK }),
        keys: fc.array(fc.nat({ max: 15 }), { minLength: 16, maxLength: 16 }),
        tie: binadeValue(-6, 3),
        background: fc.array(background(8), { minLength: n, maxLength: n }),
        overlap: fc.boolean(),
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
