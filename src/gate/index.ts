/**
 * `adzone gate` as stages: `gate(config)` compares a report folder with a committed baseline under
 * its thresholds and returns the verdict (no argv, no printing, no exit); `updateGate(config)`
 * rewrites the baseline from a report, on purpose, as one transaction (update.ts). Unusable input
 * (a missing folder, a file that fails its schema or contradicts its own counts, runs measured with
 * other options) throws: an InputError or a SchemaError, which the command line turns into exit 2.
 *
 * The verdict: 'regression' when a rule fails (exit 1); 'partial' when every rule holds but the
 * report declares a stage it did not run, so baseline items were left out (exit 0, and the output
 * names the stage); 'pass' otherwise (exit 0).
 */
import { join, resolve } from 'node:path';
import { ConfigError } from '../util/errors.ts';
import { compareSides, type GateOutcome, type SkippedOutcome } from './compare.ts';
import { GateInputError, loadReport, loadSide, loneOf, requireDir, type Side, type SkippedStage } from './load.ts';
import { readThresholds } from './thresholds.ts';
import type { Regression } from './verify.ts';

export { GateInputError, type Regression, type Side, type SkippedStage };

export interface GateConfig {
  /** The committed baseline folder (verify.json, …, thresholds.json). */
  readonly baseline: string;
  /** The folder of new results. */
  readonly report: string;
  /** The thresholds file; default `<baseline>/thresholds.json`. */
  readonly thresholds?: string;
  /** Stages the caller declares the report did not run (beside those a nightly plan.json in the report declares). */
  readonly skippedStages?: readonly SkippedStage[];
}

export type GateVerdict = 'pass' | 'partial' | 'regression';

export interface GateResult extends GateOutcome {
  readonly verdict: GateVerdict;
  readonly baseline: string;
  readonly report: string;
  readonly thresholds: string;
  readonly regressions: readonly Regression[];
  readonly skipped: readonly SkippedOutcome[];
}

export function resolveGateConfig(c: GateConfig): Required<Omit<GateConfig, 'skippedStages'>> & { skippedStages: readonly SkippedStage[] } {
  for (const k of ['baseline', 'report'] as const)
    if (typeof c[k] !== 'string' || !c[k].trim()) throw new ConfigError(k, `${k}: a folder is needed, got ${JSON.stringify(c[k])}`);
  const baseline = resolve(c.baseline);
  return {
    baseline,
    report: resolve(c.report),
    thresholds: resolve(c.thresholds ?? join(baseline, 'thresholds.json')),
    skippedStages: c.skippedStages ?? [],
  };
}

/** The gate, with the two sides it loaded (the report draws the differences from them). */
export async function gateWithSides(config: GateConfig): Promise<{ result: GateResult; base: Side; rep: Side }> {
  const c = resolveGateConfig(config);
  const rep = loadReport(c.report, c.skippedStages);
  requireDir(c.baseline, 'baseline', ' (create it with --update)');
  const t = readThresholds(c.thresholds);
  const base = loadSide(c.baseline, 'baseline');
  const outcome = compareSides(base, rep, t, await loneOf(t, [base, rep]));
  const verdict: GateVerdict = outcome.regressions.length ? 'regression' : outcome.skipped.length ? 'partial' : 'pass';
  return { result: { ...outcome, verdict, baseline: c.baseline, report: c.report, thresholds: c.thresholds }, base, rep };
}

export async function gate(config: GateConfig): Promise<GateResult> {
  return (await gateWithSides(config)).result;
}

/** The exit code of a verdict: 1 for a regression, 0 otherwise. */
export const gateExitCode = (r: Pick<GateResult, 'verdict'>): 0 | 1 => (r.verdict === 'regression' ? 1 : 0);

export { type UpdateConfig, type UpdateResult, updateGate } from './update.ts';
