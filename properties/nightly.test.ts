/**
 * `adzone nightly`: budgets parse strictly, the planning arithmetic keeps the plan inside the budget
 * (fast-check over budgets and machine speeds), and a tiny budgeted run writes every file; rerun
 * with its plan.json and seed, it gives the same verify numbers.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBudget } from '../src/nightly/budget.ts';
import { runs, runsMultiplier } from '../src/nightly/runs.ts';
import {
  LIMITS,
  MARGIN,
  STAGES,
  fitVerify,
  planNightly,
  reserveFor,
  suitesCost,
  verifyCost,
  type Costs,
  type Stage,
} from '../src/nightly/plan.ts';
import { readPlan } from '../src/nightly/schema.ts';
import { readResult } from '../src/schema/index.ts';

const bin = fileURLToPath(new URL('../bin/adzone.js', import.meta.url));
const run = (args: string[], timeout = 120_000) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout });

const GENS = ['exact-tie', 'near-tie', 'near-tie-chain', 'special-values'];
const VERIFY = { generators: GENS, backends: ['engine'], precisions: ['16', '32', '64'], jacobians: ['first', 'minnorm', 'beta:10'] };

/** Costs of a machine `speed` times slower than the reference one; `reads` suites scale with the multiplier. */
function costs(speed: number, reads = false): Costs {
  return {
    speed,
    suites: {
      files: [
        { file: 'properties/a.test.ts', seconds: 50 * speed, readsMultiplier: reads },
        { file: 'properties/b.test.ts', seconds: 30 * speed, readsMultiplier: reads },
        { file: 'properties/c.test.ts', seconds: 10 * speed, readsMultiplier: false },
      ],
      spawn: 3 * speed,
      lanes: 2,
    },
    verify: { fixed: 5 * speed, perDraw: Object.fromEntries(GENS.map((g, i) => [g, (0.02 + 0.01 * i) * speed])), shrinkDraws: 40, expectedShrinks: 80 },
    zones: { fixed: 3 * speed, lenetBatch: 4 * speed, vggBatch: 44 * speed },
    train: { fixed: 2 * speed, step: { '16': 2.5 * speed, '32': 0.7 * speed }, evalPerImage: { '16': 0.017 * speed, '32': 0.004 * speed } },
  };
}

describe('budget parsing', () => {
  it.each([
    ['45m', 2700],
    ['10m', 600],
    ['1h30m', 5400],
    ['600s', 600],
    ['2h', 7200],
    ['1h0m30s', 3630],
    [' 90s ', 90],
  ])('%s is %d seconds', (text, s) => expect(parseBudget(text)).toBe(s));

  it.each(['', '45', '1.5h', '30m1h', '10 m', 'm', '0s', '0h0m', '-5m', '45min', '1h30'])('%j is refused', (text) => expect(parseBudget(text)).toBeNull());

  it('a bad --budget exits 2 with a message saying what a budget looks like', () => {
    const r = run(['nightly', '--budget', '45x', '--out', join(tmpdir(), 'adzone-nightly-never')], 30_000);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--budget must be a duration such as 45m/);
    const r2 = run(['nightly', '--budget', '10s'], 30_000);
    expect(r2.status).toBe(2);
    expect(r2.stderr).toMatch(/--budget must be from 30s/);
  });
});

describe('run multiplier for property suites', () => {
  it('scales numRuns from ADZONE_FC_RUNS_MULTIPLIER, 1 when unset, refusing nonsense', () => {
    expect(runs(300, {})).toBe(300);
    expect(runs(300, { ADZONE_FC_RUNS_MULTIPLIER: '4' })).toBe(1200);
    expect(runs(3, { ADZONE_FC_RUNS_MULTIPLIER: '0.1' })).toBe(1);
    expect(runsMultiplier({ ADZONE_FC_RUNS_MULTIPLIER: '' })).toBe(1);
    expect(() => runsMultiplier({ ADZONE_FC_RUNS_MULTIPLIER: 'lots' })).toThrow(/must be a number/);
    expect(() => runsMultiplier({ ADZONE_FC_RUNS_MULTIPLIER: '0' })).toThrow(/must be a number/);
  });
});

