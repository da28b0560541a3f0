/**
 * The reading side of adzone's JSON convention, as TypeBox building blocks every layer can use.
 *
 * `toJson` (./atomic.ts) writes NaN and ±Infinity, which JSON cannot hold, as the strings 'NaN',
 * 'Infinity' and '-Infinity'. A number slot that may hold them is a `JsonNumber`: its schema accepts
 * a number or one of those strings, and decoding (TypeBox's Decode) turns the strings back into
 * numbers. A plain `Type.Number()` accepts finite numbers only.
 */
import { type NumberOptions, type TLiteral, type TNumber, type TSchema, type TTransform, type TUnion, Type } from '@sinclair/typebox';

export const NON_FINITE = ['NaN', 'Infinity', '-Infinity'] as const;
export type NonFiniteText = (typeof NON_FINITE)[number];

type JsonNumberSchema<S extends string> = TTransform<TUnion<[TNumber, ...TLiteral<S>[]]>, number>;

function numberOrText<S extends string>(texts: readonly S[], options: NumberOptions): JsonNumberSchema<S> {
  const union: TSchema = Type.Union([Type.Number(options), ...texts.map((t) => Type.Literal(t))]);
  return Type.Transform(union)
    .Decode((v: unknown): number => (v === '-0' ? -0 : Number(v)))
    .Encode((v: number): unknown => (Number.isFinite(v) ? v : String(v))) as unknown as JsonNumberSchema<S>;
}

/** A number that may be NaN or ±Infinity, written as 'NaN' / 'Infinity' / '-Infinity' (the toJson convention). */
export const JsonNumber = (options: NumberOptions = {}) => numberOrText<NonFiniteText>(NON_FINITE, options);

/**
 * A number that may also be −0, written as '-0' (the counterexample corpus keeps the exact problem,
 * and −0 routes differently from +0 through a ReLU).
 */
export const ExactJsonNumber = (options: NumberOptions = {}) => numberOrText<NonFiniteText | '-0'>([...NON_FINITE, '-0'], options);

/** A type with every property and array read-only, at every depth (what a TypeBox Static is turned into for results). */
export type DeepReadonly<T> = T extends (...args: never[]) => unknown
  ? T
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;
