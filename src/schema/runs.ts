/**
 * Training runs from whatever train results were found: each train result.json is one run, each
 * ablate.json a list of them.
 *
 * Every run carries its training *recipe* when it is known: every config field that changes the
 * numbers except β and seed (and logEvery, which only changes logging) — from result.json's
 * `config`, from the `config` an ablate.json entry carries, or, for an entry without one (older
 * ablate.json files, the nightly's), from the result.json in the entry's `dir` when it exists,
 * validates and is the same run. Runs of one configuration (configKey) with different recipes were
 * trained differently: they are not averaged together (accuracyByBeta) nor compared (the gate).
 *
 * Deduplicated by (model, dataset, precision, mode, optimizer, batch norm, β, seed, recipe); a run
 * found twice keeps its first file, and a run whose recipe is unknown is dropped when the same run
 * (β and seed) is also found with a known recipe.
 */
import { join, resolve } from 'node:path';
import { type ReadResult, readResult } from './index.ts';
import type { AblateRun, TrainJson, TrainRunKey } from './train.ts';
import { effectiveStem } from './train.ts';

type ConfigField = keyof TrainJson['config'];
/** The config fields of a recipe: all but β, seed and logEvery. */
export type RecipeKey = Exclude<ConfigField, 'beta' | 'seed' | 'logEvery'>;
/** A run's recipe, as recorded (a field an older writer did not record is absent). */
export type Recipe = Readonly<Partial<Record<RecipeKey, unknown>>>;

// Every TrainConfig field but β, seed and logEvery, in CONFIG_KEYS order; tsc refuses a field left out.
const RECIPE_FIELDS: Record<RecipeKey, true> = {
  model: true,
  dataset: true,
  betaMode: true,
  reluAlpha: true,
  precision: true,
  mode: true,
  backend: true,
  device: true,
  epochs: true,
  batchSize: true,
  optimizer: true,
  lr: true,
  momentum: true,
  weightDecay: true,
  lrSchedule: true,
  masterWeights: true,
  lossScale: true,
  batchNorm: true,
  width: true,
  stem: true,
  augment: true,
  limitTrain: true,
  limitTest: true,
  validation: true,
};
export const RECIPE_KEYS = Object.keys(RECIPE_FIELDS) as readonly RecipeKey[];

export interface RunRow extends TrainRunKey {
  readonly testAccuracy: number | null;
  /** The file it came from. */
  readonly file: string;
  /** Directory of its result.json, when known (metrics.jsonl lives there). */
  readonly dir?: string;
  /** The run's config as recorded (result.json, the ablate.json entry, or the entry's result.json); absent when unknown. */
  readonly config?: TrainJson['config'];
  /** Its recipe (the config without β, seed and logEvery); absent when unknown. */
  readonly recipe?: Recipe;
  /** A tuned cell's search (adzone ablate with a `tune:` block): the lr chosen and the trials. */
  readonly tune?: AblateRun['tune'];
}

/** The configuration a β sweep is drawn for: everything but β and seed. */
export const configKey = (r: TrainRunKey) =>
  `${r.model}|${r.dataset}|${r.precision}${r.mode ? `|${r.mode}` : ''}|${r.optimizer}|${r.batchNorm ? 'bn' : 'nobn'}`;
export const runKey = (r: TrainRunKey) => `${configKey(r)}|${r.beta}|${r.seed}`;
/** "16-bit wide sgd + BN"; tfjs's own float32 ('framework') is the plain 32-bit case and is not named. */
export const configLabel = (r: TrainRunKey) =>
  `${r.precision}-bit ${r.mode && r.mode !== 'framework' ? `${r.mode} ` : ''}${r.optimizer}${r.batchNorm ? ' + BN' : ''}`;

/**
 * The model with its architecture: "resnet18 ×1/4, imagenet stem" (the width when recorded and not
 * 1; ResNet18's stem, recorded or its default for the data set); just the name otherwise ("lenet5").
 */
export function modelLabel(r: Pick<RunRow, 'model' | 'dataset' | 'recipe'>): string {
  const w = r.recipe?.width;
  const stem = effectiveStem({ model: r.model, dataset: r.dataset, stem: r.recipe?.stem });
  const parts: string[] = [];
  if (typeof w === 'number' && w !== 1) parts.push(`×${Number.isInteger(1 / w) ? `1/${1 / w}` : String(w)}`);
  if (typeof stem === 'string') parts.push(`${stem} stem`);
  return parts.length ? `${r.model} ${parts.join(', ')}` : r.model;
}

