/**
 * Properties of the engine (src/engine): statements about the mathematics it must get right.
 * Small shapes; each property states what it checks in its title.
 */
import fc, { type Arbitrary } from 'fast-check';
import { describe, expect, it } from 'vitest';
import { engineBackend } from '../src/backends/engine.ts';
import { linear, reshape, runChain, Tape, type Accumulate, type EngineOptions, type EngineResult } from '../src/engine/index.ts';
import { beta, choice, FIRST, LAST, MINNORM, tieWeights, type BetaMode, type MaxPoolJacobian } from '../src/jacobians/index.ts';
import { F16, F64, FORMATS, BF16, formatByName, isRepresentable, round, type Format } from '../src/precision/index.ts';
import { decimalOracle } from '../src/oracle/index.ts';
import {
  activationShapes,
  size,
  type Conv2dSpec,
  type LayerSpec,
  type MaxPoolSpec,
  type Problem,
  type Shape,
} from '../src/problem/index.ts';
import { runs } from '../src/nightly/runs.ts';

// ---------------------------------------------------------------------------------------------
// Arbitraries

type Kind = 'conv' | 'relu' | 'pool';
const ARCHITECTURES: Kind[][] = [
  ['conv'],
  ['pool'],
  ['conv', 'relu', 'pool'],
  ['conv', 'pool', 'relu', 'conv'],
  ['pool', 'conv'],
  ['conv', 'relu', 'conv'],
];

const pair = (min: number, max: number) => fc.tuple(fc.integer({ min, max }), fc.integer({ min, max }));
const convArb: Arbitrary<Conv2dSpec> = fc.record({
  kind: fc.constant('conv2d' as const),
  outChannels: fc.integer({ min: 1, max: 2 }),
  kernel: pair(1, 3),
  stride: pair(1, 2),
  padding: pair(0, 1),
  bias: fc.boolean(),
});
const poolArb: Arbitrary<MaxPoolSpec> = fc
  .tuple(pair(1, 3), pair(1, 3))
  .chain(([kernel, stride]) =>
    fc
      .tuple(fc.integer({ min: 0, max: kernel[0] >> 1 }), fc.integer({ min: 0, max: kernel[1] >> 1 }))
      .map((padding) => ({ kind: 'maxpool' as const, kernel, stride, padding })),
  );
const layerArb = (k: Kind): Arbitrary<LayerSpec> =>
  k === 'conv' ? convArb : k === 'pool' ? poolArb : fc.constant({ kind: 'relu' as const });

function shapesOf(shape: Shape, layers: readonly LayerSpec[]): Shape[] | null {
  try {
    return activationShapes({ input: { shape, data: [] }, layers });
  } catch {
    return null;
  }
}

/** A chain problem of one of `archs`, every number drawn from `value`. */
function problemArb(value: Arbitrary<number>, archs: Kind[][] = ARCHITECTURES, maxSide = 6): Arbitrary<Problem> {
  const skeleton = fc
    .record({
      shape: fc.tuple(
        fc.integer({ min: 1, max: 2 }),
        fc.integer({ min: 1, max: 2 }),
        fc.integer({ min: 1, max: maxSide }),
        fc.integer({ min: 1, max: maxSide }),
      ),
      layers: fc.constantFrom(...archs).chain((a) => fc.tuple(...a.map(layerArb))),
    })
    .filter(({ shape, layers }) => shapesOf(shape, layers) !== null);
  return skeleton.chain(({ shape, layers }) => {
    const shapes = shapesOf(shape, layers)!;
    const vec = (n: number) => fc.array(value, { minLength: n, maxLength: n });
    const params = layers.map((l, i) =>
      l.kind !== 'conv2d'
        ? fc.constant(null)
        : fc
            .record({ weight: vec(l.outChannels * shapes[i][1] * l.kernel[0] * l.kernel[1]), bias: vec(l.outChannels) })
            .map((p) => (l.bias ? p : { weight: p.weight })),
    );
    return fc.record({
      input: vec(size(shapes[0])).map((data) => ({ shape, data })),
      layers: fc.constant(layers),
      params: fc.tuple(...params),
      cotangent: vec(size(shapes[shapes.length - 1])),
    });
  });
}

/** A lone MaxPool problem. */
function poolProblemArb(value: Arbitrary<number>, cotangent: Arbitrary<number> = value): Arbitrary<Problem> {
  return problemArb(value, [['pool']]).chain((p) =>
    fc.array(cotangent, { minLength: p.cotangent.length, maxLength: p.cotangent.length }).map((c) => ({ ...p, cotangent: c })),
  );
}

const smallInt = fc.integer({ min: -3, max: 3 });
const MEMBERS: MaxPoolJacobian[] = [FIRST, LAST, MINNORM, beta(0), beta(1), beta(10), beta(100), beta(1000), beta(10000)];
const memberArb = fc.constantFrom(...MEMBERS);
const formatArb: Arbitrary<Format> = fc.constantFrom(...Object.values(FORMATS));
const modeArb: Arbitrary<Accumulate> = fc.constantFrom('strict', 'wide');

