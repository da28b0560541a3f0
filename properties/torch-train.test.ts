/**
 * PyTorch as a training backend (src/train/backends/torch.ts, bridges/torch/adzone_torch_train.py).
 *
 * Always run: the binary frames carry every bit pattern exactly however the stream is chunked; the
 * config rules (`device` is torch's, torch computes mode framework only, bfloat16 is not tfjs's).
 *
 * With PyTorch (Debian's python3-torch; skipped with one line otherwise):
 *  - the update is adzone's: from the same state and torch's own gradient, the engine's optimizer
 *    gives torch's new parameters and optimizer state bit for bit (SGD with momentum and weight
 *    decay, Adam; float32, float64, bfloat16 with fp32 masters);
 *  - step check: engine-32 strict and torch-32 start each step from the same state (parameters and
 *    momentum) and batch; their losses and gradients differ by at most the rounding bound D of
 *    bridges/torch/adzone_torch_bound.py (a running error analysis: what any two float32
 *    implementations of that step may differ by), and torch's new parameters and momentum lie in
 *    the interval the engine's update gives for gradients within D of its own. On the first MNIST
 *    batches at β = 0, and at β = 10 on a batch built with exact ties that matter (a duplicated
 *    largest weight in every conv1 kernel, isolated pixels of value 1: the tied conv1 outputs are
 *    exact in any implementation), in both β modes. The check can fail: there the engine's β = 10
 *    gradient lies outside D of its β = 0 gradient, and so does torch's gradient computed at β = 0;
 *  - the bridge builds what a spec says: batch norm (and its running statistics), padded overlapping
 *    MaxPool, a residual block, avgpool, global average: at 64 bits, where the two differ by
 *    rounding alone, torch's gradient, step and statistics are the engine's within 1e-9 relative;
 *  - a short LeNet-5 run on both backends ends within the seed spread (3 seeds, 64 steps of 64 images, lr 0.1);
 *  - a torch run stopped at a step and resumed ends bit for bit as the uninterrupted run;
 *  - `adzone train --backend torch` writes a valid result.json; no CUDA device, or float16 on a
 *    CPU, is one line and exit 2.
 * Not run here (no GPU in this suite): --device cuda and float16 training.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEngineNet, type EngineNet, gradients } from '../src/backends/engine/network.ts';
import { batches, datasetByName } from '../src/data/index.ts';
import type { EngineOptions } from '../src/engine/types.ts';
import { beta, type BetaMode, choice, type JacobianChoice } from '../src/jacobians/index.ts';
import { initBuffers, initParams, type ModelSpec, modelSpec, type NetLayer, uniformStream } from '../src/models/index.ts';
import { formatByName } from '../src/precision/index.ts';
import { readResult } from '../src/schema/index.ts';
import { createTorchTrainer, type TorchTrainer } from '../src/train/backends/torch.ts';
import { encodeFrame, FrameReader, type WireArray } from '../src/train/backends/torchBridge.ts';
import {
  CHECKPOINT_FILE,
  METRICS_FILE,
  readCheckpoint,
  resolveTrainConfig,
  TIME_KEYS,
  type TrainOptimizerOptions,
  type TrainPrecision,
  trainOptimizer,
  trainRun,
  type TrainRunConfig,
} from '../src/train/index.ts';
import { ConfigError } from '../src/util/errors.ts';
import { findPython } from '../src/util/python.ts';
import { runMain, tempDirs } from './support/cli.ts';

const tmp = tempDirs();
const found = findPython('torch');
const TORCH = 'missing' in found ? null : found;
if (!TORCH) console.log(`PyTorch not found: ${'missing' in found ? found.missing : ''} — the torch training backend tests are skipped`);

// ---------------------------------------------------------------------------------------------
// Always: frames and config rules.

describe('binary frames (adzone-torch-train 1)', () => {
  it('carry every float32 / float64 / int32 bit pattern exactly, however the stream is chunked', () => {
    const bits32 = fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { maxLength: 40 });
    const bits64 = fc.array(fc.tuple(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 2 ** 32 - 1 })), {
      maxLength: 20,
    });
    fc.assert(
      fc.property(bits32, bits64, fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 8 }), (b32, b64, cuts) => {
        const f32 = new Float32Array(new Int32Array(b32).buffer);
        const f64 = new Float64Array(new Uint32Array(b64.flat()).buffer);
        const i32 = Int32Array.from(b32);
        const arrays: [string, WireArray, number[]][] = [
          ['a', f32, [f32.length]],
          ['b', f64, [f64.length]],
          ['c', i32, [i32.length]],
        ];
        const bytes = Buffer.concat([encodeFrame({ type: 'x', id: '1' }, arrays), encodeFrame({ type: 'y' })]);
        const reader = new FrameReader();
        const frames = [];
        for (let at = 0, i = 0; at < bytes.length; i++) {
          const n = cuts[i % cuts.length];
          frames.push(...reader.push(bytes.subarray(at, at + n)));
          at += n;
        }
        expect(frames.map((f) => f.head.type)).toEqual(['x', 'y']);
        const bitsOf = (a: WireArray) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');
        for (const [name, a] of arrays) expect(bitsOf(frames[0].arrays.get(name)!)).toBe(bitsOf(a));
      }),
      { numRuns: 200 },
    );
  });

  it('refuse a frame whose arrays do not fill its payload', () => {
    const bad = Buffer.from(`${JSON.stringify({ type: 'x', bytes: 8, arrays: [{ name: 'a', dtype: 'float32', shape: [1] }] })}\n12345678`);
    expect(() => new FrameReader().push(bad)).toThrow(/the arrays take 4 bytes, the payload has 8/);
  });
});

describe('config', () => {
  const base = { model: 'lenet5', dataset: 'mnist', beta: 0, epochs: 1 } as const;
  it('torch runs in its own arithmetic (mode framework) on a device it records; the others record none', () => {
    expect(resolveTrainConfig({ ...base, precision: '32', backend: 'torch' })).toMatchObject({ mode: 'framework', device: 'cpu' });
    expect(resolveTrainConfig({ ...base, precision: 'bf16', backend: 'torch', device: 'cuda' })).toMatchObject({ device: 'cuda' });
    expect(resolveTrainConfig({ ...base, precision: '32' })).not.toHaveProperty('device');
    expect(resolveTrainConfig({ ...base, precision: 'bf16' })).toMatchObject({ backend: 'engine', mode: 'strict' });
  });
  it('refuses what a backend cannot do, naming the field', () => {
    const refused = (o: object, field: string) => {
      const e = (() => {
        try {
          resolveTrainConfig({ ...base, ...o } as never);
        } catch (x) {
          return x;
        }
      })();
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).field).toBe(field);
    };
    refused({ precision: '32', backend: 'torch', mode: 'strict' }, 'backend');
    refused({ precision: '32', device: 'cuda' }, 'device');
    refused({ precision: '32', backend: 'torch', device: 'tpu' }, 'device');
    refused({ precision: 'bf16', backend: 'tfjs-wasm' }, 'backend');
    refused({ precision: '32', backend: 'torch', lossScale: 'dynamic' }, 'lossScale');
  });
});

// ---------------------------------------------------------------------------------------------
// With PyTorch.

const MNIST = datasetByName('mnist');
const SPEC = modelSpec('lenet5', { classes: 10, input: MNIST.shape });
const SGD: TrainOptimizerOptions = { kind: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 5e-4 };
type Batch = { x: Float64Array; shape: readonly [number, number, number, number]; labels: Int32Array };

function mnistBatches(n: number, size: number): Batch[] {
  const train = MNIST.load('train', { limit: n * size });
  return [...batches(train, { batchSize: size, seed: 1, epoch: 0 })];
}

function torchTrainer(precision: TrainPrecision, jacobian: JacobianChoice, params: ReadonlyMap<string, Float64Array>, optimizer = SGD) {
  return createTorchTrainer({
    backend: 'torch',
    precision,
    mode: 'framework',
    jacobian,
    spec: SPEC,
    params,
    buffers: initBuffers(SPEC),
    optimizer,
  });
}

/**
 * A batch whose MaxPool ties matter, exact in any implementation: every conv1 kernel gets its
 * largest weight twice, side by side, and the images are zeros with isolated pixels of value 1 (at
 * least 5 apart, so each conv1 output holds one exact product): two horizontal neighbours of a
 * conv1 output see the same pixel through the two equal weights, so they tie exactly, at the max of
 * their pooling window.
 */
