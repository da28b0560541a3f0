/**
 * The nightly's ablation slice (docs/DESIGN.md §4): LeNet-5 on MNIST, β ∈ {0, 10000} × precision 16 and 32,
 * SGD lr 0.01 momentum 0.9, batch 64, one pass over the first `limitTrain` training images (up to a
 * full epoch), evaluated on the first `limitTest` test images, through src/train's stage
 * (trainRun). The runs compute on the engine in strict mode (every product and sum rounded to
 * the precision) at both precisions, so 16 and 32 bits differ in nothing else: the setup of the
 * committed full experiment (reports/ablate/grids/lenet5-mnist-sgd.yaml), of which the slice is the
 * first epoch (init and batch order come from the seed alone). A plan written before this (no
 * `backend` in its train counts) runs as it did then: tfjs-wasm, 16 bits `wide`, tfjs's float32 at 32.
 * Each run writes ablation/<run>/result.json (validated) and metrics.jsonl; ablation/ablate.json
 * lists them (schema adzone/ablate 1).
 */
import { join } from 'node:path';
import { defaultBackend, defaultMode, orderedConfig, progressHooks, type TrainConfig, trainRun } from '../train/index.ts';
import { readResult, writeResult, type AblateRun } from '../schema/index.ts';
import { trainRunCost, type Costs, type TrainPlan, type TrainPrecision } from './plan.ts';
import type { Clock, StageTicker } from './progress.ts';

export function ablationConfig(
  run: { precision: TrainPrecision; beta: number },
  plan: Pick<TrainPlan, 'backend' | 'mode' | 'batchSize' | 'limitTrain' | 'limitTest'>,
  seed: number,
): TrainConfig {
  // plan.mode without plan.backend (not written by any plan) is ignored rather than sent to tfjs
  const backend = plan.backend ?? defaultBackend(run.precision, undefined);
  const mode = plan.backend ? (plan.mode ?? defaultMode(run.precision, backend)) : defaultMode(run.precision, backend);
  const c: TrainConfig = {
    model: 'lenet5',
    dataset: 'mnist',
    beta: run.beta,
    betaMode: 'backward',
    reluAlpha: 0,
    precision: run.precision,
    mode,
    backend,
    epochs: 1,
    batchSize: plan.batchSize,
    optimizer: 'sgd',
    lr: 0.01,
    momentum: 0.9,
    weightDecay: 0,
    lrSchedule: 'none',
    masterWeights: 'p',
    lossScale: 'none',
    batchNorm: false,
    width: null,
    augment: false,
    seed,
    limitTrain: plan.limitTrain,
    limitTest: plan.limitTest,
    logEvery: Math.max(1, Math.floor(plan.limitTrain / plan.batchSize / 10)),
  };
  return orderedConfig(c);
}

export const runDir = (r: { precision: string; beta: number }) => `lenet5-mnist-p${r.precision}-beta${r.beta}`;

export interface AblationSummary {
  readonly runs: {
    readonly precision: string;
    readonly beta: number;
    readonly status: string;
    readonly finalTestAcc: number | null;
    readonly steps: number;
    readonly dir: string;
  }[];
  readonly file: string | null;
  readonly truncated: boolean;
}

/** Train one configuration into `dir`; returns the result (also used by the calibration). */
export async function trainOnce(config: TrainConfig, dir: string, o: { version: string; command: string; quiet: boolean }) {
  const progress = progressHooks(o.quiet);
  try {
    const outcome = await trainRun(
      {
        ...config,
        out: dir,
        checkpointEvery: { steps: Number.MAX_SAFE_INTEGER },
        versions: { adzone: o.version, node: process.version },
        command: o.command,
      },
      progress,
    );
    if (outcome.status !== 'completed' && outcome.status !== 'diverged') throw new Error(`training in ${dir} ended as ${outcome.status}`);
    return outcome.result;
  } finally {
    progress.done();
  }
}

export async function ablationStage(o: {
  readonly out: string;
  readonly seed: number;
  readonly version: string;
  readonly command: string;
  readonly plan: TrainPlan;
  readonly costs: Costs['train'];
  readonly quiet: boolean;
  readonly clock: Clock;
  readonly tick: StageTicker;
}): Promise<AblationSummary> {
  const runs: AblationSummary['runs'][number][] = [];
  const entries: AblateRun[] = [];
  let truncated = false;
  for (const r of o.plan.runs) {
    const est = trainRunCost(o.costs, r.precision, o.plan.limitTrain, o.plan.limitTest, o.plan.batchSize);
    if (!o.clock.fits(est)) {
      truncated = true;
      o.tick.note(`skipping ${r.precision}-bit β = ${r.beta} (estimated ${est.toFixed(0)} s): the budget is about to run out`);
      continue;
    }
    const config = ablationConfig(r, o.plan, o.seed);
    const dir = join(o.out, 'ablation', runDir(r));
    const t = performance.now();
    await trainOnce(config, dir, { version: o.version, command: `${o.command} (ablation ${runDir(r)})`, quiet: o.quiet });
    const res = readResult(join(dir, 'result.json'), 'train').data;
    runs.push({
      precision: r.precision,
      beta: r.beta,
      status: res.status,
      finalTestAcc: res.finalTestAcc,
      steps: res.timings.steps,
      dir: join('ablation', runDir(r)),
    });
    entries.push({
      model: config.model,
      dataset: config.dataset,
      precision: config.precision,
      mode: config.mode,
      optimizer: config.optimizer,
      batchNorm: config.batchNorm,
      beta: config.beta,
      seed: config.seed,
      testAccuracy: res.finalTestAcc,
      dir: runDir(r),
    });
    const acc = res.finalTestAcc === null ? 'no test accuracy' : `test acc ${(100 * res.finalTestAcc).toFixed(2)}%`;
    o.tick.unit(`${r.precision}-bit β = ${r.beta}: ${res.status}, ${acc}`, est, (performance.now() - t) / 1000);
  }
  let file: string | null = null;
  if (entries.length) {
    file = join(o.out, 'ablation', 'ablate.json');
    writeResult(file, 'ablate', {
      schema: 'adzone/ablate',
      schemaVersion: 1,
      command: o.command,
      createdAt: new Date().toISOString(),
      runs: entries,
    });
  }
  return { runs, file, truncated };
}
