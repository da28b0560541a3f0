/**
 * Zone classification: statements about the mathematics of docs/DESIGN.md §3, checked on generated points.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { generatorById } from '../src/generators/index.ts';
import { decimalOracle } from '../src/oracle/index.ts';
import { engineBackend } from '../src/backends/engine.ts';
import { classifyPoint, type ClassifyConfig } from '../src/zones/classify.ts';
import { zoneClass } from '../src/zones/verify.ts';
import { FIRST, LAST, MINNORM, beta } from '../src/jacobians/index.ts';
import { F16, F32, round } from '../src/precision/index.ts';
import type { Problem } from '../src/problem/index.ts';
import { runs } from '../src/nightly/runs.ts';

const config = (precisions: string[], over: Partial<ClassifyConfig> = {}): ClassifyConfig => ({
  precisions,
  accumulate: 'strict',
  family: [FIRST, MINNORM, beta(10)],
  reluAlphas: [0],
  betaMode: 'backward',
  oracle: decimalOracle,
  backends: [engineBackend],
  ...over,
});

const zonesOf = async (p: Problem, precisions = ['16', '32', '64'], over: Partial<ClassifyConfig> = {}) => {
  const pc = await classifyPoint(p, config(precisions, over));
  return Object.fromEntries(pc.results.map((r) => [r.precision, r]));
};

/** A lone 1×1×2×2 maxpool window over `values`, cotangent `g`. */
function window(values: number[], g = 1): Problem {
  return {
    input: { shape: [1, 1, 2, 2], data: values },
    layers: [{ kind: 'maxpool', kernel: [2, 2], stride: [2, 2], padding: [0, 0] }],
    params: [null],
    cotangent: [g],
  };
}

describe('zones of a lone MaxPool window', () => {
  it('an exact tie is a bifurcation at every precision, explained by the tied window', async () => {
    const z = await zonesOf(window([3, 1, 3, -2]));
    for (const p of ['16', '32', '64']) {
      expect(z[p].zone).toBe('bifurcation');
      expect(z[p].findings).toHaveLength(1);
      expect(z[p].findings[0].exact).toEqual([0, 2]);
    }
  });

  it('a pair distinct in binary32 that ties in binary16 is compensation:tie at 16 and regular at 32 and 64', async () => {
    const a = 1;
    const b = 1 + 2 ** -12; // distinct in f32, rounds to 1 in f16
    expect(round(F16, b)).toBe(round(F16, a));
    expect(round(F32, b)).not.toBe(round(F32, a));
    const z = await zonesOf(window([a, 0, b, 0]));
    expect(zoneClass(z['16'])).toBe('compensation:tie');
    expect(z['32'].zone).toBe('regular');
    expect(z['64'].zone).toBe('regular');
    // explained: exact tie set {2}, rounded {0, 2}, with exact and rounded values
    const f = z['16'].findings[0];
    expect(f.exact).toEqual([2]);
    expect(f.rounded).toEqual([0, 2]);
    expect(f.entries.find((e) => e.index === 2)?.exact).toBe('1.000244140625');
  });

  it('with a zero cotangent a real tie is harmless: regular, and counted as a harmless tie', async () => {
    const pc = await classifyPoint(window([2, 2, 0, 0], 0), config(['32']));
    expect(pc.bifurcation).toBe(false);
    expect(pc.results[0].zone).toBe('regular');
    expect(pc.realTies).toMatchObject({ windows: 1, harmful: 0 });
  });

  it('NaN or ±Inf in the point is nonfinite, never a crash; overflow at 16 bits is nonfinite at 16 only', async () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      const z = await zonesOf(window([1, bad, 0, 0]));
      for (const p of ['16', '32', '64']) expect(z[p].zone).toBe('nonfinite');
    }
    const z = await zonesOf(window([70000, 1, 0, 0]));
    expect(z['16'].zone).toBe('nonfinite');
    expect(z['32'].zone).toBe('regular');
    expect(z['64'].zone).toBe('regular');
  });

  it('−0 and +0 tie (IEEE equality, exact value 0): bifurcation', async () => {
    const z = await zonesOf(window([-0, 0, -1, -1]));
    expect(z['64'].zone).toBe('bifurcation');
  });
});

