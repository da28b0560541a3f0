/**
 * Checkpoint files: one self-checking binary file a run, replaced atomically.
 *
 * Layout (little-endian):
 *   bytes 0..7     magic 'ADZCKPT1'
 *   bytes 8..11    uint32 header length H
 *   bytes 12..15   uint32 0 (reserved)
 *   16..16+H       header, UTF-8 JSON (see CheckpointHeader), padded with spaces to a multiple of 8
 *   then           the arrays, float64 each, in header.arrays order (offsets from the payload start)
 *   last 32 bytes  sha256 of everything before them
 * Numbers in the header that JSON cannot hold (NaN, ±Infinity, −0) are written as the strings
 * 'NaN', 'Infinity', '-Infinity', '-0' and read back as numbers.
 *
 * Writing: a temporary file beside the target, fsync, rename over the target, fsync the folder;
 * a crash at any moment leaves either the previous checkpoint or the new one, whole. Reading
 * checks the magic, the sizes and the sha256 before trusting a byte, and throws a CheckpointError
 * naming the file otherwise.
 */
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

const MAGIC = Buffer.from('ADZCKPT1', 'latin1');
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const HASH = 32;

export class CheckpointError extends Error {
  override name = 'CheckpointError';
  constructor(
    readonly file: string,
    why: string,
  ) {
    super(`checkpoint ${file} ${why}`);
  }
}

export interface ArrayRecord {
  readonly name: string;
  readonly length: number;
  /** Byte offset from the start of the payload. */
  readonly offset: number;
}

export interface Checkpoint<H> {
  readonly header: H;
  readonly arrays: Map<string, Float64Array>;
}

function replacer(_k: string, v: unknown): unknown {
  if (typeof v !== 'number') return v;
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  if (Object.is(v, -0)) return '-0';
  return v;
}

function reviver(_k: string, v: unknown): unknown {
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  if (v === '-0') return -0;
  return v;
}

/** JSON that keeps non-finite numbers and −0 (as strings read back by `parseExact`). */
export function stringifyExact(value: unknown, space?: number): string {
  return JSON.stringify(value, replacer, space);
}

export function parseExact(text: string): unknown {
  return JSON.parse(text, reviver);
}

/** The bytes of a checkpoint with this header and these arrays. */
export function encodeCheckpoint(header: object, arrays: ReadonlyMap<string, Float64Array>): Buffer {
  const records: ArrayRecord[] = [];
  let offset = 0;
  for (const [name, a] of arrays) {
    records.push({ name, length: a.length, offset });
    offset += a.length * 8;
  }
  let json = Buffer.from(stringifyExact({ ...header, arrays: records, payloadBytes: offset }), 'utf8');
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const head = Buffer.alloc(16);
  MAGIC.copy(head, 0);
  head.writeUInt32LE(json.length, 8);
  if (!littleEndian) throw new Error('checkpoints are written on little-endian machines only');
  const payload = Buffer.alloc(offset);
  for (const [i, a] of [...arrays.values()].entries()) Buffer.from(a.buffer, a.byteOffset, a.byteLength).copy(payload, records[i].offset);
  const body = Buffer.concat([head, json, payload]);
  const hash = createHash('sha256').update(body).digest();
  return Buffer.concat([body, hash]);
}

/** Parse and check checkpoint bytes read from `file` (the name is for messages). */
export function decodeCheckpoint<H>(file: string, buf: Buffer): Checkpoint<H> {
  if (buf.length === 0) throw new CheckpointError(file, 'is empty (truncated?); it cannot be resumed from');
  const k = Math.min(8, buf.length);
  if (!buf.subarray(0, k).equals(MAGIC.subarray(0, k)))
    throw new CheckpointError(file, "is not an adzone checkpoint (no 'ADZCKPT1' magic at its start)");
  if (buf.length < 16 + HASH) throw new CheckpointError(file, `is truncated: ${buf.length} bytes, shorter than any checkpoint`);
  const body = buf.subarray(0, buf.length - HASH);
  const want = buf.subarray(buf.length - HASH);
  const got = createHash('sha256').update(body).digest();
  if (!got.equals(want)) {
    const h = buf.readUInt32LE(8);
    let expected = '';
    try {
      const hdr = JSON.parse(buf.subarray(16, 16 + h).toString('utf8')) as { payloadBytes?: number };
      if (typeof hdr.payloadBytes === 'number')
        expected = ` (a whole file would have ${16 + h + hdr.payloadBytes + HASH} bytes, this one has ${buf.length})`;
    } catch {
      /* header itself damaged */
    }
    throw new CheckpointError(
      file,
      `is corrupt or truncated: its sha256 does not match its content${expected}. It was left as it is; resume from a copy of an intact checkpoint or start the run again in a new --out folder`,
    );
  }
  const h = buf.readUInt32LE(8);
  let header: H & { arrays: ArrayRecord[]; payloadBytes: number };
  try {
    header = parseExact(buf.subarray(16, 16 + h).toString('utf8')) as H & { arrays: ArrayRecord[]; payloadBytes: number };
  } catch (e) {
    throw new CheckpointError(file, `has an unreadable header: ${(e as Error).message}`);
  }
  const start = 16 + h;
  if (start + header.payloadBytes !== body.length)
    throw new CheckpointError(file, `has ${body.length - start} payload bytes, its header says ${header.payloadBytes}`);
  const arrays = new Map<string, Float64Array>();
  for (const r of header.arrays) {
    const a = new Float64Array(r.length);
    Buffer.from(a.buffer).set(buf.subarray(start + r.offset, start + r.offset + r.length * 8));
    arrays.set(r.name, a);
  }
  return { header, arrays };
}

export function readCheckpoint<H>(file: string): Checkpoint<H> {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    throw new CheckpointError(file, `cannot be read: ${(e as Error).message}`);
  }
  return decodeCheckpoint<H>(file, buf);
}

/** Write bytes to `path` atomically and durably: temp file, fsync, rename, fsync the folder. */
export function writeBytesAtomic(path: string, data: Buffer): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2)}.tmp`);
  const fd = openSync(tmp, 'w');
  try {
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
  try {
    const d = openSync(dir, 'r');
    try {
      fsyncSync(d);
    } finally {
      closeSync(d);
    }
  } catch {
    /* some file systems cannot fsync a folder; the rename is still atomic */
  }
}

export function writeCheckpoint(file: string, header: object, arrays: ReadonlyMap<string, Float64Array>): number {
  const bytes = encodeCheckpoint(header, arrays);
  writeBytesAtomic(file, bytes);
  return bytes.length;
}
