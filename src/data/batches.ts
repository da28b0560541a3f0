/**
 * Mini-batches, deterministic for a seed (PRNG and shuffle specified in ./prng.ts). One call is
 * one epoch; pass `epoch` to get the next epoch's order from the same seed.
 */
import { DataError } from './errors.ts';
import { type Normalisation, normalise } from './normalise.ts';
import { epochOrder, Mulberry32, mixSeed } from './prng.ts';
import type { Dataset } from './types.ts';

/**
 * The usual CIFAR recipe (as in the torchvision examples and the ResNet/VGG CIFAR trainings):
 * RandomCrop(size, padding = 4, zero fill) then RandomHorizontalFlip(p = 0.5). The output keeps
 * the input's size. Zero fill is pixel 0 before normalisation, as torchvision pads the PIL image.
 */
export interface AugmentOptions {
  /** Zero padding on each side before the random crop back to H×W (default 4; 0 = no crop). */
  readonly padding?: number;
  /** Random horizontal flip with p = 1/2 (default true). */
  readonly flip?: boolean;
}

export interface BatchOptions {
  readonly batchSize: number;
  /** Integer seed (default 0). */
  readonly seed?: number;
  /** Epoch number mixed into the seed (default 0). */
  readonly epoch?: number;
  /** Shuffle the order (default true); false gives 0..n−1. */
  readonly shuffle?: boolean;
  /** Drop a last, smaller batch (default false). */
  readonly dropLast?: boolean;
  /** true = the usual CIFAR recipe (crop 4 + flip); an object to choose; false/undefined = none. */
  readonly augment?: boolean | AugmentOptions;
  /** Default: the usual values for the data set's name (see normalise.ts). */
  readonly normalisation?: Normalisation;
}

export interface Batch {
  /** N·C·H·W normalised values, NCHW. */
  readonly x: Float64Array;
  readonly shape: readonly [number, number, number, number];
  readonly labels: Int32Array;
  /** Dataset indices of the N images, in batch order. */
  readonly indices: Int32Array;
  /** 0-based batch number within the epoch. */
  readonly batch: number;
}

/** How many batches an epoch has. */
export function batchCount(n: number, batchSize: number, dropLast = false): number {
  return dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
}

/** The augmentation draws for dataset index k: crop offsets dy, dx ∈ [0, 2·padding] (top, then left) and flip. */
export function augmentDraw(
  seed: number,
  epoch: number,
  k: number,
  padding: number,
  flip: boolean,
): { dy: number; dx: number; flip: boolean } {
  const rng = new Mulberry32(mixSeed(seed, epoch, 0x4147, k));
  const dy = padding > 0 ? rng.int(2 * padding + 1) : 0;
  const dx = padding > 0 ? rng.int(2 * padding + 1) : 0;
  const f = flip ? rng.int(2) === 1 : false;
  return { dy, dx, flip: f };
}

function checkInt(name: string, v: number, min: number) {
  if (!Number.isSafeInteger(v) || v < min) throw new DataError('option', `${name} must be an integer ≥ ${min}, got ${v}`);
}

/** One epoch of batches over `dataset`. */
export function* batches(dataset: Dataset, opts: BatchOptions): Generator<Batch> {
  const { batchSize, seed = 0, epoch = 0, shuffle = true, dropLast = false } = opts;
  checkInt('batchSize', batchSize, 1);
  checkInt('seed', seed, Number.MIN_SAFE_INTEGER);
  checkInt('epoch', epoch, 0);
  const aug: Required<AugmentOptions> | undefined =
    opts.augment === true
      ? { padding: 4, flip: true }
      : opts.augment
        ? { padding: opts.augment.padding ?? 4, flip: opts.augment.flip ?? true }
        : undefined;
  if (aug) checkInt('augment.padding', aug.padding, 0);

  const view = normalise(dataset, opts.normalisation);
  const [C, H, W] = dataset.shape;
  const plane = H * W;
  const img = C * plane;
  const order = epochOrder(dataset.n, seed, epoch, shuffle);
  const count = batchCount(dataset.n, batchSize, dropLast);

  for (let b = 0; b < count; b++) {
    const indices = order.slice(b * batchSize, Math.min(dataset.n, (b + 1) * batchSize));
    const N = indices.length;
    const labels = new Int32Array(N);
    for (let i = 0; i < N; i++) labels[i] = dataset.labels[indices[i]];
    let x: Float64Array;
    if (!aug) x = view.batch(indices);
    else {
      x = new Float64Array(N * img);
      const src = dataset.images;
      const p = aug.padding;
      for (let i = 0; i < N; i++) {
        const k = indices[i];
        const d = augmentDraw(seed, epoch, k, p, aug.flip);
        for (let c = 0; c < C; c++) {
          const t = view.tables[c];
          const zero = t[0];
          const s0 = k * img + c * plane;
          const d0 = i * img + c * plane;
          for (let y = 0; y < H; y++) {
            const sy = y + d.dy - p;
            const row = d0 + y * W;
            if (sy < 0 || sy >= H) {
              x.fill(zero, row, row + W);
              continue;
            }
            for (let xo = 0; xo < W; xo++) {
              const sx = (d.flip ? W - 1 - xo : xo) + d.dx - p;
              x[row + xo] = sx < 0 || sx >= W ? zero : t[src[s0 + sy * W + sx]];
            }
          }
        }
      }
    }
    yield { x, shape: [N, C, H, W], labels, indices, batch: b };
  }
}