describe('generated points', () => {
  it('every exact-tie draw is a bifurcation at 16, 32 and 64 bits', async () => {
    const gen = generatorById('exact-tie');
    await fc.assert(
      fc.asyncProperty(gen.arbitrary, async (c) => {
        const z = await zonesOf(c.problem);
        return ['16', '32', '64'].every((p) => z[p].zone === 'bifurcation');
      }),
      { numRuns: runs(60), seed: 20261127 },
    );
  });

  it('every round-tie-16 draw is compensation at 16 and regular at 32 and 64', async () => {
    const gen = generatorById('round-tie-16');
    await fc.assert(
      fc.asyncProperty(gen.arbitrary, async (c) => {
        const z = await zonesOf(c.problem);
        return z['16'].zone === 'compensation' && z['32'].zone === 'regular' && z['64'].zone === 'regular';
      }),
      { numRuns: runs(60), seed: 20261127 },
    );
  });

  it('on regular points AD_p is within the rigorous rounding bound of AD_R, for every member, strict and wide', async () => {
    const gen = generatorById('generic-chain');
    for (const accumulate of ['strict', 'wide'] as const) {
      await fc.assert(
        fc.asyncProperty(gen.arbitrary, async (c) => {
          const pc = await classifyPoint(c.problem, config(['16', '32', '64'], { accumulate }));
          return pc.results.every((r) => r.zone !== 'regular' || r.valueChecks.every((v) => v.within));
        }),
        { numRuns: runs(40), seed: 7 },
      );
    }
  });

  it('where rounding changes the routing harmlessly, the values are bounded along the routing the run took (bfloat16, a three-way tie split)', async () => {
    // Found by adzone verify --seed 1 --backends engine,torch --precision bf16: draw 18 of
    // ulp-neighbour-64 ties 255.99999999999997, 256 and 255.894… at 256 in bfloat16. Over the reals the
    // change is harmless (the windows' cotangents cancel), so the point is regular; minnorm divides by 3
    // and rounds, an error of 2^-9 that the bound along the exact routing (no rounding there: 0) called
    // inconsistent.
    const c = fc.sample(generatorById('ulp-neighbour-64').arbitrary, { seed: 3341682301, numRuns: 19 })[18]!;
    expect(c.problem.input.data.slice(0, 2)).toEqual([255.99999999999997, 256]);
    const [r] = (await classifyPoint(c.problem, config(['bf16']))).results;
    expect(r.zone).toBe('regular');
    expect(r.harmlessRoundingDiffs).toBeGreaterThan(0);
    const minnorm = r.valueChecks.find((v) => v.jacobian === 'minnorm')!;
    expect(minnorm.maxError).toBe(2 ** -9);
    expect(minnorm.bound).toBeGreaterThan(2 ** -9);
    expect(r.valueChecks.every((v) => v.within)).toBe(true);
    expect(r.inconsistent).toBeUndefined();
  });

  it('on regular points at bfloat16 AD_p is within the rigorous rounding bound, for every member', async () => {
    for (const id of ['ulp-neighbour-64', 'near-tie', 'generic-chain']) {
      await fc.assert(
        fc.asyncProperty(generatorById(id).arbitrary, async (c) => {
          const pc = await classifyPoint(c.problem, config(['bf16']));
          return pc.results.every((r) => r.zone !== 'regular' || r.valueChecks.every((v) => v.within || v.underflow));
        }),
        { numRuns: runs(60), seed: 1 },
      );
    }
  });

  it('over 1000 near-tie draws the non-regular share is ordered 16 ≥ 32 ≥ 64', async () => {
    const gen = generatorById('near-tie');
    const draws = fc.sample(gen.arbitrary, { seed: 42, numRuns: 1000 });
    const nonRegular: Record<string, number> = { '16': 0, '32': 0, '64': 0 };
    const inversions: number[] = [];
    for (const [i, c] of draws.entries()) {
      const z = await zonesOf(c.problem);
      for (const p of ['16', '32', '64']) if (z[p].zone !== 'regular' && z[p].zone !== 'nonfinite') nonRegular[p]++;
      const bad = (p: string) => z[p].zone !== 'regular';
      if (bad('32') && !bad('16')) inversions.push(i); // a real finding when it happens: kept, not asserted away
    }
    expect(nonRegular['16']).toBeGreaterThanOrEqual(nonRegular['32']);
    expect(nonRegular['32']).toBeGreaterThanOrEqual(nonRegular['64']);
    expect(nonRegular['16']).toBeGreaterThan(0);
  });
});

describe('family members at a tie', () => {
  it('first and last disagree at a tie of positive values with nonzero cotangent (so {first, last} alone detects it)', async () => {
    const pc = await classifyPoint(window([5, 5, 1, 1], 2), config(['64'], { family: [FIRST, LAST] }));
    expect(pc.bifurcation).toBe(true);
  });
});
