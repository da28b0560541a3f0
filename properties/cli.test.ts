/**
 * The command line as a user meets it: bad input gets a clear message and exit code 2; a small
 * verify run writes verify.json and verify.md whose counts add up.
 */
import { describe, expect, it } from 'vitest';
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
