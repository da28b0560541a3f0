/**
 * The nightly's own files (src/nightly, src/cli/commands/nightly.ts):
 *
 * - plan.json, schema 'adzone/nightly-plan' version 1: the counts of every stage (what decides the
 *   numbers), the per-unit costs they were fitted from and the estimates; `--plan FILE` reads it
 *   back. Unknown fields are refused: a person may edit the counts, and a misspelt one must not be
 *   ignored.
 * - nightly.json, schema 'adzone/nightly' version 1: what ran, for how long, what it found, the
 *   gate's verdict; suites.json, schema 'adzone/nightly-suites' version 1: the property suites' run
 *   in full. Fields these schemas do not name are allowed.
 *
 * Neither is a result kind report and gate read; the result files the nightly writes (verify.json,
 * zones.json, result.json, ablate.json) are checked against their own schemas.
 */
import { type StaticDecode, type TSchema, Type } from '@sinclair/typebox';
import type { DeepReadonly } from '../util/json.ts';
import { Count, NonNegative, Nullable, oneOf, Precision, Timestamp } from './kit.ts';

export const STAGES = ['suites', 'verify', 'zones', 'train'] as const;
export type Stage = (typeof STAGES)[number];
/** The precisions of the ablation slice. */
export const NIGHTLY_TRAIN_PRECISIONS = ['16', '32'] as const;
export type NightlyTrainPrecision = (typeof NIGHTLY_TRAIN_PRECISIONS)[number];
export const PLAN_SOURCES = ['calibrated', 'plan-file'] as const;

const closed = { additionalProperties: false } as const;
const positive = () => Type.Integer({ minimum: 1 });
const perPrecision = () => Type.Object({ '16': NonNegative(), '32': NonNegative() }, closed);

/** Per-unit costs in seconds on the machine that plans. */
export const CostsSchema = Type.Object(
  {
    /** How much slower than the reference machine the calibration draws ran (1 = as fast). */
    speed: NonNegative(),
    suites: Type.Object(
      {
        /** Seconds per file at multiplier 1; `readsMultiplier` when the file scales its runs with runs(). */
        files: Type.Array(Type.Object({ file: Type.String(), seconds: NonNegative(), readsMultiplier: Type.Boolean() }, closed)),
        /** Start-up of one vitest process. */
        spawn: NonNegative(),
        /** Files run at once. */
        lanes: Count(),
      },
      closed,
    ),
    verify: Type.Object(
      {
        /** Loading the backends and measuring their tie rules. */
        fixed: NonNegative(),
        /** Seconds per draw of each generator (every backend and precision). */
        perDraw: Type.Record(Type.String(), NonNegative()),
        /** A shrunk counterexample costs this many draws of its generator, on average. */
        shrinkDraws: NonNegative(),
        /** How many (generator, backend, precision, class) counterexamples a full run finds. */
        expectedShrinks: Count(),
      },
      closed,
    ),
    zones: Type.Object({ fixed: NonNegative(), lenetBatch: NonNegative(), vggBatch: NonNegative() }, closed),
    /** The ablation slice on the engine, strict, at its batch size. */
    train: Type.Object(
      {
        /** Per run: start-up, loading the data, writing the results. */
        fixed: NonNegative(),
        /** Seconds per training step (one mini-batch of TrainPlan.batchSize). */
        step: perPrecision(),
        evalPerImage: perPrecision(),
      },
      closed,
    ),
  },
  closed,
);

export const SuitesPlanSchema = Type.Object(
  {
    multiplier: Type.Number({ minimum: 1 }),
    /** In the order they start (longest first). */
    files: Type.Array(Type.String()),
  },
  closed,
);

export const VerifyPlanSchema = Type.Object(
  {
    samples: positive(),
    /** Counterexamples shrunk at most, taken round-robin over generators. */
    maxShrinks: Count(),
    /** Shrink values pulled per counterexample at most. */
    shrinkCap: positive(),
    generators: Type.Array(Type.String(), { minItems: 1 }),
    backends: Type.Array(Type.String(), { minItems: 1 }),
    precisions: Type.Array(Precision(), { minItems: 1 }),
    jacobians: Type.Array(Type.String(), { minItems: 2 }),
  },
  closed,
);

