/**
 * The nightly's plan: how many units of work each stage does (property-suite run multiplier, verify
 * draws per generator and shrinks, network-zones batches, training images), fitted to a time budget
 * from per-unit costs measured by a short calibration (./calibrate.ts).
 *
 * Everything here is pure arithmetic on numbers handed in, so it is tested without running anything.
 * The counts, with the seed, decide every number the nightly reports; the costs only decide the
 * counts. plan.json stores both, and `--plan plan.json` reuses the counts without calibrating.
 *
 * How the budget is spent (planNightly):
 *   usable = (budget − calibration − reserve for report and gate) × (1 − MARGIN)
 *   1. every requested stage gets its minimum (suites ×1, 2 draws per generator, 1 LeNet batch,
 *      4 training steps of 64 and 256 test images per run); when the minimums do not fit, stages are
 *      dropped in DROP_ORDER (suites, then training, then zones; verify always runs: the gate needs it);
 *   2. what is left is shared by WEIGHTS, stage by stage in FILL_ORDER; whatever a stage cannot use
 *      (a cap, a cost that does not grow) flows on to the next, and verify, last, takes the rest.
 *      The ablation slice is the exception: when its share falls short of one full epoch per run (with
 *      the whole test set) but that costs at most TRAIN_EPOCH_SHARE of what is left, it gets the epoch.
 */

import {
  STAGES,
  type Costs,
  type Counts,
  type Estimates,
  type NightlyTrainPrecision,
  type Stage,
  type TrainPlan,
  type VerifyPlan,
} from '../schema/nightly.ts';

export { STAGES };
export type { Costs, Counts, Estimates, Stage, SuitesPlan, TrainPlan, VerifyPlan, ZonesPlan } from '../schema/nightly.ts';

/** Share of the usable budget kept unplanned, for costs that were underestimated. */
export const MARGIN = 0.15;
/** Seconds kept for the report, the JSON checks and the gate: fixed + share of the budget. */
export const RESERVE_FIXED = 10;
export const RESERVE_SHARE = 0.02;
export const WEIGHTS: Readonly<Record<Stage, number>> = { suites: 0.25, verify: 0.35, zones: 0.22, train: 0.18 };
export const DROP_ORDER: readonly Stage[] = ['suites', 'train', 'zones'];
export const FILL_ORDER: readonly Stage[] = ['suites', 'zones', 'train', 'verify'];
/**
 * The ablation slice takes a full epoch per run (and the whole test set) beyond its weighted share
 * when that costs at most this share of what is left to plan at its turn (verify keeps the rest):
 * a fraction of an epoch says little about β (16-bit β = 10⁴ and β = 0 look alike after a few
 * hundred steps), one epoch separates them.
 */
export const TRAIN_EPOCH_SHARE = 0.5;

export const MNIST_TRAIN_IMAGES = 60_000;

export const LIMITS = {
  /** Property-suite run multiplier. */
  maxMultiplier: 20,
  /** Verify draws per generator. */
  minSamples: 2,
  maxSamples: 20_000,
  /** Share of the verify stage at most spent shrinking counterexamples. */
  shrinkShare: 0.4,
  /**
   * Shrink values pulled per counterexample at most (fc.limitShrink): bounds a shrink's time without
   * a clock, so the counterexamples stay a function of the plan. The paths replay on the unlimited
   * generator (`adzone replay`), since a limited shrink stream is a prefix of the full one.
   */
  shrinkCap: 200,
  /** MNIST has 469 train batches of 128, the CIFAR-10 subset 79. */
  maxLenetBatches: 469,
  maxVggBatches: 79,
  /** VGG11 runs when the zones stage could pay for this many times (fixed + VGG_MIN_BATCHES batches). */
  vggMinBatches: 2,
  vggAffordFactor: 3,
  /** Zones mini-batch. */
  batchSize: 128,
  /** Training mini-batch: as the committed full experiments (reports/ablate/grids/lenet5-mnist-sgd.yaml). */
  trainBatchSize: 64,
  minTrainImages: 256,
  /** One epoch at most: MNIST's 60,000 training images (937 batches of 64 and one of 32). */
  maxTrainImages: MNIST_TRAIN_IMAGES,
  minTestImages: 256,
  maxTestImages: 10_000,
  /**
   * Share of the training stage spent on steps at least (evaluation gets the rest, up to the whole
   * test set): an evaluated image costs about as much as a trained one, so evaluation sees about a
   * sixth as many images as training, enough to tell a trained network from one at chance.
   */
  trainStepShare: 0.85,
} as const;

/** Share of a property suite's time that does not grow with the run multiplier (imports, set-up, fixed samples). */
export const SUITE_FIXED_SHARE = 0.25;