const opts = (
  format: Format,
  accumulate: Accumulate,
  maxpool: MaxPoolJacobian,
  alpha = 0,
  betaMode: BetaMode = 'backward',
): EngineOptions => ({
  format,
  accumulate,
  jacobian: choice(maxpool, alpha, betaMode),
});

/** Every number the engine returned, flattened (output, activations, gradients). */
function allNumbers(r: EngineResult): number[] {
  const out = [...r.output, ...r.activations.flat(), ...r.grads.input];
  for (const p of r.grads.params) if (p) out.push(...p.weight, ...(p.bias ?? []));
  return out;
}

/** Gradients as one flat list, −0 read as 0 (the sign of a zero gradient carries no meaning here). */
function flatGrads(g: EngineResult['grads'] | RefResult): number[] {
  const out = [...g.input];
  for (const p of g.params) if (p) out.push(...p.weight, ...(p.bias ?? []));
  return out.map((v) => (v === 0 ? 0 : v));
}

// ---------------------------------------------------------------------------------------------
// A plain reference: forward and backward written directly from the formulas, gather form for the
// conv input gradient, in the summation orders src/engine documents. `rounding` models the engine's
// arithmetic: `acc` rounds each product and partial sum, `out` each op's output (identity: exact
// double arithmetic, which is exact when every partial sum is).

interface RefResult {
  output: number[];
  input: number[];
  params: ({ weight: number[]; bias?: number[] } | null)[];
}

interface Rounding {
  acc: (x: number) => number;
  out: (x: number) => number;
}
const EXACT: Rounding = { acc: (x) => x, out: (x) => x };

/** The engine's rounding, restated from the definition (not imported from src/engine). */
function roundingOf(format: Format, mode: Accumulate): Rounding {
  const out = (x: number) => round(format, x);
  const wide = format.bits <= 16 ? Math.fround : (x: number) => x;
  return { out, acc: mode === 'strict' || format.name === '64' ? out : wide };
}

