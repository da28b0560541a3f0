/**
 * Properties of whole networks on the engine (src/engine ops batchnorm2d, avgpool2d, globalAvgPool,
 * add, flatten, softmaxCrossEntropy; src/engine/optim; src/engine/lossScale; src/backends/engine/network.ts).
 * Statements about the mathematics, on small shapes; each title says what is checked.
 *
 * Finite differences. At 64 bits a central difference (f(θ+h) − f(θ−h)) / (2h) differs from f'(θ)
 * by at most h²/6·|f'''| (truncation) plus about 2·ε·F/h (evaluation error, ε = 2^−53, F the
 * magnitude of the terms summed in f). With h = 2^−17 ≈ 7.6e−6 — near the optimum (ε)^(1/3) for
 * unit-scale values — both are below 1e−10·max(|f'''|, F); the tolerance 1e−6·(1 + |g|) leaves room
 * for |f'''| and F up to 10^4 (batch norm with a variance ≥ 0.1 and values ≤ 2 stays far below).
 * The step actually taken is (θ+h) − (θ−h) as computed, so representation error of θ ± h does not
 * enter. Points are kept away from kinks and ties: ops without kinks need nothing; for a network the
 * coordinate is checked only when the routing (every ReLU sign and MaxPool tie set) at θ ± h equals
 * the routing at θ, and most coordinates must qualify.
 */
import fc, { type Arbitrary } from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  add,
  adam,
  avgpool2d,
  batchnorm2d,
  dynamicLossScale,
  flatten,
  globalAvgPool,
  linear,
  sgd,
  softmaxCrossEntropy,
  staticLossScale,
  Tape,
  type Accumulate,
  type EngineOptions,
  type Tensor,
} from '../src/engine/index.ts';
import { choice, FIRST } from '../src/jacobians/index.ts';
import {
  createEngineNet,
  evaluateBatch,
  gradients,
  trainStep,
  type Batch,
  type EngineNet,
  type NetDecision,
} from '../src/backends/engine/network.ts';
import { buffersOf, paramsOf, type ModelSpec, type NetLayer } from '../src/models/spec.ts';
import { F16, F32, F64, isRepresentable, type Format } from '../src/precision/index.ts';
import { mulberry32 as prng } from '../src/util/rng.ts';
import { runs } from '../src/nightly/runs.ts';

// ---------------------------------------------------------------------------------------------
// Helpers

const opts = (format: Format, accumulate: Accumulate = 'strict'): EngineOptions => ({ format, accumulate, jacobian: choice(FIRST) });
const O64 = opts(F64);
const H = 2 ** -17;
const close = (num: number, ana: number) => Math.abs(num - ana) <= 1e-6 * (1 + Math.abs(ana));

const value = fc.double({ min: -2, max: 2, noNaN: true, noDefaultInfinity: true });
const vec = (n: number, v: Arbitrary<number> = value) => fc.array(v, { minLength: n, maxLength: n });

interface OpInput {
  readonly values: readonly number[];
  readonly shape: readonly number[];
}

/**
 * For L(inputs) = ⟨c, op(inputs)⟩ at 64 bits: the tape's gradient of every input entry equals the
 * central difference. `op` must build everything it needs (e.g. fresh running statistics) per call.
 */
function expectGradientsMatchFiniteDifferences(inputs: readonly OpInput[], op: (ts: Tensor[]) => Tensor, c: readonly number[]): void {
  const tape = new Tape(O64);
  const ts = inputs.map((i) => tape.tensor(i.values, i.shape, true));
  const y = op(ts);
  tape.backward(y, c);
  const L = (vals: readonly (readonly number[])[]) => {
    const t = new Tape(O64);
    const out = op(vals.map((v, k) => t.tensor(v, inputs[k].shape)));
    let s = 0;
    for (let i = 0; i < out.size; i++) s += c[i] * out.data[i];
    return s;
  };
  inputs.forEach((inp, k) => {
    const g = ts[k].gradValues();
    for (let i = 0; i < inp.values.length; i++) {
      const plus = inp.values.map((v, j) => (j === i ? v + H : v));
      const minus = inp.values.map((v, j) => (j === i ? v - H : v));
      const others = (v: number[]) => inputs.map((x, j) => (j === k ? v : x.values));
      const num = (L(others(plus)) - L(others(minus))) / (plus[i] - minus[i]);
      if (!close(num, g[i])) throw new Error(`input ${k} entry ${i}: tape ${g[i]}, finite difference ${num}`);
    }
  });
}

