/** Zones of one evaluation (DESIGN §3), plus 'nonfinite' for points outside the domain where zones are defined. */
export type Zone = 'regular' | 'bifurcation' | 'compensation' | 'nonfinite';
/** Why a compensation happened: rounding produced a tie ('tie') or swapped the argmax / a ReLU sign ('flip'). */
export type Cause = 'tie' | 'flip';