function reference(problem: Problem, pick: 'first' | 'last', alpha: number, { acc, out }: Rounding = EXACT): RefResult {
  const shapes = activationShapes(problem);
  const acts: number[][] = [problem.input.data.map(out)];
  const params = problem.params.map((p) => p && { weight: p.weight.map(out), bias: p.bias?.map(out) });
  const chosen: number[][] = []; // per layer: for maxpool, the routed input index of each output
  problem.layers.forEach((l, i) => {
    const [N, C, H, W] = shapes[i];
    const [, O, OH, OW] = shapes[i + 1];
    const x = acts[i];
    const y: number[] = [];
    chosen.push([]);
    if (l.kind === 'relu') {
      acts.push(x.map((v) => (v > 0 || Number.isNaN(v) ? v : 0)));
      return;
    }
    const [KH, KW] = l.kernel;
    const [sh, sw] = l.stride;
    const [ph, pw] = l.padding;
    for (let n = 0; n < N; n++)
      for (let o = 0; o < O; o++)
        for (let oh = 0; oh < OH; oh++)
          for (let ow = 0; ow < OW; ow++) {
            if (l.kind === 'conv2d') {
              const p = params[i]!;
              let s = 0;
              for (let c = 0; c < C; c++)
                for (let a = 0; a < KH; a++)
                  for (let b = 0; b < KW; b++) {
                    const ih = oh * sh - ph + a;
                    const iw = ow * sw - pw + b;
                    if (ih >= 0 && ih < H && iw >= 0 && iw < W)
                      s = acc(s + acc(p.weight[((o * C + c) * KH + a) * KW + b] * x[((n * C + c) * H + ih) * W + iw]));
                  }
              y.push(out(p.bias ? acc(s + p.bias[o]) : s));
            } else {
              let best = -Infinity;
              let ties: number[] = [];
              for (let a = 0; a < KH; a++)
                for (let b = 0; b < KW; b++) {
                  const ih = oh * sh - ph + a;
                  const iw = ow * sw - pw + b;
                  if (ih < 0 || ih >= H || iw < 0 || iw >= W || Number.isNaN(best)) continue;
                  const idx = ((n * C + o) * H + ih) * W + iw;
                  if (x[idx] > best || Number.isNaN(x[idx])) [best, ties] = [x[idx], [idx]];
                  else if (x[idx] === best) ties.push(idx);
                }
              y.push(x[ties[0]]);
              chosen[i].push(pick === 'first' ? ties[0] : ties[ties.length - 1]);
            }
          }
    acts.push(y);
  });

  const grads: RefResult['params'] = problem.params.map(() => null);
  let g = problem.cotangent.map(out);
  for (let i = problem.layers.length - 1; i >= 0; i--) {
    const l = problem.layers[i];
    const [N, C, H, W] = shapes[i];
    const [, O, OH, OW] = shapes[i + 1];
    const x = acts[i];
    const dx = new Array<number>(x.length).fill(0);
    if (l.kind === 'relu') {
      x.forEach((v, j) => {
        dx[j] = v > 0 ? g[j] : v === 0 && alpha !== 0 ? out(out(alpha) * g[j]) : 0;
      });
    } else if (l.kind === 'maxpool') {
      chosen[i].forEach((idx, o) => {
        dx[idx] = acc(dx[idx] + g[o]);
      });
      dx.forEach((v, j) => {
        dx[j] = out(v);
      });
    } else {
      const p = params[i]!;
      const [KH, KW] = l.kernel;
      const [sh, sw] = l.stride;
      const [ph, pw] = l.padding;
      const gAt = (n: number, o: number, oh: number, ow: number) => g[((n * O + o) * OH + oh) * OW + ow];
      // dx by gathering, over the outputs (o, oh, ow) that read x[n,c,ih,iw] (through tap a, b).
      for (let n = 0; n < N; n++)
        for (let c = 0; c < C; c++)
          for (let ih = 0; ih < H; ih++)
            for (let iw = 0; iw < W; iw++) {
              let s = 0;
              for (let o = 0; o < O; o++)
                for (let oh = 0; oh < OH; oh++)
                  for (let ow = 0; ow < OW; ow++) {
                    const a = ih + ph - oh * sh;
                    const b = iw + pw - ow * sw;
                    if (a >= 0 && a < KH && b >= 0 && b < KW)
                      s = acc(s + acc(p.weight[((o * C + c) * KH + a) * KW + b] * gAt(n, o, oh, ow)));
                  }
              dx[((n * C + c) * H + ih) * W + iw] = out(s);
            }
      const weight: number[] = [];
      for (let o = 0; o < O; o++)
        for (let c = 0; c < C; c++)
          for (let a = 0; a < KH; a++)
            for (let b = 0; b < KW; b++) {
              let s = 0;
              for (let n = 0; n < N; n++)
                for (let oh = 0; oh < OH; oh++)
                  for (let ow = 0; ow < OW; ow++) {
                    const ih = oh * sh - ph + a;
                    const iw = ow * sw - pw + b;
                    if (ih >= 0 && ih < H && iw >= 0 && iw < W) s = acc(s + acc(gAt(n, o, oh, ow) * x[((n * C + c) * H + ih) * W + iw]));
                  }
              weight.push(out(s));
            }
      const bias: number[] = [];
      for (let o = 0; o < O; o++) {
        let s = 0;
        for (let n = 0; n < N; n++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) s = acc(s + gAt(n, o, oh, ow));
        bias.push(out(s));
      }
      grads[i] = p.bias ? { weight, bias } : { weight };
    }
    g = dx;
  }
  return { output: acts[acts.length - 1], input: g, params: grads };
}

describe('engine at 64 bits against a hand-written reference (exact small-integer chains)', () => {
  it('conv / relu / maxpool output and every gradient equal the reference formulas, first and last, strict and wide', () => {
    fc.assert(
      fc.property(
        problemArb(smallInt),
        fc.constantFrom<'first' | 'last'>('first', 'last'),
        fc.constantFrom(0, 0.5, 1),
        modeArb,
        (problem, pick, alpha, mode) => {
          const ref = reference(problem, pick, alpha);
          const r = runChain(problem, opts(F64, mode, pick === 'first' ? FIRST : LAST, alpha));
          expect(r.output.map((v) => (v === 0 ? 0 : v))).toEqual(ref.output.map((v) => (v === 0 ? 0 : v)));
          expect(flatGrads(r.grads)).toEqual(flatGrads(ref));
        },
      ),
      { numRuns: runs(400) },
    );
  });

  it('in every format and mode, first / last: the engine equals the reference restated with per-mode rounding in the documented order', () => {
    const value = fc.oneof(smallInt, fc.double({ min: -4, max: 4, noNaN: true }));
    fc.assert(
      fc.property(
        problemArb(value),
        formatArb,
        modeArb,
        fc.constantFrom<'first' | 'last'>('first', 'last'),
        fc.constantFrom(0, 0.3, 1),
        (problem, format, mode, pick, alpha) => {
          const ref = reference(problem, pick, alpha, roundingOf(format, mode));
          const r = runChain(problem, opts(format, mode, pick === 'first' ? FIRST : LAST, alpha));
          expect(r.output.map((v) => (v === 0 ? 0 : v))).toEqual(ref.output.map((v) => (v === 0 ? 0 : v)));
          expect(flatGrads(r.grads)).toEqual(flatGrads(ref));
        },
      ),
      { numRuns: runs(500) },
    );
  });

  it('the engine backend returns what runChain returns', async () => {
    await fc.assert(
      fc.asyncProperty(
        problemArb(smallInt),
        fc.constantFrom('16', '32', '64', 'bf16', 'e4m3', 'e5m2'),
        modeArb,
        async (problem, precision, accumulate) => {
          const jacobian = choice(MINNORM);
          const b = await engineBackend.run(problem, { precision, accumulate, jacobian });
          const r = runChain(problem, { format: formatByName(precision), accumulate, jacobian });
          expect(b).toEqual({ output: r.output, grads: r.grads, routing: r.routing, activations: r.activations });
        },
      ),
      { numRuns: runs(50) },
    );
    expect(engineBackend.id).toBe('engine');
    expect(engineBackend.fixedJacobian).toBe(false);
  });
});

