/**
 * Whole-network zones (src/zones/network): the filtered exact routing against a brute-force exact
 * forward, the rigour of the float bounds, the soundness of structural equality, the
 * classification statements of docs/DESIGN.md §3, the paper's estimator, and the network-zones stage
 * called as a library function (networkZones: a config object in, zones.json's content out).
 *
 * Networks and batches are drawn from a seed (mulberry32) so that shapes stay consistent: random
 * conv / relu / maxpool / avgpool / linear chains and a tiny residual net, with weights and inputs
 * drawn to produce constant backgrounds, exact ties (small dyadics, equal weights, repeated
 * values), near ties (one ulp apart) and negative regions.
 */

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { kernelStatus } from '../src/engine/kernels/index.ts';
import { type ModelSpec, type NetLayer, paramsOf } from '../src/models/spec.ts';
import { runs } from '../src/nightly/runs.ts';
import { dyAbs, dyCmp, dyOf, dyScale, dySub, ratText } from '../src/oracle/network/dyadic.ts';
import { F16, round } from '../src/precision/index.ts';
import { validate } from '../src/schema/index.ts';
import { ConfigError } from '../src/util/errors.ts';
import { up32 } from '../src/zones/network/bounds.ts';
import { qCmp } from '../src/zones/network/bruteforce.ts';
import {
  bruteForceRouting,
  classifyNetwork,
  compareEstimator,
  ESTIMATOR_THRESHOLDS,
  estimateZone,
  estimatorDistance,
  exactRouting,
  type NetRouting,
  NetworkSpecError,
  type NetworkZonesConfig,
  networkZones,
  resolveNetworkZonesConfig,
  routingFromDecisions,
  simulateForward,
  type ZonesReport,
} from '../src/zones/network/index.ts';
import { Interner } from '../src/zones/network/interner.ts';

