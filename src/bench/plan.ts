/**
 * What `adzone bench` measures, in order: one Measurement a row, each run alone in a child
 * process. Groups: lenet (training step, LeNet-5, MNIST batch of 32), exact (exact routing vs the
 * float passes, same batch), vgg and resnet (training step at width 1/4 on a CIFAR-10 subset batch).
 * Where an interpreter with torch was found, each group also times PyTorch on the same network,
 * parameters and batch, at 1 and 2 threads, and the engine's 32-bit step is divided by it.
 */
import type { BenchModel, BenchPrecision, Reps, Task, WireBatch } from './types.ts';

export const GROUPS = ['lenet', 'exact', 'vgg', 'resnet', 'verify'] as const;
export type Group = (typeof GROUPS)[number];
/**
 * What a run measures unless --only says otherwise: every group but verify, whose rows time whole
 * verify runs (3 × the main job and 3 × the 2000-sample sweep: up to 18 minutes at their targets, more
 * than the 10 the other groups fit in). `adzone bench --only verify` runs them.
 */
export const DEFAULT_GROUPS: readonly Group[] = ['lenet', 'exact', 'vgg', 'resnet'];

/**
 * Batch sizes. 32 everywhere in a full run: with the engine's WebAssembly kernels the slowest row
 * (ResNet18 ×1/4, 16-bit strict) takes ≈5 s a step on 2 shared cores, so the whole run stays near
 * 3 minutes. On the engine's JS path (ADZONE_KERNELS=js) that row is ≈20× slower: the run budget
 * (run.ts) then cuts it short rather than overrun 10 minutes.
 */
export const BATCH = {
  full: { lenet: 32, vgg: 32, resnet: 32 },
  quick: { lenet: 32, vgg: 2, resnet: 2 },
} as const;

/**
 * Thread counts the engine and PyTorch are compared at (each side pinned to the same count): 1 and
 * the run's `threads` (--threads, else ADZONE_THREADS, else the available cores), when above 1.
 */
export function peerThreads(threads: number): number[] {
  return threads > 1 ? [1, threads] : [1];
}

const QUICK: Reps = { warmup: 1, minReps: 2, maxReps: 2, budgetMs: 0 };
/** Repetitions per kind of measurement (full run). */
const FULL = {
  fast: { warmup: 3, minReps: 15, maxReps: 50, budgetMs: 5000 },
  slow: { warmup: 1, minReps: 5, maxReps: 7, budgetMs: 3000 },
  big: { warmup: 1, minReps: 5, maxReps: 15, budgetMs: 8000 },
  /** Steps of several seconds (bfloat16 on the JS path): a few, to stay inside the run budget. */
  glacial: { warmup: 1, minReps: 3, maxReps: 5, budgetMs: 2000 },
} as const satisfies Record<string, Reps>;

export interface RatioSpec {
  readonly to: string;
  readonly target?: string;
}

/** A PyTorch peer measurement: torch_net.py on the group's model, parameters and batch. */
export interface TorchPeer {
  readonly dtype: 'float32' | 'float64' | 'bfloat16';
  readonly threads: number;
  /** The engine row whose first-step loss torch's must agree with, and the relative bound (null: reported only). */
  readonly lossCheck: { readonly row: string; readonly relTol: number | null };
}

export interface Measurement {
  readonly id: string;
  readonly group: Group;
  readonly measurement: string;
  /** The network stepped, or '—' for rows that time whole commands (the verify group). */
  readonly model: BenchModel | '—';
  readonly backend: string;
  readonly precision: string;
  readonly accumulate: string;
  readonly batchSize: number;
  readonly reps: Reps;
  readonly ratios: readonly RatioSpec[];
  /** Run in a forked worker… */
  readonly task?: Task;
  /** …or through the python peer (batch: the group's). */
  readonly torch?: TorchPeer;
  readonly batch: WireBatch;
  /** Seconds after which the run's worker is stopped, when not the run's own limits (a verify row's several whole runs). */
  readonly timeoutS?: number;
  /** A 'seconds' target (targets.ts) on the median itself. */
  readonly secondsTarget?: string;
}

