/**
 * verify.json, schema 'adzone/verify' version 1: what `adzone verify` writes: the run's header
 * (VerifyHeader), the zone table (TableRow), real-tie totals and the minimal counterexamples, each
 * with its Classification (src/zones/classify.ts makes them, src/zones/verify.ts counts them).
 *
 * Fields added to version 1 after its first files were written are optional here, so those early
 * files still read: `counts.defect`, `underflow`, `valueChecks[].entry`. Fields this schema does not
 * name are allowed (a newer adzone may add one within version 1); nothing reads them.
 */
import { type StaticDecode, type TSchema, Type } from '@sinclair/typebox';
import type { BetaMode } from '../jacobians/index.ts';
import {
  COMPENSATION_CAUSES,
  VERDICT_BASES,
  GRADIENT_TARGETS,
  OUTCOMES,
  ProblemSchema,
  ROUTING_CHANGES,
  UNIT_KINDS,
  ZONE_CLASSES,
} from '../problem/index.ts';
import type { DeepReadonly } from '../util/json.ts';
import { Count, JsonNumber, NonNegative, Nullable, oneOf, Precision, Share, Timestamp } from './kit.ts';

export const BETA_MODES = ['backward', 'mixed-forward'] as const satisfies readonly BetaMode[];

/** One entry of a window (or a ReLU input): its flat index, exact value (a decimal) and value in precision p. */
export const EntryViewSchema = Type.Object({ index: Count(), exact: Type.String(), rounded: Nullable(JsonNumber()) });

/** One routing unit (a pooling window or a ReLU) that explains a classification. */
export const FindingSchema = Type.Object({
  layer: Count(),
  kind: oneOf(UNIT_KINDS),
  /** Output index of the window, or the ReLU unit index. */
  unit: Count(),
  what: oneOf(ROUTING_CHANGES, {
    description: "'real-tie': a tie over the reals; 'tie' / 'flip' / 'split': how rounding changed the routing",
  }),
  exact: Type.Array(Type.Integer(), { description: 'exact tie set (maxpool) or [sign] (relu)' }),
  rounded: Nullable(Type.Array(Type.Integer()), {
    description: 'tie set or [sign] in precision p; null when the backend does not expose routing',
  }),
  matters: Type.Boolean({ description: 'whether this unit alone changes the classified gradient' }),
  entries: Type.Array(EntryViewSchema),
});

export const ValueCheckSchema = Type.Object({
  jacobian: Type.String(),
  maxError: JsonNumber({ description: '|AD_p − AD_R| (as a double) at the entry with the largest error-to-bound ratio' }),
  bound: JsonNumber({ description: "that entry's rounding bound γ_N·Σ|terms| (Infinity when N·u ≥ 1)" }),
  entry: Type.Optional(Count({ description: "that entry's index in the classified gradient" })),
  within: Type.Boolean({ description: 'every entry within its own bound' }),
  underflow: Type.Optional(Type.Boolean({ description: 'the computation underflowed: the bound (standard model) does not apply' })),
});

export const ClassificationSchema = Type.Object({
  backend: Type.String(),
  precision: Precision(),
  zone: oneOf(OUTCOMES),
  cause: Type.Optional(oneOf(COMPENSATION_CAUSES)),
  /** What was classified: the parameter gradient, or the input gradient where there are no parameters. */
  target: oneOf(GRADIENT_TARGETS),
  /** Zone of the input gradient, reported beside the parameter gradient's (never mixed in). */
  inputZone: Type.Optional(oneOf(OUTCOMES)),
  findings: Type.Array(FindingSchema),
  /** Routing differences from rounding that did not change the gradient over the reals. */
  harmlessRoundingDiffs: Count(),
  valueChecks: Type.Array(ValueCheckSchema),
  /** Fixed-Jacobian backends at a real tie: the family members whose AD_R their result matches within rounding. */
  matchedRules: Type.Optional(Type.Array(Type.String())),
  /** Set when zone is 'nonfinite' or 'defect': why. */
  reason: Type.Optional(Type.String()),
  /** A regular point whose value check failed without underflow. */
  inconsistent: Type.Optional(Type.Boolean()),
  underflow: Type.Optional(Type.Boolean()),
  /**
   * What the verdict rests on: the backend's own forward values ('own-forward', so a routing defect
   * shows as 'defect'), or nothing ('no-forward': beyond rounding can only be called compensation on trust).
   */
  verdictBasis: Type.Optional(oneOf(VERDICT_BASES)),
});

/** Counts per zone class; `defect` is optional for files written before defects were classified. */
const ZoneCountsSchema = Type.Object(
  {
    ...Type.Record(oneOf(ZONE_CLASSES), Count()).properties,
    defect: Type.Optional(Count()),
  },
  { additionalProperties: false },
);