type Spec = Pick<ModelSpec, 'layers'>;
interface Case {
  readonly spec: Spec;
  readonly params: Map<string, Float64Array>;
  readonly x: Float64Array;
  readonly shape: [number, number, number, number];
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The next double away from zero's direction of x's sign (x ± one ulp). */
function ulpStep(x: number, dir: 1 | -1): number {
  const f = new Float64Array([x]);
  const b = new BigInt64Array(f.buffer);
  if (x === 0) return dir * Number.MIN_VALUE;
  b[0] += x > 0 === dir > 0 ? 1n : -1n;
  return f[0];
}

const DYADICS = [-1, -0.5, -0.25, 0, 0.25, 0.5, 1];
const BACKGROUNDS = [0, (0 - 0.1307) / 0.3081, 1, 0.1, -0.75];

function values(r: () => number, n: number, style: number): Float64Array {
  const pick = <T>(a: readonly T[]) => a[Math.floor(r() * a.length)];
  const out = new Float64Array(n);
  const v = r() * 2 - 1;
  for (let i = 0; i < n; i++) {
    switch (style) {
      case 0:
        out[i] = pick(DYADICS);
        break;
      case 1:
        out[i] = r() * 2 - 1;
        break;
      case 2:
        out[i] = v; // equal weights: permuted patches tie exactly
        break;
      case 3:
        out[i] = i % 2 ? -out[i - 1] : r() * 2 - 1; // cancelling pairs: exact zeros
        break;
      default:
        out[i] = r() < 0.5 ? pick(DYADICS) : (r() * 2 - 1) * 2 ** (Math.floor(r() * 20) - 10);
    }
  }
  return out;
}

function input(r: () => number, n: number): Float64Array {
  const bg = BACKGROUNDS[Math.floor(r() * BACKGROUNDS.length)];
  const density = [0, 0.15, 0.5, 0.9][Math.floor(r() * 4)];
  const x = new Float64Array(n).fill(bg);
  for (let i = 0; i < n; i++) {
    if (r() >= density) continue;
    const k = Math.floor(r() * 6);
    x[i] =
      k === 0
        ? ulpStep(bg, r() < 0.5 ? 1 : -1) // near-identical patches
        : k === 1
          ? DYADICS[Math.floor(r() * DYADICS.length)]
          : k === 2
            ? r() * 4 - 2
            : k === 3
              ? -r() // negative region
              : k === 4 && i > 0
                ? x[i - 1] // repeated values
                : Math.round(r() * 8) / 4;
  }
  return x;
}

function paramsFor(spec: Spec, r: () => number): Map<string, Float64Array> {
  const style = Math.floor(r() * 5);
  return new Map(
    paramsOf(spec).map((p) => [
      p.name,
      values(
        r,
        p.shape.reduce((a, b) => a * b, 1),
        p.kind === 'bias' && r() < 0.5 ? 0 : style,
      ),
    ]),
  );
}

/** A random chain of conv / relu / maxpool / avgpool, optionally followed by linear layers. */
function randomChain(seed: number): Case {
  const r = mulberry32(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const N = int(1, 2);
  let c = int(1, 2);
  let h = int(4, 8);
  let w = int(4, 8);
  const shape: [number, number, number, number] = [N, c, h, w];
  const layers: NetLayer[] = [];
  let convs = 0;
  const out = (s: number, k: number, st: number, p: number) => Math.floor((s + 2 * p - k) / st) + 1;
  const tryConv = () => {
    const k = int(1, 3);
    const st = int(1, 2);
    const p = int(0, 1);
    if (out(h, k, st, p) < 1 || out(w, k, st, p) < 1) return;
    const oc = int(1, 3);
    layers.push({
      kind: 'conv2d',
      name: `conv${convs++}`,
      inChannels: c,
      outChannels: oc,
      kernel: [k, k],
      stride: [st, st],
      padding: [p, p],
      bias: r() < 0.7,
      init: 'torch-default',
    });
    [c, h, w] = [oc, out(h, k, st, p), out(w, k, st, p)];
  };
  const tryPool = (kind: 'maxpool' | 'avgpool') => {
    const kh = int(1, 3);
    const kw = int(2, 3);
    const st = int(1, 2);
    const ph = kind === 'maxpool' ? int(0, Math.floor(kh / 2)) : 0;
    const pw = kind === 'maxpool' ? int(0, Math.floor(kw / 2)) : 0;
    if (out(h, kh, st, ph) < 1 || out(w, kw, st, pw) < 1) return;
    if (kind === 'maxpool') layers.push({ kind, kernel: [kh, kw], stride: [st, st], padding: [ph, pw] });
    else layers.push({ kind, kernel: [kh, kw], stride: [st, st] });
    [h, w] = [out(h, kh, st, ph), out(w, kw, st, pw)];
  };
  const blocks = int(1, 3);
  for (let b = 0; b < blocks; b++) {
    const u = r();
    if (u < 0.55) {
      tryConv();
      layers.push({ kind: 'relu' });
      tryPool('maxpool');
    } else if (u < 0.7) tryPool('maxpool');
    else if (u < 0.8) tryPool('avgpool');
    else if (u < 0.9) layers.push({ kind: 'relu' });
    else tryConv();
  }
  if (r() < 0.5) {
    const f = c * h * w;
    const hid = int(1, 3);
    layers.push(
      { kind: 'flatten' },
      { kind: 'linear', name: 'fc1', inFeatures: f, outFeatures: hid, bias: r() < 0.7, init: 'torch-default' },
      { kind: 'relu' },
    );
    layers.push({ kind: 'linear', name: 'fc2', inFeatures: hid, outFeatures: 2, bias: true, init: 'torch-default' });
  }
  const spec = { layers };
  return { spec, params: paramsFor(spec, r), x: input(r, N * shape[1] * shape[2] * shape[3]), shape };
}

/** A tiny residual net: conv → relu → residual(body: conv, relu, conv; shortcut: id or 1×1 conv) → relu → maxpool → gap → linear. */
function randomResidual(seed: number): Case {
  const r = mulberry32(seed);
  const C = 1 + Math.floor(r() * 2);
  const H = 4 + Math.floor(r() * 3);
  const conv = (name: string, i: number, o: number, k: number, p: number): NetLayer => ({
    kind: 'conv2d',
    name,
    inChannels: i,
    outChannels: o,
    kernel: [k, k],
    stride: [1, 1],
    padding: [p, p],
    bias: r() < 0.5,
    init: 'torch-default',
  });
  const projected = r() < 0.5;
  const spec: Spec = {
    layers: [
      conv('stem', 1, C, 3, 1),
      { kind: 'relu' },
      {
        kind: 'residual',
        body: [conv('b1', C, 2, 3, 1), { kind: 'relu' }, conv('b2', 2, 2, 3, 1)],
        shortcut: projected ? [conv('sc', C, 2, 1, 0)] : C === 2 ? [] : [conv('sc', C, 2, 1, 0)],
      },
      { kind: 'relu' },
      { kind: 'maxpool', kernel: [2, 2], stride: [2, 2], padding: [0, 0] },
      { kind: 'globalavgpool' },
      { kind: 'flatten' },
      { kind: 'linear', name: 'fc', inFeatures: 2, outFeatures: 2, bias: true, init: 'torch-default' },
    ],
  };
  const shape: [number, number, number, number] = [1 + Math.floor(r() * 2), 1, H, H + 1];
  return { spec, params: paramsFor(spec, r), x: input(r, shape[0] * H * (H + 1)), shape };
}

const caseArb = fc.oneof(
  { weight: 4, arbitrary: fc.integer().map(randomChain) },
  { weight: 1, arbitrary: fc.integer().map(randomResidual) },
);

function plainRouting(r: NetRouting): Record<string, unknown> {
  return Object.fromEntries([...r].map(([k, v]) => [k, v.kind === 'maxpool' ? v.ties.map((t) => [...t]) : Array.from(v.sign)]));
}

const coverage = { float: 0, structural: 0, exact: 0 };

describe('exact routing of whole networks', () => {
  it('the filtered exact routing equals a brute-force exact forward on every window and ReLU', () => {
    fc.assert(
      fc.property(caseArb, ({ spec, params, x, shape }) => {
        const filtered = exactRouting(spec, params, x, shape);
        const brute = bruteForceRouting(spec, params, x, shape);
        expect(plainRouting(filtered.routing)).toEqual(plainRouting(brute.routing));
        coverage.float += filtered.totals.float;
        coverage.structural += filtered.totals.structural;
        coverage.exact += filtered.totals.exact;
        expect(filtered.totals.units).toBe(filtered.totals.float + filtered.totals.structural + filtered.totals.exact);
      }),
      { numRuns: runs(400) },
    );
    // Every filter stage was exercised.
    expect(coverage.float).toBeGreaterThan(0);
    expect(coverage.structural).toBeGreaterThan(0);
    expect(coverage.exact).toBeGreaterThan(0);
  });

  it('the float bound is rigorous: |â − a| ≤ e for every activation', () => {
    fc.assert(
      fc.property(caseArb, ({ spec, params, x, shape }) => {
        const filtered = exactRouting(spec, params, x, shape);
        const brute = bruteForceRouting(spec, params, x, shape);
        for (const [path, act] of brute.activations) {
          const rec = filtered.activations.get(path)!;
          act.values.forEach((q, i) => {
            const diff = dyAbs(dySub(dyScale(dyOf(rec.val[i]), q.d), q.n));
            const ok = dyCmp(diff, dyScale(dyOf(rec.err[i]), q.d)) <= 0;
            if (!ok) throw new Error(`${path}[${i}]: â = ${rec.val[i]}, e = ${rec.err[i]}, exact ${ratText(q.n, q.d)}`);
          });
        }
      }),
      { numRuns: runs(250) },
    );
  });

  it('structural equality never claims equality of exactly different values', () => {
    fc.assert(
      fc.property(caseArb, ({ spec, params, x, shape }) => {
        const filtered = exactRouting(spec, params, x, shape);
        const brute = bruteForceRouting(spec, params, x, shape);
        for (const [path, act] of brute.activations) {
          const sid = filtered.activations.get(path)!.sid;
          const first = new Map<number, number>();
          act.values.forEach((q, i) => {
            const j = first.get(sid[i]);
            if (j === undefined) first.set(sid[i], i);
            else if (qCmp(q, act.values[j]) !== 0) throw new Error(`${path}: entries ${j} and ${i} share sid ${sid[i]} but differ exactly`);
          });
        }
      }),
      { numRuns: runs(150) },
    );
  });

  it('patches one ulp apart get different structural ids, and the exact routing tells them apart', () => {
    const a = 0.3;
    const spec: Spec = {
      layers: [
        {
          kind: 'conv2d',
          name: 'c',
          inChannels: 1,
          outChannels: 1,
          kernel: [2, 2],
          stride: [2, 2],
          padding: [0, 0],
          bias: false,
          init: 'torch-default',
        },
        { kind: 'relu' },
        { kind: 'maxpool', kernel: [1, 2], stride: [1, 2], padding: [0, 0] },
      ],
    };
    const params = new Map([['c.weight', Float64Array.from([0.5, 0.25, 0.125, 0.1])]]);
    const x = Float64Array.from([a, a, a, a, a, a, a, ulpStep(a, 1)]);
    const r = exactRouting(spec, params, x, [1, 1, 2, 4]);
    expect(r.inputSid('layers.2', 0)).not.toBe(r.inputSid('layers.2', 1));
    expect(plainRouting(r.routing)['layers.2']).toEqual([[1]]);
    expect(plainRouting(r.routing)).toEqual(plainRouting(bruteForceRouting(spec, params, x, [1, 1, 2, 4]).routing));
  });

  it('interning is exact even when every hash collides', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.integer({ min: -1, max: 5 }), { minLength: 1, maxLength: 4 }), { maxLength: 60 }), (keys) => {
        const it = new Interner(8, 2);
        const ids = keys.map((k) => it.intern(k));
        keys.forEach((k, i) => {
          keys.forEach((l, j) => {
            expect(ids[i] === ids[j]).toBe(k.join() === l.join());
          });
        });
      }),
      { numRuns: runs(100) },
    );
  });

  it('float overflow leaves the decision to the exact stage, which still agrees with the brute force', () => {
    const spec: Spec = {
      layers: [
        {
          kind: 'conv2d',
          name: 'c',
          inChannels: 1,
          outChannels: 2,
          kernel: [1, 2],
          stride: [1, 1],
          padding: [0, 0],
          bias: true,
          init: 'torch-default',
        },
        { kind: 'relu' },
        { kind: 'maxpool', kernel: [1, 2], stride: [1, 1], padding: [0, 0] },
      ],
    };
    const params = new Map([
      ['c.weight', Float64Array.of(1e300, 1e300, -1e300, 1e300)],
      ['c.bias', Float64Array.of(0, 0)],
    ]);
    const x = Float64Array.of(1e10, 1e10, 1e10, -1e10);
    const r = exactRouting(spec, params, x, [1, 1, 1, 4]);
    expect(plainRouting(r.routing)).toEqual(plainRouting(bruteForceRouting(spec, params, x, [1, 1, 1, 4]).routing));
    expect(r.totals.exact).toBeGreaterThan(0);
  });

  it('a decision list in forward order (tie sets as offsets/indices) aligns with the node paths', () => {
    const { spec, params, x, shape } = randomResidual(7);
    const exact = exactRouting(spec, params, x, shape);
    const sim = simulateForward(spec, params, x, shape, '16');
    const decisions = [...sim.routing.values()].map((d) => {
      if (d.kind === 'relu') return d;
      const offsets = [0];
      for (const t of d.ties) offsets.push(offsets[offsets.length - 1] + t.length);
      return { kind: 'maxpool' as const, ties: { offsets: Int32Array.from(offsets), indices: Int32Array.from(d.ties.flat()) } };
    });
    expect(plainRouting(routingFromDecisions(exact.nodes, decisions))).toEqual(plainRouting(sim.routing));
    expect(() => routingFromDecisions(exact.nodes, decisions.slice(1))).toThrow();
  });

  it('batch norm is refused with a pointer to the estimator', () => {
    const spec: Spec = { layers: [{ kind: 'batchnorm2d', name: 'bn', channels: 1, eps: 1e-5, momentum: 0.1 }] };
    const params = new Map([
      ['bn.weight', Float64Array.of(1)],
      ['bn.bias', Float64Array.of(0)],
    ]);
    expect(() => exactRouting(spec, params, Float64Array.of(1, 2), [1, 1, 1, 2])).toThrow(NetworkSpecError);
    expect(() => exactRouting(spec, params, Float64Array.of(1, 2), [1, 1, 1, 2])).toThrow(/batch norm.*estimator/);
  });
});

