/**
 * The counterexample corpus (fixtures/counterexamples/): every non-regular case a run found, kept
 * with the exact problem, how to regenerate it (generator, seed, path) and the class it had, so
 * `npm test` replays it and notices when its classification changes.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { jacobianName, parseJacobian, type MaxPoolJacobian } from '../jacobians/index.ts';
import type { Problem } from '../problem/index.ts';
import { readResult, writeResult, type CorpusEntry } from '../schema/index.ts';

export type { CorpusEntry } from '../schema/index.ts';

export function entryId(
  e: Omit<CorpusEntry, 'id' | 'schema' | 'schemaVersion' | 'foundAt' | 'note' | 'seed' | 'path' | 'expected' | 'generator'>,
): string {
  const key = JSON.stringify([e.problem, e.backend, e.precision, e.accumulate, e.jacobians, e.reluAlphas], (_k, v) =>
    typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0)) ? `num:${Object.is(v, -0) ? '-0' : String(v)}` : v,
  );
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/**
 * Numbers JSON cannot hold (NaN, ±Inf, −0) are stored as strings 'NaN', 'Infinity', '-Infinity',
 * '-0'; reading (the schema's ExactJsonNumber) turns them back.
 */
function encodeNumbers(p: Problem): unknown {
  return JSON.parse(
    JSON.stringify(p, (_k, v) =>
      typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0)) ? (Object.is(v, -0) ? '-0' : String(v)) : v,
    ),
  );
}

/** Add an entry unless the same case is already there; returns the file written, or undefined. */
export function addToCorpus(dir: string, e: Omit<CorpusEntry, 'id' | 'schema' | 'schemaVersion'>): string | undefined {
  const id = entryId(e);
  const file = join(dir, `${e.generator}-${e.backend}-${e.precision}-${e.expected.replace(':', '-')}-${id}.json`);
  mkdirSync(dir, { recursive: true });
  if (readdirSync(dir).some((f) => f.endsWith(`-${id}.json`))) return undefined;
  writeResult(file, 'counterexample', { schema: 'adzone/counterexample', schemaVersion: 1, id, ...e, problem: encodeNumbers(e.problem) });
  return file;
}

export function readCorpus(dir: string): Array<CorpusEntry & { file: string; family: MaxPoolJacobian[] }> {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const file = join(dir, f);
      const entry = readResult(file, 'counterexample').data;
      return { ...entry, file, family: entry.jacobians.map(parseJacobian) };
    });
}

export { jacobianName };
