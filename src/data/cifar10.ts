/**
 * CIFAR-10 in its official binary record format: each record is 3,073 bytes, 1 label byte (0–9)
 * then 3,072 pixel bytes — the 32×32 R plane, then G, then B, row-major. No header.
 *
 * Works on the shared subset (../shared/data/cifar10/{train,test}_subset.bin: 10,000 / 2,000
 * records, real CIFAR-10 photos decoded from JPEG, so lossy — see its PROVENANCE.md) and on the
 * official cifar-10-batches-bin/ files (data_batch_1..5.bin, test_batch.bin: 10,000 records each).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DataError, fmtInt } from './errors.ts';
import { applyLimit, checkKnown, dataDir, fileCacheKey, type KnownFile, readDataFile, resolveIn, verifyWanted } from './files.ts';
import type { Dataset, LoadOptions, Split } from './types.ts';

export const CIFAR10_RECORD_BYTES = 1 + 3 * 32 * 32;
export const CIFAR10_CLASS_NAMES: readonly string[] = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
];

const SUBSET = 'the shared CIFAR-10 subset, ../shared/data/cifar10/PROVENANCE.md';
const OFFICIAL = "an official CIFAR-10 binary batch, 10,000 records; sha1 as recorded in Apache MXNet's Gluon CIFAR10 loader";
/**
 * Known files. The subset's sha256 and sizes are copied from ../shared/data/cifar10/PROVENANCE.md
 * (and re-measured with sha256sum here). For the official batches no sha256 is published (the
 * page gives the archive's md5 only); their sha1 sums are the ones Apache MXNet's Gluon CIFAR10
 * dataset checks each unpacked .bin file against (python/mxnet/gluon/data/vision/datasets.py). We
 * could not recompute them here (no copy of the archive offline), so `adzone data fetch cifar10`
 * checks them again on the members of the md5-verified archive as it unpacks them.
 */
export const CIFAR10_KNOWN: Readonly<Record<string, KnownFile>> = {
  'train_subset.bin': { sha256: 'a6f48cd4d8745d5b80b6a0f7665654d54e1aacda199a3a966cb7958b11d38f22', bytes: 30_730_000, origin: SUBSET },
  'test_subset.bin': { sha256: '06f5743fbd96393edfd8d5f5afaf48c59bfbbd020818793118b156a5abf473bb', bytes: 6_146_000, origin: SUBSET },
  'data_batch_1.bin': { sha1: 'aadd24acce27caa71bf4b10992e9e7b2d74c2540', bytes: 30_730_000, origin: OFFICIAL },
  'data_batch_2.bin': { sha1: 'c0ba65cce70568cd57b4e03e9ac8d2a5367c1795', bytes: 30_730_000, origin: OFFICIAL },
  'data_batch_3.bin': { sha1: '1dd00a74ab1d17a6e7d73e185b69dbf31242f295', bytes: 30_730_000, origin: OFFICIAL },
  'data_batch_4.bin': { sha1: 'aab85764eb3584312d3c7f65fd2fd016e36a258e', bytes: 30_730_000, origin: OFFICIAL },
  'data_batch_5.bin': { sha1: '26e2849e66a845b7f1e4614ae70f4889ae604628', bytes: 30_730_000, origin: OFFICIAL },
  'test_batch.bin': { sha1: '67eb016db431130d61cd03c7ad570b013799c88c', bytes: 30_730_000, origin: OFFICIAL },
};

const SUBSET_FILES = { train: ['train_subset.bin'], test: ['test_subset.bin'] } as const;
const OFFICIAL_FILES = {
  train: ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'],
  test: ['test_batch.bin'],
} as const;

export interface Cifar10Options extends LoadOptions {
  /**
   * Folder with the files. Default: $ADZONE_DATA_DIR/cifar10 if that variable is set, else
   * ../shared/data/cifar10 beside the repository (resolved from this file, not the cwd).
   */
  readonly dir?: string;
  /** Explicit files (absolute, or relative to `dir`), read in order. Default: see loadCifar10. */
  readonly files?: readonly string[];
}

function howToGet(dir: string): string {
  return (
    `The shared subset is expected in ${dir} (train_subset.bin, test_subset.bin; see ../shared/data/cifar10/PROVENANCE.md). ` +
    'Pass { dir } or set ADZONE_DATA_DIR to a folder holding cifar10/ to use another copy; for the full data set download ' +
    '"CIFAR-10 binary version" (cifar-10-binary.tar.gz) from https://www.cs.toronto.edu/~kriz/cifar.html, unpack it and point { dir } at cifar-10-batches-bin/.'
  );
}

