/**
 * Grids on a cluster: `adzone ablate --shard auto` reads the slice from the scheduler that started
 * the process, and each slice writes into OUT/shard-i-of-n; --merge joins them.
 *  - every scheduler's variables give the shard its documentation says (Slurm job arrays with any
 *    MIN-MAX:STEP, Kubernetes Indexed Jobs, GitLab, CircleCI, Buildkite, Grid Engine, ADZONE_SHARD),
 *    and the tasks of one array partition the cells;
 *  - missing, contradictory or irregular variables are refused with a line saying what to set;
 *  - the recipes in examples/cluster run the right cells, simulated: the Slurm script under bash
 *    for every task of its #SBATCH --array, the Kubernetes Job's command for every completion index;
 *  - end to end on tiny runs: two Slurm array tasks, then --merge of the folder holding their shard
 *    folders, give every cell once.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { parse as parseYaml } from 'yaml';
import { runs } from '../src/nightly/runs.ts';
import { planAblation, runAblation } from '../src/train/ablate/run.ts';
import { type Env, shardCells, shardFromEnv } from '../src/train/ablate/shard.ts';
import { ConfigError } from '../src/util/errors.ts';
import { bin, root, runMain as cli, tempDirs } from './support/cli.ts';

const tmp = tempDirs();

/** 8 cells of tiny LeNet-5 runs (2 steps each). */
const tinyGrid = `name: tiny
base: { model: lenet5, dataset: mnist, epochs: 1, batch-size: 32, limit-train: 64, limit-test: 32, precision: 64, log-every: 1 }
grid:
  beta: [0, 1, 10, 10000]
  seed: [1, 2]
`;

describe('the shard a scheduler says', () => {
  const cases: [string, Env, string][] = [
    [
      'Slurm --array=0-3, task 2',
      { SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '3', SLURM_ARRAY_TASK_COUNT: '4' },
      '3/4',
    ],
    [
      'Slurm --array=1-7:2, task 5',
      {
        SLURM_ARRAY_TASK_ID: '5',
        SLURM_ARRAY_TASK_MIN: '1',
        SLURM_ARRAY_TASK_MAX: '7',
        SLURM_ARRAY_TASK_STEP: '2',
        SLURM_ARRAY_TASK_COUNT: '4',
      },
      '3/4',
    ],
    ['Slurm without _COUNT (older Slurm)', { SLURM_ARRAY_TASK_ID: '9', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '9' }, '10/10'],
    ['Kubernetes index 0 of 4', { JOB_COMPLETION_INDEX: '0', ADZONE_SHARD_COUNT: '4' }, '1/4'],
    ['GitLab CI parallel: 3, node 3 (1-based)', { CI_NODE_INDEX: '3', CI_NODE_TOTAL: '3' }, '3/3'],
    ['CircleCI node 0 of 2', { CIRCLE_NODE_INDEX: '0', CIRCLE_NODE_TOTAL: '2' }, '1/2'],
    ['Buildkite job 4 of 5', { BUILDKITE_PARALLEL_JOB: '4', BUILDKITE_PARALLEL_JOB_COUNT: '5' }, '5/5'],
    ['Grid Engine -t 1-10:3, task 7', { SGE_TASK_ID: '7', SGE_TASK_FIRST: '1', SGE_TASK_LAST: '10', SGE_TASK_STEPSIZE: '3' }, '3/4'],
    [
      'ADZONE_SHARD by hand (a CI matrix), over any other',
      { ADZONE_SHARD: '2/5', SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_COUNT: '3' },
      '2/5',
    ],
    [
      'two schedulers that agree',
      { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '2', CI_NODE_INDEX: '2', CI_NODE_TOTAL: '3' },
      '2/3',
    ],
    ['Grid Engine outside an array job is no array', { SGE_TASK_ID: 'undefined', CIRCLE_NODE_INDEX: '1', CIRCLE_NODE_TOTAL: '2' }, '2/2'],
  ];
  it.each(cases)('%s', (_name, env, want) => {
    const { shard } = shardFromEnv(env);
    expect(`${shard.index}/${shard.count}`).toBe(want);
  });

  const refused: [string, Env, RegExp][] = [
    ['no variables', { HOME: '/root', SLURM_JOB_ID: '12' }, /found no job-array variables.*ADZONE_SHARD=i\/n/],
    ['Kubernetes without the count', { JOB_COMPLETION_INDEX: '1' }, /ADZONE_SHARD_COUNT/],
    [
      'a Slurm list with gaps (--array=1,5,9)',
      { SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_MAX: '9', SLURM_ARRAY_TASK_COUNT: '3' },
      /not a regular range.*--array=0-N/,
    ],
    ['an index past the count', { CIRCLE_NODE_INDEX: '2', CIRCLE_NODE_TOTAL: '2' }, /index 2 is not among 2 tasks/],
    [
      'schedulers that disagree',
      {
        SLURM_ARRAY_TASK_ID: '0',
        SLURM_ARRAY_TASK_COUNT: '2',
        SLURM_ARRAY_TASK_MAX: '1',
        JOB_COMPLETION_INDEX: '1',
        ADZONE_SHARD_COUNT: '2',
      },
      /disagree/,
    ],
    ['a count that is not a number', { CI_NODE_INDEX: '1', CI_NODE_TOTAL: 'many' }, /CI_NODE_TOTAL must be a whole number/],
    ['ADZONE_SHARD not i/n', { ADZONE_SHARD: '3/2' }, /ADZONE_SHARD must be i\/n/],
  ];
  it.each(refused)('refused: %s', (_name, env, re) => {
    expect(() => shardFromEnv(env)).toThrow(ConfigError);
    expect(() => shardFromEnv(env)).toThrow(re);
  });

  it('the tasks of one Slurm array (any MIN-MAX:STEP) or Indexed Job partition the cells', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 1, max: 3 }),
        (cells, n, min, step) => {
          const all = Array.from({ length: cells }, (_, index) => ({ index }));
          const slurm = Array.from({ length: n }, (_, k) =>
            shardFromEnv({
              SLURM_ARRAY_TASK_ID: String(min + k * step),
              SLURM_ARRAY_TASK_MIN: String(min),
              SLURM_ARRAY_TASK_MAX: String(min + (n - 1) * step),
              SLURM_ARRAY_TASK_STEP: String(step),
              SLURM_ARRAY_TASK_COUNT: String(n),
            }),
          );
          const k8s = Array.from({ length: n }, (_, k) => shardFromEnv({ JOB_COMPLETION_INDEX: String(k), ADZONE_SHARD_COUNT: String(n) }));
          for (const tasks of [slurm, k8s]) {
            const got = tasks.flatMap((t) => shardCells(all, t.shard).map((c) => c.index)).sort((a, b) => a - b);
            expect(got).toEqual(all.map((c) => c.index));
          }
        },
      ),
      { numRuns: runs(100) },
    );
  });
});

