/**
 * Training runs from whatever train results were found: each train result.json is one run, each
 * ablate.json a list of them. Deduplicated by (model, dataset, precision, optimizer, batch norm, β,
 * seed); a run found twice keeps its first file.
 */
import type { ReadResult } from './index.ts';
import type { TrainRunKey } from './train.ts';

export interface RunRow extends TrainRunKey {
  readonly testAccuracy: number | null;
  /** The file it came from. */
  readonly file: string;
  /** Directory of its result.json, when known (metrics.jsonl lives there). */
  readonly dir?: string;
}

/** The configuration a β sweep is drawn for: everything but β and seed. */
export const configKey = (r: TrainRunKey) => `${r.model}|${r.dataset}|${r.precision}${r.mode ? `|${r.mode}` : ''}|${r.optimizer}|${r.batchNorm ? 'bn' : 'nobn'}`;
export const runKey = (r: TrainRunKey) => `${configKey(r)}|${r.beta}|${r.seed}`;
/** "16-bit wide sgd + BN"; tfjs's own float32 ('framework') is the plain 32-bit case and is not named. */
export const configLabel = (r: TrainRunKey) => `${r.precision}-bit ${r.mode && r.mode !== 'framework' ? `${r.mode} ` : ''}${r.optimizer}${r.batchNorm ? ' + BN' : ''}`;

export function trainRuns(results: readonly ReadResult[]): RunRow[] {
  const out = new Map<string, RunRow>();
  for (const r of results) {
    if (r.kind === 'train') {
      const d = (r as ReadResult<'train'>).data;
      const c = d.config;
      const row: RunRow = {
        model: c.model,
        dataset: c.dataset,
        precision: c.precision,
        mode: c.mode,
        optimizer: c.optimizer,
        batchNorm: c.batchNorm,
        beta: c.beta,
        seed: c.seed,
        testAccuracy: d.finalTestAcc,
        file: r.file,
        dir: r.file.replace(/[\\/][^\\/]*$/, ''),
      };
      if (!out.has(runKey(row))) out.set(runKey(row), row);
    } else if (r.kind === 'ablate') {
      const d = (r as ReadResult<'ablate'>).data;
      for (const x of d.runs) {
        const row: RunRow = { ...x, file: r.file, ...(x.dir ? { dir: `${r.file.replace(/[\\/][^\\/]*$/, '')}/${x.dir}` } : {}) };
        if (!out.has(runKey(row))) out.set(runKey(row), row);
      }
    }
  }
  return [...out.values()];
}

export interface AccuracySummary {
  readonly key: string;
  readonly config: TrainRunKey;
  readonly beta: number;
  readonly seeds: number;
  /** Mean, min and max of the finite accuracies over seeds (diverged runs count as accuracy 0 when null). */
  readonly mean: number;
  readonly min: number;
  readonly max: number;
  readonly files: readonly string[];
}

/** Mean and spread over seeds, per configuration and β. A run without an accuracy (diverged) counts as 0. */
export function accuracyByBeta(runs: readonly RunRow[]): AccuracySummary[] {
  const g = new Map<string, RunRow[]>();
  for (const r of runs) {
    const k = `${configKey(r)}|${r.beta}`;
    g.set(k, [...(g.get(k) ?? []), r]);
  }
  return [...g.entries()].map(([key, rs]) => {
    const accs = rs.map((r) => r.testAccuracy ?? 0);
    return {
      key,
      config: rs[0],
      beta: rs[0].beta,
      seeds: rs.length,
      mean: accs.reduce((a, b) => a + b, 0) / accs.length,
      min: Math.min(...accs),
      max: Math.max(...accs),
      files: [...new Set(rs.map((r) => r.file))],
    };
  });
}
