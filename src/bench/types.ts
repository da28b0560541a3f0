/**
 * What the bench parent and its worker processes exchange, and the rows results.json holds.
 * Every measurement is one Task, run in its own child process (worker.ts) so that its peak memory
 * (process.resourceUsage().maxRSS) is its own.
 */

/** Seeded initial parameters and one SGD-momentum optimizer, the same for every backend. */
export const INIT_SEED = 1;
export const SGD = { lr: 0.01, momentum: 0.9 } as const;

export type BenchModel = 'lenet5' | 'vgg11-w0.25' | 'resnet18-w0.25';
export type BenchBackend = 'engine' | 'tfjs-wasm' | 'tfjs-cpu' | 'torch';
export type BenchPrecision = '16' | '32' | '64' | 'bf16';

/** A batch as it travels to a worker (structured clone keeps the typed arrays). */
export interface WireBatch {
  readonly x: Float64Array;
  readonly shape: readonly [number, number, number, number];
  readonly labels: Int32Array;
}

/** How long to time: `warmup` untimed steps, then steps until maxReps, or minReps and budgetMs of timed steps. */
export interface Reps {
  readonly warmup: number;
  readonly minReps: number;
  readonly maxReps: number;
  readonly budgetMs: number;
}

/** A timed step of a network: a training step (SGD) or the evaluation of a batch (forward only, BN on running statistics). */
export interface StepTask {
  readonly kind: 'train-step' | 'eval-step';
  readonly model: BenchModel;
  readonly backend: Exclude<BenchBackend, 'torch'>;
  readonly precision: BenchPrecision;
  /** engine: 'strict' | 'wide'; tfjs: 'framework'. */
  readonly accumulate: 'strict' | 'wide' | 'framework';
  /** tfjs training only: 'native' (tfjs's own MaxPool gradient) or 'first' (adzone's maxPoolBeta twin). */
  readonly tfjsJacobian?: 'native' | 'first';
  readonly batch: WireBatch;
  readonly reps: Reps;
  /** Engine rows: threads for the kernels (setThreads); 1 unless the row id ends in /tN. */
  readonly threads?: number;
}

/** A whole adzone command, run as a user runs it (bin/adzone.js in a fresh process) and timed wall-clock. */
export interface CommandTask {
  readonly kind: 'command';
  /** The arguments after `adzone`; '{out}' is replaced by a fresh temporary folder for each run. */
  readonly args: readonly string[];
  readonly reps: Reps;
  /** Kill a run after this many seconds. */
  readonly timeoutS: number;
}

export type Task =
  | StepTask
  | CommandTask
  | {
      readonly kind: 'exact';
      /** exactRouting, engine gradients at 32 bits (strict), or the plain float64 forward, all at the 32-bit point. */
      readonly what: 'exact-routing' | 'gradients-32' | 'plain-forward-64';
      readonly batch: WireBatch;
      readonly reps: Reps;
    };

export interface Timing {
  /** Every timed step, in ms, in order. */
  readonly samplesMs: readonly number[];
  readonly medianMs: number;
  readonly minMs: number;
  readonly maxMs: number;
  /** Lower and upper quartile (linear interpolation). */
  readonly q1Ms: number;
  readonly q3Ms: number;
}

/** What a worker sends back. */
export type WorkerReply =
  | {
      readonly ok: true;
      readonly timing: Timing;
      /** process.memoryUsage().rss after imports and data, before building the model, MB. */
      readonly rssBeforeMB: number;
      /** process.resourceUsage().maxRSS at the end, MB (the child's whole life). */
      readonly peakRssMB: number;
      /** Anything the measurement wants to report beside its time (filter counts, tie rule…). */
      readonly detail?: Record<string, unknown>;
    }
  | { readonly ok: false; readonly error: string };

/** A row of results.json and its ratios to other rows: their types are the schema's (src/schema/bench.ts). */
export type { BenchRow, Ratio } from '../schema/bench.ts';