export const ZonesPlanSchema = Type.Object(
  {
    batchSize: positive(),
    /** LeNet-5 on MNIST. */
    lenetBatches: Count(),
    /** VGG11 at width 1/4 on CIFAR-10; 0 when the budget does not allow it. */
    vggBatches: Count(),
  },
  closed,
);

export const TrainPlanSchema = Type.Object(
  {
    runs: Type.Array(Type.Object({ precision: oneOf(NIGHTLY_TRAIN_PRECISIONS), beta: NonNegative() }, closed), { minItems: 1 }),
    /**
     * Where the runs compute: the engine in strict mode. Absent in plans written before the slice
     * moved to the engine; those run as they did then, on tfjs-wasm.
     */
    backend: Type.Optional(Type.Literal('engine')),
    mode: Type.Optional(Type.Literal('strict')),
    batchSize: positive(),
    /** The first limitTrain training images, one pass (60,000: a full epoch). */
    limitTrain: positive(),
    limitTest: positive(),
  },
  closed,
);

export const CountsSchema = Type.Object(
  {
    suites: Nullable(SuitesPlanSchema),
    verify: Nullable(VerifyPlanSchema),
    zones: Nullable(ZonesPlanSchema),
    train: Nullable(TrainPlanSchema),
  },
  closed,
);

export const EstimatesSchema = Type.Object(
  {
    suites: NonNegative(),
    verify: NonNegative(),
    zones: NonNegative(),
    train: NonNegative(),
    reserve: NonNegative(),
    /** Calibration (spent) + the stages + the reserve. */
    total: NonNegative(),
  },
  closed,
);

const stage = oneOf(STAGES);

export const PlanSchema = Type.Object(
  {
    schema: Type.Literal('adzone/nightly-plan'),
    schemaVersion: Type.Literal(1),
    createdAt: Timestamp(),
    command: Type.Optional(Type.String()),
    seed: Count(),
    budgetSeconds: NonNegative(),
    /** 'calibrated' (counts fitted here) or 'plan-file' (counts copied from `from`). */
    source: oneOf(PLAN_SOURCES),
    from: Type.Optional(Type.String()),
    stages: Type.Array(stage),
    dropped: Type.Array(Type.Object({ stage, reason: Type.String() }, closed)),
    /**
     * Units of a stage that ran, left out for want of their data (the zones stage's VGG11 without
     * CIFAR-10), each with the network the gate matches it by; a stage left out whole is in
     * `dropped`. Absent in plans written before it.
     */
    leftOut: Type.Optional(
      Type.Array(Type.Object({ stage, unit: Type.String(), model: Type.String(), dataset: Type.String(), reason: Type.String() }, closed)),
    ),
    notes: Type.Optional(Type.Array(Type.String())),
    calibrationSeconds: NonNegative(),
    counts: CountsSchema,
    costs: CostsSchema,
    estimates: EstimatesSchema,
    pin: Type.Optional(Type.String()),
  },
  closed,
);

export const STAGE_STATUSES = ['done', 'truncated', 'skipped', 'crashed'] as const;
export const SUITE_STATUSES = ['passed', 'failed', 'timed-out', 'crashed', 'skipped'] as const;
/** The gate's verdicts (src/gate: pass, partial, regression), 'unusable' when it could not run, 'not-run' without a baseline. */
export const GATE_VERDICTS = ['pass', 'partial', 'regression', 'unusable', 'not-run'] as const;

/** One property-suite file run by the nightly: its counts, failures and every test case (for JUnit). */
export const SuiteFileResultSchema = Type.Object({
  file: Type.String(),
  status: oneOf(SUITE_STATUSES),
  tests: Count(),
  passed: Count(),
  failed: Count(),
  skippedTests: Count(),
  seconds: NonNegative(),
  readsMultiplier: Type.Boolean(),
  failures: Type.Array(Type.Object({ name: Type.String(), message: Type.String() })),
  cases: Type.Array(
    Type.Object({ name: Type.String(), status: Type.String(), seconds: NonNegative(), message: Type.Optional(Type.String()) }),
  ),
  /** vitest's JSON report and the log of the file's run, when kept. */
  json: Nullable(Type.String()),
  log: Nullable(Type.String()),
  note: Type.Optional(Type.String()),
});

