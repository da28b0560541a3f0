import fc, { type Arbitrary } from 'fast-check';
import { F16, F32, F64, type Format } from '../precision/index.ts';
import type { Problem } from '../problem/index.ts';
import type { Case } from './types.ts';
import { clampIndex, orderByKeys } from './_internals/pick.ts';
import { cotangent } from './_internals/cotangent.ts';
import { binadeValue, downFrom } from './_internals/values.ts';
import { cmp, dot, log2Abs, sign, sub, type Exact } from './_internals/exact.ts';
import { convExact, convStrict, type ConvView } from './_internals/reference.ts';
import {
  inputShape,
  layoutProblem,
  patchLayout,
  patchSize,
  poolOutCount,
  positionCount,
  windowsOf,
  writePatch,
  type PatchLayout,
} from './_internals/patchLayout.ts';
import { constraintsObject, optionalBoolean, selection, type RangeConstraints } from './_internals/constraints.ts';
import { gapExponents } from './_internals/gap.ts';

/** The ways nearTieChain builds its near-equal conv outputs (see nearTieChain). */
export const NEAR_TIE_CHAIN_MODES = ['near', 'transfer', 'swap'] as const;
/** One of NEAR_TIE_CHAIN_MODES. */
export type ChainMode = (typeof NEAR_TIE_CHAIN_MODES)[number];

/** How often each mode is drawn, relative to the others. */
const MODE_WEIGHTS: Record<ChainMode, number> = { near: 1, transfer: 2, swap: 1 };

/** nearTieChain's constraints (every field optional). */
export interface NearTieChainConstraints {
  /** The modes drawn, a non-empty subset of NEAR_TIE_CHAIN_MODES (default all, weighted near 1 : transfer 2 : swap 1). */
  readonly modes?: readonly ChainMode[];
  /**
   * Range of the log2 target relative gap, drawn uniformly (ignored by 'swap'): numbers,
   * −1074 ≤ min < max ≤ −2 (default { min: −60, max: −2 }, NEAR_TIE_GAP_EXPONENTS).
   */
  readonly gapExponents?: RangeConstraints;
  /** Whether A holds a large cancelling pair (default: drawn). */
  readonly cancel?: boolean;
  /** Whether the conv has a bias (default: drawn). */
  readonly bias?: boolean;
}

const FIELDS = ['modes', 'gapExponents', 'cancel', 'bias'] as const;

interface Draw {
  target: number;
  keys: number[];
  weights: number[];
  bias: number[];
  patchA: number[];
  slots: number[];
  fineScale: number;
  cancel: boolean;
  cancelExp: number;
  mode: ChainMode;
  transfer: number;
  gapExponent: number;
  gapUp: boolean;
  shrink: number[];
  others: number[];
  cotangent: number[];
}

/**
 * conv2d (stride = kernel) → relu → maxpool where two conv outputs A, B of one pooling window are
 * exactly or nearly equal over the reals, built from one patch A of mixed magnitudes, with a target
 * relative gap ±2^gapExponent, gapExponent uniform in [−60, −2] (log-uniform):
 * - 'near': B's patch is A's with one entry (optionally scaled down to 2^−30 so tiny gaps
 *   are resolvable) moved by the gap. The float sum is monotone in each term, so this can tie after
 *   rounding but never flip; when the move is below the entry's ulp, B = A (identical patches);
 * - 'transfer': an amount T is moved from one term to another and the gap added on top, so A and B
 *   take different rounding paths: they can tie or flip;
 * - 'swap': two entries of A with equal weights swapped: exactly B = A over the reals with different
 *   patches, but a different summation order in float.
 * Optionally (`cancel`) A holds a large cancelling pair (±2^4..2^8 times the rest), summed first and
 * last around the moved or swapped terms, so the conv sum loses relative accuracy. A is made positive
 * (so relu passes it). The window's other conv outputs are A scaled by 2^−1..2^−3, strictly below.
 * The float outcome depends on precision: at 64 bits some draws tie or flip, more at 32, most at 16.
 *
 * meta: mode, gapExponent (ignored by 'swap'), exactTie (A = B over the reals), gapLog2
 * (log2 |B − A|/A, when not tied), cancel, outA, outB, and from the reference strict sum (row-major,
 * each op rounded, bias last: the engine's 'strict' order) tie16/32/64 (fl A = fl B) and
 * flip16/32/64 (fl order opposite to the exact order).
 *
 * Without constraints it draws what it always drew (same seed, same cases). A bad constraint throws
 * ConfigError naming the field.
 */
