/**
 * src/precision/f16fast.ts: f16roundFast and roundArrayF16 are bit-identical to @petamoriken/float16's
 * f16round (Object.is: ±0 and NaN included) on every double — exhaustively on the binary16 grid, its
 * midpoints and their float32 and float64 neighbours, and by fast-check on arbitrary doubles
 * (including ones float32 cannot hold). Plus: ties go to even by an oracle independent of f16round,
 * rounding through float32 first would be wrong (double rounding), and the engine's Arith uses the
 * fast rounding at 16 bits without changing any value or the checked Arith's underflow flag.
 */
import { f16round } from '@petamoriken/float16';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addInPlace, makeArith, roundArrayBy, roundBy, rounder, roundInPlace, roundKindOf } from '../src/engine/arith.ts';
import { runs } from '../src/nightly/runs.ts';
import { f16roundFast, roundArrayF16 } from '../src/precision/f16fast.ts';
import { BF16, E4M3, E5M2, F16, F32, F64, type Format } from '../src/precision/index.ts';
import { f16FromBits } from './support/f16.ts';

// ---------------------------------------------------------------------------------------------
// Independent decoders and neighbours.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** The float32 neighbour of a float32 value x ≥ 0 (d = +1 above, −1 below; below +0 is −2^−149). */
function f32Step(x: number, d: 1 | -1): number {
  f32[0] = x;
  if (f32[0] !== x || x < 0) throw new Error(`${x} is not a non-negative float32`);
  if (x === 0) return d * 2 ** -149;
  u32[0] += d;
  return f32[0];
}

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);
/** The double n ulps away from a double x ≥ 0 (n may be negative; x + n ulps must stay ≥ +0). */
function f64Step(x: number, n: number): number {
  f64[0] = x;
  u64[0] = BigInt.asUintN(64, u64[0] + BigInt(n));
  return f64[0];
}

/** A double from its 64-bit pattern. */
function f64FromBits(bits: bigint): number {
  u64[0] = bits;
  return f64[0];
}

const same = (a: number, b: number) => Object.is(a, b);

/** The first input where f16roundFast differs from f16round, or null. */
function firstMismatch(xs: ArrayLike<number>): string | null {
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    if (!same(f16roundFast(x), f16round(x))) return `x = ${x} (index ${i}): f16roundFast ${f16roundFast(x)}, f16round ${f16round(x)}`;
  }
  return null;
}

// Every finite binary16 value v ≥ 0 (codes 0x0000–0x7BFF), in increasing order, and the next one up
// (2^16 past the largest: the value an unbounded exponent would round to).
const GRID: number[] = Array.from({ length: 0x7c00 }, (_, code) => f16FromBits(code));
const nextOf = (i: number) => (i + 1 < GRID.length ? GRID[i + 1] : 65536);

/**
 * Every v, the midpoint m between v and its successor (65520 above the largest), the float32 and
 * float64 neighbours of both (the double ones are not float32 values: f16round(fround(x)) would be
 * the wrong reference there), both signs; then the specials.
 */
function structuredInputs(): Float64Array {
  const out: number[] = [];
  for (let i = 0; i < GRID.length; i++) {
    const v = GRID[i];
    const m = (v + nextOf(i)) / 2; // exact: a binary16 midpoint has 12 significant bits
    const xs = [v, m, f32Step(m, -1), f32Step(m, 1), f64Step(m, -1), f64Step(m, 1), f32Step(v, 1), f64Step(v, 1)];
    if (v > 0) xs.push(f32Step(v, -1), f64Step(v, -1));
    for (const x of xs) out.push(x, -x);
  }
  out.push(NaN, Infinity, -Infinity, 0, -0, 65520, -65520, 65519.99999999999, 65536, 1e10, -1e300, Number.MAX_VALUE, -Number.MAX_VALUE);
  out.push(Number.MIN_VALUE, -Number.MIN_VALUE, 2 ** -1022, 2 ** -149, 2 ** -126, 2 ** -25, -(2 ** -25), 3 * 2 ** -26, 2 ** -25 + 2 ** -60);
  return Float64Array.from(out);
}

const STRUCTURED = structuredInputs();

// ---------------------------------------------------------------------------------------------

