/**
 * A small structural validator for adzone's JSON result files: shapes are built from composable
 * builders (str, num, obj, arr, ...), checked depth-first, and the first bad field throws a
 * SchemaError naming the file, the JSON path of the field and what was expected there.
 *
 * Non-finite numbers: `toJson` (src/report/atomic.ts) writes NaN and ±Infinity as the strings
 * 'NaN', 'Infinity', '-Infinity'. A number slot built with `num({ nonFinite: true })` accepts
 * those strings, and `check(..., { revive: true })` turns them back into numbers in place.
 */

export type Shape =
  | { readonly t: 'string'; readonly values?: readonly string[]; readonly pattern?: RegExp; readonly what?: string }
  | { readonly t: 'number'; readonly int?: boolean; readonly min?: number; readonly max?: number; readonly nonFinite?: boolean }
  | { readonly t: 'boolean' }
  | { readonly t: 'literal'; readonly value: string | number | boolean | null }
  | { readonly t: 'array'; readonly of: Shape; readonly minItems?: number }
  | { readonly t: 'object'; readonly required: Readonly<Record<string, Shape>>; readonly optional: Readonly<Record<string, Shape>> }
  | { readonly t: 'record'; readonly of: Shape }
  | { readonly t: 'nullable'; readonly of: Shape }
  | { readonly t: 'union'; readonly of: readonly Shape[] }
  | { readonly t: 'any' };

export const str = (o: { values?: readonly string[]; pattern?: RegExp; what?: string } = {}): Shape => ({ t: 'string', ...o });
export const oneOf = (...values: string[]): Shape => ({ t: 'string', values });
export const num = (o: { int?: boolean; min?: number; max?: number; nonFinite?: boolean } = {}): Shape => ({ t: 'number', ...o });
/** A whole number ≥ 0 (counts). */
export const count = (): Shape => ({ t: 'number', int: true, min: 0 });
/** A number in [0, 1] (shares, accuracies). */
export const share = (): Shape => ({ t: 'number', min: 0, max: 1 });
export const bool = (): Shape => ({ t: 'boolean' });
export const lit = (value: string | number | boolean | null): Shape => ({ t: 'literal', value });
export const arr = (of: Shape, minItems?: number): Shape => ({ t: 'array', of, ...(minItems ? { minItems } : {}) });
/** An object with these required fields and (second argument) these optional ones; other fields are allowed. */
export const obj = (required: Record<string, Shape>, optional: Record<string, Shape> = {}): Shape => ({ t: 'object', required, optional });
/** An object used as a map: any keys, every value of one shape. */
export const rec = (of: Shape): Shape => ({ t: 'record', of });
export const nullable = (of: Shape): Shape => ({ t: 'nullable', of });
export const union = (...of: Shape[]): Shape => ({ t: 'union', of });
export const any = (): Shape => ({ t: 'any' });

const NON_FINITE = new Set(['NaN', 'Infinity', '-Infinity']);

/** What a shape expects, in words, for error messages. */
export function describe(s: Shape): string {
  switch (s.t) {
    case 'string':
      if (s.values) return s.values.length === 1 ? `the string '${s.values[0]}'` : `one of ${s.values.map((v) => `'${v}'`).join(', ')}`;
      return s.what ?? (s.pattern ? `a string matching ${s.pattern}` : 'a string');
    case 'number': {
      const base = s.int ? 'a whole number' : 'a number';
      const range =
        s.min !== undefined && s.max !== undefined
          ? ` in [${s.min}, ${s.max}]`
          : s.min !== undefined
            ? ` ≥ ${s.min}`
            : s.max !== undefined
              ? ` ≤ ${s.max}`
              : '';
      return `${base}${range}${s.nonFinite ? " (or 'NaN', 'Infinity', '-Infinity')" : ''}`;
    }
    case 'boolean':
      return 'true or false';
    case 'literal':
      return JSON.stringify(s.value);
    case 'array':
      return `an array${s.minItems ? ` of at least ${s.minItems}` : ''} of ${plural(describe(s.of))}`;
    case 'object':
      return Object.keys(s.required).length
        ? `an object with ${Object.keys(s.required)
            .slice(0, 6)
            .map((k) => `'${k}'`)
            .join(', ')}${Object.keys(s.required).length > 6 ? ', …' : ''}`
        : 'an object';
    case 'record':
      return `an object whose values are ${plural(describe(s.of))}`;
    case 'nullable':
      return `${describe(s.of)} or null`;
    case 'union':
      return s.of.map(describe).join(' or ');
    case 'any':
      return 'any value';
  }
}

