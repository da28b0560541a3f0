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
import { InputError } from '../util/errors.ts';

const MAGIC = Buffer.from('ADZCKPT1', 'latin1');
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const HASH = 32;

/** A checkpoint that cannot be resumed from: unreadable, damaged, or not of this run. Unusable input (exit 2). */
export class CheckpointError extends InputError {
  override name = 'CheckpointError';
  constructor(
    readonly file: string,
    why: string,
  ) {
    super(`checkpoint ${file} ${why}`, file);
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

/** Parse and check checkpoint bytes read from `file` (the name is for messages). Any damage is a CheckpointError. */
export function decodeCheckpoint<H>(file: string, buf: Buffer): Checkpoint<H> {
  if (buf.length === 0) throw new CheckpointError(file, 'is empty (truncated?); it cannot be resumed from');
  const k = Math.min(8, buf.length);
  if (!buf.subarray(0, k).equals(MAGIC.subarray(0, k)))
    throw new CheckpointError(file, "is not an adzone checkpoint (no 'ADZCKPT1' magic at its start)");
  if (buf.length < 16 + HASH) throw new CheckpointError(file, `is truncated: ${buf.length} bytes, shorter than any checkpoint`);
  const body = buf.subarray(0, buf.length - HASH);
  const got = createHash('sha256').update(body).digest();
  if (!got.equals(buf.subarray(buf.length - HASH))) throw hashMismatch(file, buf);
  const h = buf.readUInt32LE(8);
  if (16 + h > body.length) throw new CheckpointError(file, `says its header has ${h} bytes, but only ${body.length - 16} follow`);
  const header = parseHeader(file, buf.subarray(16, 16 + h).toString('utf8'));
  const records = checkRecords(file, header, body.length - 16 - h);
  const start = 16 + h;
  const arrays = new Map<string, Float64Array>();
  for (const r of records) {
    const a = new Float64Array(r.length);
    Buffer.from(a.buffer).set(buf.subarray(start + r.offset, start + r.offset + r.length * 8));
    arrays.set(r.name, a);
  }
  return { header: header as H, arrays };
}

function hashMismatch(file: string, buf: Buffer): CheckpointError {
  const h = buf.readUInt32LE(8);
  let expected = '';
  try {
    const hdr = JSON.parse(buf.subarray(16, 16 + h).toString('utf8')) as { payloadBytes?: number };
    if (typeof hdr.payloadBytes === 'number')
      expected = ` (a whole file would have ${16 + h + hdr.payloadBytes + HASH} bytes, this one has ${buf.length})`;
  } catch {
    /* header itself damaged */
  }
  return new CheckpointError(
    file,
    `is corrupt or truncated: its sha256 does not match its content${expected}. It was left as it is; resume from a copy of an intact checkpoint or start the run again in a new --out folder`,
  );
}

function parseHeader(file: string, text: string): Record<string, unknown> {
  let header: unknown;
  try {
    header = parseExact(text);
  } catch (e) {
    throw new CheckpointError(file, `has an unreadable header: ${(e as Error).message}`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header))
    throw new CheckpointError(file, `has a header that is not a JSON object (${Array.isArray(header) ? 'an array' : String(header)})`);
  return header as Record<string, unknown>;
}

/** The array records of a header: named once each, laid end to end from offset 0, filling the payload exactly. */
function checkRecords(file: string, header: Record<string, unknown>, payload: number): ArrayRecord[] {
  const bad = (why: string) => new CheckpointError(file, `has a damaged array table: ${why}`);
  if (header.payloadBytes !== payload) throw bad(`its header says ${String(header.payloadBytes)} payload bytes, the file has ${payload}`);
  if (!Array.isArray(header.arrays)) throw bad(`'arrays' is ${JSON.stringify(header.arrays) ?? 'missing'}, not a list`);
  const names = new Set<string>();
  let at = 0;
  for (const [i, r] of (header.arrays as unknown[]).entries()) {
    const rec = r as Partial<ArrayRecord> | null;
    if (rec === null || typeof rec !== 'object' || typeof rec.name !== 'string') throw bad(`entry ${i} has no name`);
    if (!Number.isSafeInteger(rec.length) || (rec.length as number) < 0) throw bad(`'${rec.name}' has length ${String(rec.length)}`);
    if (rec.offset !== at) throw bad(`'${rec.name}' starts at byte ${String(rec.offset)}, expected ${at}`);
    if (names.has(rec.name)) throw bad(`'${rec.name}' is listed twice`);
    names.add(rec.name);
    at += (rec.length as number) * 8;
  }
  if (at !== payload) throw bad(`the arrays take ${at} bytes, the payload has ${payload}`);
  return header.arrays as ArrayRecord[];
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
