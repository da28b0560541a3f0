/** Facts about a window, computed from the values themselves, for Case.meta. */
import { F16, F32, F64, round, type Format } from '../../precision/index.ts';

/** Number of entries attaining the maximum (NaN never attains it). */
export function maxCount(values: readonly number[]): number {
  const finiteOrInf = values.filter((v) => !Number.isNaN(v));
  if (finiteOrInf.length === 0) return 0;
  const m = Math.max(...finiteOrInf);
  return finiteOrInf.filter((v) => v === m).length;
}

/** How many entries tie at the maximum after rounding to 16, 32 and 64 bits. */
export function tieCounts(values: readonly number[]): { k16: number; k32: number; k64: number } {
  const at = (f: Format) => maxCount(values.map((v) => round(f, v)));
  return { k16: at(F16), k32: at(F32), k64: at(F64) };
}

/** Do all values coincide after rounding to f? */
export function allEqualIn(f: Format, values: readonly number[]): boolean {
  const r = values.map((v) => round(f, v));
  return r.every((v) => v === r[0]);
}

export function list(xs: readonly number[]): string {
  return xs.join(',');
}
