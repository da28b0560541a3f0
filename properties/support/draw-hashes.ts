/**
 * Fingerprints of what each registry generator draws: sha256 of its samples at fixed seeds and of
 * one shrunk counterexample (with its replay path), in a JSON form that keeps −0, NaN and ±∞
 * apart. properties/generator-draws.test.ts compares them with fixtures/generator-draws.json, so
 * a change to a generator's constraints plumbing that moves any draw, or any shrink, fails.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import type { Case, Generator } from '../../src/generators/index.ts';

export interface DrawHashes {
  /** sha256 of the samples at SAMPLE_SEEDS. */
  readonly samples: string;
  /** The replay path and sha256 of the shrunk counterexample of SHRINK_PROPERTY (null when none fails). */
  readonly shrunk: { readonly path: string; readonly hash: string } | null;
}

export const SAMPLE_SEEDS = [1, 20261127] as const;
export const SAMPLES_PER_SEED = 20;

/** A property that fails on some draws of every generator, so that the shrinker walks its tree. */
const SHRINK_PROPERTY = (c: Case) => c.problem.input.data.length < 6;

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v !== 'number') return v;
    if (Object.is(v, -0)) return '-0';
    return Number.isFinite(v) ? v : String(v);
  });
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function drawHashes(g: Pick<Generator, 'arbitrary'>): DrawHashes {
  const samples = SAMPLE_SEEDS.map((seed) => fc.sample(g.arbitrary, { seed, numRuns: SAMPLES_PER_SEED }));
  const out = fc.check(fc.property(g.arbitrary, SHRINK_PROPERTY), { seed: 4, numRuns: 30 });
  return {
    samples: sha256(canonical(samples)),
    shrunk: out.failed ? { path: out.counterexamplePath ?? '', hash: sha256(canonical(out.counterexample)) } : null,
  };
}

export function registryDrawHashes(generators: readonly Generator[]): Record<string, DrawHashes> {
  return Object.fromEntries(generators.map((g) => [g.id, drawHashes(g)]));
}
