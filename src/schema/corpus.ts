/**
 * A counterexample corpus entry (fixtures/counterexamples/*.json), schema 'adzone/counterexample'
 * version 1: a non-regular case a run found, kept with the exact problem, how to regenerate it
 * (generator, seed, path) and the class it had, so `npm test` replays it (src/zones/corpus.ts).
 *
 * The problem's numbers keep what JSON cannot hold: NaN, ±Infinity and −0 as 'NaN', 'Infinity',
 * '-Infinity' and '-0'. Unknown fields are refused: the corpus is committed with the code that
 * writes it, so a field neither knows is a hand edit or a damaged file.
 */
import { type StaticDecode, Type } from '@sinclair/typebox';
import { problemSchema, ZONE_CLASSES } from '../problem/index.ts';
import { type DeepReadonly, ExactJsonNumber } from '../util/json.ts';
import { oneOf, Precision, Share, Timestamp } from './kit.ts';

export const CorpusEntrySchema = Type.Object(
  {
    schema: Type.Literal('adzone/counterexample'),
    schemaVersion: Type.Literal(1),
    /** Content hash of (problem, backend, precision, settings): the end of the file name. */
    id: Type.String({ pattern: '^[0-9a-f]{16}$' }),
    generator: Type.String(),
    seed: Type.Integer(),
    path: Type.String(),
    backend: Type.String(),
    precision: Precision(),
    accumulate: oneOf(['strict', 'wide'] as const),
    jacobians: Type.Array(Type.String(), { minItems: 1 }),
    reluAlphas: Type.Array(Share(), { minItems: 1 }),
    expected: oneOf(ZONE_CLASSES),
    /** Why this case is kept (e.g. the minimal case of a class, or a per-draw ordering inversion). */
    note: Type.String(),
    foundAt: Timestamp(),
    problem: problemSchema(ExactJsonNumber()),
  },
  { additionalProperties: false },
);

export type CorpusEntry = DeepReadonly<StaticDecode<typeof CorpusEntrySchema>>;
