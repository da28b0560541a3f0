/**
 * The nightly's property suites: every properties/*.test.ts that uses fast-check (except the
 * nightly's own test), each in its own `vitest run --reporter=json` with the night's seed and run
 * multiplier in the environment (src/nightly/runs.ts) and the config src/nightly/vitest.config.ts.
 * Files run `lanes` at a time, longest first. A file that cannot finish before the budget's reserve
 * is not started; one still running at the deadline is stopped (its process group gets SIGTERM,
 * then SIGKILL) and reported as timed out.
 *
 * Writes suites/<file>.json (vitest's JSON) and suites/<file>.log (its output); the summary goes
 * into nightly.json and the reports.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FC_SEED_ENV, RUNS_MULTIPLIER_ENV } from './runs.ts';
import { suiteFileCost, type Costs, type SuitesPlan } from './plan.ts';
import type { Clock, StageTicker } from './progress.ts';
import type { SuiteFileResult, SuitesSummary, TestFailure } from '../schema/nightly.ts';

/** Process groups of the vitest runs still going, stopped if the nightly itself exits early. */
const running = new Set<number>();
let exitHook = false;
function track(pid: number | undefined): void {
  if (pid === undefined) return;
  running.add(pid);
  if (exitHook) return;
  exitHook = true;
  process.on('exit', () => {
    for (const p of running) {
      try {
        process.kill(-p, 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
  });
}

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const NIGHTLY_VITEST_CONFIG = fileURLToPath(new URL('./vitest.config.ts', import.meta.url));

/** The property suites that use fast-check, as paths relative to the repository, and whether each scales its runs with runs(). */
export function propertySuites(root = REPO_ROOT): { file: string; readsMultiplier: boolean }[] {
  const dir = join(root, 'properties');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => n.endsWith('.test.ts') && n !== 'nightly.test.ts')
    .sort()
    .map((n) => ({ n, text: readFileSync(join(dir, n), 'utf8') }))
    .filter(({ text }) => /from\s+['"](fast-check|@fast-check\/vitest)['"]/.test(text))
    .map(({ n, text }) => ({ file: `properties/${n}`, readsMultiplier: /nightly\/runs(\.ts)?['"]/.test(text) }));
}

/** The results of the suites' run: their types are suites.json's (src/schema/nightly.ts). */
export type { SuiteFileResult, SuitesSummary, TestFailure };

interface VitestJson {
  testResults?: {
    name: string;
    status: string;
    message?: string;
    assertionResults?: { fullName?: string; title: string; status: string; duration?: number | null; failureMessages?: string[] }[];
  }[];
}

const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');

/** A suite file's result from vitest's JSON (or its absence). */
export function readSuiteResult(
  file: string,
  jsonFile: string,
  exitCode: number | null,
  timedOut: boolean,
  seconds: number,
  readsMultiplier: boolean,
  log: string | null,
): SuiteFileResult {
  const empty = { file, tests: 0, passed: 0, failed: 0, skippedTests: 0, seconds, readsMultiplier, failures: [], cases: [], log };
  if (timedOut) return { ...empty, status: 'timed-out', json: null, note: 'stopped at the budget deadline' };
  if (!existsSync(jsonFile))
    return { ...empty, status: 'crashed', json: null, note: `vitest exited with code ${exitCode} and wrote no JSON` };
  let j: VitestJson;
  try {
    j = JSON.parse(readFileSync(jsonFile, 'utf8')) as VitestJson;
  } catch (e) {
    return { ...empty, status: 'crashed', json: jsonFile, note: `unreadable vitest JSON: ${(e as Error).message}` };
  }
  const cases: SuiteFileResult['cases'][number][] = [];
  const failures: TestFailure[] = [];
  for (const tr of j.testResults ?? []) {
    for (const a of tr.assertionResults ?? []) {
      const name = a.fullName ?? a.title;
      const message = stripAnsi((a.failureMessages ?? []).join('\n')).slice(0, 2000);
      cases.push({ name, status: a.status, seconds: (a.duration ?? 0) / 1000, ...(a.status === 'failed' ? { message } : {}) });
      if (a.status === 'failed') failures.push({ name, message });
    }
    if (tr.status === 'failed' && !(tr.assertionResults ?? []).some((a) => a.status === 'failed')) {
      // the file itself failed (an import error, a failing hook)
      const message = stripAnsi(tr.message ?? 'the test file failed').slice(0, 2000);
      failures.push({ name: `${basename(tr.name)} (file)`, message });
      cases.push({ name: `${basename(tr.name)} (file)`, status: 'failed', seconds: 0, message });
    }
  }
  const passed = cases.filter((c) => c.status === 'passed').length;
  const failed = cases.filter((c) => c.status === 'failed').length;
  return {
    file,
    status: failed > 0 || exitCode !== 0 ? 'failed' : 'passed',
    tests: cases.length,
    passed,
    failed,
    skippedTests: cases.length - passed - failed,
    seconds,
    readsMultiplier,
    failures,
    cases,
    json: jsonFile,
    log,
  };
}

function vitestBin(): string {
  const req = createRequire(join(REPO_ROOT, 'package.json'));
  const pkgFile = req.resolve('vitest/package.json');
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { bin: string | Record<string, string> };
  const bin = typeof pkg.bin === 'string' ? pkg.bin : pkg.bin.vitest;
  return join(dirname(pkgFile), bin);
}

export interface SuitesStageConfig {
  readonly out: string;
  readonly seed: number;
  readonly plan: SuitesPlan;
  readonly costs: Costs['suites'];
  readonly clock: Clock;
  readonly tick: StageTicker;
}

/** What every file's run shares. */
interface SuitesRun extends SuitesStageConfig {
  readonly dir: string;
  readonly bin: string;
  readonly env: NodeJS.ProcessEnv;
  /** Whether each file scales its runs with runs(). */
  readonly reads: ReadonlyMap<string, boolean>;
}

export async function suitesStage(o: SuitesStageConfig): Promise<SuitesSummary> {
  const dir = join(o.out, 'suites');
  mkdirSync(dir, { recursive: true });
  const run: SuitesRun = {
    ...o,
    dir,
    bin: vitestBin(),
    env: { ...process.env, [RUNS_MULTIPLIER_ENV]: String(o.plan.multiplier), [FC_SEED_ENV]: String(o.seed), FORCE_COLOR: '0' },
    reads: new Map(propertySuites().map((f) => [f.file, f.readsMultiplier])),
  };
  const results = new Map<string, SuiteFileResult>();
  const queue = [...o.plan.files];
  const lane = async () => {
    for (let f = queue.shift(); f !== undefined; f = queue.shift()) results.set(f, await runSuiteFile(f, run));
  };
  await Promise.all(Array.from({ length: Math.max(1, o.costs.lanes) }, lane));
  const files = [...o.plan.files].sort().map((f) => results.get(f)!);
  const totals = {
    files: files.length,
    tests: files.reduce((a, f) => a + f.tests, 0),
    passed: files.reduce((a, f) => a + f.passed, 0),
    failed: files.reduce((a, f) => a + f.failed, 0),
    skipped: files.reduce((a, f) => a + f.skippedTests, 0),
  };
  const truncated = files.some((f) => f.status === 'timed-out' || (f.status === 'skipped' && f.note?.startsWith('not started')));
  return { multiplier: o.plan.multiplier, seed: o.seed, totals, files, truncated };
}

/** One file: not started when its estimate does not fit the budget, else run and read back. */
async function runSuiteFile(file: string, r: SuitesRun): Promise<SuiteFileResult> {
  const reads = r.reads.get(file) ?? false;
  const cost = r.costs.files.find((f) => f.file === file);
  const est = cost ? suiteFileCost(cost, r.plan.multiplier, r.costs.spawn) : 30;
  const name = basename(file).replace(/\.test\.ts$/, '');
  const jsonFile = join(r.dir, `${name}.json`);
  if (!existsSync(join(REPO_ROOT, file))) return readSuiteResult(file, jsonFile, null, false, 0, reads, null);
  if (!r.clock.fits(est)) {
    r.tick.note(`not starting ${file} (estimated ${est.toFixed(0)} s): the budget is about to run out`);
    return notStarted(file, reads, `not started: estimated ${est.toFixed(0)} s, the budget is about to run out`);
  }
  const logFile = join(r.dir, `${name}.log`);
  const t = performance.now();
  const { code, timedOut } = await spawnVitest(file, jsonFile, logFile, r);
  const seconds = (performance.now() - t) / 1000;
  const res = readSuiteResult(file, jsonFile, code, timedOut, seconds, reads, logFile);
  r.tick.unit(
    `${file}: ${res.status}${res.tests ? ` (${res.passed}/${res.tests} passed)` : ''}`,
    est,
    seconds,
    1 / Math.max(1, r.costs.lanes),
  );
  return res;
}

function notStarted(file: string, readsMultiplier: boolean, note: string): SuiteFileResult {
  const zero = { tests: 0, passed: 0, failed: 0, skippedTests: 0, seconds: 0 };
  return { file, status: 'skipped', ...zero, readsMultiplier, failures: [], cases: [], json: null, log: null, note };
}

/**
 * `vitest run --reporter=json` of one file in its own process group, its output into `logFile`;
 * still running at the budget's deadline (before the reserve), the group gets SIGTERM, then SIGKILL.
 */
function spawnVitest(file: string, jsonFile: string, logFile: string, r: SuitesRun): Promise<{ code: number | null; timedOut: boolean }> {
  const logStream = createWriteStream(logFile);
  const args = [r.bin, 'run', '--config', NIGHTLY_VITEST_CONFIG, '--root', REPO_ROOT, '--reporter=json', `--outputFile=${jsonFile}`, file];
  return new Promise((done) => {
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env: r.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    track(child.pid);
    child.stdout.pipe(logStream, { end: false });
    child.stderr.pipe(logStream, { end: false });
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    const signal = (sig: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, sig);
      } catch {
        /* already gone */
      }
    };
    const deadline = setTimeout(
      () => {
        timedOut = true;
        signal('SIGTERM');
        killTimer = setTimeout(() => signal('SIGKILL'), 5000);
      },
      Math.max(0, (r.clock.budget - r.clock.reserve - r.clock.elapsed()) * 1000),
    );
    child.on('error', (e) => logStream.write(`\nspawn error: ${e.message}\n`));
    child.on('close', (code) => {
      if (child.pid !== undefined) running.delete(child.pid);
      clearTimeout(deadline);
      if (killTimer) clearTimeout(killTimer);
      logStream.end();
      done({ code, timedOut });
    });
  });
}

export const relativeToRoot = (p: string) => relative(REPO_ROOT, p);
