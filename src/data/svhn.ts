/**
 * SVHN cropped digits ("format 2") from the official MATLAB files train_32x32.mat (73,257 images),
 * test_32x32.mat (26,032) and extra_32x32.mat (531,131), as published on
 * http://ufldl.stanford.edu/housenumbers/. Each is a level-5 MAT-file (read by src/data/mat5.ts)
 * holding X, uint8 32×32×3×N in MATLAB's column-major order (row, column, channel, image), and
 * y, N×1 labels 1..10 where 10 stands for the digit 0 (class double, usually stored as uint8).
 * The loader turns them into the project's Dataset: NCHW uint8 and labels 0..9 (10 → 0).
 *
 * Where the files are: `{ dir }`, else $ADZONE_SVHN_DIR, else $ADZONE_DATA_DIR/svhn, else
 * ../shared/data/svhn beside the repository (the data root of src/data/files.ts). Get them with
 * `adzone data fetch svhn --to DIR` (downloads, resumes and md5-checks them).
 *
 * Checks: truncated file, bad header or version, missing X or y, wrong dimensions, labels out of
 * 1..10 (DataError 'truncated', 'format', 'format', 'format', 'label'); then, for the official file
 * names and unless `verify: false`, the size and the md5 recorded in torchvision's SVHN loader (a
 * mismatch is DataError 'size' or 'sha256', the kind for a checksum that is not the published
 * one). The sizes are the ones quoted by many public download scripts' size checks; no sha256 of
 * the files is published.
 *
 * Normalisation: mean 0.5, std 0.5 per channel (SVHN_NORMALISATION, src/data/normalise.ts), maps
 * pixels to [−1, 1]; a convention, not statistics of the data set.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { DataError, fmtInt } from './errors.ts';
import { applyLimit, checkKnown, dataDir, fileCacheKey, type KnownFile, readDataFile, resolveIn, verifyWanted } from './files.ts';
import { type MatVariable, matVariable, readMat5 } from './mat5.ts';
import type { Dataset, LoadOptions, Split } from './types.ts';

export const SVHN_FILES = { train: 'train_32x32.mat', test: 'test_32x32.mat', extra: 'extra_32x32.mat' } as const;
/** Images per official file (the dataset page gives the same counts). */
export const SVHN_COUNTS = { train: 73_257, test: 26_032, extra: 531_131 } as const;
export const SVHN_CLASS_NAMES: readonly string[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
export const SVHN_HOME = 'http://ufldl.stanford.edu/housenumbers/';

const ORIGIN = 'the official SVHN file, md5 as recorded by torchvision';
/** Size and md5 of the official files. No sha256 is published, so `checkKnown` checks only the size. */
export const SVHN_KNOWN: Readonly<Record<string, KnownFile & { readonly md5: string }>> = {
  'train_32x32.mat': { bytes: 182_040_794, md5: 'e26dedcc434d2e4c54c9b2d4a06d8373', origin: ORIGIN },
  'test_32x32.mat': { bytes: 64_275_384, md5: 'eb5a983be6a315427106f1b164d9cef3', origin: ORIGIN },
  'extra_32x32.mat': { bytes: 1_329_278_602, md5: 'a93ce644f1a588dc4d68dda5feec44a7', origin: ORIGIN },
};

export interface SvhnOptions extends LoadOptions {
  /** Folder with the .mat files; default $ADZONE_SVHN_DIR, else $ADZONE_DATA_DIR/svhn, else ../shared/data/svhn. */
  readonly dir?: string;
  /** Train split only: append extra_32x32.mat (531,131 more images; a 1.3 GB file that needs several GB of memory). */
  readonly extra?: boolean;
  /** Explicit files (absolute, or relative to the folder), read in order instead of the split's. */
  readonly files?: readonly string[];
}

/** The folder the loader reads when no `dir` is given (see the file comment). */
export function svhnDir(dir?: string): string {
  if (dir !== undefined) return resolve(dir);
  const env = process.env.ADZONE_SVHN_DIR;
  if (env && env.trim() !== '') return resolve(env);
  return dataDir('svhn');
}

/** How to get the files, for messages. */
export function svhnHowToGet(dir: string): string {
  return (
    `Get the official files with \`adzone data fetch svhn --to ${dir}\` (train_32x32.mat, 182 MB, and test_32x32.mat, 64 MB, from ${SVHN_HOME}; ` +
    'add --extra for extra_32x32.mat, 1.3 GB), or point { dir }, ADZONE_SVHN_DIR, or ADZONE_DATA_DIR (a folder holding svhn/) at a folder that has them.'
  );
}

/** The files a split reads in `dir`. */
export function svhnFiles(split: Split, dir: string, extra = false): string[] {
  if (split === 'train') return [join(dir, SVHN_FILES.train), ...(extra ? [join(dir, SVHN_FILES.extra)] : [])];
  return [join(dir, SVHN_FILES.test)];
}

/** True when the split's files exist in the default folder (or `dir`). */
export function svhnPresent(split: Split, dir?: string): boolean {
  return svhnFiles(split, svhnDir(dir)).every((f) => existsSync(f));
}

const md5Cache = new Map<string, string>();
function md5Of(bytes: Uint8Array, cacheKey: string): string {
  const hit = md5Cache.get(cacheKey);
  if (hit !== undefined) return hit;
  const h = createHash('md5').update(bytes).digest('hex');
  md5Cache.set(cacheKey, h);
  return h;
}

/** The number of images in X (dims 32×32×3×N; MATLAB drops the trailing 1 when N = 1). */
function imageCount(X: MatVariable, path: string): number {
  const d = X.dims;
  const ok = (d.length === 4 || d.length === 3) && d[0] === 32 && d[1] === 32 && d[2] === 3;
  if (!ok) {
    throw new DataError(
      'format',
      `${path}: X has dimensions ${d.join('×')}, expected 32×32×3×N (rows × columns × RGB × images, MATLAB order) for SVHN cropped digits. ` +
        'Is this the 32×32 "format 2" file (train_32x32.mat / test_32x32.mat / extra_32x32.mat)?',
      { file: path, expected: '32×32×3×N', found: d.join('×') },
    );
  }
  return d.length === 4 ? d[3] : 1;
}

/**
 * Converts the X and y of one SVHN file to NCHW uint8 images and labels 0..9 (10 → 0), keeping
 * the first `keep` images. Every label is checked, also past `keep`.
 */
export function svhnArrays(
  X: MatVariable,
  y: MatVariable,
  path: string,
  keep = Number.MAX_SAFE_INTEGER,
): { n: number; images: Uint8Array; labels: Uint8Array } {
  const N = imageCount(X, path);
  const yd = y.dims;
  const yCount = yd.reduce((a, b) => a * b, 1);
  if (yd.length !== 2 || (yd[0] !== 1 && yd[1] !== 1) || yCount !== N) {
    throw new DataError(
      'format',
      `${path}: y has dimensions ${yd.join('×')}, expected ${N}×1 (one label per image of X, which is ${X.dims.join('×')})`,
      { file: path, expected: `${N}×1`, found: yd.join('×') },
    );
  }
  const yv = y.data;
  for (let i = 0; i < N; i++) {
    const v = yv[i];
    if (!(Number.isInteger(v) && v >= 1 && v <= 10)) {
      throw new DataError('label', `${path}: record ${i} has label ${v} in y, but SVHN labels are 1..10 (10 stands for the digit 0)`, {
        file: path,
        record: i,
        label: v,
        expected: '1..10',
        found: v,
      });
    }
  }
  const n = Math.min(N, keep);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) labels[i] = yv[i] % 10;

  const xs = X.data;
  if (!(xs instanceof Uint8Array)) {
    // A non-uint8 X (e.g. saved as double): accept whole numbers 0..255 only.
    for (let k = 0; k < n * 3072; k++) {
      const v = xs[k];
      if (!(Number.isInteger(v) && v >= 0 && v <= 255)) {
        throw new DataError('format', `${path}: X (${X.className}) holds ${v} at element ${k}; pixels must be whole numbers 0..255`, {
          file: path,
          found: v,
        });
      }
    }
  }
  // X(r, c, ch, i) is at r + 32·c + 1024·(ch + 3·i); NCHW wants ((i·3 + ch)·32 + r)·32 + c.
  // Each 32×32 plane starts at the same offset in both: only a transpose inside the plane.
  const images = new Uint8Array(n * 3072);
  for (let plane = 0; plane < n * 3; plane++) {
    const o = plane * 1024;
    for (let c = 0; c < 32; c++) {
      const src = o + 32 * c;
      for (let r = 0; r < 32; r++) images[o + 32 * r + c] = xs[src + r];
    }
  }
  return { n, images, labels };
}