export const TableRowSchema = Type.Object({
  generator: Type.String(),
  backend: Type.String(),
  precision: Precision(),
  n: Count(),
  counts: ZoneCountsSchema,
  nonRegularShare: Share({ description: 'bifurcation + compensation over the finite draws (defects are counted apart)' }),
  harmlessRoundingDiffs: Count({ description: 'draws where rounding changed the routing without changing the gradient over the reals' }),
  inconsistent: Count({ description: 'regular draws outside the rigorous rounding bound without underflow (should be 0)' }),
  underflow: Type.Optional(Count({ description: 'draws whose precision-p computation underflowed' })),
  inputZones: Type.Optional(
    Type.Partial(Type.Record(oneOf(OUTCOMES), Count()), { additionalProperties: false, description: 'input-gradient zones of chains' }),
  ),
  noForward: Type.Optional(
    Count({
      description:
        "draws classified without the backend's forward values (their compensation may hide a routing defect); present when not 0",
    }),
  ),
});

export const RealTieTotalsSchema = Type.Object({
  generator: Type.String(),
  draws: Count(),
  tiedWindows: Count(),
  harmful: Count(),
  allZero: Count(),
  otherHarmless: Count(),
  reluZeros: Count(),
});

/** One generated evaluation point, with a note of how it was built (src/generators). */
export const CaseSchema = Type.Object({
  problem: ProblemSchema,
  meta: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()])),
});

export const CounterexampleSchema = Type.Object({
  generator: Type.String(),
  backend: Type.String(),
  precision: Precision(),
  class: oneOf(ZONE_CLASSES),
  /** fast-check seed and path: `adzone replay` reproduces the shrunk case from them. */
  seed: Type.Integer(),
  path: Type.String(),
  numShrinks: Count(),
  /** Shrink candidates classified, and whether the run's budget (result.shrink.steps) stopped shrinking with candidates left. */
  shrinkSteps: Type.Optional(Count()),
  shrinkExhausted: Type.Optional(Type.Boolean()),
  case: CaseSchema,
  classification: ClassificationSchema,
});

const header = {
  command: Type.String(),
  createdAt: Timestamp(),
  seed: Count(),
  samples: Count(),
  precisions: Type.Array(Precision(), { minItems: 1 }),
  jacobians: Type.Array(Type.String(), { minItems: 1 }),
  reluAlphas: Type.Array(Share()),
  accumulate: Type.String(),
  backends: Type.Array(Type.Object({ id: Type.String(), description: Type.String() }), { minItems: 1 }),
  unavailable: Type.Array(Type.Object({ id: Type.String(), unavailable: Type.String() })),
  tieRules: Type.Array(Type.Object({ backend: Type.String(), rule: Type.String(), evidence: Type.String() })),
  generators: Type.Array(Type.Object({ id: Type.String(), description: Type.String(), nearTie: Type.Boolean() })),
};
export const VerifyHeaderSchema = Type.Object(header);

const result = {
  table: Type.Array(TableRowSchema),
  realTies: Type.Array(RealTieTotalsSchema),
  counterexamples: Type.Array(CounterexampleSchema),
  seconds: NonNegative(),
  /** The shrink budget (candidates per class), classes shrunk, and how many of them the budget stopped early. */
  shrink: Type.Optional(Type.Object({ steps: Count(), classes: Count(), exhausted: Count() })),
  /** CPU seconds of the Node process (all its threads; a PyTorch bridge's own process not counted), and the worker threads the sweep ran on (the result does not depend on it). */
  cpuSeconds: Type.Optional(NonNegative()),
  jobs: Type.Optional(Count()),
};
export const VerifyResultSchema = Type.Object(result);

export const VerifySchema = Type.Object({
  schema: Type.Literal('adzone/verify'),
  schemaVersion: Type.Literal(1),
  tool: Type.Object({
    adzone: Type.String(),
    node: Type.String(),
    backends: Type.Record(Type.String(), Type.Record(Type.String(), Type.String())),
  }),
  ...header,
  betaMode: oneOf(BETA_MODES),
  ...result,
});

type Of<T extends TSchema> = DeepReadonly<StaticDecode<T>>;
export type EntryView = Of<typeof EntryViewSchema>;
export type Finding = Of<typeof FindingSchema>;
export type ValueCheck = Of<typeof ValueCheckSchema>;
export type Classification = Of<typeof ClassificationSchema>;
export type TableRow = Of<typeof TableRowSchema>;
export type RealTieTotals = Of<typeof RealTieTotalsSchema>;
export type Case = Of<typeof CaseSchema>;
export type Counterexample = Of<typeof CounterexampleSchema>;
export type VerifyHeader = Of<typeof VerifyHeaderSchema>;
export type VerifyResult = Of<typeof VerifyResultSchema>;
export type VerifyJson = Of<typeof VerifySchema>;