describe('f16roundFast = f16round, exhaustively on the binary16 grid', () => {
  it(`every binary16 value, midpoint, and their float32 and float64 neighbours, both signs (${STRUCTURED.length} inputs)`, () => {
    expect(STRUCTURED.length).toBeGreaterThan(500_000);
    expect(firstMismatch(STRUCTURED)).toBeNull();
  });

  it('roundArrayF16 on the same inputs equals f16round elementwise, and leaves entries outside [start, end) alone', () => {
    const a = STRUCTURED.slice();
    roundArrayF16(a);
    for (let i = 0; i < a.length; i++)
      if (!same(a[i], f16round(STRUCTURED[i]))) expect.fail(`index ${i}: ${STRUCTURED[i]} → ${a[i]}, f16round ${f16round(STRUCTURED[i])}`);
    const b = STRUCTURED.slice();
    roundArrayF16(b, 1000, 2000);
    for (let i = 0; i < b.length; i++) {
      const want = i >= 1000 && i < 2000 ? f16round(STRUCTURED[i]) : STRUCTURED[i];
      if (!same(b[i], want)) expect.fail(`index ${i}: got ${b[i]}, want ${want}`);
    }
  });

  it('is correct by an oracle independent of f16round: values stay, midpoints tie to even, one double past a midpoint rounds away', () => {
    for (let i = 0; i < GRID.length; i++) {
      const v = GRID[i];
      const next = nextOf(i);
      const m = (v + next) / 2;
      const even = i % 2 === 0 ? v : next; // code i is even ⇔ v's significand is even (2^16 continues the grid)
      const cap = (r: number) => (r > 65504 ? Infinity : r);
      for (const s of [1, -1]) {
        const checks: [number, number][] = [
          [v, v],
          [m, cap(even)],
          [f64Step(m, -1), v],
          [f64Step(m, 1), cap(next)],
        ];
        for (const [x, want] of checks)
          if (!same(f16roundFast(s * x), s * want)) expect.fail(`${s * x} → ${f16roundFast(s * x)}, want ${s * want}`);
      }
    }
  });

  it('rounds the double directly: rounding through float32 first differs (double rounding) and would be wrong', () => {
    // Just above the binary16 midpoint 1 + 2^-11: float32 rounds it onto the midpoint, which then ties to 1.
    const x = 1 + 2 ** -11 + 2 ** -40;
    expect(f16round(x)).toBe(1 + 2 ** -10);
    expect(f16round(Math.fround(x))).toBe(1);
    expect(f16roundFast(x)).toBe(1 + 2 ** -10);
    // It happens next to every midpoint: count them among the double neighbours above.
    let differ = 0;
    for (const x of STRUCTURED) if (!same(f16round(Math.fround(x)), f16round(x))) differ++;
    expect(differ).toBeGreaterThan(60_000);
  });
});

describe('f16roundFast = f16round on arbitrary doubles (fast-check)', () => {
  const check = (x: number) => {
    if (!same(f16roundFast(x), f16round(x))) throw new Error(`x = ${x}: f16roundFast ${f16roundFast(x)}, f16round ${f16round(x)}`);
  };
  /** Any double from its bit pattern: every sign, exponent and significand, NaN payloads, subnormals. */
  const anyBits = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(f64FromBits);
  /** A binary16 value or midpoint (either sign) moved by up to 2^32 double ulps: the rounding boundaries. */
  const nearGrid = fc
    .record({
      code: fc.integer({ min: 0, max: 0x7bff }),
      mid: fc.boolean(),
      ulps: fc.integer({ min: -(2 ** 32), max: 2 ** 32 }),
      neg: fc.boolean(),
    })
    .map(({ code, mid, ulps, neg }) => {
      const base = mid ? (GRID[code] + nextOf(code)) / 2 : GRID[code];
      const x = base === 0 && ulps < 0 ? f64Step(0, -ulps) : f64Step(base, ulps);
      return neg ? -x : x;
    });

  it('arbitrary doubles: fc.double (NaN, ±∞, ±0, subnormals) and every bit pattern', () => {
    fc.assert(fc.property(fc.oneof(fc.double(), anyBits), check), { numRuns: runs(50_000) });
  });

  it('doubles float32 cannot hold, in and around the binary16 range', () => {
    const notF32 = fc
      .oneof(fc.double({ min: -70000, max: 70000, noNaN: true }), fc.double({ min: -1, max: 1, noNaN: true }))
      .filter((x) => Math.fround(x) !== x);
    fc.assert(fc.property(notF32, check), { numRuns: runs(50_000) });
  });

  it('near every rounding boundary: binary16 values and midpoints moved by a few double ulps', () => {
    fc.assert(fc.property(nearGrid, check), { numRuns: runs(100_000) });
  });

  it('subnormals (of binary16, and of binary32 and binary64) and huge values', () => {
    const tiny = fc.oneof(
      fc.double({ min: -(2 ** -13), max: 2 ** -13 }),
      fc.double({ min: -(2 ** -126), max: 2 ** -126 }),
      fc.double({ min: -(2 ** -1021), max: 2 ** -1021 }),
    );
    const huge = fc.oneof(
      fc.double({ min: 65000, max: 66000 }),
      fc.double({ min: -66000, max: -65000 }),
      fc.double({ min: 1e300 }),
      fc.double({ max: -1e300 }),
      fc.double({ min: 3e38, max: 4e38 }),
    );
    fc.assert(fc.property(fc.oneof(tiny, huge), check), { numRuns: runs(50_000) });
  });
});