/**
 * Loads an SVHN split: shape [3, 32, 32], labels 0..9 (the digit shown). Train reads
 * train_32x32.mat (plus extra_32x32.mat with `extra`), test test_32x32.mat.
 */
export function loadSvhn(split: Split, opts: SvhnOptions = {}): Dataset {
  if (split !== 'train' && split !== 'test') throw new DataError('option', `SVHN split must be 'train' or 'test', got '${split}'`);
  if (opts.extra && split !== 'train') throw new DataError('option', "SVHN { extra: true } adds extra_32x32.mat to the 'train' split only");
  const dir = svhnDir(opts.dir);
  const verify = verifyWanted(opts);
  const files = opts.files ? opts.files.map((f) => resolveIn(dir, f)) : svhnFiles(split, dir, opts.extra);
  const cap = applyLimit(Number.MAX_SAFE_INTEGER, opts.limit);

  const parts: { n: number; images: Uint8Array; labels: Uint8Array }[] = [];
  const sha256: string[] = [];
  const verified: boolean[] = [];
  let total = 0;
  for (const path of files) {
    if (total >= cap && parts.length > 0) break;
    const bytes = readDataFile(path, 'SVHN file', svhnHowToGet(dir));
    const mat = readMat5(bytes, path);
    const X = matVariable(mat, 'X', 'the images, uint8 32×32×3×N');
    const y = matVariable(mat, 'y', 'the labels, N×1, 1..10');
    const part = svhnArrays(X, y, path, cap - total);
    const known = SVHN_KNOWN[basename(path)];
    const key = fileCacheKey(path);
    const h = checkKnown(path, bytes, known, verify, key);
    let ok = false;
    if (known && verify) {
      const md5 = md5Of(bytes, key);
      if (md5 !== known.md5) {
        throw new DataError(
          'sha256',
          `md5 mismatch for ${path}: expected ${known.md5} (${known.origin}), found ${md5} (${fmtInt(bytes.length)} bytes). ` +
            'If you made or changed this file on purpose, load it with { verify: false } (or set ADZONE_DATA_VERIFY=0); otherwise fetch it again with `adzone data fetch svhn`.',
          { file: path, expected: known.md5, found: md5 },
        );
      }
      ok = true;
    }
    sha256.push(h.sha256);
    verified.push(ok);
    parts.push(part);
    total += part.n;
  }

  const n = applyLimit(total, opts.limit);
  let images: Uint8Array;
  let labels: Uint8Array;
  if (parts.length === 1) {
    images = parts[0].images.subarray(0, n * 3072);
    labels = parts[0].labels.subarray(0, n);
  } else {
    images = new Uint8Array(n * 3072);
    labels = new Uint8Array(n);
    let k = 0;
    for (const p of parts) {
      const take = Math.min(p.n, n - k);
      images.set(p.images.subarray(0, take * 3072), k * 3072);
      labels.set(p.labels.subarray(0, take), k);
      k += take;
    }
  }
  return {
    name: 'svhn',
    split,
    n,
    shape: [3, 32, 32],
    classes: 10,
    classNames: SVHN_CLASS_NAMES,
    images,
    labels,
    source: { files: files.slice(0, parts.length), sha256, verified },
  };
}
