import fc, { type Arbitrary } from 'fast-check';
import type { Case } from './types.ts';
import { inputSize, outputSize, poolWindows, type PoolGeometry, type PoolWindow } from './_internals/geometry.ts';
import { clampIndex, orderByKeys } from './_internals/pick.ts';
import { cotangent } from './_internals/cotangent.ts';
import { between, binadeValue, downFrom, farBelow } from './_internals/values.ts';
import { lonePoolProblem } from './_internals/problems.ts';
import { tieCounts } from './_internals/meta.ts';
import { windowShape } from './windowShape.ts';

/** Bounds of the log2 relative gap. */
export const NEAR_TIE_GAP_EXPONENTS = [-60, -2] as const;

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
 * exponent drawn uniformly in [−60, −2] (a log-uniform relative gap). Some of them tie after rounding
 * to 16 bits, fewer at 32, none at 64 unless b rounds back to a in double (then it is an exact tie).
 * Every other entry is at least a quarter below a (relative), so it never joins the tie.
 *
 * meta: gapExponent (drawn), gap ((b − a)/|a| as realised in double), exactTie (b === a),
 * a, b, posA, posB, targetOut, k16/k32/k64.
 */
export function nearTie(): Arbitrary<Case> {
  const [lo, hi] = NEAR_TIE_GAP_EXPONENTS;
  return windowShape({ minEntries: 2 }).chain((g) => {
    const candidates = poolWindows(g).filter((w) => w.entries.length >= 2);
    const n = inputSize(g);
    return fc
      .record({
        target: fc.nat({ max: candidates.length - 1 }),
        keys: fc.array(fc.nat({ max: 15 }), { minLength: 16, maxLength: 16 }),
        a: binadeValue(-8, 8),
        gapExponent: downFrom(hi, lo), // shrinks towards the widest gap
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
