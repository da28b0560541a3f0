/**
 * Reading protocol messages: every line is parsed, dispatched on its `type` and checked against
 * that message's schema; the first problem throws a ProtocolError naming the field (as a JSON path,
 * `problem.layers[1].kernel`) and saying what was expected there.
 */
import type { TSchema } from '@sinclair/typebox';
import { type ValueError, ValueErrorType } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';
import { InputError } from '../../util/errors.ts';

/** A message that breaks the protocol: `field` is the JSON path of the offending field ('' for the whole line). */
export class ProtocolError extends InputError {
  override name = 'ProtocolError';
  constructor(
    readonly field: string,
    readonly detail: string,
    path?: string,
  ) {
    super(field ? `${field}: ${detail}` : detail, path);
  }
}

/** '/problem/layers/1/kernel' → 'problem.layers[1].kernel'. */
export function fieldOf(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

function literals(s: TSchema): string[] {
  const anyOf = (s as { anyOf?: TSchema[] }).anyOf;
  if (anyOf) return anyOf.flatMap(literals);
  const c = (s as { const?: unknown }).const;
  return c === undefined ? [] : [JSON.stringify(c)];
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'number') : typeof v;
}

function accepts(schemaType: unknown, v: unknown): boolean {
  const t = jsonType(v);
  return schemaType === t || (schemaType === 'number' && t === 'integer');
}

/** The first error of `value` against `schema`, its path under `at`. */
function firstUnder(schema: TSchema, value: unknown, at: string): ValueError | undefined {
  const e = Value.Errors(schema, value).First();
  return e && { ...e, path: `${at}${e.path}` };
}

/**
 * The most telling error for a union: a discriminated one (layers by `kind`) is checked against the
 * branch its discriminator names, or reports the discriminator; one whose branches differ by JSON
 * type (null or an object) against the branch of the value's type; a union of literals lists them.
 */
function resolve(e: ValueError): ValueError {
  if (e.type !== ValueErrorType.Union) return e;
  const branches = ((e.schema as { anyOf?: TSchema[] }).anyOf ?? []) as (TSchema & { properties?: Record<string, { const?: unknown }> })[];
  const v = e.value as Record<string, unknown>;
  for (const disc of ['kind', 'type']) {
    const consts = branches.map((b) => b.properties?.[disc]?.const);
    if (!consts.length || consts.some((c) => c === undefined) || jsonType(v) !== 'object') continue;
    const i = consts.indexOf(v[disc]);
    if (i < 0)
      return {
        ...e,
        path: `${e.path}/${disc}`,
        value: v[disc],
        message: `expected one of ${consts.map((c) => JSON.stringify(c)).join(', ')}`,
      };
    const inner = firstUnder(branches[i], v, e.path);
    return inner ? resolve(inner) : e;
  }
  const typed = branches.filter((b) => accepts(b.type, v));
  if (typed.length === 1) {
    const inner = firstUnder(typed[0], v, e.path);
    if (inner) return resolve(inner);
  }
  const options = literals(e.schema);
  return options.length ? { ...e, message: `expected one of ${options.join(', ')}` } : e;
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'missing';
  const s = JSON.stringify(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

/** Check a parsed value against a schema; throws a ProtocolError at the first bad field. */
export function checkSchema<T>(schema: TSchema, value: unknown, prefix = '', file?: string): T {
  const first = Value.Errors(schema, value).First();
  if (!first) return value as T;
  const e = resolve(first);
  const field = fieldOf(e.path);
  const where = prefix ? (field ? `${prefix}.${field}` : prefix) : field;
  const message = e.type === ValueErrorType.ObjectAdditionalProperties ? 'unknown field' : e.message.replace(/^Expected/, 'expected');
  throw new ProtocolError(where, `${message} (got ${describeValue(e.value)})`, file);
}

/** Parse one line and check it as one of `messages` (by its `type`). `who` says whose line it is, for the error. */
export function readMessage<T>(line: string, messages: Readonly<Record<string, TSchema>>, who: string, file?: string): T {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (e) {
    throw new ProtocolError('', `${who} sent a line that is not JSON (${(e as Error).message}): ${line.slice(0, 80)}`, file);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProtocolError('', `${who} sent ${describeValue(value)}, not a JSON object`, file);
  }
  const type = (value as { type?: unknown }).type;
  const schema = typeof type === 'string' && Object.hasOwn(messages, type) ? messages[type] : undefined;
  if (!schema) {
    throw new ProtocolError(
      'type',
      `${who} sent a message of type ${describeValue(type)}: expected one of ${Object.keys(messages)
        .map((k) => `'${k}'`)
        .join(', ')}`,
      file,
    );
  }
  return checkSchema<T>(schema, value, '', file);
}
