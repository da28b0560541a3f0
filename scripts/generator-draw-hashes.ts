/**
 * Prints the draw fingerprints of every registry generator (properties/support/draw-hashes.ts) as
 * fixtures/generator-draws.json holds them. Rewrite that file only when a generator's draws change
 * on purpose: the counterexample corpus replays cases from (generator id, seed, path).
 */
import { GENERATORS } from '../src/generators/index.ts';
import { registryDrawHashes } from '../properties/support/draw-hashes.ts';

process.stdout.write(`${JSON.stringify(registryDrawHashes(GENERATORS), null, 2)}\n`);
