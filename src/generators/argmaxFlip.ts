import fc, { type Arbitrary } from 'fast-check';
import { F16, F32, F64, round, type Format } from '../precision/index.ts';
import type { Problem } from '../problem/index.ts';
import type { Case } from './types.ts';
import { clampIndex, orderByKeys } from './_internals/pick.ts';
import { cotangent } from './_internals/cotangent.ts';
import { binadeValue } from './_internals/values.ts';
import { cmp, sign } from './_internals/exact.ts';
import { convExact, convStrict, type ConvView } from './_internals/reference.ts';
import { list } from './_internals/meta.ts';
import { constraintsObject, format as formatField, optionalBoolean } from './_internals/constraints.ts';
import {
  convOutCount,
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

/**
 * Per precision: range of the big term's exponent s and of the extra gap g (δ < 2^(s−p−g+1)).
 * Inputs stay below 2^10 (weights ≥ 2^−2 on the big terms), so neither they nor gradients of
 * cotangent (≤ 8) × high-norm Jacobian weights × input overflow binary16: the coarser columns of a
 * 32- or 64-bit flip stay finite.
 */
const RANGES: Record<string, { s: [number, number]; g: [number, number] }> = {
  '16': { s: [4, 8], g: [2, 3] },
  '32': { s: [-8, 8], g: [2, 8] },
  '64': { s: [-8, 8], g: [2, 20] },
};

/** argmaxFlip's constraints: the format is required, the rest optional. */
export interface ArgmaxFlipConstraints {
  /** The format p whose strictly rounded sums flip the order (required): F16, F32 or F64. */
  readonly format: Format;
  /** Whether a relu sits between the conv and the maxpool (default: drawn). */
  readonly relu?: boolean;
}

const FIELDS = ['format', 'relu'] as const;

interface Draw {
  target: number;
  keys: number[];
  slots: number[];
  weights: number[];
  signs: boolean[];
  wExp: number[];
  s: number;
  g: number;
  dm: number;
  h: number;
  em: number;
  loser: number[];
  others: number[];
  cotangent: number[];
}

/**
 * conv2d (stride = kernel, no bias) → (relu) → maxpool, where in one pooling window conv output A
 * exceeds conv output B over the reals yet the p-rounded sequential sum puts A below B.
 *
 * A's patch makes three nonzero products, in row-major (ci, ky, kx) order [σ2^s, δ, −σ2^s] with
 * 0 < δ < 2^(s−p−1): fl_p(σ2^s + δ) = σ2^s, so A sums to 0 in p (forwards or backwards) while
 * exactly A = δ. B's patch makes the single product η, 0 < η < δ, exact in p. The weights on the
 * three slots are powers of two and every input is a value of p, so all products are exact and only
 * the additions round. The window's other conv outputs are a single negative product (below both).
 *
 * meta: format, outA, outB (flat conv-output indices), slots (the three term positions), s, delta,
 * eta, relu, order ('row-major strict': the convention the flip is built for), flip16/flip32/flip64
 * (the reference strict sum of A is below B's while exactly A > B).
 *
 * argmaxFlip({ format: F16 }) is 'argmax-flip-16' (likewise 32, 64). A bad constraint throws
 * ConfigError naming the field.
 */
export function argmaxFlip(constraints: ArgmaxFlipConstraints): Arbitrary<Case> {
  const at = { who: 'argmaxFlip', prefix: '' };
  const c = constraintsObject(at, constraints, FIELDS, ['format']);
  const format = formatField(at, 'format', c.format, (f) =>
    RANGES[f.name] === undefined ? `no construction for it (have ${Object.keys(RANGES).join(', ')})` : undefined,
  );
  const relu = optionalBoolean(at, 'relu', c.relu);
  const range = RANGES[format.name];
  return patchLayout({ relu: relu === undefined ? 'optional' : relu ? 'always' : 'never', bias: 'never' }).chain((l) => {
    const K = patchSize(l);
    const P = positionCount(l);
    const windows = windowsOf(l);
    return fc
      .record({
        target: fc.nat({ max: windows.length - 1 }),
        keys: fc.array(fc.nat({ max: 15 }), { minLength: 16, maxLength: 16 }),
        slots: fc.array(fc.nat({ max: 31 }), { minLength: K, maxLength: K }),
        weights: fc.array(binadeValue(-3, 0), { minLength: l.outChannels * K, maxLength: l.outChannels * K }),
        signs: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
        wExp: fc.array(fc.integer({ min: -2, max: 2 }), { minLength: 3, maxLength: 3 }),
        s: fc.integer({ min: range.s[0], max: range.s[1] }),
        g: fc.integer({ min: range.g[0], max: range.g[1] }),
        dm: fc.integer({ min: 0, max: 7 }),
        h: fc.integer({ min: 1, max: 3 }),
        em: fc.integer({ min: 0, max: 7 }),
        loser: fc.array(fc.integer({ min: 0, max: 7 }), { minLength: P, maxLength: P }),
        others: fc.array(binadeValue(-4, 4), { minLength: P * K, maxLength: P * K }),
        cotangent: cotangent(poolOutCount(l)),
      })
      .map((d) => build(format, l, windows, d));
  });
}

function build(p: Format, l: PatchLayout, windows: ReturnType<typeof windowsOf>, d: Draw): Case {
  const K = patchSize(l);
  const P = positionCount(l);
  const W = windows[clampIndex(d.target, windows.length)];
  const co = W.channel;
  const [outA, outB, ...losers] = orderByKeys(W.entries, d.keys);
  const { slots, weight } = termWeights(p, K, co, d);
  const w = (slot: number) => weight[co * K + slot];
  const terms = flipTerms(p, d);

  const data = new Array<number>(inputShape(l).reduce((a, b) => a * b, 1)).fill(0);
  for (let pos = 0; pos < P; pos++)
    writePatch(
      l,
      data,
      pos,
      d.others.slice(pos * K, (pos + 1) * K).map((x) => round(p, x)),
    );
  const patch = (products: [number, number][]) => {
    const x = new Array<number>(K).fill(0);
    for (const [slot, t] of products) x[slot] = t / w(slot);
    return x;
  };
  const pos = (out: number) => out % P;
  const [i, j, k] = slots;
  writePatch(
    l,
    data,
    pos(outA),
    patch([
      [i, terms.big],
      [j, terms.delta],
      [k, -terms.big],
    ]),
  );
  writePatch(l, data, pos(outB), patch([[j, terms.eta]]));
  for (const [n, out] of losers.entries()) writePatch(l, data, pos(out), patch([[j, -(1 + d.loser[(pos(out) + n) % P] / 8)]]));

  const problem = layoutProblem(l, data, weight, undefined, d.cotangent);
  return { problem, meta: describe(p, l, problem, data, { outA, outB, slots, s: d.s, delta: terms.delta, eta: terms.eta }) };
}

/** The three term slots of A's patch (in row-major order) and the weights: powers of two on those slots, so products are exact. */
function termWeights(p: Format, K: number, co: number, d: Draw): { slots: number[]; weight: number[] } {
  const slots = orderByKeys(
    Array.from({ length: K }, (_, i) => i),
    d.slots,
  )
    .slice(0, 3)
    .sort((a, b) => a - b);
  const weight = d.weights.map((w) => round(p, w));
  slots.forEach((slot, n) => {
    weight[co * K + slot] = (d.signs[n] ? -1 : 1) * 2 ** d.wExp[n];
  });
  return { slots, weight };
}

/** A's products [σ2^s, δ, −σ2^s] with δ below half an ulp of 2^s in p, and B's single product η < δ. */
function flipTerms(p: Format, d: Draw): { big: number; delta: number; eta: number } {
  const sigma = d.signs[0] === d.signs[2] ? 1 : -1;
  const big = sigma * 2 ** d.s;
  const delta = (1 + d.dm / 8) * 2 ** (d.s - p.significandBits - d.g);
  const eta = delta * ((8 + d.em) / 16) * 2 ** (1 - d.h); // (1/2 .. 15/16)·2^(1−h)·δ < δ
  return { big, delta, eta };
}

interface Built {
  readonly outA: number;
  readonly outB: number;
  readonly slots: readonly number[];
  readonly s: number;
  readonly delta: number;
  readonly eta: number;
}

/** meta: the construction, and whether the reference strict sums flip A and B at 16, 32 and 64 bits. */
function describe(p: Format, l: PatchLayout, problem: Problem, data: number[], b: Built): Case['meta'] {
  const view: ConvView = { shape: inputShape(l), data, conv: problem.layers[0] as ConvView['conv'], params: problem.params[0]! };
  const exactA = convExact(view, b.outA);
  const exactB = convExact(view, b.outB);
  const exactOrder = cmp(exactA, exactB);
  const flip = (f: Format) => exactOrder > 0 && convStrict(f, view, b.outA) < convStrict(f, view, b.outB);
  return {
    format: p.name,
    outA: b.outA,
    outB: b.outB,
    slots: list(b.slots),
    s: b.s,
    delta: b.delta,
    eta: b.eta,
    relu: l.relu,
    order: 'row-major strict',
    exactAboveB: exactOrder > 0 && sign(exactB) > 0,
    flip16: flip(F16),
    flip32: flip(F32),
    flip64: flip(F64),
    convOutputs: convOutCount(l),
  };
}
