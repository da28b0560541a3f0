/**
 * The shared ImageNet sample (../shared/data/imagenet, see its PROVENANCE.md): 1,000 real
 * ILSVRC-2012 photos, one per class, centre-cropped and box-downscaled to S×S (S = 32 or 64).
 * Each record is a uint16 little-endian label (0..999) then 3·S·S pixel bytes (R plane, G, B,
 * row-major); no header; record i has label i. classes.txt has one line per class:
 * `<index> <wnid> <name>`.
 *
 * It is one image per class, for smoke tests and evaluation of the input pipeline: there is no
 * train split, so the data set's split is 'test'.
 */
import { DataError, fmtInt } from './errors.ts';
import { applyLimit, checkKnown, dataDir, fileCacheKey, type KnownFile, readDataFile, resolveIn, verifyWanted } from './files.ts';
import type { Dataset, LoadOptions } from './types.ts';

export type ImagenetSize = 32 | 64;

const ORIGIN = 'the shared ImageNet sample, ../shared/data/imagenet/PROVENANCE.md';
/** From ../shared/data/imagenet/PROVENANCE.md (re-measured with sha256sum here). */
export const IMAGENET_KNOWN: Readonly<Record<string, KnownFile>> = {
  'sample_64x64.bin': { sha256: 'abfb479d08af2f586da87a7b070deda4c0381edd964185b66dc5785c7b28e56c', bytes: 12_290_000, origin: ORIGIN },
  'sample_32x32.bin': { sha256: '30e958046cde5ac2a76cba20bfba296b3e1b03cfe8aa8d6aabbfc6163595f17f', bytes: 3_074_000, origin: ORIGIN },
  'classes.txt': { sha256: 'a4d329d6522458b6c896d6e672b1c76c03b7b7933ee7b3a8e0303cafa57e406d', bytes: 24_363, origin: ORIGIN },
};

export interface ImagenetOptions extends LoadOptions {
  /** Folder with the files. Default: $ADZONE_DATA_DIR/imagenet if set, else ../shared/data/imagenet beside the repository. */
  readonly dir?: string;
  /** The record file (absolute or relative to dir); default sample_{S}x{S}.bin. */
  readonly file?: string;
  /** The class list (absolute or relative to dir); default classes.txt. */
  readonly classesFile?: string;
}

function howToGet(dir: string): string {
  return (
    `The ImageNet sample is expected in ${dir} (sample_64x64.bin, sample_32x32.bin, classes.txt; see ../shared/data/imagenet/PROVENANCE.md). ` +
    'Pass { dir } or set ADZONE_DATA_DIR to a folder holding imagenet/ to use another copy.'
  );
}

/** Parses classes.txt: line i must be `i <wnid> <name>`. */
export function parseImagenetClasses(text: string, file: string): { wnids: string[]; names: string[] } {
  const wnids: string[] = [];
  const names: string[] = [];
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  lines.forEach((line, i) => {
    const m = /^(\d+)\s+(\S+)\s+(.*\S)\s*$/.exec(line);
    if (!m || Number(m[1]) !== i) {
      throw new DataError('format', `${file}: line ${i + 1} should read "${i} <wnid> <name>", found ${JSON.stringify(line)}`, {
        file,
        record: i,
        found: line,
      });
    }
    wnids.push(m[2]);
    names.push(m[3]);
  });
  if (wnids.length === 0) throw new DataError('format', `${file} lists no classes`, { file });
  return { wnids, names };
}

/** Loads the ImageNet sample at S = 32 or 64: shape [3, S, S], labels 0..999 (Uint16Array). */
export function loadImagenetSample(size: ImagenetSize = 64, opts: ImagenetOptions = {}): Dataset {
  if (size !== 32 && size !== 64) throw new DataError('option', `ImageNet sample size must be 32 or 64, got ${size}`);
  const dir = dataDir('imagenet', opts.dir);
  const verify = verifyWanted(opts);
  const path = resolveIn(dir, opts.file ?? `sample_${size}x${size}.bin`);
  const classesPath = resolveIn(dir, opts.classesFile ?? 'classes.txt');

  const classBytes = readDataFile(classesPath, 'ImageNet class list', howToGet(dir));
  const { wnids, names } = parseImagenetClasses(new TextDecoder('utf-8').decode(classBytes), classesPath);
  const classes = wnids.length;

  const bytes = readDataFile(path, 'ImageNet sample file', howToGet(dir));
  const base = path.split(/[\\/]/).pop()!;
  const known = IMAGENET_KNOWN[base];
  const P = 3 * size * size;
  const R = 2 + P;
  if (bytes.length === 0 || bytes.length % R !== 0) {
    const whole = Math.floor(bytes.length / R);
    const expected = known && verify ? known.bytes : (whole + 1) * R;
    throw new DataError(
      'truncated',
      `${path} is truncated: ${size}×${size} ImageNet-sample records are ${fmtInt(R)} bytes (2 label + ${fmtInt(P)} pixels), so expected ${fmtInt(expected)} bytes, ` +
        `found ${fmtInt(bytes.length)} (${fmtInt(whole)} whole records and ${fmtInt(bytes.length - whole * R)} bytes over)`,
      { file: path, expected, found: bytes.length },
    );
  }
  const records = bytes.length / R;
  for (let i = 0; i < records; i++) {
    const label = bytes[i * R] | (bytes[i * R + 1] << 8);
    if (label >= classes) {
      throw new DataError(
        'label',
        `${path}: record ${i} has label ${label}, but ${classesPath} lists ${classes} classes (labels 0–${classes - 1})`,
        {
          file: path,
          record: i,
          label,
          expected: `0..${classes - 1}`,
          found: label,
        },
      );
    }
  }
  const cHash = checkKnown(classesPath, classBytes, IMAGENET_KNOWN[classesPath.split(/[\\/]/).pop()!], verify, fileCacheKey(classesPath));
  const bHash = checkKnown(path, bytes, known, verify, fileCacheKey(path));

  const n = applyLimit(records, opts.limit);
  const images = new Uint8Array(n * P);
  const labels = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = bytes[i * R] | (bytes[i * R + 1] << 8);
    images.set(bytes.subarray(i * R + 2, (i + 1) * R), i * P);
  }
  return {
    name: 'imagenet',
    split: 'test',
    n,
    shape: [3, size, size],
    classes,
    classNames: names,
    classIds: wnids,
    images,
    labels,
    source: { files: [path, classesPath], sha256: [bHash.sha256, cHash.sha256], verified: [bHash.verified, cHash.verified] },
  };
}
