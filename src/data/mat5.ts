/**
 * A reader for MATLAB level-5 MAT-files: what `save -v7` (and older `-v6`) writes and
 * scipy.io.loadmat reads. Not v7.3 files, which are HDF5 (they are recognised and refused with a
 * message saying so). Numeric arrays only; cells, structs, chars, sparse and objects are listed
 * but not read.
 *
 * The format (MathWorks' "MAT-File Format" reference, and scipy.io.matlab's reader):
 *   - a 128-byte header: 116 bytes of text ("MATLAB 5.0 MAT-file, Platform: …"), 8 bytes of
 *     subsystem data offset, a uint16 version 0x0100, and the two characters 'IM' if the writer
 *     was little-endian or 'MI' if big-endian (the uint16 'M'·256 + 'I' in the writer's order);
 *     every number after it is in that byte order;
 *   - then data elements, each an 8-byte tag (uint32 data type, uint32 byte count) and the data,
 *     padded to a multiple of 8 bytes; data of at most 4 bytes may instead use the small element
 *     format, one 4-byte tag (uint16 byte count in the high half, uint16 type in the low half)
 *     and 4 data bytes;
 *   - miCOMPRESSED (15): a zlib stream holding one whole data element (MATLAB compresses each
 *     variable this way since v7); its byte count is the stream's length, not padded;
 *   - miMATRIX (14): one variable, as sub-elements: array flags (miUINT32 ×2: the class in the
 *     low byte of the first, then bits 0x0800 complex, 0x0400 global, 0x0200 logical), dimensions
 *     (miINT32), name (miINT8), real part, and an imaginary part if complex.
 *
 * The real part's stored type need not be the class: MATLAB stores a double array whose values
 * all fit in uint8 as miUINT8, for instance. `data` keeps the stored type (as scipy.io.loadmat
 * does by default); `className` says what MATLAB would load.
 */
import { inflateSync } from 'node:zlib';
import { DataError, fmtInt } from './errors.ts';

export const MAT5_HEADER_BYTES = 128;

/** Data types (the tag's first field). */
export const MI = {
  INT8: 1,
  UINT8: 2,
  INT16: 3,
  UINT16: 4,
  INT32: 5,
  UINT32: 6,
  SINGLE: 7,
  DOUBLE: 9,
  INT64: 12,
  UINT64: 13,
  MATRIX: 14,
  COMPRESSED: 15,
  UTF8: 16,
  UTF16: 17,
  UTF32: 18,
} as const;

/** Array classes (the low byte of the array flags), index = class number. */
export const MAT_CLASS_NAMES: readonly string[] = [
  'unknown',
  'cell',
  'struct',
  'object',
  'char',
  'sparse',
  'double',
  'single',
  'int8',
  'uint8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'uint64',
  'function',
  'opaque',
];
/** The numeric classes this reader returns (double … uint64). */
const NUMERIC_CLASSES = new Set([6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);

export type MatNumericData = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array;

type NumericCtor = {
  new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): MatNumericData | BigInt64Array | BigUint64Array;
  BYTES_PER_ELEMENT: number;
};

const NUMERIC_TYPES: Readonly<Record<number, { name: string; ctor: NumericCtor }>> = {
  [MI.INT8]: { name: 'miINT8', ctor: Int8Array },
  [MI.UINT8]: { name: 'miUINT8', ctor: Uint8Array },
  [MI.INT16]: { name: 'miINT16', ctor: Int16Array },
  [MI.UINT16]: { name: 'miUINT16', ctor: Uint16Array },
  [MI.INT32]: { name: 'miINT32', ctor: Int32Array },
  [MI.UINT32]: { name: 'miUINT32', ctor: Uint32Array },
  [MI.SINGLE]: { name: 'miSINGLE', ctor: Float32Array },
  [MI.DOUBLE]: { name: 'miDOUBLE', ctor: Float64Array },
  [MI.INT64]: { name: 'miINT64', ctor: BigInt64Array },
  [MI.UINT64]: { name: 'miUINT64', ctor: BigUint64Array },
};

