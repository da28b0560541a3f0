/**
 * What each generator means, checked on its draws with src/precision and exact (BigInt) arithmetic
 * written here, independently of the generators' own helpers.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  argmaxFlip as argmaxFlipGen,
  exactTie,
  GENERATORS,
  genericChain,
  generatorById,
  NEAR_TIE_CHAIN_MODES,
  nearTie,
  nearTieChain,
  poolWindows,
  reluZero,
  roundTie as roundTieGen,
  SPECIAL_KINDS,
  specialValues,
  ulpNeighbour as ulpNeighbourGen,
  windowShape,
  ZERO_MODES,
  type Case,
} from '../src/generators/index.ts';
import { loneMaxPoolGenerators } from '../src/gate/lone.ts';
import {
  BF16,
  E4M3,
  E5M2,
  F16,
  F32,
  F64,
  formatByName,
  isRepresentable,
  nextUp,
  round,
  toDyadic,
  type Format,
} from '../src/precision/index.ts';
import { validateProblem, type Conv2dSpec, type MaxPoolSpec, type Problem } from '../src/problem/index.ts';
import { ConfigError } from '../src/util/errors.ts';
import { drawHashes } from './support/draw-hashes.ts';

// ---------------------------------------------------------------------------------------------
// Exact arithmetic: a value is m·2^e with BigInt m.
type Q = { m: bigint; e: number };
const q = (x: number): Q => {
  const d = toDyadic(x);
  return { m: d.sign < 0 ? -d.mantissa : d.mantissa, e: d.mantissa === 0n ? 0 : d.exponent };
};
const qadd = (a: Q, b: Q): Q => {
  const e = Math.min(a.e, b.e);
  return { m: (a.m << BigInt(a.e - e)) + (b.m << BigInt(b.e - e)), e };
};
const qmul = (a: Q, b: Q): Q => ({ m: a.m * b.m, e: a.e + b.e });
const qcmp = (a: Q, b: Q): number => {
  const d = qadd(a, { m: -b.m, e: b.e }).m;
  return d > 0n ? 1 : d < 0n ? -1 : 0;
};
const QZERO: Q = { m: 0n, e: 0 };

// conv2d terms of one output, row-major (ci, ky, kx), padding skipped.
function terms(p: Problem, out: number): { x: number; w: number }[] {
  const conv = p.layers[0] as Conv2dSpec;
  const [, C, H, W] = p.input.shape;
  const [kh, kw] = conv.kernel;
  const oh = Math.floor((H + 2 * conv.padding[0] - kh) / conv.stride[0]) + 1;
  const ow = Math.floor((W + 2 * conv.padding[1] - kw) / conv.stride[1]) + 1;
  const co = Math.floor(out / (oh * ow));
  const oy = Math.floor((out % (oh * ow)) / ow);
  const ox = out % ow;
  const res: { x: number; w: number }[] = [];
  for (let ci = 0; ci < C; ci++)
    for (let ky = 0; ky < kh; ky++)
      for (let kx = 0; kx < kw; kx++) {
        const r = oy * conv.stride[0] - conv.padding[0] + ky;
        const s = ox * conv.stride[1] - conv.padding[1] + kx;
        if (r < 0 || r >= H || s < 0 || s >= W) continue;
        res.push({ x: p.input.data[(ci * H + r) * W + s], w: p.params[0]!.weight[((co * C + ci) * kh + ky) * kw + kx] });
      }
  return res;
}
const biasOf = (p: Problem, out: number, outsPerChannel: number) => p.params[0]!.bias?.[Math.floor(out / outsPerChannel)];

function exactConv(p: Problem, out: number, perChannel: number): Q {
  let acc = QZERO;
  for (const t of terms(p, out)) acc = qadd(acc, qmul(q(t.x), q(t.w)));
  const b = biasOf(p, out, perChannel);
  return b === undefined ? acc : qadd(acc, q(b));
}

/** Sequential sum, every product and addition rounded to f (inputs and weights rounded first). */
function strictConv(f: Format, p: Problem, out: number, perChannel: number): number {
  let acc: number | undefined;
  for (const t of terms(p, out)) {
    const prod = round(f, round(f, t.x) * round(f, t.w));
    acc = acc === undefined ? prod : round(f, acc + prod);
  }
  const b = biasOf(p, out, perChannel);
  return b === undefined ? (acc ?? 0) : round(f, (acc ?? 0) + round(f, b));
}

function convOutPerChannel(p: Problem): number {
  const shapes = validateProblem(p);
  return shapes[1][2] * shapes[1][3];
}

/** The maxpool window (flat indices into its input) producing flat output `out`, for the last layer. */
function windowOf(p: Problem, out: number): number[] {
  const shapes = validateProblem(p);
  const pool = p.layers[p.layers.length - 1] as MaxPoolSpec;
  const [, c, h, w] = shapes[shapes.length - 2];
  const win = poolWindows({ channels: c, height: h, width: w, kernel: pool.kernel, stride: pool.stride, padding: pool.padding }).find(
    (x) => x.out === out,
  );
  if (!win) throw new Error(`no window ${out}`);
  return [...win.entries];
}