export interface PlanInput {
  readonly quick: boolean;
  readonly groups: readonly Group[];
  readonly mnist: WireBatch;
  /** Only needed when vgg or resnet is asked for. */
  readonly cifar?: { readonly vgg: WireBatch; readonly resnet: WireBatch };
  /** Whether the torch rows are to be run (an interpreter with torch was found). */
  readonly torch: boolean;
  /** The multi-threaded comparison's thread count (1: single-threaded rows only). */
  readonly threads: number;
}

export const MODEL_LABEL: Record<BenchModel, string> = {
  lenet5: 'LeNet-5',
  'vgg11-w0.25': 'VGG11 ×1/4',
  'resnet18-w0.25': 'ResNet18 ×1/4 (BN)',
};

/**
 * First-step losses (at the shared initial parameters, before any update) that torch and the
 * engine must agree on for the timings to compare the same computation: both compute the same
 * real function in the same format with different summation orders, so they differ by rounding
 * only. float32: 2^−16 relative (≈ 128 ulps of a loss near 2), float64: 2^−40. bfloat16 is reported
 * without a bound: its 8-bit significand makes a few ulps of difference a percent.
 */
export const LOSS_REL_TOL: Readonly<Record<'float32' | 'float64' | 'bfloat16', number | null>> = {
  float32: 2 ** -16,
  float64: 2 ** -40,
  bfloat16: null,
};

type Engine = 'engine' | 'tfjs-wasm' | 'tfjs-cpu';
type Mode = 'strict' | 'wide' | 'framework';

/** Builds the measurements of one plan (one group after another). */
class Planner {
  readonly out: Measurement[] = [];
  readonly peer: number[];
  constructor(private readonly p: PlanInput) {
    this.peer = peerThreads(p.threads);
  }

  reps(kind: keyof typeof FULL): Reps {
    return this.p.quick ? QUICK : FULL[kind];
  }

  step(
    group: Group,
    model: BenchModel,
    batch: WireBatch,
    reps: Reps,
    backend: Engine,
    precision: BenchPrecision,
    accumulate: Mode,
    ratios: RatioSpec[],
    tfjsJacobian?: 'native' | 'first',
    threads = 1,
  ): void {
    const suffix = `${tfjsJacobian === 'first' ? '/first' : ''}${threads > 1 ? `/t${threads}` : ''}`;
    this.out.push({
      id: `${group}/${backend}/${precision}/${accumulate}${suffix}`,
      group,
      measurement: `${MODEL_LABEL[model]} train step${tfjsJacobian === 'first' ? ' (adzone first-index MaxPool)' : ''}${threads > 1 ? ` (${threads} threads)` : ''}`,
      model,
      backend,
      precision,
      accumulate,
      batchSize: batch.shape[0],
      reps,
      ratios,
      batch,
      task: {
        kind: 'train-step',
        model,
        backend,
        precision,
        accumulate,
        batch,
        reps,
        ...(tfjsJacobian ? { tfjsJacobian } : {}),
        ...(backend === 'engine' ? { threads } : {}),
      },
    });
  }

  /** PyTorch at `dtype` and `threads`, its first-step loss checked against the engine row `engineRow`. */
  torch(
    group: Group,
    model: BenchModel,
    batch: WireBatch,
    reps: Reps,
    dtype: TorchPeer['dtype'],
    threads: number,
    engineRow: string,
    ratios: RatioSpec[] = [],
  ): void {
    if (!this.p.torch) return;
    const precision = dtype === 'float32' ? '32' : dtype === 'float64' ? '64' : 'bf16';
    this.out.push({
      id: torchId(group, precision, threads),
      group,
      measurement: `${MODEL_LABEL[model]} train step (PyTorch peer, ${threads} thread${threads > 1 ? 's' : ''})`,
      model,
      backend: 'torch',
      precision,
      accumulate: 'framework',
      batchSize: batch.shape[0],
      reps,
      ratios,
      batch,
      torch: { dtype, threads, lossCheck: { row: engineRow, relTol: LOSS_REL_TOL[dtype] } },
    });
  }
}

/** The id of a torch row: `${group}/torch/${precision}/framework`, with `/t${threads}` above one thread. */
export function torchId(group: Group, precision: string, threads: number): string {
  return `${group}/torch/${precision}/framework${threads > 1 ? `/t${threads}` : ''}`;
}

