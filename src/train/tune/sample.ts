/**
 * The learning rates of a search: a stratified (Latin hypercube) log-uniform draw. [log lrMin,
 * log lrMax] is cut into `trials` equal strata; a seeded random permutation gives each trial its
 * own stratum and a uniform draw places it inside. Each trial's lr is still log-uniform on the whole
 * range (its stratum is itself uniformly random), but the draw as a whole leaves no stratum empty:
 * 8 trials over [1e-5, 1e-1] put exactly one lr in every half decade, where 8 independent draws
 * miss a given half decade with probability (7/8)^8 ≈ 34%. Values are rounded to 3 significant
 * digits, so that a trial can be repeated from its printed lr.
 *
 * Randomness: mulberry32 (src/data/prng.ts) seeded mixSeed(seed, 0x4c52 /'LR'/); the permutation
 * by Fisher–Yates from the end (j = int(i + 1)), then one uniform u = next() / 2^32 per trial in
 * trial order.
 */
import { Mulberry32, mixSeed } from '../../data/index.ts';

/** x rounded to 3 significant digits. */
export const round3 = (x: number): number => Number(x.toPrecision(3));

/** The position in [0, 1) of each trial's lr on the log-range, in trial order: trial i in stratum π(i), i.e. floor(n·u) = π(i). */
export function stratifiedUnits(n: number, seed: number): number[] {
  const rng = new Mulberry32(mixSeed(seed, 0x4c52));
  const stratum = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [stratum[i], stratum[j]] = [stratum[j], stratum[i]];
  }
  return stratum.map((s) => (s + rng.next() / 2 ** 32) / n);
}

/**
 * The lrs of trials 1..n, in trial order (not sorted): lrMin·(lrMax/lrMin)^u for the units above,
 * rounded to 3 significant digits (which moves an lr by at most 0.5%, possibly across a stratum's edge).
 */
export function sampleLrs(n: number, lrMin: number, lrMax: number, seed: number): number[] {
  const lo = Math.log(lrMin);
  const span = Math.log(lrMax) - lo;
  return stratifiedUnits(n, seed).map((u) => Math.min(lrMax, Math.max(lrMin, round3(Math.exp(lo + u * span)))));
}
