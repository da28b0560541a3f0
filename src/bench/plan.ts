/**
 * What `adzone bench` measures, in order: one Measurement a row, each run alone in a child
 * process. Groups: lenet (training step, LeNet-5, MNIST batch of 32), exact (exact routing vs the
 * float passes, same batch), vgg and resnet (training step at width 1/4 on a CIFAR-10 subset batch).
 */
import type { BenchModel, Reps, Task, WireBatch } from './types.ts';

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

const QUICK: Reps = { warmup: 1, minReps: 2, maxReps: 2, budgetMs: 0 };
/** Repetitions per kind of measurement (full run). */
const FULL = {
  fast: { warmup: 3, minReps: 15, maxReps: 50, budgetMs: 5000 },
  slow: { warmup: 1, minReps: 5, maxReps: 7, budgetMs: 3000 },
  big: { warmup: 1, minReps: 5, maxReps: 15, budgetMs: 8000 },
} as const satisfies Record<string, Reps>;

export interface RatioSpec {
  readonly to: string;
  readonly target?: string;
}

export interface Measurement {
  readonly id: string;
  readonly group: Group;
  readonly measurement: string;
  readonly model: string;
  readonly backend: string;
  readonly precision: string;
  readonly accumulate: string;
  readonly batchSize: number;
  readonly reps: Reps;
  readonly ratios: readonly RatioSpec[];
  /** Run in a forked worker… */
  readonly task?: Task;
  /** Seconds after which the run's worker is stopped, when not the run's own limits (a verify row's several whole runs). */
  readonly timeoutS?: number;
  /** A 'seconds' target (targets.ts) on the median itself. */
  readonly secondsTarget?: string;
  /** …or through the python peer. */
  readonly torch?: 'float32' | 'float64';
}

export interface PlanInput {
  readonly quick: boolean;
  readonly groups: readonly Group[];
  readonly mnist: WireBatch;
  /** Only needed when vgg or resnet is asked for. */
  readonly cifar?: { readonly vgg: WireBatch; readonly resnet: WireBatch };
  /** Whether the torch rows are to be run (torch importable). */
  readonly torch: boolean;
}

const MODEL_LABEL: Record<BenchModel, string> = { lenet5: 'LeNet-5', 'vgg11-w0.25': 'VGG11 ×1/4', 'resnet18-w0.25': 'ResNet18 ×1/4 (BN)' };