/** The cell ids a dry run marks as this process's. */
const marked = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith('*'))
    .map((l) => l.split(/\s+/)[2].replace(/:$/, ''));

function spawnRun(cmd: string, args: string[], env: Env): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const p = spawn(cmd, args, {
      cwd: root,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (x) => (stdout += x));
    p.stderr.on('data', (x) => (stderr += x));
    p.on('close', (status) => res({ status, stdout, stderr }));
  });
}

describe('the recipes in examples/cluster, simulated', () => {
  it('the Slurm script: every task of its #SBATCH --array lists its own cells, in its own folder', async () => {
    const d = tmp('adzone-slurm-');
    const grid = join(d, 'tiny.yaml');
    writeFileSync(grid, tinyGrid);
    const script = join(root, 'examples/cluster/ablate-slurm.sh');
    const m = /^#SBATCH --array=(\d+)-(\d+)(?::(\d+))?$/m.exec(readFileSync(script, 'utf8'));
    expect(m, 'the script says its array').not.toBeNull();
    const [min, max, step] = [Number(m![1]), Number(m![2]), Number(m![3] ?? 1)];
    const ids = Array.from({ length: Math.floor((max - min) / step) + 1 }, (_, k) => min + k * step);
    const out = join(d, 'runs');
    const lists = await Promise.all(
      ids.map((id) =>
        spawnRun('bash', [script, '--dry-run'], {
          SLURM_SUBMIT_DIR: root,
          SLURM_ARRAY_TASK_ID: String(id),
          SLURM_ARRAY_TASK_MIN: String(min),
          SLURM_ARRAY_TASK_MAX: String(max),
          SLURM_ARRAY_TASK_STEP: String(step),
          SLURM_ARRAY_TASK_COUNT: String(ids.length),
          GRID: grid,
          OUT: out,
        }),
      ),
    );
    const cells: string[] = [];
    for (const [k, r] of lists.entries()) {
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain(`folder ${join(out, `shard-${k + 1}-of-${ids.length}`)}`);
      expect(r.stdout).toMatch(/from Slurm job array/);
      cells.push(...marked(r.stdout));
    }
    expect(cells.sort()).toEqual(
      planAblation({ grid, out })
        .cells.map((c) => c.id)
        .sort(),
    );
  }, 60_000);

  it("the Kubernetes Indexed Job: its command, for every completion index, lists that index's cells; the merge Job reads the shards' folder", async () => {
    const d = tmp('adzone-k8s-');
    const grid = join(d, 'tiny.yaml');
    writeFileSync(grid, tinyGrid);
    const job = parseYaml(readFileSync(join(root, 'examples/cluster/ablate-job.yaml'), 'utf8'));
    expect(job).toMatchObject({ apiVersion: 'batch/v1', kind: 'Job', spec: { completionMode: 'Indexed' } });
    const container = job.spec.template.spec.containers[0];
    const env = Object.fromEntries(container.env.map((e: { name: string; value: string }) => [e.name, e.value]));
    expect(Number(env.ADZONE_SHARD_COUNT)).toBe(job.spec.completions);
    const cmd: string[] = container.command;
    expect(cmd.slice(0, 3)).toEqual(['node', 'bin/adzone.js', 'ablate']);
    expect(cmd[cmd.indexOf('--shard') + 1]).toBe('auto');
    const jobOut = cmd[cmd.indexOf('--out') + 1];
    // this checkout stands for the image's /adzone: the grid and the volume are swapped for temp ones
    const out = join(d, 'results');
    const args = cmd.slice(2).map((a, i, all) => (i === 1 ? grid : all[i - 1] === '--out' ? out : a));
    const all: string[] = [];
    for (let k = 0; k < job.spec.completions; k++) {
      const r = await spawnRun(process.execPath, [bin, ...args, '--dry-run'], { ...env, JOB_COMPLETION_INDEX: String(k) });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain(`folder ${join(out, `shard-${k + 1}-of-${job.spec.completions}`)}`);
      all.push(...marked(r.stdout));
    }
    expect(all.sort()).toEqual(
      planAblation({ grid, out })
        .cells.map((c) => c.id)
        .sort(),
    );
    const merge = parseYaml(readFileSync(join(root, 'examples/cluster/ablate-merge-job.yaml'), 'utf8'));
    const mcmd: string[] = merge.spec.template.spec.containers[0].command;
    expect(mcmd.slice(0, 4)).toEqual(['node', 'bin/adzone.js', 'ablate', '--merge']);
    expect(mcmd[4]).toBe(jobOut);
    expect(mcmd[mcmd.indexOf('--out') + 1]).not.toBe(jobOut);
  }, 120_000);
});

