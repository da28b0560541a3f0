/**
 * Exact float encoding of the AD protocol: a tensor's values travel as one lowercase hex string,
 * the concatenation of every element's IEEE 754 bit pattern in row-major order, most significant
 * digit first (big-endian), 4 hex digits per float16 / bfloat16 element, 8 per float32, 16 per
 * float64. Nothing is lost on the wire: −0, ±Inf, subnormals and NaN payloads (signalling ones
 * included) are bit patterns like any other. 1.0 is '3c00' (float16), '3f80' (bfloat16),
 * '3f800000' (float32), '3ff0000000000000' (float64).
 *
 * On the JavaScript side, values are doubles: every float16, bfloat16 and float32 value is exactly
 * a double, and NaN payloads survive (the payload goes to the double's top significand bits), so
 * `decode` then `encode` gives the same string back, except that a signalling NaN may come back
 * with its quiet bit set: the CPU quiets a float32 signalling NaN when V8 widens it to a double.
 *
 * `encodeFloats` refuses a value the dtype cannot hold exactly (round first, with
 * src/precision's `round`): the wire carries exactly what was asked, never a silent rounding.
 */
import { BF16, F16, F32, F64, type Format, round } from '../../precision/index.ts';

export const DTYPES = ['float16', 'bfloat16', 'float32', 'float64'] as const;
export type Dtype = (typeof DTYPES)[number];

/** adzone's precision names (src/precision) → the protocol's dtype names. */
export const PRECISION_DTYPE: Readonly<Record<string, Dtype>> = { '16': 'float16', bf16: 'bfloat16', '32': 'float32', '64': 'float64' };
export const DTYPE_PRECISION: Readonly<Record<Dtype, string>> = { float16: '16', bfloat16: 'bf16', float32: '32', float64: '64' };
const FORMAT: Readonly<Record<Dtype, Format>> = { float16: F16, bfloat16: BF16, float32: F32, float64: F64 };

export function isDtype(s: string): s is Dtype {
  return (DTYPES as readonly string[]).includes(s);
}

/** The dtype of an adzone precision name; throws for one the protocol has no dtype for (the 8-bit formats). */
export function dtypeOf(precision: string): Dtype {
  const d = PRECISION_DTYPE[precision];
  if (!d) throw new Error(`precision '${precision}' has no protocol dtype: expected one of ${Object.keys(PRECISION_DTYPE).join(', ')}`);
  return d;
}

/** Hex digits per element. */
export function hexWidth(dtype: Dtype): number {
  return dtype === 'float64' ? 16 : dtype === 'float32' ? 8 : 4;
}

/** Exponent and stored significand bits of the 16-bit formats. */
const NARROW: Readonly<Record<'float16' | 'bfloat16', { e: number; m: number }>> = { float16: { e: 5, m: 10 }, bfloat16: { e: 8, m: 7 } };

const dv = new DataView(new ArrayBuffer(8));

/** Bit pattern of a double exactly representable in a 16-bit format with e exponent and m significand bits. */
function narrowBits(x: number, e: number, m: number): number {
  dv.setFloat64(0, x);
  const hi = dv.getUint32(0);
  const sign = hi >>> 31;
  const expAll = (1 << e) - 1;
  if (Number.isNaN(x)) {
    // Keep the payload's top m bits (a NaN decoded from this format has its payload there).
    const payload = (hi & 0xfffff) >>> (20 - m) || 1 << (m - 1);
    return (sign << (e + m)) | (expAll << m) | payload;
  }
  if (!Number.isFinite(x)) return (sign << (e + m)) | (expAll << m);
  const a = Math.abs(x);
  if (a === 0) return sign << (e + m);
  const bias = (1 << (e - 1)) - 1;
  const emin = 1 - bias;
  let ex = Math.floor(Math.log2(a));
  while (2 ** ex > a) ex--;
  while (2 ** (ex + 1) <= a) ex++;
  const normal = ex >= emin;
  const mant = normal ? (a / 2 ** ex - 1) * 2 ** m : a / 2 ** (emin - m);
  return (sign << (e + m)) | ((normal ? ex + bias : 0) << m) | mant;
}