function tieBatch(seed: number): { theta: Map<string, Float64Array>; batch: Batch } {
  const theta = initParams(SPEC, seed);
  const w = theta.get('conv1.weight')!;
  for (let c = 0; c < 6; c++) {
    const k = w.subarray(c * 25, c * 25 + 25);
    let best = 0;
    for (let t = 1; t < 25; t++) if (k[t] > k[best]) best = t;
    const at = Math.floor(best / 5) * 5 + Math.min(best % 5, 3);
    k[at] = k[at + 1] = Math.fround(k[best]);
  }
  const N = 8;
  const x = new Float64Array(N * 784);
  const labels = new Int32Array(N);
  for (let n = 0; n < N; n++) {
    labels[n] = n;
    for (const r of [4 + (n % 3), 11 + (n % 2), 18 + (n % 4)])
      for (const c of [3 + (n % 2), 9 + ((n >> 1) % 2), 15 + (n % 3), 21 + (n >> 2)]) x[n * 784 + r * 28 + c] = 1;
  }
  return { theta, batch: { x, shape: [N, 1, 28, 28], labels } };
}

const F32 = formatByName('32');
const strict32 = (jacobian: JacobianChoice): EngineOptions => ({ format: F32, accumulate: 'strict', jacobian });

type Exported = ReturnType<ReturnType<typeof trainOptimizer>['exportState']>;