export function plan(p: PlanInput): Measurement[] {
  const pl = new Planner(p);
  if (p.groups.includes('lenet')) planLenet(pl, p.mnist);
  if (p.groups.includes('exact')) planExact(pl, p.mnist);
  for (const [group, model] of [
    ['vgg', 'vgg11-w0.25'],
    ['resnet', 'resnet18-w0.25'],
  ] as const) {
    if (p.groups.includes(group)) planBig(pl, group, model, p.cifar![group]);
  }
  if (p.groups.includes('verify')) pl.out.push(...verifyRows(p.quick));
  return pl.out;
}

const NO_BATCH: WireBatch = { x: new Float64Array(0), shape: [0, 0, 0, 0], labels: new Int32Array(0) };

/**
 * The verify group: the README's main job with its defaults (`adzone verify --seed 1`) and the long
 * sweep (`--samples 2000`), each run three times as a user runs it, in a fresh process, the median
 * against its target. --quick: one run of a 10-draw smoke on two generators instead.
 */
function verifyRows(quick: boolean): Measurement[] {
  const three: Reps = { warmup: 0, minReps: 3, maxReps: 3, budgetMs: 0 };
  const once: Reps = { warmup: 0, minReps: 1, maxReps: 1, budgetMs: 0 };
  const row = (id: string, measurement: string, args: string[], reps: Reps, runS: number, target: string): Measurement => ({
    id: `verify/${id}`,
    group: 'verify',
    measurement,
    model: '—',
    backend: 'engine, tfjs-cpu, tfjs-wasm',
    precision: 'all',
    accumulate: 'strict',
    batchSize: 0,
    reps,
    ratios: [],
    batch: NO_BATCH,
    timeoutS: runS * reps.maxReps + 60,
    secondsTarget: target,
    task: { kind: 'command', args: [...args, '--out', '{out}', '--quiet', '--json'], reps, timeoutS: runS },
  });
  if (quick) {
    const smoke = ['verify', '--seed', '1', '--samples', '10', '--generators', 'exact-tie,near-tie'];
    return [row('main', 'adzone verify smoke (10 draws, 2 generators), one run', smoke, once, 180, 'verify-main-seconds')];
  }
  return [
    row(
      'main',
      'adzone verify --seed 1 (the main job, its defaults), wall time per run',
      ['verify', '--seed', '1'],
      three,
      300,
      'verify-main-seconds',
    ),
    row(
      'sweep-2000',
      'adzone verify --samples 2000 --seed 1, wall time per run',
      ['verify', '--samples', '2000', '--seed', '1'],
      three,
      900,
      'verify-sweep-seconds',
    ),
  ];
}

function planLenet(pl: Planner, b: WireBatch): void {
  const wasm = 'lenet/tfjs-wasm/32/framework';
  const fast = pl.reps('fast');
  pl.step('lenet', 'lenet5', b, fast, 'tfjs-wasm', '32', 'framework', [], 'native');
  pl.step('lenet', 'lenet5', b, fast, 'engine', '32', 'strict', [
    { to: wasm, target: 'engine-vs-tfjs-wasm' },
    { to: torchId('lenet', '32', 1), target: 'engine-vs-torch' },
  ]);
  pl.step('lenet', 'lenet5', b, fast, 'engine', '32', 'wide', [{ to: wasm, target: 'engine-vs-tfjs-wasm' }]);
  pl.step('lenet', 'lenet5', b, fast, 'engine', '16', 'strict', [{ to: 'lenet/engine/32/strict', target: 'engine16-vs-engine32' }]);
  pl.step('lenet', 'lenet5', b, fast, 'engine', '16', 'wide', [{ to: 'lenet/engine/32/wide', target: 'engine16-vs-engine32' }]);
  // At 64 bits wide is strict (nothing is wider than binary64): one row.
  pl.step('lenet', 'lenet5', b, fast, 'engine', '64', 'strict', [{ to: 'lenet/engine/32/strict' }, { to: torchId('lenet', '64', 1) }]);
  for (const mode of ['strict', 'wide'] as const) {
    pl.step('lenet', 'lenet5', b, pl.reps('glacial'), 'engine', 'bf16', mode, [
      { to: `lenet/engine/32/${mode}`, target: 'enginebf16-vs-engine32' },
      { to: torchId('lenet', 'bf16', 1) },
    ]);
  }
  pl.step('lenet', 'lenet5', b, fast, 'tfjs-wasm', '32', 'framework', [{ to: wasm }], 'first');
  pl.step('lenet', 'lenet5', b, pl.reps('slow'), 'tfjs-cpu', '32', 'framework', [{ to: wasm }], 'native');
  planLenetEval(pl, b);
  for (const threads of pl.peer.slice(1))
    pl.step(
      'lenet',
      'lenet5',
      b,
      fast,
      'engine',
      '32',
      'strict',
      [{ to: torchId('lenet', '32', threads), target: 'engine-vs-torch' }],
      undefined,
      threads,
    );
  for (const threads of pl.peer) pl.torch('lenet', 'lenet5', b, fast, 'float32', threads, 'lenet/engine/32/strict');
  pl.torch('lenet', 'lenet5', b, fast, 'float64', 1, 'lenet/engine/64/strict');
  pl.torch('lenet', 'lenet5', b, fast, 'bfloat16', 1, 'lenet/engine/bf16/wide', [
    { to: 'lenet/engine/16/strict' },
    { to: 'lenet/engine/16/wide' },
  ]);
}

