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

export async function suitesStage(o: {
  readonly out: string;
  readonly seed: number;
  readonly plan: SuitesPlan;
  readonly costs: Costs['suites'];
  readonly clock: Clock;
  readonly tick: StageTicker;
}): Promise<SuitesSummary> {
  const dir = join(o.out, 'suites');
  mkdirSync(dir, { recursive: true });
  const bin = vitestBin();
  const scanned = new Map(propertySuites().map((f) => [f.file, f.readsMultiplier]));
  const results = new Map<string, SuiteFileResult>();
  let truncated = false;
  const queue = [...o.plan.files];
  const env = { ...process.env, [RUNS_MULTIPLIER_ENV]: String(o.plan.multiplier), [FC_SEED_ENV]: String(o.seed), FORCE_COLOR: '0' };

  const runOne = (file: string): Promise<void> => {
    const reads = scanned.get(file) ?? false;
    const cost = o.costs.files.find((f) => f.file === file);
    const est = cost ? suiteFileCost(cost, o.plan.multiplier, o.costs.spawn) : 30;
    const name = basename(file).replace(/\.test\.ts$/, '');
    if (!existsSync(join(REPO_ROOT, file))) {
      results.set(file, readSuiteResult(file, join(dir, `${name}.json`), null, false, 0, reads, null));
      return Promise.resolve();
    }
    if (!o.clock.fits(est)) {
      truncated = true;
      results.set(file, {
        file,
        status: 'skipped',
        tests: 0,
        passed: 0,
        failed: 0,
        skippedTests: 0,
        seconds: 0,
        readsMultiplier: reads,
        failures: [],
        cases: [],
        json: null,
        log: null,
        note: `not started: estimated ${est.toFixed(0)} s, the budget is about to run out`,
      });
      o.tick.note(`not starting ${file} (estimated ${est.toFixed(0)} s): the budget is about to run out`);
      return Promise.resolve();
    }
    const jsonFile = join(dir, `${name}.json`);
    const logFile = join(dir, `${name}.log`);
    const logStream = createWriteStream(logFile);
    const t = performance.now();
    return new Promise<void>((resolveRun) => {
      const child = spawn(
        process.execPath,
        [bin, 'run', '--config', NIGHTLY_VITEST_CONFIG, '--root', REPO_ROOT, '--reporter=json', `--outputFile=${jsonFile}`, file],
        {
          cwd: REPO_ROOT,
          env,
          detached: true,
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      track(child.pid);
      child.stdout.pipe(logStream, { end: false });
      child.stderr.pipe(logStream, { end: false });
      let timedOut = false;
      let killTimer: NodeJS.Timeout | undefined;
      const stop = () => {
        timedOut = true;
        try {
          process.kill(-child.pid!, 'SIGTERM');
        } catch {
          /* already gone */
        }
        killTimer = setTimeout(() => {
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            /* already gone */
          }
        }, 5000);
      };
      const deadline = setTimeout(stop, Math.max(0, (o.clock.budget - o.clock.reserve - o.clock.elapsed()) * 1000));
      child.on('error', (e) => logStream.write(`\nspawn error: ${e.message}\n`));
      child.on('close', (code) => {
        if (child.pid !== undefined) running.delete(child.pid);
        clearTimeout(deadline);
        if (killTimer) clearTimeout(killTimer);
        logStream.end();
        const seconds = (performance.now() - t) / 1000;
        const r = readSuiteResult(file, jsonFile, code, timedOut, seconds, reads, logFile);
        results.set(file, r);
        if (timedOut) truncated = true;
        o.tick.unit(
          `${file}: ${r.status}${r.tests ? ` (${r.passed}/${r.tests} passed)` : ''}`,
          est,
          seconds,
          1 / Math.max(1, o.costs.lanes),
        );
        resolveRun();
      });
    });
  };

  const lane = async () => {
    for (let f = queue.shift(); f !== undefined; f = queue.shift()) await runOne(f);
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
  return { multiplier: o.plan.multiplier, seed: o.seed, totals, files, truncated };
}

export const relativeToRoot = (p: string) => relative(REPO_ROOT, p);