const nums = (s: string | number | boolean | undefined): number[] => String(s).split(',').filter(Boolean).map(Number);
const num = (c: Case, k: string): number => {
  const v = c.meta[k];
  if (typeof v !== 'number') throw new Error(`meta.${k} is not a number: ${String(v)}`);
  return v;
};
function check(cond: boolean, msg: string): void {
  if (!cond) throw new Error(msg);
}

// ---------------------------------------------------------------------------------------------
// What each generator promises, as a function that throws on a broken promise.
const lonePool = (c: Case) => check(c.problem.layers.length === 1 && c.problem.layers[0].kind === 'maxpool', 'not a lone maxpool');
const cotangentOk = (c: Case) =>
  check(
    c.problem.cotangent.every((v) => v !== 0 && Number.isFinite(v) && isRepresentable(F16, v) && Math.abs(v) <= 8),
    'cotangent not a small nonzero binary16 dyadic',
  );
const small = (c: Case) => {
  const [n, ch, h, w] = c.problem.input.shape;
  check(n === 1 && ch <= 2 && h <= 8 && w <= 8, `shape ${c.problem.input.shape.join('×')} too big`);
};

function ulpNeighbour(f: Format) {
  return (c: Case) => {
    lonePool(c);
    const d = c.problem.input.data;
    const x = num(c, 'x');
    const y = num(c, 'y');
    check(c.meta.format === f.name, 'format');
    check(isRepresentable(f, x) && isRepresentable(f, y), 'x, y not values of p');
    check(nextUp(f, x) === y && x < y, `y ≠ nextUp(x): ${x}, ${y}`);
    check(d[num(c, 'posX')] === x && d[num(c, 'posY')] === y, 'x, y not at their positions');
    const win = windowOf(c.problem, num(c, 'targetOut'));
    check(win.includes(num(c, 'posX')) && win.includes(num(c, 'posY')), 'x, y outside the target window');
    for (const e of win) if (e !== num(c, 'posX') && e !== num(c, 'posY')) check(round(f, d[e]) < x, 'another entry reaches x in p');
    for (const g of [F16, F32, F64]) check(c.meta[`tie${g.name}`] === (round(g, x) === round(g, y)), `tie${g.name} wrong`);
  };
}

function roundTie(coarse: Format, fine: Format) {
  return (c: Case) => {
    lonePool(c);
    const d = c.problem.input.data;
    const pos = nums(c.meta.positions);
    const vals = pos.map((e) => d[e]);
    check(vals.length >= 2 && vals.length === num(c, 'k'), 'fewer than 2 tied values');
    check(
      vals.every((v) => isRepresentable(fine, v)),
      'values not in the fine format',
    );
    check(new Set(vals).size === vals.length, 'values not distinct in the fine format');
    const r = vals.map((v) => round(coarse, v));
    check(r.every((v) => v === r[0]) && r[0] === num(c, 'h'), 'values do not round to the same coarse value');
    const win = windowOf(c.problem, num(c, 'targetOut'));
    for (const e of win) if (!pos.includes(e)) check(round(coarse, d[e]) < r[0], 'another entry reaches the tie at the coarse format');
    const at16 = vals.map((v) => round(F16, v));
    check(c.meta.tie16 === at16.every((v) => v === at16[0]), 'tie16 wrong');
    check(c.meta.tie64 === false, 'tie64 should be false');
    if (c.meta.straddle) check(c.meta.tie16 === false, 'a straddling draw ties at 16');
  };
}

function argmaxFlip(f: Format) {
  return (c: Case) => {
    const p = c.problem;
    check(p.layers[0].kind === 'conv2d' && p.layers[p.layers.length - 1].kind === 'maxpool', 'not conv → maxpool');
    const per = convOutPerChannel(p);
    const a = num(c, 'outA');
    const b = num(c, 'outB');
    check(qcmp(exactConv(p, a, per), exactConv(p, b, per)) > 0, 'exactly A ≤ B');
    check(qcmp(exactConv(p, b, per), QZERO) > 0, 'exactly B ≤ 0');
    const fa = strictConv(f, p, a, per);
    const fb = strictConv(f, p, b, per);
    check(fa < fb, `in ${f.name} bits A = ${fa} is not below B = ${fb}`);
    // Both are the top of their window, exactly and in p.
    const win = windowOf(p, findWindow(p, a));
    check(win.includes(a) && win.includes(b), 'A and B not in one window');
    for (const o of win) {
      if (o === a || o === b) continue;
      check(qcmp(exactConv(p, o, per), exactConv(p, b, per)) < 0, 'another entry reaches B exactly');
      check(strictConv(f, p, o, per) < fb, 'another entry reaches B in p');
    }
    check(c.meta[`flip${f.name}`] === true, 'meta does not record the flip');
  };
}

