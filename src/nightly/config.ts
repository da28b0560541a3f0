/**
 * The nightly's config (index.ts): what a caller sets, its defaults, and the checks made before any
 * work, so that a run never spends its budget and then finds it cannot use what it was given:
 *
 *   - the plan file is read and holds counts for every requested stage;
 *   - the baseline, when one is named, is a folder the gate can use (thresholds.json and every
 *     result file valid); the default, fixtures/baseline, is used only when it is there;
 *   - the data each stage needs is looked at (data.ts): what is missing is left out, and a run that
 *     could do nothing at all is refused;
 *   - the output folder is new or empty, and writable (it is made now).
 *
 * A bad field throws a ConfigError in the config's words (`out`, `baseline`), which the command
 * line reports under its option, one line, exit 2.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadSide } from '../gate/load.ts';
import { readThresholds } from '../gate/thresholds.ts';
import { shown } from '../schema/discover.ts';
import { SchemaError } from '../schema/index.ts';
import { ConfigError } from '../util/errors.ts';
import { assertWritableDir } from '../util/output.ts';
import { fmtSeconds, MAX_BUDGET_SECONDS, MIN_BUDGET_SECONDS } from './budget.ts';
import { type LeftOut, leftOut, leftOutLine, nightlyInputs } from './data.ts';
import { type Stage, STAGES } from './plan.ts';
import { type PlanFile, readPlan } from './schema.ts';

export interface NightlyConfig {
  /** Wall-clock budget in seconds, MIN_BUDGET_SECONDS to MAX_BUDGET_SECONDS (default 45 minutes). */
  readonly budgetSeconds?: number;
  /** Where everything goes; new or empty (default reports/nightly/<UTC date>; a dry run without it writes nothing). */
  readonly out?: string;
  /** Seed of every stage (default: the plan's with `plan`, else the UTC date as YYYYMMDD). */
  readonly seed?: number;
  /** A previous run's plan.json: its counts instead of a calibration. */
  readonly plan?: string;
  /** Stages to run (default: the plan's with `plan`, else all). */
  readonly stages?: readonly Stage[];
  /** The gate's baseline folder (default fixtures/baseline when it exists; without one the gate is not run). */
  readonly baseline?: string;
  /** No inner progress bars (training); the nightly's own lines stay. */
  readonly quiet?: boolean;
  /** Calibrate (or read the plan), make the plan and stop. */
  readonly dryRun?: boolean;
  /** How the run was asked for, recorded in its files. */
  readonly command?: string;
  /** adzone's version, recorded in the result files. */
  readonly version: string;
  /** Progress lines (default: none). */
  readonly log?: (line: string) => void;
}

export const NIGHTLY_DEFAULTS = { budgetSeconds: 45 * 60, baseline: 'fixtures/baseline', outParent: join('reports', 'nightly') } as const;

export interface ResolvedNightlyConfig {
  readonly budgetSeconds: number;
  readonly out: string;
  /** Whether anything is written (false only for a dry run without `out`). */
  readonly writes: boolean;
  readonly seed: number;
  readonly plan: PlanFile | null;
  readonly planPath: string | null;
  /** The stages asked for (the plan's or the caller's); `leftOut` says which of them, or of their units, cannot run here. */
  readonly stages: readonly Stage[];
  readonly leftOut: readonly LeftOut[];
  /** null: no baseline, the gate is not run (`baselineNote` says why). */
  readonly baseline: string | null;
  readonly baselineNote: string | null;
  readonly quiet: boolean;
  readonly dryRun: boolean;
  readonly command: string;
  readonly version: string;
  readonly log: (line: string) => void;
}

const utcDate = () => new Date().toISOString().slice(0, 10);

