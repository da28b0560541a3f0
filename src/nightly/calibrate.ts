/**
 * The nightly's calibration: short timed samples of each requested stage's work, turned into
 * per-unit costs (plan.ts Costs). Everything runs with a fixed seed into a temporary folder that is
 * removed afterwards; none of it reaches the report.
 *
 *   verify  load the backends and measure their tie rules (the stage's fixed cost), draw one
 *           untimed case of every generator (warm-up), then time 2 more (28 draws, every backend and
 *           precision); shrink 2 counterexamples
 *   suites  no run: the reference seconds per file below, scaled by how much slower this machine
 *           drew the verify cases than the reference machine did
 *   zones   two LeNet-5 batches of 128 at 16, 32 and 64 bits (the second, warm one times a batch);
 *           VGG11 (width 1/4) per batch is taken as
 *           VGG_OVER_LENET LeNet batches (measured on the reference machine) rather than timed
 *   train   LeNet-5 on MNIST at 16 and 32 bits on the slice's setup (engine, strict, batch 64):
 *           CAL_TRAIN_STEPS steps (the first CAL_TRAIN_WARM, warming up, not counted) and
 *           CAL_TEST_IMAGES test images each
 *
 * Timings depend on the machine and its load, so two calibrations rarely agree exactly: the counts
 * they lead to can differ between runs and machines. `--plan plan.json` skips the calibration and
 * reuses a plan's counts.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatorById } from '../generators/index.ts';
import { networkZones } from '../zones/network/index.ts';
import { runVerify, shrinkCounterexample, type TableRow, type VerifyOptions } from '../zones/verify.ts';
import { ablationConfig, trainOnce } from './ablation.ts';
import { type Costs, LIMITS, type Stage, type TrainPrecision, trainPlan } from './plan.ts';
import { propertySuites, REPO_ROOT } from './suites.ts';
import { cappedShrink, type LoadedBackends, loadVerifyBackends, shrinkTargets, VERIFY_DEFAULTS, verifyOptions } from './verify.ts';
import { zonesConfig } from './zones.ts';

/** Seed of the calibration's own draws, batches and runs (never the night's). */
export const CALIBRATION_SEED = 7;
const CAL_SAMPLES = 2;
const CAL_SHRINKS = 2;
/**
 * Training steps timed per precision after CAL_TRAIN_WARM untimed ones (the engine's steps take
 * 3–8× longer for the first ≈ 15 while the JIT warms up), and test images evaluated.
 */
const CAL_TRAIN_STEPS = 20;
const CAL_TRAIN_WARM = 20;
const CAL_TEST_IMAGES = 512;

/**
 * The reference machine (2 shared cores, where these constants were measured together, under one
 * load): REF_CALIBRATION_SECONDS is what the verify calibration below (14 warm-up draws and 28 timed
 * draws of seed CALIBRATION_SEED, in a fresh process) took there. Its ratio to the same work here is
 * the machine's `speed`, and every reference cost is multiplied by it. Per-generator draw costs come
 * from REF_DRAW_SECONDS (60 draws each, in a warm process) rather than from the calibration's own
 * two draws: a generator's cost varies a lot from draw to draw (argmax-flip-64: 330 ms for its
 * first draws, 26 ms on average), so two draws say little about a generator but the whole fixed
 * set says how fast the machine is.
 */
export const REF_CALIBRATION_SECONDS = 1.83;
export const REF_DRAW_SECONDS: Readonly<Record<string, number>> = {
  'exact-tie': 0.025,
  'ulp-neighbour-16': 0.006,
  'ulp-neighbour-32': 0.006,
  'ulp-neighbour-64': 0.01,
  'round-tie-16': 0.006,
  'round-tie-32': 0.01,
  'near-tie': 0.008,
  'near-tie-chain': 0.033,
  'argmax-flip-16': 0.012,
  'argmax-flip-32': 0.023,
  'argmax-flip-64': 0.026,
  'relu-zero': 0.019,
  'special-values': 0.005,
  'generic-chain': 0.012,
};
/** Seconds per property suite at multiplier 1, two files at a time, without the vitest start-up (REF_SPAWN_SECONDS). */
export const REF_SUITE_SECONDS: Readonly<Record<string, number>> = {
  'properties/engine-net.test.ts': 3.5,
  'properties/engine.test.ts': 4.5,
  'properties/f16fast.test.ts': 1,
  'properties/generators.test.ts': 2.5,
  'properties/kernels.test.ts': 12.5,
  'properties/models.test.ts': 2.5,
  'properties/network-zones.test.ts': 5.5,
  'properties/oracle.test.ts': 19.5,
  'properties/precision.test.ts': 1.5,
  'properties/tfjs-net.test.ts': 24.5,
  'properties/tfjs.test.ts': 8.5,
  'properties/train.test.ts': 27.5,
  'properties/zones.test.ts': 13.5,
};
export const DEFAULT_SUITE_SECONDS = 20;
/** A generator missing from REF_DRAW_SECONDS (a new one) is planned with its calibration draws, and at least this. */
export const DEFAULT_DRAW_SECONDS = 0.03;
export const REF_SPAWN_SECONDS = 1.5;
/**
 * A shrunk counterexample (capped at LIMITS.shrinkCap steps) costs about this many draws of its
 * generator: the baseline run shrank 77 in ≈ 150 s at ≈ 40 ms a draw (≈ 50); cheap classes take a
 * few, chain generators up to ≈ 80. The calibration can raise it (to twice this at most), never lower it.
 */