describe('IEEE underflow flag (checkUnderflow)', () => {
  const lone = (v: number[]): Problem => ({
    input: { shape: [1, 1, 2, 2], data: v },
    layers: [{ kind: 'maxpool', kernel: [2, 2], stride: [2, 2], padding: [0, 0] }],
    params: [null],
    cotangent: [1],
  });
  it('is raised when a nonzero value below the smallest normal is rounded, and only then', () => {
    const run = (v: number[], precision: string) =>
      runChain(lone(v), { format: formatByName(precision), accumulate: 'strict', jacobian: choice(MINNORM), checkUnderflow: true })
        .underflow;
    expect(run([2 ** -26, 0, 0, 0], '16')).toBe(true); // binary16 min normal is 2^-14
    expect(run([2 ** -14, 0, 1, 0], '16')).toBe(false);
    expect(run([2 ** -26, 0, 0, 0], '32')).toBe(false); // normal in binary32
    expect(run([2 ** -130, 0, 0, 0], '32')).toBe(true);
    expect(
      runChain(lone([2 ** -26, 0, 0, 0]), { format: formatByName('16'), accumulate: 'strict', jacobian: choice(MINNORM) }).underflow,
    ).toBeUndefined();
  });
  it('does not change any value', () => {
    fc.assert(
      fc.property(problemArb(smallInt), modeArb, (problem, accumulate) => {
        const opts = { format: formatByName('16'), accumulate, jacobian: choice(MINNORM) };
        const a = runChain(problem, opts);
        const b = runChain(problem, { ...opts, checkUnderflow: true });
        expect({ ...b, underflow: undefined }).toEqual({ ...a, underflow: undefined });
      }),
      { numRuns: runs(50) },
    );
  });
});

