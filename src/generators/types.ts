import type { Arbitrary } from 'fast-check';
import type { Case } from '../schema/verify.ts';

/**
 * One generated evaluation point, with a note of how it was built (for reports and replay): its
 * problem, and free-form facts about the draw in `meta`, e.g. { k: 3 } for an exact tie of 3
 * entries, { gapUlps: 1, in: '32' }. Its type is verify.json's (src/schema/verify.ts).
 */
export type { Case } from '../schema/verify.ts';

export interface Generator {
  /** Stable id used on the command line and in reports: 'exact-tie', 'round-tie-16', ... */
  readonly id: string;
  /** One sentence: what inputs it produces. */
  readonly description: string;
  /** Whether it belongs to the near-tie family (inputs near but not at real ties). */
  readonly nearTie: boolean;
  readonly arbitrary: Arbitrary<Case>;
}
