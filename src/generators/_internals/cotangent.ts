import fc, { type Arbitrary } from 'fast-check';

/**
 * A cotangent entry: ±(1 + n/8) for n ∈ 0..56, i.e. ±1..±8 in steps of 1/8. Nonzero, and exact in
 * binary16 (at most 7 significant bits), so rounding the cotangent never matters and every window's
 * choice reaches the gradient. Shrinks towards +1.
 */
export function cotangentEntry(): Arbitrary<number> {
  return fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 56 })).map(([negative, n]) => ((negative ? -1 : 1) * (8 + n)) / 8);
}

export function cotangent(length: number): Arbitrary<number[]> {
  return fc.array(cotangentEntry(), { minLength: length, maxLength: length });
}