// ---------------------------------------------------------------------------------------------

describe('the engine rounds with it at 16 bits, values unchanged', () => {
  const FORMATS: Format[] = [F16, F32, F64, BF16, E4M3, E5M2];
  const values = fc.oneof(fc.double(), fc.double({ min: -70000, max: 70000 }), fc.double({ min: -1e-4, max: 1e-4 }));

  it('rounder(binary16) is f16roundFast; the Arith reports kind 2 for it (kind 3 when checked)', () => {
    expect(rounder(F16)).toBe(f16roundFast);
    const strict = makeArith(F16, 'strict');
    expect([strict.round, strict.acc, strict.roundKind, strict.accKind]).toEqual([f16roundFast, f16roundFast, 2, 2]);
    const wide = makeArith(F16, 'wide');
    expect([wide.roundKind, wide.accKind]).toEqual([2, 1]);
    for (const acc of ['strict', 'wide'] as const) {
      const checked = makeArith(F16, acc, { checkUnderflow: true });
      expect([checked.roundKind, checked.accKind]).toEqual([3, 3]);
    }
    // bfloat16 has its own fast rounding (bf16roundFast, kind 4); the 8-bit formats stay generic.
    expect(FORMATS.map(roundKindOf)).toEqual([2, 1, 0, 4, 3, 3]);
  });

  it('roundBy / roundArrayBy / roundInPlace / addInPlace equal round and addP element by element, every format and mode', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...FORMATS),
        fc.constantFrom('strict', 'wide'),
        fc.array(values, { maxLength: 40 }),
        fc.array(values, { maxLength: 40 }),
        (f, acc, xs, ys) => {
          const ar = makeArith(f, acc);
          const n = Math.min(xs.length, ys.length);
          const a = Float64Array.from(xs.slice(0, n));
          const b = Float64Array.from(ys.slice(0, n));
          for (let i = 0; i < n; i++) {
            expect(same(roundBy(ar.roundKind, ar.round, a[i]), ar.round(a[i]))).toBe(true);
            expect(same(roundBy(ar.accKind, ar.acc, a[i]), ar.acc(a[i]))).toBe(true);
          }
          const r = a.slice();
          roundInPlace(ar, r);
          const r2 = a.slice();
          roundArrayBy(roundKindOf(f), rounder(f), r2);
          const s = a.slice();
          addInPlace(ar, s, b);
          for (let i = 0; i < n; i++) {
            expect(same(r[i], ar.round(a[i]))).toBe(true);
            expect(same(r2[i], rounder(f)(a[i]))).toBe(true);
            expect(same(s[i], ar.addP(a[i], b[i]))).toBe(true);
          }
        },
      ),
      { numRuns: runs(1000) },
    );
  });

  it('a checked Arith still sees every value: roundInPlace and addInPlace raise the underflow flag as the per-element calls do', () => {
    fc.assert(
      fc.property(fc.constantFrom(F16, F32, BF16), fc.array(values, { maxLength: 20 }), (f, xs) => {
        const a = Float64Array.from(xs);
        const viaCalls = makeArith(f, 'strict', { checkUnderflow: true });
        const want = a.map((x) => viaCalls.round(x));
        const ar = makeArith(f, 'strict', { checkUnderflow: true });
        const got = a.slice();
        roundInPlace(ar, got);
        expect(ar.flags.underflow).toBe(viaCalls.flags.underflow);
        for (let i = 0; i < a.length; i++) expect(same(got[i], want[i])).toBe(true);
        const ar2 = makeArith(f, 'strict', { checkUnderflow: true });
        const viaCalls2 = makeArith(f, 'strict', { checkUnderflow: true });
        const zero = new Float64Array(a.length);
        addInPlace(ar2, zero, a);
        a.forEach((x) => {
          viaCalls2.addP(0, x);
        });
        expect(ar2.flags.underflow).toBe(viaCalls2.flags.underflow);
      }),
      { numRuns: runs(500) },
    );
  });
});