/** Sample variance of each channel of an NCHW array. */
function channelVariances(x: readonly number[], [N, C, Hh, W]: readonly number[]): number[] {
  return Array.from({ length: C }, (_, c) => {
    const v: number[] = [];
    for (let n = 0; n < N; n++) for (let i = 0; i < Hh * W; i++) v.push(x[(n * C + c) * Hh * W + i]);
    const m = v.reduce((a, b) => a + b, 0) / v.length;
    return v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length;
  });
}

/** An NCHW shape with N·H·W ≥ 2 and values whose channel variances are ≥ 0.1 (batch norm away from σ² ≈ 0). */
const bnCaseArb = fc
  .tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }))
  .filter(([N, , h, w]) => N * h * w >= 2)
  .chain((shape) => {
    const [N, C, h, w] = shape;
    return fc.record({ shape: fc.constant(shape), x: vec(N * C * h * w), gamma: vec(C), beta: vec(C), c: vec(N * C * h * w) });
  })
  .filter(({ x, shape }) => channelVariances(x, shape).every((v) => v >= 0.1));

const conv = (name: string, inChannels: number, outChannels: number, k: number, padding: number, bias: boolean): NetLayer => ({
  kind: 'conv2d',
  name,
  inChannels,
  outChannels,
  kernel: [k, k],
  stride: [1, 1],
  padding: [padding, padding],
  bias,
  init: 'torch-default',
});
const bn = (name: string, channels: number): NetLayer => ({ kind: 'batchnorm2d', name, channels, eps: 1e-5, momentum: 0.1 });
const RELU: NetLayer = { kind: 'relu' };

/** A small residual network touching every layer kind. */
const RESNET: ModelSpec = {
  name: 'tiny-resnet',
  variant: 'test',
  input: [2, 5, 5],
  classes: 3,
  layers: [
    conv('stem.0', 2, 3, 3, 1, false),
    bn('stem.1', 3),
    RELU,
    {
      kind: 'residual',
      body: [conv('block.conv1', 3, 4, 3, 1, true), bn('block.bn1', 4), RELU, conv('block.conv2', 4, 4, 3, 1, false), bn('block.bn2', 4)],
      shortcut: [conv('block.down.0', 3, 4, 1, 0, false), bn('block.down.1', 4)],
    },
    RELU,
    { kind: 'maxpool', kernel: [2, 2], stride: [1, 1], padding: [0, 0] },
    { kind: 'avgpool', kernel: [2, 2], stride: [2, 2] },
    { kind: 'globalavgpool' },
    { kind: 'flatten' },
    { kind: 'linear', name: 'fc', inFeatures: 4, outFeatures: 3, bias: true, init: 'torch-default' },
  ],
};

/** Random weights (uniform, ±1/√fan-in, BN γ around 1) and a batch. */
function randomNet(spec: ModelSpec, seed: number): EngineNet {
  const r = prng(seed);
  const init = new Map<string, Float64Array>();
  for (const p of paramsOf(spec)) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    const fan = p.shape.length > 1 ? p.shape.slice(1).reduce((a, b) => a * b, 1) : 1;
    const draw = p.kind === 'bn-gamma' ? () => 0.5 + r() : () => (2 * r() - 1) / Math.sqrt(fan);
    init.set(p.name, Float64Array.from({ length: n }, draw));
  }
  return createEngineNet(spec, init);
}

function randomBatch(spec: ModelSpec, N: number, seed: number): Batch {
  const r = prng(seed);
  const [C, Hh, W] = spec.input;
  return {
    x: Float64Array.from({ length: N * C * Hh * W }, () => 4 * r() - 2),
    shape: [N, C, Hh, W],
    labels: Int32Array.from({ length: N }, () => Math.floor(r() * spec.classes)),
  };
}

