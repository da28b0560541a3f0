/**
 * The doctored-report suite (fixtures/doctored/, written by scripts/doctored.ts): one test per
 * folder. Each folder's report and baseline (the base with the folder's files laid over it) go
 * through `adzone gate` in process, the command line's own code; its exit code and a piece of its
 * output must be those expect.json names. Folders that name an `adzone report` outcome run the
 * report command too. A new field in a result file gets its mutation here (scripts/doctored.ts).
 *
 * The suite as a whole: at least 45 mutations, and every one that changes a verdict is caught
 * (exit 1 or 2, never 0); the ones that change none say why in expect.json.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { gateCommand } from '../src/cli/commands/gate.ts';
import { reportCommand } from '../src/cli/commands/report.ts';
import { GateSummarySchema } from '../src/gate/summary.ts';
import { tempDirs } from './support/cli.ts';
import { BASE, caseNames, materialise, readExpect } from './support/doctored.ts';

const tempDir = tempDirs();

/** Run a command in process, collecting its lines. */
async function capture(f: (io: { out: (l: string) => void; err: (l: string) => void }) => Promise<number>) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await f({ out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, stdout: out.join('\n'), stderr: err.join('\n'), all: [...out, ...err].join('\n') };
}

const names = caseNames();

describe('the doctored-report suite', () => {
  it('holds at least 45 mutations; every expect.json says whether it changes a verdict, and why not when it does not', () => {
    expect(names.length).toBeGreaterThanOrEqual(45);
    for (const n of names) {
      const e = readExpect(n);
      expect([0, 1, 2], n).toContain(e.gate.exit);
      expect(e.gate.message.length, n).toBeGreaterThan(5);
      if (!e.changesVerdict) expect(e.why, `${n}: a mutation that changes no verdict says why`).toBeTruthy();
      if (e.changesVerdict) expect(e.gate.exit, `${n}: a verdict-changing mutation is caught`).not.toBe(0);
    }
  });

  it('the untouched base passes the gate and reports with exit 0', async () => {
    const d = materialise(undefined, tempDir('adzone-doctored-base-'));
    const g = await capture((io) => gateCommand(['--baseline', d.baseline, d.report, '--json'], io));
    expect(g.code, g.all).toBe(0);
    const summary = JSON.parse(g.stdout);
    expect(Value.Check(GateSummarySchema, summary), g.stdout).toBe(true);
    expect(summary).toMatchObject({ verdict: 'pass', exitCode: 0, regressions: [], error: null });
    const out = join(tempDir('adzone-doctored-out-'), 'r.html');
    const r = await capture((io) => reportCommand([d.report, '--out', out], io));
    expect(r.code, r.all).toBe(0);
    expect(existsSync(join(BASE, 'report', 'verify.json'))).toBe(true);
  });

  it.each(names)('%s', async (name) => {
    const e = readExpect(name);
    const d = materialise(name, tempDir(`adzone-doctored-${name}-`));
    const g = await capture((io) => gateCommand(['--baseline', d.baseline, d.report, '--json'], io));
    expect(g.code, `${e.mutation}\n${g.all}`).toBe(e.gate.exit);
    expect(g.all, e.mutation).toContain(e.gate.message);
    // the machine summary says the same, in its schema, whatever the outcome
    const summary = JSON.parse(g.stdout);
    expect(Value.Check(GateSummarySchema, summary), g.stdout).toBe(true);
    expect(summary.exitCode).toBe(e.gate.exit);
    if (e.gate.exit === 2) expect(summary.error).toContain(e.gate.message);
    if (e.report) {
      const out = join(tempDir('adzone-doctored-out-'), 'r.html');
      const r = await capture((io) => reportCommand([d.report, '--out', out], io));
      expect(r.code, `${e.mutation}\n${r.all}`).toBe(e.report.exit);
      expect(r.all, e.mutation).toContain(e.report.message);
      expect(existsSync(out), 'a refused report writes nothing').toBe(e.report.exit !== 2);
      if (e.report.exit !== 2) expect(readFileSync(out, 'utf8')).toMatch(/^<!DOCTYPE html>/);
    }
  });
});