describe('planning arithmetic', () => {
  it('suites run longest first on free lanes', () => {
    const c = costs(1).suites;
    // lanes: a 53 | b 33 + c 13 = 46 → 53
    expect(suitesCost(c, 1)).toBeCloseTo(53, 9);
    expect(suitesCost({ ...c, lanes: 1 }, 1)).toBeCloseTo(99, 9);
    // only files that read the multiplier grow: a at ×4 = 3 + 50·(0.25 + 0.75·4)
    expect(suitesCost(costs(1, true).suites, 4)).toBeCloseTo(3 + 50 * 3.25, 9);
  });

  it('fitVerify never plans more than it is given (beyond the minimum)', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.2, max: 8, noNaN: true }), fc.double({ min: 0, max: 20_000, noNaN: true }), (speed, seconds) => {
        const c = costs(speed).verify;
        const v = fitVerify(c, GENS, seconds);
        expect(Number.isInteger(v.samples) && Number.isInteger(v.maxShrinks)).toBe(true);
        expect(v.samples).toBeGreaterThanOrEqual(LIMITS.minSamples);
        expect(v.samples).toBeLessThanOrEqual(LIMITS.maxSamples);
        expect(v.maxShrinks).toBeLessThanOrEqual(c.expectedShrinks);
        expect(verifyCost(c, GENS, v.samples, v.maxShrinks)).toBeLessThanOrEqual(Math.max(seconds, verifyCost(c, GENS, LIMITS.minSamples, 0)) + 1e-6);
      }),
      { numRuns: 300 },
    );
  });

  it('the planned stages fit the budget left after calibration, reserve and margin', () => {
    const stageSets = fc.subarray([...STAGES] as Stage[], { minLength: 1 }).filter((s) => s.includes('verify'));
    fc.assert(
      fc.property(fc.integer({ min: 30, max: 6 * 3600 }), fc.double({ min: 0.3, max: 6, noNaN: true }), fc.boolean(), stageSets, fc.double({ min: 0, max: 60, noNaN: true }), (budget, speed, reads, stages, spent) => {
        const p = planNightly({ budgetSeconds: budget, spentSeconds: spent, stages, costs: costs(speed, reads), verify: VERIFY });
        const usable = Math.max(0, (budget - spent - reserveFor(budget)) * (1 - MARGIN));
        expect(p.usable).toBeCloseTo(usable, 9);
        const e = p.estimates;
        const planned = e.suites + e.verify + e.zones + e.train;
        if (!p.notes.some((n) => /even the smallest verify sweep/.test(n))) expect(planned).toBeLessThanOrEqual(usable + 1e-6);
        // only requested stages get counts; verify is never dropped
        for (const s of STAGES) if (!stages.includes(s)) expect(p.counts[s]).toBeNull();
        expect(p.counts.verify).not.toBeNull();
        for (const d of p.dropped) expect(p.counts[d.stage]).toBeNull();
        const z = p.counts.zones;
        if (z) {
          expect(z.lenetBatches).toBeGreaterThanOrEqual(1);
          expect(z.lenetBatches).toBeLessThanOrEqual(LIMITS.maxLenetBatches);
          expect(z.vggBatches).toBeLessThanOrEqual(LIMITS.maxVggBatches);
        }
        const t = p.counts.train;
        if (t) {
          expect(t.limitTrain % LIMITS.batchSize).toBe(0);
          expect(t.limitTrain).toBeLessThanOrEqual(LIMITS.maxTrainImages);
          expect(t.limitTest).toBeGreaterThanOrEqual(LIMITS.minTestImages);
        }
        // planning is pure: the same input gives the same counts
        expect(planNightly({ budgetSeconds: budget, spentSeconds: spent, stages, costs: costs(speed, reads), verify: VERIFY }).counts).toEqual(p.counts);
      }),
      { numRuns: 300 },
    );
  });

  it('small budgets drop stages in order, large ones add VGG11 and more of everything', () => {
    const all = [...STAGES];
    const tiny = planNightly({ budgetSeconds: 35, spentSeconds: 10, stages: all, costs: costs(1), verify: VERIFY });
    expect(tiny.dropped.map((d) => d.stage)).toEqual(['suites', 'train', 'zones']);
    expect(tiny.counts.verify!.samples).toBeGreaterThanOrEqual(LIMITS.minSamples);

    const ten = planNightly({ budgetSeconds: 600, spentSeconds: 30, stages: all, costs: costs(1), verify: VERIFY });
    expect(ten.dropped).toEqual([]);
    expect(ten.counts.zones!.vggBatches).toBe(0);
    const day = planNightly({ budgetSeconds: 4 * 3600, spentSeconds: 30, stages: all, costs: costs(1), verify: VERIFY });
    expect(day.counts.zones!.vggBatches).toBeGreaterThan(0);
    expect(day.counts.verify!.samples).toBeGreaterThan(ten.counts.verify!.samples);
    expect(day.counts.train!.limitTrain).toBeGreaterThan(ten.counts.train!.limitTrain);

    // suites that read the multiplier get more runs with more time; others keep ×max (it costs nothing)
    const m = (b: number) => planNightly({ budgetSeconds: b, spentSeconds: 30, stages: all, costs: costs(1, true), verify: VERIFY }).counts.suites!.multiplier;
    expect(m(3600)).toBeGreaterThan(m(900));
    expect(ten.counts.suites!.multiplier).toBe(LIMITS.maxMultiplier);
    expect(ten.notes.join(' ')).toMatch(/no property suite reads ADZONE_FC_RUNS_MULTIPLIER/);
  });
});