/** The engine's optimizer restored from `from`, stepping a copy of `params` on `grads`: the parameters and optimizer state after. */
function engineUpdate(params: ReadonlyMap<string, Float64Array>, from: Exported, grads: ReadonlyMap<string, Float64Array>) {
  const opt = trainOptimizer(SGD);
  opt.importState(from.state, from.arrays);
  const p = new Map([...params].map(([k, v]) => [k, v.slice()] as const));
  opt.step(p, grads, F32);
  return { params: p, state: opt.exportState() };
}

/** The gradients g ± D (per entry). */
const shifted = (g: ReadonlyMap<string, Float64Array>, D: ReadonlyMap<string, Float64Array>, sign: 1 | -1) =>
  new Map([...g].map(([k, v]) => [k, v.map((x, i) => x + sign * D.get(k)![i])] as const));

/** Entries of `got` outside [lo, hi] (the first few, described). */
function outside(
  got: ReadonlyMap<string, Float64Array>,
  lo: ReadonlyMap<string, Float64Array>,
  hi: ReadonlyMap<string, Float64Array>,
): string[] {
  const bad: string[] = [];
  for (const [k, v] of got) {
    const a = lo.get(k)!;
    const b = hi.get(k)!;
    for (let i = 0; i < v.length && bad.length < 5; i++)
      if (!(a[i] <= v[i] && v[i] <= b[i])) bad.push(`${k}[${i}] = ${v[i]} not in [${a[i]}, ${b[i]}]`);
  }
  return bad;
}

