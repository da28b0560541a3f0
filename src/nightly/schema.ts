/**
 * The nightly's own JSON files, checked with the project's shape builders (src/schema/shape.ts):
 *
 * - plan.json, schema 'adzone/nightly-plan' 1: the counts of every stage (what decides the numbers),
 *   the per-unit costs they were fitted from and the estimates; `--plan FILE` reads it back.
 * - nightly.json, schema 'adzone/nightly' 1: what ran, for how long, what it found, the gate's verdict.
 *
 * Neither is a result kind of src/schema (report and gate skip them); the result files the nightly
 * writes (verify.json, zones.json, result.json, ablate.json) are validated against their own schemas.
 */
import { readFileSync } from 'node:fs';
import { arr, bool, check, count, lit, nullable, num, obj, oneOf, rec, str, SchemaError } from '../schema/shape.ts';
import { STAGES, type Costs, type Counts, type Estimates, type Stage } from './plan.ts';

export const PLAN_SCHEMA = 'adzone/nightly-plan';
export const NIGHTLY_SCHEMA = 'adzone/nightly';

export interface PlanFile {
  readonly schema: typeof PLAN_SCHEMA;
  readonly schemaVersion: 1;
  readonly createdAt: string;
  readonly command: string;
  readonly seed: number;
  readonly budgetSeconds: number;
  /** 'calibrated' (counts fitted here) or 'plan-file' (counts copied from `from`). */
  readonly source: 'calibrated' | 'plan-file';
  readonly from?: string;
  readonly stages: readonly Stage[];
  readonly dropped: readonly { readonly stage: Stage; readonly reason: string }[];
  readonly notes: readonly string[];
  readonly calibrationSeconds: number;
  readonly counts: Counts;
  readonly costs: Costs;
  readonly estimates: Estimates;
  readonly pin: string;
}

const pos = () => num({ min: 0 });
const stage = oneOf(...STAGES);

const costsShape = obj({
  speed: pos(),
  suites: obj({ files: arr(obj({ file: str(), seconds: pos(), readsMultiplier: bool() })), spawn: pos(), lanes: count() }),
  verify: obj({ fixed: pos(), perDraw: rec(pos()), shrinkDraws: pos(), expectedShrinks: count() }),
  zones: obj({ fixed: pos(), lenetBatch: pos(), vggBatch: pos() }),
  train: obj({ fixed: pos(), step: obj({ '16': pos(), '32': pos() }), evalPerImage: obj({ '16': pos(), '32': pos() }) }),
});

export const countsShape = obj({
  suites: nullable(obj({ multiplier: num({ min: 1 }), files: arr(str()) })),
  verify: nullable(
    obj({
      samples: num({ int: true, min: 1 }),
      maxShrinks: count(),
      shrinkCap: num({ int: true, min: 1 }),
      generators: arr(str(), 1),
      backends: arr(str(), 1),
      precisions: arr(str(), 1),
      jacobians: arr(str(), 2),
    }),
  ),
  zones: nullable(obj({ batchSize: num({ int: true, min: 1 }), lenetBatches: count(), vggBatches: count() })),
  train: nullable(
    obj(
      {
        runs: arr(obj({ precision: oneOf('16', '32'), beta: pos() }), 1),
        batchSize: num({ int: true, min: 1 }),
        limitTrain: num({ int: true, min: 1 }),
        limitTest: num({ int: true, min: 1 }),
      },
      // absent in plans written before the slice moved to the engine (those run on tfjs-wasm, as then)
      { backend: lit('engine'), mode: lit('strict') },
    ),
  ),
});

export const planShape = obj(
  {
    schema: lit(PLAN_SCHEMA),
    schemaVersion: lit(1),
    createdAt: str(),
    seed: num({ int: true, min: 0 }),
    budgetSeconds: pos(),
    source: oneOf('calibrated', 'plan-file'),
    stages: arr(stage),
    dropped: arr(obj({ stage, reason: str() })),
    calibrationSeconds: pos(),
    counts: countsShape,
    costs: costsShape,
    estimates: obj({ suites: pos(), verify: pos(), zones: pos(), train: pos(), reserve: pos(), total: pos() }),
  },
  { command: str(), from: str(), notes: arr(str()), pin: str() },
);

const stageStatus = oneOf('done', 'truncated', 'skipped', 'crashed');

export const nightlyShape = obj({
  schema: lit(NIGHTLY_SCHEMA),
  schemaVersion: lit(1),
  command: str(),
  startedAt: str(),
  finishedAt: str(),
  seed: num({ int: true, min: 0 }),
  budgetSeconds: pos(),
  totalSeconds: pos(),
  plan: obj({ file: str(), source: oneOf('calibrated', 'plan-file') }),
  calibrationSeconds: pos(),
  stages: arr(
    obj(
      { stage: oneOf(...STAGES, 'calibrate', 'report', 'gate'), status: stageStatus, plannedSeconds: pos(), seconds: pos() },
      { note: str(), error: str() },
    ),
  ),
  suites: nullable(
    obj({
      multiplier: num({ min: 1 }),
      seed: num({ int: true }),
      totals: obj({ files: count(), tests: count(), passed: count(), failed: count(), skipped: count() }),
      files: arr(
        obj({
          file: str(),
          status: oneOf('passed', 'failed', 'timed-out', 'crashed', 'skipped'),
          tests: count(),
          passed: count(),
          failed: count(),
          seconds: pos(),
          readsMultiplier: bool(),
        }),
      ),
    }),
  ),
  gate: obj({ verdict: oneOf('pass', 'regression', 'unusable', 'not-run'), baseline: str(), regressions: arr(str()), notes: arr(str()) }),
  files: obj({ html: nullable(str()), markdown: nullable(str()), junit: nullable(str()), json: arr(str()) }),
  truncated: bool(),
  crashed: bool(),
});

/** Read and check a plan.json; SchemaError names the file and the bad field. */
export function readPlan(file: string): PlanFile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SchemaError(
      file,
      '$',
      'a plan.json',
      code ?? 'text that is not JSON',
      `${file}: ${code ? `cannot read (${code})` : `not valid JSON (${(e as Error).message})`}`,
    );
  }
  const v = (raw as { schemaVersion?: unknown } | null)?.schemaVersion;
  if ((raw as { schema?: unknown } | null)?.schema === PLAN_SCHEMA && v !== 1) {
    throw new SchemaError(
      file,
      '$.schemaVersion',
      'version 1',
      `version ${String(v)}`,
      `${file}: ${PLAN_SCHEMA} version ${String(v)}; this adzone reads version 1`,
    );
  }
  check(planShape, raw, file);
  return raw as PlanFile;
}