function routingKey(ds: readonly NetDecision[]): string {
  return ds
    .map((d) =>
      d.kind === 'relu' ? `r${d.path}:${d.sign.join('')}` : `m${d.path}:${d.ties.offsets.join(',')}/${d.ties.indices.join(',')}`,
    )
    .join('|');
}

// ---------------------------------------------------------------------------------------------

describe('new ops at 64 bits: gradients equal central finite differences', () => {
  it('batchnorm2d in training mode (through the batch mean and variance), w.r.t. x, γ and β', () => {
    fc.assert(
      fc.property(bnCaseArb, ({ shape, x, gamma, beta, c }) => {
        const C = shape[1];
        const running = () => ({ mean: new Float64Array(C), var: new Float64Array(C).fill(1) });
        expectGradientsMatchFiniteDifferences(
          [
            { values: x, shape },
            { values: gamma, shape: [C] },
            { values: beta, shape: [C] },
          ],
          ([xt, g, b]) => batchnorm2d(xt, g, b, running(), { training: true, eps: 1e-5, momentum: 0.1 }),
          c,
        );
      }),
      { numRuns: runs(60) },
    );
  });

  it('batchnorm2d in inference mode (running statistics), w.r.t. x, γ and β', () => {
    fc.assert(
      fc.property(bnCaseArb, vec(2, fc.double({ min: 0.2, max: 3, noNaN: true })), ({ shape, x, gamma, beta, c }, [m, v]) => {
        const C = shape[1];
        const running = () => ({ mean: new Float64Array(C).fill(m - 1), var: new Float64Array(C).fill(v) });
        expectGradientsMatchFiniteDifferences(
          [
            { values: x, shape },
            { values: gamma, shape: [C] },
            { values: beta, shape: [C] },
          ],
          ([xt, g, b]) => batchnorm2d(xt, g, b, running(), { training: false, eps: 1e-5, momentum: 0.1 }),
          c,
        );
      }),
      { numRuns: runs(40) },
    );
  });

  it('avgpool2d (overlapping and disjoint windows) and globalAvgPool', () => {
    const arb = fc
      .record({
        N: fc.integer({ min: 1, max: 2 }),
        C: fc.integer({ min: 1, max: 2 }),
        h: fc.integer({ min: 1, max: 5 }),
        w: fc.integer({ min: 1, max: 5 }),
        kernel: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
        stride: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
      })
      .filter(({ h, w, kernel }) => kernel[0] <= h && kernel[1] <= w)
      .chain((s) => {
        const outH = Math.floor((s.h - s.kernel[0]) / s.stride[0]) + 1;
        const outW = Math.floor((s.w - s.kernel[1]) / s.stride[1]) + 1;
        return fc.record({ s: fc.constant(s), x: vec(s.N * s.C * s.h * s.w), c: vec(s.N * s.C * outH * outW), cg: vec(s.N * s.C) });
      });
    fc.assert(
      fc.property(arb, ({ s, x, c, cg }) => {
        const shape = [s.N, s.C, s.h, s.w];
        expectGradientsMatchFiniteDifferences([{ values: x, shape }], ([t]) => avgpool2d(t, { kernel: s.kernel, stride: s.stride }), c);
        expectGradientsMatchFiniteDifferences([{ values: x, shape }], ([t]) => globalAvgPool(t), cg);
      }),
      { numRuns: runs(100) },
    );
  });

  it('add (both operands) and flatten → linear on [N, F]', () => {
    const arb = fc
      .record({
        N: fc.integer({ min: 1, max: 2 }),
        C: fc.integer({ min: 1, max: 2 }),
        h: fc.integer({ min: 1, max: 3 }),
        O: fc.integer({ min: 1, max: 3 }),
      })
      .chain((s) => {
        const n = s.N * s.C * s.h * s.h;
        return fc.record({ s: fc.constant(s), a: vec(n), b: vec(n), c: vec(n), w: vec(s.O * s.C * s.h * s.h), cl: vec(s.N * s.O) });
      });
    fc.assert(
      fc.property(arb, ({ s, a, b, c, w, cl }) => {
        const shape = [s.N, s.C, s.h, s.h];
        expectGradientsMatchFiniteDifferences(
          [
            { values: a, shape },
            { values: b, shape },
          ],
          ([x, y]) => add(x, y),
          c,
        );
        expectGradientsMatchFiniteDifferences(
          [
            { values: a, shape },
            { values: w, shape: [s.O, s.C * s.h * s.h] },
          ],
          ([x, wt]) => {
            const f = flatten(x);
            expect(f.shape).toEqual([s.N, s.C * s.h * s.h]);
            return linear(f, wt, null);
          },
          cl,
        );
      }),
      { numRuns: runs(100) },
    );
  });

  it('softmaxCrossEntropy: finite differences, and the gradient equals (softmax − onehot)/N', () => {
    const arb = fc.record({ N: fc.integer({ min: 1, max: 4 }), K: fc.integer({ min: 2, max: 5 }) }).chain(({ N, K }) =>
      fc.record({
        N: fc.constant(N),
        K: fc.constant(K),
        z: vec(N * K, fc.double({ min: -8, max: 8, noNaN: true })),
        labels: vec(N, fc.integer({ min: 0, max: K - 1 })),
      }),
    );
    fc.assert(
      fc.property(arb, ({ N, K, z, labels }) => {
        const lab = Int32Array.from(labels);
        expectGradientsMatchFiniteDifferences([{ values: z, shape: [N, K] }], ([t]) => softmaxCrossEntropy(t, lab), [1]);
        const tape = new Tape(O64);
        const zt = tape.tensor(z, [N, K], true);
        const loss = softmaxCrossEntropy(zt, lab);
        tape.backward(loss, [1]);
        const g = zt.gradValues();
        let expectedLoss = 0;
        for (let n = 0; n < N; n++) {
          const row = z.slice(n * K, n * K + K);
          const m = Math.max(...row);
          const S = row.reduce((s, v) => s + Math.exp(v - m), 0);
          expectedLoss += (Math.log(S) - (row[labels[n]] - m)) / N;
          for (let k = 0; k < K; k++) {
            const expected = (Math.exp(row[k] - m) / S - (k === labels[n] ? 1 : 0)) / N;
            expect(Math.abs(g[n * K + k] - expected)).toBeLessThanOrEqual(1e-15);
          }
        }
        expect(Math.abs(loss.data[0] - expectedLoss)).toBeLessThanOrEqual(1e-13 * (1 + expectedLoss));
      }),
      { numRuns: runs(200) },
    );
  });
});

