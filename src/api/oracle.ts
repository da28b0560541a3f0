/**
 * `adzone/oracle`: exact arithmetic for MaxPool chains. Two independent implementations of one
 * contract: decimal.js with a proven working precision (primary) and big.js (cross-check).
 */
export {
  /** The cross-check oracle (big.js, exact by construction). */
  bigOracle,
  /** Canonical exact text of a rational ('N/D' or a plain decimal), identical for equal values in both oracles. */
  canonicalText,
  /** The primary oracle (decimal.js, each operation's digits proven sufficient before it runs). */
  decimalOracle,
  /** The exact backward pass: AD_R, its magnitudes and rounding depths. */
  type ExactBackward,
  /** The exact forward pass: routing and activations. */
  type ExactForward,
  /** An exact real number as the oracle computes it. */
  type ExactNumber,
  /** The exact value of a finite double as an ExactNumber (decimal.js). */
  exactFromNumber,
  /** The double nearest a rational (round to nearest, ties to even). */
  nearestDouble,
  /** The oracle contract: exact forward (routing, activations) and exact backward along any routing. */
  type Oracle,
  /** Thrown for a value without an exact meaning (NaN, ±Inf) or an unsupported computation. */
  OracleError,
  /** An exact rational as BigInt numerator and denominator. */
  type Rational,
  /** Any ExactNumber as a BigInt fraction in lowest terms. */
  toRational,
} from '../oracle/index.ts';
