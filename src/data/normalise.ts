/**
 * Normalisation x = (pixel/255 − mean[c]) / std[c], done lazily: `normalise` only builds one
 * 256-entry Float64 table per channel; floats are produced per batch by `batch(indices)`.
 */
import { DataError } from './errors.ts';
import type { Dataset } from './types.ts';

/** Per-channel mean and std in [0, 1] pixel units (length 1 applies to every channel). */
export interface Normalisation {
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

/** MNIST: mean 0.1307, std 0.3081, as the paper (docs/DESIGN.md §4) and the usual PyTorch MNIST examples. */
export const MNIST_NORMALISATION: Normalisation = { mean: [0.1307], std: [0.3081] };
/**
 * CIFAR-10: the usual per-channel values (R, G, B) = mean (0.4914, 0.4822, 0.4465),
 * std (0.2470, 0.2435, 0.2616) — the mean and per-pixel std of the full official train set. (The
 * other widespread std triple, (0.2023, 0.1994, 0.2010), is not the per-pixel std.)
 */
export const CIFAR10_NORMALISATION: Normalisation = { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] };
/** ImageNet: the usual torchvision values, mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225). */
export const IMAGENET_NORMALISATION: Normalisation = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
/**
 * SVHN: mean 0.5, std 0.5 for every channel, mapping pixels to [−1, 1] (the common torchvision
 * recipe for SVHN; a convention, not statistics measured on the data).
 */
export const SVHN_NORMALISATION: Normalisation = { mean: [0.5], std: [0.5] };
/** pixel/255 only. */
export const UNIT_NORMALISATION: Normalisation = { mean: [0], std: [1] };

/** The usual normalisation for a registry name ('mnist', 'cifar10', 'imagenet', 'svhn'); pixel/255 otherwise. */
export function defaultNormalisation(name: string): Normalisation {
  switch (name) {
    case 'mnist':
      return MNIST_NORMALISATION;
    case 'cifar10':
      return CIFAR10_NORMALISATION;
    case 'imagenet':
      return IMAGENET_NORMALISATION;
    case 'svhn':
      return SVHN_NORMALISATION;
    default:
      return UNIT_NORMALISATION;
  }
}

export interface Normalised {
  readonly dataset: Dataset;
  readonly normalisation: Normalisation;
  /** tables[c][v] = (v/255 − mean[c]) / std[c] for v = 0..255. */
  readonly tables: readonly Float64Array[];
  /** The images at `indices`, normalised, as one [N, C, H, W] Float64Array (written into `out` if given). */
  batch(indices: ArrayLike<number>, out?: Float64Array): Float64Array;
}

export function normalisationTables(C: number, norm: Normalisation): Float64Array[] {
  const pick = (xs: readonly number[], c: number, what: string) => {
    if (xs.length !== 1 && xs.length !== C)
      throw new DataError('option', `normalisation ${what} has ${xs.length} values for ${C} channels (give 1 or ${C})`);
    return xs.length === 1 ? xs[0] : xs[c];
  };
  const tables: Float64Array[] = [];
  for (let c = 0; c < C; c++) {
    const mean = pick(norm.mean, c, 'mean');
    const std = pick(norm.std, c, 'std');
    if (!(std > 0) || !Number.isFinite(mean))
      throw new DataError('option', `normalisation channel ${c}: need finite mean and std > 0, got mean ${mean}, std ${std}`);
    const t = new Float64Array(256);
    for (let v = 0; v < 256; v++) t[v] = (v / 255 - mean) / std;
    tables.push(t);
  }
  return tables;
}

/** Lazy normalised view of a data set; `norm` defaults to the usual values for its name. */
export function normalise(dataset: Dataset, norm: Normalisation = defaultNormalisation(dataset.name)): Normalised {
  const [C, H, W] = dataset.shape;
  const plane = H * W;
  const img = C * plane;
  const tables = normalisationTables(C, norm);
  return {
    dataset,
    normalisation: norm,
    tables,
    batch(indices, out) {
      const N = indices.length;
      const x = out ?? new Float64Array(N * img);
      if (x.length < N * img) throw new DataError('option', `output buffer holds ${x.length} values, need ${N * img}`);
      const src = dataset.images;
      for (let b = 0; b < N; b++) {
        const i = indices[b];
        if (!Number.isInteger(i) || i < 0 || i >= dataset.n) throw new DataError('option', `index ${i} out of range 0..${dataset.n - 1}`);
        for (let c = 0; c < C; c++) {
          const t = tables[c];
          const s0 = i * img + c * plane;
          const d0 = b * img + c * plane;
          for (let p = 0; p < plane; p++) x[d0 + p] = t[src[s0 + p]];
        }
      }
      return x;
    },
  };
}
