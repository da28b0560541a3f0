/**
 * The training stage as a library call, trainRun(config, hooks) (what a learning-rate search or
 * another backend builds on):
 *  - it prints nothing; progress, log lines and epoch ends come through the hooks;
 *  - onEpoch may return 'stop': the run ends after that epoch with its checkpoint written, and a
 *    resume then ends bit for bit where an uninterrupted run ends;
 *  - a bad field is a ConfigError naming the field in the config's words (limitTrain, not --limit-train);
 *  - a kill between the final checkpoint and result.json (crash point 'result'): resume rebuilds
 *    result.json with the uninterrupted run's numbers; a resumed run records the command that started it;
 *  - any header a checkpoint may hold (random mutations, sha256 recomputed) is resumable or a
 *    CheckpointError, never another error;
 *  - every backend computes what the defaults choose for it.
 */
import { describe, expect, it, vi } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { batchCount } from '../src/data/index.ts';
import { initBuffers, initParams } from '../src/models/index.ts';
import { runs } from '../src/nightly/runs.ts';
import {
  CHECKPOINT_FILE,
  CheckpointError,
  checkResumable,
  defaultBackend,
  defaultMode,
  encodeCheckpoint,
  METRICS_FILE,
  openCheckpoint,
  prepare,
  readCheckpoint,
  RESULT_FILE,
  TIME_KEYS,
  TRAIN_BACKEND_IMPLS,
  type TrainConfig,
  type TrainHooks,
  type TrainResult,
  trainRun,
  type TrainRunConfig,
} from '../src/train/index.ts';
import { ConfigError } from '../src/util/errors.ts';
import { tempDirs } from './support/cli.ts';

const tmp = tempDirs();

/** LeNet-5 on 96 MNIST images in batches of 32 (3 steps an epoch), 32 test images, 3 epochs. */
const tiny = (out: string, over: Partial<TrainRunConfig> = {}): TrainRunConfig => ({
  model: 'lenet5',
  dataset: 'mnist',
  beta: 10,
  precision: '32',
  mode: 'strict',
  epochs: 3,
  batchSize: 32,
  lr: 0.05,
  lrSchedule: 'step:1:0.5',
  seed: 4,
  limitTrain: 96,
  limitTest: 32,
  logEvery: 2,
  out,
  checkpointEvery: { steps: 1_000_000 },
  versions: { adzone: 'test' },
  command: 'first',
  ...over,
});

