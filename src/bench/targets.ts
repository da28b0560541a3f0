/**
 * The speed targets of `adzone bench`. They live here and only here: tests check the shape of
 * results.json, never a timing. Each target bounds a ratio of two median step times.
 */
export interface Target {
  readonly id: string;
  /** PASS when ratio ≤ max (for a 'seconds' target: when the median wall time in seconds ≤ max). */
  readonly max: number;
  readonly description: string;
  /** 'ratio' (default): a ratio of two medians; 'seconds': a median wall time, in seconds. */
  readonly kind?: 'ratio' | 'seconds';
}

export const TARGETS: Readonly<Record<string, Target>> = {
  'engine-vs-tfjs-wasm': {
    id: 'engine-vs-tfjs-wasm',
    max: 1,
    description: 'LeNet-5 training step, batch 32: the engine at 32 bits no slower than tfjs-wasm at 32 bits',
  },
  'engine-vs-torch': {
    id: 'engine-vs-torch',
    max: 1,
    description:
      'LeNet-5 training step, batch 32: the engine at 32 bits strict no slower than PyTorch float32 on the same parameters and batch, both on the same number of threads',
  },
  'engine-vs-torch-big': {
    id: 'engine-vs-torch-big',
    max: 2,
    description:
      'VGG11 ×1/4 and ResNet18 ×1/4 training steps, batch 32: the engine at 32 bits strict at most 2× PyTorch float32 on the same parameters and batch and the same number of threads',
  },
  'engine16-vs-engine32': {
    id: 'engine16-vs-engine32',
    max: 1.5,
    description: 'LeNet-5 training step, batch 32: the engine at 16 bits at most 1.5× its 32-bit step (same accumulation mode)',
  },
  'enginebf16-vs-engine32': {
    id: 'enginebf16-vs-engine32',
    max: 1.5,
    description: 'LeNet-5 training step, batch 32: the engine at bfloat16 at most 1.5× its 32-bit step (same accumulation mode)',
  },
  'eval-vs-train': {
    id: 'eval-vs-train',
    max: 0.5,
    description:
      'LeNet-5, batch 32: evaluating a batch (forward only) at most half a training step on the same backend, precision and mode',
  },
  'exact-vs-backward': {
    id: 'exact-vs-backward',
    max: 1.5,
    description: "exact routing of a LeNet-5 MNIST batch of 32 at the 32-bit point at most 1.5× the engine's 32-bit gradient pass",
  },
  'verify-main-seconds': {
    id: 'verify-main-seconds',
    max: 60,
    kind: 'seconds',
    description:
      "the README's main job, `adzone verify --seed 1` (its defaults), at most 60 s wall (median of 3; the target is for 2 idle cores)",
  },
  'verify-sweep-seconds': {
    id: 'verify-sweep-seconds',
    max: 300,
    kind: 'seconds',
    description:
      'the long sweep, `adzone verify --samples 2000 --seed 1`, at most 5 minutes wall (median of 3; the target is for 2 idle cores)',
  },
};

export function verdict(value: number, max: number): 'PASS' | 'MISS' {
  return value <= max ? 'PASS' : 'MISS';
}
