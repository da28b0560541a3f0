/**
 * src/data/mat5.ts and src/data/svhn.ts on MAT-files written here in SVHN's layout (as MATLAB
 * writes them: compressed, y double stored as uint8; also uncompressed, big-endian, y stored as
 * double or uint8 class): pixels land in NCHW, labels 10 → 0; each broken file (truncated, bad
 * header, missing variable, wrong dimensions, label out of range) gives the right DataError kind
 * and names the file; the registry entry; and, where python3 has scipy, a cross-check both ways
 * with scipy.io (loadmat reads our writer's file, our reader reads savemat's file).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Dataset, datasetByName, defaultNormalisation, loadSvhn, readMat5, SVHN_NORMALISATION } from '../src/data/index.ts';
import {
  expectDataError,
  miDOUBLE,
  miUINT8,
  mxCHAR,
  mxUINT8,
  scratchDirs,
  sha256,
  svhnFixture,
  svhnLabel,
  svhnMat,
  svhnPixel,
  writeMat5,
} from './support/datafiles.ts';

const { fresh: freshDir } = scratchDirs('adzone-svhn-test-');

/** A folder holding train_32x32.mat / test_32x32.mat with the given bytes. */
function folderWith(files: Record<string, Uint8Array>): string {
  const d = freshDir();
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(d, name), bytes);
  return d;
}

