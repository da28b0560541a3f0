/**
 * Which generators draw a lone MaxPool (one maxpool layer, no parameters). Their input is exact at
 * 64 bits (every double is its own exact value), so compensation there is impossible: a 64-bit
 * compensation on such a generator is a bug in the classifier or the engine, never a finding.
 *
 * Decided by structure: a few draws of the generator from the registry, every one a single
 * maxpool layer. Generators the registry does not know (an older report) fall back to their
 * description ("Lone MaxPool ...").
 */
import fc from 'fast-check';

let cache: Map<string, boolean> | undefined;

async function registry(): Promise<Map<string, boolean>> {
  if (cache) return cache;
  const { GENERATORS } = await import('../generators/index.ts');
  cache = new Map(
    GENERATORS.map((g) => [
      g.id,
      fc
        .sample(g.arbitrary, { seed: 1, numRuns: 12 })
        .every((c) => c.problem.layers.length === 1 && c.problem.layers[0].kind === 'maxpool'),
    ]),
  );
  return cache;
}

/** Ids among `generators` that draw a lone MaxPool. */
export async function loneMaxPoolGenerators(generators: readonly { id: string; description?: string }[]): Promise<string[]> {
  const reg = await registry();
  return generators.filter((g) => reg.get(g.id) ?? /^lone maxpool\b/i.test(g.description ?? '')).map((g) => g.id);
}
