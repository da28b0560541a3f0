/** The log2 relative gap of the near-tie generators (nearTie, nearTieChain): its default range and its check. */
import { realRange, type Range, type RangeConstraints, type Where } from './constraints.ts';

/** The default range [min, max] of the near-tie generators' log2 relative gap (2^−60 … 2^−2). */
export const NEAR_TIE_GAP_EXPONENTS = [-60, -2] as const;

/**
 * The drawn range of log2 gaps: numbers, min < max. At most −2 (a gap of a quarter): nearTie keeps the
 * window's other entries a quarter below a, nearTieChain its other conv outputs at half of A or less,
 * so wider gaps would no longer be near ties. At least −1074 (below it, every gap is below a double's ulp).
 */
export function gapExponents(at: Where, value: RangeConstraints | undefined): Range {
  const [min, max] = NEAR_TIE_GAP_EXPONENTS;
  return realRange(at, 'gapExponents', value, { min, max }, { min: -1074, max });
}
