/**
 * Which generators draw a lone MaxPool (one maxpool layer, no parameters). Their input is exact at
 * 64 bits (every double is its own exact value), so compensation there is impossible: a 64-bit
 * compensation on such a generator is a bug in the classifier or the engine, never a finding.
 *
 * Read from the registry: every generator there declares its structure ('lone-maxpool' or 'chain'),
 * and properties/generators.test.ts checks each declaration against the generator's draws.
 * Generators the registry does not know (an older report) fall back to their description
 * ("Lone MaxPool ...").
 */
import { GENERATORS } from '../generators/index.ts';

const LONE = new Map(GENERATORS.map((g) => [g.id, g.structure === 'lone-maxpool']));

/** Ids among `generators` that draw a lone MaxPool. */
export async function loneMaxPoolGenerators(generators: readonly { id: string; description?: string }[]): Promise<string[]> {
  return generators.filter((g) => LONE.get(g.id) ?? /^lone maxpool\b/i.test(g.description ?? '')).map((g) => g.id);
}
