/**
 * thresholds.json of a gate baseline (schema 'adzone/gate-thresholds' version 1): what may move
 * between the committed baseline and a new report, and by how much. Shares are fractions (0.02 =
 * 2 percentage points); accuracies are fractions too.
 */
import { existsSync, readFileSync } from 'node:fs';
import { arr, bool, check, count, lit, num, obj, rec, SchemaError, share, str } from '../schema/shape.ts';

export interface Thresholds {
  readonly schema: 'adzone/gate-thresholds';
  readonly schemaVersion: 1;
  /** Result kinds the report must hold (a baseline kind not listed here is compared only when the report has it). */
  readonly require: readonly string[];
  readonly verify: {
    /** Regular draws outside the rigorous rounding bound, per row, in the report. */
    readonly inconsistentMax: number;
    /** Generators drawing a lone MaxPool (input exact at 64 bits); default: from the generator registry. */
    readonly loneMaxPoolGenerators?: readonly string[];
    /** Compensation draws at 64 bits on those generators, per row. */
    readonly loneMaxPool64CompensationMax: number;
    /** Largest allowed growth of a row's non-regular share, per precision (absolute, as a fraction). */
    readonly nonRegularShareMaxIncrease: Readonly<Record<string, number>>;
    /** Largest allowed growth of a row's defect share. */
    readonly defectShareMaxIncrease: number;
    /**
     * Extra allowance, in binomial standard errors of the difference, when the two runs drew
     * different points (different seed or sample count). With the same seed and samples the draws
     * are identical, so no sampling allowance applies.
     */
    readonly samplingSigmas: number;
    /** Every framework backend's measured tie rule must stay the same. */
    readonly tieRulesMustMatch: boolean;
    /** Every (generator, backend, precision) row of the baseline must be in the report. */
    readonly rowsMustMatch: boolean;
  };
  readonly zones: {
    /** Largest allowed growth of the exact share of batches in a zone, per precision. */
    readonly exactShareMaxIncrease: number;
  };
  readonly train: {
    /** Largest allowed drop of the mean test accuracy at β = 0 (fraction: 0.005 = 0.5 pp), per configuration, between runs trained alike (same recipe). */
    readonly accuracyAtBeta0MaxDrop: number;
  };
  readonly notes?: readonly string[];
}

export const thresholdsShape = obj(
  {
    schema: lit('adzone/gate-thresholds'),
    schemaVersion: lit(1),
    require: arr(str({ values: ['verify', 'zones', 'bench', 'train', 'ablate'] })),
    verify: obj(
      {
        inconsistentMax: count(),
        loneMaxPool64CompensationMax: count(),
        nonRegularShareMaxIncrease: rec(share()),
        defectShareMaxIncrease: share(),
        samplingSigmas: num({ min: 0 }),
        tieRulesMustMatch: bool(),
        rowsMustMatch: bool(),
      },
      { loneMaxPoolGenerators: arr(str()) },
    ),
    zones: obj({ exactShareMaxIncrease: share() }),
    train: obj({ accuracyAtBeta0MaxDrop: share() }),
  },
  { notes: arr(str()) },
);

export function defaultThresholds(loneMaxPoolGenerators: readonly string[]): Thresholds {
  return {
    schema: 'adzone/gate-thresholds',
    schemaVersion: 1,
    require: ['verify'],
    verify: {
      inconsistentMax: 0,
      loneMaxPoolGenerators: [...loneMaxPoolGenerators],
      loneMaxPool64CompensationMax: 0,
      nonRegularShareMaxIncrease: { '16': 0.05, '32': 0.02, '64': 0.02 },
      defectShareMaxIncrease: 0.02,
      samplingSigmas: 3,
      tieRulesMustMatch: true,
      rowsMustMatch: true,
    },
    zones: { exactShareMaxIncrease: 0.05 },
    train: { accuracyAtBeta0MaxDrop: 0.005 },
    notes: [
      'Shares and accuracies are fractions: 0.02 = 2 percentage points.',
      'verify.inconsistentMax: regular draws outside the rigorous rounding bound allowed per row (a classifier/bound disagreement; must stay 0).',
      'verify.loneMaxPool64CompensationMax: compensation draws allowed at 64 bits on lone-MaxPool generators, whose input is exact at 64 bits (must stay 0). Bifurcation there is expected (exact ties) and not counted.',
      "verify.nonRegularShareMaxIncrease: per precision, how much a (generator, backend, precision) row's non-regular share (bifurcation + compensation over finite draws) may grow.",
      "verify.defectShareMaxIncrease: how much a row's share of framework defects may grow.",
      'verify.samplingSigmas: extra allowance in binomial standard errors when the report drew other points than the baseline (other --seed or --samples); none when seed and samples match.',
      "verify.tieRulesMustMatch: a framework backend's measured MaxPool tie rule (first / last / minnorm) must not change.",
      'zones.exactShareMaxIncrease: how much the exact share of mini-batches in a zone may grow, per network and precision (compared when both sides have that zones.json).',
      'train.accuracyAtBeta0MaxDrop: how much the mean test accuracy at beta = 0 may drop, per (model, dataset, precision, mode, optimizer, batch norm), when both sides have train results. Runs are compared only when trained alike: same recipe (every training option but beta, seed and logEvery: epochs, batch size, lr and schedule, momentum, weight decay, width, augmentation, beta mode, backend, limitTrain, limitTest, ...); runs trained differently are not compared (a note names the fields that differ), and runs whose recipe is unknown (no config recorded) are compared by configuration only, with a note.',
    ],
  };
}

export function readThresholds(file: string): Thresholds {
  if (!existsSync(file))
    throw new SchemaError(
      file,
      '$',
      'a thresholds file',
      'nothing there',
      `${file}: missing (the baseline needs its thresholds.json; 'adzone gate --update' writes a default one)`,
    );
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new SchemaError(file, '$', 'JSON', 'text that is not JSON', `${file}: not valid JSON (${(e as Error).message})`);
  }
  const v = (raw as { schemaVersion?: unknown } | null)?.schemaVersion;
  if ((raw as { schema?: unknown } | null)?.schema === 'adzone/gate-thresholds' && v !== 1) {
    throw new SchemaError(
      file,
      '$.schemaVersion',
      'version 1',
      `version ${String(v)}`,
      `${file}: schema adzone/gate-thresholds version ${String(v)}; this adzone reads version 1`,
    );
  }
  check(thresholdsShape, raw, file);
  return raw as Thresholds;
}