/** How often checkAgainstBruteForce met an infinite bound, and a value below the binary32 normal range. */
const extremes = { infinite: 0, tiny: 0 };

/** Check the filtered routing against the brute force, and |â − a| ≤ e on every activation (e = +∞ holds trivially). */
function checkAgainstBruteForce({ spec, params, x, shape }: Case): void {
  const filtered = exactRouting(spec, params, x, shape);
  const brute = bruteForceRouting(spec, params, x, shape);
  expect(plainRouting(filtered.routing)).toEqual(plainRouting(brute.routing));
  expect(filtered.totals.units).toBe(filtered.totals.float + filtered.totals.structural + filtered.totals.exact);
  for (const [path, act] of brute.activations) {
    const rec = filtered.activations.get(path)!;
    act.values.forEach((q, i) => {
      if (rec.val[i] !== 0 && Math.abs(rec.val[i]) < 2 ** -126) extremes.tiny++;
      if (rec.err[i] === Infinity) {
        extremes.infinite++;
        return;
      }
      const diff = dyAbs(dySub(dyScale(dyOf(rec.val[i]), q.d), q.n));
      if (dyCmp(diff, dyScale(dyOf(rec.err[i]), q.d)) > 0)
        throw new Error(`${path}[${i}]: â = ${rec.val[i]}, e = ${rec.err[i]}, exact ${ratText(q.n, q.d)}`);
    });
  }
}