const CHECKS: Record<string, (c: Case) => void> = {
  'exact-tie': (c) => {
    lonePool(c);
    const d = c.problem.input.data;
    const win = windowOf(c.problem, num(c, 'targetOut'));
    const m = Math.max(...win.map((e) => d[e]));
    const atMax = win.filter((e) => d[e] === m);
    check(atMax.length >= 2 && atMax.length === num(c, 'k'), `window has ${atMax.length} maxima, meta.k = ${c.meta.k}`);
    check(m === num(c, 'tie'), 'tie value');
    check(
      win.every((e) => d[e] === m || d[e] < m),
      'an entry is neither the max nor below it',
    );
    if (c.meta.overlap) {
      const w2 = windowOf(c.problem, num(c, 'partnerOut'));
      const m2 = Math.max(...w2.map((e) => d[e]));
      const shared = atMax.filter((e) => w2.includes(e) && d[e] === m2);
      check(m2 === m && w2.filter((e) => d[e] === m2).length >= 2 && shared.length >= 1, 'partner window not tied through a shared entry');
    }
  },
  'ulp-neighbour-16': ulpNeighbour(F16),
  'ulp-neighbour-32': ulpNeighbour(F32),
  'ulp-neighbour-64': ulpNeighbour(F64),
  'round-tie-16': roundTie(F16, F32),
  'round-tie-32': roundTie(F32, F64),
  'near-tie': (c) => {
    lonePool(c);
    const d = c.problem.input.data;
    const e = num(c, 'gapExponent');
    check(e >= -60 && e <= -2, `gap exponent ${e} outside [−60, −2]`);
    const a = d[num(c, 'posA')];
    const b = d[num(c, 'posB')];
    const gap = (b - a) / Math.abs(a);
    check(gap >= 0 && gap <= 2 ** -2 * (1 + 2 ** -50), `realised gap ${gap} outside [0, 2^-2]`);
    check(Math.abs(gap - 2 ** e) <= 2 ** -51, `realised gap ${gap} far from 2^${e}`);
    check(c.meta.exactTie === (a === b), 'exactTie');
    const win = windowOf(c.problem, num(c, 'targetOut'));
    for (const f of [F16, F32, F64])
      for (const x of win)
        if (x !== num(c, 'posA') && x !== num(c, 'posB')) check(round(f, d[x]) < round(f, a), 'a third entry joins the near tie');
  },
  'near-tie-chain': (c) => {
    const p = c.problem;
    check(p.layers.map((l) => l.kind).join() === 'conv2d,relu,maxpool', 'not conv → relu → maxpool');
    const per = convOutPerChannel(p);
    const A = exactConv(p, num(c, 'outA'), per);
    const B = exactConv(p, num(c, 'outB'), per);
    check(qcmp(A, QZERO) > 0, 'A not positive (relu would zero it)');
    const order = qcmp(A, B);
    check(c.meta.exactTie === (order === 0), 'exactTie disagrees with exact arithmetic');
    if (c.meta.mode === 'swap') check(order === 0, 'swap is not an exact tie');
    if (order !== 0) check(num(c, 'gapLog2') <= -1.9, `gap 2^${c.meta.gapLog2} too large`);
    const win = windowOf(p, findWindow(p, num(c, 'outA')));
    const lo = order >= 0 ? B : A;
    for (const o of win)
      if (o !== num(c, 'outA') && o !== num(c, 'outB')) check(qcmp(exactConv(p, o, per), lo) < 0, 'another conv output reaches the pair');
    for (const f of [F16, F32, F64]) {
      const fa = strictConv(f, p, num(c, 'outA'), per);
      const fb = strictConv(f, p, num(c, 'outB'), per);
      check(c.meta[`tie${f.name}`] === (fa === fb), `tie${f.name}`);
      check(c.meta[`flip${f.name}`] === (order !== 0 && fa !== fb && fa < fb !== order < 0), `flip${f.name}`);
    }
  },
  'argmax-flip-16': argmaxFlip(F16),
  'argmax-flip-32': argmaxFlip(F32),
  'argmax-flip-64': argmaxFlip(F64),
  'relu-zero': (c) => {
    const p = c.problem;
    check(p.layers.map((l) => l.kind).join() === 'conv2d,relu,maxpool', 'not conv → relu → maxpool');
    const per = convOutPerChannel(p);
    const zeros = nums(c.meta.zeroOuts);
    const zwin = windowOf(p, num(c, 'zeroWindowOut'));
    check(zeros.length >= 1 && zeros.every((o) => zwin.includes(o)), 'zero outputs not in the zero window');
    for (const o of zwin)
      check(
        qcmp(exactConv(p, o, per), QZERO) === (zeros.includes(o) ? 0 : -1),
        `pre-activation ${o} is not ${zeros.includes(o) ? 'exactly 0' : 'negative'}`,
      );
    const nwin = windowOf(p, num(c, 'negWindowOut'));
    check(nwin.join() === String(c.meta.negOuts) && num(c, 'negWindowOut') !== num(c, 'zeroWindowOut'), 'negative window');
    for (const o of nwin) check(qcmp(exactConv(p, o, per), QZERO) < 0, `pre-activation ${o} in the negative window is not negative`);
  },
  'special-values': (c) => {
    lonePool(c);
    const d = c.problem.input.data;
    const claims = String(c.meta.kinds).split(',');
    check(claims.includes(String(c.meta.kind)), 'the primary kind is not claimed');
    const sub = (f: Format) => d.some((v) => Number.isFinite(v) && v !== 0 && Math.abs(v) < 2 ** f.emin && isRepresentable(f, v));
    const has: Record<string, boolean> = {
      nan: d.some(Number.isNaN),
      posInf: d.includes(Infinity),
      negInf: d.includes(-Infinity),
      signedZero: d.some((v) => Object.is(v, -0)) && d.some((v) => Object.is(v, 0)),
      sub16: sub(F16),
      sub32: sub(F32),
      sub64: sub(F64),
      over16: d.some((v) => Number.isFinite(v) && Math.abs(v) > F16.maxFinite),
    };
    for (const k of claims) check(has[k] === true && c.meta[k] === true, `claims ${k} but the input has none`);
    const win = windowOf(c.problem, num(c, 'targetOut')).map((e) => d[e]);
    switch (c.meta.kind) {
      case 'nan':
        check(win.some(Number.isNaN), 'no NaN in the target window');
        break;
      case 'posInf':
        check(Math.max(...win) === Infinity, '+∞ is not the window max');
        break;
      case 'negInf':
        check(win.includes(-Infinity), 'no −∞ in the target window');
        break;
      case 'signedZero':
        check(
          Math.max(...win) === 0 && win.some((v) => Object.is(v, -0)) && win.some((v) => Object.is(v, 0)),
          'no −0/+0 tie at the window max',
        );
        break;
      case 'over16': {
        const top = win.filter((v) => v > F16.maxFinite);
        check(top.length >= 2 && Math.max(...win.filter((v) => v <= F16.maxFinite)) < F16.maxFinite, 'no pair above 65504 on top');
        break;
      }
      default: {
        const f = formatByName(String(c.meta.kind).slice(3));
        const subs = win.filter((v) => v > 0 && v < 2 ** f.emin && isRepresentable(f, v));
        check(new Set(subs).size >= 2 && Math.max(...win) === Math.max(...subs), 'no pair of distinct subnormals on top');
      }
    }
  },
  'generic-chain': (c) => {
    const p = c.problem;
    check(p.layers.map((l) => l.kind).join() === 'conv2d,relu,maxpool', 'not conv → relu → maxpool');
    const all = [...p.input.data, ...p.params[0]!.weight, ...(p.params[0]!.bias ?? [])];
    check(
      all.every((v) => Number.isFinite(v) && Math.abs(v) <= 4),
      'non-finite or large value',
    );
    const conv = p.layers[0] as Conv2dSpec;
    check(conv.kernel.every((k) => k >= 1 && k <= 3) && conv.outChannels <= 2, 'conv shape');
  },
};

