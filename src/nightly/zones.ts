/**
 * The nightly's network zones: the network-zones stage on LeNet-5 / MNIST and, when the plan has
 * VGG batches, VGG11 at width 1/4 / CIFAR-10, one θ = initParams(spec, seed), the first N train
 * batches in order, precisions 16, 32, 64. One unit per network; each zones.json is validated
 * and written with its zones.md.
 */
import { join } from 'node:path';
import { zonesMarkdown } from '../report/zonesMarkdown.ts';
import { validate } from '../schema/index.ts';
import { toJson } from '../util/atomic.ts';
import { writeFilesAtomic } from '../util/output.ts';
import { type NetworkZonesConfig, networkZones } from '../zones/network/index.ts';
import { LENET_UNIT, type LeftOut, VGG_UNIT } from './data.ts';
import type { Costs, ZonesPlan } from './plan.ts';
import type { Clock, StageTicker } from './progress.ts';

export interface ZonesUnit {
  /** As data.ts names it (LENET_UNIT, VGG_UNIT). */
  readonly name: string;
  readonly model: string;
  readonly dataset: string;
  /** Channel multiplier (vgg11). */
  readonly width?: number;
  readonly batches: number;
  readonly dir: string;
}

/** The networks of the plan, but those `leftOut` names (their data is not here). */
export function zonesUnits(plan: ZonesPlan, leftOut: readonly LeftOut[] = []): ZonesUnit[] {
  const u: ZonesUnit[] = [];
  if (plan.lenetBatches > 0)
    u.push({ name: LENET_UNIT, model: 'lenet5', dataset: 'mnist', batches: plan.lenetBatches, dir: join('zones', 'lenet5-mnist') });
  if (plan.vggBatches > 0)
    u.push({
      name: VGG_UNIT,
      model: 'vgg11',
      dataset: 'cifar10',
      width: 0.25,
      batches: plan.vggBatches,
      dir: join('zones', 'vgg11-w0.25-cifar10'),
    });
  return u.filter((x) => !leftOut.some((l) => l.stage === 'zones' && l.unit === x.name));
}

/** The stage's config for one unit. */
export function zonesConfig(u: Omit<ZonesUnit, 'dir' | 'name'>, seed: number, batchSize: number): NetworkZonesConfig {
  return {
    model: u.model,
    dataset: u.dataset,
    ...(u.width ? { width: u.width } : {}),
    batches: u.batches,
    batchSize,
    precisions: ['16', '32', '64'],
    seed,
  };
}

export interface ZonesSummary {
  readonly networks: {
    readonly model: string;
    readonly dataset: string;
    readonly batches: number;
    readonly file: string;
    readonly exactShare: Record<string, number | null>;
    readonly estimatorShare: Record<string, number>;
  }[];
  readonly truncated: boolean;
}

export async function zonesStage(o: {
  readonly out: string;
  readonly seed: number;
  readonly version: string;
  readonly plan: ZonesPlan;
  /** Units whose data is not here (data.ts): not run. */
  readonly leftOut: readonly LeftOut[];
  readonly costs: Costs['zones'];
  readonly quiet: boolean;
  readonly clock: Clock;
  readonly tick: StageTicker;
}): Promise<ZonesSummary> {
  const networks: ZonesSummary['networks'][number][] = [];
  let truncated = false;
  for (const u of zonesUnits(o.plan, o.leftOut)) {
    const est = o.costs.fixed + u.batches * (u.model === 'lenet5' ? o.costs.lenetBatch : o.costs.vggBatch);
    if (!o.clock.fits(est)) {
      truncated = true;
      o.tick.note(`skipping ${u.model}/${u.dataset} (${u.batches} batches, estimated ${est.toFixed(0)} s): the budget is about to run out`);
      continue;
    }
    const dir = join(o.out, u.dir);
    const t = performance.now();
    const r = await networkZones({ ...zonesConfig(u, o.seed, o.plan.batchSize), version: o.version, log: (s) => o.tick.note(s) });
    const file = join(dir, 'zones.json');
    validate('zones', r, file);
    writeFilesAtomic([
      { path: file, data: toJson(r) },
      { path: join(dir, 'zones.md'), data: zonesMarkdown(r) },
    ]);
    networks.push({
      model: u.model,
      dataset: u.dataset,
      batches: u.batches,
      file,
      exactShare: Object.fromEntries(r.precisions.map((p) => [p.precision, p.summary.exactShare])),
      estimatorShare: Object.fromEntries(r.precisions.map((p) => [p.precision, p.summary.estimatorShare])),
    });
    o.tick.unit(`${u.model}/${u.dataset} ${u.batches} batches`, est, (performance.now() - t) / 1000);
  }
  return { networks, truncated };
}