export type TrainPrecision = NightlyTrainPrecision;

/** Backend and mode of the slice's runs (as reports/ablate/grids/lenet5-mnist-sgd.yaml). */
export const TRAIN_SETUP = { backend: 'engine', mode: 'strict' } as const;

export interface PlanResult {
  readonly counts: Counts;
  readonly estimates: Estimates;
  readonly usable: number;
  readonly dropped: readonly { readonly stage: Stage; readonly reason: string }[];
  readonly notes: readonly string[];
}

export const TRAIN_RUNS: TrainPlan['runs'] = [
  { precision: '16', beta: 0 },
  { precision: '16', beta: 10000 },
  { precision: '32', beta: 0 },
  { precision: '32', beta: 10000 },
];

// ---------------------------------------------------------------------------------------------
// Cost of a count

export const reserveFor = (budget: number): number => RESERVE_FIXED + RESERVE_SHARE * budget;

export function suiteFileCost(f: Costs['suites']['files'][number], multiplier: number, spawn: number): number {
  return spawn + f.seconds * (f.readsMultiplier ? SUITE_FIXED_SHARE + (1 - SUITE_FIXED_SHARE) * multiplier : 1);
}

/** Start order: longest first (then by name), so the lanes finish together. */
export function suiteOrder(c: Costs['suites']): string[] {
  return [...c.files].sort((a, b) => b.seconds - a.seconds || (a.file < b.file ? -1 : 1)).map((f) => f.file);
}

/** Wall time of the suites at a multiplier: files in `order` taken by the first free lane. */
export function suitesCost(c: Costs['suites'], multiplier: number, order: readonly string[] = suiteOrder(c)): number {
  const lanes = new Array<number>(Math.max(1, c.lanes)).fill(0);
  for (const name of order) {
    const f = c.files.find((x) => x.file === name);
    if (!f) continue;
    const i = lanes.indexOf(Math.min(...lanes));
    lanes[i] += suiteFileCost(f, multiplier, c.spawn);
  }
  return Math.max(...lanes);
}

const sumDraws = (c: Costs['verify'], gens: readonly string[]) => gens.reduce((a, g) => a + (c.perDraw[g] ?? meanDraw(c)), 0);
export function meanDraw(c: Costs['verify']): number {
  const v = Object.values(c.perDraw);
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : 0.05;
}

/**
 * One shrink at `samples` draws per generator, of generator `gen` (default: the mean over
 * generators, as shrinks go round-robin): the shrinking itself, shrinkDraws draws' worth, plus, for
 * the rarer classes, the search for a first failing draw among up to `samples` draws on one backend
 * and precision (about a fifth of a full draw); one class in five is taken to be rare.
 */
export function shrinkCost(c: Costs['verify'], samples: number, gen?: string): number {
  const d = gen !== undefined ? (c.perDraw[gen] ?? meanDraw(c)) : meanDraw(c);
  return (c.shrinkDraws + 0.04 * samples) * d;
}

export function verifyCost(c: Costs['verify'], gens: readonly string[], samples: number, shrinks: number): number {
  return c.fixed + samples * sumDraws(c, gens) + shrinks * shrinkCost(c, samples);
}

export function zonesCost(c: Costs['zones'], lenet: number, vgg: number): number {
  return (lenet > 0 ? c.fixed + lenet * c.lenetBatch : 0) + (vgg > 0 ? c.fixed + vgg * c.vggBatch : 0);
}

export function trainRunCost(
  c: Costs['train'],
  precision: TrainPrecision,
  limitTrain: number,
  limitTest: number,
  batchSize: number,
): number {
  return c.fixed + Math.ceil(limitTrain / batchSize) * c.step[precision] + limitTest * c.evalPerImage[precision];
}

export function trainCost(c: Costs['train'], p: Pick<TrainPlan, 'runs' | 'limitTrain' | 'limitTest' | 'batchSize'>): number {
  return p.runs.reduce((a, r) => a + trainRunCost(c, r.precision, p.limitTrain, p.limitTest, p.batchSize), 0);
}

/** The estimated seconds of each stage for given counts. */
export function estimate(costs: Costs, counts: Counts): Omit<Estimates, 'reserve' | 'total'> {
  return {
    suites: counts.suites ? suitesCost(costs.suites, counts.suites.multiplier, counts.suites.files) : 0,
    verify: counts.verify ? verifyCost(costs.verify, counts.verify.generators, counts.verify.samples, counts.verify.maxShrinks) : 0,
    zones: counts.zones ? zonesCost(costs.zones, counts.zones.lenetBatches, counts.zones.vggBatches) : 0,
    train: counts.train ? trainCost(costs.train, counts.train) : 0,
  };
}

