/**
 * thresholds.json of a gate baseline (schema 'adzone/gate-thresholds' version 1, src/schema/gate.ts):
 * what may move between the committed baseline and a new report, and by how much. Shares are
 * fractions (0.02 = 2 percentage points); accuracies are fractions too.
 */
import { GENERATORS } from '../generators/index.ts';
import { existsSync } from 'node:fs';
import { readResult, SchemaError, type Thresholds } from '../schema/index.ts';

export type { Thresholds } from '../schema/index.ts';

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
  const t = readResult(file, 'gate-thresholds').data;
  checkGeneratorIds(file, t.verify.loneMaxPoolGenerators ?? []);
  return t;
}

/**
 * Every generator the thresholds name must exist: a misspelt id in loneMaxPoolGenerators would
 * silently take that generator out of the 64-bit rule (compensation on a lone MaxPool is impossible there).
 */
function checkGeneratorIds(file: string, ids: readonly string[]): void {
  const known = new Set(GENERATORS.map((g) => g.id));
  ids.forEach((id, i) => {
    if (!known.has(id))
      throw new SchemaError(file, `$.verify.loneMaxPoolGenerators[${i}]`, `a generator id (${[...known].join(', ')})`, `'${id}'`);
  });
}
