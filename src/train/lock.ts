/**
 * One process trains in a run folder at a time: DIR/train.lock names the process (pid, host, the
 * time it took the lock, a random token), so two processes never write one folder's checkpoint
 * and metrics at once.
 *
 * The lock file is never seen half-written: its content goes to a temp file first, which is then
 * hard-linked to train.lock (link fails when the name exists, so exactly one process creates it).
 * A lock left by a process that no longer runs (killed) is taken over, under a second, short-lived
 * lock (train.lock.takeover), so that two processes finding the same stale lock cannot both take
 * it: the one holding the takeover lock reads train.lock again before replacing it. A lock of
 * another host is never judged stale (its pid means nothing here). A lock that cannot be read
 * (an empty file left by an older adzone killed while creating it) counts as held until it is
 * LOCK_UNREADABLE_STALE_MS old.
 */
import { linkSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../util/errors.ts';
import { ensureDir, tempBeside } from '../util/output.ts';

export const LOCK_FILE = 'train.lock';
export const LOCK_UNREADABLE_STALE_MS = 10_000;
/** How long to wait for a takeover lock another process holds (it is held for microseconds). */
const TAKEOVER_WAIT_MS = 2_000;

/** Another live process is training in the same folder. Unusable environment (exit 2). */
export class RunLockedError extends InputError {
  override name = 'RunLockedError';
}

interface Holder {
  readonly pid?: number;
  readonly host?: string;
  readonly since?: string;
  readonly token?: string;
}

/** Test seams: called between reading a lock judged stale and acting on it (to stage a race deterministically). */
export interface LockHooks {
  readonly afterStaleRead?: () => void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const processStart = Date.now() - process.uptime() * 1000;

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Create `file` holding `text`, atomically: false when it exists already. */
function createWith(file: string, text: string): boolean {
  const tmp = tempBeside(file);
  writeFileSync(tmp, text, { flag: 'wx' });
  try {
    linkSync(tmp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new InputError(`cannot create the lock ${file}: ${(e as Error).message}`, file);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** The lock's text, or null when it is gone. */
function readLock(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

function parseHolder(text: string): Holder | null {
  try {
    const h = JSON.parse(text) as Holder;
    return typeof h === 'object' && h !== null && typeof h.pid === 'number' ? h : null;
  } catch {
    return null;
  }
}

/** Whether the lock with this text is held by a live process (or may be). */
function held(file: string, text: string): boolean {
  const h = parseHolder(text);
  if (!h) {
    // unreadable: an older adzone between creating and writing it, or one killed there
    const age = Date.now() - (statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0);
    return age < LOCK_UNREADABLE_STALE_MS;
  }
  if (h.host !== hostname()) return true;
  if (h.pid === process.pid) return Date.parse(h.since ?? '') >= processStart - 1000;
  return alive(h.pid as number);
}

function lockedError(out: string, file: string, text: string): RunLockedError {
  const h = parseHolder(text);
  const who = h ? `pid ${h.pid} on ${h.host}` : 'a process that has not finished writing the lock';
  return new RunLockedError(
    `${out} is in use by another adzone train (${who}; ${file}); wait for it to end, or remove the lock file if that process is gone`,
    file,
  );
}

/** Replace the stale lock whose text was `stale` by ours, under the takeover lock; false when someone else changed it first. */
function takeOver(file: string, stale: string, mine: string): boolean {
  const guard = `${file}.takeover`;
  const deadline = Date.now() + TAKEOVER_WAIT_MS;
  while (!createWith(guard, mine)) {
    const g = readLock(guard);
    if (g !== null && Date.now() > deadline && !held(guard, g)) rmSync(guard, { force: true });
    else sleep(10);
  }
  try {
    if (readLock(file) !== stale) return false;
    unlinkSync(file);
    return createWith(file, mine);
  } finally {
    rmSync(guard, { force: true });
  }
}

/**
 * Take DIR/train.lock, or throw RunLockedError naming the process that holds it. Returns the
 * release function (which removes the lock only while it is still this call's).
 */
export function lockRun(out: string, hooks: LockHooks = {}): () => void {
  ensureDir(out);
  const file = join(out, LOCK_FILE);
  const token = Math.random().toString(36).slice(2);
  const mine = JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString(), token });
  for (let attempt = 0; attempt < 20; attempt++) {
    if (createWith(file, mine)) return release(file, token);
    const text = readLock(file);
    if (text === null) continue;
    if (held(file, text)) throw lockedError(out, file, text);
    hooks.afterStaleRead?.();
    if (takeOver(file, text, mine)) return release(file, token);
  }
  throw new RunLockedError(`${out}: could not take ${file} after 20 tries (other processes keep taking it)`, file);
}

function release(file: string, token: string): () => void {
  return () => {
    const text = readLock(file);
    if (text !== null && parseHolder(text)?.token === token) rmSync(file, { force: true });
  };
}

/** Temp files the writers of a run folder leave when killed mid-write (./checkpoint.ts, src/util/output.ts). */
const RUN_TEMP = /^\.(checkpoint\.bin|result\.json|metrics\.jsonl)\.\d+\.\d+\.[a-z0-9]+\.tmp$/;
/** Those of processes trying to take the lock: removed only once their process is gone. */
const LOCK_TEMP = /^\.train\.lock(?:\.takeover)?\.(\d+)\.\d+\.[a-z0-9]+\.tmp$/;

/**
 * Remove the temp files a killed writer left in a run folder. Called with the run's lock held, so
 * no live process writes the run's files there.
 */
export function removeRunTemps(out: string): string[] {
  const gone: string[] = [];
  for (const n of readdirSync(out)) {
    const lockTemp = LOCK_TEMP.exec(n);
    if (!RUN_TEMP.test(n) && !(lockTemp && Number(lockTemp[1]) !== process.pid && !alive(Number(lockTemp[1])))) continue;
    rmSync(join(out, n), { force: true });
    gone.push(n);
  }
  return gone;
}
