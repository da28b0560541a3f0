/**
 * Test support for src/data and `adzone data fetch`: a MATLAB level-5 MAT-file writer (as MATLAB
 * writes them: miCOMPRESSED elements, small-element names, double arrays stored compactly as
 * miUINT8; either byte order), SVHN-layout fixtures, a ustar tar writer, a local HTTP server with
 * Range support and hooks to cut, corrupt, pad, ignore the Range, or redirect; the committed data
 * fixtures (fixtures/data, scripts/make-data-fixtures.ts) and the one-line note for checks that
 * need the shared real data.
 */

import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, expect } from 'vitest';
import { cifarFixtureRecords } from '../../scripts/make-data-fixtures.ts';
import { CIFAR10_CLASS_NAMES, DataError, type Dataset, sharedDataHowToGet, sharedDataStatus } from '../../src/data/index.ts';

// ---------------------------------------------------------------------------------------------
// MAT level 5

/** Data type numbers. */
export const miINT8 = 1,
  miUINT8 = 2,
  miINT16 = 3,
  miUINT16 = 4,
  miINT32 = 5,
  miUINT32 = 6,
  miSINGLE = 7,
  miDOUBLE = 9,
  miMATRIX = 14,
  miCOMPRESSED = 15;
/** Class numbers. */
export const mxCHAR = 4,
  mxDOUBLE = 6,
  mxSINGLE = 7,
  mxUINT8 = 9,
  mxINT16 = 10;

export interface MatVar {
  readonly name: string;
  /** Class number (mxDOUBLE, mxUINT8, …). */
  readonly cls: number;
  readonly dims: readonly number[];
  /** Column-major values. */
  readonly values: ArrayLike<number>;
  /** Stored data type (default: the class's own: double → miDOUBLE, uint8 → miUINT8, …). */
  readonly storeAs?: number;
}

export interface MatWriteOptions {
  /** Wrap each variable in a zlib miCOMPRESSED element, as MATLAB's default -v7 save does (default true). */
  readonly compress?: boolean;
  /** Write big-endian ('MI'); default little-endian ('IM'). */
  readonly bigEndian?: boolean;
  /** Header version (default 0x0100). */
  readonly version?: number;
}

const SIZES: Record<number, number> = {
  [miINT8]: 1,
  [miUINT8]: 1,
  [miINT16]: 2,
  [miUINT16]: 2,
  [miINT32]: 4,
  [miUINT32]: 4,
  [miSINGLE]: 4,
  [miDOUBLE]: 8,
};
const CLASS_TYPE: Record<number, number> = {
  [mxDOUBLE]: miDOUBLE,
  [mxSINGLE]: miSINGLE,
  [mxUINT8]: miUINT8,
  [mxINT16]: miINT16,
  [mxCHAR]: miUINT16,
};

