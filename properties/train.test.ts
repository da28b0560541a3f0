/**
 * `adzone train` on tiny runs (LeNet-5, a few hundred MNIST images, a handful of steps):
 *  - an optimizer (the engine's sgd/adam, as trainOptimizer builds them) restored mid-run from its
 *    exported state continues bit for bit, in the checkpoint format; a learning rate set between
 *    steps is the next step's;
 *  - the checkpoint format reads back what it wrote, and refuses truncated or corrupt files;
 *  - the same seed gives identical parameters and metrics (engine and tfjs-wasm);
 *  - a run stopped after k steps (by the test hook, and by a real SIGKILL of the process) and
 *    resumed ends with byte-identical parameters and identical metrics (wall times aside);
 *  - a huge learning rate is recorded as `diverged`, not a crash;
 *  - a damaged checkpoint gives a clear error naming the file and is left untouched;
 *  - two processes never train in one folder at once (a lock file, taken over once its process is gone);
 *  - bad options exit 2.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { adam, sgd } from '../src/engine/optim/index.ts';
import { F16, F32, F64, type Format } from '../src/precision/index.ts';
import { rounder } from '../src/engine/arith.ts';
import { runMain } from './support/cli.ts';
import {
  CHECKPOINT_FILE,
  LOCK_FILE,
  METRICS_FILE,
  RESULT_FILE,
  TIME_KEYS,
  decodeCheckpoint,
  encodeCheckpoint,
  openCheckpoint,
  readCheckpoint,
  trainRun,
  trainOptimizer,
  type CheckpointHeader,
  type TrainConfig,
  type TrainResult,
} from '../src/train/index.ts';
import { runs } from '../src/nightly/runs.ts';

const bin = fileURLToPath(new URL('../bin/adzone.js', import.meta.url));

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'adzone-train-'));
}

/** LeNet-5 on 192 MNIST train images in batches of 32 (6 steps an epoch), 64 test images. */
function tiny(over: Partial<TrainConfig> = {}): TrainConfig {
  return {
    model: 'lenet5',
    dataset: 'mnist',
    beta: 10,
    betaMode: 'backward',
    reluAlpha: 0,
    precision: '32',
    mode: 'strict',
    backend: 'engine',
    epochs: 2,
    batchSize: 32,
    optimizer: 'sgd',
    lr: 0.05,
    momentum: 0.9,
    weightDecay: 1e-4,
    lrSchedule: 'step:1:0.5',
    masterWeights: 'p',
    lossScale: 'none',
    batchNorm: false,
    width: null,
    augment: false,
    seed: 3,
    limitTrain: 192,
    limitTest: 64,
    logEvery: 2,
    ...over,
  };
}

async function train(
  config: TrainConfig,
  out: string,
  extra: { stopAfter?: number; every?: number; resume?: boolean; continueOnDivergence?: boolean } = {},
) {
  return trainRun(
    {
      ...config,
      out,
      resume: extra.resume === true,
      checkpointEvery: { steps: extra.every ?? 4 },
      versions: { adzone: 'test' },
      command: 'test',
      ...(extra.continueOnDivergence ? { continueOnDivergence: true } : {}),
    },
    extra.stopAfter !== undefined ? { crashAt: (p, s) => p === 'step' && s === extra.stopAfter } : {},
  );
}