/** A case with its input scaled by 2^a and its parameters by 2^b (exact), a ∈ [−200, 200], b ∈ [−60, 60]. */
const scaledCaseArb = fc.tuple(caseArb, fc.integer({ min: -200, max: 200 }), fc.integer({ min: -60, max: 60 })).map(
  ([c, a, b]): Case => ({
    ...c,
    x: c.x.map((v) => v * 2 ** a),
    params: new Map([...c.params].map(([k, v]) => [k, v.map((w) => w * 2 ** b)])),
  }),
);

describe('the bounds on the kernels (values in binary64, bound sums in binary32) and on the JS loops', () => {
  it('up32(x) is a binary32 value ≥ x, at most two binary32 ulps above it', () => {
    const bits = new Float64Array(1);
    const raw = new BigUint64Array(bits.buffer);
    const anyDouble = fc.bigInt({ min: 0n, max: 0x7fefffffffffffffn }).map((b) => {
      raw[0] = b;
      return bits[0];
    });
    fc.assert(
      fc.property(
        fc.oneof(anyDouble, fc.double({ min: 0, max: 4e38, noNaN: true }), fc.double({ min: 0, max: 2 ** -120, noNaN: true })),
        (x) => {
          const y = up32(x);
          expect(y >= x).toBe(true);
          expect(Math.fround(y)).toBe(y);
          if (x < 3e38) expect(y - x).toBeLessThanOrEqual(Math.max(2 ** -148, x * 2 ** -21));
        },
      ),
      { numRuns: runs(2000) },
    );
    expect(up32(0)).toBe(0);
    expect(up32(1)).toBe(1);
    expect(up32(Math.fround(0.1))).toBe(Math.fround(0.1));
    expect(up32(Number.MIN_VALUE)).toBe(2 ** -149);
    expect(up32(3.5e38)).toBe(Infinity);
  });

  it('rigorous and exact at extreme magnitudes (binary32 underflow and overflow of the bound sums)', () => {
    const saved = process.env.ADZONE_KERNELS;
    delete process.env.ADZONE_KERNELS; // the kernels' path, whatever the environment
    try {
      extremes.tiny = extremes.infinite = 0;
      fc.assert(fc.property(scaledCaseArb, checkAgainstBruteForce), { numRuns: runs(150) });
      expect(extremes.tiny).toBeGreaterThan(0);
      // A bound sum beyond the binary32 range comes out +∞ (only the kernels sum in binary32).
      if (kernelStatus().active) expect(extremes.infinite).toBeGreaterThan(0);
    } finally {
      if (saved !== undefined) process.env.ADZONE_KERNELS = saved;
    }
  });

  describe('on the JS loops (ADZONE_KERNELS=js)', () => {
    const saved = process.env.ADZONE_KERNELS;
    beforeAll(() => {
      process.env.ADZONE_KERNELS = 'js';
    });
    afterAll(() => {
      if (saved === undefined) delete process.env.ADZONE_KERNELS;
      else process.env.ADZONE_KERNELS = saved;
    });

    it('the filtered exact routing equals the brute force, and |â − a| ≤ e', () => {
      fc.assert(fc.property(caseArb, checkAgainstBruteForce), { numRuns: runs(150) });
      fc.assert(fc.property(scaledCaseArb, checkAgainstBruteForce), { numRuns: runs(60) });
    });
  });
});

