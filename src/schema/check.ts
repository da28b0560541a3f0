/**
 * Checking a value against a TypeBox schema with messages a person can act on: a SchemaError names
 * the file, the JSON path of the first bad field ($.table[3].counts.regular), what was expected
 * there in words ("a whole number ≥ 0") and what was found ('the string "12"').
 *
 * TypeBox does the checking (a compiled checker per schema, cached) and lists the errors; this file
 * only turns its first error into words. Inside a union (a nullable object, say) the error of the
 * alternative that got furthest into the value is reported, since that is the field to fix.
 */
import { Kind, type TSchema } from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';
import { type ValueError, ValueErrorType } from '@sinclair/typebox/errors';
import { NON_FINITE } from '../util/json.ts';

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

type Schema = TSchema & Record<string, unknown>;

const kindOf = (s: TSchema): string => (s as unknown as Record<symbol, string>)[Kind];
const isLiteralString = (s: Schema) => kindOf(s) === 'Literal' && typeof s.const === 'string';
const quoted = (v: unknown) => `'${String(v)}'`;

/** A number slot of util/json.ts: a number, or one of the strings written for NaN / ±Infinity (and '-0'). */
function jsonNumberBase(s: Schema): Schema | undefined {
  const alts = s.anyOf as Schema[] | undefined;
  if (kindOf(s) !== 'Union' || !alts || alts.length < 2) return undefined;
  const [first, ...rest] = alts;
  const numeric = kindOf(first) === 'Number' || kindOf(first) === 'Integer';
  return numeric && rest.every((r) => isLiteralString(r) && (NON_FINITE as readonly string[]).concat('-0').includes(r.const as string))
    ? first
    : undefined;
}

function describeNumber(s: Schema): string {
  const base = kindOf(s) === 'Integer' ? 'a whole number' : 'a number';
  const min = s.minimum as number | undefined;
  const max = s.maximum as number | undefined;
  if (min !== undefined && max !== undefined) return `${base} in [${min}, ${max}]`;
  if (min !== undefined) return `${base} ≥ ${min}`;
  if (max !== undefined) return `${base} ≤ ${max}`;
  return base;
}

function describeUnion(s: Schema): string {
  const alts = s.anyOf as Schema[];
  const base = jsonNumberBase(s);
  if (base) return `${describeNumber(base)} (or 'NaN', 'Infinity', '-Infinity')`;
  if (alts.every(isLiteralString))
    return alts.length === 1 ? `the string ${quoted(alts[0].const)}` : `one of ${alts.map((a) => quoted(a.const)).join(', ')}`;
  const nonNull = alts.filter((a) => kindOf(a) !== 'Null');
  const words = nonNull.map(describe).join(' or ');
  return nonNull.length < alts.length ? `${words} or null` : words;
}

function describeObject(s: Schema): string {
  const req = (s.required as string[] | undefined) ?? [];
  if (!req.length) return 'an object';
  const shown = req
    .slice(0, 6)
    .map((k) => `'${k}'`)
    .join(', ');
  return `an object with ${shown}${req.length > 6 ? ', …' : ''}`;
}

function plural(d: string): string {
  return d.replace(/^an? /, '').replace(/^(string|number|whole number|object|array)\b/, '$1s');
}

/** What a schema expects, in words. */
export function describe(schema: TSchema): string {
  const s = schema as Schema;
  switch (kindOf(s)) {
    case 'String':
      return s.pattern ? `a string matching /${s.pattern}/` : s.minLength ? 'a non-empty string' : 'a string';
    case 'Number':
    case 'Integer':
      return describeNumber(s);
    case 'Boolean':
      return 'true or false';
    case 'Null':
      return 'null';
    case 'Literal':
      return JSON.stringify(s.const);
    case 'Union':
      return describeUnion(s);
    case 'Array':
      return `an array${s.minItems ? ` of at least ${s.minItems}` : ''} of ${plural(describe(s.items as TSchema))}`;
    case 'Tuple':
      return `an array of ${s.minItems} ${plural(describe((s.items as TSchema[])[0]))}`;
    case 'Record':
      return `an object whose values are ${plural(describe(Object.values(s.patternProperties as Record<string, TSchema>)[0]))}`;
    case 'Object':
      return describeObject(s);
    default:
      return 'any value';
  }
}

/** What a value is, briefly. */
export function what(v: unknown): string {
  if (v === undefined) return 'nothing (the field is missing)';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v)}`;
  if (typeof v === 'number') return String(v);
  if (typeof v === 'object') {
    const keys = Object.keys(v);
    return `an object with ${
      keys.length
        ? keys
            .slice(0, 5)
            .map((k) => `'${k}'`)
            .join(', ')
        : 'no fields'
    }`;
  }
  return `${typeof v} ${String(v)}`;
}

/** A JSON pointer (/table/3/counts/regular) as a path people read ($.table[3].counts.regular); arrays are told by the value. */
export function jsonPath(pointer: string, root: unknown): string {
  let out = '$';
  let at: unknown = root;
  for (const raw of pointer.split('/').slice(1)) {
    const k = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(at)) out += `[${k}]`;
    else out += /^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`;
    at = at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[k] : undefined;
  }
  return out;
}

const depth = (e: ValueError) => (e.path === '' ? 0 : e.path.split('/').length);

/** The error to report for `e`: inside a union, the deepest first error among the alternatives when it lies below the union. */
function settle(e: ValueError): ValueError {
  if (e.type !== ValueErrorType.Union || !e.errors.length) return e;
  let deepest: ValueError | undefined;
  for (const it of e.errors) {
    const first = it.First();
    if (!first) continue;
    const s = settle(first);
    if (!deepest || depth(s) > depth(deepest)) deepest = s;
  }
  return deepest && depth(deepest) > depth(e) ? deepest : e;
}

function expectedOf(e: ValueError): string {
  if (e.type === ValueErrorType.ObjectAdditionalProperties) {
    const known = Object.keys(((e.schema as Schema).properties as object) ?? {});
    return `no field of that name (this object's fields are ${known.map((k) => `'${k}'`).join(', ')})`;
  }
  return describe(e.schema);
}

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>();

/** The compiled checker of a schema (compiled once). */
export function checker<T extends TSchema>(schema: T): TypeCheck<T> {
  let c = compiled.get(schema);
  if (!c) {
    c = TypeCompiler.Compile(schema);
    compiled.set(schema, c);
  }
  return c as TypeCheck<T>;
}

/** Check a parsed JSON value against `schema`; throw a SchemaError for the first bad field. */
export function checkJson(schema: TSchema, value: unknown, file: string): void {
  const c = checker(schema);
  if (c.Check(value)) return;
  const first = c.Errors(value).First();
  if (!first) throw new SchemaError(file, '$', describe(schema), what(value));
  const e = settle(first);
  throw new SchemaError(file, jsonPath(e.path, value), expectedOf(e), what(e.value));
}

/** Check, then decode (the strings 'NaN' / 'Infinity' / '-Infinity' in number slots become numbers). Returns a new value. */
export function decodeJson<T extends TSchema>(schema: T, value: unknown, file: string) {
  checkJson(schema, value, file);
  return checker(schema).Decode(value);
}
