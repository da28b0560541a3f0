/**
 * Slices of a grid: shard i of n (1-based) runs every n-th cell starting at the i-th, so slices get
 * a similar mix of cells. A shard is given as i/n, or read from the scheduler that started the
 * process (`--shard auto`): a Slurm job array, a Kubernetes Indexed Job, the parallel jobs of
 * GitLab CI, CircleCI or Buildkite, a Grid Engine array job, or ADZONE_SHARD=i/n set by hand (a
 * GitHub Actions matrix, any other CI). Each scheduler's variables are read as it documents them;
 * where it gives only the index (Kubernetes), ADZONE_SHARD_COUNT gives the count.
 */
import { join } from 'node:path';
import { ConfigError } from '../../util/errors.ts';

export interface Shard {
  /** 1-based. */
  readonly index: number;
  readonly count: number;
}

/** i/n, 1 ≤ i ≤ n; `name` is how the caller calls the value (an option, a variable) in the message. */
export function parseShard(s: string, name = '--shard'): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(s);
  const i = m ? Number(m[1]) : NaN;
  const n = m ? Number(m[2]) : NaN;
  if (!(n >= 1 && i >= 1 && i <= n))
    throw new ConfigError('shard', `${name} must be i/n with 1 ≤ i ≤ n (e.g. 2/4: the second of four slices), got '${s}'`);
  return { index: i, count: n };
}

/** The cells of shard i/n: every n-th cell starting at the i-th. */
export function shardCells<C extends { readonly index: number }>(cells: readonly C[], shard: Shard | null): C[] {
  return shard ? cells.filter((c) => c.index % shard.count === shard.index - 1) : [...cells];
}

/** The folder of an automatic shard inside the grid's output folder. */
export const shardFolder = (out: string, s: Shard): string => join(out, `shard-${s.index}-of-${s.count}`);

/** Matches the folders shardFolder makes. */
export const SHARD_FOLDER = /^shard-(\d+)-of-(\d+)$/;

export type Env = Readonly<Record<string, string | undefined>>;

/** A shard found in the environment, and where it came from (for the log). */
export interface EnvShard {
  readonly shard: Shard;
  readonly source: string;
}

function whole(env: Env, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  if (!/^\s*\d+\s*$/.test(v)) throw new ConfigError('shard', `${name} must be a whole number, got '${v}'`);
  return Number(v);
}

/** A 0-based index among `count` tasks, checked, as a Shard. */
function fromZeroBased(index: number, count: number | undefined, source: string, countHint: string): EnvShard {
  if (count === undefined) throw new ConfigError('shard', `${source} gives the index but not the count: ${countHint}`);
  if (!(count >= 1 && index >= 0 && index < count))
    throw new ConfigError('shard', `${source}: index ${index} is not among ${count} tasks (0 to ${count - 1})`);
  return { shard: { index: index + 1, count }, source: `${source} (task ${index} of ${count})` };
}

/**
 * Slurm job arrays (sbatch --array=MIN-MAX[:STEP]): SLURM_ARRAY_TASK_ID and the array's
 * SLURM_ARRAY_TASK_MIN, _MAX, _STEP and _COUNT. The tasks are MIN, MIN+STEP, …, MAX; a list of
 * indices with gaps (--array=1,5,9) has no position to read, and is refused.
 */
function slurm(env: Env): EnvShard | null {
  const id = whole(env, 'SLURM_ARRAY_TASK_ID');
  if (id === undefined) return null;
  const min = whole(env, 'SLURM_ARRAY_TASK_MIN') ?? 0;
  const step = whole(env, 'SLURM_ARRAY_TASK_STEP') ?? 1;
  const max = whole(env, 'SLURM_ARRAY_TASK_MAX');
  const count = whole(env, 'SLURM_ARRAY_TASK_COUNT') ?? (max === undefined ? undefined : Math.floor((max - min) / step) + 1);
  const source = 'Slurm job array (SLURM_ARRAY_TASK_ID)';
  if (step < 1 || (id - min) % step !== 0 || (max !== undefined && count !== Math.floor((max - min) / step) + 1))
    throw new ConfigError(
      'shard',
      `${source}: task ${id} of the array ${min}-${max ?? '?'}:${step} (${count ?? '?'} tasks) is not a regular range; submit with --array=0-N (or MIN-MAX:STEP), or set ADZONE_SHARD=i/n`,
    );
  return fromZeroBased((id - min) / step, count, source, 'SLURM_ARRAY_TASK_COUNT or SLURM_ARRAY_TASK_MAX is missing');
}

