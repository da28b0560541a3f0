/**
 * Properties of the number formats (src/precision): correctly rounded conversion, adjacency of
 * nextUp / nextDown, exact decimal expansions, and the small formats' defining values. Ground
 * truths come from IEEE bit patterns and BigInt arithmetic written here.
 */
import fc, { type Arbitrary } from 'fast-check';
import { Decimal } from 'decimal.js';
import { describe, expect, it } from 'vitest';
import {
  BF16,
  E4M3,
  E5M2,
  F16,
  F32,
  F64,
  FORMATS,
  exactDecimal,
  isRepresentable,
  nextDown,
  nextUp,
  round,
  roundGeneric,
  type Format,
  ulp,
} from '../src/precision/index.ts';
import { runs } from '../src/nightly/runs.ts';
import { f16FromBits } from './support/f16.ts';

// ---------------------------------------------------------------------------------------------
// Independent decoders and generators.

function f32FromBits(bits: number): number {
  const b = new Uint32Array([bits >>> 0]);
  return new Float32Array(b.buffer)[0];
}

function _f32Bits(x: number): number {
  return new Uint32Array(new Float32Array([x]).buffer)[0];
}

/** Every finite value of a format (p, emin, emax): sign, exponent, significand, or a subnormal. */
function formatValue(f: Format): Arbitrary<number> {
  const p = f.significandBits;
  return fc
    .record({
      neg: fc.boolean(),
      sub: fc.boolean(),
      e: fc.integer({ min: f.emin, max: f.emax }),
      m: fc.integer({ min: 0, max: 2 ** (p - 1) - 1 }),
    })
    .map(({ neg, sub, e, m }) => {
      const v = sub && f.subnormals ? m * 2 ** (f.emin - p + 1) : (2 ** (p - 1) + m) * 2 ** (e - p + 1);
      return neg ? -v : v;
    })
    .filter((v) => Math.abs(v) <= f.maxFinite);
}

/** Doubles near the boundaries of a 16/32-bit format: format values, midpoints between neighbours, and one double off either side. */
function nearBoundaries(fromBits: (b: number) => number, maxBits: number): Arbitrary<number> {
  return fc.tuple(fc.integer({ min: 0, max: maxBits }), fc.constantFrom(-1, 0, 1), fc.boolean()).map(([b, off, mid]) => {
    const a = fromBits(b);
    const c = fromBits(b + 1 <= maxBits ? b + 1 : b);
    let x = mid && Number.isFinite(a) && Number.isFinite(c) ? (a + c) / 2 : a; // midpoint: exact in binary64
    if (off !== 0 && Number.isFinite(x)) x = nextDouble(x, off);
    return x;
  });
}

function nextDouble(x: number, dir: number): number {
  if (x === 0) return dir > 0 ? 5e-324 : -5e-324;
  const buf = new Float64Array([x]);
  const bits = new BigInt64Array(buf.buffer);
  bits[0] += x > 0 === dir > 0 ? 1n : -1n;
  return buf[0];
}

/** Exact value of a finite double as a BigInt fraction, from its bits. */
function exactOf(x: number): { n: bigint; d: bigint } {
  const bits = new BigUint64Array(new Float64Array([x]).buffer)[0];
  const neg = bits >> 63n === 1n;
  const e = Number((bits >> 52n) & 0x7ffn);
  let m = bits & ((1n << 52n) - 1n);
  if (e !== 0) m |= 1n << 52n;
  const p = (e === 0 ? 1 : e) - 1075;
  const n = neg ? -m : m;
  return p >= 0 ? { n: n << BigInt(p), d: 1n } : { n, d: 1n << BigInt(-p) };
}

/** Compare |x − a| with |x − b| exactly (−1, 0, 1). */
function cmpDistance(x: number, a: number, b: number): number {
  const X = exactOf(x);
  const dist = (y: number) => {
    const Y = exactOf(y);
    const n = X.n * Y.d - Y.n * X.d;
    return { n: n < 0n ? -n : n, d: X.d * Y.d };
  };
  const da = dist(a);
  const db = dist(b);
  const l = da.n * db.d;
  const r = db.n * da.d;
  return l < r ? -1 : l > r ? 1 : 0;
}

/** Is the significand of format value v (as an integer multiple of its quantum) even? */
function evenSignificand(f: Format, v: number): boolean {
  if (v === 0) return true;
  const a = Math.abs(v);
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  if (2 ** (e + 1) <= a) e++;
  const q = Math.max(e, f.emin) - (f.significandBits - 1);
  return (a / 2 ** q) % 2 === 0;
}

