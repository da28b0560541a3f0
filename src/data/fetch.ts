/**
 * Downloads the official data files (`adzone data fetch`). Each file is written to FILE.part and
 * resumed from there with an HTTP Range request (a server that answers 200 instead of 206 makes it
 * start over; 416 means the .part is already whole), then md5-checked and renamed into place only
 * when the checksum matches. A mismatch deletes nothing: the download is kept as FILE.bad and the
 * fetch fails with expected and found. Files already there with the right md5 are skipped; a file
 * there with the wrong md5 is left alone and reported. A .tar.gz archive (CIFAR-10) is then
 * unpacked (src/data/tar.ts).
 *
 * Every file's exact size is known, and it is a cap: a server announcing another size is refused
 * before anything is written, and a body without Content-Length (or one longer than announced) is
 * cut off at the size with an error, so a download never grows past it. Nothing is written through
 * a symbolic link at FILE.part or FILE (src/data/safeFiles.ts). Every failure is a DataError, one
 * line each.
 *
 * `fetchSource` takes any FetchSource (src/data/fetchSources.ts), so tests and mirrors can supply
 * their own files and checksums, and `baseUrl` replaces the official location.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, renameSync } from 'node:fs';
import type http from 'node:http';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InputError } from '../util/errors.ts';
import { ensureDir } from '../util/output.ts';
import { DataError, fmtInt } from './errors.ts';
import type { FetchFile, FetchSource } from './fetchSources.ts';
import { FetchError, fileUrl, getFollowing } from './http.ts';
import { type FetchOutput, Progress } from './progress.ts';
import { openNoFollow, regularFileSize, regularFileThere } from './safeFiles.ts';
import { alreadyExtracted, extractTarGz } from './tar.ts';

export * from './fetchSources.ts';
export { FetchError, MAX_REDIRECTS } from './http.ts';
export * from './progress.ts';
export * from './tar.ts';

export interface FetchOptions {
  /** Folder the files go into (made if missing). */
  readonly dir: string;
  /** Replaces the source's official location: a file's URL is baseUrl + '/' + its name. */
  readonly baseUrl?: string;
  /** Also fetch the optional files (SVHN extra_32x32.mat). */
  readonly extra?: boolean;
  /** No progress line. */
  readonly quiet?: boolean;
  /** Further attempts after a broken connection or a server error, each resuming the .part (default 3). */
  readonly retries?: number;
  /** Pause before each further attempt (default 2,000 ms). */
  readonly retryDelayMs?: number;
  /** A connection that sends nothing for this long is given up (default 60,000 ms). */
  readonly idleTimeoutMs?: number;
  /** Where the progress line goes (default process.stderr). */
  readonly progress?: FetchOutput;
  /** One line per event (skipped, resumed, restarted, verified, extracted); default: nowhere. */
  readonly log?: (line: string) => void;
}

export type FileStatus = 'present' | 'downloaded' | 'resumed';

export interface FileOutcome {
  readonly file: string;
  readonly path: string;
  readonly url: string;
  readonly status: FileStatus;
  readonly bytes: number;
  readonly md5: string;
}

export interface FetchReport {
  readonly source: string;
  readonly dir: string;
  readonly files: readonly FileOutcome[];
  /** One message per file (or step) that failed. */
  readonly failures: readonly string[];
  /** Set when an archive was unpacked (or found unpacked). */
  readonly extracted?: { readonly into: string; readonly status: 'extracted' | 'present' };
}

/** md5 (hex) of a file, streamed. */
export async function md5File(path: string): Promise<string> {
  const h = createHash('md5');
  await pipeline(createReadStream(path), async (src: AsyncIterable<Buffer>) => {
    for await (const chunk of src) h.update(chunk);
  });
  return h.digest('hex');
}

// ---------------------------------------------------------------------------------------------
// One attempt

interface Attempt {
  readonly how: 'downloaded' | 'resumed';
  readonly restarted: boolean;
}

/** What to do with a response: nothing left to fetch, start over from byte 0, or write its body from `offset`. */
type Plan = { readonly kind: 'complete' } | { readonly kind: 'restart' } | { readonly kind: 'body'; readonly offset: number };

type Log = (line: string) => void;

