/**
 * The nightly's clock and progress lines (stderr, one line per event, so CI logs read well):
 *
 *   nightly ▸ verify: start — 14 generators × 120 draws, ≤ 30 shrinks; planned 2m10s · run 0m41s of 10m00s, planned end 8m40s
 *   nightly ▸ verify: 3/14 argmax-flip-16 (5s) · stage 0m25s, ETA 1m45s · run ETA end 8m52s
 *   nightly ▸ verify: truncated after 9/14 units in 1m55s — the budget is about to run out
 *
 * ETAs scale what is left of the plan by how the finished units compared with their estimates.
 */
import { fmtSeconds } from './budget.ts';

export interface Clock {
  /** Seconds since the run began. */
  elapsed(): number;
  readonly budget: number;
  /** Seconds kept at the end for the report and gate. */
  readonly reserve: number;
  /** Whether a unit estimated at `seconds` can still start and end before the reserve. */
  fits(seconds: number): boolean;
}

export function clock(budgetSeconds: number, reserveSeconds: number, start = performance.now()): Clock {
  const elapsed = () => (performance.now() - start) / 1000;
  return {
    elapsed,
    budget: budgetSeconds,
    reserve: reserveSeconds,
    fits: (s) => elapsed() + s <= budgetSeconds - reserveSeconds,
  };
}

export interface StageTicker {
  /**
   * A unit is done: its label, its estimate and how long it took. `share` is the part of the
   * stage's wall time it stands for (1/lanes when units run side by side).
   */
  unit(label: string, estimated: number, seconds: number, share?: number): void;
  /** A free line under the stage. */
  note(text: string): void;
  end(status: string, why?: string): void;
}

/**
 * `later()` gives the planned seconds of the stages after this one (and the reserve), for the run's ETA.
 */
export function stageTicker(
  name: string,
  c: Clock,
  units: number,
  plannedSeconds: number,
  later: () => number,
  detail: string,
  log: (s: string) => void,
): StageTicker {
  const t0 = c.elapsed();
  let done = 0;
  let estDone = 0;
  let actualDone = 0;
  const prefix = `nightly ▸ ${name}:`;
  const runLine = (stageLeft: number) => `run ETA end ${fmtSeconds(c.elapsed() + stageLeft + later())} of ${fmtSeconds(c.budget)}`;
  log(
    `${prefix} start — ${detail}; planned ${fmtSeconds(plannedSeconds)} · run ${fmtSeconds(t0)} of ${fmtSeconds(c.budget)}, planned end ${fmtSeconds(t0 + plannedSeconds + later())}`,
  );
  return {
    unit(label, estimated, seconds, share = 1) {
      done++;
      estDone += estimated * share;
      actualDone += seconds * share;
      const ratio = estDone > 0 ? Math.min(3, Math.max(0.3, actualDone / estDone)) : 1;
      const left = Math.max(0, plannedSeconds - estDone) * ratio;
      log(
        `${prefix} ${done}/${units} ${label} (${fmtSeconds(seconds)}) · stage ${fmtSeconds(c.elapsed() - t0)}, ETA ${fmtSeconds(left)} · ${runLine(left)}`,
      );
    },
    note(text) {
      log(`${prefix} ${text}`);
    },
    end(status, why) {
      log(
        `${prefix} ${status} after ${done}/${units} unit${units === 1 ? '' : 's'} in ${fmtSeconds(c.elapsed() - t0)}${why ? ` — ${why}` : ''}`,
      );
    },
  };
}