describe('networks from a ModelSpec', () => {
  it('a residual network (conv, BN in training mode, ReLU, residual add, maxpool, avgpool, global pool, flatten, linear): every parameter gradient equals finite differences at 64 bits', () => {
    for (const seed of [1, 2]) {
      const net = randomNet(RESNET, seed);
      const batch = randomBatch(RESNET, 3, 100 + seed);
      const base = gradients(net, batch, O64, { training: true, updateRunningStats: false });
      const baseKey = routingKey(base.decisions);
      let checked = 0;
      let total = 0;
      for (const [name, values] of net.params) {
        const g = base.grads.get(name)!;
        for (let i = 0; i < values.length; i++) {
          total++;
          const v = values[i];
          values[i] = v + H;
          const plus = gradients(net, batch, O64, { training: true, updateRunningStats: false });
          const hi = values[i];
          values[i] = v - H;
          const minus = gradients(net, batch, O64, { training: true, updateRunningStats: false });
          const lo = values[i];
          values[i] = v;
          if (routingKey(plus.decisions) !== baseKey || routingKey(minus.decisions) !== baseKey) continue; // a kink between θ − h and θ + h
          checked++;
          const num = (plus.loss - minus.loss) / (hi - lo);
          if (!close(num, g[i])) throw new Error(`seed ${seed}, ${name}[${i}]: tape ${g[i]}, finite difference ${num}`);
        }
      }
      expect(checked).toBeGreaterThan(0.9 * total);
    }
  });

  it('routing decisions are tagged with PyTorch-style node paths, in forward order', () => {
    const vgg: ModelSpec = {
      name: 'vgg-like',
      variant: 'test',
      input: [1, 4, 4],
      classes: 2,
      layers: [
        conv('features.0', 1, 2, 3, 1, true),
        bn('features.1', 2),
        RELU,
        { kind: 'maxpool', kernel: [2, 2], stride: [2, 2], padding: [0, 0] },
        conv('features.4', 2, 2, 3, 1, true),
        RELU,
        { kind: 'maxpool', kernel: [2, 2], stride: [2, 2], padding: [0, 0] },
        { kind: 'flatten' },
        { kind: 'linear', name: 'classifier.0', inFeatures: 2, outFeatures: 3, bias: true, init: 'torch-default' },
        RELU,
        { kind: 'linear', name: 'classifier.2', inFeatures: 3, outFeatures: 2, bias: true, init: 'torch-default' },
      ],
    };
    const r = gradients(randomNet(vgg, 5), randomBatch(vgg, 2, 6), O64, { training: true });
    expect(r.decisions.map((d) => `${d.kind} ${d.path}`)).toEqual([
      'relu features.2',
      'maxpool features.3',
      'relu features.5',
      'maxpool features.6',
      'relu classifier.1',
    ]);
    const rr = gradients(randomNet(RESNET, 5), randomBatch(RESNET, 2, 6), O64, { training: true });
    expect(rr.decisions.map((d) => `${d.kind} ${d.path}`)).toEqual(['relu stem.2', 'relu block.body.2', 'relu 4', 'maxpool 5']);
    // Each decision covers its layer's whole output.
    for (const d of rr.decisions) expect(d.kind === 'relu' ? d.sign.length : d.ties.offsets.length - 1).toBe(d.output.size);
  });

  it('every value stored at p is representable in p (16/32/64, strict and wide; SGD, Adam, fp32 masters, loss scaling)', () => {
    const cases = [
      { name: 'sgd', make: () => sgd({ lr: 0.1, momentum: 0.9, weightDecay: 1e-3, nesterov: true }), scaler: false },
      { name: 'adam', make: () => adam({ lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-4 }), scaler: false },
      {
        name: 'adam fp32 masters',
        make: () => adam({ lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, masterWeights: '32' }),
        scaler: false,
      },
      { name: 'sgd dynamic scaling', make: () => sgd({ lr: 0.1, momentum: 0.5, weightDecay: 0, masterWeights: '32' }), scaler: true },
    ];
    for (const format of [F16, F32, F64]) {
      for (const mode of ['strict', 'wide'] as const) {
        for (const c of cases) {
          const net = randomNet(RESNET, 7);
          const o = opts(format, mode);
          const optimizer = c.make();
          const lossScale = c.scaler ? dynamicLossScale() : undefined;
          const seen: number[] = [];
          for (let step = 0; step < 3; step++)
            seen.push(trainStep(net, randomBatch(RESNET, 2, 10 + step), o, optimizer, { lossScale }).loss);
          for (const training of [true, false]) {
            const r = gradients(net, randomBatch(RESNET, 2, 20), o, { training, inputGrad: true });
            seen.push(r.loss, ...r.logits, ...r.inputGrad!);
            for (const g of r.grads.values()) seen.push(...g);
          }
          for (const v of net.params.values()) seen.push(...v);
          for (const v of net.buffers.values()) seen.push(...v);
          const bad = seen.find((v) => !isRepresentable(format, v));
          expect(bad, `${format.name} ${mode} ${c.name}`).toBeUndefined();
        }
      }
    }
  });
});