/** Flat pool-output index whose window holds conv output `o` (the pool tiles the conv output). */
function findWindow(p: Problem, o: number): number {
  const shapes = validateProblem(p);
  const pool = p.layers[p.layers.length - 1] as MaxPoolSpec;
  const [, c, h, w] = shapes[shapes.length - 2];
  const win = poolWindows({ channels: c, height: h, width: w, kernel: pool.kernel, stride: pool.stride, padding: pool.padding }).find((x) =>
    x.entries.includes(o),
  );
  if (!win) throw new Error(`conv output ${o} is in no window`);
  return win.out;
}

function meaning(c: Case, id: string): void {
  validateProblem(c.problem);
  small(c);
  cotangentOk(c);
  CHECKS[id](c);
}

// ---------------------------------------------------------------------------------------------
/** GEN_RUNS / GEN_SEED widen the per-generator property runs (defaults keep the file under ~10 s). */
const RUNS = Number(process.env.GEN_RUNS ?? 150);
const SEED = process.env.GEN_SEED === undefined ? 20261127 : Number(process.env.GEN_SEED);

describe('registry', () => {
  it('lists every generator once, each with a description and a nearTie flag', () => {
    const ids = GENERATORS.map((g) => g.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(Object.keys(CHECKS).sort());
    for (const g of GENERATORS) {
      expect(g.description.length).toBeGreaterThan(20);
      expect(typeof g.nearTie).toBe('boolean');
      expect(generatorById(g.id)).toBe(g);
    }
    expect(GENERATORS.filter((g) => g.nearTie).map((g) => g.id)).toEqual(
      expect.arrayContaining(['near-tie', 'near-tie-chain', 'round-tie-16', 'ulp-neighbour-32']),
    );
  });
  it('an unknown id throws an error listing the ids', () => {
    expect(() => generatorById('no-such')).toThrow(/no-such.*exact-tie.*generic-chain/);
  });
});

describe('windowShape', () => {
  it('kernel 1–4, stride 1..kernel, padding ≤ ⌊kernel/2⌋, ≥ 1 output, and minEntries honoured', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 16 }).chain((k) => windowShape({ minEntries: k }).map((g) => ({ g, k }))),
        ({ g, k }) => {
          for (const a of [0, 1]) {
            expect(g.kernel[a]).toBeGreaterThanOrEqual(1);
            expect(g.kernel[a]).toBeLessThanOrEqual(4);
            expect(g.stride[a]).toBeGreaterThanOrEqual(1);
            expect(g.stride[a]).toBeLessThanOrEqual(g.kernel[a]);
            expect(g.padding[a]).toBeLessThanOrEqual(Math.floor(g.kernel[a] / 2));
          }
          expect(g.height).toBeLessThanOrEqual(8);
          expect(g.width).toBeLessThanOrEqual(8);
          const wins = poolWindows(g);
          expect(wins.length).toBeGreaterThanOrEqual(1);
          expect(Math.max(...wins.map((w) => w.entries.length))).toBeGreaterThanOrEqual(k);
        },
      ),
      { numRuns: 300, seed: 1 },
    );
  });
  it('draws overlapping windows (stride < kernel) and padded windows', () => {
    const gs = fc.sample(windowShape(), { numRuns: 300, seed: 2 });
    expect(gs.some((g) => g.stride[0] < g.kernel[0] || g.stride[1] < g.kernel[1])).toBe(true);
    expect(gs.some((g) => g.padding[0] > 0 || g.padding[1] > 0)).toBe(true);
  });
});

