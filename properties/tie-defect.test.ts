/**
 * A framework's gradient at an exact tie (a bifurcation point) must still be the exact AD of an
 * admissible Jacobian along its own routing: per window, a row on the tie set whose weights sum to
 * 1 (src/zones/admissible.ts). Before this check, classifyFixed called any result at a real tie a
 * bifurcation, so a MaxPool that sends a tied window's gradient to an entry that is not tied, or
 * gives every tied entry the whole gradient (a `x == max` mask), passed verify and assertMaxPool.
 */
import { describe, expect, it } from 'vitest';
import type { AdBackend } from '../src/backends/types.ts';
import { decimalOracle } from '../src/oracle/index.ts';
import type { Problem } from '../src/problem/index.ts';
import { checkMaxPool, type KernelArray, type MaxPoolGeometry, type MaxPoolKernel, maxPoolBackend } from '../src/testing/index.ts';
import { classifyPoint } from '../src/zones/classify.ts';
import { checkAdmissibleAtTie, leastSquares } from '../src/zones/admissible.ts';
import { F32 } from '../src/precision/index.ts';

/** Each window's entries (flat input indices) and the window's output index, for one image and channel planes. */
function windows(x: KernelArray, g: MaxPoolGeometry): { out: number; idx: number[] }[] {
  const [n, c, h, w] = g.inputShape;
  const [, , oh, ow] = g.outputShape;
  const list: { out: number; idx: number[] }[] = [];
  let o = 0;
  for (let b = 0; b < n * c; b++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++, o++) {
        const idx: number[] = [];
        for (let ky = 0; ky < g.kernel[0]; ky++)
          for (let kx = 0; kx < g.kernel[1]; kx++) {
            const y = oy * g.stride[0] - g.padding[0] + ky;
            const xx = ox * g.stride[1] - g.padding[1] + kx;
            if (y >= 0 && y < h && xx >= 0 && xx < w) idx.push(b * h * w + y * w + xx);
          }
        list.push({ out: o, idx });
      }
  return list.map((l) => ({ ...l, idx: l.idx.filter((i) => !Number.isNaN(x[i]!)) }));
}

/** A kernel whose backward gives each window's tie set the weights `rowOf(window number, tie set, window entries)`. */
function kernel(id: string, rowOf: (w: number, ties: number[], idx: number[]) => [number, number][]): MaxPoolKernel {
  return {
    id,
    precision: '32',
    forward(x, g) {
      return Float32Array.from(windows(x, g), ({ idx }) => Math.max(...idx.map((i) => x[i]!)));
    },
    backward(x, dy, g) {
      const dx = new Float32Array(x.length);
      windows(x, g).forEach(({ out, idx }, w) => {
        if (!idx.length) return;
        const m = Math.max(...idx.map((i) => x[i]!));
        const ties = idx.filter((i) => x[i] === m);
        for (const [i, weight] of rowOf(w, ties, idx)) dx[i]! += weight * dy[out]!;
      });
      return dx;
    },
  };
}

const first = kernel('first', (_w, t) => [[t[0]!, 1]]);
const last = kernel('last', (_w, t) => [[t[t.length - 1]!, 1]]);
const minnorm = kernel('minnorm', (_w, t) => t.map((i) => [i, 1 / t.length]));
/** beta(10) at k = 2: the first tied entry gets 1 − 10/2 = −4, the other 5 (a high-norm member, weights sum to 1). */
const beta10 = kernel('beta10', (_w, t) =>
  t.length === 2
    ? [
        [t[0]!, -4],
        [t[1]!, 5],
      ]
    : [[t[0]!, 1]],
);
/** first in even windows, last in odd ones: not one member, but a row of the family in every window. */
const mixed = kernel('mixed', (w, t) => [[w % 2 ? t[t.length - 1]! : t[0]!, 1]]);
/** Bug: a tied window's gradient goes to an entry that is not tied (the window's smallest). */
const toNonTied = kernel('to-non-tied', (_w, t, idx) => {
  const off = idx.filter((i) => !t.includes(i));
  return [[t.length > 1 && off.length ? off[0]! : t[0]!, 1]];
});
/** Bug: the `x == max` mask: every tied entry gets the whole gradient (weights sum to k). */
const mask = kernel('mask', (_w, t) => t.map((i) => [i, 1]));
/** Bug: a split whose weights sum to 1.2. */
const split = kernel('split-1.2', (_w, t) => (t.length > 1 ? t.map((i, k) => [i, k === 0 ? 0.5 : 0.7 / (t.length - 1)]) : [[t[0]!, 1]]));

