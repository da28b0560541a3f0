/**
 * The learning-rate search (src/train/tune, `adzone tune`, grids with a `tune:` block):
 *  - the lr draw is stratified log-uniform: every stratum of the log-range holds exactly one trial;
 *  - the validation split is stratified per class, disjoint from what the trials train on, seeded;
 *  - successive halving promotes exactly the best ⌈entered / eta⌉ at each rung (validation accuracy,
 *    then loss), prunes the rest there, and a pending trial holds the decision back;
 *  - a search records every trial (lr, per-epoch validation accuracy and loss, where it stopped),
 *    selects on validation (its trials never evaluate the test split), and trains the chosen lr on
 *    the whole train split;
 *  - a search killed mid-trial or mid-final-run resumes without training any finished trial again,
 *    and ends with the numbers of an uninterrupted search;
 *  - a bad setting is a ConfigError naming the field; a grid's `tune:` block runs per cell, its lr
 *    shows in the table, and shards of a tuned grid merge.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { readResult, type TuneJson } from '../src/schema/index.ts';
import { mergeAblations, parseGrid, planAblation, runAblation } from '../src/train/ablate/index.ts';
import { type TrainResult, trainRun } from '../src/train/index.ts';
import {
  chooseTrial,
  planTune,
  rungStates,
  sampleLrs,
  stratifiedUnits,
  type TrialEpoch,
  type TrialProgress,
  type TuneConfig,
  type TuneRun,
  type TuneSearch,
  tuneLr,
} from '../src/train/tune/index.ts';
import { carveValidation, validationCount, validationIndices } from '../src/train/validation.ts';
import { ConfigError } from '../src/util/errors.ts';
import { runMain, tempDirs } from './support/cli.ts';

const tmp = tempDirs();

describe('the lr draw', () => {
  it('puts exactly one trial in every stratum of the log-range, deterministically for a seed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), (n, seed) => {
        const u = stratifiedUnits(n, seed);
        expect(u.map((x) => Math.floor(x * n)).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
        expect(stratifiedUnits(n, seed)).toEqual(u);
        const lrs = sampleLrs(n, 1e-5, 0.1, seed);
        for (const [i, lr] of lrs.entries()) {
          expect(lr).toBeGreaterThanOrEqual(1e-5);
          expect(lr).toBeLessThanOrEqual(0.1);
          // the 3-significant-digit rounding moves an lr by at most 0.5%
          expect(Math.abs(lr / (1e-5 * 1e4 ** u[i]) - 1)).toBeLessThanOrEqual(5e-3);
        }
      }),
    );
  });

  it('covers every decade of [1e-5, 1e-1] with 8 trials (two per decade)', () => {
    const decades = sampleLrs(8, 1e-5, 0.1, 1).map((lr) => Math.floor(Math.log10(lr) + 1e-9));
    for (const d of [-5, -4, -3, -2]) expect(decades.filter((x) => x === d)).toHaveLength(2);
  });
});

describe('the validation split', () => {
  it('takes round(fraction × count) of each class, disjoint from the rest, the same for a seed', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 300 }),
        fc.double({ min: 0.01, max: 0.99, noNaN: true }),
        fc.integer({ min: 0, max: 1000 }),
        (labels, fraction, seed) => {
          const idx = validationIndices(labels, 5, { fraction, seed });
          for (let c = 0; c < 5; c++) {
            const count = labels.filter((l) => l === c).length;
            expect([...idx].filter((i) => labels[i] === c)).toHaveLength(validationCount(count, fraction));
          }
          expect(new Set(idx).size).toBe(idx.length);
          expect(validationIndices(labels, 5, { fraction, seed })).toEqual(idx);
        },
      ),
    );
  });

  it('carves a dataset into train and validation images that together are the original', () => {
    const n = 50;
    const images = Uint8Array.from({ length: n * 4 }, (_, i) => i % 251);
    const labels = Uint8Array.from({ length: n }, (_, i) => i % 3);
    const d = { name: 'x', split: 'train', n, shape: [1, 2, 2], classes: 3, classNames: ['a', 'b', 'c'], images, labels } as const;
    const { train, validation } = carveValidation({ ...d, source: { files: [], sha256: [], verified: [] } }, { fraction: 0.2, seed: 3 });
    expect(train.n + validation.n).toBe(n);
    expect(validation.n).toBe(validationCount(17, 0.2) * 2 + validationCount(16, 0.2));
    const rows = (x: typeof train) =>
      Array.from({ length: x.n }, (_, i) => `${x.labels[i]}:${x.images.subarray(4 * i, 4 * i + 4).join(',')}`);
    expect([...rows(train), ...rows(validation)].sort()).toEqual(rows({ ...d, source: d as never } as never).sort());
  });
});

/** A trial with whole epochs 1..k scoring (acc, loss) at each. */
const trial = (index: number, scores: readonly (readonly [number, number])[], ended = false): TrialProgress => ({
  index,
  lr: index / 100,
  epochs: scores.map(
    ([valAcc, valLoss], i): TrialEpoch => ({ epoch: i + 1, loss: 1, trainAcc: null, valAcc, valLoss, seconds: 0, partial: false }),
  ),
  ended,
  divergence: null,
});

