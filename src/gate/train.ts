/**
 * The gate's rules for training runs. Every baseline run (configuration, recipe, β, seed) must be
 * in the report: a run trained another way is another run, so a report whose runs were all trained
 * differently misses the baseline's (the line says which fields differ). The mean test accuracy at
 * β = 0 may drop by a margin, compared between runs trained alike only: a report group is compared
 * with the baseline group of the same configuration and recipe; when there is none, with the
 * baseline groups whose recipe is unknown (or, when the report's recipe is unknown, with every
 * baseline group of the configuration), as before recipes were recorded, and a note says so.
 */
import { someFiles } from '../schema/discover.ts';
import {
  type AccuracySummary,
  accuracyByBeta,
  configKey,
  configLabel,
  type Recipe,
  type RunRow,
  recipeDiff,
  recipeKey,
  recipeTag,
  varyingKeys,
} from '../schema/runs.ts';
import type { Thresholds } from './thresholds.ts';
import type { Regression } from './verify.ts';

interface TrainGroup {
  readonly recipe: Recipe | undefined;
  readonly acc: AccuracySummary;
}

/** β = 0 runs per configuration, then per recipe ('?' when unknown). */
function beta0Groups(runs: readonly RunRow[]): Map<string, Map<string, TrainGroup>> {
  const by = new Map<string, Map<string, RunRow[]>>();
  for (const r of runs) {
    if (r.beta !== 0) continue;
    const m = by.get(configKey(r)) ?? new Map<string, RunRow[]>();
    m.set(recipeKey(r.recipe), [...(m.get(recipeKey(r.recipe)) ?? []), r]);
    by.set(configKey(r), m);
  }
  const groups = new Map<string, Map<string, TrainGroup>>();
  for (const [ck, m] of by) groups.set(ck, new Map([...m].map(([rk, rs]) => [rk, { recipe: rs[0].recipe, acc: accuracyByBeta(rs)[0] }])));
  return groups;
}

export interface TrainOutcome {
  readonly regressions: Regression[];
  readonly notes: string[];
  /** (baseline, report) pairs of groups compared, and report groups left uncompared because every baseline group of their configuration was trained differently. */
  readonly compared: number;
  readonly notCompared: number;
  /** Baseline runs left out because the report declares the train stage skipped. */
  readonly runsNotCompared: number;
}

const alike = (a: Recipe | undefined, b: Recipe | undefined) => !a || !b || recipeKey(a) === recipeKey(b);
const runName = (r: RunRow) => `${r.model} on ${r.dataset}, ${configLabel(r)}`;

/** Every baseline run must have a report run of the same configuration, β and seed, trained alike; one line per (configuration, recipe). */
function missingRuns(base: readonly RunRow[], rep: readonly RunRow[]): { regressions: Regression[]; runs: number } {
  const missing = new Map<string, RunRow[]>();
  for (const b of base) {
    const found = rep.some((r) => configKey(r) === configKey(b) && r.beta === b.beta && r.seed === b.seed && alike(r.recipe, b.recipe));
    if (found) continue;
    const k = `${configKey(b)}#${recipeKey(b.recipe)}`;
    missing.set(k, [...(missing.get(k) ?? []), b]);
  }
  const regressions = [...missing.values()].map((rs) => {
    const b = rs[0];
    const others = rep.filter((r) => configKey(r) === configKey(b) && r.recipe && b.recipe && !alike(r.recipe, b.recipe));
    const diff = others.length
      ? `; the report's runs of this configuration were trained differently: ${recipeDiff(b.recipe!, others[0].recipe!)} (baseline vs report)`
      : '';
    const list = rs.map((r) => `β=${r.beta} seed ${r.seed}`).join(', ');
    return {
      check: 'train-run-missing',
      line: `train run${rs.length > 1 ? 's' : ''} missing: ${runName(b)}${b.recipe ? ` (${recipeTag(b.recipe, [])})` : ''}: ${list} ${rs.length > 1 ? 'are' : 'is'} in the baseline (${someFiles(rs.map((r) => r.file))}) but not in the report${diff}; run them as the baseline did, or rebaseline with --update`,
    };
  });
  return { regressions, runs: [...missing.values()].reduce((a, rs) => a + rs.length, 0) };
}

