/**
 * The nightly's four stages in order (suites, verify, zones, train), each called as a function on
 * its slice of the plan, each with its progress lines and one record: done, truncated (the budget
 * stopped it; what is done is kept) or crashed (the error is kept and the run goes on, then fails).
 */
import { fmtSeconds } from './budget.ts';
import { type AblationSummary, ablationStage } from './ablation.ts';
import type { ResolvedNightlyConfig } from './config.ts';
import { leftOutLine } from './data.ts';
import { MNIST_TRAIN_IMAGES, type Stage } from './plan.ts';
import type { Planned } from './planning.ts';
import { type Clock, type StageTicker, stageTicker } from './progress.ts';
import type { StageRecord } from './report.ts';
import { type SuitesSummary, suitesStage } from './suites.ts';
import { loadVerifyBackends, type VerifySummary, verifyStage } from './verify.ts';
import { type ZonesSummary, zonesStage, zonesUnits } from './zones.ts';

export interface StagesDone {
  readonly suites: SuitesSummary | null;
  readonly verify: VerifySummary | null;
  readonly zones: ZonesSummary | null;
  readonly ablation: AblationSummary | null;
  readonly records: readonly StageRecord[];
  readonly crashed: boolean;
}

const ORDER: readonly Stage[] = ['suites', 'verify', 'zones', 'train'];

const errorText = (e: unknown) => ((e as Error)?.stack ?? String(e)).split('\n').slice(0, 6).join('\n');

/** Runs one stage under its ticker and keeps its record. */
class StageRunner {
  readonly records: StageRecord[] = [];
  crashed = false;
  private readonly planned: Readonly<Record<Stage, number>>;

  constructor(
    private readonly c: ResolvedNightlyConfig,
    private readonly p: Planned,
    private readonly clock: Clock,
  ) {
    this.planned = { ...p.file.estimates };
  }

  /** The planned seconds of the stages after `s` and the reserve: the run's ETA. */
  private later(s: Stage): () => number {
    const rest = ORDER.slice(ORDER.indexOf(s) + 1).filter((k) => this.p.counts[k]);
    return () => rest.reduce((a, k) => a + this.planned[k], 0) + this.p.file.estimates.reserve;
  }

  async run<T extends { truncated: boolean }>(
    s: Stage,
    units: number,
    detail: string,
    body: (tick: StageTicker) => Promise<T>,
    note?: string,
  ): Promise<T | null> {
    const t = this.clock.elapsed();
    const tick = stageTicker(s, this.clock, units, this.planned[s], this.later(s), detail, this.c.log);
    const base = { stage: s, plannedSeconds: this.planned[s] };
    try {
      const r = await body(tick);
      tick.end(r.truncated ? 'truncated' : 'done', r.truncated ? 'the budget is about to run out' : undefined);
      const cut = r.truncated ? 'cut short by the budget: not comparable with a full run of this plan' : undefined;
      const text = [cut, note].filter(Boolean).join('; ');
      this.records.push({
        ...base,
        status: r.truncated ? 'truncated' : 'done',
        seconds: this.clock.elapsed() - t,
        ...(text ? { note: text } : {}),
      });
      return r;
    } catch (e) {
      this.crashed = true;
      tick.end('crashed', (e as Error).message);
      this.records.push({ ...base, status: 'crashed', seconds: this.clock.elapsed() - t, error: errorText(e) });
      return null;
    }
  }
}

export async function runStages(c: ResolvedNightlyConfig, p: Planned, clock: Clock): Promise<StagesDone> {
  const r = new StageRunner(c, p, clock);
  const suites = p.counts.suites ? await runSuites(r, c, p, clock) : null;
  const verify = p.counts.verify ? await runVerifyStage(r, c, p, clock) : null;
  const zones = p.counts.zones ? await runZones(r, c, p, clock) : null;
  const ablation = p.counts.train ? await runTrain(r, c, p, clock) : null;
  return { suites, verify, zones, ablation, records: r.records, crashed: r.crashed };
}

function runSuites(r: StageRunner, c: ResolvedNightlyConfig, p: Planned, clock: Clock) {
  const plan = p.counts.suites!;
  const reading = p.costs.suites.files.filter((f) => f.readsMultiplier && plan.files.includes(f.file)).length;
  const detail = `${plan.files.length} property files, ${p.costs.suites.lanes} at a time, seed ${c.seed}, fast-check runs ×${plan.multiplier} in the ${reading} file${reading === 1 ? '' : 's'} reading it (the others keep their own numRuns)`;
  return r.run('suites', plan.files.length, detail, (tick) =>
    suitesStage({ out: c.out, seed: c.seed, plan, costs: p.costs.suites, clock, tick }),
  );
}

function runVerifyStage(r: StageRunner, c: ResolvedNightlyConfig, p: Planned, clock: Clock) {
  const plan = p.counts.verify!;
  const detail = `${plan.generators.length} generators × ${plan.samples} draws, ≤ ${plan.maxShrinks} shrinks`;
  return r.run('verify', plan.generators.length + plan.maxShrinks, detail, async (tick) =>
    verifyStage({
      out: c.out,
      seed: c.seed,
      version: c.version,
      command: `${c.command} (verify stage)`,
      plan,
      costs: p.costs.verify,
      loaded: p.loaded ?? (await loadVerifyBackends(plan.backends, c.log)),
      clock,
      tick,
    }),
  );
}

function runZones(r: StageRunner, c: ResolvedNightlyConfig, p: Planned, clock: Clock) {
  const plan = p.counts.zones!;
  const units = zonesUnits(plan, c.leftOut);
  const gone = c.leftOut.filter((l) => l.stage === 'zones' && l.unit !== null);
  const detail = units.map((u) => `${u.model}/${u.dataset} ${u.batches} batches`).join(', ');
  const body = (tick: StageTicker) =>
    zonesStage({
      out: c.out,
      seed: c.seed,
      version: c.version,
      plan,
      leftOut: c.leftOut,
      costs: p.costs.zones,
      quiet: c.quiet,
      clock,
      tick,
    });
  return r.run('zones', units.length, detail, body, gone.length ? gone.map(leftOutLine).join('; ') : undefined);
}

function runTrain(r: StageRunner, c: ResolvedNightlyConfig, p: Planned, clock: Clock) {
  const plan = p.counts.train!;
  const setup = plan.backend ? `${plan.backend} ${plan.mode ?? 'strict'}` : 'tfjs-wasm (a plan from before the engine)';
  const detail = `${plan.runs.length} runs on ${setup}, batch ${plan.batchSize}, ${plan.limitTrain} training (${(plan.limitTrain / MNIST_TRAIN_IMAGES).toFixed(2)} epoch) and ${plan.limitTest} test images each`;
  return r.run('train', plan.runs.length, detail, (tick) =>
    ablationStage({
      out: c.out,
      seed: c.seed,
      version: c.version,
      command: c.command,
      plan,
      costs: p.costs.train,
      quiet: c.quiet,
      clock,
      tick,
    }),
  );
}

/** How a stage record reads in the closing lines. */
export const stageText = (s: StageRecord) =>
  `${s.stage} ${s.status} ${fmtSeconds(s.seconds)}${s.plannedSeconds ? ` (planned ${fmtSeconds(s.plannedSeconds)})` : ''}`;
