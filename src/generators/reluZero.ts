import fc, { type Arbitrary } from 'fast-check';
import type { Case } from './types.ts';
import { clampIndex, orderByKeys } from './_internals/pick.ts';
import { cotangent } from './_internals/cotangent.ts';
import { binadeValue, shortDyadic } from './_internals/values.ts';
import { list } from './_internals/meta.ts';
import { constraintsObject, selection } from './_internals/constraints.ts';
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

/** The ways reluZero builds its exact zeros (see reluZero). */
export const ZERO_MODES = ['cancel-pair', 'cancel-three'] as const;
/** One of ZERO_MODES. */
export type ZeroMode = (typeof ZERO_MODES)[number];

/** reluZero's constraints (every field optional). */
export interface ReluZeroConstraints {
  /** The ways the zeros are made, a non-empty subset of ZERO_MODES (default both, equally often). */
  readonly modes?: readonly ZeroMode[];
}

const FIELDS = ['modes'] as const;

interface Draw {
  zeroWindow: number;
  negWindow: number;
  keys: number[];
  zeroCount: number;
  mode: ZeroMode;
  slots: number[];
  weights: number[];
  t: number;
  s: number;
  g: number;
  negatives: number[];
  others: number[];
  cotangent: number[];
}

/**
 * conv2d (stride = kernel, no bias) → relu → maxpool with exact zeros and harmless ties:
 * - in one pooling window ("zero window") 1..all conv outputs have pre-activation exactly 0 over
 *   the reals and the rest are negative, so after relu the window is all zeros and ReLU'(0) = α
 *   decides whether the routed gradient survives. The patch is nonzero, so the weight gradient
 *   depends on α (an all-zero patch would make the zero harmless). How the zero is made (`zeroMode`):
 *   'cancel-pair' (w_i·w_l·t − w_l·w_i·t, zero in every precision:
 *   weights have 4 significant bits), 'cancel-three' (products ±[2^s, −(2^s + δ), δ] in row-major
 *   order, δ = 2^(s−g), g ∈ 8..40: zero over the reals and at 64 bits, but where p cannot hold
 *   2^s + δ the input rounds to 2^s and the sum leaves ±δ: a ReLU sign that only rounding made);
 * - in another window ("negative window") every pre-activation is negative: after relu all zeros,
 *   a tie ReLU'(x<0) = 0 makes harmless.
 * Every other conv output reads a random patch.
 *
 * meta: zeroMode, zeroCount, zeroOuts / negOuts (flat conv-output indices), zeroWindowOut and
 * negWindowOut (flat pool-output indices).
 *
 * Without constraints it draws what it always drew (same seed, same cases). A bad constraint throws
 * ConfigError naming the field.
 */
export function reluZero(constraints: ReluZeroConstraints = {}): Arbitrary<Case> {
  const at = { who: 'reluZero', prefix: '' };
  const c = constraintsObject(at, constraints, FIELDS);
  const modes = selection(at, 'modes', c.modes, ZERO_MODES);
  return patchLayout({ minWindows: 2, relu: 'always', bias: 'never' }).chain((l) => {
    const K = patchSize(l);
    const P = positionCount(l);
    const windows = windowsOf(l);
    return fc
      .record({
        zeroWindow: fc.nat({ max: windows.length - 1 }),
        negWindow: fc.nat({ max: windows.length - 1 }),
        keys: fc.array(fc.nat({ max: 15 }), { minLength: 16, maxLength: 16 }),
        zeroCount: fc.integer({ min: 1, max: 4 }),
        mode: fc.constantFrom(...modes),
        slots: fc.array(fc.nat({ max: 31 }), { minLength: K, maxLength: K }),
        weights: fc.array(shortDyadic(-3, 2), { minLength: l.outChannels * K, maxLength: l.outChannels * K }),
        t: shortDyadic(-3, 2),
        s: fc.integer({ min: 0, max: 8 }),
        g: fc.integer({ min: 8, max: 40 }),
        negatives: fc.array(binadeValue(-4, 2), { minLength: K, maxLength: K }),
        others: fc.array(binadeValue(-4, 2), { minLength: P * K, maxLength: P * K }),
        cotangent: cotangent(poolOutCount(l)),
      })
      .map((d) => build(l, windows, d));
  });
}

function build(l: PatchLayout, windows: ReturnType<typeof windowsOf>, d: Draw): Case {
  const K = patchSize(l);
  const P = positionCount(l);
  const Z = windows[clampIndex(d.zeroWindow, windows.length)];
  // The negative window: another window of the same out channel (one always exists: ≥ 2 per channel).
  const sameChannel = windows.filter((w) => w !== Z && w.channel === Z.channel);
  const N = sameChannel[d.negWindow % sameChannel.length];
  const co = Z.channel;
  const pos = (out: number) => out % P;

  const weight = d.weights.slice();
  const w = (slot: number) => weight[co * K + slot];
  const [a, b, c] = orderByKeys(
    Array.from({ length: K }, (_, i) => i),
    d.slots,
  )
    .slice(0, 3)
    .sort((u, v) => u - v);
  if (d.mode === 'cancel-three')
    for (const slot of [a, b, c]) weight[co * K + slot] = Math.sign(w(slot)) * 2 ** Math.round(Math.log2(Math.abs(w(slot))));

  const zeroPatch = new Array<number>(K).fill(0);
  if (d.mode === 'cancel-pair') {
    zeroPatch[a] = w(c) * d.t; // w_a·w_c·t
    zeroPatch[c] = -w(a) * d.t; // −w_c·w_a·t
  } else if (d.mode === 'cancel-three') {
    const sgn = Math.sign(d.t);
    const big = sgn * 2 ** d.s;
    const delta = sgn * 2 ** (d.s - d.g);
    zeroPatch[a] = big / w(a);
    zeroPatch[b] = -(big + delta) / w(b);
    zeroPatch[c] = delta / w(c);
  }
  // Every product negative: −|x|·sign(w)·w = −|x·w|.
  const negativePatch = (scale: number) => d.negatives.map((v, slot) => -Math.abs(v) * Math.sign(w(slot)) * scale);

  const data = new Array<number>(inputShape(l).reduce((x, y) => x * y, 1));
  for (let p = 0; p < P; p++) writePatch(l, data, p, d.others.slice(p * K, (p + 1) * K));
  const zOrder = orderByKeys(Z.entries, d.keys);
  const zeroCount = Math.min(d.zeroCount, Z.entries.length);
  const zeroOuts = zOrder.slice(0, zeroCount);
  zeroOuts.forEach((out) => {
    writePatch(l, data, pos(out), zeroPatch);
  });
  zOrder.slice(zeroCount).forEach((out, n) => {
    writePatch(l, data, pos(out), negativePatch(2 ** -n));
  });
  N.entries.forEach((out, n) => {
    writePatch(l, data, pos(out), negativePatch(2 ** -(n + 1)));
  });

  return {
    problem: layoutProblem(l, data, weight, undefined, d.cotangent),
    meta: {
      zeroMode: d.mode,
      zeroCount,
      zeroOuts: list([...zeroOuts].sort((x, y) => x - y)),
      negOuts: list(N.entries),
      zeroWindowOut: Z.out,
      negWindowOut: N.out,
    },
  };
}
