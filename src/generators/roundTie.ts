import fc, { type Arbitrary } from 'fast-check';
import { F16, F32, F64, nextDown, nextUp, round, type Format } from '../precision/index.ts';
import type { Case } from './types.ts';
import { inputSize, outputSize, poolWindows, type PoolGeometry, type PoolWindow } from './_internals/geometry.ts';
import { clampIndex, orderByKeys } from './_internals/pick.ts';
import { cotangent } from './_internals/cotangent.ts';
import { binadeValue, symmetric } from './_internals/values.ts';
import { lonePoolProblem } from './_internals/problems.ts';
import { allEqualIn, list, tieCounts } from './_internals/meta.ts';
import { windowShape } from './windowShape.ts';

interface Draw {
  target: number;
  keys: number[];
  h: number;
  straddle: boolean;
  below: number[];
  above: number[];
  center: boolean;
  background: number[];
  cotangent: number[];
}

/**
 * A lone MaxPool whose target window holds k ≥ 2 values that are distinct in the `fine` format
 * (hence as doubles) yet round to the same value h of the `coarse` format: they tie only at the
 * coarse precision. The values sit on the fine grid strictly inside h's rounding interval
 * (h ± i·ulp_fine, 0 < i < 2^(p_fine − p_coarse − 1)). Every other entry rounds below h.
 *
 * roundTie(F16, F32) is 'round-tie-16'; roundTie(F32, F64) is 'round-tie-32', which sometimes
 * (`straddle`) centres h on a binary16 midpoint so the values split at 16 bits: tied at 32, not at 16.
 *
 * meta: coarse, fine, k, h, positions (flat input indices), targetOut, straddle,
 * tie16/tie32/tie64 (the k values equal after rounding), k16/k32/k64 (the window's tie counts).
 */
export function roundTie(coarse: Format, fine: Format): Arbitrary<Case> {
  const N = 2 ** (fine.significandBits - coarse.significandBits - 1);
  const offsets = (minLength: number) => fc.uniqueArray(fc.integer({ min: 1, max: N - 1 }), { minLength, maxLength: 2 });
  const canStraddle = coarse.significandBits > F16.significandBits;
  return windowShape({ minEntries: 2 }).chain((g) => {
    const candidates = poolWindows(g).filter((w) => w.entries.length >= 2);
    const n = inputSize(g);
    return fc
      .record({
        target: fc.nat({ max: candidates.length - 1 }),
        keys: fc.array(fc.nat({ max: 15 }), { minLength: 16, maxLength: 16 }),
        h: binadeValue(-10, 10),
        straddle: canStraddle ? fc.boolean() : fc.constant(false),
        below: offsets(0),
        above: offsets(1),
        center: fc.boolean(),
        background: fc.array(symmetric(8), { minLength: n, maxLength: n }),
        cotangent: cotangent(outputSize(g)),
      })
      .map((d) => build(coarse, fine, N, g, candidates, d));
  });
}

function build(coarse: Format, fine: Format, N: number, g: PoolGeometry, candidates: readonly PoolWindow[], d: Draw): Case {
  const W = candidates[clampIndex(d.target, candidates.length)];
  let h: number;
  if (d.straddle) {
    const a = round(F16, d.h);
    h = (a + nextUp(F16, a)) / 2; // a binary16 midpoint: a value of binary32
  } else {
    h = round(coarse, d.h);
  }
  // One step of the fine grid on each side of h (the grid is finer below a power of two).
  const down = (h - nextDown(coarse, h)) / (2 * N);
  const up = (nextUp(coarse, h) - h) / (2 * N);
  const belowIdx = d.straddle && d.below.length === 0 ? [N / 2] : d.below;
  const aboveVals = d.above.map((j) => h + j * up);
  const belowVals = belowIdx.map((i) => h - i * down);
  const ordered = [aboveVals[0], ...belowVals.slice(0, 1), ...(d.center ? [h] : []), ...aboveVals.slice(1), ...belowVals.slice(1)];
  if (ordered.length < 2) ordered.push(h);
  const values = ordered.slice(0, W.entries.length);

  const positions = orderByKeys(W.entries, d.keys).slice(0, values.length);
  const data = d.background.slice();
  const lower = nextDown(coarse, h);
  for (const e of W.entries) data[e] = lower - Math.abs(data[e]);
  positions.forEach((e, i) => {
    data[e] = values[i];
  });
  return {
    problem: lonePoolProblem(g, data, d.cotangent),
    meta: {
      coarse: coarse.name,
      fine: fine.name,
      k: values.length,
      h,
      positions: list(positions),
      targetOut: W.out,
      straddle: d.straddle,
      tie16: allEqualIn(F16, values),
      tie32: allEqualIn(F32, values),
      tie64: allEqualIn(F64, values),
      ...tieCounts(W.entries.map((e) => data[e])),
    },
  };
}