describe('Jacobian members', () => {
  it('away from ties (every tie set a singleton, no ReLU input at 0) all members give identical gradients, at 64 and 16 bits', () => {
    const value = fc.integer({ min: -(2 ** 20), max: 2 ** 20 }).map((i) => i / 2 ** 17 + 2 ** -30);
    fc.assert(
      fc.property(problemArb(value), fc.constantFrom(F64, F16), modeArb, (problem, format, mode) => {
        const base = runChain(problem, opts(format, mode, FIRST, 0.5));
        for (const l of base.routing) {
          fc.pre(l.kind === 'maxpool' ? l.ties.every((t) => t.length === 1) : l.sign.every((s) => s !== 0));
        }
        for (const m of MEMBERS) {
          const r = runChain(problem, opts(format, mode, m, 0.5));
          expect(r.routing).toEqual(base.routing);
          expect(flatGrads(r.grads)).toEqual(flatGrads(base.grads));
        }
      }),
      { numRuns: runs(200) },
    );
  });

  it('special values in one window: −0 and +0 tie (the output is the first), ±∞ compare as numbers, a NaN wins alone (the first NaN)', () => {
    const special = fc.constantFrom(-Infinity, -1, -0, 0, 1, Infinity, NaN);
    const oneWindow = fc
      .tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }))
      .chain(([h, w]) => fc.array(special, { minLength: h * w, maxLength: h * w }).map((data) => ({ h, w, data })));
    fc.assert(
      fc.property(oneWindow, formatArb, ({ h, w, data }, format) => {
        const problem: Problem = {
          input: { shape: [1, 1, h, w], data },
          layers: [{ kind: 'maxpool', kernel: [h, w], stride: [1, 1], padding: [0, 0] }],
          params: [null],
          cotangent: [1],
        };
        const r = runChain(problem, opts(format, 'strict', FIRST));
        const x = r.activations[0]; // the input rounded to the format (E4M3 has no ∞: they become NaN)
        const firstNaN = x.findIndex((v) => Number.isNaN(v));
        const max = Math.max(...x.filter((v) => !Number.isNaN(v)));
        const ties = firstNaN >= 0 ? [firstNaN] : x.flatMap((v, i) => (v === max ? [i] : []));
        expect(r.routing).toEqual([{ kind: 'maxpool', layer: 0, ties: [ties] }]);
        expect(Object.is(r.output[0], x[ties[0]]), `output ${r.output[0]}, expected ${x[ties[0]]}`).toBe(true);
      }),
      { numRuns: runs(1000) },
    );
  });

  it('at a tie in one window: first → lowest index, last → highest, every member sends round_p(round_p(weight)·g) to each tied entry, in every format', () => {
    const oneWindow = fc
      .tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }))
      .chain(([h, w]) => fc.array(fc.integer({ min: -2, max: 2 }), { minLength: h * w, maxLength: h * w }).map((data) => ({ h, w, data })));
    fc.assert(
      fc.property(oneWindow, fc.constantFrom(1, 3, -0.1, 1.7), memberArb, formatArb, modeArb, ({ h, w, data }, g, member, format, mode) => {
        const problem: Problem = {
          input: { shape: [1, 1, h, w], data },
          layers: [{ kind: 'maxpool', kernel: [h, w], stride: [1, 1], padding: [0, 0] }],
          params: [null],
          cotangent: [g],
        };
        const r = runChain(problem, opts(format, mode, member));
        const max = Math.max(...data);
        const ties = data.flatMap((v, i) => (v === max ? [i] : []));
        expect(r.routing).toEqual([{ kind: 'maxpool', layer: 0, ties: [ties] }]);
        expect(r.output).toEqual([max]);
        // One product per entry, exact in the accumulator of either mode, so one rounding to p.
        const gP = round(format, g);
        const weights = tieWeights(member, ties.length).map((q) => round(format, q.num / q.den));
        const expected = data.map(() => 0);
        ties.forEach((i, t) => {
          expected[i] = weights[t] === 0 ? 0 : round(format, weights[t] * gP);
        });
        expect(r.grads.input.map((v) => (v === 0 ? 0 : v))).toEqual(expected);
        if (member.kind === 'first') expect(r.grads.input.findIndex((v) => v !== 0)).toBe(ties[0]);
        if (member.kind === 'last') expect(r.grads.input.findIndex((v) => v !== 0)).toBe(ties[ties.length - 1]);
        if (member.kind === 'minnorm')
          expect(r.grads.input.filter((v) => v !== 0)).toEqual(ties.map(() => round(format, round(format, 1 / ties.length) * gP)));
      }),
      { numRuns: runs(1000) },
    );
  });

  it('beta weights sum to 1: with dyadic values (tie sizes 1, 2, 4) the lone-maxpool input gradient sums to the cotangent sum, at 64 bits', () => {
    fc.assert(
      fc.property(
        poolProblemArb(fc.integer({ min: -1, max: 1 }), smallInt),
        fc.constantFrom(MINNORM, beta(0), beta(1), beta(10), beta(100), beta(1000)),
        modeArb,
        (problem, member, mode) => {
          const r = runChain(problem, opts(F64, mode, member));
          const tieSizes = r.routing.flatMap((l) => (l.kind === 'maxpool' ? l.ties.map((t) => t.length) : []));
          fc.pre(tieSizes.some((k) => k > 1) && tieSizes.every((k) => k === 1 || k === 2 || k === 4));
          const sum = (a: readonly number[]) => a.reduce((s, v) => s + v, 0);
          expect(sum(r.grads.input)).toBe(sum(problem.cotangent));
        },
      ),
      { numRuns: runs(300) },
    );
  });
});

