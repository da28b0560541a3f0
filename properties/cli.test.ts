/**
 * The command line as a user meets it: bad input gets a clear message and exit code 2; a small
 * verify run writes verify.json and verify.md whose counts add up.
 */
import { describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli/main.ts';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../bin/adzone.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000 });

describe('adzone CLI', () => {
  it.each([
    [['verify', '--samples', 'abc'], /--samples must be a whole number/],
    [['verify', '--precision', '16,12'], /--precision: unknown value '12'/],
    [['verify', '--jacobians', 'first,beta:x'], /unknown Jacobian 'beta:x'/],
    [['verify', '--jacobians', 'first'], /at least two members/],
    [['verify', '--backends', 'pytorch'], /--backends: unknown value 'pytorch'/],
    [['verify', '--generators', 'nope'], /--generators: unknown value 'nope'/],
    [['verify', '--relu-alpha', '2'], /--relu-alpha values must be numbers in \[0, 1\]/],
    [['verify', '--frobnicate'], /Unknown option '--frobnicate'/],
    [['replay', '--generator', 'exact-tie'], /replay needs --generator, --seed and --path/],
    [['launch'], /unknown command 'launch'/],
  ])('%j exits 2 with a message saying what was wrong', (args, msg) => {
    const r = run(...(args as string[]));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(msg as RegExp);
  });

  // The same, in this process (main() is what bin/adzone.js runs; no process to start for each).
  it.each([
    [['help', 'launch'], /unknown command 'launch'/],
    [['verify', '--fail-on', 'defects'], /--fail-on: unknown value 'defects'; expected one of defect, inconsistent/],
    [['verify', '--seed', '4294967296'], /--seed must be from −2147483648 to 4294967295/],
    [['verify', '--shrink-steps', 'x'], /--shrink-steps must be a whole number/],
    [['verify', '--jobs', '0'], /--jobs must be from 1 to 64/],
    [['replay', '--generator', 'exact-tie', '--seed', 'x1', '--path', '0'], /--seed must be a whole number, signed or unsigned/],
    [['replay', '--generator', 'exact-tie', '--seed', '1', '--path', '1:x'], /--path must look like 12:0:3/],
    // A huge path segment made fast-check walk for ever (issue 12, item 10): refused at once.
    [
      ['replay', '--generator', 'exact-tie', '--seed', '1', '--path', '99999999999999999999999'],
      /--path is not one verify prints: the run index/,
    ],
    [['replay', '--generator', 'exact-tie', '--seed', '1', '--path', '3:2000000'], /shrink index 1 must be below 100000/],
  ])('main(%j) returns 2 with a message saying what was wrong', async (args, msg) => {
    const err: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => {
      err.push(String(c));
      return true;
    });
    try {
      expect(await main(args as string[])).toBe(2);
    } finally {
      spy.mockRestore();
    }
    expect(err.join('')).toMatch(msg as RegExp);
  });

  it('-V and --version print the version', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['-V', '--version']) {
      const r = run(flag);
      expect(r.status).toBe(0);
      expect(r.stdout.trim()).toBe(pkg.version);
    }
  });

  it('verify --resume with no journal in --out exits 2 saying there is nothing to resume', () => {
    const out = mkdtempSync(join(tmpdir(), 'adzone-verify-'));
    const r = run('verify', '--resume', '--samples', '2', '--generators', 'exact-tie', '--backends', 'engine', '--out', out, '--quiet');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/nothing to resume: .*\.verify-journal\.jsonl does not exist/);
  });

  it('help lists the commands and verify options', () => {
    const r = run('help', 'verify');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--samples N/);
    expect(r.stdout).toMatch(/round-tie-16/);
  });

  it('a small verify run writes verify.json and verify.md, counts adding up to the draws', () => {
    const out = mkdtempSync(join(tmpdir(), 'adzone-verify-'));
    const r = run(
      'verify',
      '--samples',
      '6',
      '--seed',
      '3',
      '--generators',
      'exact-tie,round-tie-16',
      '--backends',
      'engine',
      '--out',
      out,
      '--quiet',
    );
    expect(r.status, r.stderr).toBe(0);
    const json = JSON.parse(readFileSync(join(out, 'verify.json'), 'utf8'));
    expect(json.schema).toBe('adzone/verify');
    expect(json.table).toHaveLength(2 * 3);
    for (const row of json.table) {
      expect(row.n).toBe(6);
      expect(Object.values(row.counts as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(6);
    }
    const exact = json.table.filter((t: { generator: string }) => t.generator === 'exact-tie');
    expect(exact.every((t: { counts: { bifurcation: number } }) => t.counts.bifurcation === 6)).toBe(true);
    // every non-regular class found has a shrunk counterexample
    const classes = new Set(
      json.table.flatMap((t: { generator: string; precision: string; counts: Record<string, number> }) =>
        Object.entries(t.counts)
          .filter(([k, v]) => k !== 'regular' && v > 0)
          .map(([k]) => `${t.generator}|${t.precision}|${k}`),
      ),
    );
    const shrunk = new Set(
      json.counterexamples.map((c: { generator: string; precision: string; class: string }) => `${c.generator}|${c.precision}|${c.class}`),
    );
    expect(shrunk).toEqual(classes);
    const md = readFileSync(join(out, 'verify.md'), 'utf8');
    expect(md).toMatch(/## Minimal counterexamples/);
    expect(md).toMatch(/adzone replay --generator exact-tie/);
  });
});

describe('verify for CI: --fail-on and --json', () => {
  const verify = (...args: string[]) => {
    const out = mkdtempSync(join(tmpdir(), 'adzone-failon-'));
    return run('verify', '--samples', '6', '--no-shrink', '--out', out, '--quiet', '--json', ...args);
  };

  it('--fail-on defect exits 1 on a run that includes tfjs-wasm defects, one line per failing cell', (ctx) => {
    const r = verify('--generators', 'ulp-neighbour-16,round-tie-16', '--backends', 'tfjs-wasm', '--fail-on', 'defect');
    if (/skipping tfjs-wasm/.test(r.stderr)) {
      console.log('skipped: tfjs-wasm is not installed here (npm i @tensorflow/tfjs @tensorflow/tfjs-backend-wasm)');
      return ctx.skip();
    }
    expect(r.status, r.stderr).toBe(1);
    const summary = JSON.parse(r.stdout);
    expect(summary.exitCode).toBe(1);
    expect(summary.failing.length).toBeGreaterThan(0);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('FAIL '));
    expect(lines).toHaveLength(summary.failing.length);
    for (const f of summary.failing) {
      expect(f.what).toBe('defect');
      expect(lines).toContain(`FAIL defect: ${f.generator} on tfjs-wasm at 32 bits, ${f.count} of 6 draws`);
    }
  });

  it('--fail-on defect exits 0 on the same generators without tfjs-wasm; --json says so, the seed as printed (unsigned)', () => {
    const r = verify('--generators', 'ulp-neighbour-16,round-tie-16', '--backends', 'engine', '--fail-on', 'defect', '--seed', '-5');
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({
      schema: 'adzone/verify-summary',
      exitCode: 0,
      failing: [],
      failOn: ['defect'],
      samples: 6,
      seed: 2 ** 32 - 5,
    });
    expect(summary.cells).toHaveLength(2 * 3);
    expect(summary.files.json).toMatch(/verify\.json$/);
  });
});
