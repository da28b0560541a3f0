/**
 * What a run may be asked to fail on (`adzone verify --fail-on LIST`, and the same words for
 * `adzone report --fail-on`): a list of these words, each naming a count of a verify table row.
 * A (generator, backend, precision) cell fails on a word when that count is above 0. The default is
 * the empty list: exploring never fails, CI names what it acts on.
 *
 * - defect: a framework result that is the exact AD of no admissible Jacobian along its own routing;
 * - inconsistent: a regular draw outside the rigorous rounding bound without underflow (should never happen);
 * - nonfinite: NaN/±Inf in the point, an overflow in p, or a non-finite result on a finite point;
 * - no-forward: a framework verdict taken without its forward values (a defect there would pass as compensation);
 * - bifurcation, compensation (either cause), compensation:tie, compensation:flip: the zones themselves.
 */
import type { TableRow } from '../schema/verify.ts';

export const FAIL_ON = [
  'defect',
  'inconsistent',
  'nonfinite',
  'no-forward',
  'bifurcation',
  'compensation',
  'compensation:tie',
  'compensation:flip',
] as const;
export type FailOn = (typeof FAIL_ON)[number];

export function isFailOn(s: string): s is FailOn {
  return (FAIL_ON as readonly string[]).includes(s);
}

/** One cell that fails one word: how many of its draws count. */
export interface FailingCell {
  readonly generator: string;
  readonly backend: string;
  readonly precision: string;
  readonly what: FailOn;
  readonly count: number;
  readonly draws: number;
}

/** The count of `what` in one table row. */
export function countOf(row: TableRow, what: FailOn): number {
  const c = row.counts;
  switch (what) {
    case 'defect':
      return c.defect ?? 0;
    case 'inconsistent':
      return row.inconsistent;
    case 'nonfinite':
      return c.nonfinite;
    case 'no-forward':
      return row.noForward ?? 0;
    case 'bifurcation':
      return c.bifurcation;
    case 'compensation':
      return c['compensation:tie'] + c['compensation:flip'];
    default:
      return c[what];
  }
}

/** Every (cell, word) of the table with a count above 0, in table order. */
export function failingCells(table: readonly TableRow[], failOn: readonly FailOn[]): FailingCell[] {
  return table.flatMap((r) =>
    failOn
      .map((what) => ({ generator: r.generator, backend: r.backend, precision: r.precision, what, count: countOf(r, what), draws: r.n }))
      .filter((f) => f.count > 0),
  );
}

/** One line for a failing cell, as the command prints it. */
export function failLine(f: FailingCell): string {
  return `FAIL ${f.what}: ${f.generator} on ${f.backend} at ${f.precision} bits, ${f.count} of ${f.draws} draws`;
}