/** max |a − b| / D over the entries where they differ (0 when equal everywhere). */
function ratio(a: ReadonlyMap<string, Float64Array>, b: ReadonlyMap<string, Float64Array>, D: ReadonlyMap<string, Float64Array>): number {
  let r = 0;
  for (const [k, v] of a) {
    const w = b.get(k)!;
    const d = D.get(k)!;
    for (let i = 0; i < v.length; i++) if (v[i] !== w[i]) r = Math.max(r, Math.abs(v[i] - w[i]) / d[i]);
  }
  return r;
}

/**
 * One locked step: torch loads the engine's state (parameters, momentum), both compute the batch's
 * loss and gradient, which must differ by at most D; torch steps, and its parameters and momentum
 * must lie between the engine's update on g + D and on g − D (the update is monotone in the
 * gradient). The engine then steps on its own gradient.
 */
async function lockedStep(torch: TorchTrainer, net: EngineNet, opts: EngineOptions, batch: Batch, before: Exported) {
  await torch.load(net.params, before);
  const bound = await torch.bound(batch);
  const t = await torch.gradients(batch);
  const e = gradients(net, batch, opts, { training: true });
  const D = bound.diff;
  const lower = new Map([...e.grads].map(([k, v]) => [k, v.map((x, i) => x - D.get(k)![i])] as const));
  expect(outside(t.grads, lower, shifted(e.grads, D, 1))).toEqual([]);
  expect(Math.abs(e.loss - t.loss)).toBeLessThanOrEqual(D.get('loss')![0]);
  const container = trainOptimizer(SGD);
  await torch.step(batch, container, null);
  await torch.sync(container);
  const plus = engineUpdate(net.params, before, shifted(e.grads, D, 1));
  const minus = engineUpdate(net.params, before, shifted(e.grads, D, -1));
  expect(outside(torch.params, plus.params, minus.params)).toEqual([]);
  expect(outside(container.exportState().arrays, minus.state.arrays, plus.state.arrays)).toEqual([]);
  const next = engineUpdate(net.params, before, e.grads);
  for (const [k, v] of next.params) net.params.get(k)!.set(v);
  return { gradRatio: ratio(e.grads, t.grads, D), uncertain: bound.uncertain, next: next.state, engineGrads: e.grads, D };
}

/** Locked steps of engine-32 strict and torch-32 from θ over `steps` batches. */
async function stepCheck(theta: Map<string, Float64Array>, jacobian: JacobianChoice, steps: readonly Batch[]) {
  const torch = await torchTrainer('32', jacobian, theta);
  try {
    const net = createEngineNet(SPEC, theta);
    for (const v of net.params.values()) for (let i = 0; i < v.length; i++) v[i] = Math.fround(v[i]);
    const out: Awaited<ReturnType<typeof lockedStep>>[] = [];
    let state = trainOptimizer(SGD).exportState();
    for (const b of steps) {
      const r = await lockedStep(torch, net, strict32(jacobian), b, state);
      state = r.next;
      out.push(r);
    }
    return out;
  } finally {
    await torch.close();
  }
}