/** Kubernetes Indexed Jobs: JOB_COMPLETION_INDEX (0-based); the count (the Job's completions) in ADZONE_SHARD_COUNT. */
function kubernetes(env: Env): EnvShard | null {
  const i = whole(env, 'JOB_COMPLETION_INDEX');
  if (i === undefined) return null;
  const hint = "set ADZONE_SHARD_COUNT in the Job's pod template to its spec.completions (examples/cluster/ablate-job.yaml)";
  return fromZeroBased(i, whole(env, 'ADZONE_SHARD_COUNT'), 'Kubernetes Indexed Job (JOB_COMPLETION_INDEX)', hint);
}

/** CI systems' parallel jobs: [index variable, count variable, whether the index is 1-based, name]. */
const CI: readonly (readonly [string, string, boolean, string])[] = [
  ['CI_NODE_INDEX', 'CI_NODE_TOTAL', true, 'GitLab CI parallel job'],
  ['CIRCLE_NODE_INDEX', 'CIRCLE_NODE_TOTAL', false, 'CircleCI parallel job'],
  ['BUILDKITE_PARALLEL_JOB', 'BUILDKITE_PARALLEL_JOB_COUNT', false, 'Buildkite parallel job'],
];

function ci(env: Env): EnvShard[] {
  const out: EnvShard[] = [];
  for (const [iv, nv, oneBased, name] of CI) {
    const i = whole(env, iv);
    if (i === undefined) continue;
    out.push(fromZeroBased(oneBased ? i - 1 : i, whole(env, nv), `${name} (${iv})`, `${nv} is missing`));
  }
  return out;
}

/** Grid Engine array jobs (qsub -t FIRST-LAST:STEP): SGE_TASK_ID, _FIRST, _LAST, _STEPSIZE ('undefined' outside an array). */
function gridEngine(env: Env): EnvShard | null {
  if (env.SGE_TASK_ID === undefined || env.SGE_TASK_ID === 'undefined') return null;
  const id = whole(env, 'SGE_TASK_ID') as number;
  const first = whole(env, 'SGE_TASK_FIRST') ?? 1;
  const last = whole(env, 'SGE_TASK_LAST');
  const step = whole(env, 'SGE_TASK_STEPSIZE') ?? 1;
  const source = 'Grid Engine array job (SGE_TASK_ID)';
  if (step < 1 || (id - first) % step !== 0) throw new ConfigError('shard', `${source}: task ${id} is not in ${first}-${last}:${step}`);
  const count = last === undefined ? undefined : Math.floor((last - first) / step) + 1;
  return fromZeroBased((id - first) / step, count, source, 'SGE_TASK_LAST is missing');
}

/**
 * The shard this process is, read from the environment (`--shard auto`). ADZONE_SHARD=i/n wins;
 * otherwise the schedulers' variables, which must agree when several are set. ConfigError (field
 * `shard`) when none is set or one is inconsistent.
 */
export function shardFromEnv(env: Env): EnvShard {
  if (env.ADZONE_SHARD !== undefined && env.ADZONE_SHARD !== '')
    return { shard: parseShard(env.ADZONE_SHARD, 'ADZONE_SHARD'), source: `ADZONE_SHARD=${env.ADZONE_SHARD}` };
  const found = [slurm(env), kubernetes(env), ...ci(env), gridEngine(env)].filter((s): s is EnvShard => s !== null);
  if (!found.length)
    throw new ConfigError(
      'shard',
      '`shard` auto found no job-array variables (Slurm SLURM_ARRAY_TASK_ID, Kubernetes JOB_COMPLETION_INDEX with ADZONE_SHARD_COUNT, ' +
        'GitLab CI_NODE_INDEX, CircleCI CIRCLE_NODE_INDEX, Buildkite BUILDKITE_PARALLEL_JOB, Grid Engine SGE_TASK_ID); set ADZONE_SHARD=i/n, or give `shard` as i/n',
    );
  const differ = found.filter((f) => f.shard.index !== found[0].shard.index || f.shard.count !== found[0].shard.count);
  if (differ.length)
    throw new ConfigError(
      'shard',
      `the job-array variables disagree: ${found.map((f) => `${f.source} says ${f.shard.index}/${f.shard.count}`).join('; ')}; set ADZONE_SHARD=i/n`,
    );
  return found[0];
}
