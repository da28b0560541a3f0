/**
 * A progress display for the commands that train (train, ablate, nightly): the training stage
 * itself never prints, it calls hooks; progressHooks turns them into this display.
 *
 * The training progress line on stderr, in the style of src/cli/progress.ts: redrawn in place on a
 * terminal, one line every 10% of the run otherwise (CI logs). Shows epoch, step/steps, the loss
 * and accuracy of the recent steps, the step time and the ETA. Epoch summaries and notes are
 * printed as lines of their own either way.
 */
import type { TrainHooks } from './loop.ts';

export interface TrainProgress {
  /** `step` of `total` steps of the run done; `startStep` is where this process began (resume). */
  step(info: {
    epoch: number;
    epochs: number;
    step: number;
    total: number;
    startStep: number;
    loss: number;
    acc: number | null;
    msPerStep: number;
  }): void;
  /** A status word in place of the bar (e.g. 'evaluating'). */
  status(text: string): void;
  /** A line of its own (epoch summaries, notes). */
  line(text: string): void;
  done(): void;
}

export function fmtDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  if (s < 60) return `${s.toFixed(0)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function trainProgress(quiet: boolean, stream: NodeJS.WriteStream = process.stderr): TrainProgress {
  if (quiet) return { step: () => {}, status: () => {}, line: () => {}, done: () => {} };
  const tty = stream.isTTY === true;
  let drawn = false;
  let lastDecile = -1;
  let lastDraw = 0;
  const clear = () => {
    if (tty && drawn) {
      stream.write('\r\x1b[K');
      drawn = false;
    }
  };
  return {
    step({ epoch, epochs, step, total, startStep, loss, acc, msPerStep }) {
      const eta = ((total - step) * msPerStep) / 1000;
      const text =
        `epoch ${epoch}/${epochs} step ${step}/${total} (${((100 * step) / total).toFixed(0)}%) loss ${Number.isFinite(loss) ? loss.toFixed(4) : String(loss)}` +
        `${acc === null ? '' : ` acc ${(100 * acc).toFixed(2)}%`} ${msPerStep.toFixed(0)} ms/step ETA ${fmtDuration(eta)}`;
      if (tty) {
        const now = Date.now();
        if (now - lastDraw < 100 && step < total) return;
        lastDraw = now;
        stream.write(`\r\x1b[K${text.slice(0, (stream.columns || 120) - 1)}`);
        drawn = true;
        return;
      }
      const decile = Math.floor((10 * step) / total);
      if (lastDecile === -1) lastDecile = Math.floor((10 * startStep) / total);
      if (decile !== lastDecile) {
        lastDecile = decile;
        stream.write(`${text}\n`);
      }
    },
    status(text) {
      if (!tty) return;
      stream.write(`\r\x1b[K${text.slice(0, (stream.columns || 120) - 1)}`);
      drawn = true;
    },
    line(text) {
      clear();
      stream.write(`${text}\n`);
    },
    done() {
      clear();
    },
  };
}

/** trainRun's hooks drawing the progress line and printing the log lines on `stream`; `done` clears the line. */
export function progressHooks(quiet: boolean, stream: NodeJS.WriteStream = process.stderr): TrainHooks & { done(): void } {
  const p = trainProgress(quiet, stream);
  return { onStep: (s) => p.step(s), onStatus: (t) => p.status(t), log: (l) => p.line(l), done: () => p.done() };
}