describe.each(GENERATORS.map((g) => g.id))('%s', (id) => {
  const gen = generatorById(id);
  it('every case is a valid problem that means what the generator says', () => {
    fc.assert(
      fc.property(gen.arbitrary, (c) => {
        meaning(c, id);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
  it('shrinking keeps cases valid and meaningful', () => {
    for (const [seed, failing] of [
      [3, () => false],
      [4, (c: Case) => c.problem.input.data.length < 6],
    ] as const) {
      const broken: string[] = [];
      const out = fc.check(
        fc.property(gen.arbitrary, (c) => {
          try {
            meaning(c, id);
          } catch (e) {
            broken.push((e as Error).message);
          }
          return failing(c);
        }),
        { numRuns: 30, seed },
      );
      expect(broken).toEqual([]);
      if (out.failed) {
        const [c] = out.counterexample!;
        expect(() => meaning(c, id)).not.toThrow();
      }
    }
  });
});

describe('distributions', () => {
  it('near-tie: ties after rounding are most common at 16 bits, fewer at 32, fewest at 64', () => {
    const cs = fc.sample(generatorById('near-tie').arbitrary, { numRuns: 600, seed: 9 });
    const tied = (k: string) => cs.filter((c) => num(c, k) >= 2).length;
    expect(tied('k16')).toBeGreaterThan(tied('k32'));
    expect(tied('k32')).toBeGreaterThan(tied('k64'));
    expect(cs.filter((c) => c.meta.exactTie).length).toBe(tied('k64'));
  });
  it('near-tie-chain: non-exact pairs tie or flip in float, most at 16 and fewest (but some) at 64', () => {
    const cs = fc.sample(generatorById('near-tie-chain').arbitrary, { numRuns: 600, seed: 10 }).filter((c) => !c.meta.exactTie);
    const hit = (p: string) => cs.filter((c) => c.meta[`tie${p}`] || c.meta[`flip${p}`]).length;
    expect(hit('16')).toBeGreaterThan(hit('32'));
    expect(hit('32')).toBeGreaterThan(hit('64'));
    expect(hit('64')).toBeGreaterThan(0);
    expect(cs.some((c) => c.meta.flip64)).toBe(true);
  });
  it('round-tie-32 sometimes splits at 16 bits (straddle) and sometimes ties there', () => {
    const cs = fc.sample(generatorById('round-tie-32').arbitrary, { numRuns: 200, seed: 11 });
    expect(cs.some((c) => c.meta.tie16)).toBe(true);
    expect(cs.some((c) => !c.meta.tie16)).toBe(true);
  });
  it('special-values covers every kind as the primary one', () => {
    const cs = fc.sample(generatorById('special-values').arbitrary, { numRuns: 300, seed: 12 });
    expect(new Set(cs.map((c) => c.meta.kind)).size).toBe(8);
  });
  it('relu-zero: cancel-three zeros become nonzero in 16 or 32 bits for some draws', () => {
    const cs = fc
      .sample(generatorById('relu-zero').arbitrary, { numRuns: 400, seed: 13 })
      .filter((c) => c.meta.zeroMode === 'cancel-three');
    const moved = cs.filter((c) => {
      const per = convOutPerChannel(c.problem);
      return nums(c.meta.zeroOuts).some((o) => strictConv(F16, c.problem, o, per) !== 0 || strictConv(F32, c.problem, o, per) !== 0);
    });
    expect(moved.length).toBeGreaterThan(0);
  });
});

// ---------------------------------------------------------------------------------------------
// Declared structure: what the gate and the MaxPool checks read instead of sampling.
const layerKinds = (c: Case) => c.problem.layers.map((l) => l.kind).join(',');

describe('declared structure', () => {
  it.each(GENERATORS.map((g) => [g.id, g] as const))('%s draws exactly the layer sequences it declares', (_id, g) => {
    const declared = g.layers.map((ls) => ls.join(','));
    expect(g.structure === 'lone-maxpool').toBe(declared.length === 1 && declared[0] === 'maxpool');
    if (g.structure === 'chain') expect(g.layers.every((ls) => ls.length > 1)).toBe(true);
    const drawn = new Set(fc.sample(g.arbitrary, { numRuns: 120, seed: 14 }).map(layerKinds));
    expect([...drawn].filter((k) => !declared.includes(k))).toEqual([]);
    expect(declared.filter((k) => !drawn.has(k))).toEqual([]);
  });
  it('the gate reads the declarations; an id the registry does not know falls back on its description', async () => {
    const lone = GENERATORS.filter((g) => g.structure === 'lone-maxpool').map((g) => g.id);
    expect(lone).toEqual([
      'exact-tie',
      'ulp-neighbour-16',
      'ulp-neighbour-32',
      'ulp-neighbour-64',
      'round-tie-16',
      'round-tie-32',
      'near-tie',
      'special-values',
    ]);
    expect(await loneMaxPoolGenerators(GENERATORS)).toEqual(lone);
    const old = [
      { id: 'old-lone', description: 'Lone MaxPool with something' },
      { id: 'old-chain', description: 'conv2d → maxpool' },
      { id: 'near-tie-chain', description: 'Lone MaxPool (a stale description: the registry decides)' },
    ];
    expect(await loneMaxPoolGenerators(old)).toEqual(['old-lone']);
  });
});

// ---------------------------------------------------------------------------------------------
// Constraints objects.
describe('constraints: the documented defaults, written out, draw what no constraints draw', () => {
  const same: [string, fc.Arbitrary<unknown>, fc.Arbitrary<unknown>][] = [
    [
      'exactTie',
      exactTie(),
      exactTie({ k: { min: 2, max: 16 }, binade: { min: -6, max: 3 }, window: { minEntries: 2, maxSize: 8, channels: [1, 2] } }),
    ],
    [
      'ulpNeighbour',
      generatorById('ulp-neighbour-32').arbitrary,
      ulpNeighbourGen({ format: F32, window: { maxSize: 8, channels: [1, 2] } }),
    ],
    ['roundTie (from F32 by default)', generatorById('round-tie-16').arbitrary, roundTieGen({ to: F16, binade: { min: -10, max: 10 } })],
    ['roundTie (from F64 by default)', generatorById('round-tie-32').arbitrary, roundTieGen({ to: F32 })],
    ['nearTie', nearTie(), nearTie({ gapExponents: { min: -60, max: -2 }, binade: { min: -8, max: 8 }, window: {} })],
    ['nearTieChain', nearTieChain(), nearTieChain({ modes: ['swap', 'transfer', 'near'], gapExponents: { min: -60 } })],
    ['argmaxFlip', generatorById('argmax-flip-16').arbitrary, argmaxFlipGen({ format: F16 })],
    ['reluZero', reluZero(), reluZero({ modes: [...ZERO_MODES].reverse() })],
    ['specialValues', specialValues(), specialValues({ kinds: [...SPECIAL_KINDS] })],
    ['genericChain', genericChain(), genericChain({ maxSize: 8, inputBound: 4, weightBound: 1 })],
  ];
  it.each(same)('%s', (_name, a, b) => {
    expect(drawHashes({ arbitrary: b as fc.Arbitrary<Case> })).toEqual(drawHashes({ arbitrary: a as fc.Arbitrary<Case> }));
  });
  it('windowShape', () => {
    const a = fc.sample(windowShape(), { numRuns: 100, seed: 6 });
    expect(fc.sample(windowShape({ minEntries: 1, maxSize: 8, channels: [1, 2] }), { numRuns: 100, seed: 6 })).toEqual(a);
  });
});

/** Every draw of `arb` passes `ok` (a throwing check), over `runs` draws. */
function holds(arb: fc.Arbitrary<Case>, ok: (c: Case) => void, runs = 60): Case[] {
  const cs = fc.sample(arb, { numRuns: runs, seed: 15 });
  for (const c of cs) {
    validateProblem(c.problem);
    cotangentOk(c);
    ok(c);
  }
  return cs;
}
const inRange = (v: number, lo: number, hi: number) => v >= lo && v <= hi;

describe('constraints are honoured', () => {
  it('exactTie: k, binade, overlap and window', () => {
    const cs = holds(
      exactTie({ k: { min: 3, max: 4 }, binade: { min: 10, max: 12 }, overlap: false, window: { channels: [2, 2], maxSize: 5 } }),
      (c) => {
        CHECKS['exact-tie'](c);
        check(inRange(num(c, 'k'), 3, 4), `k = ${c.meta.k}`);
        check(inRange(Math.abs(num(c, 'tie')), 2 ** 10, 2 ** 13), `tie ${c.meta.tie}`);
        check(c.meta.overlap === false, 'overlap');
        const [, ch, h, w] = c.problem.input.shape;
        check(ch === 2 && h <= 5 && w <= 5, `shape ${c.problem.input.shape.join('×')}`);
      },
    );
    expect(new Set(cs.map((c) => c.meta.k))).toEqual(new Set([3, 4]));
    const overlapping = holds(exactTie({ overlap: true }), CHECKS['exact-tie'], 100);
    const withPartner = overlapping.filter((c) => c.meta.overlap === true).length;
    // true applies wherever the geometry overlaps; drawn, the flag is on for about half of those.
    const drawn = fc.sample(exactTie(), { numRuns: 100, seed: 15 }).filter((c) => c.meta.overlap === true).length;
    expect(withPartner).toBeGreaterThan(drawn);
  });
  it('ulpNeighbour: any format holding its values (bfloat16, E5M2), edge fixed', () => {
    for (const f of [BF16, E5M2]) {
      const cs = holds(ulpNeighbourGen({ format: f, edge: true }), (c) => {
        ulpNeighbour(f)(c);
        lonePool(c);
        check(c.meta.edge === true, 'edge');
      });
      expect(cs.length).toBe(60);
    }
    holds(ulpNeighbourGen({ format: F64, edge: false }), (c) => check(c.meta.edge === false, 'edge'));
  });
  it('roundTie: other coarse formats, the default fine one, straddle fixed', () => {
    holds(roundTieGen({ to: BF16 }), (c) => {
      roundTie(BF16, F32)(c);
      check(c.meta.fine === '32', `fine ${c.meta.fine}`);
    });
    holds(roundTieGen({ to: E5M2 }), (c) => {
      roundTie(E5M2, F16)(c);
      check(c.meta.fine === '16', `fine ${c.meta.fine}`);
    });
    holds(roundTieGen({ to: E4M3, binade: { min: -6, max: 7 } }), roundTie(E4M3, F16));
    holds(roundTieGen({ to: F32, straddle: true }), (c) => {
      roundTie(F32, F64)(c);
      check(c.meta.straddle === true && c.meta.tie16 === false, 'not a straddle');
    });
    holds(roundTieGen({ to: F32, straddle: false, binade: { min: -100, max: -90 } }), (c) => {
      roundTie(F32, F64)(c);
      check(c.meta.straddle === false && inRange(Math.abs(num(c, 'h')), 2 ** -100, 2 ** -89), `h ${c.meta.h}`);
    });
  });
  it('nearTie: gap exponents and binade', () => {
    holds(nearTie({ gapExponents: { min: -30, max: -20 }, binade: { min: 0, max: 2 } }), (c) => {
      CHECKS['near-tie'](c);
      check(num(c, 'gapExponent') > -30 && num(c, 'gapExponent') <= -20, `gap exponent ${c.meta.gapExponent}`);
      check(inRange(Math.abs(num(c, 'a')), 1, 8), `a ${c.meta.a}`);
    });
  });
  it('nearTieChain: modes, gap exponents, cancel and bias', () => {
    holds(nearTieChain({ modes: ['swap'] }), (c) => {
      CHECKS['near-tie-chain'](c);
      check(c.meta.mode === 'swap' && c.meta.exactTie === true, 'not a swap');
    });
    const cs = holds(
      nearTieChain({ modes: ['near', 'transfer'], gapExponents: { min: -20, max: -10 }, cancel: true, bias: false }),
      (c) => {
        CHECKS['near-tie-chain'](c);
        check(c.meta.mode !== 'swap' && c.meta.cancel === true, `mode ${c.meta.mode}, cancel ${c.meta.cancel}`);
        check(num(c, 'gapExponent') > -20 && num(c, 'gapExponent') <= -10, `gap exponent ${c.meta.gapExponent}`);
        check(c.problem.params[0]!.bias === undefined, 'bias');
      },
    );
    expect(new Set(cs.map((c) => c.meta.mode))).toEqual(new Set(['near', 'transfer']));
    expect(NEAR_TIE_CHAIN_MODES).toEqual(['near', 'transfer', 'swap']);
  });
  it('argmaxFlip: relu fixed either way', () => {
    holds(argmaxFlipGen({ format: F32, relu: false }), (c) => {
      argmaxFlip(F32)(c);
      check(layerKinds(c) === 'conv2d,maxpool', layerKinds(c));
    });
    holds(argmaxFlipGen({ format: F64, relu: true }), (c) => {
      argmaxFlip(F64)(c);
      check(layerKinds(c) === 'conv2d,relu,maxpool', layerKinds(c));
    });
  });
  it('reluZero: modes', () => {
    holds(reluZero({ modes: ['cancel-three'] }), (c) => {
      CHECKS['relu-zero'](c);
      check(c.meta.zeroMode === 'cancel-three', String(c.meta.zeroMode));
    });
  });
  it('specialValues: kinds (the target kind and the scattered ones)', () => {
    const cs = holds(specialValues({ kinds: ['nan', 'sub32'], window: { maxSize: 6 } }), (c) => {
      CHECKS['special-values'](c);
      check(['nan', 'sub32'].includes(String(c.meta.kind)), `kind ${c.meta.kind}`);
      check(
        String(c.meta.kinds)
          .split(',')
          .every((k) => k === 'nan' || k === 'sub32'),
        `kinds ${c.meta.kinds}`,
      );
    });
    expect(new Set(cs.map((c) => c.meta.kind))).toEqual(new Set(['nan', 'sub32']));
  });
  it('genericChain: size, bias and bounds', () => {
    holds(genericChain({ maxSize: 3, bias: true, inputBound: 0.5, weightBound: 2 }), (c) => {
      CHECKS['generic-chain'](c);
      const [, , h, w] = c.problem.input.shape;
      const { weight, bias } = c.problem.params[0]!;
      check(h <= 3 && w <= 3, `size ${h}×${w}`);
      check(bias !== undefined && [...weight, ...bias].every((v) => Math.abs(v) < 2), 'weights');
      check(
        c.problem.input.data.every((v) => Math.abs(v) < 0.5),
        'inputs',
      );
    });
  });
  it('windowShape: channels, maxSize, minEntries', () => {
    for (const g of fc.sample(windowShape({ channels: [3, 3], maxSize: 12, minEntries: 9 }), { numRuns: 100, seed: 16 })) {
      expect(g.channels).toBe(3);
      expect(Math.max(g.height, g.width)).toBeLessThanOrEqual(12);
      expect(Math.max(...poolWindows(g).map((w) => w.entries.length))).toBeGreaterThanOrEqual(9);
    }
  });
});

describe('constraints: a bad one throws ConfigError naming the field', () => {
  // biome-ignore lint/suspicious/noExplicitAny: wrong types on purpose, as a JavaScript caller may pass them.
  const bad = (x: unknown) => x as any;
  const cases: [string, string, () => unknown][] = [
    ['exactTie', 'k.min', () => exactTie({ k: { min: 1 } })],
    ['exactTie', 'k', () => exactTie({ k: { min: 5, max: 3 } })],
    ['exactTie', 'k.most', () => exactTie({ k: bad({ min: 2, most: 3 }) })],
    ['exactTie', 'binade.max', () => exactTie({ binade: { max: 60 } })],
    ['exactTie', 'overlap', () => exactTie({ overlap: bad('yes') })],
    ['exactTie', 'window.maxSize', () => exactTie({ window: { maxSize: 2 } })],
    ['exactTie', 'kk', () => exactTie(bad({ kk: 2 }))],
    ['ulpNeighbour', 'format', () => ulpNeighbourGen(bad(undefined))],
    ['ulpNeighbour', 'format', () => ulpNeighbourGen(bad(F16))],
    ['ulpNeighbour', 'format', () => ulpNeighbourGen({ format: E4M3 })],
    ['ulpNeighbour', 'format', () => ulpNeighbourGen({ format: bad('16') })],
    ['ulpNeighbour', 'window.channels', () => ulpNeighbourGen({ format: F16, window: { channels: [2, 1] } })],
    ['ulpNeighbour', 'window.minEntries', () => ulpNeighbourGen({ format: F16, window: { minEntries: 17 } })],
    ['roundTie', 'to', () => roundTieGen({ to: F64 })],
    ['roundTie', 'from', () => roundTieGen({ to: F16, from: BF16 })],
    ['roundTie', 'straddle', () => roundTieGen({ to: F16, straddle: true })],
    ['roundTie', 'binade.min', () => roundTieGen({ to: F32, binade: { min: -20 } })],
    ['roundTie', 'binade.max', () => roundTieGen({ to: E4M3, binade: { max: 8 } })],
    ['nearTie', 'gapExponents.max', () => nearTie({ gapExponents: { max: -1 } })],
    ['nearTie', 'gapExponents', () => nearTie({ gapExponents: { min: -2 } })],
    ['nearTie', 'binade.min', () => nearTie({ binade: { min: 1.5 } })],
    ['nearTieChain', 'modes', () => nearTieChain({ modes: [] })],
    ['nearTieChain', 'modes', () => nearTieChain({ modes: ['near', 'near'] })],
    ['nearTieChain', 'modes', () => nearTieChain({ modes: bad(['nearly']) })],
    ['nearTieChain', 'gapExponents.min', () => nearTieChain({ gapExponents: { min: Number.NaN } })],
    ['argmaxFlip', 'format', () => argmaxFlipGen({ format: BF16 })],
    ['argmaxFlip', 'relu', () => argmaxFlipGen({ format: F16, relu: bad(1) })],
    ['reluZero', 'modes', () => reluZero({ modes: bad(['cancel-four']) })],
    ['specialValues', 'kinds', () => specialValues({ kinds: [] })],
    ['specialValues', 'window.channels', () => specialValues({ window: { channels: bad([0, 1]) } })],
    ['genericChain', 'maxSize', () => genericChain({ maxSize: 2 })],
    ['genericChain', 'inputBound', () => genericChain({ inputBound: 0 })],
    ['genericChain', 'weightBound', () => genericChain({ weightBound: Number.POSITIVE_INFINITY })],
    ['windowShape', 'minEntries', () => windowShape({ minEntries: 0 })],
    ['windowShape', 'maxSize', () => windowShape({ maxSize: 3 })],
    ['windowShape', 'constraints', () => windowShape(bad(7))],
  ];
  it.each(cases)('%s: %s', (who, field, make) => {
    let error: unknown;
    try {
      make();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).field).toBe(field);
    expect((error as ConfigError).message.startsWith(`${who}: `)).toBe(true);
  });
});