function wrongSize(at: URL, spec: FetchFile, said: string, found: number): DataError {
  return new DataError(
    'size',
    `${at.href} ${said} ${fmtInt(found)} bytes, but ${spec.file} is ${fmtInt(spec.bytes)} bytes (its published size); refusing it. ` +
      'Check the mirror (--base-url).',
    { file: spec.file, expected: spec.bytes, found },
  );
}

/** 416 to a Range request: the .part is whole (the md5 will tell), unless it is longer than the file. */
function planFor416(res: http.IncomingMessage, part: string, offset: number, spec: FetchFile, log: Log): Plan {
  res.resume();
  const total = /\*\/(\d+)/.exec(String(res.headers['content-range'] ?? ''))?.[1];
  if (total !== undefined && Number(total) < offset) {
    log(`${spec.file}: ${part} (${fmtInt(offset)} bytes) is longer than the file (${fmtInt(Number(total))} bytes); starting over`);
    return { kind: 'restart' };
  }
  log(`${spec.file}: the server says ${part} is already complete (HTTP 416); checking it`);
  return { kind: 'complete' };
}

/** 206: the range must start where the .part ends, and the file it is part of must have the published size. */
function planFor206(res: http.IncomingMessage, at: URL, offset: number, spec: FetchFile, log: Log): Plan {
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(res.headers['content-range'] ?? '').trim());
  if (!m || Number(m[1]) !== offset) {
    res.destroy();
    const sent = res.headers['content-range'] ?? 'no Content-Range';
    log(`${spec.file}: the server sent a range (${sent}) that does not start at byte ${fmtInt(offset)}; starting over`);
    return { kind: 'restart' };
  }
  if (m[3] !== '*' && Number(m[3]) !== spec.bytes) {
    res.destroy();
    throw wrongSize(at, spec, 'says the file is', Number(m[3]));
  }
  if (offset > 0) log(`${spec.file}: resuming at byte ${fmtInt(offset)}`);
  return { kind: 'body', offset };
}

/** 200: the whole file from byte 0; an announced length other than the published size is refused before anything is written. */
function planFor200(res: http.IncomingMessage, at: URL, offset: number, spec: FetchFile, log: Log): Plan {
  const len = res.headers['content-length'];
  if (len !== undefined && Number(len) !== spec.bytes) {
    res.destroy();
    throw wrongSize(at, spec, 'announces', Number(len));
  }
  if (offset > 0) log(`${spec.file}: the server ignored the Range request (HTTP 200, not 206); starting over from byte 0`);
  return { kind: 'body', offset: 0 };
}

function planFor(res: http.IncomingMessage, at: URL, part: string, offset: number, spec: FetchFile, log: Log): Plan {
  const status = res.statusCode ?? 0;
  if (status === 416 && offset > 0) return planFor416(res, part, offset, spec, log);
  if (status === 206) return planFor206(res, at, offset, spec, log);
  if (status === 200) return planFor200(res, at, offset, spec, log);
  res.resume();
  const retryable = status >= 500 || status === 408 || status === 429;
  throw new FetchError(`${at.href} answered HTTP ${status} ${res.statusMessage ?? ''}`.trim(), retryable);
}

/** A stream step that counts the bytes and refuses any past the file's size (so no server can grow the file beyond it). */
function sizeGuard(at: URL, spec: FetchFile, start: number, progress: Progress) {
  let received = start;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (received + chunk.length > spec.bytes) {
        cb(
          new DataError(
            'size',
            `${at.href} sent more than the ${fmtInt(spec.bytes)} bytes ${spec.file} has (its published size); stopped at ${fmtInt(received)} bytes, ` +
              'nothing past the size was written. Check the mirror (--base-url).',
            { file: spec.file, expected: spec.bytes, found: received + chunk.length },
          ),
        );
        return;
      }
      received += chunk.length;
      progress.update(received);
      cb(null, chunk);
    },
  });
  return { stream, received: () => received };
}