/** Check a config and fill in its defaults, before any work (see the file comment). Makes the output folder. */
export function resolveNightlyConfig(c: NightlyConfig): ResolvedNightlyConfig {
  const budgetSeconds = c.budgetSeconds ?? NIGHTLY_DEFAULTS.budgetSeconds;
  if (!Number.isInteger(budgetSeconds) || budgetSeconds < MIN_BUDGET_SECONDS || budgetSeconds > MAX_BUDGET_SECONDS)
    throw new ConfigError(
      'budgetSeconds',
      `\`budgetSeconds\` must be whole seconds from ${fmtSeconds(MIN_BUDGET_SECONDS)} to ${fmtSeconds(MAX_BUDGET_SECONDS)}, got ${budgetSeconds}`,
    );
  const planPath = c.plan === undefined ? null : resolve(c.plan);
  const plan = planPath ? readPlanField(planPath) : null;
  const stages = checkStages(c.stages ?? plan?.stages ?? STAGES, plan, c.plan);
  const seed = c.seed ?? plan?.seed ?? Number(utcDate().replace(/-/g, ''));
  if (!Number.isInteger(seed) || seed < 0 || seed > 2 ** 31 - 1)
    throw new ConfigError('seed', `\`seed\` must be a whole number from 0 to ${2 ** 31 - 1}, got ${seed}`);
  const { baseline, note } = checkBaseline(c.baseline);
  const gone = leftOut(stages, nightlyInputs(), plan?.counts ?? null);
  if (stages.every((s) => gone.some((l) => l.stage === s && l.unit === null)))
    throw new ConfigError('stages', `nothing of \`stages\` (${stages.join(', ')}) can run here: ${gone.map(leftOutLine).join('; ')}`);
  const dryRun = c.dryRun === true;
  const out = resolve(c.out ?? join(NIGHTLY_DEFAULTS.outParent, utcDate()));
  const writes = !dryRun || c.out !== undefined;
  if (writes) checkOut(out);
  return {
    budgetSeconds,
    out,
    writes,
    seed,
    plan,
    planPath,
    stages,
    leftOut: gone,
    baseline,
    baselineNote: note,
    quiet: c.quiet === true,
    dryRun,
    command: c.command ?? 'adzone nightly (library call)',
    version: c.version,
    log: c.log ?? (() => {}),
  };
}

function readPlanField(path: string): PlanFile {
  try {
    return readPlan(path);
  } catch (e) {
    if (e instanceof SchemaError) throw new ConfigError('plan', `\`plan\`: ${e.message}`);
    throw e;
  }
}

function checkStages(list: readonly Stage[], plan: PlanFile | null, planText: string | undefined): Stage[] {
  const bad = list.filter((s) => !(STAGES as readonly string[]).includes(s));
  if (bad.length)
    throw new ConfigError('stages', `\`stages\`: unknown ${bad.map((b) => `'${b}'`).join(', ')}; expected some of ${STAGES.join(', ')}`);
  const stages = STAGES.filter((s) => list.includes(s));
  if (!stages.length) throw new ConfigError('stages', '`stages` needs at least one stage');
  const missing = plan ? stages.filter((s) => plan.counts[s] === null) : [];
  if (missing.length)
    throw new ConfigError(
      'stages',
      `\`plan\` ${planText} has no counts for ${missing.join(', ')} (it planned ${plan!.stages.join(', ') || 'nothing'}); leave those out of \`stages\` or plan afresh`,
    );
  return stages;
}

/** The baseline the gate will use, checked whole now; the default only when it is there. */
function checkBaseline(given: string | undefined): { baseline: string | null; note: string | null } {
  const dir = resolve(given ?? NIGHTLY_DEFAULTS.baseline);
  const isDir = existsSync(dir) && statSync(dir).isDirectory();
  if (!given && !isDir)
    return { baseline: null, note: `no baseline (${shown(dir)} does not exist): the gate is not run; give --baseline DIR to compare` };
  if (!isDir)
    throw new ConfigError(
      'baseline',
      `\`baseline\` ${given} ${existsSync(dir) ? 'is not a folder' : 'does not exist'}: give a gate baseline folder (thresholds.json and the committed results, e.g. fixtures/baseline)`,
    );
  try {
    readThresholds(join(dir, 'thresholds.json'));
    loadSide(dir, 'baseline');
  } catch (e) {
    throw new ConfigError('baseline', `\`baseline\` ${shown(dir)} cannot be used by the gate: ${(e as Error).message.split('\n')[0]}`);
  }
  return { baseline: dir, note: null };
}

/** The output folder: new or empty, and writable (made now, so a run never ends unable to save). */
function checkOut(out: string): void {
  if (existsSync(out)) {
    if (!statSync(out).isDirectory()) throw new ConfigError('out', `\`out\` ${shown(out)} is a file, not a folder`);
    if (readdirSync(out).length)
      throw new ConfigError(
        'out',
        `\`out\` ${shown(out)} is not empty (it may hold an earlier nightly); choose a new folder, e.g. ${shown(out)}-2`,
      );
  }
  try {
    assertWritableDir(out);
  } catch (e) {
    throw new ConfigError('out', `\`out\`: ${(e as Error).message}`);
  }
}