/** conv (1 filter) → relu → maxpool over the conv outputs, classified against fp16 (simulated). */
function classifyCase(
  spec: Spec,
  params: Map<string, Float64Array>,
  x: Float64Array,
  shape: [number, number, number, number],
  alpha = 0,
  precision = '16',
) {
  const exact = exactRouting(spec, params, x, shape);
  const sim = simulateForward(spec, params, x, shape, precision);
  return { exact, c: classifyNetwork(exact, sim.routing, sim.inputs, alpha) };
}

const convReluPool = (k: [number, number], pool: [number, number], stride: [number, number] = pool): Spec => ({
  layers: [
    {
      kind: 'conv2d',
      name: 'c',
      inChannels: 1,
      outChannels: 1,
      kernel: k,
      stride: [1, 1],
      padding: [0, 0],
      bias: false,
      init: 'torch-default',
    },
    { kind: 'relu' },
    { kind: 'maxpool', kernel: pool, stride, padding: [0, 0] },
  ],
});

describe('classification of network units', () => {
  it('two identical patches under a window: harmless identical-patches', () => {
    const spec = convReluPool([2, 2], [1, 2]);
    const params = new Map([['c.weight', Float64Array.from([0.5, 0.3, 0.2, 0.7])]]);
    const x = new Float64Array(2 * 3).fill(0.9); // 2×3 constant background: conv outputs 1×2, identical
    const { c } = classifyCase(spec, params, x, [1, 1, 2, 3]);
    const pool = c.nodes.find((n) => n.node === 'layers.2')!;
    expect(pool.harmless['identical-patches']).toBe(1);
    expect(c.batch.zone).toBe('regular');
    expect(c.batch.inZone).toBe(false);
    expect(c.harmlessExamples[0]).toMatchObject({ node: 'layers.2', harmless: 'identical-patches', exact: [0, 1] });
  });

  it('a window of all-negative pre-activations: harmless all-zero (and a bifurcation once α ≠ 0 meets an exact-zero pre-activation)', () => {
    const spec = convReluPool([1, 1], [2, 2]);
    const params = new Map([['c.weight', Float64Array.of(-1)]]);
    const { c } = classifyCase(spec, params, Float64Array.from([0.3, 0.7, 1.1, 2]), [1, 1, 2, 2]);
    expect(c.nodes.find((n) => n.node === 'layers.2')!.harmless['all-zero']).toBe(1);
    expect(c.batch.zone).toBe('regular');
    // one pre-activation exactly 0: harmless with α = 0, bifurcation tie-zero with α = 1
    const x0 = Float64Array.from([0, 0.7, 1.1, 2]);
    expect(classifyCase(spec, params, x0, [1, 1, 2, 2], 0).c.nodes.find((n) => n.node === 'layers.2')!.harmless['all-zero']).toBe(1);
    const c1 = classifyCase(spec, params, x0, [1, 1, 2, 2], 1).c;
    expect(c1.nodes.find((n) => n.node === 'layers.2')!.bifurcation['tie-zero']).toBe(1);
    expect(c1.batch.zone).toBe('bifurcation');
  });

  it('patches equal value for value because the ReLU clipped *different* negative numbers are identical, not a bifurcation', () => {
    // relu(conv1(x)) = [0, 3, 0, 3] from pre-activations [−1, 3, −2, 3]; conv2 (1×2, stride 2) sees two
    // patches that are both (0, 3): the same value and the same function of θ (ReLU' = 0 on the zeros).
    const spec: Spec = {
      layers: [
        {
          kind: 'conv2d',
          name: 'c1',
          inChannels: 1,
          outChannels: 1,
          kernel: [1, 1],
          stride: [1, 1],
          padding: [0, 0],
          bias: false,
          init: 'torch-default',
        },
        { kind: 'relu' },
        {
          kind: 'conv2d',
          name: 'c2',
          inChannels: 1,
          outChannels: 1,
          kernel: [1, 2],
          stride: [1, 2],
          padding: [0, 0],
          bias: false,
          init: 'torch-default',
        },
        { kind: 'relu' },
        { kind: 'maxpool', kernel: [1, 2], stride: [1, 2], padding: [0, 0] },
      ],
    };
    const params = new Map([
      ['c1.weight', Float64Array.of(1)],
      ['c2.weight', Float64Array.of(1, 1)],
    ]);
    for (const p of ['16', '32', '64']) {
      const { exact, c } = classifyCase(spec, params, Float64Array.of(-1, 3, -2, 3), [1, 1, 1, 4], 0, p);
      expect(exact.inputSid('layers.4', 0)).toBe(exact.inputSid('layers.4', 1));
      const pool = c.nodes.find((n) => n.node === 'layers.4')!;
      expect(pool.harmless['identical-patches']).toBe(1);
      expect(c.batch.zone).toBe('regular');
    }
  });

  it('MaxPool outputs won by the same computation are identical whatever the losing entries were', () => {
    // pool1 windows (5, 1) and (2, 5): both outputs are the computation w·5; pool2 ties them.
    const spec: Spec = {
      layers: [
        {
          kind: 'conv2d',
          name: 'c',
          inChannels: 1,
          outChannels: 1,
          kernel: [1, 1],
          stride: [1, 1],
          padding: [0, 0],
          bias: false,
          init: 'torch-default',
        },
        { kind: 'relu' },
        { kind: 'maxpool', kernel: [1, 2], stride: [1, 2], padding: [0, 0] },
        { kind: 'maxpool', kernel: [1, 2], stride: [1, 2], padding: [0, 0] },
      ],
    };
    const params = new Map([['c.weight', Float64Array.of(1)]]);
    const { exact, c } = classifyCase(spec, params, Float64Array.of(5, 1, 2, 5), [1, 1, 1, 4], 0, '64');
    expect(exact.inputSid('layers.3', 0)).toBe(exact.inputSid('layers.3', 1));
    expect(c.nodes.find((n) => n.node === 'layers.3')!.harmless['identical-patches']).toBe(1);
    expect(c.batch.zone).toBe('regular');
    // Different winning computations with equal values stay a real tie (bifurcation).
    const diff = classifyCase(
      convReluPool([1, 2], [1, 2]),
      new Map([['c.weight', Float64Array.of(1, 1)]]),
      Float64Array.of(1, 2, 1),
      [1, 1, 1, 3],
      0,
      '64',
    );
    expect(diff.c.batch.zone).toBe('bifurcation');
  });

  it('a positive tie of distinct patches: bifurcation tie-positive, explained with exact values', () => {
    const spec = convReluPool([1, 2], [1, 2]);
    const params = new Map([['c.weight', Float64Array.of(1, 1)]]);
    const { exact, c } = classifyCase(spec, params, Float64Array.of(1, 2, 1), [1, 1, 1, 3]);
    expect(exact.inputSid('layers.2', 0)).not.toBe(exact.inputSid('layers.2', 1));
    expect(c.nodes.find((n) => n.node === 'layers.2')!.bifurcation['tie-positive']).toBe(1);
    expect(c.batch).toMatchObject({ zone: 'bifurcation', inZone: true, bifurcation: 1 });
    expect(c.samples[0].zone).toBe('bifurcation');
    const f = c.findings[0];
    expect(f).toMatchObject({ node: 'layers.2', unit: 0, zone: 'bifurcation', cause: 'tie-positive', exact: [0, 1] });
    expect(f.entries.map((e) => e.exact)).toEqual(['3', '3']);
    expect(f.entries.map((e) => e.p)).toEqual([3, 3]);
  });

  it('a tie made by rounding to 16 bits: compensation tie at 16, regular at 32 and 64', () => {
    const spec = convReluPool([1, 1], [1, 2]);
    const params = new Map([['c.weight', Float64Array.of(1)]]);
    const b = 1 + 2 ** -12;
    expect(round(F16, b)).toBe(1);
    const x = Float64Array.of(1, b);
    const { c } = classifyCase(spec, params, x, [1, 1, 1, 2]);
    expect(c.nodes.find((n) => n.node === 'layers.2')!.compensation.tie).toBe(1);
    expect(c.batch.zone).toBe('compensation');
    expect(c.findings[0]).toMatchObject({ cause: 'tie', exact: [1], rounded: [0, 1] });
    expect(c.findings[0].entries.map((e) => e.exact)).toEqual(['1', '1.000244140625']);
    expect(c.findings[0].entries.map((e) => e.p)).toEqual([1, 1]);
    for (const p of ['32', '64']) expect(classifyCase(spec, params, x, [1, 1, 1, 2], 0, p).c.batch.zone).toBe('regular');
  });

  it('a ReLU input rounded to 0: harmless with α = 0 (same derivative), compensation tie with α = 1', () => {
    const spec: Spec = {
      layers: [
        {
          kind: 'conv2d',
          name: 'c',
          inChannels: 1,
          outChannels: 1,
          kernel: [1, 1],
          stride: [1, 1],
          padding: [0, 0],
          bias: false,
          init: 'torch-default',
        },
        { kind: 'relu' },
        { kind: 'flatten' },
        { kind: 'linear', name: 'fc', inFeatures: 1, outFeatures: 1, bias: false, init: 'torch-default' },
      ],
    };
    const params = new Map([
      ['c.weight', Float64Array.of(1)],
      ['fc.weight', Float64Array.of(1)],
    ]);
    const x = Float64Array.of(-1e-9); // −0 in fp16
    const c0 = classifyCase(spec, params, x, [1, 1, 1, 1], 0).c;
    expect(c0.batch.zone).toBe('regular');
    expect(c0.batch.harmlessRoundingDiffs).toBe(1);
    const c1 = classifyCase(spec, params, x, [1, 1, 1, 1], 1).c;
    expect(c1.nodes[0].compensation.tie).toBe(1);
    expect(c1.batch.zone).toBe('compensation');
  });

  it('counts add up, and every finding is explained by exact values the brute force agrees with', () => {
    fc.assert(
      fc.property(caseArb, fc.constantFrom('16', '32', 'bf16'), fc.constantFrom(0, 1), ({ spec, params, x, shape }, p, alpha) => {
        const exact = exactRouting(spec, params, x, shape);
        const sim = simulateForward(spec, params, x, shape, p);
        const c = classifyNetwork(exact, sim.routing, sim.inputs, alpha);
        for (const n of c.nodes) {
          const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
          expect(n.regular + sum(n.harmless) + sum(n.bifurcation) + sum(n.compensation)).toBe(n.units);
        }
        expect(c.batch.inZone).toBe(c.findings.length > 0);
        expect(c.samples.some((s) => s.zone !== 'regular')).toBe(c.batch.inZone);
        const brute = bruteForceRouting(spec, params, x, shape);
        for (const f of c.findings.slice(0, 5)) {
          const nd = exact.nodes.find((n) => n.path === f.node)!;
          const act = brute.activations.get(nd.inputFrom)!;
          for (const e of f.entries) {
            const q = act.values[e.index];
            const D = exact.activations.get(nd.inputFrom)!.den; // the exact text is numerator/D
            const m = q.n.m * D;
            expect(m % q.d).toBe(0n);
            expect(e.exact).toBe(ratText({ m: m / q.d, e: q.n.e }, D));
          }
        }
      }),
      { numRuns: runs(120) },
    );
  });
});

