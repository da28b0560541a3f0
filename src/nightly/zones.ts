/**
 * The nightly's network zones: `adzone zones` on LeNet-5 / MNIST and, when the plan has VGG
 * batches, VGG11 at width 1/4 / CIFAR-10, one θ = initParams(spec, seed), the first N train
 * batches in order, precisions 16, 32, 64. One unit per network; each zones.json is validated.
 */
import { join } from 'node:path';
import { readResult } from '../schema/index.ts';
import type { Costs, ZonesPlan } from './plan.ts';
import type { Clock, StageTicker } from './progress.ts';

export interface ZonesUnit {
  readonly model: string;
  readonly dataset: string;
  readonly width?: string;
  readonly batches: number;
  readonly dir: string;
}

export function zonesUnits(plan: ZonesPlan): ZonesUnit[] {
  const u: ZonesUnit[] = [];
  if (plan.lenetBatches > 0) u.push({ model: 'lenet5', dataset: 'mnist', batches: plan.lenetBatches, dir: join('zones', 'lenet5-mnist') });
  if (plan.vggBatches > 0)
    u.push({ model: 'vgg11', dataset: 'cifar10', width: '1/4', batches: plan.vggBatches, dir: join('zones', 'vgg11-w0.25-cifar10') });
  return u;
}

export function zonesArgv(u: ZonesUnit, seed: number, batchSize: number, out: string, quiet: boolean): string[] {
  return [
    '--model',
    u.model,
    '--dataset',
    u.dataset,
    ...(u.width ? ['--width', u.width] : []),
    '--batches',
    String(u.batches),
    '--batch-size',
    String(batchSize),
    '--precision',
    '16,32,64',
    '--seed',
    String(seed),
    '--out',
    out,
    ...(quiet ? ['--quiet'] : []),
  ];
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
  readonly costs: Costs['zones'];
  readonly quiet: boolean;
  readonly clock: Clock;
  readonly tick: StageTicker;
}): Promise<ZonesSummary> {
  const { zones } = await import('../cli/commands/zones.ts');
  const networks: ZonesSummary['networks'][number][] = [];
  let truncated = false;
  for (const u of zonesUnits(o.plan)) {
    const est = o.costs.fixed + u.batches * (u.model === 'lenet5' ? o.costs.lenetBatch : o.costs.vggBatch);
    if (!o.clock.fits(est)) {
      truncated = true;
      o.tick.note(`skipping ${u.model}/${u.dataset} (${u.batches} batches, estimated ${est.toFixed(0)} s): the budget is about to run out`);
      continue;
    }
    const dir = join(o.out, u.dir);
    const t = performance.now();
    const code = await zones(zonesArgv(u, o.seed, o.plan.batchSize, dir, o.quiet), { help: '', version: o.version });
    if (code !== 0) throw new Error(`adzone zones ${u.model}/${u.dataset} exited with code ${code}`);
    const file = join(dir, 'zones.json');
    const r = readResult(file, 'zones').data;
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