const anyDouble = fc.oneof(
  fc.double(), // NaN, ±Inf, ±0, subnormals, everything
  fc.double({ min: -70000, max: 70000 }),
  fc.double({ min: -1e-4, max: 1e-4 }),
  fc.constantFrom(
    NaN,
    Infinity,
    -Infinity,
    0,
    -0,
    65504,
    65519.99,
    65520,
    -65520,
    2 ** -25,
    2 ** -24,
    3 * 2 ** -26,
    2 ** -150,
    2 ** -149,
    3 * 2 ** -151,
    3.4028235677973366e38,
    3.402823669209385e38,
  ),
);

const FORMATS_SMALL: Format[] = [F16, F32, BF16, E4M3, E5M2];

// ---------------------------------------------------------------------------------------------

describe('precision: round agrees with the generic algorithm', () => {
  it('binary16: round (f16round) = roundGeneric on arbitrary doubles and boundary cases', () => {
    fc.assert(
      fc.property(fc.oneof(anyDouble, nearBoundaries(f16FromBits, 0xffff)), (x) => {
        expect(Object.is(round(F16, x), roundGeneric(F16, x))).toBe(true);
      }),
      { numRuns: runs(3000) },
    );
  });

  it('binary32: round (Math.fround) = roundGeneric on arbitrary doubles and boundary cases', () => {
    fc.assert(
      fc.property(fc.oneof(anyDouble, nearBoundaries(f32FromBits, 0xffffffff)), (x) => {
        expect(Object.is(round(F32, x), roundGeneric(F32, x))).toBe(true);
      }),
      { numRuns: runs(3000) },
    );
  });

  it('binary64 is the identity and every format keeps ±0 and NaN', () => {
    fc.assert(
      fc.property(fc.double(), (x) => {
        expect(Object.is(round(F64, x), x)).toBe(true);
        for (const f of Object.values(FORMATS)) {
          expect(Object.is(roundGeneric(f, 0), 0) && Object.is(roundGeneric(f, -0), -0) && Number.isNaN(roundGeneric(f, NaN))).toBe(true);
        }
      }),
      { numRuns: runs(300) },
    );
  });

  it('rounding is correct: the result is a format value, no format value is nearer, and ties go to an even significand', () => {
    fc.assert(
      fc.property(fc.constantFrom(...FORMATS_SMALL), fc.double({ min: -1e5, max: 1e5, noNaN: true }), (f, x) => {
        const r = roundGeneric(f, x);
        if (!Number.isFinite(r)) {
          // overflow: |x| is at least halfway past the largest finite value
          expect(Math.abs(x)).toBeGreaterThanOrEqual(f.maxFinite);
          return;
        }
        expect(isRepresentable(f, r)).toBe(true);
        if (Math.abs(x) > f.maxFinite) {
          // past the largest finite value there is no neighbour on the far side (E4M3's is NaN):
          // x rounds back only from within half the top binade's quantum (found with seed 424242:
          // E4M3, -448.00000000000006 → -448)
          expect(Math.abs(r)).toBe(f.maxFinite);
          expect(Math.abs(x) - f.maxFinite).toBeLessThanOrEqual(ulp(f, f.maxFinite) / 2);
          return;
        }
        const lo = r <= x ? r : nextDown(f, r);
        const hi = r >= x ? r : nextUp(f, r);
        expect(lo <= x && x <= hi).toBe(true);
        for (const other of [lo, hi]) {
          if (!Number.isFinite(other) || other === r) continue;
          const c = cmpDistance(x, r, other);
          expect(c).toBeLessThanOrEqual(0); // r is at least as near as the other neighbour
          if (c === 0) expect(evenSignificand(f, r)).toBe(true); // a tie goes to the even one
        }
      }),
      { numRuns: runs(2000), examples: [[E4M3, -448.00000000000006]] },
    );
  });
});

describe('precision: nextUp / nextDown', () => {
  it('are inverse, strictly monotone, and adjacent: every double strictly between x and nextUp(x) rounds to one of them', () => {
    fc.assert(
      fc.property(
        fc
          .constantFrom(...FORMATS_SMALL)
          .chain((f) => fc.tuple(fc.constant(f), formatValue(f), fc.double({ min: 0, max: 1, noNaN: true }))),
        ([f, x, t]) => {
          const up = nextUp(f, x);
          if (Number.isFinite(up)) {
            expect(up).toBeGreaterThan(x);
            expect(nextDown(f, up) === x).toBe(true); // ±0 alike
            const mid = (x + up) / 2; // exact in binary64 for these formats
            const m = roundGeneric(f, mid);
            expect(m === x || m === up).toBe(true);
            const y = x + (up - x) * t;
            if (y > x && y < up) {
              const ry = roundGeneric(f, y);
              expect(ry === (y < mid ? x : y > mid ? up : m)).toBe(true); // ±0 alike
            }
          } else {
            expect(Math.abs(x)).toBe(f.maxFinite);
          }
          const down = nextDown(f, x);
          if (Number.isFinite(down)) {
            expect(down).toBeLessThan(x);
            expect(nextUp(f, down) === x).toBe(true);
          }
        },
      ),
      { numRuns: runs(2000) },
    );
  });

  it('binary16 / binary32: nextUp is the next bit pattern', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0x7bfe }), fc.integer({ min: 0, max: 0x7f7ffffe }), (h, s) => {
        expect(nextUp(F16, f16FromBits(h))).toBe(f16FromBits(h + 1));
        expect(nextUp(F32, f32FromBits(s))).toBe(f32FromBits(s + 1));
        expect(nextDown(F16, -f16FromBits(h))).toBe(-f16FromBits(h + 1));
      }),
      { numRuns: runs(1000) },
    );
  });
});