describe.skipIf(!TORCH)(
  `torch training backend (${TORCH ? `torch ${TORCH.moduleVersion} at ${TORCH.python}` : 'PyTorch not found'})`,
  () => {
    it('steps with adzone’s update: the engine’s optimizer on torch’s own gradient gives torch’s step bit for bit', async () => {
      const cases: [TrainPrecision, TrainOptimizerOptions][] = [
        ['32', SGD],
        ['32', { kind: 'adam', lr: 0.001, weightDecay: 5e-4 }],
        ['64', { kind: 'adam', lr: 0.001 }],
        ['bf16', { kind: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 5e-4, masterWeights: '32' }],
      ];
      const steps = mnistBatches(3, 16);
      for (const [precision, o] of cases) {
        const format = formatByName(precision);
        const torch = await torchTrainer(precision, choice(beta(0)), initParams(SPEC, 2), o);
        try {
          const engineOpt = trainOptimizer(o);
          const params = new Map([...torch.params].map(([k, v]) => [k, v.slice()] as const));
          for (const b of steps) {
            const { grads } = await torch.gradients(b);
            engineOpt.step(params, grads, format);
            const container = trainOptimizer(o);
            await torch.step(b, container, null);
            await torch.sync(container);
            const hex = (m: ReadonlyMap<string, Float64Array>) => [...m].map(([k, v]) => `${k}:${Buffer.from(v.buffer).toString('hex')}`);
            expect(hex(torch.params), `${precision} ${o.kind}`).toEqual(hex(params));
            expect(hex(container.exportState().arrays)).toEqual(hex(engineOpt.exportState().arrays));
            expect(container.exportState().state.params).toEqual(engineOpt.exportState().state.params);
          }
        } finally {
          await torch.close();
        }
      }
    }, 120_000);

    it('engine-32 and torch-32 agree within the rounding bound step by step on MNIST at β = 0', async () => {
      const r = await stepCheck(initParams(SPEC, 3), choice(beta(0)), mnistBatches(3, 32));
      expect(r).toHaveLength(3);
      for (const step of r) expect(step.gradRatio).toBeLessThanOrEqual(1);
    }, 120_000);

    for (const mode of ['backward', 'mixed-forward'] as const satisfies readonly BetaMode[]) {
      it(`agree within the bound at β = 10 (${mode}) on a batch whose ties matter, where β = 0 is outside it`, async () => {
        const { theta, batch } = tieBatch(3);
        const jac = choice(beta(10), 0, mode);
        const [first, ...rest] = await stepCheck(theta, jac, [batch, batch, batch]);
        expect(rest).toHaveLength(2);
        // The bound is tight enough to see β: the engine's β = 0 gradient and torch's are both outside it.
        const net0 = createEngineNet(SPEC, theta);
        const e0 = gradients(net0, batch, strict32(choice(beta(0), 0, mode)), { training: true }).grads;
        const torch0 = await torchTrainer('32', choice(beta(0), 0, mode), theta);
        const t0 = (await torch0.gradients(batch)).grads;
        await torch0.close();
        expect(ratio(first.engineGrads, e0, first.D)).toBeGreaterThan(1);
        expect(ratio(first.engineGrads, t0, first.D)).toBeGreaterThan(1);
      }, 120_000);
    }

    it('builds what the spec says: batch norm, padded overlapping MaxPool, residual, avgpool agree with the engine at 64 bits', async () => {
      const spec = layeredSpec();
      const params = initParams(spec, 5);
      const rng = uniformStream(7);
      const N = 6;
      const batch: Batch = {
        x: Float64Array.from({ length: N * 2 * 12 * 12 }, () => 2 * rng() - 1),
        shape: [N, 2, 12, 12],
        labels: Int32Array.from({ length: N }, (_, i) => i % 3),
      };
      const jac = choice(beta(10));
      const o: TrainOptimizerOptions = { kind: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 1e-3 };
      const torch = await createTorchTrainer({
        backend: 'torch',
        precision: '64',
        mode: 'framework',
        jacobian: jac,
        spec,
        params,
        buffers: initBuffers(spec),
        optimizer: o,
      });
      try {
        const net = createEngineNet(spec, new Map([...params, ...initBuffers(spec)]));
        const opts: EngineOptions = { format: formatByName('64'), accumulate: 'strict', jacobian: jac };
        const t = await torch.gradients(batch);
        const e = gradients(net, batch, opts, { training: true });
        // At 64 bits the two differ by rounding only (measured: at most 5e-15 relative); any difference in what
        // is computed (a statistic, a window, a branch) moves a gradient by orders of magnitude more.
        const close = (a: ReadonlyMap<string, Float64Array>, b: ReadonlyMap<string, Float64Array>) =>
          expect(relDiff(a, b)).toBeLessThan(1e-9);
        close(t.grads, e.grads);
        expect(Math.abs(t.loss - e.loss) / e.loss).toBeLessThan(1e-12);
        const engineOpt = trainOptimizer(o);
        engineOpt.step(net.params, e.grads, formatByName('64'));
        const container = trainOptimizer(o);
        await torch.step(batch, container, null);
        await torch.sync(container);
        close(torch.params, net.params);
        close(torch.buffers(), net.buffers);
        const ev = await torch.evaluate(batch);
        const { evaluateBatch } = await import('../src/backends/engine/network.ts');
        expect(Math.abs(ev.loss - evaluateBatch(net, batch, opts).loss)).toBeLessThan(1e-12);
      } finally {
        await torch.close();
      }
    }, 60_000);

    it('a short LeNet-5 run ends within the seed spread on both backends', async () => {
      const acc: Record<string, number[]> = { engine: [], torch: [] };
      for (const seed of [1, 2, 3])
        for (const backend of ['engine', 'torch'] as const) {
          const out = tmp('adzone-torch-spread-');
          const r = await trainRun({ ...shortRun(out, seed), backend, ...(backend === 'engine' ? { mode: 'strict' } : {}) });
          if (!('result' in r)) throw new Error(`the ${backend} run did not end`);
          acc[backend].push(r.result.finalTestAcc!);
        }
      const spread = Math.max(...acc.engine) - Math.min(...acc.engine);
      expect(spread).toBeGreaterThan(0);
      for (let s = 0; s < 3; s++) expect(Math.abs(acc.torch[s] - acc.engine[s]), `seed ${s + 1}`).toBeLessThanOrEqual(spread);
    }, 240_000);

    it('a torch run stopped at a step and resumed ends bit for bit as the uninterrupted one', async () => {
      const cfg = (out: string): TrainRunConfig => ({
        model: 'lenet5',
        dataset: 'mnist',
        beta: 10,
        precision: '32',
        backend: 'torch',
        epochs: 2,
        batchSize: 32,
        lr: 0.05,
        weightDecay: 5e-4,
        limitTrain: 160,
        limitTest: 64,
        logEvery: 2,
        out,
        checkpointEvery: { steps: 3 },
        versions: { adzone: 'test' },
        command: 'first',
      });
      const [a, b] = [tmp('adzone-torch-whole-'), tmp('adzone-torch-cut-')];
      const whole = await trainRun(cfg(a));
      expect((await trainRun(cfg(b), { crashAt: (p, s) => p === 'step' && s === 7 })).status).toBe('interrupted');
      const rest = await trainRun({ ...cfg(b), resume: true });
      expect(rest).toMatchObject({ status: whole.status, resumed: true });
      expect(finalState(b)).toEqual(finalState(a));
    }, 120_000);

    it('adzone train --backend torch writes a valid result.json; no CUDA, or float16 on a CPU, is one line and exit 2', async () => {
      const d = tmp('adzone-torch-cli-');
      const args = (precision: string, out: string) =>
        [
          'train',
          '--backend',
          'torch',
          '--model',
          'lenet5',
          '--dataset',
          'mnist',
          '--beta',
          '0',
          '--precision',
          precision,
          '--epochs',
          '1',
        ].concat(['--limit-train', '256', '--limit-test', '128', '--out', out, '--quiet']);
      const ok = await runMain(...args('32', d));
      expect(ok.code, ok.err).toBe(0);
      const result = readResult(join(d, 'result.json'), 'train').data as {
        backend: string;
        config: { device?: string };
        versions: Record<string, unknown>;
      };
      expect(result).toMatchObject({ backend: 'torch', config: { device: 'cpu' }, versions: { torchDtype: 'float32', torchThreads: 1 } });
      const cuda = await runMain(...args('32', tmp('adzone-torch-cuda-')), '--device', 'cuda');
      expect(cuda.code).toBe(2);
      expect(cuda.err.split('\n')[0]).toMatch(/^adzone: --device cuda: .*no CUDA device/);
      const half = await runMain(...args('16', tmp('adzone-torch-half-')));
      expect(half.code).toBe(2);
      expect(half.err.split('\n')[0]).toMatch(/^adzone: --backend torch cannot train at --precision 16 on cpu: .*Half/);
    }, 120_000);
  },
);

