/**
 * The network-zones stage: zones of a whole network on real mini-batches, the paper's threshold
 * estimator side by side with the exact classification (docs/DESIGN.md §3).
 *
 * One θ (initParams(spec, seed), untrained), the first N mini-batches of a split in order,
 * normalised with the data set's recipe. For each batch and precision p, one task (task.ts): the
 * estimator, and the exact classification of every MaxPool window and ReLU unit against the
 * engine's p routing (impossible through batch norm: then the estimator runs alone and the report
 * says so). Per precision: the share of batches in a zone by each, and the estimator's misses and
 * inventions (aggregate.ts). The result is zones.json's content (report.ts); writing it, and
 * zones.md, is the caller's.
 *
 * Tasks run on `jobs` worker threads (workers.ts); the result does not depend on the number of jobs.
 */
import { DataError, type Dataset, batches as dataBatches } from '../../data/index.ts';
import { countParams } from '../../models/index.ts';
import { ConfigError } from '../../util/errors.ts';
import { precisionReport } from './aggregate.ts';
import { countLayers, type NetworkZonesConfig, type ResolvedNetworkZones, resolveNetworkZonesConfig } from './config.ts';
import { ESTIMATOR_THRESHOLDS } from './estimator.ts';
import type { ZonesConfig, ZonesPrecisionReport, ZonesReport } from './report.ts';
import type { TaskBatch, TaskResult } from './task.ts';
import { runTasks, type Task } from './workers.ts';

export { type NetworkZonesConfig, resolveNetworkZonesConfig } from './config.ts';

/** Run the stage: check the config (ConfigError naming the field), load the batches, run every task, aggregate. */
export async function networkZones(config: NetworkZonesConfig): Promise<ZonesReport> {
  const r = resolveNetworkZonesConfig(config);
  const started = performance.now();
  const dataset = loadBatches(r);
  const total = r.batches * r.precisions.length;
  const jobs = Math.min(r.jobs, total);
  r.log(
    `zones: ${r.spec.name}/${r.spec.variant} on ${r.info.name} ${r.split}, ${r.batches} batch${r.batches > 1 ? 'es' : ''} of ${r.batchSize} × precision ${r.precisions.join(',')}` +
      `${r.task.exact ? '' : ' (estimator only: batch norm)'}, ${jobs} job${jobs > 1 ? 's' : ''}`,
  );
  const results = await runAll(r, dataset, total, jobs);
  const wallSeconds = (performance.now() - started) / 1000;
  const precisions = r.precisions.map((p, pi) => {
    const rs = results[pi].map((x, b) => {
      if (!x) throw new Error(`internal: no result for batch ${b} at ${p} bits`);
      return x;
    });
    return precisionReport(p, rs, r.task.exact);
  });
  return assemble(r, dataset, precisions, jobs, wallSeconds);
}

/** The first batches·batchSize images of the split; ConfigError when the data set cannot give them. */
function loadBatches(r: ResolvedNetworkZones): Dataset {
  let dataset: Dataset;
  try {
    dataset = r.info.load(r.split, { limit: r.batches * r.batchSize });
  } catch (e) {
    if (e instanceof DataError && (e.kind === 'option' || e.kind === 'unavailable'))
      throw new ConfigError('dataset', `\`dataset\` ${r.info.name}: ${e.message}`);
    throw e;
  }
  const available = Math.ceil(dataset.n / r.batchSize);
  if (available < r.batches) {
    throw new ConfigError(
      'batches',
      `\`batches\` ${r.batches}: the ${r.info.name} ${r.split} split has ${dataset.n} images, only ${available} batch${available === 1 ? '' : 'es'} of ${r.batchSize}`,
    );
  }
  if (dataset.n < r.batches * r.batchSize)
    r.log(`note: the last batch has ${dataset.n - (r.batches - 1) * r.batchSize} images (the split ends)`);
  return dataset;
}

/** Every task's result, by precision (in r.precisions order) and batch. */
async function runAll(r: ResolvedNetworkZones, dataset: Dataset, total: number, jobs: number): Promise<(TaskResult | undefined)[][]> {
  // Tasks batch-major, so a batch is held only while its precisions run.
  function* tasks(): Generator<Task> {
    let id = 0;
    let b = 0;
    for (const d of dataBatches(dataset, { batchSize: r.batchSize, shuffle: false })) {
      if (b >= r.batches) break;
      const batch: TaskBatch = { batch: d.batch, x: d.x, shape: d.shape, labels: d.labels, indices: d.indices };
      for (const p of r.precisions) yield { id: id++, precision: p, batch };
      b++;
    }
  }
  const results: (TaskResult | undefined)[][] = r.precisions.map(() => new Array<TaskResult | undefined>(r.batches));
  let done = 0;
  r.onProgress(0, total, 'starting'); // starts a progress clock, so the first rate is a real one
  await runTasks(r.task, tasks(), total, jobs, (t, res) => {
    results[r.precisions.indexOf(t.precision as (typeof r.precisions)[number])][t.batch.batch] = res;
    done++;
    r.onProgress(done, total, `batch ${t.batch.batch + 1}/${r.batches} at ${t.precision} bits`);
  });
  return results;
}

/** zones.json's content: provenance, the run's config as it ran, notes, per-precision reports, timing. */
function assemble(
  r: ResolvedNetworkZones,
  dataset: Dataset,
  precisions: ZonesPrecisionReport[],
  jobs: number,
  wallSeconds: number,
): ZonesReport {
  const sec = (f: (p: ZonesPrecisionReport) => number) => precisions.reduce((a, p) => a + f(p), 0) / 1000;
  return {
    schema: 'adzone/zones',
    schemaVersion: 1,
    tool: { adzone: r.version, node: process.version, v8: process.versions.v8, platform: `${process.platform}-${process.arch}` },
    command: r.command,
    createdAt: new Date().toISOString(),
    config: runConfig(r, dataset, jobs),
    notes: [...r.notes],
    precisions,
    timing: {
      wallSeconds,
      engineSeconds: sec((p) => p.timing.engineMs),
      exactSeconds: sec((p) => p.timing.exactMs),
      classifySeconds: sec((p) => p.timing.classifyMs),
      jobs,
    },
  };
}

function runConfig(r: ResolvedNetworkZones, dataset: Dataset, jobs: number): ZonesConfig {
  const { spec, task } = r;
  return {
    model: task.model,
    variant: spec.variant,
    modelOptions: { ...task.modelOptions },
    input: [...spec.input],
    classes: spec.classes,
    parameters: countParams(spec),
    maxpoolNodes: countLayers(spec.layers, 'maxpool'),
    dataset: r.info.name,
    split: r.split,
    normalisation: r.info.normalisation,
    datasetSource: dataset.source,
    batchSize: r.batchSize,
    batches: r.batches,
    order: 'the first N mini-batches in data-set order (no shuffle, no augmentation)',
    seed: task.seed,
    init: 'initParams(spec, seed): untrained, one θ for every batch and precision',
    precisions: [...r.precisions],
    accumulate: task.accumulate,
    reluAlpha: task.reluAlpha,
    jobs,
    estimator: {
      betas: [0, 1],
      thresholds: Object.fromEntries(r.precisions.map((p) => [p, ESTIMATOR_THRESHOLDS[p]])),
      forward: 'training mode, batch-norm running statistics not updated; β in the backward pass only',
    },
    exact: {
      available: task.exact,
      reason: r.exactReason,
      evaluationPoint: "exact values of round_p(x) and round_p(θ), compared with the engine's routing at p",
    },
  };
}