function same(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const F = svhnFixture(20, 40);

function expectFixture(d: Dataset, f = F) {
  expect(d.name).toBe('svhn');
  expect(d.n).toBe(f.n);
  expect(d.shape).toEqual([3, 32, 32]);
  expect(d.classes).toBe(10);
  expect(same(d.images, f.images)).toBe(true);
  expect(same(d.labels, f.labels)).toBe(true);
}

describe('SVHN from level-5 MAT-files', () => {
  it('reads the MATLAB layout: compressed, X uint8 32×32×3×N column-major, y double stored as uint8; 10 → 0', () => {
    const dir = folderWith({ 'train_32x32.mat': svhnMat(F) });
    const d = loadSvhn('train', { dir, verify: false });
    expectFixture(d);
    // Spot checks in plain terms: image 3, green, row 5, column 9; label of image 9 is 10 → digit 0.
    expect(d.images[((3 * 3 + 1) * 32 + 5) * 32 + 9]).toBe(F.X[5 + 32 * 9 + 1024 * 1 + 3072 * 3]);
    expect(F.y[9]).toBe(10);
    expect(d.labels[9]).toBe(0);
    expect(d.labels[0]).toBe(1);
    expect(d.source.files).toEqual([join(dir, 'train_32x32.mat')]);
    expect(d.source.verified).toEqual([false]);
    expect(d.source.sha256[0]).toMatch(/^[0-9a-f]{64}$/);

    const mat = readMat5(svhnMat(F), 'x.mat');
    expect(mat.header.littleEndian).toBe(true);
    expect(mat.header.version).toBe(0x0100);
    expect(mat.variables.map((v) => [v.name, v.className, v.dims.join('×'), v.storedAs, v.compressed])).toEqual([
      ['X', 'uint8', '32×32×3×20', 'miUINT8', true],
      ['y', 'double', '20×1', 'miUINT8', true],
    ]);
  });

  it('reads big-endian (MI) and uncompressed files, y stored as double or of class uint8, N = 1, and limit', () => {
    for (const opts of [
      { bigEndian: true },
      { compress: false },
      { bigEndian: true, compress: false, yStoreAs: miDOUBLE },
      { yClass: mxUINT8, yStoreAs: miUINT8 },
    ]) {
      const dir = folderWith({ 'test_32x32.mat': svhnMat(F, opts) });
      expectFixture(loadSvhn('test', { dir, verify: false }));
    }
    expect(readMat5(svhnMat(F, { bigEndian: true }), 'be.mat').header.littleEndian).toBe(false);
    // MATLAB drops the trailing singleton: one image is stored as 32×32×3.
    const one = svhnFixture(1);
    const dir1 = folderWith({ 'train_32x32.mat': svhnMat(one, { xDims: [32, 32, 3] }) });
    expectFixture(loadSvhn('train', { dir: dir1, verify: false }), one);
    const dir = folderWith({ 'train_32x32.mat': svhnMat(F) });
    const d = loadSvhn('train', { dir, verify: false, limit: 7 });
    expect(d.n).toBe(7);
    expect(same(d.images, F.images.subarray(0, 7 * 3072))).toBe(true);
    expect(same(d.labels, F.labels.subarray(0, 7))).toBe(true);
  });

  it('checks the official size (and then md5) of files with the official names unless verify is false', () => {
    const dir = folderWith({ 'train_32x32.mat': svhnMat(F) });
    const path = join(dir, 'train_32x32.mat');
    expectDataError(() => loadSvhn('train', { dir }), 'size', path, /182,040,794/, /verify: false/);
    expect(loadSvhn('train', { dir, verify: false }).n).toBe(20);
  });
});

describe('SVHN: broken MAT-files are DataErrors naming the file', () => {
  it('a truncated file is DataError truncated naming the file, wherever it is cut', () => {
    const whole = svhnMat(F);
    for (const cut of [0, 50, 127, 128 + 4, 128 + 100, whole.length >> 1, whole.length - 1]) {
      const dir = folderWith({ 'train_32x32.mat': whole.subarray(0, cut) });
      expectDataError(() => loadSvhn('train', { dir, verify: false }), 'truncated', join(dir, 'train_32x32.mat'), /truncated/);
    }
  });

  it('a bad header or version is DataError format naming the file and saying what it looks like', () => {
    const good = svhnMat(F);
    const bad = (edit: (b: Buffer) => void) => {
      const b = Buffer.from(good);
      edit(b);
      return folderWith({ 'train_32x32.mat': b });
    };
    let dir = bad((b) => b.write('XX', 126, 'latin1'));
    expectDataError(
      () => loadSvhn('train', { dir, verify: false }),
      'format',
      join(dir, 'train_32x32.mat'),
      /not a MATLAB level-5 MAT-file/,
      /'IM' or 'MI'/,
      /"XX"/,
    );
    dir = folderWith({ 'train_32x32.mat': svhnMat(F, { version: 0x0200 }) });
    expectDataError(
      () => loadSvhn('train', { dir, verify: false }),
      'format',
      join(dir, 'train_32x32.mat'),
      /version 0x0200/,
      /v7\.3/,
      /-v7/,
    );
    dir = bad((b) => {
      b.set([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a], 0);
      b.write('\0\0', 126, 'latin1');
    });
    expectDataError(() => loadSvhn('train', { dir, verify: false }), 'format', join(dir, 'train_32x32.mat'), /HDF5/);
    // A corrupt compressed element (bytes changed inside the zlib stream).
    dir = bad((b) => b.fill(0x55, 128 + 8 + 100, 128 + 8 + 140));
    expectDataError(() => loadSvhn('train', { dir, verify: false }), 'format', join(dir, 'train_32x32.mat'), /does not decompress|corrupt/);
  });

  it('a missing X or y, or a y that is not numeric, is DataError format naming the file and what it holds', () => {
    let dir = folderWith({ 'train_32x32.mat': svhnMat(F, { omit: 'y' }) });
    expectDataError(
      () => loadSvhn('train', { dir, verify: false }),
      'format',
      join(dir, 'train_32x32.mat'),
      /no variable 'y'/,
      /X \(uint8 32×32×3×20\)/,
    );
    dir = folderWith({ 'train_32x32.mat': svhnMat(F, { omit: 'X' }) });
    expectDataError(() => loadSvhn('train', { dir, verify: false }), 'format', join(dir, 'train_32x32.mat'), /no variable 'X'/);
    const chars = writeMat5([
      { name: 'X', cls: mxUINT8, dims: [32, 32, 3, F.n], values: F.X },
      { name: 'y', cls: mxCHAR, dims: [1, 3], values: [97, 98, 99] },
    ]);
    dir = folderWith({ 'train_32x32.mat': chars });
    expectDataError(() => loadSvhn('train', { dir, verify: false }), 'format', join(dir, 'train_32x32.mat'), /'y'.*char array/);
  });
});

describe('SVHN: wrong shapes and labels are DataErrors naming the file', () => {
  it('wrong dimensions of X or y are DataError format', () => {
    let dir = folderWith({ 'train_32x32.mat': svhnMat(F, { xDims: [32, 32, 1, F.n * 3] }) });
    expectDataError(
      () => loadSvhn('train', { dir, verify: false }),
      'format',
      join(dir, 'train_32x32.mat'),
      /X has dimensions 32×32×1×60, expected 32×32×3×N/,
    );
    const short = writeMat5([
      { name: 'X', cls: mxUINT8, dims: [32, 32, 3, F.n], values: F.X },
      { name: 'y', cls: 6, dims: [F.n - 1, 1], values: F.y.slice(1), storeAs: miUINT8 },
    ]);
    dir = folderWith({ 'train_32x32.mat': short });
    expectDataError(
      () => loadSvhn('train', { dir, verify: false }),
      'format',
      join(dir, 'train_32x32.mat'),
      /y has dimensions 19×1, expected 20×1/,
    );
  });

  it('a label out of 1..10 (0 or 11) is DataError label naming the file and the record', () => {
    for (const [i, v] of [
      [4, 0],
      [17, 11],
    ]) {
      const g = { ...F, y: F.y.map((x, k) => (k === i ? v : x)) };
      const dir = folderWith({ 'test_32x32.mat': svhnMat(g) });
      const e = expectDataError(
        () => loadSvhn('test', { dir, verify: false }),
        'label',
        join(dir, 'test_32x32.mat'),
        `record ${i} has label ${v}`,
        /1\.\.10/,
      );
      expect(e.record).toBe(i);
      expect(e.label).toBe(v);
    }
  });
});

describe('SVHN in the registry', () => {
  it('registry: available only when the files are in $ADZONE_SVHN_DIR (or $ADZONE_DATA_DIR/svhn); else unavailable with how to fetch', () => {
    const old = { svhn: process.env.ADZONE_SVHN_DIR, data: process.env.ADZONE_DATA_DIR };
    const restore = () => {
      for (const [k, v] of [
        ['ADZONE_SVHN_DIR', old.svhn],
        ['ADZONE_DATA_DIR', old.data],
      ] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    };
    try {
      const empty = freshDir();
      process.env.ADZONE_SVHN_DIR = empty;
      const info = datasetByName('svhn');
      expect(info.available).toBe(false);
      expectDataError(
        () => info.load('train'),
        'unavailable',
        'SVHN: no offline source',
        join(empty, 'train_32x32.mat'),
        `adzone data fetch svhn --to ${empty}`,
      );

      const dir = folderWith({ 'train_32x32.mat': svhnMat(F), 'test_32x32.mat': svhnMat(svhnFixture(5)) });
      process.env.ADZONE_SVHN_DIR = dir;
      expect(info.available).toBe(true);
      expectFixture(info.load('train', { verify: false }));
      expect(info.load('test', { verify: false }).n).toBe(5);

      delete process.env.ADZONE_SVHN_DIR;
      const root = freshDir();
      mkdirSync(join(root, 'svhn'));
      writeFileSync(join(root, 'svhn', 'train_32x32.mat'), svhnMat(F));
      writeFileSync(join(root, 'svhn', 'test_32x32.mat'), svhnMat(F));
      process.env.ADZONE_DATA_DIR = root;
      expect(info.available).toBe(true);
      expect(info.load('test', { verify: false, limit: 3 }).n).toBe(3);
      expect(info.normalisation).toEqual(SVHN_NORMALISATION);
      expect(defaultNormalisation('svhn')).toEqual({ mean: [0.5], std: [0.5] });
    } finally {
      restore();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// scipy.io cross-check

function probeScipy(): { ok: true } | { ok: false; reason: string } {
  const p = spawnSync('python3', ['-c', 'import scipy.io, numpy'], { encoding: 'utf8', timeout: 20_000 });
  if (p.error) return { ok: false, reason: `python3 cannot be run (${p.error.message})` };
  if (p.status !== 0)
    return { ok: false, reason: `python3 -c "import scipy.io, numpy" failed: ${(p.stderr || '').trim().split('\n').pop()}` };
  return { ok: true };
}
const scipy = probeScipy();

const CROSS = `
import sys, json, hashlib
import numpy as np, scipy.io as sio
mine, out_c, out_u, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
m = sio.loadmat(mine)
X, y = m['X'], m['y']
res = {'X_shape': list(X.shape), 'X_dtype': str(X.dtype), 'X_sha256': hashlib.sha256(X.tobytes(order='F')).hexdigest(),
       'y_shape': list(y.shape), 'y_dtype': str(y.dtype), 'y': [float(v) for v in y.ravel()],
       'y_mat_dtype': str(sio.loadmat(mine, mat_dtype=True)['y'].dtype)}
r, c, ch, i = np.meshgrid(np.arange(32), np.arange(32), np.arange(3), np.arange(n), indexing='ij')
X2 = ((r * 7 + c * 13 + ch * 29 + i * 31 + (r * c) % 5) % 256).astype(np.uint8)
y2 = (np.arange(n) % 10 + 1).astype(np.float64).reshape(n, 1)
sio.savemat(out_c, {'X': X2, 'y': y2}, do_compression=True)
sio.savemat(out_u, {'X': X2, 'y': y2}, do_compression=False)
print(json.dumps(res))
`;

describe('cross-check with scipy.io', () => {
  it.skipIf(!scipy.ok)(
    `scipy.io.loadmat reads our writer's file; our reader reads scipy.io.savemat's files${scipy.ok ? '' : ` — SKIPPED: ${scipy.reason}`}`,
    () => {
      const dir = freshDir();
      const mine = join(dir, 'mine.mat');
      writeFileSync(mine, svhnMat(F));
      const n = 13;
      const outC = join(dir, 'scipy_c.mat');
      const outU = join(dir, 'scipy_u.mat');
      const p = spawnSync('python3', ['-c', CROSS, mine, outC, outU, String(n)], { encoding: 'utf8', timeout: 60_000 });
      expect(p.status, p.stderr).toBe(0);
      const res = JSON.parse(p.stdout);
      expect(res.X_shape).toEqual([32, 32, 3, 20]);
      expect(res.X_dtype).toBe('uint8');
      expect(res.X_sha256).toBe(sha256(F.X));
      expect(res.y_shape).toEqual([20, 1]);
      // As MATLAB files: y is class double stored as uint8; loadmat gives the stored type unless mat_dtype.
      expect(res.y_dtype).toBe('uint8');
      expect(res.y_mat_dtype).toBe('float64');
      expect(res.y).toEqual(F.y);

      for (const [file, compressed] of [
        [outC, true],
        [outU, false],
      ] as const) {
        const mat = readMat5(new Uint8Array(readFileSync(file)), file);
        expect(mat.variables.map((v) => [v.name, v.className, v.dims.join('×'), v.compressed])).toEqual([
          ['X', 'uint8', `32×32×3×${n}`, compressed],
          ['y', 'double', `${n}×1`, compressed],
        ]);
        const sdir = folderWith({ 'train_32x32.mat': readFileSync(file) });
        const d = loadSvhn('train', { dir: sdir, verify: false });
        expect(d.n).toBe(n);
        let ok = true;
        for (let i = 0; i < n && ok; i++)
          for (let ch = 0; ch < 3; ch++)
            for (let r = 0; r < 32; r++)
              for (let c = 0; c < 32; c++) if (d.images[((i * 3 + ch) * 32 + r) * 32 + c] !== svhnPixel(r, c, ch, i)) ok = false;
        expect(ok).toBe(true);
        expect(Array.from(d.labels)).toEqual(Array.from({ length: n }, (_, i) => svhnLabel(i) % 10));
      }
    },
  );
});
