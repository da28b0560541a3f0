/**
 * A validation split carved from a train split, for choosing hyperparameters without looking at the
 * test split. Stratified: each class gives round(fraction × its count) images (at least one while
 * the class has two or more, never all of them), so the split's class shares are the train split's.
 * Which images go is a seeded draw, fully specified (src/data/prng.ts): for class c, its indices in
 * file order are shuffled by Fisher–Yates with mulberry32 seeded mixSeed(seed, 0x5641 /'VA'/, c)
 * and the first k taken. Both parts keep file order, and the run's own seed (init, batch order,
 * augmentation) is left alone, so a trial on (train − validation) is an ordinary run on less data.
 */
import { type Dataset, Mulberry32, mixSeed } from '../data/index.ts';

export interface ValidationSplit {
  readonly fraction: number;
  readonly seed: number;
}

/** How many images of a class of `count` go to validation. */
export function validationCount(count: number, fraction: number): number {
  if (count < 2) return 0;
  return Math.min(count - 1, Math.max(1, Math.round(fraction * count)));
}

/** The dataset indices of the validation split, ascending. */
export function validationIndices(labels: ArrayLike<number>, classes: number, v: ValidationSplit): Int32Array {
  const byClass: number[][] = Array.from({ length: classes }, () => []);
  for (let i = 0; i < labels.length; i++) byClass[labels[i]].push(i);
  const picked: number[] = [];
  for (let c = 0; c < classes; c++) {
    const idx = byClass[c];
    const rng = new Mulberry32(mixSeed(v.seed, 0x5641, c));
    for (let i = idx.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [idx[i], idx[j]] = [idx[j], idx[i]];
    }
    picked.push(...idx.slice(0, validationCount(idx.length, v.fraction)));
  }
  return Int32Array.from(picked.sort((a, b) => a - b));
}

/** The images `keep` of a dataset (in that order), as a dataset of its own with the same source. */
export function subset(d: Dataset, keep: ArrayLike<number>): Dataset {
  const size = d.shape[0] * d.shape[1] * d.shape[2];
  const images = new Uint8Array(keep.length * size);
  const labels = d.labels instanceof Uint16Array ? new Uint16Array(keep.length) : new Uint8Array(keep.length);
  for (let i = 0; i < keep.length; i++) {
    const k = keep[i];
    images.set(d.images.subarray(k * size, (k + 1) * size), i * size);
    labels[i] = d.labels[k];
  }
  return { ...d, n: keep.length, images, labels };
}

/** The train split less its validation split, and the validation split. */
export function carveValidation(train: Dataset, v: ValidationSplit): { readonly train: Dataset; readonly validation: Dataset } {
  const val = validationIndices(train.labels, train.classes, v);
  const inVal = new Uint8Array(train.n);
  for (const i of val) inVal[i] = 1;
  const rest: number[] = [];
  for (let i = 0; i < train.n; i++) if (!inVal[i]) rest.push(i);
  return { train: subset(train, rest), validation: subset(train, val) };
}