// ---------------------------------------------------------------------------------------------
// Fitting counts to a budget

export interface PlanInput {
  readonly budgetSeconds: number;
  /** Already spent (calibration). */
  readonly spentSeconds: number;
  readonly stages: readonly Stage[];
  readonly costs: Costs;
  readonly verify: Pick<VerifyPlan, 'generators' | 'backends' | 'precisions' | 'jacobians'>;
  /** Whether VGG11/CIFAR-10 zones may be planned (false when the data is not here; default true). */
  readonly vgg?: boolean;
}

/** Largest integer x in [lo, hi] with ok(x), for ok monotone (true then false); lo when none. */
function largest(lo: number, hi: number, ok: (x: number) => boolean): number {
  if (hi <= lo || !ok(lo + 1)) return lo;
  let a = lo + 1;
  let b = hi;
  while (a < b) {
    const m = Math.ceil((a + b) / 2);
    if (ok(m)) a = m;
    else b = m - 1;
  }
  return a;
}

/** Verify counts that fit `seconds`: as many draws as fit with shrinks taking at most LIMITS.shrinkShare. */
export function fitVerify(c: Costs['verify'], gens: readonly string[], seconds: number): { samples: number; maxShrinks: number } {
  const t = Math.max(0, seconds - c.fixed);
  const shrinksAt = (s: number) => Math.max(0, Math.min(c.expectedShrinks, Math.floor((LIMITS.shrinkShare * t) / shrinkCost(c, s))));
  const samples = largest(LIMITS.minSamples, LIMITS.maxSamples, (s) => s * sumDraws(c, gens) + shrinksAt(s) * shrinkCost(c, s) <= t);
  // at the minimum the draws alone may fill (or overfill) the time: shrink only in what is left
  const room = Math.max(0, Math.floor((t - samples * sumDraws(c, gens)) / shrinkCost(c, samples)));
  return { samples, maxShrinks: Math.min(shrinksAt(samples), room) };
}

export function fitZones(c: Costs['zones'], seconds: number, allowVgg = true): { lenetBatches: number; vggBatches: number } {
  const vggUnit = c.fixed + LIMITS.vggMinBatches * c.vggBatch;
  let vgg = 0;
  let rest = seconds;
  if (allowVgg && seconds >= LIMITS.vggAffordFactor * vggUnit + c.fixed + c.lenetBatch) {
    vgg = Math.min(LIMITS.maxVggBatches, Math.floor((seconds / 2 - c.fixed) / c.vggBatch));
    rest = seconds - (c.fixed + vgg * c.vggBatch);
  }
  const lenet = Math.max(1, Math.min(LIMITS.maxLenetBatches, Math.floor((rest - c.fixed) / c.lenetBatch)));
  return { lenetBatches: lenet, vggBatches: vgg };
}

/** Training images of `steps` steps: whole batches, at most one epoch. */
const trainImages = (steps: number, bs: number) => Math.min(LIMITS.maxTrainImages, steps * bs);

/**
 * Training and test images for the runs that fit `seconds`: evaluation gets at most
 * 1 − LIMITS.trainStepShare of the time (never less than its minimum, never more than the whole
 * test set needs), steps the rest up to one epoch; what one epoch leaves goes back to evaluation.
 */
export function fitTrain(
  c: Costs['train'],
  seconds: number,
  runs: TrainPlan['runs'] = TRAIN_RUNS,
  bs: number = LIMITS.trainBatchSize,
): { limitTrain: number; limitTest: number } {
  const fixed = runs.length * c.fixed;
  const t = Math.max(0, seconds - fixed);
  const perStep = Math.max(
    runs.reduce((a, r) => a + c.step[r.precision], 0),
    1e-9,
  );
  const perTest = Math.max(
    runs.reduce((a, r) => a + c.evalPerImage[r.precision], 0),
    1e-9,
  );
  const minSteps = Math.ceil(LIMITS.minTrainImages / bs);
  const maxSteps = Math.ceil(LIMITS.maxTrainImages / bs);
  const testBudget = Math.max(LIMITS.minTestImages * perTest, Math.min((1 - LIMITS.trainStepShare) * t, LIMITS.maxTestImages * perTest));
  // (1e-9: a budget computed as the cost of whole counts must give back those counts)
  const steps = Math.max(minSteps, Math.min(maxSteps, Math.floor((t - testBudget) / perStep + 1e-9)));
  const tests = Math.floor(Math.max(0, t - steps * perStep) / perTest + 1e-9);
  const limitTest = Math.max(LIMITS.minTestImages, tests >= LIMITS.maxTestImages ? LIMITS.maxTestImages : Math.floor(tests / 64) * 64);
  return { limitTrain: trainImages(steps, bs), limitTest };
}

