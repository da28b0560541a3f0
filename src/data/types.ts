/**
 * The in-memory form of every data set: raw uint8 pixels, NCHW planar, and integer labels.
 * Normalisation to floats happens per batch (src/data/normalise.ts, src/data/batches.ts).
 */
export type Split = 'train' | 'test';

export interface DataSource {
  /** Absolute paths of the files read, in the order their records were taken. */
  readonly files: readonly string[];
  /** sha256 (hex) of each file's content, gunzipped first where the file was gzip-compressed. */
  readonly sha256: readonly string[];
  /** Per file: true if its sha256 matched a published/known value, false if none is known or `verify: false`. */
  readonly verified: readonly boolean[];
}

export interface Dataset {
  /** 'mnist' | 'cifar10' | 'imagenet' (the registry name). */
  readonly name: string;
  readonly split: Split;
  /** Number of images. */
  readonly n: number;
  /** One image: [channels, height, width]. */
  readonly shape: readonly [number, number, number];
  /** Number of classes; every label is < classes. */
  readonly classes: number;
  /** Human-readable class names, index = label. */
  readonly classNames: readonly string[];
  /** Stable class identifiers where the data set has them (ImageNet wnids). */
  readonly classIds?: readonly string[];
  /** n·C·H·W bytes: image i, channel c, row y, column x at ((i·C + c)·H + y)·W + x. */
  readonly images: Uint8Array;
  /** n labels: Uint8Array for ≤ 256 classes, Uint16Array for ImageNet. */
  readonly labels: Uint8Array | Uint16Array;
  readonly source: DataSource;
}

/** Options every loader takes. */
export interface LoadOptions {
  /** Keep only the first `limit` records (at most n). Files are still checked whole. */
  readonly limit?: number;
  /**
   * Check each file's sha256 against the known value where one is known (default true). Set false
   * for files you made or edited yourself; the sha256 is still computed and recorded in `source`.
   * The environment variable ADZONE_DATA_VERIFY=0 does the same for every loader.
   */
  readonly verify?: boolean;
}