describe('precision', () => {
  const sum3 = (x: number[], format: Format, mode: Accumulate) =>
    runChain(
      {
        input: { shape: [1, 3, 1, 1], data: x },
        layers: [{ kind: 'conv2d', outChannels: 1, kernel: [1, 1], stride: [1, 1], padding: [0, 0], bias: false }],
        params: [{ weight: [1, 1, 1] }],
        cotangent: [1],
      },
      opts(format, mode, FIRST),
    ).output[0];

  it('strict and wide differ on a constructed case: 2048 + 1 + 1 is 2048 strict, 2050 wide in fp16 (256 + 1 + 1 likewise in bf16)', () => {
    expect(sum3([2048, 1, 1], F16, 'strict')).toBe(2048);
    expect(sum3([2048, 1, 1], F16, 'wide')).toBe(2050);
    expect(sum3([256, 1, 1], BF16, 'strict')).toBe(256);
    expect(sum3([256, 1, 1], BF16, 'wide')).toBe(258);
    // Wide accumulation also survives an intermediate overflow of fp16: 60000 + 60000 − 60000.
    expect(sum3([60000, 60000, -60000], F16, 'strict')).toBe(Infinity);
    expect(sum3([60000, 60000, -60000], F16, 'wide')).toBe(60000);
  });

  it('strict and wide are the same at 64 bits', () => {
    const value = fc.double({ min: -8, max: 8, noNaN: true });
    fc.assert(
      fc.property(problemArb(value), memberArb, (problem, member) => {
        const a = runChain(problem, opts(F64, 'strict', member, 0.5));
        const b = runChain(problem, opts(F64, 'wide', member, 0.5));
        expect(allNumbers(b)).toEqual(allNumbers(a));
      }),
      { numRuns: runs(100) },
    );
  });

  it('every value the engine outputs at p is representable in p (any format, mode, member, betaMode, α)', () => {
    const value = fc.oneof(fc.double({ min: -1000, max: 1000, noNaN: true }), fc.double({ min: -1e-3, max: 1e-3, noNaN: true }), smallInt);
    fc.assert(
      fc.property(
        problemArb(value),
        formatArb,
        modeArb,
        memberArb,
        fc.constantFrom<BetaMode>('backward', 'mixed-forward'),
        fc.constantFrom(0, 0.3, 0.5, 1),
        (problem, format, mode, member, betaMode, alpha) => {
          const r = runChain(problem, opts(format, mode, member, alpha, betaMode));
          for (const v of allNumbers(r)) if (!isRepresentable(format, v)) throw new Error(`${v} is not a value of ${format.label}`);
        },
      ),
      { numRuns: runs(1000) },
    );
  });

  it('wide rounds every op output to p: overlapping windows sharing an argmax sum in fp32, then round to fp16', () => {
    const problem: Problem = {
      input: { shape: [1, 1, 1, 3], data: [0, 5, 0] },
      layers: [{ kind: 'maxpool', kernel: [1, 2], stride: [1, 1], padding: [0, 0] }],
      params: [null],
      cotangent: [1000, 0.001],
    };
    const g = round(F16, 0.001);
    expect(runChain(problem, opts(F16, 'wide', FIRST)).grads.input).toEqual([0, round(F16, Math.fround(1000 + g)), 0]);
    expect(runChain(problem, opts(F16, 'strict', FIRST)).grads.input).toEqual([0, 1000, 0]);
  });

  it('16-bit overflow gives ±Inf, not a crash, and the gradient is still returned', () => {
    for (const mode of ['strict', 'wide'] as const) {
      const r = runChain(
        {
          input: { shape: [1, 1, 2, 2], data: [60000, 1, -60000, 2] },
          layers: [
            { kind: 'conv2d', outChannels: 1, kernel: [1, 1], stride: [1, 1], padding: [0, 0], bias: false },
            { kind: 'maxpool', kernel: [2, 2], stride: [1, 1], padding: [0, 0] },
          ],
          params: [{ weight: [2] }, null],
          cotangent: [1],
        },
        opts(F16, mode, FIRST),
      );
      expect(r.activations[1]).toEqual([Infinity, 2, -Infinity, 4]);
      expect(r.output).toEqual([Infinity]);
      expect(r.routing).toEqual([{ kind: 'maxpool', layer: 1, ties: [[0]] }]);
      expect(r.grads.input).toEqual([2, 0, 0, 0]);
      expect(r.grads.params[0]!.weight).toEqual([60000]); // Σ g·x = 1·60000 + 0·1 + 0·(−60000) + 0·2
    }
  });

  it('16-bit underflow goes through subnormals (IEEE half), never flushed to zero', () => {
    const prod = (x: number, w: number) =>
      runChain(
        {
          input: { shape: [1, 1, 1, 1], data: [x] },
          layers: [{ kind: 'conv2d', outChannels: 1, kernel: [1, 1], stride: [1, 1], padding: [0, 0], bias: false }],
          params: [{ weight: [w] }],
          cotangent: [1],
        },
        opts(F16, 'strict', FIRST),
      ).output[0];
    expect(prod(2 ** -12, 2 ** -12)).toBe(2 ** -24); // smallest subnormal
    expect(prod(2 ** -12, 3 * 2 ** -14)).toBe(2 ** -24); // 0.75·2^-24 rounds up
    expect(prod(2 ** -12, 2 ** -13)).toBe(0); // exactly half the smallest subnormal: ties to even, 0
    expect(prod(2 ** -10, 5 * 2 ** -10)).toBe(5 * 2 ** -20); // subnormal, exact
  });
});