describe('evaluation without the backward', () => {
  it('evaluateBatch gives the loss and logits of gradients(training: false) bit for bit and changes nothing (16/32/64, strict and wide, BN with trained running statistics)', () => {
    for (const format of [F16, F32, F64]) {
      for (const mode of ['strict', 'wide'] as const) {
        const o = opts(format, mode);
        const net = randomNet(RESNET, 11);
        const optimizer = sgd({ lr: 0.05, momentum: 0.9, weightDecay: 0 });
        for (let step = 0; step < 2; step++) trainStep(net, randomBatch(RESNET, 3, 30 + step), o, optimizer); // running statistics away from 0 / 1
        const snapshot = (m: Map<string, Float64Array>) => [...m].map(([k, v]) => [k, Array.from(v)] as const);
        const before = { params: snapshot(net.params), buffers: snapshot(net.buffers) };
        const batch = randomBatch(RESNET, 3, 40);
        const e = evaluateBatch(net, batch, o);
        const g = gradients(net, batch, o, { training: false });
        const label = `${format.name} ${mode}`;
        expect(Object.is(e.loss, g.loss), `${label}: loss ${e.loss} vs ${g.loss}`).toBe(true);
        expect(Array.from(e.logits), label).toEqual(Array.from(g.logits));
        expect(snapshot(net.params), label).toEqual(before.params);
        expect(snapshot(net.buffers), label).toEqual(before.buffers);
      }
    }
  });
});

