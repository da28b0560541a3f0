/**
 * The one error type of the data loaders and of `adzone data fetch`. Its message is one line that
 * carries the facts a person needs to act: which file, what was expected, what was found, and how
 * to get or fix the file. The same facts are on the object for code that wants them. It is an
 * InputError (unusable input or environment), so the command line exits 2 with that line.
 */
import { InputError } from '../util/errors.ts';

/** What kind of trouble a DataError is. */
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
  /**
   * The content's checksum is not the published one: sha256 where one is known, else the md5 or
   * sha1 that is published for the file (SVHN, the official CIFAR-10 batches).
   */
  | 'sha256'
  /** Anything else wrong with a file's contents (an unreadable classes.txt, count mismatch, …). */
  | 'format'
  /** The data set has no offline source. */
  | 'unavailable'
  /** A bad argument (unknown name, batch size 0, non-integer seed, …). */
  | 'option'
  /** A download failed: HTTP error, broken connection, too many redirects, a server that sends more than the file. */
  | 'download'
  /** A path that would be followed somewhere else (a symbolic link at a file to write, a tar member outside its folder). */
  | 'unsafe';

export interface DataErrorFacts {
  readonly file?: string;
  readonly expected?: string | number;
  readonly found?: string | number;
  /** Record (image) index in its file, 0-based. */
  readonly record?: number;
  readonly label?: number;
}

export class DataError extends InputError {
  override name = 'DataError';
  readonly kind: DataErrorKind;
  readonly file?: string;
  readonly expected?: string | number;
  readonly found?: string | number;
  readonly record?: number;
  readonly label?: number;

  constructor(kind: DataErrorKind, message: string, facts: DataErrorFacts = {}) {
    super(message, facts.file);
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