/** Writes the response body to `part` from `offset` (appending when > 0, else emptying it first), never past the file's size. */
async function writeBody(res: http.IncomingMessage, at: URL, part: string, offset: number, spec: FetchFile, opts: FetchOptions) {
  const progress = new Progress(opts.quiet ? null : (opts.progress ?? process.stderr), spec.file, spec.bytes, offset);
  const guard = sizeGuard(at, spec, offset, progress);
  const fd = openNoFollow(part, offset > 0, 'the download in progress');
  try {
    await pipeline(res, guard.stream, createWriteStream(part, { fd }));
  } catch (e) {
    progress.done(guard.received());
    if (e instanceof DataError) throw e;
    const err = e as NodeJS.ErrnoException;
    if (err.syscall === 'write') throw new FetchError(`cannot write ${part}: ${err.message}`);
    throw new FetchError(`${at.href}: the connection broke after ${fmtInt(guard.received())} bytes (${err.message})`, true);
  }
  progress.done(guard.received());
  if (guard.received() < spec.bytes) {
    throw new FetchError(
      `${at.href}: the server closed the connection after ${fmtInt(guard.received())} of ${fmtInt(spec.bytes)} bytes`,
      true,
    );
  }
}

/** One attempt: appends to `part` from its current size (or from 0 when `fresh`). Returns how it went ('resumed' if a Range request was honoured). */
async function downloadOnce(url: URL, part: string, spec: FetchFile, opts: FetchOptions, fresh = false): Promise<Attempt> {
  const log = opts.log ?? (() => {});
  let offset = fresh ? 0 : regularFileSize(part, 'the partial download');
  if (offset > spec.bytes) {
    log(`${spec.file}: ${part} (${fmtInt(offset)} bytes) is longer than the file (${fmtInt(spec.bytes)} bytes); starting over`);
    offset = 0;
    fresh = true;
  }
  const headers: Record<string, string> = { 'user-agent': 'adzone-data-fetch', 'accept-encoding': 'identity' };
  if (offset > 0) headers.range = `bytes=${offset}-`;
  const { res, url: at } = await getFollowing(url, headers, opts.idleTimeoutMs ?? 60_000);
  const plan = planFor(res, at, part, offset, spec, log);
  if (plan.kind === 'complete') return { how: 'resumed', restarted: false };
  if (plan.kind === 'restart') return { ...(await downloadOnce(url, part, spec, opts, true)), restarted: true };
  await writeBody(res, at, part, plan.offset, spec, opts);
  const restarted = fresh || (offset > 0 && plan.offset === 0);
  return { how: plan.offset > 0 ? 'resumed' : 'downloaded', restarted };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// One file

/** Moves a .part that cannot be resumed (the server sends another file) to FILE.bad, and says so. */
function keepAsBad(part: string, dest: string, e: DataError): DataError {
  const kept = regularFileSize(part, 'the partial download');
  if (kept === 0) return e;
  renameSync(part, `${dest}.bad`);
  return new DataError(e.kind, `${e.message} The ${fmtInt(kept)} bytes received are kept as ${dest}.bad for a look.`, { file: dest });
}

/** Downloads with retries (each resuming the .part). A failure that is not worth retrying, or the last one, is thrown as one line. */
async function downloadWithRetries(url: URL, part: string, dest: string, spec: FetchFile, opts: FetchOptions): Promise<Attempt> {
  const retries = opts.retries ?? 3;
  for (let attempt = 0; ; attempt++) {
    try {
      return await downloadOnce(url, part, spec, opts);
    } catch (e) {
      if (e instanceof DataError && e.kind === 'size') throw keepAsBad(part, dest, e);
      if (!(e instanceof FetchError)) throw e;
      const kept = regularFileSize(part, 'the partial download');
      if (!e.retryable || attempt >= retries) {
        const hint = kept > 0 ? ` The ${fmtInt(kept)} bytes received are kept in ${part}: run the same command again to resume.` : '';
        throw new FetchError(`${spec.file}: ${e.message}.${hint}`);
      }
      opts.log?.(`${spec.file}: ${e.message}; trying again (${attempt + 1} of ${retries}), resuming from byte ${fmtInt(kept)}`);
      await sleep(opts.retryDelayMs ?? 2000);
    }
  }
}

/** The outcome for a file already at `dest`: skipped with the right md5, else a DataError (the file is left alone). */
async function alreadyThere(dest: string, url: URL, spec: FetchFile, opts: FetchOptions): Promise<FileOutcome> {
  const md5 = await md5File(dest);
  const bytes = regularFileSize(dest, 'the file');
  if (md5 === spec.md5) {
    opts.log?.(`${spec.file}: already there, md5 ${md5} ok; skipped`);
    return { file: spec.file, path: dest, url: url.href, status: 'present', bytes, md5 };
  }
  throw new DataError(
    'sha256',
    `${dest} is already there but its md5 is ${md5}, expected ${spec.md5} (${fmtInt(bytes)} bytes, expected ${fmtInt(spec.bytes)}). ` +
      'It was left as it is: move it away (or delete it) and run the fetch again.',
    { file: dest, expected: spec.md5, found: md5 },
  );
}

/**
 * Fetches one file into `dir`: skipped when already there with the right md5; else downloaded to
 * FILE.part (resumed if one is there), md5-checked, and renamed to FILE. A wrong md5 leaves the
 * download as FILE.bad and throws.
 */
export async function fetchFile(base: string, spec: FetchFile, opts: FetchOptions): Promise<FileOutcome> {
  const url = fileUrl(base, spec.file);
  const dest = join(opts.dir, spec.file);
  const part = `${dest}.part`;
  if (regularFileThere(dest, 'the file to fetch')) return alreadyThere(dest, url, spec, opts);
  ensureDir(opts.dir);
  const r = await downloadWithRetries(url, part, dest, spec, opts);
  const how = r.restarted ? 'downloaded' : r.how;
  const md5 = await md5File(part);
  const bytes = regularFileSize(part, 'the download');
  if (md5 !== spec.md5) {
    const bad = `${dest}.bad`;
    renameSync(part, bad);
    throw new DataError(
      'sha256',
      `md5 mismatch for ${spec.file} from ${url.href}: expected ${spec.md5} (${fmtInt(spec.bytes)} bytes), found ${md5} (${fmtInt(bytes)} bytes). ` +
        `The download is kept as ${bad} for a look; delete it and fetch again, or check the mirror (--base-url).`,
      { file: dest, expected: spec.md5, found: md5 },
    );
  }
  renameSync(part, dest);
  opts.log?.(`${spec.file}: ${how === 'resumed' ? 'resumed and ' : ''}downloaded, ${fmtInt(bytes)} bytes, md5 ${md5} ok`);
  return { file: spec.file, path: dest, url: url.href, status: how, bytes, md5 };
}

// ---------------------------------------------------------------------------------------------
// A whole source

/** A failure's one line: the message of an InputError (DataError included) or of a file-system error; anything else is a bug and is thrown. */
function failureLine(e: unknown): string {
  if (e instanceof InputError) return e.message;
  if ((e as NodeJS.ErrnoException).code !== undefined && e instanceof Error) return e.message;
  throw e;
}

/** Unpacks the source's archive when it was fetched (or finds it unpacked); a failure is added to `failures`. */
function unpack(source: FetchSource, opts: FetchOptions, files: readonly FileOutcome[], failures: string[]): FetchReport['extracted'] {
  const ex = source.extract;
  if (!ex || !files.some((f) => f.file === ex.archive)) return undefined;
  const into = join(opts.dir, ex.into);
  try {
    if (alreadyExtracted(opts.dir, ex)) {
      opts.log?.(`${ex.archive}: already unpacked in ${into}`);
      return { into, status: 'present' };
    }
    const n = extractTarGz(join(opts.dir, ex.archive), opts.dir, ex);
    opts.log?.(`${ex.archive}: unpacked ${n} files into ${into}`);
    return { into, status: 'extracted' };
  } catch (e) {
    failures.push(failureLine(e));
    return undefined;
  }
}

/**
 * Fetches every file of `source` into `opts.dir` (the optional ones with `extra`), then unpacks
 * its archive if it has one. Files are attempted one after another; a failure of one does not stop
 * the others. Throws DataError 'unavailable' for a source that cannot be fetched.
 */
export async function fetchSource(source: FetchSource, opts: FetchOptions): Promise<FetchReport> {
  if (source.unavailable) throw new DataError('unavailable', source.unavailable);
  const base = opts.baseUrl ?? source.base;
  const files: FileOutcome[] = [];
  const failures: string[] = [];
  for (const spec of source.files) {
    if (spec.optional && !opts.extra) continue;
    try {
      files.push(await fetchFile(base, spec, opts));
    } catch (e) {
      failures.push(failureLine(e));
    }
  }
  const extracted = unpack(source, opts, files, failures);
  return { source: source.name, dir: opts.dir, files, failures, ...(extracted ? { extracted } : {}) };
}