describe('a tiny budgeted run', () => {
  it('writes plan, results, reports and the gate verdict; its plan and seed reproduce the verify numbers', () => {
    const dir = mkdtempSync(join(tmpdir(), 'adzone-nightly-test-'));
    try {
      const a = join(dir, 'a');
      const r = run(['nightly', '--budget', '40s', '--stages', 'verify', '--seed', '5', '--quiet', '--out', a]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/nightly ▸ verify: start/);
      expect(r.stderr).toMatch(/ETA/);
      for (const f of ['plan.json', 'nightly.json', 'report.html', 'summary.md', 'junit.xml', 'verify/verify.json', 'verify/verify.md']) expect(existsSync(join(a, f)), f).toBe(true);

      const plan = readPlan(join(a, 'plan.json'));
      expect(plan.source).toBe('calibrated');
      expect(plan.seed).toBe(5);
      expect(plan.stages).toEqual(['verify']);
      expect(plan.counts.suites).toBeNull();
      const v = readResult(join(a, 'verify', 'verify.json'), 'verify').data;
      expect(v.samples).toBe(plan.counts.verify!.samples);
      expect(v.seed).toBe(5);

      const n = JSON.parse(readFileSync(join(a, 'nightly.json'), 'utf8'));
      expect(n.schema).toBe('adzone/nightly');
      expect(['pass', 'regression', 'unusable']).toContain(n.gate.verdict);
      // A calibrated plan is fitted to this machine's speed at calibration time; on a loaded machine
      // the stage may legitimately stop early at the budget, so either outcome is valid here.
      expect(['done', 'truncated']).toContain(n.stages.find((s: { stage: string }) => s.stage === 'verify').status);
      expect(n.crashed).toBe(false);
      expect(readFileSync(join(a, 'report.html'), 'utf8')).toMatch(/<section id="nightly">/);
      expect(readFileSync(join(a, 'summary.md'), 'utf8')).toMatch(/\*\*Gate\*\* against/);
      expect(readFileSync(join(a, 'junit.xml'), 'utf8')).toMatch(/adzone nightly gate/);

      // Determinism, independent of timing: a pinned small plan run twice with the same seed under a
      // budget with ample slack gives the same draws, table and counterexamples.
      const pinned = { ...plan, counts: { ...plan.counts, verify: { ...plan.counts.verify!, samples: 4, maxShrinks: 3 } } };
      const planFile = join(dir, 'pinned-plan.json');
      writeFileSync(planFile, JSON.stringify(pinned));
      const outs = ['b', 'c'].map((name) => {
        const out = join(dir, name);
        const rr = run(['nightly', '--budget', '10m', '--plan', planFile, '--quiet', '--out', out]);
        expect(rr.status, rr.stderr).toBe(0);
        const nn = JSON.parse(readFileSync(join(out, 'nightly.json'), 'utf8'));
        expect(nn.stages.find((s: { stage: string }) => s.stage === 'verify').status).toBe('done');
        return readResult(join(out, 'verify', 'verify.json'), 'verify').data;
      });
      expect(outs[0].seed).toBe(5);
      expect(outs[0].samples).toBe(4);
      expect(outs[1].table).toEqual(outs[0].table);
      expect(outs[1].realTies).toEqual(outs[0].realTies);
      expect(outs[1].counterexamples).toEqual(outs[0].counterexamples);
      expect(readPlan(join(dir, 'b', 'plan.json')).counts).toEqual(pinned.counts);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);
});
