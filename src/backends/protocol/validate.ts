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

/**
 * The most telling error: for a union (a layer of the wrong shape, a params entry), the branch whose
 * first error lies deepest, i.e. the branch whose discriminator matched; when none went deeper than
 * the union itself, a message listing what the union accepts.
 */
function resolve(e: ValueError): ValueError {
  if (e.type !== ValueErrorType.Union) return e;
  const firsts = e.errors.map((it) => it.First()).filter((x): x is ValueError => x !== undefined);
  const depth = (x: ValueError) => x.path.split('/').length;
  const best = firsts.reduce<ValueError | undefined>((a, b) => (!a || depth(b) > depth(a) ? b : a), undefined);
  const discriminatorOnly = best && best.type === ValueErrorType.Literal && /\/(kind|type)$/.test(best.path);
  if (best && depth(best) > depth(e) && !discriminatorOnly && firsts.filter((f) => depth(f) === depth(best)).length === 1)
    return resolve(best);
  if (discriminatorOnly) {
    const options = firsts.flatMap((f) => literals(f.schema));
    return { ...best, message: `expected one of ${[...new Set(options)].join(', ')}` };
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