const SEARCH: TuneSearch = { trials: 0, lrMin: 1e-5, lrMax: 0.1, rungs: [1, 2], eta: 3, validation: 0.1, seed: 1 };

describe('successive halving', () => {
  it('promotes the best ⌈entered / eta⌉ at a rung by validation accuracy, then loss, then index', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(0.1, 0.2, 0.3), fc.constantFrom(1, 2, 2.3)), { minLength: 1, maxLength: 12 }),
        fc.constantFrom(2, 3, 4),
        (scores, eta) => {
          const ts = scores.map((s, i) => trial(i + 1, [s]));
          const [r1] = rungStates({ ...SEARCH, trials: ts.length, eta }, ts);
          const best = [...ts].sort(
            (a, b) => b.epochs[0].valAcc! - a.epochs[0].valAcc! || a.epochs[0].valLoss! - b.epochs[0].valLoss! || a.index - b.index,
          );
          expect(r1.promoted).toEqual(best.slice(0, Math.ceil(ts.length / eta)).map((t) => t.index));
        },
      ),
    );
  });

  it('decides nothing while a trial is still short of the rung, and leaves trials that diverged out', () => {
    const pending = [trial(1, [[0.5, 1]]), trial(2, [])];
    expect(rungStates(SEARCH, pending)[0]).toMatchObject({ waiting: [2], promoted: null });
    const diverged = { ...trial(2, []), ended: true, divergence: 'NaN' };
    const rungs = rungStates({ ...SEARCH, eta: 1.5 }, [trial(1, [[0.2, 1]]), diverged, trial(3, [[0.1, 1]])]);
    expect(rungs[0]).toMatchObject({ ranked: [1, 3], waiting: [], promoted: [1, 3] });
  });

  it('chooses the best at the furthest rung reached, else the trial that lasted longest', () => {
    const ts = [
      trial(1, [[0.9, 1]]),
      trial(
        2,
        [
          [0.5, 1],
          [0.6, 1],
        ],
        true,
      ),
      trial(
        3,
        [
          [0.6, 1],
          [0.55, 1],
        ],
        true,
      ),
    ];
    const rungs = rungStates({ ...SEARCH, eta: 1.5 }, ts);
    expect(rungs[0].promoted).toEqual([1, 3]);
    // trial 1 was the best at rung 1 but has not reached rung 2 yet
    expect(rungs[1].waiting).toEqual([1]);
    const done = [
      trial(
        1,
        [
          [0.9, 1],
          [0.5, 1],
        ],
        true,
      ),
      ts[1],
      ts[2],
    ];
    expect(chooseTrial(SEARCH, done, rungStates({ ...SEARCH, eta: 1.5 }, done))).toMatchObject({ trial: 3, epoch: 2 });
    const early = [
      { ...trial(1, []), ended: true, divergence: 'NaN' },
      { ...trial(2, []), ended: true, divergence: 'NaN' },
    ];
    const c = chooseTrial({ ...SEARCH, rungs: [3] }, early, rungStates({ ...SEARCH, rungs: [3] }, early));
    expect(c.trial).toBe(1);
    expect(c.why).toMatch(/no trial reached the first rung/);
  });
});