export interface Mat5Header {
  /** The 116-byte text, trailing blanks and NULs removed. */
  readonly text: string;
  readonly version: number;
  /** True for 'IM' (written little-endian), false for 'MI'. */
  readonly littleEndian: boolean;
}

/** A numeric variable. */
export interface MatVariable {
  readonly name: string;
  /** MATLAB's class: 'double', 'uint8', … */
  readonly className: string;
  /** MATLAB dimensions (at least 2; trailing singleton dimensions beyond the second are dropped by MATLAB). */
  readonly dims: readonly number[];
  /**
   * The real part, column-major (first index fastest), in the stored type (see `storedAs`);
   * int64/uint64 are returned as Float64Array. uint8 data is a view into the decompressed bytes.
   */
  readonly data: MatNumericData;
  /** The stored data type, e.g. 'miUINT8' for a double array MATLAB stored compactly. */
  readonly storedAs: string;
  readonly logical: boolean;
  readonly global: boolean;
  readonly compressed: boolean;
  /** Byte offset of the variable's element in the file. */
  readonly offset: number;
}

/** A variable this reader does not read (cell, struct, char, sparse, complex, object, …). */
export interface MatSkipped {
  readonly name: string;
  readonly className: string;
  readonly why: string;
}

export interface Mat5File {
  readonly path: string;
  readonly header: Mat5Header;
  /** Numeric variables in file order. */
  readonly variables: readonly MatVariable[];
  readonly skipped: readonly MatSkipped[];
}

const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function pad8(n: number): number {
  return (n + 7) & ~7;
}

function ascii(bytes: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) {
    const c = bytes[i];
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return s;
}

function printable(s: string): string {
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);
}

/** Where in the file a byte range is, for messages. */
interface Place {
  readonly path: string;
  /** For bytes inside a decompressed element: the element's offset in the file. */
  readonly compressedAt?: number;
}

function describe(p: Place, at: number): string {
  return p.compressedAt === undefined
    ? `byte ${fmtInt(at)}`
    : `byte ${fmtInt(at)} of the compressed element at file byte ${fmtInt(p.compressedAt)}`;
}

/** A tag read from `bytes` at `pos`; throws when the tag or its data run past `end`. */
interface Tag {
  readonly type: number;
  readonly nbytes: number;
  readonly dataStart: number;
  /** Where the next element starts (data padded to 8 bytes, except miCOMPRESSED). */
  readonly next: number;
}

function readTag(dv: DataView, pos: number, end: number, le: boolean, place: Place, what: string): Tag {
  const short = (need: number) => {
    const inFile = place.compressedAt === undefined;
    return new DataError(
      inFile ? 'truncated' : 'format',
      inFile
        ? `${place.path} is truncated: ${what} at ${describe(place, pos)} needs ${fmtInt(need)} bytes, but the file ends after ${fmtInt(end - pos)}` +
            ` (the file is ${fmtInt(end)} bytes). Fetch it again (adzone data fetch resumes and checks it).`
        : `${place.path} is corrupt: ${what} at ${describe(place, pos)} needs ${fmtInt(need)} bytes, but the decompressed element ends after ${fmtInt(end - pos)}. Fetch the file again.`,
      { file: place.path, expected: pos + need, found: end },
    );
  };
  if (end - pos < 4) throw short(8);
  const w = dv.getUint32(pos, le);
  if (w >>> 16 !== 0) {
    // Small data element: byte count in the high half, type in the low half, data in the next 4 bytes.
    const nbytes = w >>> 16;
    const type = w & 0xffff;
    if (nbytes > 4) {
      throw new DataError(
        'format',
        `${place.path}: ${what} at ${describe(place, pos)} is not a valid tag (small element of ${nbytes} bytes; at most 4 fit)`,
        {
          file: place.path,
        },
      );
    }
    if (end - pos < 4 + nbytes) throw short(4 + nbytes);
    return { type, nbytes, dataStart: pos + 4, next: Math.min(pos + 8, end) };
  }
  if (end - pos < 8) throw short(8);
  const type = w;
  const nbytes = dv.getUint32(pos + 4, le);
  if (end - pos - 8 < nbytes) throw short(8 + nbytes);
  const next = type === MI.COMPRESSED ? pos + 8 + nbytes : Math.min(pos + 8 + pad8(nbytes), end);
  return { type, nbytes, dataStart: pos + 8, next };
}