/** The double a 16-bit pattern stands for (NaN payloads kept in the double's top significand bits). */
function narrowValue(bits: number, e: number, m: number): number {
  const sign = bits >>> (e + m) ? -1 : 1;
  const expAll = (1 << e) - 1;
  const ex = (bits >>> m) & expAll;
  const mant = bits & ((1 << m) - 1);
  const bias = (1 << (e - 1)) - 1;
  if (ex === expAll) {
    if (mant === 0) return sign * Infinity;
    dv.setUint32(0, (sign < 0 ? 0x80000000 : 0) | 0x7ff00000 | (mant << (20 - m)));
    dv.setUint32(4, 0);
    return dv.getFloat64(0);
  }
  if (ex === 0) return sign * mant * 2 ** (1 - bias - m);
  return sign * (1 + mant / 2 ** m) * 2 ** (ex - bias);
}

function representable(dtype: Dtype, x: number): boolean {
  return Number.isNaN(x) || Object.is(round(FORMAT[dtype], x), x);
}

/** One element's bit pattern as hex digits. */
function elementHex(x: number, dtype: Dtype): string {
  switch (dtype) {
    case 'float64':
      dv.setFloat64(0, x);
      return dv.getUint32(0).toString(16).padStart(8, '0') + dv.getUint32(4).toString(16).padStart(8, '0');
    case 'float32':
      dv.setFloat32(0, x);
      return dv.getUint32(0).toString(16).padStart(8, '0');
    default: {
      const { e, m } = NARROW[dtype];
      return narrowBits(x, e, m).toString(16).padStart(4, '0');
    }
  }
}

/** Encode doubles, each exactly representable in `dtype` (else a RangeError naming the element). */
export function encodeFloats(values: ArrayLike<number>, dtype: Dtype): string {
  const parts: string[] = new Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (typeof x !== 'number') throw new TypeError(`element ${i} is not a number`);
    if (!representable(dtype, x)) throw new RangeError(`element ${i} (${x}) is not exactly representable in ${dtype}: round it first`);
    parts[i] = elementHex(x, dtype);
  }
  return parts.join('');
}

/** Round doubles to `dtype` (nearest, ties to even, as src/precision does for every backend), then encode. */
export function roundAndEncode(values: ArrayLike<number>, dtype: Dtype): string {
  return encodeFloats(
    Array.from(values, (x) => round(FORMAT[dtype], x)),
    dtype,
  );
}

const HEX = /^[0-9a-f]*$/;

/** Decode a hex string of `dtype` elements; throws a message saying what is wrong with it (length, digits). */
export function decodeFloats(hex: string, dtype: Dtype): Float64Array {
  const w = hexWidth(dtype);
  if (hex.length % w !== 0) throw new RangeError(`${hex.length} hex digits is not a whole number of ${dtype} elements (${w} digits each)`);
  if (!HEX.test(hex)) throw new RangeError(`holds a character other than 0-9 and a-f at ${hex.search(/[^0-9a-f]/)}`);
  const n = hex.length / w;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = hex.slice(i * w, (i + 1) * w);
    if (dtype === 'float64') {
      dv.setUint32(0, Number.parseInt(s.slice(0, 8), 16));
      dv.setUint32(4, Number.parseInt(s.slice(8), 16));
      out[i] = dv.getFloat64(0);
    } else if (dtype === 'float32') {
      dv.setUint32(0, Number.parseInt(s, 16));
      out[i] = dv.getFloat32(0);
    } else {
      const { e, m } = NARROW[dtype];
      out[i] = narrowValue(Number.parseInt(s, 16), e, m);
    }
  }
  return out;
}
