import fc, { type Arbitrary } from 'fast-check';
import { F16, F32, F64, type Format } from '../precision/index.ts';
import type { Case } from './types.ts';
import { inputSize, outputSize, poolWindows, type PoolGeometry, type PoolWindow } from './_internals/geometry.ts';
import { clampIndex, orderByKeys } from './_internals/pick.ts';
import { cotangent } from './_internals/cotangent.ts';
import { background, below } from './_internals/values.ts';
import { lonePoolProblem } from './_internals/problems.ts';
import { list, tieCounts } from './_internals/meta.ts';
import { constraintsObject, selection } from './_internals/constraints.ts';
import { geometryArbitrary, resolveWindowShape } from './_internals/window.ts';
import type { WindowShapeOptions } from './windowShape.ts';

/**
 * The kinds of special value, and the meta flag that claims each:
 * nan, posInf, negInf, signedZero (both −0 and +0 present), sub16 / sub32 / sub64 (a subnormal of
 * that format, exactly representable in it), over16 (a finite value above 65504, binary16's max).
 */
export const SPECIAL_KINDS = ['nan', 'posInf', 'negInf', 'signedZero', 'sub16', 'sub32', 'sub64', 'over16'] as const;
/** One of SPECIAL_KINDS. */
export type SpecialKind = (typeof SPECIAL_KINDS)[number];

/** specialValues' constraints (every field optional). */
export interface SpecialValuesConstraints {
  /**
   * The kinds placed, a non-empty subset of SPECIAL_KINDS: the target window's kind is one of them,
   * and only they are scattered elsewhere (default all, equally often). The random background may
   * still hold ±0 and tiny doubles (fast-check's edge cases), never placed nor claimed.
   */
  readonly kinds?: readonly SpecialKind[];
  /** The pooling geometry (default: windowShape's defaults, with at least 2 entries in a window). */
  readonly window?: WindowShapeOptions;
}

const FIELDS = ['kinds', 'window'] as const;

const SUBNORMAL_FORMAT: Record<string, Format> = { sub16: F16, sub32: F32, sub64: F64 };
const F16_MAX = 65504;

interface Draw {
  target: number;
  keys: number[];
  kind: SpecialKind;
  variant: boolean;
  mantissas: bigint[];
  overs: number[];
  overScale: number;
  extras: SpecialKind[];
  background: number[];
  cotangent: number[];
}

/**
 * A lone MaxPool whose target window is built around one special kind (`kind`), arranged so that it
 * decides the window:
 * - nan: a NaN among finite values;
 * - posInf: +∞ as the maximum (twice with `variant`: a tie of infinities);
 * - negInf: −∞ among finite values, or (`variant`) a window of −∞ only (a tie at −∞);
 * - signedZero: −0 and +0 as the maximum, every other entry negative (a tie: −0 = +0 in IEEE);
 * - sub16/sub32/sub64: two distinct positive subnormals of that format as the top pair (at a coarser
 *   format they flush or round together), the rest negative;
 * - over16: two distinct finite values above 65504 as the top pair (at 16 bits they round to
 *   65504 below 65520 and overflow to +∞ from there: a tie either way or a split).
 * `extras` scatters other kinds outside the target window when there is room.
 *
 * meta: kind, variant, targetOut, kinds (comma list of every kind placed), one boolean per kind placed
 * (true), and for finite windows k16/k32/k64.
 *
 * Without constraints it draws what it always drew (same seed, same cases). A bad constraint throws
 * ConfigError naming the field.
 */
export function specialValues(constraints: SpecialValuesConstraints = {}): Arbitrary<Case> {
  const at = { who: 'specialValues', prefix: '' };
  const c = constraintsObject(at, constraints, FIELDS);
  const kinds = selection(at, 'kinds', c.kinds, SPECIAL_KINDS);
  const shape = resolveWindowShape({ who: 'specialValues', prefix: 'window.' }, c.window, 2);
  return geometryArbitrary(shape).chain((g) => {
    const candidates = poolWindows(g).filter((w) => w.entries.length >= 2);
    const n = inputSize(g);
    return fc
      .record({
        target: fc.nat({ max: candidates.length - 1 }),
        keys: fc.array(fc.nat({ max: 15 }), { minLength: 16, maxLength: 16 }),
        kind: fc.constantFrom(...kinds),
        variant: fc.boolean(),
        mantissas: fc.uniqueArray(fc.bigInt({ min: 1n, max: 2n ** 52n - 1n }), { minLength: 2, maxLength: 2 }),
        overs: fc.uniqueArray(fc.integer({ min: 1, max: 2 ** 16 }), { minLength: 2, maxLength: 2 }),
        overScale: fc.integer({ min: 0, max: 8 }),
        extras: fc.subarray([...kinds]),
        background: fc.array(background(8), { minLength: n, maxLength: n }),
        cotangent: cotangent(outputSize(g)),
      })
      .map((d) => build(g, candidates, d));
  });
}