const suitesTotals = () => Type.Object({ files: Count(), tests: Count(), passed: Count(), failed: Count(), skipped: Count() });

export const SuitesSummarySchema = Type.Object({
  multiplier: Type.Number({ minimum: 1 }),
  seed: Type.Integer(),
  totals: suitesTotals(),
  files: Type.Array(SuiteFileResultSchema),
  truncated: Type.Boolean(),
});

/** suites.json, schema 'adzone/nightly-suites' version 1: the property suites' run in full. */
export const NightlySuitesSchema = Type.Object({
  schema: Type.Literal('adzone/nightly-suites'),
  schemaVersion: Type.Literal(1),
  ...SuitesSummarySchema.properties,
});

export const NightlySchema = Type.Object({
  schema: Type.Literal('adzone/nightly'),
  schemaVersion: Type.Literal(1),
  command: Type.String(),
  startedAt: Timestamp(),
  finishedAt: Timestamp(),
  seed: Count(),
  budgetSeconds: NonNegative(),
  totalSeconds: NonNegative(),
  plan: Type.Object({ file: Type.String(), source: oneOf(PLAN_SOURCES) }),
  calibrationSeconds: NonNegative(),
  stages: Type.Array(
    Type.Object({
      stage: oneOf([...STAGES, 'calibrate', 'report', 'gate'] as const),
      status: oneOf(STAGE_STATUSES),
      plannedSeconds: NonNegative(),
      seconds: NonNegative(),
      note: Type.Optional(Type.String()),
      error: Type.Optional(Type.String()),
    }),
  ),
  suites: Nullable(
    Type.Object({
      multiplier: Type.Number({ minimum: 1 }),
      seed: Type.Integer(),
      totals: suitesTotals(),
      files: Type.Array(
        Type.Object({
          file: Type.String(),
          status: oneOf(SUITE_STATUSES),
          tests: Count(),
          passed: Count(),
          failed: Count(),
          seconds: NonNegative(),
          readsMultiplier: Type.Boolean(),
        }),
      ),
    }),
  ),
  gate: Type.Object({
    verdict: oneOf(GATE_VERDICTS),
    baseline: Type.String(),
    regressions: Type.Array(Type.String()),
    notes: Type.Array(Type.String()),
    /** Stages the report declares it did not run (verdict 'partial'), why, and how many baseline items that left out. */
    skipped: Type.Optional(Type.Array(Type.Object({ stage: Type.String(), reason: Type.String(), notCompared: Count() }))),
    /** Why the gate could not run (verdict 'unusable') or was not run. */
    message: Type.Optional(Type.String()),
  }),
  files: Type.Object({
    html: Nullable(Type.String()),
    markdown: Nullable(Type.String()),
    junit: Nullable(Type.String()),
    json: Type.Array(Type.String()),
  }),
  truncated: Type.Boolean(),
  crashed: Type.Boolean(),
});

type Of<T extends TSchema> = DeepReadonly<StaticDecode<T>>;
export type Costs = Of<typeof CostsSchema>;
export type SuitesPlan = Of<typeof SuitesPlanSchema>;
export type VerifyPlan = Of<typeof VerifyPlanSchema>;
export type ZonesPlan = Of<typeof ZonesPlanSchema>;
export type TrainPlan = Of<typeof TrainPlanSchema>;
export type Counts = Of<typeof CountsSchema>;
export type Estimates = Of<typeof EstimatesSchema>;
export type PlanFile = Of<typeof PlanSchema>;
export type NightlyJson = Of<typeof NightlySchema>;
export type TestFailure = Of<typeof SuiteFileResultSchema>['failures'][number];
export type SuiteFileResult = Of<typeof SuiteFileResultSchema>;
export type SuitesSummary = Of<typeof SuitesSummarySchema>;
export type NightlySuitesJson = Of<typeof NightlySuitesSchema>;