describe('precision: exactDecimal is the exact value', () => {
  it('parses back to the same double and equals the BigInt value of the bits', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
        const s = exactDecimal(x);
        expect(new Decimal(s).toNumber()).toBe(x === 0 ? new Decimal(s).toNumber() : x);
        expect(/^-?\d+(\.\d*[1-9])?$/.test(s)).toBe(true); // plain, no exponent, no trailing zeros
        // s = A / 10^k exactly
        const [ip, fp = ''] = s.replace('-', '').split('.');
        const A = BigInt(ip + fp) * (s.startsWith('-') ? -1n : 1n);
        const k = BigInt(fp.length);
        const { n, d } = exactOf(x);
        expect(A * d === n * 10n ** k).toBe(true);
        if (Object.is(x, -0)) expect(s).toBe('-0');
      }),
      { numRuns: runs(1000) },
    );
  });
});

describe('precision: the small formats', () => {
  it('bfloat16 is binary32 with its significand rounded to 8 bits (bit manipulation on f32 values)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (bits) => {
        const x = f32FromBits(bits);
        if (!Number.isFinite(x)) return;
        // round to nearest even on the top 16 bits of the f32 pattern
        const lower = bits & 0xffff;
        let top = bits >>> 16;
        if (lower > 0x8000 || (lower === 0x8000 && (top & 1) === 1)) top += 1;
        const expected = f32FromBits(top << 16);
        expect(Object.is(roundGeneric(BF16, x), expected)).toBe(true);
        expect(isRepresentable(BF16, x)).toBe(lower === 0);
      }),
      { numRuns: runs(3000) },
    );
  });

  it('defining values: max finite, overflow rule, smallest subnormal', () => {
    expect(BF16.maxFinite).toBe(f32FromBits(0x7f7f0000));
    expect(roundGeneric(BF16, f32FromBits(0x7f7f7fff))).toBe(BF16.maxFinite);
    expect(roundGeneric(BF16, f32FromBits(0x7f7f8000))).toBe(Infinity); // tie to even rounds up to 2^128
    expect(E4M3.maxFinite).toBe(448);
    expect(isRepresentable(E4M3, 448)).toBe(true);
    expect(roundGeneric(E4M3, 464)).toBe(448); // tie between 448 (even) and 480: stays
    expect(roundGeneric(E4M3, 464.0001)).toBeNaN(); // no infinity in E4M3: overflow is NaN
    expect(roundGeneric(E4M3, Infinity)).toBeNaN();
    expect(E5M2.maxFinite).toBe(57344);
    expect(roundGeneric(E5M2, 61439)).toBe(57344);
    expect(roundGeneric(E5M2, 61440)).toBe(Infinity); // tie to even (8·2^13) overflows
    expect(roundGeneric(E5M2, -1e6)).toBe(-Infinity);
    expect(nextUp(E5M2, 0)).toBe(2 ** -16);
    expect(F16.maxFinite).toBe(65504);
    expect(nextUp(F16, 65504)).toBe(Infinity);
    expect(nextUp(F32, 0)).toBe(2 ** -149);
  });

  // OCP FP8 E4M3: exponent bias 7, finite exponents −6..8 (the top field is used for finite values),
  // smallest normal 2^−6, smallest subnormal 2^−9. src/precision/format.ts builds E4M3 with the IEEE
  // rule emin = 1 − emax = −7, one binade too many. Reported; this flips to a failure once fixed.
  it('E4M3: smallest normal 2^−6 and smallest subnormal 2^−9 (OCP spec)', () => {
    expect(E4M3.emin).toBe(-6);
    expect(nextUp(E4M3, 0)).toBe(2 ** -9);
    expect(isRepresentable(E4M3, 2 ** -10)).toBe(false);
  });

  it('every (sign, exponent, significand) of a format is representable; one more significand bit is not', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...FORMATS_SMALL).chain((f) => fc.tuple(fc.constant(f), formatValue(f))),
        ([f, x]) => {
          expect(isRepresentable(f, x)).toBe(true);
          if (x !== 0 && Math.abs(x) < f.maxFinite) {
            const up = nextUp(f, Math.abs(x));
            expect(isRepresentable(f, (Math.abs(x) + up) / 2)).toBe(false);
          }
        },
      ),
      { numRuns: runs(1000) },
    );
  });
});
