/**
 * thresholds.json of a gate baseline, schema 'adzone/gate-thresholds' version 1: what may move
 * between the committed baseline and a new report, and by how much (src/gate/thresholds.ts writes
 * the default one, src/gate/compare.ts applies it). Shares and accuracies are fractions (0.02 = 2
 * percentage points).
 *
 * Unknown fields are refused: a person edits this file, and a misspelt threshold must not be
 * silently ignored.
 */
import { type StaticDecode, Type } from '@sinclair/typebox';
import type { DeepReadonly } from '../util/json.ts';
import { Count, NonNegative, oneOf, Share } from './kit.ts';

/** The result kinds a report can hold (src/schema/index.ts RESULT_KINDS). */
export const REPORT_KINDS = ['verify', 'zones', 'bench', 'train', 'ablate'] as const;

const closed = { additionalProperties: false } as const;

export const ThresholdsSchema = Type.Object(
  {
    schema: Type.Literal('adzone/gate-thresholds'),
    schemaVersion: Type.Literal(1),
    /** Result kinds the report must hold (a baseline kind not listed here is compared only when the report has it). */
    require: Type.Array(oneOf(REPORT_KINDS)),
    verify: Type.Object(
      {
        /** Regular draws outside the rigorous rounding bound, per row, in the report. */
        inconsistentMax: Count(),
        /** Generators drawing a lone MaxPool (input exact at 64 bits); default: from the generator registry. */
        loneMaxPoolGenerators: Type.Optional(Type.Array(Type.String())),
        /** Compensation draws at 64 bits on those generators, per row. */
        loneMaxPool64CompensationMax: Count(),
        /** Largest allowed growth of a row's non-regular share, per precision (absolute, as a fraction). */
        nonRegularShareMaxIncrease: Type.Record(Type.String(), Share()),
        /** Largest allowed growth of a row's defect share. */
        defectShareMaxIncrease: Share(),
        /**
         * Extra allowance, in binomial standard errors of the difference, when the two runs drew
         * different points (different seed or sample count). With the same seed and samples the draws
         * are identical, so no sampling allowance applies.
         */
        samplingSigmas: NonNegative(),
        /** Every framework backend's measured tie rule must stay the same. */
        tieRulesMustMatch: Type.Boolean(),
        /** Every (generator, backend, precision) row of the baseline must be in the report. */
        rowsMustMatch: Type.Boolean(),
      },
      closed,
    ),
    zones: Type.Object(
      {
        /** Largest allowed growth of the exact share of batches in a zone, per precision. */
        exactShareMaxIncrease: Share(),
      },
      closed,
    ),
    train: Type.Object(
      {
        /** Largest allowed drop of the mean test accuracy at β = 0 (0.005 = 0.5 pp), per configuration, between runs trained alike. */
        accuracyAtBeta0MaxDrop: Share(),
      },
      closed,
    ),
    notes: Type.Optional(Type.Array(Type.String())),
  },
  closed,
);

export type Thresholds = DeepReadonly<StaticDecode<typeof ThresholdsSchema>>;
