/**
 * Uncertainty of a share: the Wilson score interval at 95% (z = 1.96), which stays inside [0, 1]
 * and is sensible at 0 and n (a share of 0 of 30 draws is "at most 11%", not "exactly 0"). Every
 * share the report shows (draws in a class, batches in a zone, units of a layer) carries one, so
 * 30 draws and 2,000 draws no longer look alike.
 */

const Z = 1.959963984540054;

export interface ShareCI {
  readonly k: number;
  readonly n: number;
  /** k / n (0 when n is 0). */
  readonly p: number;
  readonly lo: number;
  readonly hi: number;
}

/** The Wilson 95% interval of k successes in n trials; [0, 1] when n is 0. */
export function wilson(k: number, n: number): ShareCI {
  if (!(n > 0)) return { k, n, p: 0, lo: 0, hi: 1 };
  const p = k / n;
  const z2 = Z * Z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (Z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  // at k = 0 (k = n) the bound is exactly 0 (1); rounding must not move it off
  return { k, n, p, lo: k === 0 ? 0 : Math.max(0, centre - half), hi: k === n ? 1 : Math.min(1, centre + half) };
}

/** A percentage with as many digits as a share this size needs: 58%, 4.5%, 0.45%, 0.012%. */
export function pctOf(x: number): string {
  if (x === 0) return '0%';
  if (x === 1) return '100%';
  const p = 100 * x;
  const digits = p >= 10 ? 0 : p >= 1 ? 1 : p >= 0.1 ? 2 : 3;
  return `${p.toFixed(digits)}%`;
}

/** "4.5% (95% CI 3.8–5.4%)". */
export function shareWithCI(s: ShareCI): string {
  return `${pctOf(s.p)} (95% CI ${pctOf(s.lo).replace('%', '')}–${pctOf(s.hi)})`;
}

/** "4.5% [3.8–5.4]" for tables. */
export function shareCell(s: ShareCI): string {
  return `${pctOf(s.p)} [${pctOf(s.lo).replace('%', '')}–${pctOf(s.hi).replace('%', '')}]`;
}