describe('end to end', () => {
  it('two Slurm array tasks train their own cells into their own folders; --merge of the folder holding them gives every cell once', async () => {
    const d = tmp('adzone-cluster-e2e-');
    const out = join(d, 'runs');
    const slurm = (id: number): Env => ({
      SLURM_ARRAY_TASK_ID: String(id),
      SLURM_ARRAY_TASK_MIN: '0',
      SLURM_ARRAY_TASK_MAX: '1',
      SLURM_ARRAY_TASK_COUNT: '2',
    });
    const plans = [0, 1].map((id) =>
      planAblation({ grid: { file: 'tiny.yaml', text: tinyGrid }, out, shard: 'auto', env: slurm(id), version: 'test' }),
    );
    for (const p of plans) {
      const s = await runAblation(p);
      expect(s).toMatchObject({ ran: 4, interrupted: false });
      expect(readdirSync(join(p.out, 'runs')).sort()).toEqual(p.mine.map((c) => c.id).sort());
    }
    expect(readdirSync(out).sort()).toEqual(['shard-1-of-2', 'shard-2-of-2']);
    const table = join(d, 'table');
    const r = await cli('ablate', '--merge', out, '--out', table);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/merged 8 finished runs into .* \(from 2 folders\)/);
    const merged = JSON.parse(readFileSync(join(table, 'ablate.json'), 'utf8'));
    expect(merged.grid).toMatchObject({ cells: 8, finished: 8, missing: [] });
    for (const run of merged.runs) expect(existsSync(join(table, run.dir, 'result.json'))).toBe(true);
    // the folder of the shards stays theirs
    const into = await cli('ablate', '--merge', out, '--out', out);
    expect(into.code).toBe(2);
    expect(into.err).toMatch(/holds the shard folders; merge into another folder/);
  }, 120_000);
});