describe("the paper's estimator", () => {
  const m = (o: Record<string, number[]>) => new Map(Object.entries(o).map(([k, v]) => [k, Float64Array.from(v)]));

  it('Σ‖g0 − g1‖∞ against the per-precision threshold', () => {
    const g0 = m({ 'conv.weight': [1, 2, 3], 'conv.bias': [0, 0] });
    const g1 = m({ 'conv.weight': [1, 2.0005, 3], 'conv.bias': [0, -0.0004] });
    const r16 = estimateZone(g0, g1, '16');
    expect(r16.distance).toBeCloseTo(0.0009, 12);
    expect(r16.inZone).toBe(false); // 9e-4 ≤ 1e-3
    expect(estimateZone(g0, g1, '32').inZone).toBe(true);
    expect(estimateZone(g0, g0, '64')).toMatchObject({ distance: 0, inZone: false });
    expect(estimateZone(g0, g1, '16', { '16': 1e-4 }).inZone).toBe(true);
    expect(ESTIMATOR_THRESHOLDS).toEqual({ '16': 1e-3, '32': 1e-7, '64': 1e-15 });
    expect(estimateZone(g0, m({ 'conv.weight': [NaN, 2, 3], 'conv.bias': [0, 0] }), '64')).toMatchObject({ nonfinite: true, inZone: true });
    expect(() => estimateZone(g0, m({ 'conv.weight': [1, 2, 3] }), '16')).toThrow();
  });

  it('the distance is a sum of per-parameter max-norms: symmetric, zero iff equal', () => {
    const arr = fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(fc.array(fc.tuple(arr, arr), { minLength: 1, maxLength: 4 }), (pairs) => {
        const a = new Map(pairs.map(([x], i) => [`p${i}`, Float64Array.from(x)]));
        const b = new Map(pairs.map(([x, y], i) => [`p${i}`, Float64Array.from(x, (v, j) => (j < y.length ? y[j] : v))]));
        const d = estimatorDistance(a, b).distance;
        let ref = 0;
        for (const [k, x] of a) ref += Math.max(0, ...Array.from(x, (v, j) => Math.abs(v - b.get(k)![j])));
        expect(d).toBe(ref);
        expect(estimatorDistance(b, a).distance).toBe(d);
        expect(d === 0).toBe([...a].every(([k, x]) => x.every((v, j) => v === b.get(k)![j])));
      }),
      { numRuns: runs(100) },
    );
  });

  it('compareEstimator counts agreements, missed and invented zones', () => {
    expect(compareEstimator([true, false, true, false], [true, true, false, false])).toMatchObject({
      total: 4,
      agree: 2,
      missed: 1,
      invented: 1,
      missedAt: [1],
      inventedAt: [2],
    });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.boolean())), (pairs) => {
        const r = compareEstimator(
          pairs.map((p) => p[0]),
          pairs.map((p) => p[1]),
        );
        expect(r.agree + r.missed + r.invented).toBe(pairs.length);
        expect(r.missed).toBe(pairs.filter(([e, x]) => x && !e).length);
        expect(r.invented).toBe(pairs.filter(([e, x]) => e && !x).length);
      }),
    );
    expect(() => compareEstimator([true], [])).toThrow();
  });
});