export function nearTieChain(constraints: NearTieChainConstraints = {}): Arbitrary<Case> {
  const at = { who: 'nearTieChain', prefix: '' };
  const c = constraintsObject(at, constraints, FIELDS);
  const modes = selection(at, 'modes', c.modes, NEAR_TIE_CHAIN_MODES);
  const gap = gapExponents(at, c.gapExponents);
  const cancel = optionalBoolean(at, 'cancel', c.cancel);
  const bias = optionalBoolean(at, 'bias', c.bias);
  const mode = fc.oneof(...modes.map((m) => ({ weight: MODE_WEIGHTS[m], arbitrary: fc.constant<ChainMode>(m) })));
  return patchLayout({ relu: 'always', bias: bias === undefined ? 'optional' : bias ? 'always' : 'never' }).chain((l) => {
    const K = patchSize(l);
    const P = positionCount(l);
    const windows = windowsOf(l);
    return fc
      .record({
        target: fc.nat({ max: windows.length - 1 }),
        keys: fc.array(fc.nat({ max: 15 }), { minLength: 16, maxLength: 16 }),
        weights: fc.array(binadeValue(-2, 2), { minLength: l.outChannels * K, maxLength: l.outChannels * K }),
        bias: fc.array(binadeValue(-4, 0), { minLength: l.outChannels, maxLength: l.outChannels }),
        patchA: fc.array(binadeValue(-6, 1), { minLength: K, maxLength: K }),
        slots: fc.array(fc.nat({ max: 31 }), { minLength: K, maxLength: K }),
        fineScale: fc.integer({ min: -30, max: 0 }),
        cancel: cancel === undefined ? fc.boolean() : fc.constant(cancel),
        cancelExp: fc.integer({ min: 4, max: 8 }),
        mode,
        transfer: fc.integer({ min: 0, max: 10 }),
        gapExponent: downFrom(gap.max, gap.min), // shrinks towards the widest gap
        gapUp: fc.boolean(),
        shrink: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 4, maxLength: 4 }),
        others: fc.array(binadeValue(-6, 2), { minLength: P * K, maxLength: P * K }),
        cotangent: cotangent(poolOutCount(l)),
      })
      .map((d) => build(l, windows, d));
  });
}

/** The four term positions, in summation order, and the weights (swap makes two of them equal). */
interface Terms {
  readonly i0: number;
  readonly j: number;
  readonly m: number;
  readonly l0: number;
  readonly weight: number[];
  /** The weight of slot n in the target's out channel. */
  readonly w: (slot: number) => number;
}

function build(l: PatchLayout, windows: ReturnType<typeof windowsOf>, d: Draw): Case {
  const K = patchSize(l);
  const P = positionCount(l);
  const W = windows[clampIndex(d.target, windows.length)];
  const co = W.channel;
  const [outA, outB, ...rest] = orderByKeys(W.entries, d.keys);
  const pos = (out: number) => out % P;

  const t = terms(K, co, d);
  const { x, zA } = patchA(K, co, t, d);
  const bias = l.bias ? d.bias.map((b, c) => (c === co ? Math.abs(b) : b)) : undefined;
  const xB = patchB(x, zA, t, d);

  const data = new Array<number>(inputShape(l).reduce((a, b) => a * b, 1));
  for (let p = 0; p < P; p++) writePatch(l, data, p, d.others.slice(p * K, (p + 1) * K));
  writePatch(l, data, pos(outA), x);
  writePatch(l, data, pos(outB), xB);
  rest.forEach((out, n) => {
    writePatch(
      l,
      data,
      pos(out),
      x.map((v) => v * 2 ** -d.shrink[n % d.shrink.length]),
    );
  });

  const problem = layoutProblem(l, data, t.weight, bias, d.cotangent);
  return { problem, meta: describe(problem, l, data, outA, outB, d) };
}

