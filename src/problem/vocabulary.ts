/**
 * The words adzone classifies with (DESIGN §3), defined once: every list below is imported where it
 * is used, by the classifiers, the result schemas and the reports, never spelled again.
 *
 * - **zones** of an evaluation point: regular, bifurcation, compensation;
 * - **causes** of a compensation: rounding made a tie (`tie`) or swapped an argmax or a ReLU sign (`flip`);
 * - **outcomes outside the zones**: `nonfinite` (NaN/±Inf in the point, or overflow in precision p: no
 *   zone is defined), `defect` (a framework result that is the exact AD of no admissible Jacobian
 *   along its own routing: a bug, not a zone) and `inconsistent` (a regular point whose value check
 *   failed without underflow: the classifier and the rounding bound disagree, reported as a flag and
 *   a count, never as a zone);
 * - **zone classes**, what the reports count: a zone with the cause of a compensation, or an outcome;
 * - **harmless ties**: ties that change no gradient, counted apart and never a zone.
 */

export const ZONES = ['regular', 'bifurcation', 'compensation'] as const;
export type Zone = (typeof ZONES)[number];

/** The zones a point is counted "in a zone" for: every zone but regular. */
export const NON_REGULAR_ZONES = ['bifurcation', 'compensation'] as const;
export type NonRegularZone = (typeof NON_REGULAR_ZONES)[number];

export const COMPENSATION_CAUSES = ['tie', 'flip'] as const;
/** Why a compensation happened: rounding produced a tie ('tie') or swapped the argmax / a ReLU sign ('flip'). */
export type CompensationCause = (typeof COMPENSATION_CAUSES)[number];

/** Outcomes outside the zones (see the header); `inconsistent` is a flag on a regular point, never a classification. */
export const OUTSIDE_ZONES = ['nonfinite', 'defect', 'inconsistent'] as const;
export type OutsideZone = (typeof OUTSIDE_ZONES)[number];

/** What one classification of a point says: a zone, or `nonfinite` / `defect`. */
export const OUTCOMES = [...ZONES, 'nonfinite', 'defect'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** The unit the reports count: a zone, with its cause for a compensation, or an outcome outside the zones. */
export const ZONE_CLASSES = ['regular', 'bifurcation', 'compensation:tie', 'compensation:flip', 'nonfinite', 'defect'] as const;
export type ZoneClass = (typeof ZONE_CLASSES)[number];

/** The zone class of an outcome and its cause (a compensation without a recorded cause counts as a tie). */
export function zoneClassOf(zone: Outcome, cause?: CompensationCause): ZoneClass {
  return zone === 'compensation' ? `compensation:${cause ?? 'tie'}` : zone;
}

/**
 * The kinds of harmless tie (network classification, src/zones/network/classify.ts):
 * - `all-zero`: a MaxPool window tied at 0 after a ReLU whose pre-activations are all < 0 (or
 *   exactly 0 with ReLU'(0) = 0): ReLU' erases whatever is routed there;
 * - `identical-patches`: tied entries that are identical computations on identical values (constant
 *   background): the parameter gradient is the same whichever one is routed to;
 * - `unrouted`: a ReLU at exactly 0 to which no gradient is routed;
 * - `fixed-alpha`: a ReLU at exactly 0 whose derivative α is the run's, fixed, and kept in precision p.
 */
export const HARMLESS_TIES = ['identical-patches', 'all-zero', 'unrouted', 'fixed-alpha'] as const;
export type HarmlessKind = (typeof HARMLESS_TIES)[number];

/** Network bifurcation causes: the sign of the tied value (`tie-zero`: also a routed ReLU at exactly 0 counted as a choice). */
export const BIFURCATION_CAUSES = ['tie-positive', 'tie-zero', 'tie-negative'] as const;
export type BifurcationCause = (typeof BIFURCATION_CAUSES)[number];

/** What a classification is about: the parameter gradient, or the input gradient where there are no parameters. */
export const GRADIENT_TARGETS = ['params', 'input'] as const;
export type GradientTarget = (typeof GRADIENT_TARGETS)[number];

/** The routing units nonsmoothness acts through. */
export const UNIT_KINDS = ['maxpool', 'relu'] as const;
export type UnitKind = (typeof UNIT_KINDS)[number];

/**
 * How a routing unit explains a point classification (src/zones/classify.ts): `real-tie`, a tie over
 * the reals; `tie` / `flip` / `split`, how rounding changed the routing (made a tie, moved the argmax
 * or sign, split a real tie).
 */
export const ROUTING_CHANGES = ['real-tie', 'tie', 'flip', 'split'] as const;
export type RoutingChange = (typeof ROUTING_CHANGES)[number];

/** A count of 0 for each of these words (the start of a tally of zones, classes, causes or kinds). */
export function zeroCountsOf<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
}

/**
 * What a framework verdict rests on (the device-under-test contract, src/backends/types.ts):
 * `own-forward`, the backend's own forward values or routing, so a routing defect shows as `defect`;
 * `no-forward`, none returned, so a result beyond rounding is compensation on trust only.
 */
export const VERDICT_BASES = ['own-forward', 'no-forward'] as const;
export type VerdictBasis = (typeof VERDICT_BASES)[number];