/** Two 2×2 windows, each tied between its first two entries (3 and 3; 2 and 2), the rest lower. */
const problem: Problem = {
  input: { shape: [1, 1, 2, 4], data: [3, 3, 2, 2, 1, 0, 1, 0.5] },
  layers: [{ kind: 'maxpool', kernel: [2, 2], stride: [2, 2], padding: [0, 0] }],
  params: [null],
  cotangent: [0.75, -1.25],
};

async function classify(backend: AdBackend, rule: 'first' | 'last') {
  const pc = await classifyPoint(problem, {
    precisions: ['32'],
    accumulate: 'strict',
    family: [{ kind: 'first' }, { kind: 'minnorm' }, { kind: 'beta', beta: 10 }],
    reluAlphas: [0],
    betaMode: 'backward',
    oracle: decimalOracle,
    backends: [backend],
    tieRules: { [backend.id]: { kind: rule } },
  });
  expect(pc.bifurcation).toBe(true);
  return pc.results[0]!;
}

describe('a framework at an exact tie', () => {
  for (const k of [first, last, minnorm, beta10, mixed]) {
    it(`${k.id}: an admissible Jacobian, so the point stays a bifurcation`, async () => {
      const c = await classify(maxPoolBackend(k), 'first');
      expect(c.zone).toBe('bifurcation');
      expect(c.reason).toBeUndefined();
    });
  }

  for (const k of [toNonTied, mask, split]) {
    it(`${k.id}: no admissible Jacobian explains it, so it is a defect`, async () => {
      const c = await classify(maxPoolBackend(k), 'first');
      expect(c.zone).toBe('defect');
      expect(c.reason).toMatch(/no admissible Jacobian explains it along its own routing; input\[\d\]/);
      // the real ties are still explained
      expect(c.findings.some((f) => f.what === 'real-tie')).toBe(true);
    });
  }

  it('assertMaxPool catches the mask bug on the exact-tie generator (it passed as bifurcation before)', async () => {
    const r = await checkMaxPool(maxPoolBackend(mask), { generators: ['exact-tie'], seed: 5, numRuns: 20, tieRule: 'first' });
    expect(r.failed).toBe(true);
    expect(r.counterexample?.kind).toBe('defect');
  });

  it('and a correct last kernel still passes there', async () => {
    const r = await checkMaxPool(maxPoolBackend(last), { generators: ['exact-tie'], seed: 5, numRuns: 20, tieRule: 'last' });
    expect(r.failed).toBe(false);
  });
});

describe('checkAdmissibleAtTie says what explains a result', () => {
  const check = async (k: MaxPoolKernel) => {
    const r = await maxPoolBackend(k).run(problem, {
      precision: '32',
      accumulate: 'strict',
      jacobian: { maxpool: { kind: 'first' }, reluAlpha: 0, betaMode: 'backward' },
    });
    return checkAdmissibleAtTie({
      oracle: decimalOracle,
      problem,
      routing: decimalOracle.forward(problem).routing,
      target: 'input',
      got: r.grads.input,
      format: F32,
      reluAlpha: 0,
      betaMode: 'backward',
      members: [{ kind: 'last' }, { kind: 'first' }, { kind: 'minnorm' }],
    });
  };
  it('a member applied to every window, by name', async () => {
    expect(await check(last)).toEqual({ admissible: true, via: 'last' });
    expect(await check(minnorm)).toEqual({ admissible: true, via: 'minnorm' });
  });
  it('first in one window and last in the other: rows fitted window by window', async () => {
    expect(await check(mixed)).toEqual({ admissible: true, via: 'per-window rows' });
  });
  it('beta(10) without beta(10) among the members: still a row of the family in each window', async () => {
    expect(await check(beta10)).toEqual({ admissible: true, via: 'per-window rows' });
  });
  it('the mask bug: not admissible, and the reason names the entry', async () => {
    const c = await check(mask);
    expect(c.admissible).toBe(false);
    expect(c.reason).toMatch(/input\[[0-3]\]: the closest admissible Jacobian .* gives .*, got /);
  });
});

describe('leastSquares', () => {
  it('solves a consistent system and gives a dependent column weight 0', () => {
    // columns (1,0,1), (0,1,1), and their sum (dependent); b = 2·c0 − 3·c1
    const x = leastSquares(
      [
        [1, 0, 1],
        [0, 1, 1],
        [1, 1, 2],
      ],
      [2, -3, -1],
    );
    expect(x[0]! + x[2]!).toBeCloseTo(2, 12);
    expect(x[1]! + x[2]!).toBeCloseTo(-3, 12);
    expect(x[2]).toBe(0);
  });
});
