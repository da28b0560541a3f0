/**
 * verify.json, schema 'adzone/verify' version 1: what `adzone verify` writes (src/cli/main.ts):
 * the run's header (VerifyHeader), the zone table (TableRow), real-tie totals and the minimal
 * counterexamples (Counterexample), see src/zones/verify.ts.
 *
 * Fields added to version 1 after its first files were written are optional here, so those early
 * files still read: `counts.defect`, `underflow`, `valueChecks[].entry`.
 */
import type { VerifyHeader } from '../report/verifyMarkdown.ts';
import type { VerifyResult } from '../zones/verify.ts';
import { any, arr, bool, count, lit, nullable, num, obj, oneOf, rec, share, str, union } from './shape.ts';

export interface VerifyJson extends VerifyHeader, VerifyResult {
  readonly schema: 'adzone/verify';
  readonly schemaVersion: 1;
  readonly tool: {
    readonly adzone: string;
    readonly node: string;
    readonly backends: Readonly<Record<string, Readonly<Record<string, string>>>>;
  };
  readonly betaMode: string;
}

const zoneClasses = ['regular', 'bifurcation', 'compensation:tie', 'compensation:flip', 'nonfinite', 'defect'];
const zones = ['regular', 'bifurcation', 'compensation', 'nonfinite', 'defect'];

const entry = obj({ index: count(), exact: str(), rounded: nullable(num({ nonFinite: true })) });
const finding = obj({
  layer: count(),
  kind: oneOf('maxpool', 'relu'),
  unit: count(),
  what: oneOf('real-tie', 'tie', 'flip', 'split'),
  exact: arr(num()),
  rounded: nullable(arr(num())),
  matters: bool(),
  entries: arr(entry),
});
const valueCheck = obj(
  { jacobian: str(), maxError: num({ nonFinite: true }), bound: num({ nonFinite: true }), within: bool() },
  { entry: count(), underflow: bool() },
);
export const classificationShape = obj(
  {
    backend: str(),
    precision: str(),
    zone: oneOf(...zones),
    target: oneOf('params', 'input'),
    findings: arr(finding),
    harmlessRoundingDiffs: count(),
    valueChecks: arr(valueCheck),
  },
  {
    cause: oneOf('tie', 'flip'),
    inputZone: oneOf(...zones),
    matchedRules: arr(str()),
    reason: str(),
    inconsistent: bool(),
    underflow: bool(),
    verdictBasis: oneOf('own-forward', 'no-forward'),
  },
);

const numbers = arr(num({ nonFinite: true }));
const problem = obj({
  input: obj({ shape: arr(count(), 4), data: numbers }),
  layers: arr(obj({ kind: oneOf('conv2d', 'relu', 'maxpool') })),
  params: arr(union(lit(null), obj({ weight: numbers }, { bias: numbers }))),
  cotangent: numbers,
});

export const verifyShape = obj({
  schema: lit('adzone/verify'),
  schemaVersion: lit(1),
  tool: obj({ adzone: str(), node: str(), backends: rec(rec(str())) }),
  command: str(),
  createdAt: str(),
  seed: count(),
  samples: count(),
  precisions: arr(str(), 1),
  jacobians: arr(str(), 1),
  reluAlphas: arr(share()),
  accumulate: str(),
  backends: arr(obj({ id: str(), description: str() }), 1),
  unavailable: arr(obj({ id: str(), unavailable: str() })),
  tieRules: arr(obj({ backend: str(), rule: str(), evidence: str() })),
  generators: arr(obj({ id: str(), description: str(), nearTie: bool() })),
  betaMode: str(),
  table: arr(
    obj(
      {
        generator: str(),
        backend: str(),
        precision: str(),
        n: count(),
        counts: obj(Object.fromEntries(zoneClasses.filter((z) => z !== 'defect').map((z) => [z, count()])), { defect: count() }),
        nonRegularShare: share(),
        harmlessRoundingDiffs: count(),
        inconsistent: count(),
      },
      { underflow: count(), inputZones: obj({}, Object.fromEntries(zones.map((z) => [z, count()]))), noForward: count() },
    ),
  ),
  realTies: arr(
    obj({
      generator: str(),
      draws: count(),
      tiedWindows: count(),
      harmful: count(),
      allZero: count(),
      otherHarmless: count(),
      reluZeros: count(),
    }),
  ),
  counterexamples: arr(
    obj({
      generator: str(),
      backend: str(),
      precision: str(),
      class: oneOf(...zoneClasses),
      seed: num({ int: true }),
      path: str(),
      numShrinks: count(),
      case: obj({ problem, meta: rec(any()) }),
      classification: classificationShape,
    }),
  ),
  seconds: num({ min: 0 }),
});
