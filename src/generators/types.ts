import type { Arbitrary } from 'fast-check';
import type { LayerSpec } from '../problem/index.ts';
import type { Case } from '../schema/verify.ts';

/**
 * One generated evaluation point, with a note of how it was built (for reports and replay): its
 * problem, and free-form facts about the draw in `meta`, e.g. { k: 3 } for an exact tie of 3
 * entries, { gapUlps: 1, in: '32' }. Its type is verify.json's (src/schema/verify.ts).
 */
export type { Case } from '../schema/verify.ts';

/** A layer's kind: 'conv2d', 'relu' or 'maxpool'. */
export type LayerKind = LayerSpec['kind'];

/**
 * What a generator's problems are: 'lone-maxpool' (one maxpool layer, no parameters: what a MaxPool
 * kernel runs, and exact at 64 bits, so a 64-bit compensation there is a bug) or 'chain' (more layers).
 */
export type GeneratorStructure = 'lone-maxpool' | 'chain';

/** A generator: stable id, one-sentence description, near-tie flag, its arbitrary, and (where declared) its structure. */
export interface Generator {
  /** Stable id used on the command line and in reports: 'exact-tie', 'round-tie-16', ... */
  readonly id: string;
  /** One sentence: what inputs it produces. */
  readonly description: string;
  /** Whether it belongs to the near-tie family (inputs near but not at real ties). */
  readonly nearTie: boolean;
  /** The fast-check arbitrary drawing its cases. */
  readonly arbitrary: Arbitrary<Case>;
  /** Its structure, where declared (every registry generator declares it; a generator of your own may). */
  readonly structure?: GeneratorStructure;
  /** The layer-kind sequences its problems take, where declared, e.g. [['conv2d', 'relu', 'maxpool'], ['conv2d', 'maxpool']]. */
  readonly layers?: readonly (readonly LayerKind[])[];
}

/** A generator of the registry: its structure and layer sequences declared (and checked against its draws by the tests). */
export interface RegisteredGenerator extends Generator {
  readonly structure: GeneratorStructure;
  readonly layers: readonly (readonly LayerKind[])[];
}