describe('optimizers at 64 bits match their closed forms', () => {
  const sequenceArb = fc.record({
    w0: vec(4),
    grads: fc.array(vec(4), { minLength: 1, maxLength: 5 }),
    lr: fc.double({ min: 1e-3, max: 0.5, noNaN: true }),
    momentum: fc.constantFrom(0, 0.5, 0.9),
    weightDecay: fc.constantFrom(0, 1e-4, 0.1),
    nesterov: fc.boolean(),
  });

  it('SGD with momentum, weight decay (and Nesterov): w_t = w_{t−1} − lr·d_t, buf_t = Σ_s μ^{t−s}·(g_s + wd·w_{s−1})', () => {
    fc.assert(
      fc.property(sequenceArb, ({ w0, grads, lr, momentum, weightDecay, nesterov }) => {
        const nest = nesterov && momentum > 0;
        const opt = sgd({ lr, momentum, weightDecay, nesterov: nest });
        const w = Float64Array.from(w0);
        const ref = [...w0];
        const history: number[][] = []; // g̃_s = g_s + wd·w_{s−1}
        for (const g of grads) {
          opt.step(new Map([['w', w]]), new Map([['w', Float64Array.from(g)]]), F64);
          history.push(g.map((v, i) => v + weightDecay * ref[i]));
          const t = history.length;
          for (let i = 0; i < ref.length; i++) {
            let buf = 0;
            for (let s = 1; s <= t; s++) buf += momentum ** (t - s) * history[s - 1][i];
            const d = momentum === 0 ? history[t - 1][i] : nest ? history[t - 1][i] + momentum * buf : buf;
            ref[i] -= lr * d;
          }
          for (let i = 0; i < ref.length; i++) expect(Math.abs(w[i] - ref[i])).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(ref[i])));
        }
      }),
      { numRuns: runs(200) },
    );
  });

  it('Adam: m_t = Σ_s (1−β1)β1^{t−s} g̃_s, v_t = Σ_s (1−β2)β2^{t−s} g̃_s², w_t = w_{t−1} − lr/(1−β1^t) · m_t / (√v_t/√(1−β2^t) + ε)', () => {
    fc.assert(
      fc.property(
        sequenceArb,
        fc.constantFrom(0.8, 0.9),
        fc.constantFrom(0.99, 0.999),
        fc.constantFrom(1e-8, 1e-3),
        ({ w0, grads, lr, weightDecay }, beta1, beta2, eps) => {
          const opt = adam({ lr, beta1, beta2, eps, weightDecay });
          const w = Float64Array.from(w0);
          const ref = [...w0];
          const history: number[][] = [];
          for (const g of grads) {
            opt.step(new Map([['w', w]]), new Map([['w', Float64Array.from(g)]]), F64);
            history.push(g.map((v, i) => v + weightDecay * ref[i]));
            const t = history.length;
            for (let i = 0; i < ref.length; i++) {
              let m = 0;
              let v = 0;
              for (let s = 1; s <= t; s++) {
                m += (1 - beta1) * beta1 ** (t - s) * history[s - 1][i];
                v += (1 - beta2) * beta2 ** (t - s) * history[s - 1][i] ** 2;
              }
              ref[i] -= (lr / (1 - beta1 ** t)) * (m / (Math.sqrt(v) / Math.sqrt(1 - beta2 ** t) + eps));
            }
            for (let i = 0; i < ref.length; i++) expect(Math.abs(w[i] - ref[i])).toBeLessThanOrEqual(1e-10 * (1 + Math.abs(ref[i])));
          }
        },
      ),
      { numRuns: runs(200) },
    );
  });

  it('fp16 with fp32 master weights accumulates updates below half an fp16 ulp; pure fp16 (masters in p) loses them', () => {
    const run = (masterWeights: 'p' | '32') => {
      const w = Float64Array.of(1);
      const opt = sgd({ lr: 1, masterWeights });
      for (let i = 0; i < 8; i++) opt.step(new Map([['w', w]]), new Map([['w', Float64Array.of(2 ** -13)]]), F16); // ulp(1⁻) in fp16 is 2^−11
      return w[0];
    };
    expect(run('p')).toBe(1); // 1 − 2^−13 rounds back to 1 every step
    expect(run('32')).toBe(1 - 2 ** -10); // the fp32 master reaches 1 − 8·2^−13, representable in fp16
  });
});

