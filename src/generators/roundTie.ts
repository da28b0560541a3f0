import fc, { type Arbitrary } from 'fast-check';
import { F16, F32, F64, nextDown, nextUp, round, type Format } from '../precision/index.ts';
import type { Case } from './types.ts';
import { inputSize, outputSize, poolWindows, type PoolGeometry, type PoolWindow } from './_internals/geometry.ts';
import { clampIndex, orderByKeys } from './_internals/pick.ts';
import { cotangent } from './_internals/cotangent.ts';
import { binadeValue, symmetric } from './_internals/values.ts';
import { lonePoolProblem } from './_internals/problems.ts';
import { allEqualIn, list, tieCounts } from './_internals/meta.ts';
import {
  check,
  constraintsObject,
  format as formatField,
  integerRange,
  optionalBoolean,
  type RangeConstraints,
  type Range,
  type Where,
} from './_internals/constraints.ts';
import { geometryArbitrary, resolveWindowShape } from './_internals/window.ts';
import type { WindowShapeOptions } from './windowShape.ts';

/** roundTie's constraints: the coarse format `to` is required, the rest optional. */
export interface RoundTieConstraints {
  /** The coarse format the values tie in (required): F16, F32, BF16, E5M2, E4M3 (any Format of src/precision but F64). */
  readonly to: Format;
  /**
   * The fine format the values are distinct in: at least 2 more significand bits than `to` and its
   * exponent range (default: the first of F16, F32, F64 that is: F32 for F16 and BF16, F64 for F32,
   * F16 for the 8-bit formats).
   */
  readonly from?: Format;
  /**
   * Whether h sits on a binary16 midpoint, so the values split at 16 bits: tied in `to`, not in
   * binary16 (default: drawn where `to` holds binary16's midpoints, i.e. has more significand bits
   * and its exponent range; otherwise never, and true is refused).
   */
  readonly straddle?: boolean;
  /**
   * Exponent range of h ±(1 + f)·2^e: whole numbers within `to`'s normal exponents [emin, emax − 1],
   * and binary16's where a straddle may be drawn (default { min: −10, max: 10 } cut to those).
   */
  readonly binade?: RangeConstraints;
  /** The pooling geometry (default: windowShape's defaults, with at least 2 entries in a window). */
  readonly window?: WindowShapeOptions;
}

const FIELDS = ['to', 'from', 'straddle', 'binade', 'window'] as const;

/** fine holds every value of coarse and, between two of them, at least 3 more (h ± i·ulp_fine, 0 < i < N). */
function finer(fine: Format, coarse: Format): string | undefined {
  if (fine.significandBits < coarse.significandBits + 2) return `it needs at least 2 more significand bits than '${coarse.name}'`;
  if (fine.emin > coarse.emin || fine.emax < coarse.emax) return `its exponent range does not cover '${coarse.name}''s`;
  return undefined;
}

/** Can h be a binary16 midpoint in coarse (a value of coarse strictly between two binary16 values)? */
function holdsF16Midpoints(coarse: Format): boolean {
  return coarse.significandBits > F16.significandBits && coarse.emin <= F16.emin && coarse.emax >= F16.emax;
}

interface Resolved {
  readonly coarse: Format;
  readonly fine: Format;
  readonly straddle: boolean | undefined;
  readonly canStraddle: boolean;
  readonly binade: Range;
  readonly window: WindowShapeOptions | undefined;
}

function resolve(constraints: RoundTieConstraints): Resolved {
  const at: Where = { who: 'roundTie', prefix: '' };
  const c = constraintsObject(at, constraints, FIELDS, ['to']);
  const coarse = formatField(at, 'to', c.to, (f) =>
    [F16, F32, F64].some((g) => finer(g, f) === undefined) ? undefined : 'none of F16, F32, F64 is finer',
  );
  const fine =
    c.from === undefined
      ? ([F16, F32, F64].find((g) => finer(g, coarse) === undefined) as Format)
      : formatField(at, 'from', c.from, (f) => finer(f, coarse));
  const straddle = optionalBoolean(at, 'straddle', c.straddle);
  const canStraddle = holdsF16Midpoints(coarse);
  check(at, 'straddle', !(straddle === true && !canStraddle), `cannot be true: '${coarse.name}' does not hold binary16's midpoints`);
  const mayStraddle = canStraddle && straddle !== false;
  // h must be a normal value of coarse below its top binade (and of binary16 when it may straddle).
  const lo = Math.max(coarse.emin, mayStraddle ? F16.emin : -Infinity);
  const hi = Math.min(coarse.emax - 1, mayStraddle ? F16.emax - 1 : Infinity);
  const binade = integerRange(at, 'binade', c.binade, { min: Math.max(-10, lo), max: Math.min(10, hi) }, { min: lo, max: hi });
  return { coarse, fine, straddle, canStraddle, binade, window: c.window };
}

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
 * roundTie({ to: F16 }) (from F32) is 'round-tie-16'; roundTie({ to: F32 }) (from F64) is 'round-tie-32',
 * which sometimes (`straddle`) centres h on a binary16 midpoint so the values split at 16 bits: tied
 * at 32, not at 16.
 *
 * meta: coarse, fine, k, h, positions (flat input indices), targetOut, straddle,
 * tie16/tie32/tie64 (the k values equal after rounding), k16/k32/k64 (the window's tie counts).
 * A bad constraint throws ConfigError naming the field.
 */
export function roundTie(constraints: RoundTieConstraints): Arbitrary<Case> {
  const r = resolve(constraints);
  const { coarse, fine } = r;
  const N = 2 ** (fine.significandBits - coarse.significandBits - 1);
  const offsets = (minLength: number) => fc.uniqueArray(fc.integer({ min: 1, max: N - 1 }), { minLength, maxLength: 2 });
  const straddle = r.canStraddle ? (r.straddle === undefined ? fc.boolean() : fc.constant(r.straddle)) : fc.constant(false);
  const shape = resolveWindowShape({ who: 'roundTie', prefix: 'window.' }, r.window, 2);
  return geometryArbitrary(shape).chain((g) => {
    const candidates = poolWindows(g).filter((w) => w.entries.length >= 2);
    const n = inputSize(g);
    return fc
      .record({
        target: fc.nat({ max: candidates.length - 1 }),
        keys: fc.array(fc.nat({ max: 15 }), { minLength: 16, maxLength: 16 }),
        h: binadeValue(r.binade.min, r.binade.max),
        straddle,
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