/** The recipe of a recorded config, or undefined when it is not an object. */
export function recipeOf(config: unknown): Recipe | undefined {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) return undefined;
  const c = config as Record<string, unknown>;
  return Object.fromEntries(RECIPE_KEYS.filter((k) => c[k] !== undefined).map((k) => [k, c[k]])) as Recipe;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** One string per recipe (equal recipes, equal strings); '?' when unknown. */
export const recipeKey = (r: Recipe | undefined) =>
  r ? RECIPE_KEYS.map((k) => (r[k] === undefined ? '' : JSON.stringify(r[k]))).join('|') : '?';

/** A recipe value for people: null limits are 'all', a null width 'default', an unrecorded field 'unset'. */
export function recipeValue(k: RecipeKey, v: unknown): string {
  if (v === undefined) return 'unset';
  if (v === null) return k === 'limitTrain' || k === 'limitTest' ? 'all' : k === 'width' ? 'default' : 'null';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** The fields where two recipes differ: "epochs 4 vs 1, limitTrain all vs 10368". */
export function recipeDiff(a: Recipe, b: Recipe): string {
  return RECIPE_KEYS.filter((k) => !same(a[k], b[k]))
    .map((k) => `${k} ${recipeValue(k, a[k])} vs ${recipeValue(k, b[k])}`)
    .join(', ');
}

/** The fields on which some of these recipes differ (RECIPE_KEYS order). */
export function varyingKeys(recipes: readonly (Recipe | undefined)[]): RecipeKey[] {
  const known = recipes.filter((r): r is Recipe => r !== undefined);
  return RECIPE_KEYS.filter((k) => known.some((r) => !same(r[k], known[0][k])));
}

const HEADLINE: readonly RecipeKey[] = ['epochs', 'batchSize', 'lr', 'limitTrain'];

/** A recipe told apart from others by `keys` (varyingKeys): "epochs 1, limitTrain 10368"; 'recipe unknown' when unknown. */
export function recipeTag(r: Recipe | undefined, keys: readonly RecipeKey[]): string {
  if (!r) return 'recipe unknown';
  const ks = keys.length ? keys : HEADLINE.filter((k) => r[k] !== undefined);
  return ks.map((k) => `${k} ${recipeValue(k, r[k])}`).join(', ') || 'recipe recorded';
}

/** The config of an ablate.json entry without one: its dir's result.json, if it exists, validates and is this run. */
function configFromDir(entry: TrainRunKey, dir: string | undefined): TrainJson['config'] | undefined {
  if (!dir) return undefined;
  let c: TrainJson['config'];
  try {
    c = readResult(join(dir, 'result.json'), 'train').data.config;
  } catch {
    return undefined;
  }
  const fields = ['model', 'dataset', 'precision', 'optimizer', 'batchNorm', 'beta', 'seed'] as const;
  if (fields.some((f) => c[f] !== entry[f]) || (entry.mode !== undefined && c.mode !== entry.mode)) return undefined;
  return c;
}

const parentDir = (file: string) => file.replace(/[\\/][^\\/]*$/, '');

/**
 * A tuned run's recipe: its lr is the search's choice, so the recipe names the search instead (runs
 * of one tuned grid differ in lr by cell and are still one recipe).
 */
function tunedRecipe(recipe: Recipe | undefined, tune: AblateRun['tune']): Recipe | undefined {
  if (!recipe || !tune) return recipe;
  const s = tune.search;
  return { ...recipe, lr: `searched (${s.trials} trials in [${s.lrMin}, ${s.lrMax}], rungs ${s.rungs.join('/')})` };
}

/** The folders of the runs ablate.json files list, with their runs' keys (a result.json found there of the same key is that run). */
function listedDirs(results: readonly ReadResult[]): Set<string> {
  const dirs = new Set<string>();
  for (const r of results)
    if (r.kind === 'ablate')
      for (const x of (r as ReadResult<'ablate'>).data.runs) if (x.dir) dirs.add(`${resolve(parentDir(r.file), x.dir)}|${runKey(x)}`);
  return dirs;
}

/**
 * Every run of the results, once. A result.json with a `validation` split is a search's trial (it
 * has no test accuracy) and is left out; a result.json in a folder an ablate.json lists is that
 * entry's run (a tuned cell's final run, whose recipe the entry says).
 */
export function trainRuns(results: readonly ReadResult[]): RunRow[] {
  const out = new Map<string, RunRow>();
  const known = new Set<string>();
  const listed = listedDirs(results);
  const add = (row: RunRow) => {
    const k = `${runKey(row)}|${recipeKey(row.recipe)}`;
    if (out.has(k)) return;
    out.set(k, row);
    if (row.recipe) known.add(runKey(row));
  };
  for (const r of results) {
    if (r.kind === 'train') {
      const d = (r as ReadResult<'train'>).data;
      const c = d.config;
      if (c.validation || listed.has(`${resolve(parentDir(r.file))}|${runKey(c)}`)) continue;
      add({
        model: c.model,
        dataset: c.dataset,
        precision: c.precision,
        mode: c.mode,
        optimizer: c.optimizer,
        batchNorm: c.batchNorm,
        beta: c.beta,
        seed: c.seed,
        testAccuracy: d.finalTestAcc,
        file: r.file,
        dir: parentDir(r.file),
        config: c,
        recipe: recipeOf(c),
      });
    } else if (r.kind === 'ablate') {
      const d = (r as ReadResult<'ablate'>).data;
      for (const x of d.runs) {
        const { config: own, ...entry } = x;
        const dir = x.dir ? `${parentDir(r.file)}/${x.dir}` : undefined;
        const config = own ?? configFromDir(x, dir);
        const recipe = tunedRecipe(recipeOf(config), x.tune);
        add({ ...entry, file: r.file, ...(dir ? { dir } : {}), ...(config ? { config } : {}), ...(recipe ? { recipe } : {}) });
      }
    }
  }
  return [...out.values()].filter((r) => r.recipe || !known.has(runKey(r)));
}

export interface AccuracySummary {
  /** `${group}|${beta}`. */
  readonly key: string;
  /** configKey, or configKey|recipe tag when runs of that configuration were trained several ways. */
  readonly group: string;
  /** configLabel, with the recipe tag in brackets when the configuration was trained several ways. */
  readonly label: string;
  readonly config: TrainRunKey;
  /** The recipe of the group's runs (absent when unknown). */
  readonly recipe?: Recipe;
  readonly beta: number;
  readonly seeds: number;
  /** Mean, min and max of the finite accuracies over seeds (diverged runs count as accuracy 0 when null). */
  readonly mean: number;
  readonly min: number;
  readonly max: number;
  readonly files: readonly string[];
}

/**
 * Mean and spread over seeds, per configuration and β. A run without an accuracy (diverged) counts
 * as 0. Runs of one configuration with different recipes are never averaged together: when a
 * configuration was trained several ways, each recipe is its own group, labelled by the fields
 * that tell the recipes apart (an unknown recipe is a group of its own, 'recipe unknown').
 */
export function accuracyByBeta(runs: readonly RunRow[]): AccuracySummary[] {
  const recipes = new Map<string, Map<string, Recipe | undefined>>();
  for (const r of runs) {
    const m = recipes.get(configKey(r)) ?? new Map<string, Recipe | undefined>();
    m.set(recipeKey(r.recipe), r.recipe);
    recipes.set(configKey(r), m);
  }
  const tags = new Map<string, string>();
  for (const [ck, m] of recipes) {
    if (m.size < 2) continue;
    const keys = varyingKeys([...m.values()]);
    for (const [rk, rec] of m) tags.set(`${ck}#${rk}`, recipeTag(rec, keys));
  }
  const g = new Map<string, { group: string; label: string; rs: RunRow[] }>();
  for (const r of runs) {
    const tag = tags.get(`${configKey(r)}#${recipeKey(r.recipe)}`);
    const group = tag === undefined ? configKey(r) : `${configKey(r)}|${tag}`;
    const k = `${group}|${r.beta}`;
    const e = g.get(k) ?? { group, label: tag === undefined ? configLabel(r) : `${configLabel(r)} (${tag})`, rs: [] };
    e.rs.push(r);
    g.set(k, e);
  }
  return [...g.entries()].map(([key, { group, label, rs }]) => {
    const accs = rs.map((r) => r.testAccuracy ?? 0);
    return {
      key,
      group,
      label,
      config: rs[0],
      ...(rs[0].recipe ? { recipe: rs[0].recipe } : {}),
      beta: rs[0].beta,
      seeds: rs.length,
      mean: accs.reduce((a, b) => a + b, 0) / accs.length,
      min: Math.min(...accs),
      max: Math.max(...accs),
      files: [...new Set(rs.map((r) => r.file))],
    };
  });
}