/** LeNet-5 on 200 MNIST images (160 to train on in a trial, 40 to validate), 50 test images; 5 trials, rungs at 1, 2, 3. */
const tiny = (out: string): TuneConfig => ({
  train: {
    model: 'lenet5',
    dataset: 'mnist',
    beta: 0,
    precision: '32',
    mode: 'strict',
    epochs: 2,
    batchSize: 25,
    seed: 2,
    limitTrain: 200,
    limitTest: 50,
    logEvery: 3,
  },
  search: { trials: 5, lrMin: 1e-3, lrMax: 0.3, rungs: [1, 2, 3], eta: 2, validation: 0.2, seed: 7 },
  out,
  checkpointEvery: { steps: 1_000_000 },
  versions: { adzone: 'test' },
  command: 'test',
});

/** What must not depend on how a search was interrupted: every trial's numbers, the rungs, the choice, the final run's. */
function numbers(t: TuneJson) {
  return {
    trials: t.trials.map(({ seconds: _s, epochs, ...x }) => ({ ...x, epochs: epochs.map(({ seconds: _t, ...e }) => e) })),
    rungs: t.rungs,
    chosen: t.chosen,
    final: { ...t.final, seconds: 0 },
  };
}

/** Steps trained per run of a search, through its progress hooks. */
function stepCounter() {
  const steps = new Map<string, number[]>();
  const key = (r: TuneRun) => (r.kind === 'final' ? 'final' : `trial ${r.index}`);
  return {
    steps,
    train: (r: TuneRun) => ({ onStep: (p: { step: number }) => steps.set(key(r), [...(steps.get(key(r)) ?? []), p.step]) }),
  };
}