/** Which files a split reads in `dir`: the subset if present, else the official batches if data_batch_1.bin / test_batch.bin is there. */
export function cifar10Files(split: Split, dir: string): string[] {
  const subset = SUBSET_FILES[split].map((f) => join(dir, f));
  if (subset.every((f) => existsSync(f))) return subset;
  const official = OFFICIAL_FILES[split].map((f) => join(dir, f));
  if (existsSync(official[0])) return official;
  return subset;
}

/** Class names from batches.meta.txt (official layout) when present, else the standard ten. */
function classNamesIn(dir: string): readonly string[] {
  const meta = join(dir, 'batches.meta.txt');
  if (!existsSync(meta)) return CIFAR10_CLASS_NAMES;
  const names = readFileSync(meta, 'utf8')
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return names.length === 10 ? names : CIFAR10_CLASS_NAMES;
}

/** A file's bytes as whole records with labels 0..9: DataError 'truncated' or 'label' otherwise. */
function checkRecords(path: string, bytes: Uint8Array, known: KnownFile | undefined, verify: boolean): number {
  const R = CIFAR10_RECORD_BYTES;
  if (bytes.length === 0 || bytes.length % R !== 0) {
    const whole = Math.floor(bytes.length / R);
    const expected = known && verify ? known.bytes : (whole + 1) * R;
    throw new DataError(
      'truncated',
      `${path} is truncated: CIFAR-10 records are ${fmtInt(R)} bytes (1 label + 3,072 pixels), so expected ${fmtInt(expected)} bytes` +
        `${known ? ` (${known.origin})` : ` (${fmtInt(expected / R)} records)`}, found ${fmtInt(bytes.length)} ` +
        `(${fmtInt(whole)} whole records and ${fmtInt(bytes.length - whole * R)} bytes over)`,
      { file: path, expected, found: bytes.length },
    );
  }
  const records = bytes.length / R;
  for (let i = 0; i < records; i++) {
    const label = bytes[i * R];
    if (label >= 10) {
      throw new DataError('label', `${path}: record ${i} has label ${label}, but CIFAR-10 has 10 classes (labels 0–9)`, {
        file: path,
        record: i,
        label,
        expected: '0..9',
        found: label,
      });
    }
  }
  return records;
}

interface Part {
  readonly bytes: Uint8Array;
  readonly records: number;
}

/** Reads and checks the files in order, stopping once `limit` records are in hand (each file read is checked whole). */
function readParts(files: readonly string[], dir: string, verify: boolean, limit: number | undefined) {
  const parts: Part[] = [];
  const hashes: { sha256: string; verified: boolean }[] = [];
  let total = 0;
  const cap = applyLimit(Number.MAX_SAFE_INTEGER, limit);
  for (const path of files) {
    if (total >= cap && parts.length > 0) break;
    const bytes = readDataFile(path, 'CIFAR-10 file', howToGet(dir));
    const known = CIFAR10_KNOWN[basename(path)];
    const records = checkRecords(path, bytes, known, verify);
    hashes.push(checkKnown(path, bytes, known, verify, fileCacheKey(path)));
    parts.push({ bytes, records });
    total += records;
  }
  return { parts, hashes, total };
}

/** The first n records of the parts, split into NCHW pixels and labels. */
function splitRecords(parts: readonly Part[], n: number): { images: Uint8Array; labels: Uint8Array } {
  const R = CIFAR10_RECORD_BYTES;
  const P = R - 1;
  const images = new Uint8Array(n * P);
  const labels = new Uint8Array(n);
  let k = 0;
  for (const { bytes, records } of parts) {
    for (let i = 0; i < records && k < n; i++, k++) {
      labels[k] = bytes[i * R];
      images.set(bytes.subarray(i * R + 1, (i + 1) * R), k * P);
    }
  }
  return { images, labels };
}

/**
 * Loads a CIFAR-10 split: shape [3, 32, 32], labels 0..9. By default the train split is
 * train_subset.bin (or data_batch_1..5.bin), the test split test_subset.bin (or test_batch.bin).
 */
export function loadCifar10(split: Split, opts: Cifar10Options = {}): Dataset {
  if (split !== 'train' && split !== 'test') throw new DataError('option', `CIFAR-10 split must be 'train' or 'test', got '${split}'`);
  const dir = dataDir('cifar10', opts.dir);
  const verify = verifyWanted(opts);
  const files = opts.files ? opts.files.map((f) => resolveIn(dir, f)) : cifar10Files(split, dir);
  const { parts, hashes, total } = readParts(files, dir, verify, opts.limit);
  const n = applyLimit(total, opts.limit);
  const { images, labels } = splitRecords(parts, n);
  return {
    name: 'cifar10',
    split,
    n,
    shape: [3, 32, 32],
    classes: 10,
    classNames: classNamesIn(dir),
    images,
    labels,
    source: { files: files.slice(0, parts.length), sha256: hashes.map((h) => h.sha256), verified: hashes.map((h) => h.verified) },
  };
}