describe('the network-zones stage as a library function (networkZones)', () => {
  const tiny: NetworkZonesConfig = { model: 'lenet5', dataset: 'mnist', batches: 2, batchSize: 4, precisions: ['64', '32'], seed: 3 };
  const withoutTimes = (r: ZonesReport) => r.precisions.map((p) => p.batches.map(({ ms: _ms, ...rest }) => rest));

  it('a config object in, zones.json content out: nothing printed, progress and log through the callbacks, the same for 1 or 2 jobs', async () => {
    const printed: string[] = [];
    const capture = (stream: NodeJS.WriteStream) =>
      vi.spyOn(stream, 'write').mockImplementation(((chunk: string | Uint8Array) => {
        printed.push(String(chunk));
        return true;
      }) as NodeJS.WriteStream['write']);
    const spies = [capture(process.stdout), capture(process.stderr)];
    const lines: string[] = [];
    const progress: [number, number][] = [];
    let one: ZonesReport;
    let two: ZonesReport;
    try {
      one = await networkZones({ ...tiny, jobs: 1, log: (l) => lines.push(l), onProgress: (d, t) => progress.push([d, t]) });
      two = await networkZones({ ...tiny, jobs: 2 });
    } finally {
      for (const s of spies) s.mockRestore();
    }
    expect(printed.filter((p) => /zones|batch/.test(p))).toEqual([]);
    expect(lines).toEqual(['zones: lenet5/paper on mnist train, 2 batches of 4 × precision 32,64, 1 job']);
    expect(progress[0]).toEqual([0, 4]);
    expect(progress.map(([d]) => d)).toEqual([0, 1, 2, 3, 4]);
    expect(progress.every(([, t]) => t === 4)).toBe(true);

    validate('zones', one, '(networkZones result)');
    expect(one.config).toMatchObject({
      model: 'lenet5',
      dataset: 'mnist',
      batches: 2,
      batchSize: 4,
      seed: 3,
      precisions: ['32', '64'],
      jobs: 1,
    });
    expect(one.command).toMatch(/^networkZones\(\{"model":"lenet5","dataset":"mnist","batches":2,/);
    expect(one.tool.adzone).toMatch(/^\d+\.\d+\.\d+/);
    for (const p of one.precisions) {
      expect(p.batches.map((b) => [b.batch, b.firstIndex, b.size])).toEqual([
        [0, 0, 4],
        [1, 4, 4],
      ]);
      for (const b of p.batches) {
        const e = b.exact!;
        expect(e.units).toBe(e.regular + e.harmless + e.bifurcation + e.compensation);
        expect(e.filter.float + e.filter.structural + e.filter.exact).toBe(e.units);
      }
    }
    expect(two.config.jobs).toBe(2);
    expect(withoutTimes(two)).toEqual(withoutTimes(one));
  });

  it("a bad field is a ConfigError naming that field, in the config's words (no command-line options)", async () => {
    const bad: [Partial<NetworkZonesConfig>, string][] = [
      [{ model: 'alexnet' }, 'model'],
      [{ dataset: 'fashion' }, 'dataset'],
      [{ dataset: 'cifar10' }, 'dataset'],
      [{ batches: 0 }, 'batches'],
      [{ batches: 2.5 }, 'batches'],
      [{ precisions: ['16', '8'] }, 'precisions'],
      [{ batchSize: 0 }, 'batchSize'],
      [{ seed: -1 }, 'seed'],
      [{ reluAlpha: 2 }, 'reluAlpha'],
      [{ width: 0.5 }, 'width'],
      [{ accumulate: 'loose' as 'wide' }, 'accumulate'],
      [{ jobs: 0 }, 'jobs'],
      [{ dataset: 'imagenet', split: 'train' }, 'split'],
    ];
    for (const [change, field] of bad) {
      const config = { ...tiny, ...change };
      let err: unknown;
      try {
        resolveNetworkZonesConfig(config);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(change)).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).field, JSON.stringify(change)).toBe(field);
      expect((err as Error).message).not.toMatch(/--/);
      await expect(networkZones(config)).rejects.toMatchObject({ name: 'ConfigError', field });
    }
    // Found only once the data are loaded: more batches than the split has.
    const tooMany = networkZones({ ...tiny, split: 'test', batchSize: 128, batches: 100 });
    await expect(tooMany).rejects.toBeInstanceOf(ConfigError);
    await expect(tooMany).rejects.toMatchObject({
      field: 'batches',
      message: expect.stringMatching(/^`batches` 100: the mnist test split has 10000 images/),
    });
  });
});
