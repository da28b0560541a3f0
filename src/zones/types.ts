/**
 * Zones of one evaluation (docs/DESIGN.md §3), plus two outcomes outside the three zones:
 * - 'nonfinite': NaN/±Inf in the point (no exact value) or overflow in precision p;
 * - 'defect': a framework's gradient equals, within rounding, the exact AD of no admissible
 *   Jacobian along the routing its own forward values imply: an implementation bug, not a zone.
 */
export type Zone = 'regular' | 'bifurcation' | 'compensation' | 'nonfinite' | 'defect';
/** Why a compensation happened: rounding produced a tie ('tie') or swapped the argmax / a ReLU sign ('flip'). */
export type Cause = 'tie' | 'flip';
