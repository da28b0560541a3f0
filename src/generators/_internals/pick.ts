/**
 * Choosing among positions without chain: every item gets a drawn key and items are taken in key
 * order (ties by position). Shrinking the keys to 0 shrinks the choice to the first items.
 */
export function orderByKeys<T>(items: readonly T[], keys: readonly number[]): T[] {
  const key = (i: number) => (keys.length === 0 ? 0 : keys[i % keys.length]);
  return items
    .map((item, i) => ({ item, i }))
    .sort((a, b) => key(a.i) - key(b.i) || a.i - b.i)
    .map((x) => x.item);
}

/** Clamp a drawn index into [0, length − 1] (shrinking the draw towards 0 keeps it in range). */
export function clampIndex(i: number, length: number): number {
  return Math.max(0, Math.min(i, length - 1));
}
