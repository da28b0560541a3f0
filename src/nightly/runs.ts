/**
 * How many fast-check runs a property suite asks for, scaled for the nightly job.
 *
 * `npm test` runs every property with the numRuns written in its test file. `adzone nightly` runs the
 * same suites with many more runs by setting ADZONE_FC_RUNS_MULTIPLIER=N in the environment of the
 * vitest it spawns; a suite takes part by writing its run counts through `runs()`:
 *
 *   import { runs } from '../src/nightly/runs.ts';
 *   fc.assert(fc.property(arb, check), { numRuns: runs(300) });   // 300 under npm test, 300·N at night
 *
 * Without the variable (npm test) runs(n) is n, so adopting it changes nothing in CI. Counts used
 * for statistics over a fixed sample (fc.sample(..., { numRuns, seed }) followed by a proportion
 * check) should stay as they are.
 *
 * The fast-check seed of the night (ADZONE_FC_SEED, from `adzone nightly --seed`) is applied to
 * every property without a seed of its own by src/nightly/fc-setup.ts; `fcSeed()` reads it for a
 * suite that wants it explicitly.
 */

export const RUNS_MULTIPLIER_ENV = 'ADZONE_FC_RUNS_MULTIPLIER';
export const FC_SEED_ENV = 'ADZONE_FC_SEED';
/** Largest multiplier accepted (a typo such as 1000000 should not turn a suite into a week-long job). */
export const MAX_RUNS_MULTIPLIER = 1000;

type Env = Readonly<Record<string, string | undefined>>;

/** The multiplier in `env` (default process.env): 1 when unset or empty; throws on a value that is not a number in (0, 1000]. */
export function runsMultiplier(env: Env = process.env): number {
  const raw = env[RUNS_MULTIPLIER_ENV];
  if (raw === undefined || raw.trim() === '') return 1;
  const m = /^\s*\d+(\.\d+)?\s*$/.test(raw) ? Number(raw) : NaN;
  if (!(m > 0 && m <= MAX_RUNS_MULTIPLIER))
    throw new Error(`${RUNS_MULTIPLIER_ENV} must be a number in (0, ${MAX_RUNS_MULTIPLIER}], got '${raw}'`);
  return m;
}

/** `n` fast-check runs scaled by the multiplier, rounded, at least 1. */
export function runs(n: number, env: Env = process.env): number {
  return Math.max(1, Math.round(n * runsMultiplier(env)));
}

/** The nightly's fast-check seed, or undefined when it is not set (npm test). */
export function fcSeed(env: Env = process.env): number | undefined {
  const raw = env[FC_SEED_ENV];
  if (raw === undefined || raw.trim() === '') return undefined;
  if (!/^\s*-?\d+\s*$/.test(raw)) throw new Error(`${FC_SEED_ENV} must be an integer, got '${raw}'`);
  return Number(raw) | 0;
}
