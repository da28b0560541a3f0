import fc, { type Arbitrary } from 'fast-check';
import { exponentOf, F16, F32, F64, nextDown, nextUp, round, type Format } from '../precision/index.ts';
import type { Case } from './types.ts';
import { inputSize, outputSize, poolWindows, type PoolGeometry, type PoolWindow } from './_internals/geometry.ts';
import { clampIndex, orderByKeys } from './_internals/pick.ts';
import { cotangent } from './_internals/cotangent.ts';
import { symmetric, valueIn } from './_internals/values.ts';
import { lonePoolProblem } from './_internals/problems.ts';
import { tieCounts } from './_internals/meta.ts';
import { constraintsObject, format as formatField, optionalBoolean } from './_internals/constraints.ts';
import { geometryArbitrary, resolveWindowShape } from './_internals/window.ts';
import type { WindowShapeOptions } from './windowShape.ts';

/** ulpNeighbour's constraints: the format is required, the rest optional. */
export interface UlpNeighbourConstraints {
  /**
   * The format p whose adjacent values x, nextUp(p, x) top the window (required): F16, F32, F64, or
   * another Format of src/precision holding every value below 2^9 and subnormals down from 2^−8
   * (BF16, E5M2; not E4M3, whose largest value is 448).
   */
  readonly format: Format;
  /** Whether x or y sits on a power of two, where p's spacing changes (default: drawn). */
  readonly edge?: boolean;
  /** The pooling geometry (default: windowShape's defaults, with at least 2 entries in a window). */
  readonly window?: WindowShapeOptions;
}

const FIELDS = ['format', 'edge', 'window'] as const;

/** x is drawn as ±(1 + f)·2^e, e ∈ [−8, 8], or a subnormal of p: both must be values of p. */
function drawable(f: Format): string | undefined {
  if (f.maxFinite < 2 ** 9) return `x reaches 2^9 but its largest finite value is ${f.maxFinite}`;
  if (f.emin > -8) return `x reaches down to 2^-8 but its smallest normal exponent is ${f.emin}`;
  if (!f.subnormals) return 'x is sometimes subnormal but it has no subnormals';
  return undefined;
}

interface Draw {
  target: number;
  keys: number[];
  x: number;
  edge: boolean;
  background: number[];
  cotangent: number[];
}

/**
 * A lone MaxPool where a target window's top two entries are x and nextUp(p, x), adjacent values of
 * format p (sometimes across a binade edge, where the ulp changes; sometimes subnormal). Every other
 * entry of the window is ≤ nextDown(p, x), so in p the two stay the strict top pair; rounded to a
 * coarser format they may tie.
 *
 * meta: format, x, y (= nextUp(p, x)), posX, posY (flat input indices), targetOut, edge,
 * tie16/tie32/tie64 (x and y equal after rounding), k16/k32/k64 (the window's tie count after rounding).
 *
 * ulpNeighbour({ format: F16 }) is 'ulp-neighbour-16' (likewise 32, 64). A bad constraint throws
 * ConfigError naming the field.
 */
export function ulpNeighbour(constraints: UlpNeighbourConstraints): Arbitrary<Case> {
  const at = { who: 'ulpNeighbour', prefix: '' };
  const c = constraintsObject(at, constraints, FIELDS, ['format']);
  const format = formatField(at, 'format', c.format, drawable);
  const edge = optionalBoolean(at, 'edge', c.edge);
  const shape = resolveWindowShape({ who: 'ulpNeighbour', prefix: 'window.' }, c.window, 2);
  return geometryArbitrary(shape).chain((g) => {
    const candidates = poolWindows(g).filter((w) => w.entries.length >= 2);
    const n = inputSize(g);
    return fc
      .record({
        target: fc.nat({ max: candidates.length - 1 }),
        keys: fc.array(fc.nat({ max: 15 }), { minLength: 16, maxLength: 16 }),
        x: valueIn(format),
        edge: edge === undefined ? fc.boolean() : fc.constant(edge),
        background: fc.array(symmetric(8), { minLength: n, maxLength: n }),
        cotangent: cotangent(outputSize(g)),
      })
      .map((d) => build(format, g, candidates, d));
  });
}

function build(p: Format, g: PoolGeometry, candidates: readonly PoolWindow[], d: Draw): Case {
  const W = candidates[clampIndex(d.target, candidates.length)];
  let x = d.x;
  if (d.edge) {
    // Put y or x on a power of two, where the spacing of p changes.
    const e = 2 ** exponentOf(x);
    x = x > 0 ? nextDown(p, e) : -e;
  }
  const y = nextUp(p, x);
  const [posX, posY] = orderByKeys(W.entries, d.keys);
  const data = d.background.slice();
  const lower = nextDown(p, x);
  for (const e of W.entries) data[e] = lower - Math.abs(data[e]);
  data[posX] = x;
  data[posY] = y;
  const same = (f: Format) => round(f, x) === round(f, y);
  return {
    problem: lonePoolProblem(g, data, d.cotangent),
    meta: {
      format: p.name,
      x,
      y,
      posX,
      posY,
      targetOut: W.out,
      edge: d.edge,
      tie16: same(F16),
      tie32: same(F32),
      tie64: same(F64),
      ...tieCounts(W.entries.map((e) => data[e])),
    },
  };
}
