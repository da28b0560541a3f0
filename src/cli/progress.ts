/**
 * A progress line on stderr: redrawn in place on a terminal, one line every 10% otherwise (CI logs).
 * Shows done/total, percentage, rate and ETA.
 */
export interface Progress {
  update: (done: number, total: number, what: string) => void;
  done: () => void;
}

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(0)}s`;
  return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
}

export function progress(quiet: boolean, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (quiet) return { update: () => {}, done: () => {} };
  const tty = stream.isTTY === true;
  let start = Date.now();
  let lastTotal = -1;
  let lastDecile = -1;
  let drawn = false;
  return {
    update(done, total, what) {
      if (total !== lastTotal) {
        start = Date.now();
        lastTotal = total;
        lastDecile = -1;
      }
      const el = (Date.now() - start) / 1000;
      const rate = done / Math.max(el, 1e-9);
      const eta = (total - done) / rate;
      const line = `${done}/${total} (${((100 * done) / total).toFixed(0)}%) ${rate.toFixed(1)}/s ETA ${fmtTime(eta)} — ${what}`;
      if (tty) {
        stream.write(`\r\x1b[K${line.slice(0, (stream.columns ?? 120) - 1)}`);
        drawn = true;
      } else {
        const decile = Math.floor((10 * done) / total);
        if (decile !== lastDecile) {
          lastDecile = decile;
          stream.write(`${line}\n`);
        }
      }
    },
    done() {
      if (tty && drawn) stream.write('\n');
    },
  };
}
