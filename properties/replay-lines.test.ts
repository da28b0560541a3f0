/**
 * Every replay line of a fresh verify.md runs and prints the class it claims. A small verify run
 * over every generator and the default backends is made through the real command line; each
 * `adzone replay …` line of its verify.md then goes through the CLI's main() in this process (so
 * tfjs loads once) and one of them through bin/adzone.js as a user types it, once with the seed as
 * printed and once in its signed form (reports before the canonical form printed signed seeds).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli/main.ts';

const bin = fileURLToPath(new URL('../bin/adzone.js', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'adzone-replay-lines-'));

interface Line {
  readonly heading: string;
  readonly claimed: string;
  readonly args: string[];
}

let lines: Line[] = [];
let md = '';

/** Each counterexample section: '### G · B @ P bits · CLASS', then a paragraph with 'Replay: `adzone replay …`'. */
function replayLines(text: string): Line[] {
  const out: Line[] = [];
  for (const section of text.split('\n### ').slice(1)) {
    const heading = section.split('\n')[0];
    const m = /`adzone (replay [^`]+)`/.exec(section);
    if (!m) continue;
    out.push({ heading, claimed: heading.split(' · ').pop()!, args: m[1].split(' ') });
  }
  return out;
}

/** Run main() with stdout captured. */
async function runMain(args: string[]): Promise<{ code: number; stdout: string }> {
  const chunks: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => {
    chunks.push(`${a.join(' ')}\n`);
  });
  try {
    return { code: await main(args), stdout: chunks.join('') };
  } finally {
    spy.mockRestore();
  }
}

beforeAll(() => {
  const r = spawnSync(process.execPath, [bin, 'verify', '--samples', '6', '--seed', '3', '--shrink-steps', '5', '--out', out, '--quiet'], {
    encoding: 'utf8',
    timeout: 280_000,
  });
  expect(r.status, r.stderr).toBe(0);
  md = readFileSync(join(out, 'verify.md'), 'utf8');
  lines = replayLines(md);
}, 300_000);

afterAll(() => vi.restoreAllMocks());

describe('the replay lines of a fresh verify.md', () => {
  it('are there: one per counterexample, with an unsigned seed', () => {
    const json = JSON.parse(readFileSync(join(out, 'verify.json'), 'utf8')) as { counterexamples: unknown[] };
    expect(lines.length).toBe(json.counterexamples.length);
    expect(lines.length).toBeGreaterThan(20);
    for (const l of lines) expect(Number(l.args[l.args.indexOf('--seed') + 1])).toBeGreaterThanOrEqual(0);
  });

  it('each exits 0 and prints the class its section claims', async () => {
    const wrong: string[] = [];
    for (const l of lines) {
      const r = await runMain(l.args);
      const first = r.stdout.split('\n')[0];
      const m = /: (\S+) on (\S+) at (\S+) bits$/.exec(first);
      if (r.code !== 0 || m?.[1] !== l.claimed) wrong.push(`${l.heading}: exit ${r.code}, printed '${first}'`);
    }
    expect(wrong).toEqual([]);
  }, 240_000);

  it('runs from the command line as printed, and with the seed signed', () => {
    const l = lines.find((x) => Number(x.args[x.args.indexOf('--seed') + 1]) >= 2 ** 31) ?? lines[0];
    const at = l.args.indexOf('--seed') + 1;
    const signed = [...l.args];
    signed[at] = String(Number(l.args[at]) | 0);
    const a = spawnSync(process.execPath, [bin, ...l.args], { encoding: 'utf8', timeout: 120_000 });
    const b = spawnSync(process.execPath, [bin, ...signed], { encoding: 'utf8', timeout: 120_000 });
    expect(a.status, a.stderr).toBe(0);
    expect(b.status, b.stderr).toBe(0);
    expect(a.stdout.split('\n')[0]).toMatch(new RegExp(`: ${l.claimed.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} on `));
    // the signed form names the same draws and prints the seed in the one printed form
    expect(b.stdout).toBe(a.stdout);
  }, 240_000);
});