/** Reads the 128-byte header; a file that is not level 5 gets a message saying what it looks like instead. */
export function readMat5Header(bytes: Uint8Array, path: string): Mat5Header {
  if (bytes.length < MAT5_HEADER_BYTES) {
    throw new DataError(
      'truncated',
      `${path} is truncated: a level-5 MAT-file starts with a 128-byte header, found only ${fmtInt(bytes.length)} bytes. Fetch the file again.`,
      { file: path, expected: MAT5_HEADER_BYTES, found: bytes.length },
    );
  }
  const text = ascii(bytes, 0, 116).replace(/[\s\0]+$/, '');
  const e0 = String.fromCharCode(bytes[126]);
  const e1 = String.fromCharCode(bytes[127]);
  const indicator = e0 + e1;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bad = (found: string, hint: string) =>
    new DataError(
      'format',
      `${path} is not a MATLAB level-5 MAT-file: expected a 128-byte header with version 0x0100 and endian indicator 'IM' or 'MI' at bytes 124–127, ` +
        `found ${found}${hint}. Header text: ${printable(text)}.`,
      { file: path, expected: "version 0x0100, 'IM' or 'MI'", found },
    );
  if (indicator !== 'IM' && indicator !== 'MI') {
    const hint =
      bytes[0] === 0x89 && ascii(bytes, 1, 4) === 'HDF'
        ? ' (this is an HDF5 file: MATLAB v7.3 files are HDF5; save with -v7 instead)'
        : bytes[0] === 0x1f && bytes[1] === 0x8b
          ? ' (this is a gzip file: gunzip it first)'
          : ' (a level-4 MAT-file, or not a MAT-file at all)';
    throw bad(`endian indicator ${JSON.stringify(indicator)}`, hint);
  }
  const littleEndian = indicator === 'IM';
  const version = dv.getUint16(124, littleEndian);
  if (version !== 0x0100) {
    const hint = version === 0x0200 || /MATLAB 7\.3/.test(text) ? ' (a MATLAB v7.3 file, which is HDF5; save with -v7 instead)' : '';
    throw bad(`version 0x${version.toString(16).padStart(4, '0')}`, hint);
  }
  return { text, version, littleEndian };
}

/** Copies `nbytes` at `start` into a fresh typed array of data type `type`, swapping bytes if the file's order is not the host's. */
function numericData(
  bytes: Uint8Array,
  start: number,
  nbytes: number,
  type: number,
  le: boolean,
  place: Place,
  name: string,
): MatNumericData {
  const t = NUMERIC_TYPES[type];
  if (!t) {
    throw new DataError(
      'format',
      `${place.path}: variable '${name}' stores its data as type ${type}, which is not a numeric MAT-file data type`,
      {
        file: place.path,
        found: type,
      },
    );
  }
  const size = t.ctor.BYTES_PER_ELEMENT;
  if (nbytes % size !== 0) {
    throw new DataError(
      'format',
      `${place.path}: variable '${name}' has ${fmtInt(nbytes)} bytes of ${t.name} data, not a multiple of ${size}`,
      { file: place.path },
    );
  }
  if (size === 1) return new (t.ctor as typeof Uint8Array)(bytes.buffer, bytes.byteOffset + start, nbytes) as MatNumericData;
  const copy = Uint8Array.prototype.slice.call(bytes, start, start + nbytes) as Uint8Array;
  if (le !== HOST_LE) {
    for (let i = 0; i < nbytes; i += size) {
      for (let a = i, b = i + size - 1; a < b; a++, b--) {
        const x = copy[a];
        copy[a] = copy[b];
        copy[b] = x;
      }
    }
  }
  const arr = new t.ctor(copy.buffer, 0, nbytes / size);
  if (arr instanceof BigInt64Array || arr instanceof BigUint64Array) {
    const out = new Float64Array(arr.length);
    for (let i = 0; i < arr.length; i++) out[i] = Number(arr[i]);
    return out;
  }
  return arr;
}