/** The final state of a run folder: every array of its checkpoint as bytes, and its metrics without wall times. */
function finalState(out: string) {
  const c = readCheckpoint<CheckpointHeader>(join(out, CHECKPOINT_FILE));
  const bytes = new Map([...c.arrays].map(([k, v]) => [k, Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')]));
  const strip = (line: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(line).filter(([k]) => !(TIME_KEYS as readonly string[]).includes(k)));
  const metrics = readFileSync(join(out, METRICS_FILE), 'utf8')
    .trim()
    .split('\n')
    .map((l) => strip(JSON.parse(l) as Record<string, unknown>));
  return { header: c.header, bytes, metrics };
}

function expectSameState(a: ReturnType<typeof finalState>, b: ReturnType<typeof finalState>) {
  expect([...b.bytes.keys()]).toEqual([...a.bytes.keys()]);
  for (const [k, v] of a.bytes) expect(b.bytes.get(k), k).toBe(v);
  expect(b.metrics).toEqual(a.metrics);
  expect(b.header.position).toEqual(a.header.position);
  expect(b.header.optimizer).toEqual(a.header.optimizer);
}

/** Capture what `main` writes to stdout/stderr (the shared helper every CLI test uses). */
const cli = runMain;

describe('optimizer state and learning rate (what checkpoints and schedules rely on)', () => {
  const formats: [string, Format][] = [
    ['16', F16],
    ['32', F32],
    ['64', F64],
  ];
  const bits = (a: Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');

  it.each(formats)(
    'at %s bits, an optimizer restored mid-run from an export (through JSON) continues bit for bit as the uninterrupted one, lr changing between steps',
    (_n, format) => {
      fc.assert(
        fc.property(
          fc.constantFrom('sgd' as const, 'adam' as const),
          fc.constantFrom('p' as const, '32' as const),
          fc.constantFrom(0, 0.9),
          fc.array(fc.double({ min: 1e-4, max: 0.5, noNaN: true }), { minLength: 6, maxLength: 6 }),
          fc.constantFrom(0, 1e-3),
          fc.array(fc.double({ min: -4, max: 4, noNaN: true }), { minLength: 5, maxLength: 5 }),
          fc.integer({ min: 1, max: 5 }),
          (kind, masterWeights, momentum, lrs, weightDecay, raw, cut) => {
            const r = rounder(format);
            const w0 = new Float64Array(raw.map(r));
            const mk = () =>
              new Map([
                ['w', w0.slice()],
                ['b', w0.slice(0, 2)],
              ]);
            const gradsAt = (t: number) =>
              new Map([
                ['w', w0.map((v, i) => r(Math.sin(t + i) * v))],
                ['b', new Float64Array([r(0.25 * t), 0])],
              ]);
            const make = (lr: number) => trainOptimizer({ kind, lr, momentum: kind === 'sgd' ? momentum : 0, weightDecay, masterWeights });
            const ref = make(lrs[0]);
            let mine = make(lrs[0]);
            const a = mk();
            const b = mk();
            for (let t = 1; t <= 6; t++) {
              ref.lr = lrs[t - 1];
              mine.lr = lrs[t - 1];
              ref.step(a, gradsAt(t), format);
              mine.step(b, gradsAt(t), format);
              if (t === cut) {
                const s = mine.exportState();
                const state = JSON.parse(JSON.stringify(s.state)) as typeof s.state;
                const arrays = s.arrays;
                mine.step(mk(), gradsAt(99), format); // the export is a copy: the old optimizer moving on changes nothing
                mine = make(1); // another lr: the import restores the exported one
                mine.importState(state, arrays);
                expect(mine.lr).toBe(lrs[t - 1]);
                for (const v of arrays.values()) v.fill(NaN); // the import copied the arrays
              }
            }
            for (const k of ['w', 'b']) expect(bits(b.get(k)!)).toBe(bits(a.get(k)!));
            // and the whole state, exported again, is the uninterrupted one's
            const [x, y] = [ref.exportState(), mine.exportState()];
            expect(y.state).toEqual(x.state);
            expect([...y.arrays.keys()]).toEqual([...x.arrays.keys()]);
            for (const [k, v] of x.arrays) expect(bits(y.arrays.get(k)!)).toBe(bits(v));
          },
        ),
        { numRuns: runs(60) },
      );
    },
  );

  it(`exports the checkpoint format: { kind, lr, params: [{ name, step, master, buffers }] } and arrays \`\${param}/\${buffer}\``, () => {
    const p = () =>
      new Map([
        ['w', Float64Array.of(1, -2)],
        ['b', Float64Array.of(0.5)],
      ]);
    const g = new Map([
      ['w', Float64Array.of(0.25, 0.5)],
      ['b', Float64Array.of(-1)],
    ]);
    const s16 = sgd({ lr: 0.1, momentum: 0.9, masterWeights: '32' });
    const a16 = adam({ lr: 0.01, masterWeights: '32' });
    const plain = sgd({ lr: 0.1 });
    for (const o of [s16, a16, plain]) for (let i = 0; i < 3; i++) o.step(p(), g, F16);
    const shape = (o: typeof s16) => {
      const { state, arrays } = o.exportState();
      return { json: JSON.stringify(state), keys: [...arrays.keys()], lengths: [...arrays.values()].map((v) => v.length) };
    };
    expect(shape(s16)).toEqual({
      json: '{"kind":"sgd","lr":0.1,"params":[{"name":"w","step":0,"master":true,"buffers":["momentum"]},{"name":"b","step":0,"master":true,"buffers":["momentum"]}]}',
      keys: ['w/master', 'w/momentum', 'b/master', 'b/momentum'],
      lengths: [2, 2, 1, 1],
    });
    expect(shape(a16)).toEqual({
      json: '{"kind":"adam","lr":0.01,"params":[{"name":"w","step":3,"master":true,"buffers":["exp_avg","exp_avg_sq"]},{"name":"b","step":3,"master":true,"buffers":["exp_avg","exp_avg_sq"]}]}',
      keys: ['w/master', 'w/exp_avg', 'w/exp_avg_sq', 'b/master', 'b/exp_avg', 'b/exp_avg_sq'],
      lengths: [2, 2, 2, 1, 1, 1],
    });
    expect(shape(plain)).toEqual({
      json: '{"kind":"sgd","lr":0.1,"params":[{"name":"w","step":0,"master":false,"buffers":[]},{"name":"b","step":0,"master":false,"buffers":[]}]}',
      keys: [],
      lengths: [],
    });
    // refusals, leaving the optimizer as it was
    const before = JSON.stringify(a16.exportState().state);
    expect(() => a16.importState(s16.exportState().state, s16.exportState().arrays)).toThrow(/sgd's, this optimizer is adam/);
    const { state, arrays } = a16.exportState();
    arrays.delete('b/exp_avg_sq');
    expect(() => a16.importState(state, arrays)).toThrow(/'b\/exp_avg_sq' is missing/);
    expect(JSON.stringify(a16.exportState().state)).toBe(before);
    expect(() => (a16.lr = -1)).toThrow(/lr must be ≥ 0/);
    expect(a16.lr).toBe(0.01);
  });

  it('a learning rate set between steps is the one the next step uses (64 bits, against the closed forms with lr_t per step), and names the optimizer', () => {
    const vec = fc.array(fc.double({ min: -4, max: 4, noNaN: true }), { minLength: 3, maxLength: 3 });
    fc.assert(
      fc.property(
        fc.constantFrom('sgd' as const, 'adam' as const),
        vec,
        fc.array(fc.tuple(vec, fc.double({ min: 1e-3, max: 0.5, noNaN: true })), { minLength: 1, maxLength: 5 }),
        fc.constantFrom(0, 0.9),
        fc.constantFrom(0, 0.1),
        (kind, w0, steps, momentum, weightDecay) => {
          const [beta1, beta2, eps] = [0.9, 0.999, 1e-8];
          const opt = kind === 'sgd' ? sgd({ lr: 7, momentum, weightDecay }) : adam({ lr: 7, beta1, beta2, eps, weightDecay });
          const w = Float64Array.from(w0);
          const ref = [...w0];
          const buf = w0.map(() => 0);
          const m = w0.map(() => 0);
          const v = w0.map(() => 0);
          for (const [t, [g, lr]] of steps.entries()) {
            opt.lr = lr;
            expect(opt.name).toContain(`(lr=${lr},`);
            opt.step(new Map([['w', w]]), new Map([['w', Float64Array.from(g)]]), F64);
            for (let i = 0; i < ref.length; i++) {
              const gt = g[i] + weightDecay * ref[i];
              if (kind === 'sgd') {
                buf[i] = t === 0 ? gt : momentum * buf[i] + gt;
                ref[i] -= lr * (momentum === 0 ? gt : buf[i]);
              } else {
                m[i] = beta1 * m[i] + (1 - beta1) * gt;
                v[i] = beta2 * v[i] + (1 - beta2) * gt * gt;
                ref[i] -= (lr / (1 - beta1 ** (t + 1))) * (m[i] / (Math.sqrt(v[i]) / Math.sqrt(1 - beta2 ** (t + 1)) + eps));
              }
            }
            for (let i = 0; i < ref.length; i++) expect(Math.abs(w[i] - ref[i])).toBeLessThanOrEqual(1e-10 * (1 + Math.abs(ref[i])));
          }
        },
      ),
      { numRuns: runs(200) },
    );
  });
});

describe('checkpoint files', () => {
  it('read back exactly what was written: arrays bit for bit, NaN, ±Infinity and −0 in the header', () => {
    const arrays = new Map([
      ['a', new Float64Array([1, -0, NaN, Infinity, 2 ** -1074])],
      ['b', new Float64Array(0)],
    ]);
    const bytes = encodeCheckpoint({ x: NaN, y: -Infinity, z: -0, s: 'ok' }, arrays);
    const c = decodeCheckpoint<{ x: number; y: number; z: number; s: string }>('f', bytes);
    expect(c.header.x).toBeNaN();
    expect(c.header.y).toBe(-Infinity);
    expect(Object.is(c.header.z, -0)).toBe(true);
    expect(Buffer.from(c.arrays.get('a')!.buffer).equals(Buffer.from(arrays.get('a')!.buffer))).toBe(true);
    expect(c.arrays.get('b')!.length).toBe(0);
  });

  it('refuse every truncation and any flipped byte, naming the file', () => {
    const bytes = encodeCheckpoint({ s: 'x' }, new Map([['a', new Float64Array([1, 2, 3])]]));
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: bytes.length - 1 }),
        fc.integer({ min: 0, max: bytes.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        (cut, at, x) => {
          expect(() => decodeCheckpoint('/some/run/checkpoint.bin', bytes.subarray(0, cut))).toThrow(
            /checkpoint \/some\/run\/checkpoint\.bin (is|has)/,
          );
          const bad = Buffer.from(bytes);
          bad[at] ^= x;
          expect(() => decodeCheckpoint('/some/run/checkpoint.bin', bad)).toThrow(/\/some\/run\/checkpoint\.bin/);
        },
      ),
      { numRuns: runs(100) },
    );
  });
});

describe('adzone train: tiny runs', () => {
  it('the same seed gives identical parameters and metrics (engine, 16-bit strict, Adam with dynamic loss scaling)', async () => {
    const dirs = [tmp(), tmp(), tmp()];
    try {
      const cfg = tiny({ precision: '16', optimizer: 'adam', lr: 0.002, momentum: 0, lossScale: 'dynamic', epochs: 1 });
      await train(cfg, dirs[0]);
      await train(cfg, dirs[1]);
      expectSameState(finalState(dirs[0]), finalState(dirs[1]));
      // and another seed does not
      await train({ ...cfg, seed: 4 }, dirs[2]);
      expect(finalState(dirs[2]).bytes.get('param/conv1.weight')).not.toBe(finalState(dirs[0]).bytes.get('param/conv1.weight'));
      const m = finalState(dirs[0]).metrics;
      expect(m.filter((l) => l.kind === 'step').every((l) => typeof l.skipped === 'number' && typeof l.lossScale === 'number')).toBe(true);
    } finally {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  });

  it('the same seed gives identical parameters and metrics on tfjs-wasm at 32 bits', async () => {
    const dirs = [tmp(), tmp()];
    try {
      const cfg = tiny({ backend: 'tfjs-wasm', mode: 'framework', epochs: 1 });
      await train(cfg, dirs[0]);
      await train(cfg, dirs[1]);
      expectSameState(finalState(dirs[0]), finalState(dirs[1]));
      const r = JSON.parse(readFileSync(join(dirs[0], RESULT_FILE), 'utf8')) as TrainResult;
      expect(r).toMatchObject({
        schema: 'adzone/train',
        schemaVersion: 1,
        status: 'completed',
        backend: 'tfjs-wasm',
        precision: '32',
        mode: 'framework',
        betaMode: 'backward',
      });
      expect(r.versions).toMatchObject({
        adzone: 'test',
        '@tensorflow/tfjs': expect.any(String),
        '@tensorflow/tfjs-backend-wasm': expect.any(String),
      });
      expect(r.epochs).toHaveLength(1);
      expect(r.finalTestAcc).toBe(r.epochs[0].testAcc);
    } finally {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  });

  it.each([
    ['engine, 32-bit strict, SGD, BN', tiny({ batchNorm: true })],
    [
      'tfjs-wasm, 16-bit wide, mixed-forward β',
      tiny({ backend: 'tfjs-wasm', precision: '16', mode: 'wide', betaMode: 'mixed-forward', epochs: 1, limitTrain: 96, limitTest: 32 }),
    ],
  ])('a run stopped after k steps and resumed ends bit for bit where an uninterrupted one does (%s)', async (_name, cfg) => {
    const a = tmp();
    const b = tmp();
    try {
      const first = await train(cfg, a, { every: 2 });
      // stop at step 3, one step after the checkpoint of step 2: step 3 is lost and redone
      expect((await train(cfg, b, { every: 2, stopAfter: 3 })).status).toBe('interrupted');
      expect(openCheckpoint(b)!.header.position.step).toBe(2);
      const again = await train(cfg, b, { every: 2, resume: true });
      expect(again.status).toBe(first.status);
      expectSameState(finalState(a), finalState(b));
      const r = JSON.parse(readFileSync(join(b, RESULT_FILE), 'utf8')) as TrainResult;
      expect(r.timings.sessions).toHaveLength(2);
      expect(r.timings.sessions[1].fromStep).toBe(2);
    } finally {
      rmSync(a, { recursive: true, force: true });
      rmSync(b, { recursive: true, force: true });
    }
  });

  it('a real SIGKILL of `adzone train` mid-epoch, then --resume, ends bit for bit where an uninterrupted run does', async () => {
    const a = tmp();
    const b = tmp();
    const args = (out: string) => [
      'train',
      '--model',
      'lenet5',
      '--dataset',
      'mnist',
      '--beta',
      '1',
      '--precision',
      '64',
      '--epochs',
      '1',
      '--batch-size',
      '16',
      '--limit-train',
      '3200',
      '--limit-test',
      '32',
      '--log-every',
      '1',
      '--checkpoint-every',
      '3',
      '--seed',
      '5',
      '--quiet',
      '--out',
      out,
    ];
    try {
      const child = spawn(process.execPath, [bin, ...args(b)], { stdio: 'ignore' });
      const exited = new Promise<number | null>((res) => child.on('exit', (code, sig) => res(sig === 'SIGKILL' ? -9 : code)));
      // kill once a few checkpoints have been written (the metrics file then holds steps past it)
      const metrics = join(b, METRICS_FILE);
      for (let i = 0; i < 600; i++) {
        await new Promise((r) => setTimeout(r, 50));
        if (existsSync(metrics) && readFileSync(metrics, 'utf8').split('\n').length > 8) break;
      }
      child.kill('SIGKILL');
      expect(await exited).toBe(-9);
      const at = openCheckpoint(b)!.header.position.step;
      expect(at).toBeGreaterThan(0);
      expect(at).toBeLessThan(200);
      expect(existsSync(join(b, RESULT_FILE))).toBe(false);
      const resumed = await cli(...args(b), '--resume');
      expect(resumed.code).toBe(0);
      const fresh = await cli(...args(a));
      expect(fresh.code).toBe(0);
      expectSameState(finalState(a), finalState(b));
    } finally {
      rmSync(a, { recursive: true, force: true });
      rmSync(b, { recursive: true, force: true });
    }
  });

  it('a huge learning rate is recorded as diverged (result.json status, reason, epoch), not a crash', async () => {
    const d = tmp();
    try {
      const r = await cli(
        'train',
        '--model',
        'lenet5',
        '--dataset',
        'mnist',
        '--beta',
        '0',
        '--precision',
        '32',
        '--backend',
        'engine',
        '--mode',
        'strict',
        '--epochs',
        '3',
        '--batch-size',
        '32',
        '--limit-train',
        '192',
        '--limit-test',
        '64',
        '--lr',
        '1e6',
        '--quiet',
        '--out',
        d,
      );
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^diverged/);
      const res = JSON.parse(readFileSync(join(d, RESULT_FILE), 'utf8')) as TrainResult;
      expect(res.status).toBe('diverged');
      expect(res.divergence).toMatchObject({ kind: 'non-finite-loss', epoch: 1, continued: false });
      expect(res.divergence!.reason).toMatch(/training loss is (NaN|Infinity)/);
      // the model it stopped with is still evaluated (the paper's collapsed runs report that accuracy)
      expect(res.epochs.at(-1)).toMatchObject({ partial: true });
      expect(res.finalTestAcc).toBe(res.epochs.at(-1)!.testAcc);
      expect(res.finalTestAcc).toBeGreaterThanOrEqual(0);
      expect(res.finalTestAcc).toBeLessThanOrEqual(1);
      // the run has ended: resuming does nothing
      const again = await cli('train', '--out', d, '--resume', '--quiet');
      expect(again.code).toBe(0);
      expect(again.out).toMatch(/already ended \(diverged\)/);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('a truncated or corrupt checkpoint gives an error naming the file, and is left as it was', async () => {
    const d = tmp();
    try {
      const cfg = tiny({ epochs: 1 });
      expect((await train(cfg, d, { every: 2, stopAfter: 3 })).status).toBe('interrupted');
      const file = join(d, CHECKPOINT_FILE);
      const good = readFileSync(file);
      for (const bad of [
        good.subarray(0, good.length - 100),
        Buffer.concat([good.subarray(0, 200), Buffer.from([good[200] ^ 1]), good.subarray(201)]),
        Buffer.alloc(0),
      ]) {
        writeFileSync(file, bad);
        const r = await cli('train', '--out', d, '--resume', '--quiet');
        // a damaged checkpoint is unusable input: exit 2 like every other (it was 1, the code of a failing check)
        expect(r.code).toBe(2);
        expect(r.err).toContain(file);
        expect(r.err).toMatch(/corrupt or truncated|is empty/);
        expect(readFileSync(file).equals(bad)).toBe(true);
      }
      // and a fresh run will not overwrite a checkpoint
      writeFileSync(file, good);
      const r = await cli(
        'train',
        '--model',
        'lenet5',
        '--dataset',
        'mnist',
        '--beta',
        '0',
        '--precision',
        '64',
        '--epochs',
        '1',
        '--out',
        d,
        '--quiet',
      );
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/already holds a run's checkpoint.*--resume/);
      expect(readFileSync(file).equals(good)).toBe(true);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  const base = ['train', '--model', 'lenet5', '--dataset', 'mnist', '--beta', '0', '--epochs', '1'];
  it.each([
    [[...base, '--precision', '64', '--backend', 'tfjs-wasm'], /cannot train at 64 bits.*--backend engine/],
    [[...base, '--precision', '16', '--mode', 'strict', '--backend', 'tfjs-wasm'], /cannot train 16-bit strict.*--backend engine/],
    [[...base, '--precision', '32', '--mode', 'strict', '--backend', 'tfjs-cpu'], /--backend engine for --mode strict/],
    [[...base, '--precision', '32', '--backend', 'tfjs-node'], /tfjs-node/],
    [[...base, '--precision', '8'], /--precision must be one of 16, 32, 64/],
    [[...base, '--precision', '32', '--beta', '0.5'], /--beta must be an integer/],
    [[...base, '--precision', '32', '--lr=0'], /--lr must be a number > 0/],
    [[...base, '--precision', '32', '--lr-schedule', 'step:x'], /--lr-schedule must be none, cosine or step:EPOCHS:GAMMA/],
    [[...base, '--precision', '32', '--optimizer', 'adam', '--momentum', '0.9'], /--momentum is SGD's/],
    [[...base, '--precision', '32', '--loss-scale', 'dynamic'], /--loss-scale dynamic runs on the engine only/],
    [[...base, '--precision', '32', '--checkpoint-every', '5x'], /--checkpoint-every must be/],
    [[...base, '--precision', '32', '--model', 'vgg11'], /--model vgg11 on --dataset mnist/],
    [[...base, '--precision', '32', '--frobnicate'], /Unknown option '--frobnicate'/],
    [['train', '--model', 'lenet5'], /train needs --dataset, --precision, --epochs/],
    [['train', '--model', 'resnet50', '--dataset', 'mnist'], /--model must be one of/],
  ])('%j exits 2 with a message saying what was wrong', async (args, msg) => {
    const r = await cli(...(args as string[]));
    expect(r.err).toMatch(msg as RegExp);
    expect(r.code).toBe(2);
  });

  it('a folder another live process is training in is refused (exit 2); a lock left by a killed process is taken over', async () => {
    const d = tmp();
    try {
      const args = [
        'train',
        '--model',
        'lenet5',
        '--dataset',
        'mnist',
        '--beta',
        '0',
        '--precision',
        '64',
        '--epochs',
        '1',
        '--batch-size',
        '32',
        '--limit-train',
        '64',
        '--limit-test',
        '32',
        '--quiet',
        '--out',
        d,
      ];
      writeFileSync(join(d, LOCK_FILE), JSON.stringify({ pid: process.ppid, host: hostname() }));
      const busy = await cli(...args);
      expect(busy.code).toBe(2);
      expect(busy.err).toMatch(new RegExp(`in use by another adzone train \\(pid ${process.ppid}`));
      expect(existsSync(join(d, CHECKPOINT_FILE))).toBe(false);
      // a pid that cannot be running (above Linux's pid_max limit)
      writeFileSync(join(d, LOCK_FILE), JSON.stringify({ pid: 2 ** 22 + 17, host: hostname() }));
      const ok = await cli(...args);
      expect(ok.code).toBe(0);
      expect(existsSync(join(d, LOCK_FILE))).toBe(false);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('--resume with options that contradict the checkpoint exits 2 naming them', async () => {
    const d = tmp();
    try {
      expect((await train(tiny({ epochs: 1 }), d, { every: 2, stopAfter: 3 })).status).toBe('interrupted');
      const r = await cli('train', '--out', d, '--resume', '--lr', '0.1', '--quiet');
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/made with lr 0\.05, the command line says lr 0\.1/);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('help describes the options', async () => {
    const r = await cli('help', 'train');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/--beta B/);
    expect(r.out).toMatch(/--resume/);
  });
});
