/** Time budgets such as 45m, 1h30m, 600s, and durations for progress lines. */

/** Smallest and largest budget `adzone nightly` accepts, in seconds. */
export const MIN_BUDGET_SECONDS = 30;
export const MAX_BUDGET_SECONDS = 48 * 3600;

/**
 * Seconds in a budget written as hours, minutes and seconds, each an integer with its unit, in that
 * order and at least one of them: 45m, 10m, 1h30m, 600s, 2h, 1h0m30s. Returns null for anything
 * else (a bare number, decimals, units out of order, zero).
 */
export function parseBudget(text: string): number | null {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text.trim());
  if (!m || (m[1] === undefined && m[2] === undefined && m[3] === undefined)) return null;
  const s = Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
  return s > 0 && Number.isSafeInteger(s) ? s : null;
}

/** 1h05m, 4m07s, 42s. */
export function fmtSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const t = Math.max(0, Math.round(s));
  if (t < 60) return `${t}s`;
  if (t < 3600) return `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s`;
  return `${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}m`;
}