describe('NaN', () => {
  it('a NaN in a window makes the output NaN, routes to the first NaN, and the input gradient stays finite', () => {
    const value = fc.oneof({ weight: 4, arbitrary: smallInt }, { weight: 1, arbitrary: fc.constant(NaN) });
    fc.assert(
      fc.property(poolProblemArb(value, smallInt), memberArb, formatArb, modeArb, (problem, member, format, mode) => {
        const r = runChain(problem, opts(format, mode, member));
        const x = r.activations[0];
        const routing = r.routing[0];
        if (routing.kind !== 'maxpool') throw new Error('expected maxpool routing');
        const ties = routing.ties;
        ties.forEach((t, o) => {
          if (t.some((i) => Number.isNaN(x[i]))) {
            expect(t.length).toBe(1);
            expect(r.output[o]).toBeNaN();
          } else {
            expect(r.output[o]).not.toBeNaN();
          }
        });
        // The window of each output, to check that NaN wins and that it is the first NaN.
        const [, , H, W] = problem.input.shape;
        const l = problem.layers[0] as MaxPoolSpec;
        const [, , OH, OW] = activationShapes(problem)[1];
        ties.forEach((t, o) => {
          const plane = Math.floor(o / (OH * OW));
          const oh = Math.floor((o % (OH * OW)) / OW);
          const ow = o % OW;
          const window: number[] = [];
          for (let a = 0; a < l.kernel[0]; a++)
            for (let b = 0; b < l.kernel[1]; b++) {
              const ih = oh * l.stride[0] - l.padding[0] + a;
              const iw = ow * l.stride[1] - l.padding[1] + b;
              if (ih >= 0 && ih < H && iw >= 0 && iw < W) window.push(plane * H * W + ih * W + iw);
            }
          const firstNaN = window.find((i) => Number.isNaN(x[i]));
          if (firstNaN !== undefined) expect(t).toEqual([firstNaN]);
        });
        // Weights ≤ 1 and |g| ≤ 3: no overflow, so the gradient is finite even where the input is NaN.
        if (member.kind !== 'beta') expect(r.grads.input.every(Number.isFinite)).toBe(true);
      }),
      { numRuns: runs(300) },
    );
  });

  it('a NaN input through conv → relu → maxpool gives a NaN output and a defined gradient', () => {
    for (const format of [F16, F64]) {
      const r = runChain(
        {
          input: { shape: [1, 1, 3, 3], data: [1, 2, 3, 4, NaN, 6, 7, 8, 9] },
          layers: [
            { kind: 'conv2d', outChannels: 1, kernel: [2, 2], stride: [1, 1], padding: [0, 0], bias: true },
            { kind: 'relu' },
            { kind: 'maxpool', kernel: [2, 2], stride: [1, 1], padding: [0, 0] },
          ],
          params: [{ weight: [1, -1, 0.5, 0.25], bias: [0.5] }, null, null],
          cotangent: [1],
        },
        opts(format, 'strict', MINNORM),
      );
      expect(r.output[0]).toBeNaN();
      expect(r.routing).toEqual([
        { kind: 'relu', layer: 1, sign: [-1, -1, -1, -1] }, // NaN routes like x < 0
        { kind: 'maxpool', layer: 2, ties: [[0]] },
      ]);
      expect(r.grads.input).toHaveLength(9);
      expect(r.grads.params[0]!.weight).toHaveLength(4);
      expect(r.grads.params[0]!.bias).toHaveLength(1);
    }
  });
});

describe("betaMode 'mixed-forward' (the paper's code)", () => {
  const pool2 = (a: number, b: number): Problem => ({
    input: { shape: [1, 1, 1, 2], data: [a, b] },
    layers: [{ kind: 'maxpool', kernel: [1, 2], stride: [1, 2], padding: [0, 0] }],
    params: [null],
    cotangent: [1],
  });

  it('at β = 10000 in 16 bits the mixed forward cancels (0 instead of the max); the default keeps exactly the max', () => {
    const m = round(F16, 0.1);
    const mixed = runChain(pool2(0.1, 0.1), opts(F16, 'strict', beta(10000), 0, 'mixed-forward'));
    const plain = runChain(pool2(0.1, 0.1), opts(F16, 'strict', beta(10000), 0, 'backward'));
    expect(plain.output).toEqual([m]);
    expect(mixed.output).toEqual([0]);
    // Backward: fl(β·g) through minnorm (5000 to each), fl((1−β)·g) = −10000 to the first.
    expect(mixed.grads.input).toEqual([-5000, 5000]);
    // The default backward: weights round16((2 − 10000)/2) = −5000 and round16(10000/2) = 5000.
    expect(plain.grads.input).toEqual([-5000, 5000]);
    // Without a tie, mixed-forward still cancels in the forward and in the backward at fp16.
    const lone = runChain(pool2(1.5, 0), opts(F16, 'strict', beta(10000), 0, 'mixed-forward'));
    expect(lone.output).toEqual([0]);
    expect(lone.grads.input).toEqual([0, 0]);
  });

  it("'backward' mode: the output is exactly the window max for every member and format; mixed-forward equals it when exact (64 bits, small β, small integers)", () => {
    fc.assert(
      fc.property(poolProblemArb(smallInt), memberArb, formatArb, modeArb, (problem, member, format, mode) => {
        const r = runChain(problem, opts(format, mode, member));
        const ref = reference({ ...problem, input: { ...problem.input, data: r.activations[0] } }, 'first', 0);
        expect(r.output).toEqual(ref.output);
        const mixed = runChain(
          problem,
          opts(F64, mode, member.kind === 'beta' && member.beta <= 1000 ? member : beta(10), 0, 'mixed-forward'),
        );
        expect(mixed.output.map((v) => (v === 0 ? 0 : v))).toEqual(reference(problem, 'first', 0).output.map((v) => (v === 0 ? 0 : v)));
      }),
      { numRuns: runs(200) },
    );
  });
});

