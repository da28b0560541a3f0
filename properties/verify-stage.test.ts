/**
 * The verify stage as a library call (src/zones/verify.ts): its config's defaults and errors, a
 * result that does not depend on the number of worker threads, a journal that lets an interrupted
 * run resume without running its finished units again, the shrink budget, and the progress it
 * reports (draws and shrinks in one estimate). Also the pieces the command builds on: the fail-on
 * words, the progress line, the bench rows that time whole runs.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { plan } from '../src/bench/plan.ts';
import { TARGETS } from '../src/bench/targets.ts';
import { progress, verifyProgress } from '../src/cli/progress.ts';
import type { TableRow } from '../src/schema/verify.ts';
import { ConfigError, InputError } from '../src/util/errors.ts';
import { FAIL_ON, failingCells, failLine } from '../src/zones/failOn.ts';
import { replay } from '../src/zones/replay.ts';
import { resolveVerifyConfig, VERIFY_CONFIG_DEFAULTS, type VerifyConfig, type VerifyProgress, verify } from '../src/zones/verify.ts';

const small: VerifyConfig = {
  samples: 60,
  seed: 11,
  generators: ['near-tie', 'round-tie-32'],
  backends: ['engine'],
  shrinkSteps: 15,
};

const tmp = () => mkdtempSync(join(tmpdir(), 'adzone-verify-stage-'));

describe('the verify config', () => {
  it('has its defaults in one place', () => {
    const c = resolveVerifyConfig({});
    expect(c).toMatchObject({
      samples: VERIFY_CONFIG_DEFAULTS.samples,
      seed: 1,
      shrink: true,
      shrinkSteps: VERIFY_CONFIG_DEFAULTS.shrinkSteps,
    });
    expect(c.generators.length).toBe(14);
    expect(c.backends).toEqual(['engine', 'tfjs-cpu', 'tfjs-wasm']);
  });

  it.each([
    [{ samples: 0 }, 'samples'],
    [{ seed: 2 ** 32 }, 'seed'],
    [{ seed: 1.5 }, 'seed'],
    [{ jacobians: ['first'] }, 'jacobians'],
    [{ jacobians: ['first', 'beta:x'] }, 'jacobians'],
    [{ precisions: ['12'] }, 'precisions'],
    [{ generators: ['nope'] }, 'generators'],
    [{ backends: ['pytorch'] }, 'backends'],
    [{ reluAlphas: [2] }, 'reluAlphas'],
    [{ shrinkSteps: -1 }, 'shrinkSteps'],
    [{ jobs: 0 }, 'jobs'],
    [{ resume: true }, 'resume'],
  ] as [VerifyConfig, string][])('%j is a ConfigError naming %s, in the config’s words', async (config, field) => {
    const e = await verify(config).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).field).toBe(field);
    expect((e as Error).message).not.toMatch(/--/);
  });

  it('a signed seed is its unsigned form', () => {
    expect(resolveVerifyConfig({ seed: -1 }).seed).toBe(2 ** 32 - 1);
    expect(resolveVerifyConfig({ seed: -(2 ** 31) }).seed).toBe(2 ** 31);
  });
});

describe('verify(config)', () => {
  it('gives the same result on 1 and 2 worker threads, and reports its progress to the end', async () => {
    const reports: VerifyProgress[] = [];
    const one = await verify({ ...small, jobs: 1 });
    const two = await verify({ ...small, jobs: 2, onProgress: (p) => reports.push(p) });
    expect(two.result.jobs).toBe(2);
    expect(two.result.table).toEqual(one.result.table);
    expect(two.result.realTies).toEqual(one.result.realTies);
    expect(two.result.counterexamples).toEqual(one.result.counterexamples);
    expect(two.result.table.every((r) => r.n === 60)).toBe(true);
    // progress: draws first, then shrinks; the last report is the whole run
    const last = reports[reports.length - 1];
    expect(last).toMatchObject({ drawsDone: 120, drawsTotal: 120, shrinksDone: two.result.counterexamples.length });
    expect(last.fraction).toBeCloseTo(1, 9);
    expect(reports.some((p) => p.drawsDone > 0 && p.drawsDone < 120 && Number.isFinite(p.etaSeconds))).toBe(true);
    expect(reports.every((p, i) => i === 0 || p.drawsDone >= reports[i - 1].drawsDone)).toBe(true);
  }, 240_000);

  it('shrinks within its budget and says which classes the budget stopped', async () => {
    const r = await verify({ ...small, samples: 20, shrinkSteps: 3, jobs: 1 });
    expect(r.result.shrink).toMatchObject({ steps: 3, classes: r.result.counterexamples.length });
    for (const c of r.result.counterexamples) expect(c.shrinkSteps).toBeLessThanOrEqual(3);
    expect(r.result.counterexamples.some((c) => c.shrinkExhausted)).toBe(true);
    expect(r.result.shrink?.exhausted).toBe(r.result.counterexamples.filter((c) => c.shrinkExhausted).length);
  }, 120_000);

  it('resumes an interrupted run from its journal: finished units kept, the rest run, the same result', async () => {
    const dir = tmp();
    const journal = join(dir, 'journal.jsonl');
    const whole = await verify({ ...small, jobs: 1, journal });
    const lines = readFileSync(journal, 'utf8').split('\n').filter(Boolean);
    const units = lines.length - 1;
    expect(units).toBe(2 * 2 + whole.result.counterexamples.length); // 60 draws = 2 blocks of 50 and 10, per generator
    // Interrupted after 3 units, in the middle of writing the 4th.
    writeFileSync(journal, `${lines.slice(0, 4).join('\n')}\n${lines[4].slice(0, 20)}`);
    const resumed = await verify({ ...small, jobs: 1, journal, resume: true, log: () => {} });
    expect(resumed.result.table).toEqual(whole.result.table);
    expect(resumed.result.counterexamples).toEqual(whole.result.counterexamples);
    const after = readFileSync(journal, 'utf8').split('\n').filter(Boolean);
    expect(after.length).toBe(lines.length);
    expect(after.slice(0, 4)).toEqual(lines.slice(0, 4));
  }, 240_000);

  it('refuses to resume a journal of another run, naming what differs', async () => {
    const dir = tmp();
    const journal = join(dir, 'journal.jsonl');
    await verify({ ...small, samples: 5, shrink: false, jobs: 1, journal });
    const e = await verify({ ...small, samples: 5, shrink: false, seed: 12, jobs: 1, journal, resume: true }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InputError);
    expect((e as Error).message).toMatch(/journal of another run: it differs in seed \(11, now 12\)/);
  }, 120_000);
});

describe('replay(config)', () => {
  it('takes a signed seed and reports it unsigned; a bad path is a ConfigError', async () => {
    const a = await replay({ generator: 'exact-tie', seed: -1667815393, path: '0', precision: '32' });
    const b = await replay({ generator: 'exact-tie', seed: 2627151903, path: '0', precision: '32' });
    expect(a.seed).toBe(2627151903);
    expect(a.case).toEqual(b.case);
    expect(a.class).toBe('bifurcation');
    const e = await replay({ generator: 'exact-tie', seed: 1, path: '1:x' }).catch((x: unknown) => x);
    expect((e as ConfigError).field).toBe('path');
  });
});

describe('--fail-on words', () => {
  const row = (counts: Partial<TableRow['counts']>, extra: Partial<TableRow> = {}): TableRow => ({
    generator: 'g',
    backend: 'tfjs-wasm',
    precision: '32',
    n: 10,
    counts: { regular: 0, bifurcation: 0, 'compensation:tie': 0, 'compensation:flip': 0, nonfinite: 0, defect: 0, ...counts },
    nonRegularShare: 0,
    harmlessRoundingDiffs: 0,
    inconsistent: 0,
    ...extra,
  });

  it('a cell fails a word when its count is above 0; compensation is either cause', () => {
    const t = [row({ defect: 2, regular: 8 }), row({ 'compensation:flip': 1, regular: 9 }, { generator: 'h', inconsistent: 1 })];
    expect(failingCells(t, [])).toEqual([]);
    expect(failingCells(t, ['defect']).map(failLine)).toEqual(['FAIL defect: g on tfjs-wasm at 32 bits, 2 of 10 draws']);
    expect(failingCells(t, ['compensation', 'inconsistent']).map((f) => `${f.generator} ${f.what}`)).toEqual([
      'h compensation',
      'h inconsistent',
    ]);
    expect(FAIL_ON).toContain('no-forward');
  });
});

describe('the progress lines', () => {
  const sink = () => {
    const lines: string[] = [];
    const s = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    }) as unknown as NodeJS.WriteStream;
    return { s, lines };
  };

  it('show no rate before there is time to measure one (not 1000000000.0/s)', () => {
    const { s, lines } = sink();
    progress(false, s).update(1, 10, 'x');
    expect(lines.join('')).toMatch(/^1\/10 \(10%\) …\/s ETA \? — x\n$/);
  });

  it('verify: draws, shrinks and one ETA over both', () => {
    const { s, lines } = sink();
    verifyProgress(false, s).update({
      drawsDone: 200,
      drawsTotal: 400,
      shrinksDone: 1,
      shrinksKnown: 4,
      shrinksExpected: 9,
      fraction: 0.42,
      elapsedSeconds: 30,
      etaSeconds: 75,
      what: 'drew near-tie 150–200',
    });
    expect(lines.join('')).toBe('draws 200/400 · shrinks 1/~9 · 42% · 30s, ETA 1m15s — drew near-tie 150–200\n');
  });
});

describe('bench: whole verify runs, timed', () => {
  it('the main job and the 2000-sample sweep, three runs each, against seconds targets', () => {
    const rows = plan({
      quick: false,
      groups: ['verify'],
      mnist: { x: new Float64Array(0), shape: [0, 1, 28, 28], labels: new Int32Array(0) },
      torch: false,
      threads: 1,
    });
    expect(rows.map((r) => r.id)).toEqual(['verify/main', 'verify/sweep-2000']);
    expect(rows.map((r) => r.task?.kind === 'command' && r.task.args.slice(0, 4))).toEqual([
      ['verify', '--seed', '1', '--out'],
      ['verify', '--samples', '2000', '--seed'],
    ]);
    expect(rows.map((r) => r.reps.maxReps)).toEqual([3, 3]);
    expect(rows.map((r) => TARGETS[r.secondsTarget!]).map((t) => [t.kind, t.max])).toEqual([
      ['seconds', 60],
      ['seconds', 300],
    ]);
  });
});