class Out {
  private chunks: Buffer[] = [];
  constructor(private readonly be: boolean) {}
  u32(v: number) {
    const b = Buffer.alloc(4);
    if (this.be) b.writeUInt32BE(v >>> 0);
    else b.writeUInt32LE(v >>> 0);
    this.chunks.push(b);
  }
  bytes(b: Uint8Array) {
    this.chunks.push(Buffer.from(b));
  }
  buffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

function encodeValues(type: number, values: ArrayLike<number>, be: boolean): Buffer {
  const size = SIZES[type];
  const b = Buffer.alloc(size * values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const o = i * size;
    switch (type) {
      case miINT8:
        b.writeInt8(v, o);
        break;
      case miUINT8:
        b.writeUInt8(v, o);
        break;
      case miINT16:
        be ? b.writeInt16BE(v, o) : b.writeInt16LE(v, o);
        break;
      case miUINT16:
        be ? b.writeUInt16BE(v, o) : b.writeUInt16LE(v, o);
        break;
      case miINT32:
        be ? b.writeInt32BE(v, o) : b.writeInt32LE(v, o);
        break;
      case miUINT32:
        be ? b.writeUInt32BE(v, o) : b.writeUInt32LE(v, o);
        break;
      case miSINGLE:
        be ? b.writeFloatBE(v, o) : b.writeFloatLE(v, o);
        break;
      case miDOUBLE:
        be ? b.writeDoubleBE(v, o) : b.writeDoubleLE(v, o);
        break;
      default:
        throw new Error(`type ${type}`);
    }
  }
  return b;
}

/** One data element: the small format when the data is at most 4 bytes (as MATLAB does), else tag + data padded to 8. */
function element(out: Out, type: number, data: Uint8Array, be: boolean) {
  if (data.length <= 4 && data.length > 0) {
    const b = Buffer.alloc(8);
    if (be) {
      b.writeUInt16BE(data.length, 0);
      b.writeUInt16BE(type, 2);
    } else {
      b.writeUInt16LE(type, 0);
      b.writeUInt16LE(data.length, 2);
    }
    b.set(data, 4);
    out.bytes(b);
    return;
  }
  out.u32(type);
  out.u32(data.length);
  out.bytes(data);
  const pad = (8 - (data.length % 8)) % 8;
  if (pad) out.bytes(new Uint8Array(pad));
}

function matrixElement(v: MatVar, be: boolean): Buffer {
  const body = new Out(be);
  const flags = new Out(be);
  flags.u32(v.cls);
  flags.u32(0);
  element(body, miUINT32, flags.buffer(), be);
  const dims = new Out(be);
  for (const d of v.dims) dims.u32(d);
  element(body, miINT32, dims.buffer(), be);
  element(body, miINT8, Buffer.from(v.name, 'latin1'), be);
  const type = v.storeAs ?? CLASS_TYPE[v.cls];
  element(body, type, encodeValues(type, v.values, be), be);
  const b = body.buffer();
  const out = new Out(be);
  out.u32(miMATRIX);
  out.u32(b.length);
  out.bytes(b);
  return out.buffer();
}

/** A level-5 MAT-file holding `vars`. */
export function writeMat5(vars: readonly MatVar[], opts: MatWriteOptions = {}): Buffer {
  const be = opts.bigEndian === true;
  const header = Buffer.alloc(128, 0);
  const text = 'MATLAB 5.0 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024';
  header.write(text.padEnd(116, ' '), 0, 'latin1');
  if (be) {
    header.writeUInt16BE(opts.version ?? 0x0100, 124);
    header.write('MI', 126, 'latin1');
  } else {
    header.writeUInt16LE(opts.version ?? 0x0100, 124);
    header.write('IM', 126, 'latin1');
  }
  const parts: Buffer[] = [header];
  for (const v of vars) {
    const m = matrixElement(v, be);
    if (opts.compress === false) {
      parts.push(m);
    } else {
      const z = deflateSync(m);
      const out = new Out(be);
      out.u32(miCOMPRESSED);
      out.u32(z.length);
      out.bytes(z);
      parts.push(out.buffer());
    }
  }
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------------------------
// SVHN fixtures

/** Pixel of image i, channel ch, row r, column c: a fixed formula (the scipy cross-check computes the same). */
export function svhnPixel(r: number, c: number, ch: number, i: number): number {
  return (r * 7 + c * 13 + ch * 29 + i * 31 + ((r * c) % 5)) % 256;
}

/** Label (1..10, 10 = digit 0) of image i. */
export function svhnLabel(i: number): number {
  return (i % 10) + 1;
}

export interface SvhnFixture {
  readonly n: number;
  /** X in MATLAB's column-major order, 32×32×3×n. */
  readonly X: Uint8Array;
  /** y, 1..10. */
  readonly y: number[];
  /** What the loader must give: NCHW images, labels 0..9. */
  readonly images: Uint8Array;
  readonly labels: Uint8Array;
}

/** n images; `noise` mixes in seeded pseudo-random pixels so the compressed file is not tiny. */
export function svhnFixture(n: number, noise = 0): SvhnFixture {
  const X = new Uint8Array(32 * 32 * 3 * n);
  const images = new Uint8Array(n * 3072);
  let s = 12345;
  for (let i = 0; i < n; i++)
    for (let ch = 0; ch < 3; ch++)
      for (let c = 0; c < 32; c++)
        for (let r = 0; r < 32; r++) {
          s = (Math.imul(s, 1103515245) + 12345) >>> 0;
          const v = noise ? (svhnPixel(r, c, ch, i) + ((s >>> 16) % (noise + 1))) % 256 : svhnPixel(r, c, ch, i);
          X[r + 32 * c + 1024 * ch + 3072 * i] = v;
          images[((i * 3 + ch) * 32 + r) * 32 + c] = v;
        }
  const y = Array.from({ length: n }, (_, i) => svhnLabel(i));
  return { n, X, y, images, labels: Uint8Array.from(y, (v) => v % 10) };
}

/** An SVHN-layout MAT-file as MATLAB writes it: X uint8 32×32×3×N, y double N×1 stored as miUINT8, both compressed. */
export function svhnMat(
  f: SvhnFixture,
  opts: MatWriteOptions & { yStoreAs?: number; yClass?: number; xDims?: number[]; omit?: 'X' | 'y' } = {},
): Buffer {
  const vars: MatVar[] = [];
  if (opts.omit !== 'X') vars.push({ name: 'X', cls: mxUINT8, dims: opts.xDims ?? [32, 32, 3, f.n], values: f.X });
  if (opts.omit !== 'y')
    vars.push({ name: 'y', cls: opts.yClass ?? mxDOUBLE, dims: [f.n, 1], values: f.y, storeAs: opts.yStoreAs ?? miUINT8 });
  return writeMat5(vars, opts);
}

export function md5(b: Uint8Array): string {
  return createHash('md5').update(b).digest('hex');
}

export function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

// ---------------------------------------------------------------------------------------------
// tar

function tarHeader(name: string, size: number, type: '0' | '5'): Buffer {
  const h = Buffer.alloc(512, 0);
  let prefix = '';
  let base = name;
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', 155);
    prefix = name.slice(0, cut);
    base = name.slice(cut + 1);
  }
  h.write(base, 0, 100, 'utf8');
  h.write(type === '5' ? '0000755\0' : '0000644\0', 100, 'latin1');
  h.write('0001750\0', 108, 'latin1');
  h.write('0001750\0', 116, 'latin1');
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  h.write('14200000000\0', 136, 'latin1');
  h.write('        ', 148, 'latin1');
  h.write(type, 156, 'latin1');
  h.write('ustar\0', 257, 'latin1');
  h.write('00', 263, 'latin1');
  h.write('adzone', 265, 'latin1');
  h.write('adzone', 297, 'latin1');
  if (prefix) h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

/** A POSIX ustar archive of `entries` (a name ending in '/' is a folder), gzipped. */
export function tarGz(entries: readonly { name: string; data?: Uint8Array }[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    if (e.name.endsWith('/')) {
      parts.push(tarHeader(e.name, 0, '5'));
      continue;
    }
    const data = e.data ?? new Uint8Array(0);
    parts.push(tarHeader(e.name, data.length, '0'), Buffer.from(data));
    const pad = (512 - (data.length % 512)) % 512;
    if (pad) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(parts));
}

// ---------------------------------------------------------------------------------------------
// HTTP server

export interface Seen {
  readonly url: string;
  readonly range?: string;
  readonly status: number;
}

/**
 * Serves `files` under /files/NAME with Range support (206, 416). /hop/K/NAME redirects K times
 * (302, alternating relative and absolute Location) before /files/NAME. Hooks: `cut` (NAME → bytes
 * to send before dropping the connection, once), `wrong` (NAMEs served with a byte changed),
 * `ignoreRange` (answer 200 with the whole file to a Range request), `pad` (NAME → bytes of zeros
 * served after the file), `noLength` (NAMEs served without Content-Length, chunked).
 */
export class FixtureServer {
  readonly files = new Map<string, Buffer>();
  readonly seen: Seen[] = [];
  readonly cut = new Map<string, number>();
  readonly wrong = new Set<string>();
  readonly pad = new Map<string, number>();
  readonly noLength = new Set<string>();
  ignoreRange = false;
  private server?: http.Server;
  base = '';

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    const { port } = this.server.address() as AddressInfo;
    this.base = `http://127.0.0.1:${port}`;
    return this.base;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }

  /** Requests for /files/NAME. */
  gets(name: string): Seen[] {
    return this.seen.filter((s) => s.url === `/files/${name}`);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const url = req.url ?? '/';
    const range = req.headers.range;
    const note = (status: number) => this.seen.push({ url, ...(range !== undefined ? { range } : {}), status });
    const hop = /^\/hop\/(\d+)\/(.*)$/.exec(url);
    if (hop) {
      const k = Number(hop[1]);
      const next = k > 1 ? `/hop/${k - 1}/${hop[2]}` : `/files/${hop[2]}`;
      note(302);
      // Odd hops: an absolute URL; even hops: a relative one ('../K-1/NAME' from /hop/K/NAME).
      res.writeHead(302, { location: k % 2 === 1 ? `${this.base}${next}` : `../${k - 1}/${hop[2]}` });
      res.end();
      return;
    }
    const m = /^\/files\/([^/?]+)$/.exec(url);
    const file = m ? this.files.get(m[1]) : undefined;
    if (!m || !file) {
      note(404);
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    const name = m[1];
    let body = this.pad.has(name) ? Buffer.concat([file, Buffer.alloc(this.pad.get(name)!)]) : file;
    if (this.wrong.has(name)) {
      body = Buffer.from(body);
      body[file.length >> 1] ^= 0xff;
    }
    let status = 200;
    const headers: Record<string, string | number> = { 'content-type': 'application/octet-stream', 'accept-ranges': 'bytes' };
    const r = range !== undefined && !this.ignoreRange ? /^bytes=(\d+)-(\d*)$/.exec(range) : null;
    if (r) {
      const start = Number(r[1]);
      const end = r[2] === '' ? body.length - 1 : Math.min(Number(r[2]), body.length - 1);
      if (start >= body.length) {
        note(416);
        res.writeHead(416, { 'content-range': `bytes */${body.length}` });
        res.end();
        return;
      }
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${body.length}`;
      body = body.subarray(start, end + 1);
    }
    if (!this.noLength.has(name)) headers['content-length'] = body.length;
    note(status);
    res.writeHead(status, headers);
    const cut = this.cut.get(name);
    if (cut !== undefined && cut < body.length) {
      this.cut.delete(name);
      res.write(body.subarray(0, cut), () => setTimeout(() => res.destroy(), 20));
      return;
    }
    res.end(body);
  }
}

/**
 * A temporary folder for a test file (made before its tests, removed after them) and fresh
 * sub-folders of it: `const { root, fresh } = scratchDirs('adzone-data-test-')`.
 */
export function scratchDirs(prefix: string): { root: () => string; fresh: () => string } {
  let tmp = '';
  let n = 0;
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), prefix));
  });
  afterAll(() => {
    rmSync(tmp, { recursive: true, force: true });
  });
  return {
    root: () => tmp,
    fresh: () => {
      const d = join(tmp, `d${n++}`);
      mkdirSync(d);
      return d;
    },
  };
}

/** `f` throws a DataError of `kind` whose message matches every one of `inMessage`; returns it. */
export function expectDataError(f: () => unknown, kind: DataError['kind'], ...inMessage: (string | RegExp)[]): DataError {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(DataError);
  const e = caught as DataError;
  expect(e.kind, e.message).toBe(kind);
  for (const x of inMessage) expect(e.message).toMatch(x);
  return e;
}

// ---------------------------------------------------------------------------------------------
// The committed fixtures and the shared real data

export {
  CIFAR_FIXTURE_RECORDS,
  cifarFixturePixel,
  cifarFixtureRecords,
  FIXTURE_DATA_DIR,
  fixtureDifferences,
  fixtureFiles,
  IMAGENET_FIXTURE_LABELS,
  imagenetFixtureClass,
  imagenetFixturePixel,
} from '../../scripts/make-data-fixtures.ts';

/**
 * Which shared real data sets are in the data root (dataRoot(): $ADZONE_DATA_DIR, else
 * ../shared/data). When one is missing, writes ONE line to stderr naming the checks skipped
 * (`what`), what is missing and how to get it; call it once per test file, at its top.
 */
export function sharedDataOrSkipLine(what: string): { readonly cifar10: boolean; readonly imagenet: boolean } {
  const status = sharedDataStatus();
  if (!status.present.cifar10 || !status.present.imagenet) process.stderr.write(`SKIPPED ${what}: ${sharedDataHowToGet(status)}\n`);
  return status.present;
}

/**
 * An in-memory CIFAR-shaped data set of n synthetic records (the fixture formula, label i % 10),
 * named 'cifar10' so that it gets CIFAR-10's normalisation: for the batching tests, which do not
 * depend on the pixels being real.
 */
export function cifarShaped(n: number): Dataset {
  const bytes = cifarFixtureRecords(n);
  const images = new Uint8Array(n * 3072);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = bytes[i * 3073];
    images.set(bytes.subarray(i * 3073 + 1, (i + 1) * 3073), i * 3072);
  }
  const source = { files: [], sha256: [], verified: [] };
  return { name: 'cifar10', split: 'test', n, shape: [3, 32, 32], classes: 10, classNames: CIFAR10_CLASS_NAMES, images, labels, source };
}
