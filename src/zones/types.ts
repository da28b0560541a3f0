/**
 * The words of a point classification, from the one vocabulary (src/problem/vocabulary.ts): a
 * classification's `zone` is an Outcome: one of the three zones, or 'nonfinite' / 'defect' outside
 * them; a compensation has a Cause ('tie' or 'flip').
 */
export type { CompensationCause as Cause, Outcome, Zone } from '../problem/index.ts';
