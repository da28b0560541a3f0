/**
 * Same seed, same cases: every registry generator still draws (and shrinks) exactly what it drew when
 * fixtures/generator-draws.json was written. The counterexample corpus regenerates its cases from
 * (generator id, seed, path), so a generator's draws move only on purpose, with this snapshot
 * rewritten in the same commit (print it with `npx tsx scripts/generator-draw-hashes.ts`).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GENERATORS } from '../src/generators/index.ts';
import { drawHashes, type DrawHashes } from './support/draw-hashes.ts';

const snapshot = JSON.parse(readFileSync(new URL('../fixtures/generator-draws.json', import.meta.url), 'utf8')) as Record<
  string,
  DrawHashes
>;

describe('generator draws', () => {
  it('the snapshot names exactly the registry generators', () => {
    expect(Object.keys(snapshot).sort()).toEqual(GENERATORS.map((g) => g.id).sort());
  });
  it.each(GENERATORS.map((g) => [g.id, g] as const))('%s draws and shrinks as in the snapshot', (id, g) => {
    expect(drawHashes(g)).toEqual(snapshot[id]);
  });
});
