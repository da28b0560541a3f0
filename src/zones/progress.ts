/**
 * How far a verify run is, and how long it still needs: draws and shrinking together. The estimate
 * is in work seconds (the time units took where they ran, summed) divided by the threads running:
 * - a draw costs what the draws so far cost on average;
 * - a shrink costs (1 + its steps) single-cell classifications, a step what the shrinks so far cost
 *   per step (before any: a third of a draw, about what a single cell costs);
 * - a shrink still pending is assumed to take the steps the finished ones took on average (before
 *   any: half the budget), and a generator whose draws are not done yet to bring as many classes to
 *   shrink as the finished ones brought on average (before any: MEAN_CLASSES_PRIOR).
 */

export interface VerifyProgress {
  readonly drawsDone: number;
  readonly drawsTotal: number;
  readonly shrinksDone: number;
  /** Shrinks known so far (classes found in finished generators). */
  readonly shrinksKnown: number;
  /** Shrinks expected in all, known ones included (an estimate until every generator is drawn). */
  readonly shrinksExpected: number;
  /** Done share of the estimated work, 0…1. */
  readonly fraction: number;
  readonly elapsedSeconds: number;
  /** Estimated wall seconds left; NaN before anything is measured. */
  readonly etaSeconds: number;
  /** What was just finished or started. */
  readonly what: string;
}

const MEAN_CLASSES_PRIOR = 5;
const STEP_PRIOR_DRAWS = 1 / 3;

export class ProgressModel {
  private drawsDone = 0;
  private drawSeconds = 0;
  private shrinksDone = 0;
  private shrinkSteps = 0;
  private shrinkSeconds = 0;
  private shrinksKnown = 0;
  private generatorsDrawn = 0;
  private readonly t0 = performance.now();

  constructor(
    private readonly drawsTotal: number,
    private readonly generators: number,
    private readonly shrinkBudget: number,
    private readonly shrinking: boolean,
    private readonly jobs: number,
  ) {}

  drew(draws: number, seconds: number): void {
    this.drawsDone += draws;
    this.drawSeconds += seconds;
  }

  generatorDrawn(classes: number): void {
    this.generatorsDrawn++;
    this.shrinksKnown += classes;
  }

  shrank(steps: number, seconds: number): void {
    this.shrinksDone++;
    this.shrinkSteps += steps;
    this.shrinkSeconds += seconds;
  }

  report(what: string): VerifyProgress {
    const perDraw = this.drawsDone > 0 ? this.drawSeconds / this.drawsDone : Number.NaN;
    const meanSteps = this.shrinksDone > 0 ? this.shrinkSteps / this.shrinksDone : this.shrinkBudget / 2;
    const perEvaluation =
      this.shrinksDone > 0 && this.shrinkSteps + this.shrinksDone > 0
        ? this.shrinkSeconds / (this.shrinkSteps + this.shrinksDone)
        : perDraw * STEP_PRIOR_DRAWS;
    const undrawn = this.generators - this.generatorsDrawn;
    const meanClasses = this.generatorsDrawn > 0 ? this.shrinksKnown / this.generatorsDrawn : MEAN_CLASSES_PRIOR;
    const expected = this.shrinking ? this.shrinksKnown + undrawn * meanClasses : 0;
    const shrinkLeft = Math.max(0, expected - this.shrinksDone) * (1 + meanSteps) * perEvaluation;
    const left = (this.drawsTotal - this.drawsDone) * perDraw + shrinkLeft;
    const done = this.drawSeconds + this.shrinkSeconds;
    return {
      drawsDone: this.drawsDone,
      drawsTotal: this.drawsTotal,
      shrinksDone: this.shrinksDone,
      shrinksKnown: this.shrinksKnown,
      shrinksExpected: Math.round(expected),
      fraction: Number.isFinite(left) && done + left > 0 ? done / (done + left) : this.drawsDone / Math.max(1, this.drawsTotal),
      elapsedSeconds: (performance.now() - this.t0) / 1000,
      etaSeconds: left / this.jobs,
      what,
    };
  }
}