function groupLabel(name: string, split: boolean, r: TrainGroup, b: TrainGroup, keys: ReturnType<typeof varyingKeys>): string {
  if (!split) return name;
  if (r.recipe) return `${name} (${recipeTag(r.recipe, keys)})`;
  return b.recipe ? `${name} (recipe unknown in the report; baseline ${recipeTag(b.recipe, keys)})` : `${name} (recipe unknown)`;
}

/** One report group against its baseline targets: a regression when the mean dropped, a note when a recipe is unknown. */
function compareGroup(
  label: string,
  b: TrainGroup,
  r: TrainGroup,
  t: Thresholds['train'],
  out: { regressions: Regression[]; notes: string[] },
) {
  if (!b.recipe || !r.recipe) {
    const side = !b.recipe && !r.recipe ? 'the baseline and the report' : !b.recipe ? 'the baseline' : 'the report';
    out.notes.push(
      `train: ${label} at β = 0: recipe unknown in ${side} (no config recorded, no readable result.json beside it); compared by configuration only, so the runs may have been trained differently (look at ${someFiles([...b.acc.files, ...r.acc.files])})`,
    );
  }
  const drop = b.acc.mean - r.acc.mean;
  if (drop > t.accuracyAtBeta0MaxDrop + 1e-12)
    out.regressions.push({
      check: 'accuracy-beta0',
      line:
        `test accuracy at β = 0 dropped: ${label} moved from ${(100 * b.acc.mean).toFixed(2)}% to ${(100 * r.acc.mean).toFixed(2)}% ` +
        `(−${(100 * drop).toFixed(2)} pp, mean over ${r.acc.seeds} seed${r.acc.seeds > 1 ? 's' : ''}), allowed −${(100 * t.accuracyAtBeta0MaxDrop).toFixed(2)} pp; look at ${r.acc.files.join(', ')}`,
    });
}

/** Mean test accuracy at β = 0, baseline against report, per configuration: between runs trained alike only. */
function compareAccuracy(base: readonly RunRow[], rep: readonly RunRow[], t: Thresholds['train']) {
  const out = { regressions: [] as Regression[], notes: [] as string[], compared: 0, notCompared: 0 };
  const b0 = beta0Groups(base);
  for (const [ck, rGroups] of beta0Groups(rep)) {
    const bGroups = b0.get(ck);
    if (!bGroups) continue;
    const cfg = [...rGroups.values()][0].acc.config;
    const name = `${cfg.model} on ${cfg.dataset}, ${configLabel(cfg)}`;
    const split = bGroups.size > 1 || rGroups.size > 1;
    const keys = varyingKeys([...bGroups.values(), ...rGroups.values()].map((g) => g.recipe));
    for (const [rk, r] of rGroups) {
      const exact = r.recipe ? bGroups.get(rk) : undefined;
      const targets = exact ? [exact] : [...bGroups.values()].filter((b) => !b.recipe || !r.recipe);
      for (const b of targets) compareGroup(groupLabel(name, split, r, b, keys), b, r, t, out);
      out.compared += targets.length;
      if (!targets.length) out.notCompared++;
      for (const b of exact ? [] : [...bGroups.values()].filter((x) => x.recipe && r.recipe))
        out.notes.push(
          `train: ${name} at β = 0: not compared, trained differently: ${recipeDiff(b.recipe!, r.recipe!)} (baseline vs report; ` +
            `${(100 * b.acc.mean).toFixed(2)}% vs ${(100 * r.acc.mean).toFixed(2)}%; look at ${someFiles([...b.acc.files, ...r.acc.files])})`,
        );
    }
  }
  return out;
}

export function compareTrain(base: readonly RunRow[], rep: readonly RunRow[], t: Thresholds['train'], skipped = false): TrainOutcome {
  const acc = compareAccuracy(base, rep, t);
  const missing = missingRuns(base, rep);
  return {
    regressions: [...(skipped ? [] : missing.regressions), ...acc.regressions],
    notes: acc.notes,
    compared: acc.compared,
    notCompared: acc.notCompared,
    runsNotCompared: skipped ? missing.runs : 0,
  };
}