/** max over tensors of max|a − b| / max|b|. */
function relDiff(a: ReadonlyMap<string, Float64Array>, b: ReadonlyMap<string, Float64Array>): number {
  let r = 0;
  for (const [k, v] of b) {
    const w = a.get(k)!;
    let d = 0;
    let m = 0;
    for (let i = 0; i < v.length; i++) {
      d = Math.max(d, Math.abs(v[i] - w[i]));
      m = Math.max(m, Math.abs(v[i]));
    }
    r = Math.max(r, m === 0 ? d : d / m);
  }
  return r;
}

/**
 * Every kind of layer the bridge builds: conv (padded) → batch norm → ReLU → MaxPool 3×3/2 padded
 * (overlapping windows) → a residual block (conv, BN, ReLU, conv, BN | 1×1 conv, BN) → ReLU → avgpool
 * 2×2 → global average → flatten → linear.
 */
function layeredSpec(): ModelSpec {
  const conv = (name: string, i: number, o: number, k: number, s: number, p: number): NetLayer => ({
    kind: 'conv2d',
    name,
    inChannels: i,
    outChannels: o,
    kernel: [k, k],
    stride: [s, s],
    padding: [p, p],
    bias: false,
    init: 'torch-default',
  });
  const bn = (name: string, c: number): NetLayer => ({ kind: 'batchnorm2d', name, channels: c, eps: 1e-5, momentum: 0.1 });
  return {
    name: 'layered',
    variant: 'test',
    input: [2, 12, 12],
    classes: 3,
    layers: [
      conv('conv1', 2, 4, 3, 1, 1),
      bn('bn1', 4),
      { kind: 'relu' },
      { kind: 'maxpool', kernel: [3, 3], stride: [2, 2], padding: [1, 1] },
      {
        kind: 'residual',
        body: [
          conv('block.conv1', 4, 6, 3, 1, 1),
          bn('block.bn1', 6),
          { kind: 'relu' },
          conv('block.conv2', 6, 6, 3, 1, 1),
          bn('block.bn2', 6),
        ],
        shortcut: [conv('block.down.0', 4, 6, 1, 1, 0), bn('block.down.1', 6)],
      },
      { kind: 'relu' },
      { kind: 'avgpool', kernel: [2, 2], stride: [2, 2] },
      { kind: 'globalavgpool' },
      { kind: 'flatten' },
      { kind: 'linear', name: 'fc', inFeatures: 6, outFeatures: 3, bias: true, init: 'torch-default' },
    ],
  };
}

function shortRun(out: string, seed: number): TrainRunConfig {
  return {
    model: 'lenet5',
    dataset: 'mnist',
    beta: 0,
    precision: '32',
    epochs: 1,
    lr: 0.1,
    limitTrain: 4096,
    limitTest: 1000,
    logEvery: 1000,
    seed,
    out,
    versions: { adzone: 'test' },
  };
}

/** A run folder's final arrays (as bytes) and metrics without wall times. */
function finalState(out: string) {
  const c = readCheckpoint<{ position: unknown; optimizer: unknown }>(join(out, CHECKPOINT_FILE));
  const bytes = Object.fromEntries([...c.arrays].map(([k, v]) => [k, Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')]));
  const metrics = readFileSync(join(out, METRICS_FILE), 'utf8')
    .trim()
    .split('\n')
    .map((l) => Object.fromEntries(Object.entries(JSON.parse(l)).filter(([k]) => !(TIME_KEYS as readonly string[]).includes(k))));
  return { bytes, metrics, position: c.header.position, optimizer: c.header.optimizer };
}
