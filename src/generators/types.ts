import type { Arbitrary } from 'fast-check';
import type { Problem } from '../problem/index.ts';

/** One generated evaluation point, with a note of how it was built (for reports and replay). */
export interface Case {
  readonly problem: Problem;
  /** Free-form facts about the draw: e.g. { k: 3 } for an exact tie of 3 entries, { gapUlps: 1, in: '32' }. */
  readonly meta: Readonly<Record<string, string | number | boolean>>;
}

export interface Generator {
  /** Stable id used on the command line and in reports: 'exact-tie', 'round-tie-16', ... */
  readonly id: string;
  /** One sentence: what inputs it produces. */
  readonly description: string;
  /** Whether it belongs to the near-tie family (inputs near but not at real ties). */
  readonly nearTie: boolean;
  readonly arbitrary: Arbitrary<Case>;
}