export const REF_SHRINK_DRAWS = 40;
/** VGG11 at width 1/4 on a CIFAR-10 batch of 128 against LeNet-5 on an MNIST batch of 128 (45 s against 4 s here). */
export const VGG_OVER_LENET = 11;
/**
 * The ablation slice on the reference machine (LeNet-5/MNIST, engine strict, batch 64, under the
 * load of two training jobs): ≈ 35–42 ms a 16-bit step, ≈ 23 ms a 32-bit step (tfjs-wasm, the slice's
 * earlier backend: ≈ 115 ms at 32 bits, ≈ 1.7 s at 16 bits wide); evaluating a test image costs about
 * 0.7–0.85 of what training on one does.
 */
export const REF_TRAIN = { fixed: 2, step: { '16': 0.04, '32': 0.023 }, evalPerImage: { '16': 0.0006, '32': 0.0004 } } as const;
/** Counterexamples of a full verify run when the baseline does not say. */
export const DEFAULT_EXPECTED_SHRINKS = 80;

/** Reference costs scaled by `speed`: what a stage that was not calibrated is planned with. */
export function referenceCosts(speed = 1, generators: readonly string[] = VERIFY_DEFAULTS.generators): Costs {
  return {
    speed,
    suites: {
      files: propertySuites().map((f) => ({ ...f, seconds: (REF_SUITE_SECONDS[f.file] ?? DEFAULT_SUITE_SECONDS) * speed })),
      spawn: REF_SPAWN_SECONDS * speed,
      lanes: Math.max(1, Math.min(2, availableParallelism())),
    },
    verify: {
      fixed: 6 * speed,
      perDraw: Object.fromEntries(generators.map((g) => [g, (REF_DRAW_SECONDS[g] ?? DEFAULT_DRAW_SECONDS) * speed])),
      shrinkDraws: REF_SHRINK_DRAWS,
      expectedShrinks: expectedShrinks(),
    },
    zones: { fixed: 4 * speed, lenetBatch: 5 * speed, vggBatch: 5 * VGG_OVER_LENET * speed },
    train: {
      fixed: REF_TRAIN.fixed * speed,
      step: { '16': REF_TRAIN.step['16'] * speed, '32': REF_TRAIN.step['32'] * speed },
      evalPerImage: { '16': REF_TRAIN.evalPerImage['16'] * speed, '32': REF_TRAIN.evalPerImage['32'] * speed },
    },
  };
}

/** How many counterexamples the committed baseline run shrank (fixtures/baseline/verify.json). */
export function expectedShrinks(): number {
  try {
    const j = JSON.parse(readFileSync(join(REPO_ROOT, 'fixtures', 'baseline', 'verify.json'), 'utf8')) as { counterexamples?: unknown[] };
    return Array.isArray(j.counterexamples) && j.counterexamples.length > 0 ? j.counterexamples.length : DEFAULT_EXPECTED_SHRINKS;
  } catch {
    return DEFAULT_EXPECTED_SHRINKS;
  }
}

export interface Calibration {
  readonly costs: Costs;
  readonly seconds: number;
  /** The verify backends, loaded (reused by the verify stage). */
  readonly loaded: LoadedBackends | null;
  readonly lines: readonly string[];
  /** Parts that failed (their stage is planned with the reference costs scaled by the speed; it will likely fail too and say why). */
  readonly failures: readonly string[];
}

const since = (t: number) => (performance.now() - t) / 1000;

/** What the verify part measures: the machine's speed against the reference's, the verify costs, and the backends it loaded. */
interface VerifyCalibration {
  readonly speed: number;
  readonly verify: Costs['verify'];
  readonly loaded: LoadedBackends;
}

