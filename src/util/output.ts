/**
 * Where a command's results go. Two rules from the project's integrity contract:
 * - outputs are checked writable *before* the work starts (a sweep never runs for ten minutes and
 *   then fails to save), by really creating the folder and a probe file, since permission bits
 *   say nothing to root and nothing about read-only mounts;
 * - several outputs are written as one transaction: every file first goes to a temp beside its
 *   target, and only when all are written are they renamed into place (a failure before the
 *   renames leaves every old file as it was).
 * Folders are made one level at a time: Node's recursive mkdir spins forever on some paths
 * (`/proc/x/y`), so it is never used here.
 */
import { closeSync, lstatSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { InputError } from './errors.ts';

function errCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException).code;
}

function why(e: unknown): string {
  const code = errCode(e);
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EROFS') return 'read-only file system';
  if (code === 'ENOSPC') return 'no space left on the device';
  if (code === 'ENOTDIR') return 'a part of the path is a file, not a folder';
  if (code === 'ENOENT') return 'a part of the path does not exist and cannot be made';
  return (e as Error).message;
}

/** Make `dir` and its missing parents, one level at a time; InputError naming the path when it cannot be. */
export function ensureDir(dir: string): void {
  const abs = resolve(dir);
  const missing: string[] = [];
  let at = abs;
  for (;;) {
    try {
      const st = statSync(at);
      if (!st.isDirectory()) throw new InputError(`${at} is a file, not a folder (needed for ${abs})`, abs);
      break;
    } catch (e) {
      if (e instanceof InputError) throw e;
      if (errCode(e) !== 'ENOENT' && errCode(e) !== 'ENOTDIR') throw new InputError(`cannot use ${at} (for ${abs}): ${why(e)}`, abs);
      const up = dirname(at);
      if (up === at) throw new InputError(`cannot create ${abs}: no existing parent folder`, abs);
      missing.push(at);
      at = up;
    }
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d);
    } catch (e) {
      if (errCode(e) !== 'EEXIST') throw new InputError(`cannot create the folder ${d}: ${why(e)}`, abs);
    }
  }
}

/** A temp name beside `path`, unique across processes and calls. */
export function tempBeside(path: string): string {
  const rnd = Math.random().toString(36).slice(2, 10);
  return join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.${rnd}.tmp`);
}

/** Check that files can be written into `dir` (made when missing) by writing and removing a probe file. */
export function assertWritableDir(dir: string): void {
  ensureDir(dir);
  const probe = tempBeside(join(resolve(dir), '.adzone-probe'));
  try {
    closeSync(openSync(probe, 'wx'));
  } catch (e) {
    throw new InputError(`cannot write into ${resolve(dir)}: ${why(e)}`, resolve(dir));
  }
  rmSync(probe, { force: true });
}

/** Check that `file` can be written: its folder can be made and written into, and the file itself is not a folder. */
export function assertWritableFile(file: string): void {
  const abs = resolve(file);
  try {
    if (lstatSync(abs).isDirectory()) throw new InputError(`${abs} is a folder; give a file name`, abs);
  } catch (e) {
    if (e instanceof InputError) throw e;
    if (errCode(e) !== 'ENOENT' && errCode(e) !== 'ENOTDIR') throw new InputError(`cannot use ${abs}: ${why(e)}`, abs);
  }
  assertWritableDir(dirname(abs));
}

export interface OutputFile {
  readonly path: string;
  readonly data: string | Uint8Array;
}

/**
 * Write every file as one transaction: all to temps beside their targets first, then all renamed.
 * A failure while writing removes the temps and replaces nothing; the error names the file.
 */
export function writeFilesAtomic(files: readonly OutputFile[]): void {
  const temps: { tmp: string; path: string }[] = [];
  try {
    for (const f of files) {
      const path = resolve(f.path);
      ensureDir(dirname(path));
      const tmp = tempBeside(path);
      temps.push({ tmp, path });
      writeWhole(tmp, f.data);
    }
  } catch (e) {
    for (const t of temps) rmSync(t.tmp, { force: true });
    if (e instanceof InputError) throw e;
    const at = temps.at(-1)?.path ?? '';
    throw new InputError(`cannot write ${at}: ${why(e)}`, at);
  }
  for (const t of temps) renameSync(t.tmp, t.path);
}

function writeWhole(path: string, data: string | Uint8Array): void {
  const fd = openSync(path, 'wx');
  try {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
  } finally {
    closeSync(fd);
  }
}
