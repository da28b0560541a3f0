/** The progress line of a download: bytes, %, rate and ETA, rewritten in place on a terminal, a line every 10 s otherwise. */

/** Where progress goes (process.stderr, or a test's collector). */
export interface FetchOutput {
  write(s: string): unknown;
  readonly isTTY?: boolean;
}

/** 182040794 → "182.0 MB". */
export function fmtBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1000;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

function fmtDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}

/** The progress line: bytes, %, rate, ETA; rewritten in place on a terminal, a line every 10 s otherwise. */
export class Progress {
  /** performance.now(), not Date.now(): a small file on a fast link can finish within the same millisecond. */
  private readonly t0 = performance.now();
  /** When the line was last written (the first after 250 ms on a terminal, 10 s otherwise; `done` always writes). */
  private last = this.t0;
  private shown = false;
  constructor(
    private readonly out: FetchOutput | null,
    private readonly label: string,
    private readonly total: number | undefined,
    /** Bytes already there when this attempt started (not counted in the rate). */
    private readonly start: number,
  ) {}

  private line(bytes: number): string {
    const dt = (performance.now() - this.t0) / 1000;
    const rate = dt > 0 ? (bytes - this.start) / dt : 0;
    const left = this.total !== undefined ? Math.max(0, this.total - bytes) : undefined;
    const parts = [this.label, this.total ? `${fmtBytes(bytes)} of ${fmtBytes(this.total)}` : fmtBytes(bytes)];
    if (this.total) parts.push(`${((100 * bytes) / this.total).toFixed(1)}%`);
    parts.push(`${fmtBytes(rate)}/s`);
    if (this.total) parts.push(`ETA ${left === 0 ? '0:00' : rate > 0 ? fmtDuration(left! / rate) : '?'}`);
    return parts.join('  ');
  }

  update(bytes: number): void {
    if (!this.out) return;
    const now = performance.now();
    const tty = this.out.isTTY === true;
    if (now - this.last < (tty ? 250 : 10_000)) return;
    this.last = now;
    this.shown = true;
    this.out.write(tty ? `\r${this.line(bytes)}\x1b[K` : `${this.line(bytes)}\n`);
  }

  done(bytes: number): void {
    if (!this.out) return;
    const tty = this.out.isTTY === true;
    if (tty && this.shown) this.out.write(`\r${this.line(bytes)}\x1b[K\n`);
    else if (!tty) this.out.write(`${this.line(bytes)}\n`);
  }
}