export function plan(p: PlanInput): Measurement[] {
  const r = (kind: keyof typeof FULL): Reps => (p.quick ? QUICK : FULL[kind]);
  const out: Measurement[] = [];
  const step = (
    group: Group,
    model: BenchModel,
    batch: WireBatch,
    reps: Reps,
    backend: 'engine' | 'tfjs-wasm' | 'tfjs-cpu',
    precision: '16' | '32' | '64',
    accumulate: 'strict' | 'wide' | 'framework',
    ratios: RatioSpec[],
    tfjsJacobian?: 'native' | 'first',
  ) => {
    const suffix = tfjsJacobian === 'first' ? '/first' : '';
    out.push({
      id: `${group}/${backend}/${precision}/${accumulate}${suffix}`,
      group,
      measurement: `${MODEL_LABEL[model]} train step${tfjsJacobian === 'first' ? ' (adzone first-index MaxPool)' : ''}`,
      model,
      backend,
      precision,
      accumulate,
      batchSize: batch.shape[0],
      reps,
      ratios,
      task: { kind: 'train-step', model, backend, precision, accumulate, batch, reps, ...(tfjsJacobian ? { tfjsJacobian } : {}) },
    });
  };
  if (p.groups.includes('lenet')) {
    const b = p.mnist;
    const wasm = 'lenet/tfjs-wasm/32/framework';
    step('lenet', 'lenet5', b, r('fast'), 'tfjs-wasm', '32', 'framework', [], 'native');
    step('lenet', 'lenet5', b, r('fast'), 'engine', '32', 'strict', [{ to: wasm, target: 'engine-vs-tfjs-wasm' }]);
    step('lenet', 'lenet5', b, r('fast'), 'engine', '32', 'wide', [{ to: wasm, target: 'engine-vs-tfjs-wasm' }]);
    step('lenet', 'lenet5', b, r('fast'), 'engine', '16', 'strict', [{ to: 'lenet/engine/32/strict', target: 'engine16-vs-engine32' }]);
    step('lenet', 'lenet5', b, r('fast'), 'engine', '16', 'wide', [{ to: 'lenet/engine/32/wide', target: 'engine16-vs-engine32' }]);
    // At 64 bits wide is strict (nothing is wider than binary64): one row.
    step('lenet', 'lenet5', b, r('fast'), 'engine', '64', 'strict', [{ to: 'lenet/engine/32/strict' }]);
    step('lenet', 'lenet5', b, r('fast'), 'tfjs-wasm', '32', 'framework', [{ to: wasm }], 'first');
    step('lenet', 'lenet5', b, r('slow'), 'tfjs-cpu', '32', 'framework', [{ to: wasm }], 'native');
    // Evaluation (the forward alone), against the training step of the same backend, precision and mode.
    for (const [backend, precision, accumulate] of [
      ['engine', '32', 'strict'],
      ['engine', '16', 'strict'],
      ['tfjs-wasm', '32', 'framework'],
    ] as const) {
      const train = `lenet/${backend}/${precision}/${accumulate}`;
      out.push({
        id: `${train}/eval`,
        group: 'lenet',
        measurement: 'LeNet-5 evaluation of a batch (forward only)',
        model: 'lenet5',
        backend,
        precision,
        accumulate,
        batchSize: b.shape[0],
        reps: r('fast'),
        ratios: [{ to: train, target: 'eval-vs-train' }],
        task: { kind: 'eval-step', model: 'lenet5', backend, precision, accumulate, batch: b, reps: r('fast') },
      });
    }
    if (p.torch) {
      for (const [dtype, bits] of [
        ['float32', '32'],
        ['float64', '64'],
      ] as const) {
        out.push({
          id: `lenet/torch/${bits}/framework`,
          group: 'lenet',
          measurement: 'LeNet-5 train step (PyTorch peer)',
          model: 'lenet5',
          backend: 'torch',
          precision: bits,
          accumulate: 'framework',
          batchSize: b.shape[0],
          reps: r('fast'),
          ratios: [{ to: `lenet/engine/${bits}/strict` }],
          torch: dtype,
        });
      }
    }
  }
  if (p.groups.includes('exact')) {
    const b = p.mnist;
    const exact = (
      what: 'exact-routing' | 'gradients-32' | 'plain-forward-64',
      measurement: string,
      backend: string,
      precision: string,
      accumulate: string,
      ratios: RatioSpec[],
    ) =>
      out.push({
        id: `exact/${what}`,
        group: 'exact',
        measurement,
        model: 'lenet5',
        backend,
        precision,
        accumulate,
        batchSize: b.shape[0],
        reps: r('fast'),
        ratios,
        task: { kind: 'exact', what, batch: b, reps: r('fast') },
      });
    exact('gradients-32', 'LeNet-5 loss gradient (forward + backward), 32-bit point', 'engine', '32', 'strict', []);
    exact('plain-forward-64', 'LeNet-5 plain float64 forward, 32-bit point', 'zones/network', '64', '—', []);
    exact('exact-routing', 'LeNet-5 exact routing (every MaxPool tie set, every ReLU sign), 32-bit point', 'zones/network', 'exact', '—', [
      { to: 'exact/gradients-32', target: 'exact-vs-backward' },
      { to: 'exact/plain-forward-64' },
    ]);
  }
  if (p.groups.includes('verify')) out.push(...verifyRows(p.quick));
  for (const [group, model] of [
    ['vgg', 'vgg11-w0.25'],
    ['resnet', 'resnet18-w0.25'],
  ] as const) {
    if (!p.groups.includes(group)) continue;
    const b = p.cifar![group];
    const e32 = `${group}/engine/32/strict`;
    const wasm = `${group}/tfjs-wasm/32/framework`;
    step(group, model, b, r('big'), 'tfjs-wasm', '32', 'framework', [], 'native');
    step(group, model, b, r('big'), 'engine', '32', 'strict', [{ to: wasm }]);
    step(group, model, b, r('big'), 'engine', '16', 'strict', [{ to: e32 }]);
    step(group, model, b, r('big'), 'engine', '64', 'strict', [{ to: e32 }]);
  }
  return out;
}

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
    timeoutS: runS * reps.maxReps + 60,
    secondsTarget: target,
    task: { kind: 'command', args: [...args, '--out', '{out}', '--quiet', '--json'], reps, timeoutS: runS },
  });
  if (quick)
    return [
      row(
        'main',
        'adzone verify smoke (10 draws, 2 generators), one run',
        ['verify', '--seed', '1', '--samples', '10', '--generators', 'exact-tie,near-tie'],
        once,
        180,
        'verify-main-seconds',
      ),
    ];
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