describe('linear, reshape and the tape', () => {
  it('linear y = x·Wᵀ + b and its gradients equal the formulas (64 bits, small integers, exact)', () => {
    const dims = fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }));
    const vec = (n: number) => fc.array(smallInt, { minLength: n, maxLength: n });
    const arb = dims.chain(([N, I, O]) =>
      fc.record({ N: fc.constant(N), I: fc.constant(I), O: fc.constant(O), x: vec(N * I), w: vec(O * I), b: vec(O), g: vec(N * O) }),
    );
    fc.assert(
      fc.property(arb, modeArb, ({ N, I, O, x, w, b, g }, mode) => {
        const tape = new Tape(opts(F64, mode, FIRST));
        const xt = tape.tensor(x, [N, I], true);
        const wt = tape.tensor(w, [O, I], true);
        const bt = tape.tensor(b, [O], true);
        const y = linear(xt, wt, bt);
        tape.backward(y, g);
        const range = (n: number) => Array.from({ length: n }, (_, i) => i);
        const sum = (a: number[]) => a.reduce((s, v) => s + v, 0);
        const z = (a: readonly number[]) => a.map((v) => (v === 0 ? 0 : v));
        expect(z(y.values())).toEqual(
          z(range(N * O).map((k) => sum(range(I).map((i) => x[Math.floor(k / O) * I + i] * w[(k % O) * I + i])) + b[k % O])),
        );
        expect(z(xt.gradValues())).toEqual(
          z(range(N * I).map((k) => sum(range(O).map((o) => g[Math.floor(k / I) * O + o] * w[o * I + (k % I)])))),
        );
        expect(z(wt.gradValues())).toEqual(
          z(range(O * I).map((k) => sum(range(N).map((n) => g[n * O + Math.floor(k / I)] * x[n * I + (k % I)])))),
        );
        expect(z(bt.gradValues())).toEqual(z(range(O).map((o) => sum(range(N).map((n) => g[n * O + o])))));
      }),
      { numRuns: runs(200) },
    );
  });

  it('a tensor used by two ops gets the sum of both gradient contributions: d/da ⟨a, a⟩ = 2a (through two reshapes and a linear)', () => {
    fc.assert(
      fc.property(fc.array(smallInt, { minLength: 1, maxLength: 8 }), formatArb, (a, format) => {
        const tape = new Tape(opts(format, 'strict', FIRST));
        const at = tape.tensor(a, [a.length], true);
        const y = linear(reshape(at, [1, a.length]), reshape(at, [1, a.length]), null);
        tape.backward(y, [1]);
        expect(at.gradValues()).toEqual(a.map((v) => round(format, 2 * v)));
      }),
      { numRuns: runs(100) },
    );
  });
});

describe('engine at 64 bits against the exact oracle (src/oracle, decimal.js)', () => {
  // Small dyadic values (multiples of 1/8, |x| ≤ 4): every float op of these chains is exact in binary64.
  const dyadic = fc.integer({ min: -32, max: 32 }).map((i) => i / 8);

  it('routing and activations equal the exact ones; at differentiable points every member equals AD_R; at ties first/last equal AD_R', () => {
    fc.assert(
      fc.property(problemArb(dyadic), memberArb, fc.constantFrom(0, 0.5, 1), modeArb, (problem, member, alpha, mode) => {
        const exact = decimalOracle.forward(problem);
        const base = runChain(problem, opts(F64, mode, FIRST, alpha));
        expect(base.routing).toEqual(exact.routing);
        expect(base.activations.map((a) => a.map((v) => (v === 0 ? 0 : v)))).toEqual(
          exact.activations.map((a) => a.map((v) => v.toNumber())),
        );
        const differentiable = exact.routing.every((l) =>
          l.kind === 'maxpool' ? l.ties.every((t) => t.length === 1) : l.sign.every((s) => s !== 0),
        );
        const members = differentiable ? [member] : [FIRST, LAST];
        for (const m of members) {
          const jac = choice(m, alpha);
          const r = runChain(problem, { format: F64, accumulate: mode, jacobian: jac });
          const ad = decimalOracle.backward(problem, exact.routing, jac).grads;
          expect(flatGrads(r.grads)).toEqual(
            flatGrads({
              output: [],
              input: ad.input.map((v) => v.toNumber()),
              params: ad.params.map((p) => p && { weight: p.weight.map((v) => v.toNumber()), bias: p.bias?.map((v) => v.toNumber()) }),
            }),
          );
        }
      }),
      { numRuns: runs(200) },
    );
  });
});
