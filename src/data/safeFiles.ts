/**
 * Writing downloads without following symbolic links. A fetch writes into a folder someone else may
 * also write into (a shared data folder): a link planted at FILE.part, at FILE or at a folder an
 * archive unpacks into would otherwise send the bytes to wherever it points. So every path written
 * is lstat'ed (a link or anything but a regular file is refused with a DataError 'unsafe'), files
 * are opened with O_NOFOLLOW (a link planted between the check and the open fails too), and unpacked
 * members go to a fresh temp made with exclusive create and are then renamed into place.
 */
import { closeSync, constants, lstatSync, mkdirSync, openSync, rmSync, type Stats, writeSync } from 'node:fs';
import { join, sep } from 'node:path';
import { InputError } from '../util/errors.ts';
import { tempBeside } from '../util/output.ts';
import { DataError } from './errors.ts';

function lstatIfThere(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DataError('unsafe', `cannot look at ${path}: ${(e as Error).message}`, { file: path });
  }
}

function refusal(path: string, what: string, st: Stats): DataError {
  const is = st.isSymbolicLink() ? 'a symbolic link' : st.isDirectory() ? 'a folder' : 'not a regular file';
  return new DataError(
    'unsafe',
    `${path} (${what}) is ${is}; refusing to write through it. Remove it (or point --to at another folder) and fetch again.`,
    { file: path, found: is },
  );
}

/** The size of the regular file at `path` (0 when nothing is there); a link or any other kind of entry is refused. */
export function regularFileSize(path: string, what: string): number {
  const st = lstatIfThere(path);
  if (st === undefined) return 0;
  if (!st.isFile()) throw refusal(path, what, st);
  return st.size;
}

/** True when a regular file is at `path`, false when nothing is; a link or any other kind of entry is refused. */
export function regularFileThere(path: string, what: string): boolean {
  const st = lstatIfThere(path);
  if (st === undefined) return false;
  if (!st.isFile()) throw refusal(path, what, st);
  return true;
}

/** A file descriptor for writing `path` without following a link: appending (a resume) or emptied first (a fresh start). */
export function openNoFollow(path: string, append: boolean, what: string): number {
  regularFileSize(path, what);
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | (append ? constants.O_APPEND : constants.O_TRUNC);
  try {
    return openSync(path, flags, 0o644);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP')
      throw new DataError('unsafe', `${path} (${what}) became a symbolic link; refusing to write through it`, { file: path });
    throw new InputError(`cannot write ${path} (${what}): ${(e as Error).message}`, path);
  }
}

/** Makes the folders of `rel` under `root` one level at a time; a link or a file at any level is refused. */
export function safeDirUnder(root: string, rel: string): string {
  let at = root;
  for (const part of rel.split(sep).filter((p) => p !== '' && p !== '.')) {
    at = join(at, part);
    const st = lstatIfThere(at);
    if (st === undefined) mkdirSync(at);
    else if (!st.isDirectory()) throw refusal(at, 'a folder to unpack into', st);
  }
  return at;
}

/** Writes `data` to a fresh temp beside `target` (exclusive create: never an existing entry) and returns the temp's path. */
export function writeFreshTemp(target: string, data: Uint8Array): string {
  const tmp = tempBeside(target);
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  try {
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw new InputError(`cannot write ${tmp} (for ${target}): ${(e as Error).message}`, target);
  }
  closeSync(fd);
  return tmp;
}
