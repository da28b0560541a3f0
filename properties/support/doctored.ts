/**
 * The doctored-report suite's folders (fixtures/doctored/): `_base/report` and `_base/baseline`
 * are a real report (verify, zones, train) and the baseline it equals; every other folder is one
 * mutation: `expect.json` (what was done, the expected gate exit code and message, and whether it
 * changes a verdict) and the files it changed, under `report/` and `baseline/`, each stored as
 * NAME.doctored and laid over the base as NAME (`expect.json` lists the files it deleted). scripts/doctored.ts writes them; properties/doctored.test.ts
 * runs them.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// not from ./cli.ts, which needs vitest: scripts/doctored.ts imports this file too
const root = fileURLToPath(new URL('../..', import.meta.url));
export const DOCTORED = join(root, 'fixtures', 'doctored');
export const BASE = join(DOCTORED, '_base');
/** A changed file is stored as NAME.doctored: a committed *.json is always a valid file (properties/schema.test.ts reads them all). */
export const SUFFIX = '.doctored';

/** The files under an overlay folder, relative to it. */
function overlay(dir: string, at = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(join(dir, at), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? overlay(dir, join(at, e.name)) : e.name.endsWith(SUFFIX) ? [join(at, e.name)] : [],
  );
}

export interface Outcome {
  readonly exit: 0 | 1 | 2;
  /** A piece of text the command's output (stdout and stderr) must hold. */
  readonly message: string;
}

export interface Expect {
  readonly area: string;
  /** What the mutation did, in words. */
  readonly mutation: string;
  /** Whether the doctored report deserves another verdict than the untouched one (exit 0). */
  readonly changesVerdict: boolean;
  /** For a mutation that changes no verdict: why that is deliberate. */
  readonly why?: string;
  readonly gate: Outcome;
  /** `adzone report` on the doctored report folder, when it is checked too. */
  readonly report?: Outcome;
  readonly deleted: { readonly report: readonly string[]; readonly baseline: readonly string[] };
}

/** The mutation folders, in name order. */
export function caseNames(): string[] {
  return readdirSync(DOCTORED, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('_'))
    .map((e) => e.name)
    .sort();
}

export function readExpect(name: string): Expect {
  return JSON.parse(readFileSync(join(DOCTORED, name, 'expect.json'), 'utf8')) as Expect;
}

/** The base, with the case's files laid over it and its deletions made, as `into/report` and `into/baseline`. */
export function materialise(name: string | undefined, into: string): { report: string; baseline: string } {
  const e = name ? readExpect(name) : undefined;
  const out = { report: join(into, 'report'), baseline: join(into, 'baseline') };
  for (const side of ['report', 'baseline'] as const) {
    mkdirSync(out[side], { recursive: true });
    cpSync(join(BASE, side), out[side], { recursive: true });
    if (!name) continue;
    const over = join(DOCTORED, name, side);
    for (const f of overlay(over)) {
      const to = join(out[side], f.slice(0, -SUFFIX.length));
      mkdirSync(dirname(to), { recursive: true });
      cpSync(join(over, f), to);
    }
    for (const f of e!.deleted[side]) rmSync(join(out[side], f), { recursive: true, force: true });
  }
  return out;
}
