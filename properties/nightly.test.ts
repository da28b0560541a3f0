/**
 * `adzone nightly`: budgets parse strictly, the planning arithmetic keeps the plan inside the budget
 * (fast-check over budgets and machine speeds), and a tiny budgeted run writes every file; rerun
 * with its plan.json and seed, it gives the same verify numbers.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBudget } from '../src/nightly/budget.ts';
import { runs, runsMultiplier } from '../src/nightly/runs.ts';
import {
  LIMITS,
  MARGIN,
  estimate,
  STAGES,
  fitTrain,
  fitVerify,
  planNightly,
  trainCost,
  trainPlan,
  reserveFor,
  suitesCost,
  verifyCost,
  type Costs,
  type Stage,
} from '../src/nightly/plan.ts';
import { countsShape, readPlan } from '../src/nightly/schema.ts';
import { ablationConfig } from '../src/nightly/ablation.ts';
import { nightlyInputs, VGG_UNIT } from '../src/nightly/data.ts';
import { VERIFY_DEFAULTS } from '../src/nightly/verify.ts';
import { CIFAR10_KNOWN } from '../src/data/cifar10.ts';
import { checkJson as check } from '../src/schema/index.ts';
import { readResult } from '../src/schema/index.ts';

const bin = fileURLToPath(new URL('../bin/adzone.js', import.meta.url));
const run = (args: string[], timeout = 120_000, env: NodeJS.ProcessEnv = process.env) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout, env });

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
    verify: {
      fixed: 5 * speed,
      perDraw: Object.fromEntries(GENS.map((g, i) => [g, (0.02 + 0.01 * i) * speed])),
      shrinkDraws: 40,
      expectedShrinks: 80,
    },
    zones: { fixed: 3 * speed, lenetBatch: 4 * speed, vggBatch: 44 * speed },
    // the engine in strict mode, LeNet-5 batch 64 (the ablation slice's setup)
    train: {
      fixed: 2 * speed,
      step: { '16': 0.04 * speed, '32': 0.023 * speed },
      evalPerImage: { '16': 0.0006 * speed, '32': 0.0004 * speed },
    },
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

  it.each(['', '45', '1.5h', '30m1h', '10 m', 'm', '0s', '0h0m', '-5m', '45min', '1h30'])('%j is refused', (text) =>
    expect(parseBudget(text)).toBeNull(),
  );

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
        expect(verifyCost(c, GENS, v.samples, v.maxShrinks)).toBeLessThanOrEqual(
          Math.max(seconds, verifyCost(c, GENS, LIMITS.minSamples, 0)) + 1e-6,
        );
      }),
      { numRuns: 300 },
    );
  });

  it('the planned stages fit the budget left after calibration, reserve and margin', () => {
    const stageSets = fc.subarray([...STAGES] as Stage[], { minLength: 1 }).filter((s) => s.includes('verify'));
    fc.assert(
      fc.property(
        fc.integer({ min: 30, max: 6 * 3600 }),
        fc.double({ min: 0.3, max: 6, noNaN: true }),
        fc.boolean(),
        stageSets,
        fc.double({ min: 0, max: 60, noNaN: true }),
        (budget, speed, reads, stages, spent) => {
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
            expect(t).toMatchObject({ backend: 'engine', mode: 'strict', batchSize: LIMITS.trainBatchSize });
            // whole batches, or the whole epoch (its last batch is short)
            expect(t.limitTrain % t.batchSize === 0 || t.limitTrain === LIMITS.maxTrainImages).toBe(true);
            expect(t.limitTrain).toBeGreaterThanOrEqual(LIMITS.minTrainImages);
            expect(t.limitTrain).toBeLessThanOrEqual(LIMITS.maxTrainImages);
            expect(t.limitTest).toBeGreaterThanOrEqual(LIMITS.minTestImages);
            expect(t.limitTest).toBeLessThanOrEqual(LIMITS.maxTestImages);
          }
          // planning is pure: the same input gives the same counts
          expect(
            planNightly({ budgetSeconds: budget, spentSeconds: spent, stages, costs: costs(speed, reads), verify: VERIFY }).counts,
          ).toEqual(p.counts);
        },
      ),
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
    expect(day.counts.train!.limitTrain).toBeGreaterThanOrEqual(ten.counts.train!.limitTrain);

    // suites that read the multiplier get more runs with more time; others keep ×max (it costs nothing)
    const m = (b: number) =>
      planNightly({ budgetSeconds: b, spentSeconds: 30, stages: all, costs: costs(1, true), verify: VERIFY }).counts.suites!.multiplier;
    expect(m(3600)).toBeGreaterThan(m(900));
    expect(ten.counts.suites!.multiplier).toBe(LIMITS.maxMultiplier);
    expect(ten.notes.join(' ')).toMatch(/no property suite reads ADZONE_FC_RUNS_MULTIPLIER/);
  });
});

describe('the ablation slice', () => {
  const all = [...STAGES];
  const plan = (budget: number, speed: number, reads = true) =>
    planNightly({ budgetSeconds: budget, spentSeconds: 30, stages: all, costs: costs(speed, reads), verify: VERIFY });

  it('trains a full epoch per run with the whole test set at 45 m when it fits, a fraction at 10 m, always within the budget', () => {
    for (const speed of [1, 2, 3]) {
      const t = plan(45 * 60, speed).counts.train!;
      expect(t, `speed ${speed}`).toMatchObject({
        backend: 'engine',
        mode: 'strict',
        batchSize: 64,
        limitTrain: LIMITS.maxTrainImages,
        limitTest: LIMITS.maxTestImages,
      });
    }
    // a machine 3× slower than the reference: its weighted share (≈ 330 s) is short of the epoch (≈ 440 s),
    // which is granted because it costs less than half of what is left
    const slow = plan(45 * 60, 3);
    expect(slow.estimates.train).toBeGreaterThan(0.18 * slow.usable);
    expect(slow.counts.verify!.samples).toBeGreaterThan(100);
    for (const speed of [2, 3]) {
      const p = plan(10 * 60, speed);
      const t = p.counts.train!;
      expect(t.limitTrain, `speed ${speed}`).toBeGreaterThan(20 * LIMITS.minTrainImages);
      expect(t.limitTrain).toBeLessThan(LIMITS.maxTrainImages);
      expect(t.limitTest).toBeLessThan(t.limitTrain);
      expect(trainCost(costs(speed, true).train, t)).toBeCloseTo(p.estimates.train, 9);
    }
    expect(plan(10 * 60, 2).counts.train!.limitTrain).toBeGreaterThan(plan(10 * 60, 3).counts.train!.limitTrain);
  });

  it('fitTrain given the exact cost of a full epoch and test set plans exactly that (the epoch grant relies on it)', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.1, max: 20, noNaN: true }), (speed) => {
        const c = costs(speed).train;
        const full = trainPlan(LIMITS.maxTrainImages, LIMITS.maxTestImages);
        expect(fitTrain(c, trainCost(c, full))).toEqual({ limitTrain: full.limitTrain, limitTest: full.limitTest });
        expect(fitTrain(c, trainCost(c, full) * 0.99).limitTrain).toBeLessThan(LIMITS.maxTrainImages);
      }),
      { numRuns: 200 },
    );
  });

  it("runs on the engine in strict mode at both precisions, with the full experiment's optimizer; plans from before still run on tfjs", () => {
    const p = trainPlan(6400, 1024);
    for (const precision of ['16', '32'] as const) {
      const c = ablationConfig({ precision, beta: 10000 }, p, 3);
      expect(c).toMatchObject({
        model: 'lenet5',
        dataset: 'mnist',
        backend: 'engine',
        mode: 'strict',
        precision,
        beta: 10000,
        optimizer: 'sgd',
        lr: 0.01,
        momentum: 0.9,
        batchSize: 64,
        epochs: 1,
        limitTrain: 6400,
        limitTest: 1024,
        seed: 3,
      });
    }
    const legacy = { batchSize: 128, limitTrain: 3712, limitTest: 1472 };
    expect(ablationConfig({ precision: '16', beta: 0 }, legacy, 3)).toMatchObject({ backend: 'tfjs-wasm', mode: 'wide' });
    expect(ablationConfig({ precision: '32', beta: 0 }, legacy, 3)).toMatchObject({ backend: 'tfjs-wasm', mode: 'framework' });
    // plan.json: the new fields are optional (old plans still read), and nothing but the engine in strict mode is accepted
    const counts = (train: object) => ({ suites: null, verify: null, zones: null, train });
    const shape = (train: object) => () => check(countsShape, counts(train), 'plan.json');
    expect(shape(p)).not.toThrow();
    expect(shape({ runs: p.runs, ...legacy })).not.toThrow();
    expect(shape({ ...p, backend: 'tfjs-wasm' })).toThrow(/backend/);
  });
});

/** A plan.json for `--plan`: these counts, fitted costs of a reference machine (the estimates only guard the budget). */
function pinnedPlan(counts: Record<Stage, unknown>, seed: number, budgetSeconds: number) {
  const e = estimate(costs(1), counts as Parameters<typeof estimate>[1]);
  const stages = STAGES.filter((st) => counts[st] !== null);
  const reserve = reserveFor(budgetSeconds);
  return {
    schema: 'adzone/nightly-plan',
    schemaVersion: 1,
    createdAt: new Date().toISOString(),
    command: 'pinned by properties/nightly.test.ts',
    seed,
    budgetSeconds,
    source: 'calibrated',
    stages,
    dropped: [],
    notes: [],
    calibrationSeconds: 0,
    counts,
    costs: costs(1),
    estimates: { ...e, reserve, total: e.suites + e.verify + e.zones + e.train + reserve },
    pin: '',
  };
}

