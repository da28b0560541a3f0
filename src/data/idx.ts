/**
 * IDX files (LeCun's MNIST format): a big-endian uint32 magic 0x0000TTNN — TT the element type
 * (0x08 = ubyte), NN the number of dimensions — then NN big-endian uint32 sizes, then the data in
 * row-major order. MNIST images have magic 2051 (0x00000803: ubyte, 3-D [n, rows, cols]), labels
 * 2049 (0x00000801: ubyte, 1-D [n]).
 */
import { DataError, fmtInt } from './errors.ts';

export const IDX_MAGIC_IMAGES = 2051;
export const IDX_MAGIC_LABELS = 2049;

export interface IdxArray {
  readonly magic: number;
  readonly dims: readonly number[];
  /** The element bytes (ubyte only), a view into the input. */
  readonly data: Uint8Array;
  readonly headerBytes: number;
}

const hex = (m: number) => `0x${(m >>> 0).toString(16).padStart(8, '0')}`;

function magicHint(found: number): string {
  if (found >>> 16 === 0x1f8b) return ' (that is a gzip header: the file is still compressed)';
  const swapped = ((found & 0xff) << 24) | ((found & 0xff00) << 8) | ((found >>> 8) & 0xff00) | (found >>> 24);
  if (swapped >>> 0 === IDX_MAGIC_IMAGES || swapped >>> 0 === IDX_MAGIC_LABELS)
    return ' (byte-swapped: the file was written little-endian)';
  if (found === IDX_MAGIC_IMAGES) return ' (an image file)';
  if (found === IDX_MAGIC_LABELS) return ' (a label file)';
  return '';
}

/** Parses a ubyte IDX file, checking magic, header length and exact size. `file` names it in errors. */
export function parseIdx(bytes: Uint8Array, file: string, expectedMagic: number): IdxArray {
  if (bytes.length < 4) {
    throw new DataError(
      'truncated',
      `${file} is truncated: an IDX file needs at least a 4-byte magic number, found ${fmtInt(bytes.length)} bytes`,
      {
        file,
        expected: 4,
        found: bytes.length,
      },
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  if (magic !== expectedMagic) {
    throw new DataError(
      'magic',
      `${file} has the wrong IDX magic number: expected ${expectedMagic} (${hex(expectedMagic)}), found ${magic} (${hex(magic)})${magicHint(magic)}`,
      { file, expected: expectedMagic, found: magic },
    );
  }
  const ndims = magic & 0xff;
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) {
    throw new DataError(
      'truncated',
      `${file} is truncated inside its header: expected at least ${fmtInt(headerBytes)} bytes for ${ndims} dimensions, found ${fmtInt(bytes.length)}`,
      { file, expected: headerBytes, found: bytes.length },
    );
  }
  const dims: number[] = [];
  for (let d = 0; d < ndims; d++) dims.push(view.getUint32(4 + 4 * d, false));
  const expected = headerBytes + dims.reduce((a, b) => a * b, 1);
  if (bytes.length < expected) {
    throw new DataError(
      'truncated',
      `${file} is truncated: its header says ${dims.join('×')} bytes of data, so expected ${fmtInt(expected)} bytes, found ${fmtInt(bytes.length)}`,
      { file, expected, found: bytes.length },
    );
  }
  if (bytes.length > expected) {
    throw new DataError(
      'size',
      `${file} is too long: its header says ${dims.join('×')} bytes of data, so expected ${fmtInt(expected)} bytes, found ${fmtInt(bytes.length)}`,
      { file, expected, found: bytes.length },
    );
  }
  return { magic, dims, data: bytes.subarray(headerBytes, expected), headerBytes };
}

/** Writes a ubyte IDX file (big-endian header); the inverse of parseIdx, for tests and tools. */
export function encodeIdx(dims: readonly number[], data: Uint8Array): Uint8Array {
  const n = dims.reduce((a, b) => a * b, 1);
  if (n !== data.length) throw new DataError('option', `encodeIdx: dims ${dims.join('×')} need ${n} bytes, got ${data.length}`);
  const out = new Uint8Array(4 + 4 * dims.length + n);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0x0800 | dims.length, false);
  dims.forEach((d, i) => {
    view.setUint32(4 + 4 * i, d, false);
  });
  out.set(data, 4 + 4 * dims.length);
  return out;
}
