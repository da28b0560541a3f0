/**
 * Progress lines on stderr: redrawn in place on a terminal, one line every 10% otherwise (CI logs).
 * `progress` counts done/total and derives rate and ETA (network zones); `verifyProgress` shows what
 * the verify stage reports: draws and shrinks, and its ETA over both (src/zones/progress.ts).
 */
import type { VerifyProgress } from '../zones/progress.ts';

export interface Progress {
  update: (done: number, total: number, what: string) => void;
  done: () => void;
}

export function fmtTime(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  if (s < 60) return `${s.toFixed(0)}s`;
  return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
}

/** Below this many seconds a rate is noise (and at 0 s it is a division by zero): shown as '…'. */
const MIN_RATE_SECONDS = 1;

/** A line redrawn in place on a terminal, else written whenever the decile of `fraction` changes. */
function lineWriter(quiet: boolean, stream: NodeJS.WriteStream) {
  const tty = stream.isTTY === true;
  let lastDecile = -1;
  let drawn = false;
  return {
    show(fraction: number, line: string) {
      if (quiet) return;
      if (tty) {
        stream.write(`\r\x1b[K${line.slice(0, (stream.columns ?? 120) - 1)}`);
        drawn = true;
        return;
      }
      const decile = Math.floor(10 * Math.min(1, Math.max(0, fraction)));
      if (decile !== lastDecile) {
        lastDecile = decile;
        stream.write(`${line}\n`);
      }
    },
    done() {
      if (tty && drawn) stream.write('\n');
      drawn = false;
    },
  };
}

export function progress(quiet: boolean, stream: NodeJS.WriteStream = process.stderr): Progress {
  const out = lineWriter(quiet, stream);
  let start = Date.now();
  let lastTotal = -1;
  return {
    update(done, total, what) {
      if (total !== lastTotal) {
        start = Date.now();
        lastTotal = total;
      }
      const el = (Date.now() - start) / 1000;
      const measured = el >= MIN_RATE_SECONDS && done > 0;
      const rate = measured ? `${(done / el).toFixed(1)}/s` : '…/s';
      const eta = measured ? fmtTime(((total - done) * el) / done) : '?';
      out.show(
        done / Math.max(1, total),
        `${done}/${total} (${((100 * done) / Math.max(1, total)).toFixed(0)}%) ${rate} ETA ${eta} — ${what}`,
      );
    },
    done: out.done,
  };
}

export interface VerifyProgressLine {
  update: (p: VerifyProgress) => void;
  done: () => void;
}

/** `draws 1200/2800 · shrinks 12/~40 · 45% · 0m21s, ETA 0m35s — drew near-tie 150–200`. */
export function verifyProgress(quiet: boolean, stream: NodeJS.WriteStream = process.stderr): VerifyProgressLine {
  const out = lineWriter(quiet, stream);
  return {
    update(p) {
      const shrinks =
        p.shrinksExpected > 0 || p.shrinksDone > 0
          ? ` · shrinks ${p.shrinksDone}/${p.shrinksKnown === p.shrinksExpected ? '' : '~'}${p.shrinksExpected}`
          : '';
      const eta = p.elapsedSeconds >= MIN_RATE_SECONDS ? fmtTime(p.etaSeconds) : '?';
      out.show(
        p.fraction,
        `draws ${p.drawsDone}/${p.drawsTotal}${shrinks} · ${(100 * p.fraction).toFixed(0)}% · ${fmtTime(p.elapsedSeconds)}, ETA ${eta} — ${p.what}`,
      );
    },
    done: out.done,
  };
}