/** The verify stage's counts with the committed baseline's generators, backends, precisions and Jacobians (what the gate compares). */
const baselineVerify = (samples: number) => ({
  samples,
  maxShrinks: 0,
  shrinkCap: LIMITS.shrinkCap,
  generators: [...VERIFY_DEFAULTS.generators],
  backends: [...VERIFY_DEFAULTS.backends],
  precisions: [...VERIFY_DEFAULTS.precisions],
  jacobians: [...VERIFY_DEFAULTS.jacobians],
});

const CIFAR10_HERE = nightlyInputs().cifar10;
if (CIFAR10_HERE) process.stderr.write(`SKIPPED the pinned VGG11/CIFAR-10 nightly run: ${CIFAR10_HERE}\n`);

describe.skipIf(CIFAR10_HERE !== null)('a pinned run of VGG11 zones and the ablation slice', () => {
  it('writes a valid zones.json for VGG11 (width 1/4) on CIFAR-10 and engine-strict training results; the same plan and seed give the same training numbers', () => {
    const dir = mkdtempSync(join(tmpdir(), 'adzone-nightly-vgg-'));
    try {
      // One VGG11 batch of 8 (no LeNet) keeps the zones stage at ≈ 10 s on a loaded 2-core machine
      // (a batch of 128, the nightly's, takes ≈ 45 s); 4 steps of 64 and 256 test images per run.
      const c = costs(1);
      const counts = {
        suites: null,
        verify: null,
        zones: { batchSize: 8, lenetBatches: 0, vggBatches: 1 },
        train: trainPlan(LIMITS.minTrainImages, LIMITS.minTestImages),
      };
      const e = estimate(c, counts);
      const planFile = join(dir, 'plan.json');
      const plan = {
        schema: 'adzone/nightly-plan',
        schemaVersion: 1,
        createdAt: new Date().toISOString(),
        command: 'pinned by properties/nightly.test.ts',
        seed: 5,
        budgetSeconds: 300,
        source: 'calibrated',
        stages: ['zones', 'train'],
        dropped: [],
        notes: [],
        calibrationSeconds: 0,
        counts,
        costs: c,
        estimates: { ...e, reserve: reserveFor(300), total: e.suites + e.verify + e.zones + e.train + reserveFor(300) },
        pin: '',
      };
      writeFileSync(planFile, JSON.stringify(plan));
      const a = join(dir, 'a');
      const r = run(['nightly', '--budget', '5m', '--plan', planFile, '--quiet', '--out', a], 150_000);
      expect(r.status, r.stderr).toBe(0);
      const n = JSON.parse(readFileSync(join(a, 'nightly.json'), 'utf8'));
      expect(n.crashed).toBe(false);
      for (const st of ['zones', 'train']) expect(n.stages.find((x: { stage: string }) => x.stage === st).status, st).toBe('done');

      const vggFile = join(a, 'zones', 'vgg11-w0.25-cifar10', 'zones.json');
      expect(existsSync(join(a, 'zones', 'lenet5-mnist'))).toBe(false);
      const z = readResult(vggFile, 'zones').data; // validated against adzone/zones
      expect(z.config).toMatchObject({
        model: 'vgg11',
        dataset: 'cifar10',
        batchSize: 8,
        batches: 1,
        seed: 5,
        precisions: ['16', '32', '64'],
      });
      expect(z.config.modelOptions).toMatchObject({ width: 0.25 });
      expect(z.precisions.map((p) => p.batches.length)).toEqual([1, 1, 1]);
      expect(existsSync(join(a, 'zones', 'vgg11-w0.25-cifar10', 'zones.md'))).toBe(true);
      expect(n.zones.networks).toHaveLength(1);
      expect(n.zones.networks[0]).toMatchObject({ model: 'vgg11', dataset: 'cifar10', batches: 1 });
      expect(Object.keys(n.zones.networks[0].exactShare).sort()).toEqual(['16', '32', '64']);
      expect(n.files.json).toContain(vggFile);
      expect(readFileSync(join(a, 'summary.md'), 'utf8')).toMatch(/VGG11 \(width 1\/4\)\/CIFAR-10 1 batches/);

      const ablate = readResult(join(a, 'ablation', 'ablate.json'), 'ablate').data;
      expect(ablate.runs.map((x) => `${x.precision}/${x.beta}/${x.mode}`)).toEqual([
        '16/0/strict',
        '16/10000/strict',
        '32/0/strict',
        '32/10000/strict',
      ]);
      const results = ablate.runs.map((x) => readResult(join(a, 'ablation', x.dir!, 'result.json'), 'train').data);
      for (const res of results) {
        expect(res.config).toMatchObject({ backend: 'engine', mode: 'strict', batchSize: 64, limitTrain: 256, limitTest: 256, seed: 5 });
        expect(res.timings.steps).toBe(4);
      }
      expect(readFileSync(join(a, 'summary.md'), 'utf8')).toMatch(/on engine strict, SGD batch 64, 256 training images/);

      // the training numbers again from the plan file and seed (training only: the zones numbers' determinism is adzone zones's own)
      const b = join(dir, 'b');
      const r2 = run(['nightly', '--budget', '5m', '--plan', join(a, 'plan.json'), '--stages', 'train', '--quiet', '--out', b], 120_000);
      expect(r2.status, r2.stderr).toBe(0);
      const again = readResult(join(b, 'ablation', 'ablate.json'), 'ablate').data;
      expect(again.runs.map((x) => x.testAccuracy)).toEqual(ablate.runs.map((x) => x.testAccuracy));
      const losses = (root: string, d: string) =>
        readFileSync(join(root, 'ablation', d, 'metrics.jsonl'), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l).loss);
      for (const x of ablate.runs) expect(losses(b, x.dir!)).toEqual(losses(a, x.dir!));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 280_000);
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
      for (const f of ['plan.json', 'nightly.json', 'report.html', 'summary.md', 'junit.xml', 'verify/verify.json', 'verify/verify.md'])
        expect(existsSync(join(a, f)), f).toBe(true);

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
      expect(['pass', 'partial', 'regression']).toContain(n.gate.verdict);
      // A calibrated plan is fitted to this machine's speed at calibration time; on a loaded machine
      // the stage may legitimately stop early at the budget, so either outcome is valid here.
      expect(['done', 'truncated']).toContain(n.stages.find((s: { stage: string }) => s.stage === 'verify').status);
      expect(n.crashed).toBe(false);
      expect(readFileSync(join(a, 'report.html'), 'utf8')).toMatch(/<section id="nightly">/);
      expect(readFileSync(join(a, 'summary.md'), 'utf8')).toMatch(/\*\*Gate\*\*: (✅|❌)/);
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

describe('without the data a stage needs', () => {
  it('a run whose plan has VGG11/CIFAR-10 zones, with an empty data folder, leaves that unit out in one line saying how to get the data; plan.json records it; the gate says PARTIAL', () => {
    const dir = mkdtempSync(join(tmpdir(), 'adzone-nightly-nodata-'));
    try {
      const empty = join(dir, 'data');
      mkdirSync(empty);
      // seed 1 is the baseline's: the 4 draws per generator stay inside the gate's sampling allowance
      const counts = {
        suites: null,
        verify: baselineVerify(4),
        zones: { batchSize: 8, lenetBatches: 1, vggBatches: 1 },
        train: trainPlan(LIMITS.minTrainImages, LIMITS.minTestImages),
      };
      const planFile = join(dir, 'plan.json');
      writeFileSync(planFile, JSON.stringify(pinnedPlan(counts, 1, 300)));
      const out = join(dir, 'out');
      const env = { ...process.env, ADZONE_DATA_DIR: empty };
      const r = run(['nightly', '--budget', '5m', '--plan', planFile, '--quiet', '--out', out], 120_000, env);
      expect(r.status, r.stderr).toBe(0);
      // one line says what was left out, why, and how to get the data; the gate line names the unit only
      const said = r.stdout.split('\n').filter((l) => /adzone data fetch/.test(l));
      expect(said, r.stdout).toHaveLength(1);
      expect(said[0]).toMatch(new RegExp(`^  left out: zones: ${VGG_UNIT.replace(/[()/]/g, '\\$&')} left out — CIFAR-10: `));
      expect(r.stdout).toContain(`PARTIAL — every threshold holds for what ran; not compared: zones (${VGG_UNIT} left out)`);
      expect(said[0]).toContain(`cifar10/ not in ${empty}`);
      expect(said[0]).toContain('adzone data fetch cifar10 --to DIR');
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace

      const plan = readPlan(join(out, 'plan.json'));
      expect(plan.stages).toEqual(['verify', 'zones', 'train']);
      expect(plan.dropped).toEqual([]);
      expect(plan.leftOut).toEqual([
        {
          stage: 'zones',
          unit: VGG_UNIT,
          model: 'vgg11',
          dataset: 'cifar10',
          reason: expect.stringContaining('adzone data fetch cifar10'),
        },
      ]);
      const n = JSON.parse(readFileSync(join(out, 'nightly.json'), 'utf8'));
      expect(n.crashed).toBe(false);
      expect(n.leftOut).toEqual([said[0].replace(/^\s*left out: /, '')]);
      expect(n.zones.networks.map((x: { model: string }) => x.model)).toEqual(['lenet5']);
      expect(existsSync(join(out, 'zones', 'vgg11-w0.25-cifar10'))).toBe(false);
      // the one thing not compared is the unit: verify and train ran, and the baseline has nothing else
      expect(n.gate.verdict).toBe('partial');
      expect(n.gate.regressions).toEqual([]);
      expect(n.gate.skipped).toEqual([{ stage: 'zones', reason: expect.stringContaining(`${VGG_UNIT} left out`), notCompared: 0 }]);
      expect(readFileSync(join(out, 'summary.md'), 'utf8')).toMatch(/\*\*Gate\*\*: ✅ partial pass \(not compared: zones, VGG11/);

      // adzone gate on the folder reads the same from plan.json
      const g = run(['gate', '--baseline', 'fixtures/baseline', out, '--json'], 60_000, env);
      expect(g.status, g.stderr).toBe(0);
      expect(JSON.parse(g.stdout)).toMatchObject({ verdict: 'partial', skipped: [{ stage: 'zones', notCompared: 0 }] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);

  it('a dry run lists VGG11/CIFAR-10 as left out where the plan would run it (a 4 h calibrated plan), not where it has no VGG11 batches', () => {
    const dir = mkdtempSync(join(tmpdir(), 'adzone-nightly-nodata-dry-'));
    try {
      const env = { ...process.env, ADZONE_DATA_DIR: join(dir, 'none') };
      const big = run(['nightly', '--budget', '4h', '--stages', 'zones', '--dry-run', '--out', join(dir, 'big')], 120_000, env);
      expect(big.status, big.stderr).toBe(0);
      expect(big.stdout).toMatch(
        new RegExp(`zones: LeNet-5/MNIST \\d+ batches of 128, ${VGG_UNIT.replace(/[()/]/g, '\\$&')} left out \\(no data here\\)`),
      );
      const p = readPlan(join(dir, 'big', 'plan.json'));
      expect(p.leftOut?.map((l) => l.unit)).toEqual([VGG_UNIT]);
      expect(p.counts.zones!.vggBatches).toBe(0);

      const counts = { suites: null, verify: null, zones: { batchSize: 8, lenetBatches: 1, vggBatches: 0 }, train: null };
      writeFileSync(join(dir, 'plan.json'), JSON.stringify(pinnedPlan(counts, 1, 300)));
      const small = run(
        ['nightly', '--budget', '5m', '--plan', join(dir, 'plan.json'), '--dry-run', '--out', join(dir, 'small')],
        60_000,
        env,
      );
      expect(small.status, small.stderr).toBe(0);
      expect(small.stdout).toMatch(/zones: LeNet-5\/MNIST 1 batches of 8, no VGG11 \(budget\)/);
      expect(readPlan(join(dir, 'small', 'plan.json')).leftOut).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);

  it('counts the official CIFAR-10 batches (what `adzone data fetch cifar10` gets) as CIFAR-10, where no subset file hides them from the loader', () => {
    const dir = mkdtempSync(join(tmpdir(), 'adzone-nightly-official-'));
    const was = process.env.ADZONE_DATA_DIR;
    try {
      process.env.ADZONE_DATA_DIR = dir;
      expect(nightlyInputs().cifar10).toMatch(/adzone data fetch cifar10 --to DIR/);
      const c = join(dir, 'cifar10');
      mkdirSync(c);
      const batches = Object.keys(CIFAR10_KNOWN).filter((f) => /_batch/.test(f));
      expect(batches).toHaveLength(6);
      // sparse files of the published sizes: presence is what the nightly looks at before any work
      for (const f of batches) {
        writeFileSync(join(c, f), '');
        truncateSync(join(c, f), CIFAR10_KNOWN[f].bytes);
      }
      expect(nightlyInputs().cifar10).toBeNull();
      truncateSync(join(c, 'test_batch.bin'), 100);
      expect(nightlyInputs().cifar10).toMatch(/cifar10\//);
      truncateSync(join(c, 'test_batch.bin'), CIFAR10_KNOWN['test_batch.bin'].bytes);
      writeFileSync(join(c, 'train_subset.bin'), 'x');
      expect(nightlyInputs().cifar10).toMatch(/in place of the subset files there/);
    } finally {
      if (was === undefined) delete process.env.ADZONE_DATA_DIR;
      else process.env.ADZONE_DATA_DIR = was;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('options checked before any work', () => {
  it('a --baseline that does not exist exits 2 with one line, and nothing is written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'adzone-nightly-nobase-'));
    try {
      const out = join(dir, 'out');
      const missing = join(dir, 'no-such-baseline');
      const r = run(['nightly', '--budget', '1m', '--baseline', missing, '--out', out], 30_000);
      expect(r.status, r.stderr).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toContain(`--baseline ${missing} does not exist`);
      expect(r.stdout).toBe('');
      expect(existsSync(out)).toBe(false);
      // a file where the folder should be is refused the same way
      writeFileSync(missing, '');
      const f = run(['nightly', '--budget', '1m', '--baseline', missing, '--out', out], 30_000);
      expect(f.status, f.stderr).toBe(2);
      expect(f.stderr.trim()).toContain(`--baseline ${missing} is not a folder`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
