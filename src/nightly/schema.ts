/**
 * The nightly's own JSON files, plan.json and nightly.json: their schemas and types live with the
 * other file kinds in src/schema/nightly.ts; this file reads a plan back.
 */
import { readResult } from '../schema/index.ts';
import type { PlanFile } from '../schema/nightly.ts';

export type { PlanFile } from '../schema/nightly.ts';
export { CountsSchema as countsShape, NightlySchema as nightlyShape, PlanSchema as planShape } from '../schema/nightly.ts';

export const PLAN_SCHEMA = 'adzone/nightly-plan';
export const NIGHTLY_SCHEMA = 'adzone/nightly';

/** Read and check a plan.json; SchemaError names the file and the bad field, or both versions when it is not version 1. */
export function readPlan(file: string): PlanFile {
  return readResult(file, 'nightly-plan').data;
}