/** Parses one miMATRIX element's contents [start, end). Returns null for an unnamed/empty element. */
function readMatrix(
  bytes: Uint8Array,
  start: number,
  end: number,
  le: boolean,
  place: Place,
  offset: number,
  compressed: boolean,
): MatVariable | MatSkipped | null {
  if (end === start) return null; // MATLAB writes an empty miMATRIX for some empty cells/placeholders.
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const flagsTag = readTag(dv, start, end, le, place, 'the array flags');
  if (flagsTag.type !== MI.UINT32 || flagsTag.nbytes !== 8) {
    throw new DataError(
      'format',
      `${place.path}: the variable at ${describe(place, start)} has a malformed array-flags element: expected miUINT32 with 8 bytes, found type ${flagsTag.type} with ${flagsTag.nbytes} bytes`,
      { file: place.path, expected: 'miUINT32, 8 bytes', found: `type ${flagsTag.type}, ${flagsTag.nbytes} bytes` },
    );
  }
  const flags = dv.getUint32(flagsTag.dataStart, le);
  const cls = flags & 0xff;
  const className = MAT_CLASS_NAMES[cls] ?? `class ${cls}`;
  const complex = (flags & 0x0800) !== 0;
  const global = (flags & 0x0400) !== 0;
  const logical = (flags & 0x0200) !== 0;
  if (cls === 0 || cls > 15) return { name: '', className, why: `class ${className} is not read` };

  const dimsTag = readTag(dv, flagsTag.next, end, le, place, 'the dimensions');
  if (dimsTag.type !== MI.INT32 || dimsTag.nbytes % 4 !== 0 || dimsTag.nbytes < 8) {
    throw new DataError(
      'format',
      `${place.path}: the variable at ${describe(place, start)} has a malformed dimensions element: expected miINT32 with at least 2 values, found type ${dimsTag.type} with ${dimsTag.nbytes} bytes`,
      { file: place.path },
    );
  }
  const dims: number[] = [];
  for (let p = dimsTag.dataStart; p < dimsTag.dataStart + dimsTag.nbytes; p += 4) dims.push(dv.getInt32(p, le));
  if (dims.some((d) => d < 0))
    throw new DataError('format', `${place.path}: the variable at ${describe(place, start)} has negative dimensions ${dims.join('×')}`, {
      file: place.path,
    });

  const nameTag = readTag(dv, dimsTag.next, end, le, place, 'the array name');
  if (nameTag.type !== MI.INT8 && nameTag.type !== MI.UINT8 && nameTag.type !== MI.UTF8) {
    throw new DataError(
      'format',
      `${place.path}: the variable at ${describe(place, start)} has a malformed name element (type ${nameTag.type}, expected miINT8)`,
      {
        file: place.path,
      },
    );
  }
  const name = ascii(bytes, nameTag.dataStart, nameTag.dataStart + nameTag.nbytes);
  if (!NUMERIC_CLASSES.has(cls)) return { name, className, why: `a ${className} array (only numeric arrays are read)` };
  if (complex) return { name, className, why: `a complex ${className} array (only real arrays are read)` };

  const realTag = readTag(dv, nameTag.next, end, le, place, `the data of variable '${name}'`);
  const data = numericData(bytes, realTag.dataStart, realTag.nbytes, realTag.type, le, place, name);
  const count = dims.reduce((a, b) => a * b, 1);
  if (data.length !== count) {
    throw new DataError(
      'format',
      `${place.path}: variable '${name}' is ${dims.join('×')} (${fmtInt(count)} values) but holds ${fmtInt(data.length)} values of ${NUMERIC_TYPES[realTag.type].name}`,
      { file: place.path, expected: count, found: data.length },
    );
  }
  return { name, className, dims, data, storedAs: NUMERIC_TYPES[realTag.type].name, logical, global, compressed, offset };
}