/** The slice's counts for given images. */
export function trainPlan(limitTrain: number, limitTest: number, runs: TrainPlan['runs'] = TRAIN_RUNS): TrainPlan {
  return { runs, ...TRAIN_SETUP, batchSize: LIMITS.trainBatchSize, limitTrain, limitTest };
}

export function planNightly(inp: PlanInput): PlanResult {
  const { costs, budgetSeconds } = inp;
  const reserve = reserveFor(budgetSeconds);
  const usable = Math.max(0, (budgetSeconds - inp.spentSeconds - reserve) * (1 - MARGIN));
  const notes: string[] = [];
  const dropped: { stage: Stage; reason: string }[] = [];
  const order = suiteOrder(costs.suites);
  const gens = inp.verify.generators;

  const minCost: Record<Stage, number> = {
    suites: suitesCost(costs.suites, 1, order),
    verify: verifyCost(costs.verify, gens, LIMITS.minSamples, 0),
    zones: zonesCost(costs.zones, 1, 0),
    train: trainCost(costs.train, trainPlan(LIMITS.minTrainImages, LIMITS.minTestImages)),
  };
  let kept = STAGES.filter((s) => inp.stages.includes(s));
  const sumMin = () => kept.reduce((a, s) => a + minCost[s], 0);
  for (const s of DROP_ORDER) {
    if (sumMin() <= usable) break;
    if (!kept.includes(s)) continue;
    kept = kept.filter((k) => k !== s);
    dropped.push({ stage: s, reason: `its minimum (${minCost[s].toFixed(0)} s) does not fit the ${usable.toFixed(0)} s left to plan` });
  }
  if (kept.includes('verify') && minCost.verify > usable)
    notes.push(
      `even the smallest verify sweep (${minCost.verify.toFixed(0)} s) exceeds the ${usable.toFixed(0)} s left to plan; it runs anyway and the budget check may cut it short`,
    );

  let extra = Math.max(0, usable - sumMin());
  const counts: { -readonly [K in keyof Counts]: Counts[K] } = { suites: null, verify: null, zones: null, train: null };
  const left = () => FILL_ORDER.filter((s) => kept.includes(s) && counts[s] === null);
  const share = (s: Stage) => (extra * WEIGHTS[s]) / left().reduce((a, k) => a + WEIGHTS[k], 0);

  for (const s of FILL_ORDER) {
    if (!kept.includes(s)) continue;
    const a = share(s);
    if (s === 'suites') {
      const base = minCost.suites;
      const m = largest(1, LIMITS.maxMultiplier, (x) => suitesCost(costs.suites, x, order) - base <= a);
      counts.suites = { multiplier: m, files: order };
      extra -= suitesCost(costs.suites, m, order) - base;
      if (!costs.suites.files.some((f) => f.readsMultiplier))
        notes.push(
          'no property suite reads ADZONE_FC_RUNS_MULTIPLIER yet (src/nightly/runs.ts): the suites run with their own numRuns, only the seed changes',
        );
    } else if (s === 'zones') {
      const z = fitZones(costs.zones, minCost.zones + a, inp.vgg !== false);
      counts.zones = { batchSize: LIMITS.batchSize, ...z };
      extra -= zonesCost(costs.zones, z.lenetBatches, z.vggBatches) - minCost.zones;
    } else if (s === 'train') {
      // a full epoch per run (and the whole test set) when the share falls short of it but what is left affords it
      const epoch = trainCost(costs.train, trainPlan(LIMITS.maxTrainImages, LIMITS.maxTestImages)) - minCost.train;
      const grant = a < epoch && epoch <= TRAIN_EPOCH_SHARE * extra ? epoch : a;
      const t = fitTrain(costs.train, minCost.train + grant);
      counts.train = trainPlan(t.limitTrain, t.limitTest);
      extra -= trainCost(costs.train, counts.train) - minCost.train;
    } else {
      const v = fitVerify(costs.verify, gens, minCost.verify + a);
      counts.verify = { ...v, shrinkCap: LIMITS.shrinkCap, ...inp.verify };
      extra -= verifyCost(costs.verify, gens, v.samples, v.maxShrinks) - minCost.verify;
    }
    extra = Math.max(0, extra);
  }
  const e = estimate(costs, counts);
  return {
    counts,
    estimates: { ...e, reserve, total: inp.spentSeconds + e.suites + e.verify + e.zones + e.train + reserve },
    usable,
    dropped,
    notes,
  };
}