/** Two distinct positive subnormals of f from two distinct drawn mantissas. */
function subnormalPair(f: Format, ms: readonly bigint[]): [number, number] {
  const limit = 2n ** BigInt(f.significandBits - 1) - 1n; // largest subnormal mantissa
  const q = 2 ** (f.emin - f.significandBits + 1);
  let [a, b] = ms.map((m) => ((m - 1n) % limit) + 1n);
  if (a === b) b = (a % limit) + 1n; // distinct again after folding (limit ≥ 2)
  return [Number(a) * q, Number(b) * q];
}

function representative(kind: SpecialKind, d: Draw): number[] {
  switch (kind) {
    case 'nan':
      return [NaN];
    case 'posInf':
      return [Infinity];
    case 'negInf':
      return [-Infinity];
    case 'signedZero':
      return [-0, 0];
    case 'over16':
      return [F16_MAX + d.overs[0] * 2 ** d.overScale];
    default:
      return [subnormalPair(SUBNORMAL_FORMAT[kind], d.mantissas)[0]];
  }
}

function build(g: PoolGeometry, candidates: readonly PoolWindow[], d: Draw): Case {
  const W = candidates[clampIndex(d.target, candidates.length)];
  const data = d.background.slice();
  const order = orderByKeys(W.entries, d.keys);
  const placed = new Set<SpecialKind>([d.kind]);
  const put = (values: number[], floor: number) => {
    for (const e of W.entries) data[e] = below(floor, data[e]);
    values.forEach((v, i) => {
      data[order[i]] = v;
    });
  };
  switch (d.kind) {
    case 'nan':
      data[order[0]] = NaN;
      break;
    case 'posInf':
      put(d.variant ? [Infinity, Infinity] : [Infinity], Infinity);
      break;
    case 'negInf':
      if (d.variant) for (const e of W.entries) data[e] = -Infinity;
      else data[order[0]] = -Infinity;
      break;
    case 'signedZero':
      put([-0, 0], 0);
      for (const e of order.slice(2)) data[e] = -Math.abs(data[e]) - 1;
      break;
    case 'over16': {
      const [a, b] = d.overs.map((o) => F16_MAX + o * 2 ** d.overScale);
      put([a, b], F16_MAX);
      break;
    }
    default: {
      const [a, b] = subnormalPair(SUBNORMAL_FORMAT[d.kind], d.mantissas);
      put([a, b], 0);
      for (const e of order.slice(2)) data[e] = -Math.abs(data[e]) - 1;
    }
  }
  // Extras go outside the target window, one slot each (two for signedZero), while there is room.
  const outside = orderByKeys(
    Array.from({ length: data.length }, (_, i) => i).filter((i) => !W.entries.includes(i)),
    d.keys,
  );
  for (const kind of d.extras) {
    if (placed.has(kind)) continue;
    const values = representative(kind, d);
    if (values.length > outside.length) continue;
    for (const v of values) data[outside.shift()!] = v;
    placed.add(kind);
  }

  const kinds = SPECIAL_KINDS.filter((k) => placed.has(k));
  const windowValues = W.entries.map((e) => data[e]);
  const meta: Record<string, string | number | boolean> = {
    kind: d.kind,
    variant: d.variant,
    targetOut: W.out,
    kinds: kinds.join(','),
    positions: list(order.slice(0, 2)),
  };
  for (const k of kinds) meta[k] = true;
  if (windowValues.every(Number.isFinite)) Object.assign(meta, tieCounts(windowValues));
  return { problem: lonePoolProblem(g, data, d.cotangent), meta };
}
