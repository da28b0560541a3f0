/**
 * The building blocks the result schemas are made of (TypeBox), so that a count, a share or a
 * precision is spelled the same way in every file's schema.
 */
import { type SchemaOptions, type TLiteral, type TSchema, type TUnion, Type } from '@sinclair/typebox';
import { FORMATS } from '../precision/index.ts';

export { JsonNumber } from '../util/json.ts';

/** One of these strings (a closed set). */
export const oneOf = <const T extends readonly string[]>(values: T, options: SchemaOptions = {}) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    options,
  ) as unknown as TUnion<{ -readonly [K in keyof T]: TLiteral<T[K]> }>;

/** A whole number ≥ 0 (counts, indices). */
export const Count = (options: SchemaOptions = {}) => Type.Integer({ minimum: 0, ...options });
/** A number in [0, 1] (shares, accuracies). */
export const Share = (options: SchemaOptions = {}) => Type.Number({ minimum: 0, maximum: 1, ...options });
/** A number ≥ 0 (durations, sizes). */
export const NonNegative = (options: SchemaOptions = {}) => Type.Number({ minimum: 0, ...options });
export const Nullable = <T extends TSchema>(t: T, options: SchemaOptions = {}) => Type.Union([Type.Null(), t], options);
/** An ISO 8601 time stamp, as new Date().toISOString() writes it. */
export const Timestamp = (options: SchemaOptions = {}) => Type.String({ minLength: 1, ...options });

/** The number formats adzone knows (src/precision: '16', '32', '64', 'bf16', 'e4m3', 'e5m2'). */
export const PRECISIONS = Object.keys(FORMATS);
/** One of PRECISIONS (typed as a string: the set is read from src/precision at run time). */
export const Precision = (options: SchemaOptions = {}, extra: readonly string[] = []) =>
  Type.Unsafe<string>(
    Type.Union(
      [...PRECISIONS, ...extra].map((p) => Type.Literal(p)),
      { description: 'a number format of src/precision', ...options },
    ),
  );
