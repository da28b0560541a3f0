/**
 * mulberry32: a tiny, fast, seeded PRNG returning doubles in [0, 1). Used wherever adzone needs
 * reproducible pseudo-random numbers outside fast-check (benchmark inputs, tie-rule cases), so the
 * same seed gives the same numbers in every run and report.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
