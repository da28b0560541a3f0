/** The timing loop and its summary (median and spread). */
import { performance } from 'node:perf_hooks';
import type { Reps, Timing } from './types.ts';

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function summarise(samplesMs: readonly number[]): Timing {
  const s = [...samplesMs].sort((a, b) => a - b);
  return {
    samplesMs: [...samplesMs],
    medianMs: quantile(s, 0.5),
    minMs: s[0],
    maxMs: s[s.length - 1],
    q1Ms: quantile(s, 0.25),
    q3Ms: quantile(s, 0.75),
  };
}

/**
 * `warmup` untimed calls, then timed calls until `maxReps`, or until at least `minReps` have run
 * and their total reached `budgetMs`. Each call is timed on its own (the median needs samples).
 */
export async function timeSteps(step: () => unknown, reps: Reps): Promise<Timing> {
  for (let i = 0; i < reps.warmup; i++) await step();
  const samples: number[] = [];
  let total = 0;
  while (samples.length < reps.maxReps && (samples.length < reps.minReps || total < reps.budgetMs)) {
    const t0 = performance.now();
    await step();
    const dt = performance.now() - t0;
    samples.push(dt);
    total += dt;
  }
  return summarise(samples);
}
