/**
 * The JSON header of a training checkpoint (schema 'adzone/train-checkpoint' 1) and the checks that
 * make a checkpoint safe to resume from. A checkpoint's sha256 proves only that the file is whole;
 * a file written by hand (or by a bug) with its sha256 recomputed must still be refused with a
 * CheckpointError naming the file and the field, never crash the run or train a run that cannot
 * exist (0 epochs, a position past the end of the data). Two steps:
 *   - openCheckpoint: the header against its schema, and its config through resolveTrainConfig
 *     (which must give the config back unchanged), before any data is loaded;
 *   - checkResumable: what needs the model and the data: the position inside the run, every
 *     parameter, buffer and optimizer array present with the model's sizes.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type StaticDecode, Type } from '@sinclair/typebox';
import { checkJson, SchemaError } from '../schema/check.ts';
import { Count, JsonNumber, NonNegative, Nullable, oneOf, Share, Timestamp } from '../schema/kit.ts';
import { DivergenceSchema, MetricLineSchema, TrainConfigSchema } from '../schema/train.ts';
import { toJson } from '../util/atomic.ts';
import { ConfigError } from '../util/errors.ts';
import type { DeepReadonly } from '../util/json.ts';
import { type Checkpoint, CheckpointError, readCheckpoint, stringifyExact } from './checkpoint.ts';
import { resolveTrainConfig, type TrainConfig } from './config.ts';

export const CHECKPOINT_FILE = 'checkpoint.bin';

const sums = { lossSum: JsonNumber(), steps: Count(), correct: Count(), counted: Count(), skipped: Count() };

export const CheckpointHeaderSchema = Type.Object({
  schema: Type.Literal('adzone/train-checkpoint'),
  schemaVersion: Type.Literal(1),
  config: TrainConfigSchema,
  createdAt: Timestamp(),
  /** Where the run continues: 0-based epoch and batch index in it; global steps done. */
  position: Type.Object({ epoch: Count(), batch: Count(), step: Count() }),
  /** The data pipeline's randomness is stateless: these numbers are all of its state. */
  rng: Type.Object({ kind: Type.Literal('stateless'), seed: Type.Integer(), epoch: Count(), batch: Count(), note: Type.String() }),
  epochSums: Type.Object({ ...sums, trainSeconds: NonNegative() }),
  windowSums: Type.Object(sums),
  optimizer: Type.Object({
    kind: oneOf(['sgd', 'adam'] as const),
    lr: NonNegative(),
    params: Type.Array(Type.Object({ name: Type.String(), step: Count(), master: Type.Boolean(), buffers: Type.Array(Type.String()) })),
  }),
  lossScale: Nullable(Type.Object({ kind: oneOf(['static', 'dynamic'] as const), scale: NonNegative(), growthTracker: Count() })),
  params: Type.Array(Type.String()),
  buffers: Type.Array(Type.String()),
  metrics: Type.Array(MetricLineSchema),
  divergence: Nullable(DivergenceSchema),
  best: Nullable(Type.Object({ testAcc: Share(), epoch: Count() })),
  elapsedSeconds: NonNegative(),
  evalSecondsTotal: NonNegative(),
  trainSecondsTotal: NonNegative(),
  sessions: Type.Array(Type.Object({ startedAt: Timestamp(), fromStep: Count() })),
  startedAt: Timestamp(),
  /** Set once the run has ended; result.json is then written from this checkpoint. */
  finished: Nullable(oneOf(['completed', 'diverged'] as const)),
  /** The command (or call) that started the run, for its result.json; absent in checkpoints of older versions. */
  command: Type.Optional(Type.String()),
  /** Whether the session that wrote it goes on past a divergence (for the result.json rebuilt from a finished checkpoint). */
  continueOnDivergence: Type.Optional(Type.Boolean()),
});

export type CheckpointHeader = DeepReadonly<StaticDecode<typeof CheckpointHeaderSchema>>;

/** The checkpoint in `out`, checked against its schema and its config resolved; null when there is none. */
export function openCheckpoint(out: string): Checkpoint<CheckpointHeader> | null {
  const file = join(out, CHECKPOINT_FILE);
  if (!existsSync(file)) return null;
  const c = readCheckpoint<Record<string, unknown>>(file);
  const h = c.header;
  if (h.schema !== 'adzone/train-checkpoint' || h.schemaVersion !== 1)
    throw new CheckpointError(file, `has schema ${String(h.schema)} ${String(h.schemaVersion)}, expected adzone/train-checkpoint 1`);
  try {
    // as written by toJson: NaN and ±Infinity as their strings, which the JsonNumber slots accept
    checkJson(CheckpointHeaderSchema, JSON.parse(toJson(h)), file);
  } catch (e) {
    if (!(e instanceof SchemaError)) throw e;
    throw new CheckpointError(file, `has a header field that cannot be: ${e.path}: expected ${e.expected}, got ${e.got}`);
  }
  const header = h as unknown as CheckpointHeader;
  checkConfig(file, header.config);
  return { header, arrays: c.arrays };
}