export async function calibrate(o: {
  readonly stages: readonly Stage[];
  readonly version: string;
  readonly log: (s: string) => void;
}): Promise<Calibration> {
  const t0 = performance.now();
  const lines: string[] = [];
  const say = (s: string) => {
    lines.push(s);
    o.log(`nightly ▸ calibrate: ${s}`);
  };
  const failures: string[] = [];
  // a part that fails leaves its stage planned with the reference costs (scaled by the speed, when measured)
  const part = async <T>(name: string, body: () => Promise<T>): Promise<T | null> => {
    try {
      return await body();
    } catch (e) {
      failures.push(`${name}: ${(e as Error).message}`);
      say(`${name}: failed (${(e as Error).message}); planned with the reference machine's costs`);
      return null;
    }
  };
  const tmp = mkdtempSync(join(tmpdir(), 'adzone-nightly-cal-'));
  try {
    const wants = (s: Stage) => o.stages.includes(s);
    const v = wants('verify') || wants('suites') ? await part('verify', () => calibrateVerify(o.log, say)) : null;
    const speed = v?.speed ?? 1;
    const scaled = referenceCosts(speed);
    const zones = (wants('zones') ? await part('zones', () => calibrateZones(say)) : null) ?? scaled.zones;
    const train = (wants('train') ? await part('train', () => calibrateTrain(tmp, o.version, say)) : null) ?? scaled.train;
    const costs: Costs = { speed, suites: scaled.suites, verify: v?.verify ?? scaled.verify, zones, train };
    if (wants('suites')) {
      const reads = costs.suites.files.filter((f) => f.readsMultiplier).length;
      say(
        `suites: ${costs.suites.files.length} property files with fast-check, ${costs.suites.files.reduce((a, f) => a + f.seconds, 0).toFixed(0)} s at ×1 by the reference table scaled ×${speed.toFixed(2)}; ${reads} read the run multiplier`,
      );
    }
    return { costs, seconds: since(t0), loaded: v?.loaded ?? null, lines, failures };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Load the backends, time the reference draws (the speed), then a couple of shrinks (their cost in draws). */
async function calibrateVerify(log: (s: string) => void, say: (s: string) => void): Promise<VerifyCalibration> {
  const loaded = await loadVerifyBackends(VERIFY_DEFAULTS.backends, log);
  const base = verifyOptions({ ...VERIFY_DEFAULTS, samples: CAL_SAMPLES }, CALIBRATION_SEED, loaded);
  const measuredDraw: Record<string, number> = {};
  const table: TableRow[] = [];
  const tc = performance.now();
  for (const id of VERIFY_DEFAULTS.generators) {
    // an untimed draw of another seed first (it is part of the reference work all the same)
    await runVerify({ ...base, seed: CALIBRATION_SEED + 1, samples: 1, generators: [generatorById(id)] });
    const t = performance.now();
    const r = await runVerify({ ...base, generators: [generatorById(id)] });
    measuredDraw[id] = since(t) / CAL_SAMPLES;
    table.push(...r.table);
  }
  const calSeconds = since(tc);
  const speed = calSeconds / REF_CALIBRATION_SECONDS;
  const perDraw: Record<string, number> = Object.fromEntries(
    VERIFY_DEFAULTS.generators.map((g) => [
      g,
      REF_DRAW_SECONDS[g] !== undefined ? REF_DRAW_SECONDS[g] * speed : Math.max(DEFAULT_DRAW_SECONDS * speed, measuredDraw[g]),
    ]),
  );
  const mean = Object.values(perDraw).reduce((a, b) => a + b, 0) / VERIFY_DEFAULTS.generators.length;
  const shrink = await calibrateShrinks(base, loaded, table, perDraw);
  say(
    `verify: backends ${loaded.seconds.toFixed(1)} s; the reference draws in ${calSeconds.toFixed(2)} s: ×${speed.toFixed(2)} the reference machine's time, so ${(1000 * mean).toFixed(0)} ms per draw on average; ` +
      `${shrink.count} shrinks at ${Number.isNaN(shrink.measured) ? '?' : shrink.measured.toFixed(0)} draws' time each (planned with ${shrink.draws.toFixed(0)})`,
  );
  return { speed, loaded, verify: { fixed: loaded.seconds, perDraw, shrinkDraws: shrink.draws, expectedShrinks: expectedShrinks() } };
}

/** Shrink CAL_SHRINKS counterexamples of the calibration's table: what a shrink costs, in draws of its generator. */
async function calibrateShrinks(
  base: VerifyOptions,
  loaded: LoadedBackends,
  table: readonly TableRow[],
  perDraw: Readonly<Record<string, number>>,
): Promise<{ count: number; measured: number; draws: number }> {
  const all = shrinkTargets(table);
  // the first and one from the middle of the round-robin order: a cheap class and a later, usually dearer one
  const targets = [...new Set([0, Math.floor(all.length / 2)])]
    .filter((i) => i < all.length)
    .slice(0, CAL_SHRINKS)
    .map((i) => all[i]);
  if (!targets.length) return { count: 0, measured: NaN, draws: REF_SHRINK_DRAWS };
  const ratios: number[] = [];
  for (const s of targets) {
    const t = performance.now();
    await shrinkCounterexample(
      { ...base, generators: [] },
      cappedShrink(generatorById(s.generator), LIMITS.shrinkCap),
      loaded.backends.find((b) => b.id === s.backend)!,
      s.precision,
      s.cls,
    );
    ratios.push(since(t) / perDraw[s.generator]);
  }
  const measured = ratios.reduce((a, b) => a + b, 0) / ratios.length;
  return { count: targets.length, measured, draws: Math.min(2 * REF_SHRINK_DRAWS, Math.max(REF_SHRINK_DRAWS, measured)) };
}

/** Two LeNet-5 batches at every precision: the second, warm one gives a batch's cost; the rest of the wall time is start-up. */
async function calibrateZones(say: (s: string) => void): Promise<Costs['zones']> {
  const t = performance.now();
  const r = await networkZones(zonesConfig({ model: 'lenet5', dataset: 'mnist', batches: 2 }, CALIBRATION_SEED, LIMITS.batchSize));
  const wall = since(t);
  // the second batch's work over every precision, spread over the jobs
  const work =
    r.precisions.reduce((a, p) => {
      const ms = p.batches[p.batches.length - 1].ms;
      return a + ms.engine + ms.exact + ms.classify;
    }, 0) / 1000;
  const jobs = Math.max(1, Math.min(r.config.precisions.length, (r.timing as { jobs?: number }).jobs ?? 1));
  const lenetBatch = Math.max(0.05, work / jobs);
  const zones = { fixed: Math.max(1, wall - 2 * lenetBatch), lenetBatch, vggBatch: lenetBatch * VGG_OVER_LENET };
  say(
    `zones: two LeNet-5 batches in ${wall.toFixed(1)} s (${lenetBatch.toFixed(1)} s per warm batch on ${jobs} job${jobs > 1 ? 's' : ''} + ${zones.fixed.toFixed(1)} s start-up; VGG11/4 taken as ${VGG_OVER_LENET}× per batch)`,
  );
  return zones;
}

/** The slice's setup at 16 and 32 bits: CAL_TRAIN_STEPS warm steps (after CAL_TRAIN_WARM) and CAL_TEST_IMAGES test images each. */
async function calibrateTrain(tmp: string, version: string, say: (s: string) => void): Promise<Costs['train']> {
  const step = { '16': 0, '32': 0 };
  const evalPerImage = { '16': 0, '32': 0 };
  let fixed = 0;
  const steps = CAL_TRAIN_WARM + CAL_TRAIN_STEPS;
  for (const p of ['16', '32'] as TrainPrecision[]) {
    const plan = trainPlan(steps * LIMITS.trainBatchSize, CAL_TEST_IMAGES);
    const config = { ...ablationConfig({ precision: p, beta: 0 }, plan, CALIBRATION_SEED), logEvery: 1 };
    const dir = join(tmp, `train-${p}`);
    const t = performance.now();
    const r = await trainOnce(config, dir, { version, command: 'adzone nightly (calibration)', quiet: true });
    const wall = since(t);
    // metrics.jsonl has a line after every step with the seconds since the start: after the warm-up ones, the steps are warm
    const at = readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as { kind: string; seconds: number })
      .filter((m) => m.kind === 'step')
      .map((m) => m.seconds);
    step[p] =
      at.length >= steps
        ? (at[steps - 1] - at[CAL_TRAIN_WARM - 1]) / CAL_TRAIN_STEPS
        : r.timings.trainSeconds / Math.max(1, r.timings.steps);
    evalPerImage[p] = r.timings.evalSeconds / CAL_TEST_IMAGES;
    // start-up, data, results, and the warm-up steps' extra time: the part of a run that does not grow with its steps
    fixed = Math.max(fixed, wall - steps * step[p] - r.timings.evalSeconds);
  }
  const train = { fixed: Math.max(0.5, fixed), step, evalPerImage };
  say(
    `train (engine strict, batch ${LIMITS.trainBatchSize}): ${(1000 * step['16']).toFixed(0)} ms per 16-bit step, ${(1000 * step['32']).toFixed(0)} ms per 32-bit step; ` +
      `evaluation ${(1000 * evalPerImage['16']).toFixed(2)} / ${(1000 * evalPerImage['32']).toFixed(2)} ms per test image; ${train.fixed.toFixed(1)} s start-up per run`,
  );
  return train;
}