function plural(d: string): string {
  return d.replace(/^an? /, '').replace(/^(string|number|whole number|object|array)\b/, '$1s');
}

/** What a value is, briefly, for error messages. */
export function what(v: unknown): string {
  if (v === undefined) return 'nothing (the field is missing)';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v)}`;
  if (typeof v === 'number') return String(v);
  if (typeof v === 'object')
    return `an object with ${
      Object.keys(v).length
        ? Object.keys(v)
            .slice(0, 5)
            .map((k) => `'${k}'`)
            .join(', ')
        : 'no fields'
    }`;
  return `${typeof v} ${String(v)}`;
}

export class SchemaError extends Error {
  override name = 'SchemaError';
  constructor(
    readonly file: string,
    readonly path: string,
    readonly expected: string,
    readonly got: string,
    message?: string,
  ) {
    super(message ?? `${file}: ${path}: expected ${expected}, got ${got}`);
  }
}

const key = (path: string, k: string) => (/^[A-Za-z_$][\w$]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`);

interface Bad {
  readonly path: string;
  readonly expected: string;
  readonly got: string;
}

/** Returns the first bad field (depth-first, in declaration order), or undefined. */
function walk(s: Shape, v: unknown, path: string, revive: boolean, set: ((x: unknown) => void) | undefined): Bad | undefined {
  const bad = (): Bad => ({ path, expected: describe(s), got: what(v) });
  switch (s.t) {
    case 'any':
      return undefined;
    case 'string':
      if (typeof v !== 'string') return bad();
      if (s.values && !s.values.includes(v)) return bad();
      if (s.pattern && !s.pattern.test(v)) return bad();
      return undefined;
    case 'number':
      if (typeof v === 'string' && s.nonFinite && NON_FINITE.has(v)) {
        if (revive && set) set(Number(v));
        return undefined;
      }
      if (typeof v !== 'number') return bad();
      if (!Number.isFinite(v) && !s.nonFinite) return bad();
      if (s.int && !Number.isInteger(v) && Number.isFinite(v)) return bad();
      if (s.min !== undefined && v < s.min) return bad();
      if (s.max !== undefined && v > s.max) return bad();
      return undefined;
    case 'boolean':
      return typeof v === 'boolean' ? undefined : bad();
    case 'literal':
      return v === s.value ? undefined : bad();
    case 'nullable':
      return v === null ? undefined : walk(s.of, v, path, revive, set);
    case 'union': {
      let deepest: Bad | undefined;
      for (const alt of s.of) {
        const r = walk(alt, v, path, false, undefined);
        if (!r) return revive ? walk(alt, v, path, true, set) : undefined;
        if (!deepest || r.path.length > deepest.path.length) deepest = r;
      }
      // Report the alternative that got furthest when it failed inside the value, else the union.
      return deepest && deepest.path !== path ? deepest : bad();
    }
    case 'array': {
      if (!Array.isArray(v)) return bad();
      if (s.minItems && v.length < s.minItems) return { path, expected: describe(s), got: what(v) };
      for (let i = 0; i < v.length; i++) {
        const r = walk(s.of, v[i], `${path}[${i}]`, revive, (x) => (v[i] = x));
        if (r) return r;
      }
      return undefined;
    }
    case 'record': {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return bad();
      const o = v as Record<string, unknown>;
      for (const k of Object.keys(o)) {
        const r = walk(s.of, o[k], key(path, k), revive, (x) => (o[k] = x));
        if (r) return r;
      }
      return undefined;
    }
    case 'object': {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return bad();
      const o = v as Record<string, unknown>;
      for (const [k, sub] of Object.entries(s.required)) {
        const r = walk(sub, o[k], key(path, k), revive, (x) => (o[k] = x));
        if (r) return r;
      }
      for (const [k, sub] of Object.entries(s.optional)) {
        if (o[k] === undefined) continue;
        const r = walk(sub, o[k], key(path, k), revive, (x) => (o[k] = x));
        if (r) return r;
      }
      return undefined;
    }
  }
}

/**
 * Check `value` against `shape`; throw a SchemaError for the first bad field. With `revive`, the
 * strings 'NaN' / 'Infinity' / '-Infinity' in non-finite number slots become numbers (in place).
 */
export function check(shape: Shape, value: unknown, file: string, opts: { revive?: boolean } = {}): void {
  const r = walk(shape, value, '$', opts.revive === true, undefined);
  if (r) throw new SchemaError(file, r.path, r.expected, r.got);
}
