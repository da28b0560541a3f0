/**
 * The exact oracle (docs/DESIGN.md §3): two independent implementations of the same contract
 * (types.ts), decimal.js (primary, with a proven working precision) and big.js (cross-check,
 * exact by construction). Their ExactNumbers compare through canonical text: equal values give
 * identical toString() in both, and `toRational` turns either into a BigInt fraction.
 * These are the lone-layer oracles (a Problem: conv, ReLU, MaxPool layers); the exact arithmetic of
 * whole networks (BigInt dyadics over a compiled network, residual blocks and average pools
 * included) is src/oracle/network, which zones/network's exact routing calls.
 */

export { BigExact, bigExact, bigExactFromRational, bigOracle } from './big.ts';
export { DecimalExact, decimalExact, decimalExactFromRational, decimalOracle, MAX_DIGITS, requiredDigits } from './decimal.ts';
export { canonicalText, nearestDouble, parseCanonical, parseDecimal, type Rational, rationalOf, reduce } from './rational.ts';
export * from './types.ts';

import { decimalExact } from './decimal.ts';
import { parseCanonical, type Rational } from './rational.ts';
import type { ExactNumber } from './types.ts';

/** The exact value of any ExactNumber as a BigInt fraction in lowest terms (via its canonical text). */
export function toRational(x: ExactNumber): Rational {
  return parseCanonical(x.toString());
}

/** The exact value of a finite double (decimal.js implementation); throws OracleError otherwise. */
export function exactFromNumber(x: number): ExactNumber {
  return decimalExact(x);
}
