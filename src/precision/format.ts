/**
 * A binary floating-point format, described by its parameters so that IEEE binary16/32/64,
 * bfloat16 and the 8-bit formats E4M3 / E5M2 are one definition each (docs/DESIGN.md §6).
 *
 * A finite non-zero value is ±m·2^(e−(p−1)) with p = `significandBits` (including the implicit
 * bit), e ∈ [emin, emax] and m < 2^p; subnormals extend below 2^emin with quantum 2^(emin−p+1).
 */
export interface Format {
  /** Short name used on the command line and in reports: '16', '32', '64', 'bf16', 'e4m3', 'e5m2'. */
  readonly name: string;
  /** Human-readable name. */
  readonly label: string;
  /** Storage width in bits. */
  readonly bits: number;
  /** Significand precision p, implicit bit included (binary16: 11, binary32: 24, binary64: 53). */
  readonly significandBits: number;
  /** Smallest normal exponent (binary16: −14). */
  readonly emin: number;
  /** Largest exponent of a finite value (binary16: 15). */
  readonly emax: number;
  /** Whether gradual underflow (subnormals) exists; without it, results below 2^emin round to 0 or 2^emin. */
  readonly subnormals: boolean;
  /**
   * What happens to a result whose magnitude rounds above the largest finite value:
   * 'inf' (IEEE), 'nan' (OCP E4M3 has no infinity), 'saturate' (clamp to ±max finite).
   */
  readonly overflow: 'inf' | 'nan' | 'saturate';
  /** Largest finite value; defaults to (2 − 2^(1−p))·2^emax when omitted (E4M3 differs: 448). */
  readonly maxFinite: number;
}

function ieee(name: string, label: string, bits: number, p: number, emax: number, extra: Partial<Format> = {}): Format {
  const emin = 1 - emax;
  return {
    name,
    label,
    bits,
    significandBits: p,
    emin,
    emax,
    subnormals: true,
    overflow: 'inf',
    maxFinite: (2 - 2 ** (1 - p)) * 2 ** emax,
    ...extra,
  };
}

/** IEEE 754 binary16 (half). */
export const F16: Format = ieee('16', 'IEEE binary16', 16, 11, 15);
/** IEEE 754 binary32 (single). */
export const F32: Format = ieee('32', 'IEEE binary32', 32, 24, 127);
/** IEEE 754 binary64 (double). */
export const F64: Format = ieee('64', 'IEEE binary64', 64, 53, 1023);
/** bfloat16: binary32's exponent range with an 8-bit significand. */
export const BF16: Format = ieee('bf16', 'bfloat16', 16, 8, 127);
/** OCP FP8 E5M2: IEEE-like, with infinities. */
export const E5M2: Format = ieee('e5m2', 'OCP FP8 E5M2', 8, 3, 15);
/** OCP FP8 E4M3 (bias 7, so emin = −6, not 1 − emax): no infinities, the top code is NaN, so the largest finite value is 448; overflow gives NaN. */
export const E4M3: Format = ieee('e4m3', 'OCP FP8 E4M3', 8, 4, 8, { emin: -6, overflow: 'nan', maxFinite: 448 });

export const FORMATS: Readonly<Record<string, Format>> = {
  '16': F16,
  '32': F32,
  '64': F64,
  bf16: BF16,
  e4m3: E4M3,
  e5m2: E5M2,
};

/** The precisions of the mission, in the order reports list them. */
export const MISSION_PRECISIONS = ['16', '32', '64'] as const;
export type PrecisionName = keyof typeof FORMATS & string;

/** Look a format up by its command-line name; throws a message listing the valid names. */
export function formatByName(name: string): Format {
  const f = FORMATS[name];
  if (!f) {
    throw new Error(`unknown precision '${name}': expected one of ${Object.keys(FORMATS).join(', ')}`);
  }
  return f;
}

/** Unit roundoff u = 2^−p (half an ulp of 1). */
export function unitRoundoff(f: Format): number {
  return 2 ** -f.significandBits;
}