/** A checkpoint's config must be one a run could have: valid, and in the form resolveTrainConfig writes. */
function checkConfig(file: string, config: TrainConfig): void {
  let again: TrainConfig;
  try {
    again = resolveTrainConfig(config);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    throw new CheckpointError(file, `holds a config no run can have: ${e.message.replace(/`/g, '')}`);
  }
  const off = (Object.keys({ ...again, ...config }) as (keyof TrainConfig)[]).filter(
    (k) => stringifyExact(again[k]) !== stringifyExact(config[k]),
  );
  if (off.length)
    throw new CheckpointError(
      file,
      `holds a config not written by a run: ${off.map((k) => `${k} ${stringifyExact(config[k])} (a run writes ${stringifyExact(again[k])})`).join(', ')}`,
    );
}

/** What a checkpoint of this run must match: the model's parameters and buffers, and the data's steps per epoch. */
export interface RunShape {
  readonly params: ReadonlyMap<string, Float64Array>;
  readonly buffers: ReadonlyMap<string, Float64Array>;
  readonly stepsPerEpoch: number;
}

/** Check a checkpoint against the run it claims to be; CheckpointError naming the first thing that does not fit. */
export function checkResumable(file: string, c: Checkpoint<CheckpointHeader>, shape: RunShape): void {
  const bad = (why: string) => new CheckpointError(file, `does not fit its run: ${why}`);
  const why = positionProblem(c.header, shape.stepsPerEpoch) ?? arraysProblem(c, shape) ?? scalingProblem(c.header);
  if (why) throw bad(why);
}

function positionProblem(h: CheckpointHeader, spe: number): string | null {
  const { epoch, batch, step } = h.position;
  const { epochs } = h.config;
  const at = `position epoch ${epoch}, batch ${batch}, step ${step}`;
  if (step !== epoch * spe + batch) return `${at}: step must be epoch × ${spe} + batch (${spe} batches an epoch)`;
  if (h.finished === null && (epoch >= epochs || batch >= spe))
    return `${at} is past the run's end (${epochs} epochs of ${spe} batches) yet the run is not marked finished`;
  if (h.finished !== null && (epoch > epochs || batch > spe || step > epochs * spe)) return `${at} is past the run's end`;
  if (h.epochSums.steps !== batch) return `the epoch's sums count ${h.epochSums.steps} steps, its position says ${batch}`;
  const last = h.metrics.at(-1);
  if (last && last.step > step) return `a metrics line at step ${last.step} is past the position (step ${step})`;
  return null;
}

/** Every array the run needs, with the model's sizes, and nothing else. */
function arraysProblem(c: Checkpoint<CheckpointHeader>, shape: RunShape): string | null {
  const need = new Map<string, number>();
  const names = (kind: string, listed: readonly string[], model: ReadonlyMap<string, Float64Array>) => {
    const a = [...listed].sort().join(', ');
    const b = [...model.keys()].sort().join(', ');
    if (a !== b) return `its ${kind}s are [${a}], the model's are [${b}]`;
    for (const [n, v] of model) need.set(`${kind}/${n}`, v.length);
    return null;
  };
  const problem =
    names('param', c.header.params, shape.params) ??
    names('buffer', c.header.buffers, shape.buffers) ??
    optimizerProblem(c.header, shape, need);
  if (problem) return problem;
  for (const [k, n] of need) {
    const a = c.arrays.get(k);
    if (!a) return `array '${k}' is missing`;
    if (a.length !== n) return `array '${k}' has ${a.length} values, the model's has ${n}`;
  }
  const extra = [...c.arrays.keys()].filter((k) => !need.has(k));
  return extra.length ? `it holds arrays of no part of the run: ${extra.slice(0, 3).join(', ')}` : null;
}

const OPTIMIZER_BUFFERS = { sgd: ['momentum'], adam: ['exp_avg', 'exp_avg_sq'] } as const;

function optimizerProblem(h: CheckpointHeader, shape: RunShape, need: Map<string, number>): string | null {
  if (h.optimizer.kind !== h.config.optimizer)
    return `its optimizer state is ${h.optimizer.kind}'s, the config's optimizer is ${h.config.optimizer}`;
  const allowed: readonly string[] = OPTIMIZER_BUFFERS[h.optimizer.kind];
  for (const p of h.optimizer.params) {
    const n = shape.params.get(p.name)?.length;
    if (n === undefined) return `the optimizer has state for '${p.name}', no parameter of the model`;
    const odd = p.buffers.find((b) => !allowed.includes(b));
    if (odd !== undefined) return `the optimizer state of '${p.name}' has a buffer '${odd}' ${h.optimizer.kind} does not keep`;
    for (const b of [...p.buffers, ...(p.master ? ['master'] : [])]) need.set(`opt/${p.name}/${b}`, n);
  }
  return null;
}

function scalingProblem(h: CheckpointHeader): string | null {
  const want = h.config.lossScale;
  const has = h.lossScale?.kind ?? 'none';
  const expected = want === 'none' ? 'none' : want === 'dynamic' ? 'dynamic' : 'static';
  return has === expected ? null : `its loss scale is ${has}, the config's is ${String(want)}`;
}
