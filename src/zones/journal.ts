/**
 * The verify run's journal: a JSON Lines file the run appends each finished unit to (a draw block's
 * tallies, a shrink's counterexample), so that an interrupted run keeps what it finished and a
 * resumed one runs only the rest. Line 1 is the header: the format, and the run's identity (every
 * field its results depend on); each further line is one unit, { key, outcome }.
 *
 * Numbers JSON cannot hold (NaN, ±Infinity, −0: a counterexample's problem may have them) are
 * written as { "$n": "NaN" } and read back. A last line cut short by the interruption is dropped
 * (its unit runs again); any other bad line, or a journal of another run, is an InputError naming
 * the file and what differs.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { writeFilesAtomic } from '../util/output.ts';
import { InputError } from '../util/errors.ts';
import type { SweepOutcome, SweepTask } from './sweep.ts';

export const JOURNAL_FORMAT = 'adzone/verify-journal';
export const JOURNAL_VERSION = 1;

export function taskKey(t: SweepTask): string {
  return t.kind === 'draws'
    ? `draws ${t.generator} ${t.from}-${t.to}`
    : `shrink ${t.generator} ${t.backend}@${t.precision} ${t.cls} #${t.index}`;
}

function encode(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0)) ? { $n: Object.is(v, -0) ? '-0' : String(v) } : v,
  );
}

function decode(line: string): unknown {
  return JSON.parse(line, (_k, v) =>
    v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 1 && typeof v.$n === 'string' ? Number(v.$n) : v,
  );
}

export interface Journal {
  readonly file: string | undefined;
  /** Units finished by an earlier, interrupted run (resume), by key. */
  readonly done: ReadonlyMap<string, SweepOutcome>;
  record(task: SweepTask, outcome: SweepOutcome): void;
}

/**
 * Open the journal of a run whose identity is `run`: resumed when `resume` (it must exist and be of
 * the same run), otherwise started afresh (an old one is replaced, which `log` says).
 */
export function openJournal(file: string | undefined, run: unknown, resume: boolean, log: (line: string) => void): Journal {
  if (!file) return { file, done: new Map(), record: () => {} };
  const header = encode({ format: JOURNAL_FORMAT, version: JOURNAL_VERSION, run });
  let done = new Map<string, SweepOutcome>();
  if (resume) {
    done = readJournal(file, header);
    log(`resuming from ${file}: ${done.size} finished unit(s) kept`);
  } else if (existsSync(file)) {
    log(`starting afresh: ${file} (an earlier run's journal) is replaced; --resume would have continued it`);
  }
  const lines = [header, ...[...done].map(([key, outcome]) => encode({ key, outcome }))];
  // Rewritten whole (without a cut last line), then appended to unit by unit.
  writeFilesAtomic([{ path: file, data: `${lines.join('\n')}\n` }]);
  return {
    file,
    done,
    record(task, outcome) {
      appendFileSync(file, `${encode({ key: taskKey(task), outcome })}\n`);
    },
  };
}

function readJournal(file: string, header: string): Map<string, SweepOutcome> {
  if (!existsSync(file)) throw new InputError(`nothing to resume: ${file} does not exist (run without --resume to start)`, file);
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n');
  // Every whole line ends with a newline, so the last piece is '' or, when a run was killed
  // mid-write, a cut line: either way it goes (that unit runs again).
  lines.pop();
  if (lines[0] !== header)
    throw new InputError(
      `${file} is the journal of another run: ${differences(lines[0], header)}; run without --resume to start afresh`,
      file,
    );
  const done = new Map<string, SweepOutcome>();
  lines.slice(1).forEach((line, i) => {
    let entry: { key?: unknown; outcome?: { kind?: unknown } };
    try {
      entry = decode(line) as typeof entry;
    } catch {
      throw new InputError(`${file} line ${i + 2} is not JSON: the journal is damaged; run without --resume to start afresh`, file);
    }
    if (typeof entry.key !== 'string' || (entry.outcome?.kind !== 'draws' && entry.outcome?.kind !== 'shrink'))
      throw new InputError(
        `${file} line ${i + 2} is not a finished unit: the journal is damaged; run without --resume to start afresh`,
        file,
      );
    done.set(entry.key, entry.outcome as SweepOutcome);
  });
  return done;
}

/** Which fields of the run differ between a journal's header and this run's (for the message). */
function differences(found: string | undefined, expected: string): string {
  let a: { format?: string; version?: number; run?: Record<string, unknown> };
  try {
    a = JSON.parse(found ?? '');
  } catch {
    return 'its first line is not a journal header';
  }
  if (a.format !== JOURNAL_FORMAT || a.version !== JOURNAL_VERSION)
    return `format ${a.format} ${a.version}, expected ${JOURNAL_FORMAT} ${JOURNAL_VERSION}`;
  const b = JSON.parse(expected).run as Record<string, unknown>;
  const fields = Object.keys(b).filter((k) => JSON.stringify(a.run?.[k]) !== JSON.stringify(b[k]));
  return fields.length
    ? `it differs in ${fields.map((k) => `${k} (${JSON.stringify(a.run?.[k])}, now ${JSON.stringify(b[k])})`).join(', ')}`
    : 'its header differs';
}