/**
 * Reads a level-5 MAT-file from its bytes. `path` names the file in errors. A file that ends early
 * is a DataError 'truncated'; a bad header or a malformed or undecompressable element is 'format'.
 */
export function readMat5(bytes: Uint8Array, path: string): Mat5File {
  const header = readMat5Header(bytes, path);
  const le = header.littleEndian;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const variables: MatVariable[] = [];
  const skipped: MatSkipped[] = [];
  const top: Place = { path };
  let pos = MAT5_HEADER_BYTES;
  while (pos < bytes.length) {
    // Tolerate up to 7 zero bytes of trailing padding.
    if (bytes.length - pos < 8 && bytes.subarray(pos).every((b) => b === 0)) break;
    const tag = readTag(dv, pos, bytes.length, le, top, 'a data element tag');
    let got: MatVariable | MatSkipped | null = null;
    if (tag.type === MI.COMPRESSED) {
      let inner: Uint8Array;
      try {
        const b = inflateSync(bytes.subarray(tag.dataStart, tag.dataStart + tag.nbytes));
        inner = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
      } catch (e) {
        throw new DataError(
          'format',
          `${path}: the compressed element at byte ${fmtInt(pos)} (${fmtInt(tag.nbytes)} bytes) does not decompress (${(e as Error).message}); the file is corrupt: fetch it again.`,
          { file: path },
        );
      }
      const place: Place = { path, compressedAt: pos };
      const idv = new DataView(inner.buffer, inner.byteOffset, inner.byteLength);
      const it = readTag(idv, 0, inner.length, le, place, 'the compressed variable');
      if (it.type === MI.MATRIX) got = readMatrix(inner, it.dataStart, it.dataStart + it.nbytes, le, place, pos, true);
      else skipped.push({ name: '', className: `data type ${it.type}`, why: 'a compressed element that is not a variable' });
    } else if (tag.type === MI.MATRIX) {
      got = readMatrix(bytes, tag.dataStart, tag.dataStart + tag.nbytes, le, top, pos, false);
    }
    if (got) {
      if ('data' in got) variables.push(got);
      else skipped.push(got);
    }
    if (tag.next <= pos) break;
    pos = tag.next;
  }
  return { path, header, variables, skipped };
}

/** The numeric variable `name`, or a DataError 'format' listing what the file holds instead. */
export function matVariable(mat: Mat5File, name: string, what: string): MatVariable {
  const v = mat.variables.find((x) => x.name === name);
  if (v) return v;
  const other = mat.skipped.find((x) => x.name === name);
  const held = [
    ...mat.variables.map((x) => `${x.name} (${x.className} ${x.dims.join('×')})`),
    ...mat.skipped.filter((x) => x.name !== '').map((x) => `${x.name} (${x.why})`),
  ];
  const found = held.length ? held.join(', ') : 'no variables';
  throw new DataError(
    'format',
    other
      ? `${mat.path}: variable '${name}' (${what}) is ${other.why}; expected a numeric array. The file holds ${found}.`
      : `${mat.path} has no variable '${name}' (${what}); it holds ${found}. Is this the right file?`,
    { file: mat.path, expected: `variable '${name}'`, found },
  );
}