describe('16-bit behaviour and loss scaling', () => {
  const oneLinear = (inFeatures: number, classes: number): ModelSpec => ({
    name: 'one-linear',
    variant: 'test',
    input: [1, 1, inFeatures],
    classes,
    layers: [{ kind: 'flatten' }, { kind: 'linear', name: 'fc', inFeatures, outFeatures: classes, bias: false, init: 'torch-default' }],
  });

  it('fp16 softmax cross-entropy of logits near ±60000 is finite thanks to the max subtraction (strict and wide)', () => {
    for (const mode of ['strict', 'wide'] as const) {
      const tape = new Tape(opts(F16, mode));
      const z = tape.tensor([60000, 59008, -60000], [1, 3], true);
      const loss = softmaxCrossEntropy(z, Int32Array.of(1));
      tape.backward(loss, [1]);
      expect(loss.data[0]).toBe(992); // log(1 + e^−992 + …) − (59008 − 60000); e^60000 itself would be ∞
      expect(z.gradValues()).toEqual([1, -1, 0]);
    }
  });

  it('fp16 softmax probabilities below 2^−14 stay subnormal halves, never flushed to 0', () => {
    // e^−16 ≈ 1.125e−7: in strict fp16 it rounds to 2·2^−24 (a subnormal), S rounds to 1, p₁ = 2^−23.
    // In wide mode exp and S are fp32 (S = 1 + 2^−23), p₀ − 1 = −2^−23, and the outputs round to fp16.
    const expected = { strict: [0, 2 ** -23], wide: [-(2 ** -23), 2 ** -23] };
    for (const mode of ['strict', 'wide'] as const) {
      const tape = new Tape(opts(F16, mode));
      const z = tape.tensor([0, -16], [1, 2], true);
      const loss = softmaxCrossEntropy(z, Int32Array.of(0));
      tape.backward(loss, [1]);
      expect(z.gradValues().map((v) => (v === 0 ? 0 : v))).toEqual(expected[mode]);
      expect(2 ** -23).toBeLessThan(2 ** F16.emin); // subnormal in binary16
    }
  });

  it('an fp16 activation that overflows gives ∞ (and a NaN loss), not a crash; gradients are still returned', () => {
    const spec = oneLinear(2, 2);
    const net = createEngineNet(spec, new Map([['fc.weight', Float64Array.of(300, 300, 1, 1)]]));
    const batch: Batch = { x: Float64Array.of(300, 1), shape: [1, 1, 1, 2], labels: Int32Array.of(0) };
    for (const mode of ['strict', 'wide'] as const) {
      const r = gradients(net, batch, opts(F16, mode), { training: true });
      expect(r.logits[0]).toBe(Infinity); // 90300 > 65504
      expect(r.logits[1]).toBe(301);
      expect(Number.isNaN(r.loss)).toBe(true); // ∞ − ∞ in the max subtraction
      expect(r.grads.get('fc.weight')!.length).toBe(4);
    }
  });

  it('dynamic loss scaling: on a non-finite gradient the scale halves and the step is skipped (parameters and optimizer state unchanged); it grows ×2 after growthInterval finite steps', () => {
    const spec = oneLinear(2, 2);
    const w0 = Float64Array.of(300, 300, 0.5, -0.25);
    const net = createEngineNet(spec, new Map([['fc.weight', w0]]));
    const overflow: Batch = { x: Float64Array.of(300, 1), shape: [1, 1, 1, 2], labels: Int32Array.of(0) };
    const fine: Batch = { x: Float64Array.of(0.5, 0.25), shape: [1, 1, 1, 2], labels: Int32Array.of(1) };
    const scaler = dynamicLossScale({ initScale: 1024, growthInterval: 3 });
    const optimizer = sgd({ lr: 0.01, momentum: 0.9 });
    const o = opts(F16);
    const r1 = trainStep(net, overflow, o, optimizer, { lossScale: scaler });
    expect(r1.skipped).toBe(true);
    expect(scaler.scale).toBe(512);
    expect(Array.from(net.params.get('fc.weight')!)).toEqual(Array.from(w0));
    const results = [1, 2, 3].map(() => trainStep(net, fine, o, optimizer, { lossScale: scaler }));
    expect(results.map((r) => r.skipped)).toEqual([false, false, false]);
    expect(scaler.scale).toBe(1024);
    expect(net.params.get('fc.weight')![2]).not.toBe(0.5);
    // Momentum started at the first finite step: the skipped step left no state behind.
    const net2 = createEngineNet(spec, new Map([['fc.weight', w0]]));
    const opt2 = sgd({ lr: 0.01, momentum: 0.9 });
    for (const s of [512, 512, 512]) trainStep(net2, fine, o, opt2, { lossScale: staticLossScale(s) });
    expect(Array.from(net2.params.get('fc.weight')!)).toEqual(Array.from(net.params.get('fc.weight')!));
  });

  it("in pure fp16 GradScaler's initial 2^16 overflows the seed: the first step is skipped and the next runs at 2^15", () => {
    const net = randomNet(RESNET, 11);
    const scaler = dynamicLossScale();
    const optimizer = sgd({ lr: 0.05 });
    const first = trainStep(net, randomBatch(RESNET, 2, 12), opts(F16), optimizer, { lossScale: scaler });
    expect([first.skipped, first.scale, scaler.scale]).toEqual([true, 2 ** 16, 2 ** 15]);
    const second = trainStep(net, randomBatch(RESNET, 2, 12), opts(F16), optimizer, { lossScale: scaler });
    expect([second.skipped, second.scale, scaler.scale, scaler.growthTracker]).toEqual([false, 2 ** 15, 2 ** 15, 1]);
  });
});