/** A run folder's final arrays (as bytes) and metrics without wall times. */
function finalState(out: string) {
  const c = readCheckpoint<{ position: unknown }>(join(out, CHECKPOINT_FILE));
  const bytes = Object.fromEntries([...c.arrays].map(([k, v]) => [k, Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')]));
  const metrics = readFileSync(join(out, METRICS_FILE), 'utf8')
    .trim()
    .split('\n')
    .map((l) => Object.fromEntries(Object.entries(JSON.parse(l)).filter(([k]) => !(TIME_KEYS as readonly string[]).includes(k))));
  return { bytes, metrics, position: c.header.position };
}

const numbers = (r: TrainResult) => ({
  status: r.status,
  finalTestAcc: r.finalTestAcc,
  bestTestAcc: r.bestTestAcc,
  epochs: r.epochs.map((e) => Object.fromEntries(Object.entries(e).filter(([k]) => !(TIME_KEYS as readonly string[]).includes(k)))),
  steps: r.timings.steps,
});

describe('trainRun as a library call', () => {
  it('prints nothing, reports through its hooks, and stops after an epoch when onEpoch says so; resumed, it ends as an uninterrupted run', async () => {
    const [a, b] = [tmp('adzone-stage-a-'), tmp('adzone-stage-b-')];
    const write = [vi.spyOn(process.stdout, 'write'), vi.spyOn(process.stderr, 'write'), vi.spyOn(console, 'log')];
    const seen = { steps: 0, logs: [] as string[], epochs: [] as number[] };
    const hooks: TrainHooks = {
      onStep: () => seen.steps++,
      log: (l) => seen.logs.push(l),
      onEpoch: (line) => {
        seen.epochs.push(line.epoch);
        return line.epoch === 1 ? 'stop' : undefined;
      },
    };
    try {
      const stopped = await trainRun(tiny(b), hooks);
      expect(stopped).toMatchObject({ status: 'stopped', epoch: 1, step: 3 });
      for (const w of write) expect(w).not.toHaveBeenCalled();
    } finally {
      for (const w of write) w.mockRestore();
    }
    expect(seen).toMatchObject({ steps: 3, epochs: [1] });
    expect(
      seen.logs.some((l) => /^training \S+ on mnist \(96 train, 32 test images\)/.test(l)),
      seen.logs.join('\n'),
    ).toBe(true);
    expect(openCheckpoint(b)!.header.position).toEqual({ epoch: 1, batch: 0, step: 3 });
    const resumed = await trainRun(tiny(b, { resume: true, command: 'second' }));
    const whole = await trainRun(tiny(a));
    expect(resumed).toMatchObject({ status: whole.status, resumed: true, ended: 'now' });
    expect(finalState(b)).toEqual(finalState(a));
    if (!('result' in resumed) || !('result' in whole)) throw new Error('unreachable');
    expect(numbers(resumed.result)).toEqual(numbers(whole.result));
    // the result records the call that started the run, not the one that resumed it
    expect(resumed.result.command).toBe('first');
  }, 60_000);

  it('a bad field is a ConfigError naming it in the config words', async () => {
    const d = tmp('adzone-stage-bad-');
    const bad: [Partial<TrainRunConfig>, string, RegExp][] = [
      [{ limitTrain: 0 }, 'limitTrain', /`limitTrain` must be an integer ≥ 1/],
      [{ limitTrain: 70_000 }, 'limitTrain', /`limitTrain` 70000 is more than the 60000 images of mnist's train split/],
      [{ dataset: 'nope' }, 'dataset', /unknown data set 'nope'/],
      [{ precision: '64', backend: 'tfjs-wasm' }, 'backend', /cannot train at 64 bits.*`backend` engine/],
      [{ lossScale: 'dynamic', backend: 'tfjs-cpu', mode: undefined }, 'lossScale', /runs on the engine only/],
      [{ epochs: 0 }, 'epochs', /`epochs` must be an integer ≥ 1/],
      [{ model: undefined }, 'model', /a fresh run needs `model`/],
    ];
    for (const [over, field, re] of bad) {
      const err = await trainRun(tiny(join(d, field), over)).catch((e: unknown) => e);
      expect(err, field).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).field).toBe(field);
      expect((err as Error).message).toMatch(re);
      expect((err as Error).message).not.toMatch(/--/);
    }
  });

  it("a kill between the final checkpoint and result.json (crash point 'result'): resume rebuilds result.json with the same numbers", async () => {
    const [a, b] = [tmp('adzone-stage-ra-'), tmp('adzone-stage-rb-')];
    const cfg = tiny(b, { epochs: 2 });
    const cut = await trainRun(cfg, { crashAt: (p) => p === 'result' });
    expect(cut).toMatchObject({ status: 'interrupted', point: 'result', step: 6 });
    const whole = await trainRun(tiny(a, { epochs: 2 }));
    if (!('result' in whole)) throw new Error('unreachable');
    expect(openCheckpoint(b)!.header.finished).toBe(whole.status);
    expect(() => readFileSync(join(b, RESULT_FILE))).toThrow();
    const again = await trainRun({ ...cfg, resume: true, command: 'again' });
    expect(again).toMatchObject({ status: whole.status, ended: 'rebuilt' });
    if (!('result' in again)) throw new Error('unreachable');
    expect(numbers(again.result)).toEqual(numbers(whole.result));
    expect(again.result.command).toBe('first');
    expect(again.result.timings.sessions).toHaveLength(1);
    // once there, it is returned as it is
    const third = await trainRun({ ...cfg, resume: true });
    expect(third).toMatchObject({ status: whole.status, ended: 'before' });
  }, 60_000);

  it('every backend computes what the defaults choose for it, at every precision and mode', () => {
    for (const precision of ['16', '32', '64'] as const) {
      for (const mode of [undefined, 'strict', 'wide', 'framework'] as const) {
        const b = defaultBackend(precision, mode);
        const why = TRAIN_BACKEND_IMPLS[b].unsupported(precision, mode);
        // framework is tfjs's float32: nothing computes it at 16 or 64 bits
        if (mode === 'framework' && precision !== '32') expect(why).not.toBeNull();
        else expect(why, `${precision} ${mode} → ${b}`).toBeNull();
        if (why === null) expect(TRAIN_BACKEND_IMPLS[b].unsupported(precision, mode ?? defaultMode(precision, b))).toBeNull();
      }
    }
  });
});

describe('checkpoint headers', () => {
  it('any mutation of a header (sha256 recomputed) is resumable or a CheckpointError naming the file, never another error', async () => {
    const d = tmp('adzone-stage-mut-');
    const cfg = tiny(d, { epochs: 2, checkpointEvery: { steps: 2 }, optimizer: 'adam', lr: 0.001, momentum: undefined });
    expect((await trainRun(cfg, { crashAt: (p, s) => p === 'step' && s === 5 })).status).toBe('interrupted');
    const file = join(d, CHECKPOINT_FILE);
    const base = readCheckpoint<Record<string, unknown>>(file);
    const { arrays: _records, payloadBytes: _bytes, ...header } = base.header;
    const config = openCheckpoint(d)!.header.config as TrainConfig;
    const { spec } = prepare(config);
    const shape = { params: initParams(spec, config.seed), buffers: initBuffers(spec), stepsPerEpoch: batchCount(96, 32) };
    const paths = (o: unknown, at: string[] = []): string[][] =>
      o !== null && typeof o === 'object'
        ? [at, ...Object.entries(o as Record<string, unknown>).flatMap(([k, v]) => paths(v, [...at, k]))]
        : [at];
    const all = paths(header).filter((p) => p.length > 0);
    fc.assert(
      fc.property(
        fc.constantFrom(...all),
        fc.oneof(fc.constant(undefined), fc.jsonValue({ maxDepth: 2 }), fc.integer({ min: -3, max: 10 ** 9 })),
        (path, value) => {
          const h = structuredClone(header) as Record<string, unknown>;
          let at = h;
          for (const k of path.slice(0, -1)) at = at[k] as Record<string, unknown>;
          if (value === undefined) delete at[path.at(-1)!];
          else at[path.at(-1)!] = value;
          writeFileSync(file, encodeCheckpoint(h, base.arrays));
          try {
            const c = openCheckpoint(d);
            if (c) checkResumable(file, c, shape);
          } catch (e) {
            if (!(e instanceof CheckpointError)) throw e;
            expect(e.message).toContain(file);
          }
        },
      ),
      { numRuns: runs(300) },
    );
  }, 60_000);
});
