/**
 * Unpacking the CIFAR-10 archive: a small reader for ustar tar (GNU long names and pax paths too;
 * regular files and folders, links skipped), and extraction of the members under one folder of a
 * verified .tar.gz. A member that climbs out of its folder is refused, nothing is written through a
 * symbolic link (src/data/safeFiles.ts), and each member with a published sha1 is checked before it
 * is written.
 */
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { InputError } from '../util/errors.ts';
import { DataError, fmtInt } from './errors.ts';
import type { FetchExtract, FetchMember } from './fetchSources.ts';
import { regularFileSize, regularFileThere, safeDirUnder, writeFreshTemp } from './safeFiles.ts';

export interface TarEntry {
  readonly name: string;
  readonly type: 'file' | 'dir' | 'other';
  readonly data: Uint8Array;
}

function tarString(b: Uint8Array, start: number, len: number): string {
  let end = start;
  while (end < start + len && b[end] !== 0) end++;
  return Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('utf8');
}

function tarNumber(b: Uint8Array, start: number, len: number): number {
  if (b[start] & 0x80) {
    // GNU base-256 for large values.
    let v = b[start] & 0x7f;
    for (let i = start + 1; i < start + len; i++) v = v * 256 + b[i];
    return v;
  }
  const s = tarString(b, start, len).trim();
  return s === '' ? 0 : parseInt(s, 8);
}

/** The entries of an uncompressed tar archive. `what` names it in errors. */
export function* readTar(bytes: Uint8Array, what: string): Generator<TarEntry> {
  let pos = 0;
  let longName: string | undefined;
  let paxPath: string | undefined;
  while (pos + 512 <= bytes.length) {
    const h = bytes.subarray(pos, pos + 512);
    if (h.every((x) => x === 0)) return;
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i];
    const stored = tarNumber(h, 148, 8);
    if (stored !== sum)
      throw new DataError(
        'format',
        `${what}: bad tar header checksum at byte ${fmtInt(pos)} (stored ${stored}, computed ${sum}): not a tar archive, or corrupt`,
      );
    const size = tarNumber(h, 124, 12);
    const type = String.fromCharCode(h[156] || 0x30);
    const posix = tarString(h, 257, 6) === 'ustar';
    const prefix = posix ? tarString(h, 345, 155) : '';
    const name = prefix ? `${prefix}/${tarString(h, 0, 100)}` : tarString(h, 0, 100);
    const start = pos + 512;
    if (start + size > bytes.length) {
      throw new DataError(
        'truncated',
        `${what} is truncated: member ${name} needs ${fmtInt(size)} bytes at byte ${fmtInt(start)}, but the archive ends at ${fmtInt(bytes.length)}`,
      );
    }
    const data = bytes.subarray(start, start + size);
    pos = start + Math.ceil(size / 512) * 512;
    if (type === 'L') {
      longName = tarString(data, 0, data.length);
      continue;
    }
    if (type === 'x') {
      const m = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(Buffer.from(data).toString('utf8'));
      if (m) paxPath = m[1];
      continue;
    }
    if (type === 'g') continue;
    const full = longName ?? paxPath ?? name;
    longName = paxPath = undefined;
    yield { name: full, type: type === '0' || type === '7' ? 'file' : type === '5' ? 'dir' : 'other', data };
  }
  throw new DataError(
    'truncated',
    `${what} is truncated: it ends at byte ${fmtInt(bytes.length)} without the two zero blocks that close a tar archive`,
  );
}

/** A member name as a safe relative path, or null for one that is absolute or climbs out with '..'. */
function safeRelative(name: string): string | null {
  if (isAbsolute(name) || /^[A-Za-z]:/.test(name)) return null;
  const n = normalize(name).replace(/[\\/]+$/, '');
  if (n === '' || n === '.' || n.split(/[\\/]/).includes('..')) return null;
  return n;
}

const sha1Hex = (b: Uint8Array) => createHash('sha1').update(b).digest('hex');

/** DataError unless `data` (member `m` of `archive`) has the published sha1. */
function checkMember(archive: string, m: FetchMember, data: Uint8Array): void {
  if (m.sha1 === undefined) return;
  const found = sha1Hex(data);
  if (found !== m.sha1) {
    throw new DataError(
      'sha256',
      `${archive}: member ${m.path} has sha1 ${found}, expected ${m.sha1} (${fmtInt(data.length)} bytes): ` +
        'the archive passed its md5 check, so the recorded sha1 is wrong or the archive is not the official one; nothing was unpacked over it.',
      { file: archive, expected: m.sha1, found },
    );
  }
}

/** Whether every expected member is already there, a regular file with its size and sha1 (never, when nothing is expected). */
export function alreadyExtracted(dir: string, ex: FetchExtract): boolean {
  return (
    ex.expect.length > 0 &&
    ex.expect.every((m) => {
      const p = join(dir, m.path);
      if (!regularFileThere(p, 'an unpacked member')) return false;
      if (m.bytes !== undefined && regularFileSize(p, 'an unpacked member') !== m.bytes) return false;
      return m.sha1 === undefined || sha1Hex(readFileSync(p)) === m.sha1;
    })
  );
}

/** Writes one member's data to `dir/rel` through a fresh temp (never through a link at the target or a folder on the way). */
function writeMember(dir: string, rel: string, data: Uint8Array): void {
  const target = join(dir, rel);
  safeDirUnder(dir, dirname(rel));
  regularFileThere(target, 'an unpacked member');
  const tmp = writeFreshTemp(target, data);
  try {
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new InputError(`cannot write ${target}: ${(e as Error).message}`, target);
  }
}

/** DataError unless every expected member is there with its size after unpacking. */
function checkExpected(archive: string, dir: string, ex: FetchExtract): void {
  for (const m of ex.expect) {
    const p = join(dir, m.path);
    if (!regularFileThere(p, 'an unpacked member')) {
      throw new DataError('format', `${archive} was unpacked into ${dir} but has no ${m.path}: is it the right archive?`, {
        file: archive,
      });
    }
    const size = regularFileSize(p, 'an unpacked member');
    if (m.bytes !== undefined && size !== m.bytes) {
      throw new DataError('size', `${p} is ${fmtInt(size)} bytes after unpacking ${archive}, expected ${fmtInt(m.bytes)}`, {
        file: p,
        expected: m.bytes,
        found: size,
      });
    }
  }
}

/** Unpacks the members under `ex.into` of a verified .tar.gz into `dir`, then checks `ex.expect`. Returns the number of files written. */
export function extractTarGz(archive: string, dir: string, ex: FetchExtract): number {
  let tar: Uint8Array;
  try {
    tar = gunzipSync(readFileSync(archive));
  } catch (e) {
    throw new DataError('format', `${archive} does not gunzip (${(e as Error).message})`, { file: archive });
  }
  const into = normalize(ex.into);
  const wanted = new Map(ex.expect.map((m) => [normalize(m.path), m]));
  let written = 0;
  for (const m of readTar(tar, archive)) {
    const rel = safeRelative(m.name);
    if (rel === null)
      throw new DataError('unsafe', `${archive}: refusing member '${m.name}', which points outside the folder it is unpacked into`, {
        file: archive,
      });
    if (rel !== into && !rel.startsWith(into + sep)) continue;
    if (m.type === 'dir') safeDirUnder(dir, rel);
    else if (m.type === 'file') {
      const member = wanted.get(rel);
      if (member) checkMember(archive, member, m.data);
      writeMember(dir, rel, m.data);
      written++;
    }
  }
  checkExpected(archive, dir, ex);
  return written;
}
