/**
 * File access shared by the loaders: where the data lives, reading with a clear "missing" error,
 * gunzip, sha256 (cached per path/size/mtime within the process) and the checks against known
 * sizes and hashes.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { DataError, fmtInt } from './errors.ts';
import type { LoadOptions } from './types.ts';

/** The repository root (two folders above this file), found from import.meta.url, not the cwd. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The shared data root: $ADZONE_DATA_DIR if set (a folder holding cifar10/ and imagenet/, laid out
 * like ../shared/data), else ../shared/data beside the repository.
 */
export function dataRoot(): string {
  const env = process.env.ADZONE_DATA_DIR;
  if (env && env.trim() !== '') return resolve(env);
  return resolve(REPO_ROOT, '..', 'shared', 'data');
}

/** A sub-folder of the data root, or `dir` (resolved against the cwd) when given. */
export function dataDir(sub: string, dir?: string): string {
  return dir !== undefined ? resolve(dir) : join(dataRoot(), sub);
}

export function resolveIn(dir: string, file: string): string {
  return isAbsolute(file) ? file : join(dir, file);
}

/** Whether sha256 checks are on: the option wins, then ADZONE_DATA_VERIFY=0 turns them off. */
export function verifyWanted(opts: LoadOptions): boolean {
  if (opts.verify !== undefined) return opts.verify;
  const env = process.env.ADZONE_DATA_VERIFY;
  return !(env === '0' || env === 'false' || env === 'no');
}

/** Reads a whole file; a missing path is a DataError that names it and says how to get it. */
export function readDataFile(path: string, what: string, howToGet: string): Uint8Array {
  if (!existsSync(path)) {
    throw new DataError('missing', `${what} not found: ${path}. ${howToGet}`, { file: path });
  }
  const st = statSync(path);
  if (!st.isFile()) {
    throw new DataError('missing', `${what} is not a regular file: ${path}. ${howToGet}`, { file: path });
  }
  return plain(readFileSync(path));
}

/** A plain Uint8Array view of a Buffer (Buffer.slice makes views, Uint8Array.slice copies: keep the latter). */
export function plain(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** True if the bytes start with the gzip magic 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

export function gunzipFile(bytes: Uint8Array, path: string): Uint8Array {
  try {
    return plain(gunzipSync(bytes));
  } catch (e) {
    throw new DataError(
      'truncated',
      `${path} is a gzip file that does not decompress (${(e as Error).message}); it is probably truncated or corrupt: fetch it again.`,
      { file: path },
    );
  }
}

const hashCache = new Map<string, string>();

/**
 * sha256 of `bytes` (hex). `cacheKey` (e.g. path, size and mtime) lets repeated loads of the same
 * unchanged file skip the hash.
 */
export function sha256Of(bytes: Uint8Array, cacheKey?: string): string {
  if (cacheKey !== undefined) {
    const hit = hashCache.get(cacheKey);
    if (hit !== undefined) return hit;
  }
  const h = createHash('sha256').update(bytes).digest('hex');
  if (cacheKey !== undefined) hashCache.set(cacheKey, h);
  return h;
}

export function fileCacheKey(path: string, suffix = ''): string {
  const st = statSync(path);
  return `${path}\0${st.ino}\0${st.size}\0${st.mtimeMs}\0${st.ctimeMs}\0${suffix}`;
}

/** A known file: its content's checksum (sha256, or sha1 where only that is published) and size in bytes. */
export interface KnownFile {
  readonly sha256?: string;
  /** Where no sha256 is published but a sha1 is (the official CIFAR-10 batches). */
  readonly sha1?: string;
  readonly bytes: number;
  /** Where the value comes from, for messages. */
  readonly origin: string;
}

const SKIP_CHECK =
  'If you made or changed this file on purpose, load it with { verify: false } (or set ADZONE_DATA_VERIFY=0) to skip the check; otherwise fetch the file again.';

/** A sha1 (hex), cached like sha256Of. */
function sha1Of(bytes: Uint8Array, cacheKey?: string): string {
  const key = cacheKey === undefined ? undefined : `${cacheKey}\0sha1`;
  const hit = key === undefined ? undefined : hashCache.get(key);
  if (hit !== undefined) return hit;
  const h = createHash('sha1').update(bytes).digest('hex');
  if (key !== undefined) hashCache.set(key, h);
  return h;
}

function checksumMismatch(path: string, algo: string, expected: string, found: string, known: KnownFile, bytes: number): DataError {
  return new DataError(
    'sha256',
    `${algo} mismatch for ${path}: expected ${expected} (${known.origin}), found ${found} (${fmtInt(bytes)} bytes). ${SKIP_CHECK}`,
    { file: path, expected, found },
  );
}

/**
 * Hashes `bytes` and, when `verify` and the file is known, checks size and checksum (sha256, and
 * sha1 where that is what is published). Called after the structural checks, so a truncated file
 * or a bad label gets its own, more specific error first.
 */
export function checkKnown(
  path: string,
  bytes: Uint8Array,
  known: KnownFile | undefined,
  verify: boolean,
  cacheKey?: string,
): { sha256: string; verified: boolean } {
  if (known && verify && bytes.length !== known.bytes) {
    throw new DataError(
      'size',
      `${path} has the wrong size: expected ${fmtInt(known.bytes)} bytes (${known.origin}), found ${fmtInt(bytes.length)}. ${SKIP_CHECK}`,
      { file: path, expected: known.bytes, found: bytes.length },
    );
  }
  const sha256 = sha256Of(bytes, cacheKey);
  const check = Boolean(known && verify);
  if (check && known?.sha256 && sha256 !== known.sha256) throw checksumMismatch(path, 'sha256', known.sha256, sha256, known, bytes.length);
  if (check && known?.sha1) {
    const sha1 = sha1Of(bytes, cacheKey);
    if (sha1 !== known.sha1) throw checksumMismatch(path, 'sha1', known.sha1, sha1, known, bytes.length);
  }
  return { sha256, verified: check && Boolean(known?.sha256 || known?.sha1) };
}

/** Checks a `limit` option and returns the number of records to keep out of `n`. */
export function applyLimit(n: number, limit: number | undefined): number {
  if (limit === undefined) return n;
  if (!Number.isInteger(limit) || limit < 0) {
    throw new DataError('option', `limit must be a non-negative integer, got ${limit}`);
  }
  return Math.min(n, limit);
}