/** Evaluation (the forward alone), against the training step of the same backend, precision and mode. */
function planLenetEval(pl: Planner, b: WireBatch): void {
  for (const [backend, precision, accumulate] of [
    ['engine', '32', 'strict'],
    ['engine', '16', 'strict'],
    ['tfjs-wasm', '32', 'framework'],
  ] as const) {
    const train = `lenet/${backend}/${precision}/${accumulate}`;
    const reps = pl.reps('fast');
    pl.out.push({
      id: `${train}/eval`,
      group: 'lenet',
      measurement: 'LeNet-5 evaluation of a batch (forward only)',
      model: 'lenet5',
      backend,
      precision,
      accumulate,
      batchSize: b.shape[0],
      reps,
      ratios: [{ to: train, target: 'eval-vs-train' }],
      batch: b,
      task: { kind: 'eval-step', model: 'lenet5', backend, precision, accumulate, batch: b, reps },
    });
  }
}

function planExact(pl: Planner, b: WireBatch): void {
  const exact = (
    what: 'exact-routing' | 'gradients-32' | 'plain-forward-64',
    measurement: string,
    backend: string,
    precision: string,
    accumulate: string,
    ratios: RatioSpec[],
  ) => {
    const reps = pl.reps('fast');
    pl.out.push({
      id: `exact/${what}`,
      group: 'exact',
      measurement,
      model: 'lenet5',
      backend,
      precision,
      accumulate,
      batchSize: b.shape[0],
      reps,
      ratios,
      batch: b,
      task: { kind: 'exact', what, batch: b, reps },
    });
  };
  exact('gradients-32', 'LeNet-5 loss gradient (forward + backward), 32-bit point', 'engine', '32', 'strict', []);
  exact('plain-forward-64', 'LeNet-5 plain float64 forward, 32-bit point', 'zones/network', '64', '—', []);
  exact('exact-routing', 'LeNet-5 exact routing (every MaxPool tie set, every ReLU sign), 32-bit point', 'zones/network', 'exact', '—', [
    { to: 'exact/gradients-32', target: 'exact-vs-backward' },
    { to: 'exact/plain-forward-64' },
  ]);
}

function planBig(pl: Planner, group: 'vgg' | 'resnet', model: BenchModel, b: WireBatch): void {
  const e32 = `${group}/engine/32/strict`;
  const wasm = `${group}/tfjs-wasm/32/framework`;
  const big = pl.reps('big');
  pl.step(group, model, b, big, 'tfjs-wasm', '32', 'framework', [], 'native');
  pl.step(group, model, b, big, 'engine', '32', 'strict', [{ to: wasm }, { to: torchId(group, '32', 1), target: 'engine-vs-torch-big' }]);
  pl.step(group, model, b, big, 'engine', '16', 'strict', [{ to: e32 }]);
  pl.step(group, model, b, big, 'engine', '64', 'strict', [{ to: e32 }]);
  for (const threads of pl.peer.slice(1))
    pl.step(
      group,
      model,
      b,
      big,
      'engine',
      '32',
      'strict',
      [{ to: torchId(group, '32', threads), target: 'engine-vs-torch-big' }],
      undefined,
      threads,
    );
  for (const threads of pl.peer) pl.torch(group, model, b, big, 'float32', threads, e32);
}
