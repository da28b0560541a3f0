/** Small, strict option parsing helpers: every bad value gets a message saying what was expected. */

import { UsageError } from '../util/errors.ts';

export { UsageError };

export function parseIntOption(name: string, value: string | undefined, def: number, min: number, max: number): number {
  if (value === undefined) return def;
  if (!/^\d+$/.test(value.trim())) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got '${value}'`);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`--${name} must be from ${min} to ${max}, got ${n}`);
  return n;
}

export function parseList(name: string, value: string | undefined, def: readonly string[], allowed?: readonly string[]): string[] {
  if (value === undefined) return [...def];
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (!items.length) throw new UsageError(`--${name} needs at least one value`);
  if (allowed) {
    const bad = items.filter((i) => !allowed.includes(i));
    if (bad.length)
      throw new UsageError(
        `--${name}: unknown value${bad.length > 1 ? 's' : ''} ${bad.map((b) => `'${b}'`).join(', ')}; expected one of ${allowed.join(', ')}`,
      );
  }
  const dup = items.find((x, i) => items.indexOf(x) !== i);
  if (dup) throw new UsageError(`--${name}: '${dup}' is given twice`);
  return items;
}

export function parseChoice<T extends string>(name: string, value: string | undefined, def: T, allowed: readonly T[]): T {
  if (value === undefined) return def;
  if (!(allowed as readonly string[]).includes(value))
    throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, got '${value}'`);
  return value as T;
}

export function parseAlphas(value: string | undefined): number[] {
  const items = parseList('relu-alpha', value, ['0']);
  return items.map((s) => {
    const a = Number(s);
    if (!Number.isFinite(a) || a < 0 || a > 1 || !/^[0-9.eE+-]+$/.test(s))
      throw new UsageError(`--relu-alpha values must be numbers in [0, 1], got '${s}'`);
    return a;
  });
}

/**
 * `--seed -5` as `--seed=-5`: node's parseArgs takes a value that starts with '-' for an option
 * ("argument is ambiguous"), and seeds are printed signed by older reports and by fast-check.
 */
export function joinNegativeValues(argv: readonly string[], names: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (names.some((n) => a === `--${n}`) && /^-\d+$/.test(argv[i + 1] ?? '')) {
      out.push(`${a}=${argv[i + 1]}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** A 32-bit seed, signed or unsigned (−2147483648 … 4294967295: both forms draw the same), as its one printed form, unsigned. */
export function parseSeedOption(name: string, value: string | undefined, def: number): number {
  if (value === undefined) return def;
  if (!/^[+-]?\d+$/.test(value.trim()))
    throw new UsageError(`--${name} must be a whole number, signed or unsigned 32-bit (−2147483648 to 4294967295), got '${value}'`);
  const n = Number(value);
  if (n < -(2 ** 31) || n > 2 ** 32 - 1)
    throw new UsageError(`--${name} must be from −2147483648 to 4294967295 (32 bits, signed or unsigned), got ${value}`);
  return n >>> 0;
}

/** --threads: a whole number of kernel threads from 1 to `max` (results do not depend on it). */
export function parseThreads(value: string | undefined, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1 || n > max)
    throw new UsageError(`--threads must be an integer from 1 to ${max}, got '${value}'`);
  return n;
}
