import fc, { type Arbitrary } from 'fast-check';
import type { Case } from './types.ts';
import { inputSize, outputSize, poolWindows, type PoolGeometry, type PoolWindow } from './_internals/geometry.ts';
import { clampIndex, orderByKeys } from './_internals/pick.ts';
import { cotangent } from './_internals/cotangent.ts';
import { between, binadeValue, downFrom, farBelow } from './_internals/values.ts';
import { lonePoolProblem } from './_internals/problems.ts';
import { tieCounts } from './_internals/meta.ts';
import { constraintsObject, integerRange, type RangeConstraints } from './_internals/constraints.ts';
import { gapExponents } from './_internals/gap.ts';
import { geometryArbitrary, resolveWindowShape } from './_internals/window.ts';
import type { WindowShapeOptions } from './windowShape.ts';

export { NEAR_TIE_GAP_EXPONENTS } from './_internals/gap.ts';

/** nearTie's constraints (every field optional). */
export interface NearTieConstraints {
  /**
   * Range of the log2 relative gap between the top two entries, drawn uniformly (log-uniform gap):
   * numbers, −1074 ≤ min < max ≤ −2 (default { min: −60, max: −2 }, NEAR_TIE_GAP_EXPONENTS).
   */
  readonly gapExponents?: RangeConstraints;
  /** Exponent range of a = ±(1 + f)·2^e: whole numbers from −1022 to 1000 (default { min: −8, max: 8 }). */
  readonly binade?: RangeConstraints;
  /** The pooling geometry (default: windowShape's defaults, with at least 2 entries in a window). */
  readonly window?: WindowShapeOptions;
}

const FIELDS = ['gapExponents', 'binade', 'window'] as const;

interface Draw {
  target: number;
  keys: number[];
  a: number;
  gapExponent: number;
  background: number[];
  cotangent: number[];
}

/**
 * A lone MaxPool where a target window's top two entries are a and b = a + |a|·2^gapExponent, the
 * exponent drawn uniformly in (−60, −2] (a log-uniform relative gap; `gapExponents`). Some of them tie after rounding
 * to 16 bits, fewer at 32, none at 64 unless b rounds back to a in double (then it is an exact tie).
 * Every other entry is at least a quarter below a (relative), so it never joins the tie.
 *
 * meta: gapExponent (drawn), gap ((b − a)/|a| as realised in double), exactTie (b === a),
 * a, b, posA, posB, targetOut, k16/k32/k64.
 *
 * Without constraints it draws what it always drew (same seed, same cases). A bad constraint throws
 * ConfigError naming the field.
 */
export function nearTie(constraints: NearTieConstraints = {}): Arbitrary<Case> {
  const at = { who: 'nearTie', prefix: '' };
  const c = constraintsObject(at, constraints, FIELDS);
  const gap = gapExponents(at, c.gapExponents);
  const binade = integerRange(at, 'binade', c.binade, { min: -8, max: 8 }, { min: -1022, max: 1000 });
  const shape = resolveWindowShape({ who: 'nearTie', prefix: 'window.' }, c.window, 2);
  return geometryArbitrary(shape).chain((g) => {
    const candidates = poolWindows(g).filter((w) => w.entries.length >= 2);
    const n = inputSize(g);
    return fc
      .record({
        target: fc.nat({ max: candidates.length - 1 }),
        keys: fc.array(fc.nat({ max: 15 }), { minLength: 16, maxLength: 16 }),
        a: binadeValue(binade.min, binade.max),
        gapExponent: downFrom(gap.max, gap.min), // shrinks towards the widest gap
        background: fc.array(between(0, 2), { minLength: n, maxLength: n }),
        cotangent: cotangent(outputSize(g)),
      })
      .map((d) => build(g, candidates, d));
  });
}

function build(g: PoolGeometry, candidates: readonly PoolWindow[], d: Draw): Case {
  const W = candidates[clampIndex(d.target, candidates.length)];
  const a = d.a;
  const b = a + Math.abs(a) * 2 ** d.gapExponent;
  const [posA, posB] = orderByKeys(W.entries, d.keys);
  const data = d.background.slice();
  for (const e of W.entries) data[e] = farBelow(a, data[e]);
  data[posA] = a;
  data[posB] = b;
  return {
    problem: lonePoolProblem(g, data, d.cotangent),
    meta: {
      gapExponent: d.gapExponent,
      gap: (b - a) / Math.abs(a),
      exactTie: a === b,
      a,
      b,
      posA,
      posB,
      targetOut: W.out,
      ...tieCounts(W.entries.map((e) => data[e])),
    },
  };
}