describe('batch-norm running statistics', () => {
  it("follow PyTorch's update with the unbiased batch variance, only in training (64 bits)", () => {
    const spec: ModelSpec = {
      name: 'bn',
      variant: 'test',
      input: [2, 2, 2],
      classes: 2,
      layers: [bn('bn', 2), { kind: 'globalavgpool' }, { kind: 'flatten' }],
    };
    const net = createEngineNet(
      spec,
      new Map([
        ['bn.weight', Float64Array.of(1, 2)],
        ['bn.bias', Float64Array.of(0, 1)],
      ]),
    );
    expect(buffersOf(spec).map((b) => Array.from(net.buffers.get(b.name)!))).toEqual([
      [0, 0],
      [1, 1],
    ]);
    const expected = { mean: [0, 0], var: [1, 1] };
    for (const seed of [1, 2, 3]) {
      const batch = randomBatch(spec, 3, seed);
      gradients(net, batch, O64, { training: false });
      gradients(net, batch, O64, { training: true, updateRunningStats: false });
      expect(Array.from(net.buffers.get('bn.running_mean')!)).toEqual(expected.mean); // unchanged
      gradients(net, batch, O64, { training: true });
      for (let c = 0; c < 2; c++) {
        const v: number[] = [];
        for (let n = 0; n < 3; n++) for (let i = 0; i < 4; i++) v.push(batch.x[(n * 2 + c) * 4 + i]);
        const mean = v.reduce((a, b) => a + b, 0) / v.length;
        const unbiased = v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1);
        expected.mean[c] = 0.9 * expected.mean[c] + 0.1 * mean;
        expected.var[c] = 0.9 * expected.var[c] + 0.1 * unbiased;
        expect(Math.abs(net.buffers.get('bn.running_mean')![c] - expected.mean[c])).toBeLessThanOrEqual(1e-14);
        expect(Math.abs(net.buffers.get('bn.running_var')![c] - expected.var[c])).toBeLessThanOrEqual(1e-14);
      }
    }
  });
});
