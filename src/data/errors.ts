/**
 * The one error type of the data loaders. Its message always carries the facts a person needs to
 * act: which file, what was expected, what was found, and how to get or fix the file. The same
 * facts are on the object for code that wants them.
 */
export type DataErrorKind =
  /** A file or folder does not exist (the message says how to get it). */
  | 'missing'
  /** A file ends part-way through a header or a record. */
  | 'truncated'
  /** A file has whole records but not the size its header or its known checksum says. */
  | 'size'
  /** An IDX magic number is not the one expected. */
  | 'magic'
  /** A label is not below the number of classes. */
  | 'label'
  /** The content's sha256 is not the published one. */
  | 'sha256'
  /** Anything else wrong with a file's contents (an unreadable classes.txt, count mismatch, …). */
  | 'format'
  /** The data set has no offline source. */
  | 'unavailable'
  /** A bad argument (unknown name, batch size 0, non-integer seed, …). */
  | 'option';

export interface DataErrorFacts {
  readonly file?: string;
  readonly expected?: string | number;
  readonly found?: string | number;
  /** Record (image) index in its file, 0-based. */
  readonly record?: number;
  readonly label?: number;
}

export class DataError extends Error {
  override name = 'DataError';
  readonly kind: DataErrorKind;
  readonly file?: string;
  readonly expected?: string | number;
  readonly found?: string | number;
  readonly record?: number;
  readonly label?: number;

  constructor(kind: DataErrorKind, message: string, facts: DataErrorFacts = {}) {
    super(message);
    this.kind = kind;
    this.file = facts.file;
    this.expected = facts.expected;
    this.found = facts.found;
    this.record = facts.record;
    this.label = facts.label;
  }
}

/** 30730000 → "30,730,000" (byte counts in messages). */
export function fmtInt(n: number): string {
  return n.toLocaleString('en-US');
}
