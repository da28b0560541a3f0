/**
 * The exact oracle (docs/DESIGN.md §3): two independent implementations of the same contract
 * (types.ts), decimal.js (primary, with a proven working precision) and big.js (cross-check,
 * exact by construction). Their ExactNumbers compare through canonical text: equal values give
 * identical toString() in both, and `toRational` turns either into a BigInt fraction.
 */
export * from './types.ts';
export { decimalOracle, DecimalExact, decimalExact, decimalExactFromRational, requiredDigits, MAX_DIGITS } from './decimal.ts';
export { bigOracle, BigExact, bigExact, bigExactFromRational } from './big.ts';
export { canonicalText, nearestDouble, parseCanonical, parseDecimal, rationalOf, reduce, type Rational } from './rational.ts';
import type { ExactNumber } from './types.ts';
import { parseCanonical, type Rational } from './rational.ts';
import { decimalExact } from './decimal.ts';

/** The exact value of any ExactNumber as a BigInt fraction in lowest terms (via its canonical text). */
export function toRational(x: ExactNumber): Rational {
  return parseCanonical(x.toString());
}

/** The exact value of a finite double (decimal.js implementation); throws OracleError otherwise. */
export function exactFromNumber(x: number): ExactNumber {
  return decimalExact(x);
}