describe('tuneLr', { timeout: 120_000 }, () => {
  let reference: TuneJson;
  const refOut = () => join(tmp('adzone-tune-'), 'search');

  it('records every trial, prunes by the rule, selects on validation and trains the chosen lr on the whole train split', async () => {
    const out = refOut();
    const o = await tuneLr(tiny(out));
    expect(o.status).toBe('done');
    reference = o.record;
    const t = reference;
    const plan = planTune(tiny(out));
    expect(t.trials.map((x) => x.lr)).toEqual(plan.lrs);
    expect(t.split).toEqual({ validation: 40, train: 160 });
    // rung 1: all 5 enter, ⌈5/2⌉ = 3 go on; rung 2: ⌈3/2⌉ = 2 go on to the last rung
    expect(t.rungs.map((r) => [r.entered.length, r.promoted?.length ?? null])).toEqual([
      [5, 3],
      [3, 2],
      [2, null],
    ]);
    const at = (i: number, epoch: number) => t.trials[i - 1].epochs.find((e) => e.epoch === epoch)!;
    for (const [k, r] of t.rungs.entries()) {
      const ranked = [...r.entered].sort(
        (a, b) => at(b, r.epoch).valAcc! - at(a, r.epoch).valAcc! || at(a, r.epoch).valLoss! - at(b, r.epoch).valLoss! || a - b,
      );
      if (r.promoted) expect(r.promoted).toEqual(ranked.slice(0, Math.ceil(r.entered.length / 2)));
      for (const i of r.entered.filter((x) => r.promoted && !r.promoted.includes(x)))
        expect(t.trials[i - 1]).toMatchObject({
          status: 'pruned',
          prunedAt: r.epoch,
          epochs: [{ epoch: 1 }, ...(k ? [{ epoch: 2 }] : [])],
        });
      if (k === 2) expect(t.chosen).toMatchObject({ trial: ranked[0], epoch: 3, valAcc: at(ranked[0], 3).valAcc });
    }
    expect(t.trials.filter((x) => x.status === 'completed')).toHaveLength(2);
    // the trials never evaluate the test split: their epoch lines hold validation scores only
    for (const x of t.trials) {
      const file = join(out, x.dir, 'result.json');
      const r = existsSync(file) ? (readResult(file, 'train').data as TrainResult) : undefined;
      expect(r !== undefined).toBe(x.status !== 'pruned');
      const lines = readFileSync(join(out, x.dir, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      for (const e of lines.filter((l) => l.kind === 'epoch'))
        expect([e.testAcc, e.testLoss, typeof e.valAcc]).toEqual([null, null, 'number']);
      if (r)
        expect([r.finalTestAcc, r.data.train.n, r.data.validation?.n, r.config.validation]).toEqual([
          null,
          160,
          40,
          { fraction: 0.2, seed: 7 },
        ]);
    }
    const final = readResult(join(out, 'final', 'result.json'), 'train').data as TrainResult;
    expect(final.config.lr).toBe(t.chosen!.lr);
    expect(final.config.validation).toBeUndefined();
    expect(final.data.train.n).toBe(200);
    expect(final.epochs).toHaveLength(2);
    expect(t.final).toMatchObject({ status: final.status, finalTestAcc: final.finalTestAcc, lr: t.chosen!.lr });
    expect(final.finalTestAcc).not.toBeNull();
  });

  it('resumes a search killed inside a trial without training any finished trial again, to the same numbers', async () => {
    const out = refOut();
    const victim = reference.rungs[1].entered[0];
    const killed = await tuneLr(tiny(out), {
      crashAt: (r, p, step) => r.kind === 'trial' && r.index === victim && p === 'step' && step === 10,
    });
    expect(killed.status).toBe('interrupted');
    expect(readResult(join(out, 'tune.json'), 'tune').data.status).toBe('searching');
    const c = stepCounter();
    const o = await tuneLr(tiny(out), { train: c.train });
    expect(o.status).toBe('done');
    expect(numbers(o.record)).toEqual(numbers(reference));
    // every trial pruned at rung 1 was finished before the kill: none trains again
    for (const i of reference.rungs[0].entered.filter((x) => !reference.rungs[0].promoted!.includes(x)))
      expect(c.steps.get(`trial ${i}`)).toBeUndefined();
    // the victim continues from its checkpoint at the end of epoch 1 (7 steps), not from the start
    expect(c.steps.get(`trial ${victim}`)![0]).toBe(8);
  });

  it('resumes a search killed in its final run without training a trial again', async () => {
    const out = refOut();
    const killed = await tuneLr(tiny(out), { crashAt: (r, p, step) => r.kind === 'final' && p === 'step' && step === 5 });
    expect(killed.status).toBe('interrupted');
    expect(killed.record.status).toBe('final');
    const c = stepCounter();
    const o = await tuneLr(tiny(out), { train: c.train });
    expect([...c.steps.keys()]).toEqual(['final']);
    expect(numbers(o.record)).toEqual(numbers(reference));
    // done: a third call trains nothing and returns the same record
    const c3 = stepCounter();
    const again = await tuneLr(tiny(out), { train: c3.train });
    expect(c3.steps.size).toBe(0);
    expect(numbers((again as { record: TuneJson }).record)).toEqual(numbers(reference));
  });

  it('refuses a folder holding a search with other settings, naming the field', async () => {
    const out = refOut();
    await tuneLr({ ...tiny(out), search: { ...tiny(out).search, rungs: [1] } });
    await expect(tuneLr({ ...tiny(out), search: { ...tiny(out).search, rungs: [1], eta: 3 } })).rejects.toMatchObject({ field: 'eta' });
  });
});

describe('settings', () => {
  const bad =
    (over: Partial<TuneConfig['search']>, train: Record<string, unknown> = {}) =>
    () =>
      planTune({ ...tiny('/tmp/unused'), search: { ...tiny('').search, ...over }, train: { ...tiny('').train, ...train } });
  it.each([
    [{ trials: 0 }, {}, 'trials'],
    [{ trials: 2.5 }, {}, 'trials'],
    [{ rungs: [3, 2] }, {}, 'rungs'],
    [{ rungs: [] }, {}, 'rungs'],
    [{ lrMin: 0 }, {}, 'lrMin'],
    [{ lrMax: 1e-4 }, {}, 'lrMax'],
    [{ eta: 1 }, {}, 'eta'],
    [{ validation: 1 }, {}, 'validation'],
    [{ seed: -1 }, {}, 'seed'],
    [{ trails: 3 } as never, {}, 'trails'],
    [{}, { lr: 0.1 }, 'lr'],
    [{}, { batchSize: 0 }, 'batchSize'],
    [{}, { model: 'lenet9' }, 'model'],
  ])('%j %j is a ConfigError naming %s', (over, train, field) => {
    expect(bad(over, train)).toThrow(ConfigError);
    expect(bad(over, train)).toThrow(expect.objectContaining({ field }));
  });

  it('a grid cannot both tune and set lr, and names a bad tune field', () => {
    const g = (extra: string) =>
      `name: g\nbase: { model: lenet5, dataset: mnist, epochs: 1, precision: 32, beta: 0 }\n${extra}\ngrid: { seed: [1] }\n`;
    expect(() => parseGrid(g('tune: { trials: 3 }\n').replace('beta: 0', 'beta: 0, lr: 0.1'), 'g.yaml')).toThrow(
      /'lr' is set in base but the 'tune' block searches it/,
    );
    expect(() => parseGrid(g('tune: { trials: 0 }'), 'g.yaml')).toThrow(/tune\.trials must be a whole number/);
    expect(() => parseGrid(g('tune: { lr-max: 0.5, lr-min: 0.6 }'), 'g.yaml')).toThrow(/lr-max \(0\.5\) must be above lr-min/);
    expect(parseGrid(g('tune: { lr-max: 0.5, rungs: [2, 4] }'), 'g.yaml').tune).toMatchObject({ lrMax: 0.5, rungs: [2, 4], trials: 10 });
  });

  it('adzone tune names the option of a bad setting and exits 2', async () => {
    const tune = (...extra: string[]) =>
      runMain(
        'tune',
        ...['--model', 'lenet5', '--dataset', 'mnist', '--beta', '0', '--precision', '32', '--epochs', '1'],
        ...extra,
        ...['--out', tmp('adzone-tune-cli-')],
      );
    const r = await tune('--rungs', '2,1');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--rungs must be a list of increasing epochs/);
    const lr = await tune('--lr', '0.1');
    expect([lr.code, lr.err]).toEqual([2, expect.stringMatching(/--lr is what adzone tune searches/)]);
  });
});

describe('chanceFromEpoch', { timeout: 120_000 }, () => {
  // one test image: 1.2 × its class's share is 1.2, so every evaluation counts as at chance
  const atChance = {
    model: 'lenet5',
    dataset: 'mnist',
    beta: 0,
    precision: '32',
    mode: 'strict',
    epochs: 4,
    batchSize: 32,
    limitTrain: 64,
    limitTest: 1,
  } as const;

  it('sets the first epoch whose evaluation at chance ends a run; null never ends it so', async () => {
    const at = async (chanceFromEpoch?: number | null) => {
      const o = await trainRun({
        ...atChance,
        out: join(tmp('adzone-chance-'), 'run'),
        ...(chanceFromEpoch !== undefined ? { chanceFromEpoch } : {}),
      });
      return o.status === 'completed' || o.status === 'diverged'
        ? [o.status, o.result.divergence?.epoch ?? null, o.result.epochs.length]
        : o.status;
    };
    expect(await at()).toEqual(['diverged', 2, 2]);
    expect(await at(3)).toEqual(['diverged', 3, 3]);
    expect(await at(null)).toEqual(['completed', null, 4]);
    await expect(at(0)).rejects.toMatchObject({ field: 'chanceFromEpoch' });
  });

  it('a grid sets it per cell with chance-from-epoch, recorded in grid.json; a tuned grid refuses it', async () => {
    const text = `name: c\nbase: { model: lenet5, dataset: mnist, precision: 32, mode: strict, backend: engine, epochs: 4, batch-size: 32, limit-train: 64, limit-test: 1, chance-from-epoch: 3 }\ngrid: { beta: [0] }\n`;
    const out = tmp('adzone-chance-grid-');
    await runAblation(planAblation({ grid: { file: 'c.yaml', text }, out }));
    expect(readResult(join(out, 'grid.json'), 'ablate-grid').data.cells[0].chanceFromEpoch).toBe(3);
    expect(readResult(join(out, 'ablate.json'), 'ablate').data.runs[0]).toMatchObject({ status: 'diverged', epochs: 4 });
    expect((readResult(join(out, 'runs', 'beta-0', 'result.json'), 'train').data as TrainResult).divergence?.epoch).toBe(3);
    const tuned = `${text.replace('grid:', 'tune: { trials: 2 }\ngrid:')}`;
    expect(() => planAblation({ grid: { file: 't.yaml', text: tuned }, out: tmp('adzone-chance-grid-') })).toThrow(
      /chance-from-epoch is the search's/,
    );
  });
});

describe('adzone tune', { timeout: 120_000 }, () => {
  const args = (out: string) =>
    [
      'tune',
      '--model',
      'lenet5',
      '--dataset',
      'mnist',
      '--beta',
      '0',
      '--precision',
      '32',
      '--mode',
      'strict',
      '--epochs',
      '1',
      '--batch-size',
      '25',
    ].concat([
      '--limit-train',
      '100',
      '--limit-test',
      '25',
      '--trials',
      '3',
      '--rungs',
      '1',
      '--lr-min',
      '0.001',
      '--lr-max',
      '0.3',
      '--quiet',
      '--out',
      out,
    ]);

  it('lists the trials with --dry-run, then searches, prints the lr chosen and exits 0', async () => {
    const out = join(tmp('adzone-tune-cli-'), 'search');
    const dry = await runMain(...args(out), '--dry-run');
    expect(dry.code).toBe(0);
    const lrs = sampleLrs(3, 0.001, 0.3, 1);
    expect(dry.out).toContain(`trial  1: lr ${lrs[0]}`);
    expect(existsSync(out)).toBe(false);
    const r = await runMain(...args(out));
    expect(r.code, r.err).toBe(0);
    const t = readResult(join(out, 'tune.json'), 'tune').data;
    expect(r.out).toContain(`lr ${t.chosen!.lr} chosen (trial ${t.chosen!.trial}`);
    expect(t.command).toMatch(/^adzone tune --model lenet5/);
  });
});

describe('a grid with a tune: block', { timeout: 120_000 }, () => {
  const grid = {
    file: 'tuned.yaml',
    text: `name: tuned
base: { model: lenet5, dataset: mnist, precision: 32, mode: strict, backend: engine, epochs: 1, batch-size: 25, limit-train: 100, limit-test: 25 }
tune: { trials: 3, lr-min: 0.001, lr-max: 0.3, rungs: [1, 2], eta: 2, validation: 0.2, seed: 3 }
grid:
  beta: [0, 1000]
`,
  };

  it('searches per cell, reports the lr chosen, and merges shards', async () => {
    const root = tmp('adzone-tune-grid-');
    for (const i of [1, 2]) {
      const plan = planAblation({ grid, out: join(root, `s${i}`), shard: { index: i, count: 2 }, command: 'test' });
      expect(plan.mine.every((c) => c.tune?.trials === 3 && c.config.lr === undefined)).toBe(true);
      await runAblation(plan);
    }
    const m = mergeAblations({ dirs: [join(root, 's1'), join(root, 's2')], out: join(root, 'all') });
    expect(m.missing).toEqual([]);
    const a = readResult(join(root, 'all', 'ablate.json'), 'ablate').data;
    for (const run of a.runs) {
      const t = readResult(join(root, 'all', run.tune!.file), 'tune').data;
      expect([run.config!.lr, run.tune!.trials.length]).toEqual([t.chosen!.lr, 3]);
      expect(run.dir).toMatch(/final$/);
    }
    expect(a.table!.map((r) => r.lrs)).toEqual(a.runs.map((r) => [r.tune!.lr]));
    const md = readFileSync(join(root, 'all', 'ablate.md'), 'utf8');
    expect(md).toMatch(/\| beta \| lr chosen \| test accuracy/);
    expect(md).toContain(`| 0 | ${a.runs[0].tune!.lr} |`);
  });
});
