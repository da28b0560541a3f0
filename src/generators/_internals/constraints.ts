/**
 * Checking a generator's constraints object: every bad field throws ConfigError naming the field as
 * the caller wrote it ('k.min', 'window.maxSize'), in a message that starts with the generator's name.
 * Defaults are filled here too, so that a generator's body reads resolved values only.
 */
import type { Format } from '../../precision/index.ts';
import { ConfigError } from '../../util/errors.ts';

/** A range of numbers, either bound optional (as fc.integer's { min, max }). */
export interface RangeConstraints {
  readonly min?: number;
  readonly max?: number;
}

export interface Range {
  readonly min: number;
  readonly max: number;
}

/** Where a field sits: the generator's name and the field's path ('window.' for a nested object). */
export interface Where {
  readonly who: string;
  readonly prefix: string;
}

function fail(at: Where, field: string, message: string): never {
  const name = `${at.prefix}${field}`;
  throw new ConfigError(name, `${at.who}: \`${name}\` ${message}`);
}

/**
 * The constraints object itself: undefined is {}; anything else must be a plain object whose fields
 * are all among `known` and hold every field of `required`.
 */
export function constraintsObject<T extends object>(
  at: Where,
  value: T | undefined,
  known: readonly string[],
  required: readonly string[] = [],
): T {
  if (value === undefined) {
    if (required.length > 0) fail(at, required[0], `is required (call ${at.who}({ ${required.join(', ')} }))`);
    return {} as T;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const name = at.prefix.replace(/\.$/, '') || 'constraints';
    throw new ConfigError(name, `${at.who}: \`${name}\` must be an object of constraints (${known.join(', ')}), got ${String(value)}`);
  }
  for (const field of required)
    if ((value as Record<string, unknown>)[field] === undefined)
      fail(at, field, `is required (call ${at.who}({ ${required.join(', ')} }))`);
  for (const field of Object.keys(value))
    if (!known.includes(field)) fail(at, field, `is not a constraint of ${at.who}; its constraints are ${known.join(', ')}`);
  return value;
}

/** An integer range within [limits.min, limits.max], defaults filled, min ≤ max. */
export function integerRange(at: Where, field: string, value: RangeConstraints | undefined, defaults: Range, limits: Range): Range {
  const r = rangeObject(at, field, value, defaults);
  for (const bound of ['min', 'max'] as const) {
    const v = r[bound];
    if (!(Number.isInteger(v) && v >= limits.min && v <= limits.max))
      fail(at, `${field}.${bound}`, `must be a whole number from ${limits.min} to ${limits.max}, got ${String(v)}`);
  }
  if (r.min > r.max) fail(at, field, `must have min ≤ max, got { min: ${r.min}, max: ${r.max} }`);
  return r;
}

/** A range of real numbers within [limits.min, limits.max], defaults filled, min < max. */
export function realRange(at: Where, field: string, value: RangeConstraints | undefined, defaults: Range, limits: Range): Range {
  const r = rangeObject(at, field, value, defaults);
  for (const bound of ['min', 'max'] as const) {
    const v = r[bound];
    if (!(typeof v === 'number' && v >= limits.min && v <= limits.max))
      fail(at, `${field}.${bound}`, `must be a number from ${limits.min} to ${limits.max}, got ${String(v)}`);
  }
  if (!(r.min < r.max)) fail(at, field, `must have min < max, got { min: ${r.min}, max: ${r.max} }`);
  return r;
}

function rangeObject(at: Where, field: string, value: RangeConstraints | undefined, defaults: Range): Range {
  if (value === undefined) return defaults;
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    fail(at, field, `must be an object { min?, max? }, got ${JSON.stringify(value)}`);
  for (const key of Object.keys(value))
    if (key !== 'min' && key !== 'max') fail(at, `${field}.${key}`, 'is not a bound; a range has min and max');
  return { min: value.min ?? defaults.min, max: value.max ?? defaults.max };
}

/**
 * A non-empty selection from `all`, no value twice; returned in `all`'s order (so the draws do not
 * depend on the order the caller listed them in). Undefined is all of them.
 */
export function selection<T extends string>(at: Where, field: string, value: readonly T[] | undefined, all: readonly T[]): readonly T[] {
  if (value === undefined) return all;
  if (!Array.isArray(value) || value.length === 0) fail(at, field, `must be a non-empty list of ${all.join(', ')}`);
  for (const v of value) if (!all.includes(v)) fail(at, field, `has '${String(v)}'; expected some of ${all.join(', ')}`);
  const twice = value.find((v, i) => value.indexOf(v) !== i);
  if (twice !== undefined) fail(at, field, `lists '${twice}' twice`);
  return all.filter((v) => value.includes(v));
}

/** Undefined (the generator draws it) or a boolean (fixed). */
export function optionalBoolean(at: Where, field: string, value: boolean | undefined): boolean | undefined {
  if (value !== undefined && typeof value !== 'boolean') fail(at, field, `must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

/** A positive finite number at most `max`, or the default. */
export function positive(at: Where, field: string, value: number | undefined, fallback: number, max: number): number {
  const v = value ?? fallback;
  if (!(typeof v === 'number' && v > 0 && v <= max)) fail(at, field, `must be a number above 0 and at most ${max}, got ${String(v)}`);
  return v;
}

/** An integer in [min, max], or the default. */
export function integer(at: Where, field: string, value: number | undefined, fallback: number, limits: Range): number {
  const v = value ?? fallback;
  if (!(Number.isInteger(v) && v >= limits.min && v <= limits.max))
    fail(at, field, `must be a whole number from ${limits.min} to ${limits.max}, got ${String(v)}`);
  return v;
}

/** A Format of src/precision (F16, F32, F64, BF16, …), passing `ok` (which says why not, or undefined). */
export function format(
  at: Where,
  field: string,
  value: Format | undefined,
  ok: (f: Format) => string | undefined = () => undefined,
): Format {
  const f = value as Partial<Format> | undefined;
  if (
    !(typeof f === 'object' && f !== null && typeof f.name === 'string' && Number.isInteger(f.significandBits) && Number.isInteger(f.emin))
  )
    fail(at, field, `must be a Format of adzone's precision module (F16, F32, F64, BF16, E5M2, E4M3), got ${JSON.stringify(value)}`);
  const why = ok(f as Format);
  if (why !== undefined) fail(at, field, `cannot be '${f.name}': ${why}`);
  return f as Format;
}

/** Throw a ConfigError on `field` unless `cond`. */
export function check(at: Where, field: string, cond: boolean, message: string): void {
  if (!cond) fail(at, field, message);
}
