/**
 * bench/results.json, schema 'adzone/bench' version 2: what `adzone bench` writes (src/bench/run.ts;
 * fields documented in bench/README.md): one row per measurement with its time, spread, memory and
 * ratios to other rows, and the targets' verdicts. Fields this schema does not name are allowed.
 */
import { type StaticDecode, type TSchema, Type } from '@sinclair/typebox';
import type { DeepReadonly } from '../util/json.ts';
import { Count, JsonNumber, NonNegative, Nullable, oneOf, Precision, Timestamp } from './kit.ts';

export const VERDICTS = ['PASS', 'MISS'] as const;

const ms = () => NonNegative();

export const RatioSchema = Type.Object({
  /** id of the row this one is divided by. */
  to: Type.String(),
  /** Human-readable name of the reference. */
  toLabel: Type.String(),
  /** this median / reference median. */
  value: JsonNumber(),
  /** Key of TARGETS (src/bench/targets.ts) when the ratio has a target, its bound, and PASS when value ≤ max. */
  target: Type.Optional(Type.String()),
  max: Type.Optional(Type.Number()),
  verdict: Type.Optional(oneOf(VERDICTS)),
});

export const BenchRowSchema = Type.Object({
  /** Stable id, e.g. 'lenet/engine/32/strict'. */
  id: Type.String(),
  /** 'lenet' | 'vgg' | 'resnet' | 'exact'. */
  group: Type.String(),
  /** What one timed step is. */
  measurement: Type.String(),
  model: Type.String(),
  /** What ran it: a backend (engine, tfjs-wasm, tfjs-cpu, torch) or, for the exact rows, the classifier ('zones/network'). */
  backend: Type.String(),
  precision: Precision({ description: "a number format of src/precision, 'exact', or 'all' (a whole verify run, every precision)" }, [
    'exact',
    'all',
  ]),
  accumulate: Type.String(),
  batchSize: Count(),
  /** Untimed steps first, then the timed ones (0 when the measurement failed or was skipped). */
  warmup: Count(),
  reps: Count(),
  /** Median ms per step and the spread, null when the measurement failed or was skipped. */
  msPerStep: Nullable(ms()),
  spreadMs: Nullable(Type.Object({ min: ms(), q1: ms(), q3: ms(), max: ms() })),
  samplesMs: Type.Array(ms()),
  /** Peak resident memory of the process that ran this measurement alone, MB. */
  peakRssMB: Nullable(NonNegative()),
  /** Resident memory after imports and data, before building the model, MB. */
  rssBeforeMB: Nullable(NonNegative()),
  ratios: Type.Array(RatioSchema),
  detail: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  /** Set when the measurement failed or was skipped (why). */
  error: Type.Optional(Type.String()),
  skipped: Type.Optional(Type.String()),
});

export const BenchSchema = Type.Object({
  schema: Type.Literal('adzone/bench'),
  schemaVersion: Type.Literal(2),
  createdAt: Timestamp(),
  command: Type.String(),
  options: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  tool: Type.Record(Type.String(), Type.Unknown()),
  machine: Type.Object({
    cpuModel: Type.String(),
    cores: Count(),
    platform: Type.String(),
    arch: Type.String(),
    loadavgStart: Type.Array(Type.Number()),
    loadavgEnd: Type.Array(Type.Number()),
  }),
  setup: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  data: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  targets: Type.Array(
    Type.Object({
      id: Type.String(),
      max: Type.Number(),
      description: Type.String(),
      results: Type.Array(Type.Object({ row: Type.String(), ratio: JsonNumber(), verdict: Type.Optional(oneOf(VERDICTS)) })),
    }),
  ),
  notes: Type.Array(Type.String()),
  runSeconds: NonNegative(),
  rows: Type.Array(BenchRowSchema),
});

type Of<T extends TSchema> = DeepReadonly<StaticDecode<T>>;
export type Ratio = Of<typeof RatioSchema>;
export type BenchRowJson = Of<typeof BenchRowSchema>;
/** One row of results.json, as src/bench builds it. */
export type BenchRow = BenchRowJson;
export type BenchJson = Of<typeof BenchSchema>;