function terms(K: number, co: number, d: Draw): Terms {
  const weight = d.weights.slice();
  const w = (slot: number) => weight[co * K + slot];
  // Four term positions in summation order: the big cancelling term first, the two moved or swapped
  // terms while the partial sum is big (so they round at its scale), its partner last.
  const [i0, j, m, l0] = orderByKeys(
    Array.from({ length: K }, (_, n) => n),
    d.slots,
  )
    .slice(0, 4)
    .sort((a, b) => a - b);
  if (d.mode === 'swap') weight[co * K + m] = w(j);
  return { i0, j, m, l0, weight, w };
}

/** A's patch, made positive (so relu passes it), and its exact pre-activation (bias aside). */
function patchA(K: number, co: number, t: Terms, d: Draw): { x: number[]; zA: Exact } {
  const { i0, j, m, l0, w } = t;
  const x = d.patchA.slice();
  if (d.mode === 'near') x[j] *= 2 ** d.fineScale;
  if (d.mode === 'swap' && x[m] === x[j]) x[m] *= 2;
  if (d.cancel) {
    x[i0] *= 2 ** d.cancelExp;
    x[l0] = -(x[i0] * w(i0)) / w(l0); // cancels w(i0)·x[i0] up to the rounding of this division
  }
  const row = t.weight.slice(co * K, (co + 1) * K);
  let zA = dot(x, row);
  if (sign(zA) === 0) {
    x[j] *= 2;
    zA = dot(x, row);
  }
  if (sign(zA) < 0) for (let n = 0; n < K; n++) x[n] = -x[n];
  return { x, zA };
}

/** B's patch: A's with two entries swapped, one entry moved by the gap, or an amount transferred and the gap added. */
function patchB(x: readonly number[], zA: Exact, t: Terms, d: Draw): number[] {
  const { j, m, w } = t;
  const xB = x.slice();
  if (d.mode === 'swap') {
    [xB[j], xB[m]] = [x[m], x[j]];
    return xB;
  }
  const gap = (d.gapUp ? 1 : -1) * 2 ** d.gapExponent * 2 ** log2Abs(zA); // zA ≠ 0 here
  if (d.mode === 'near') {
    xB[j] = x[j] + gap / w(j);
  } else {
    // Move T = 2^−transfer·min(|w_j x_j|, |w_m x_m|) from term m to term j, then add the gap to m.
    const T = 2 ** -d.transfer * Math.min(Math.abs(w(j) * x[j]), Math.abs(w(m) * x[m]));
    xB[j] = x[j] + T / w(j);
    xB[m] = x[m] - (T - gap) / w(m);
  }
  return xB;
}

/** meta: the exact order of A and B, and the reference strict sums' ties and flips at 16, 32, 64 bits. */
function describe(
  problem: Problem,
  l: PatchLayout,
  data: number[],
  outA: number,
  outB: number,
  d: Draw,
): Record<string, string | number | boolean> {
  const view: ConvView = { shape: inputShape(l), data, conv: problem.layers[0] as ConvView['conv'], params: problem.params[0]! };
  const eA = convExact(view, outA);
  const eB = convExact(view, outB);
  const order = cmp(eA, eB);
  const gapLog2 = order === 0 ? undefined : log2Abs(sub(eB, eA)) - log2Abs(eA);
  const meta: Record<string, string | number | boolean> = {
    mode: d.mode,
    gapExponent: d.gapExponent,
    exactTie: order === 0,
    cancel: d.cancel,
    outA,
    outB,
  };
  if (gapLog2 !== undefined) meta.gapLog2 = gapLog2;
  for (const f of [F16, F32, F64] as Format[]) {
    const a = convStrict(f, view, outA);
    const b = convStrict(f, view, outB);
    meta[`tie${f.name}`] = a === b;
    meta[`flip${f.name}`] = order !== 0 && a !== b && a < b !== order < 0;
  }
  return meta;
}
