/**
 * Writes the committed data fixtures, fixtures/data/, laid out like the shared data root
 * (../shared/data): cifar10/{train,test}_subset.bin in the CIFAR-10 binary record format and
 * imagenet/{sample_32x32.bin, sample_64x64.bin, classes.txt} in the ImageNet sample's format.
 *
 * The pixels and the class list are SYNTHESIZED, not real data: every pixel is a fixed formula of
 * (record, channel, row, column), so a test can say which byte must land where, and the files are
 * the same on every machine (a public clone has no real data to draw from; real ImageNet pixels
 * may not be redistributed). Only the byte formats are the real ones. The labels follow the real
 * layouts: CIFAR-10 record i has label i % 10 (as in the shared subset); the ImageNet records carry
 * uint16 little-endian labels chosen to straddle the byte boundary (255, 256, …, 999) against a
 * 1,000-line classes.txt of made-up wnids (n9…, which no WordNet synset has) and names.
 *
 *   npx tsx scripts/make-data-fixtures.ts          # (re)write fixtures/data/
 *   npx tsx scripts/make-data-fixtures.ts --check  # exit 1 when the committed files differ from these
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const FIXTURE_DATA_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'data');

/** Records per CIFAR-10 fixture file. */
export const CIFAR_FIXTURE_RECORDS = { train: 32, test: 20 } as const;
/** Labels of the ImageNet fixture records, by size. */
export const IMAGENET_FIXTURE_LABELS = { 32: [0, 1, 255, 256, 257, 512, 998, 999], 64: [0, 256, 999] } as const;

/** Pixel of CIFAR-10 fixture record i, channel c (0 R, 1 G, 2 B), row y, column x. */
export function cifarFixturePixel(i: number, c: number, y: number, x: number): number {
  return (i * 41 + c * 90 + y * 5 + x * 3 + ((x * y * (c + 1)) % 7)) & 255;
}

/** n CIFAR-10 records: label i % 10, then the R, G and B planes, each 32×32 row-major. */
export function cifarFixtureRecords(n: number): Uint8Array {
  const R = 3073;
  const out = new Uint8Array(n * R);
  for (let i = 0; i < n; i++) {
    out[i * R] = i % 10;
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) out[i * R + 1 + c * 1024 + y * 32 + x] = cifarFixturePixel(i, c, y, x);
  }
  return out;
}

/** Pixel of ImageNet fixture record k (label `label`), channel c, row y, column x. */
export function imagenetFixturePixel(k: number, label: number, c: number, y: number, x: number): number {
  return (label * 7 + k * 13 + c * 90 + y * 3 + x * 5 + ((x * y) % 11)) & 255;
}

/** The ImageNet fixture records at S×S: a uint16 LE label, then the R, G and B planes, each S×S row-major. */
export function imagenetFixtureRecords(S: 32 | 64): Uint8Array {
  const labels = IMAGENET_FIXTURE_LABELS[S];
  const R = 2 + 3 * S * S;
  const out = new Uint8Array(labels.length * R);
  labels.forEach((label, k) => {
    out[k * R] = label & 0xff;
    out[k * R + 1] = label >> 8;
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < S; y++)
        for (let x = 0; x < S; x++) out[k * R + 2 + c * S * S + y * S + x] = imagenetFixturePixel(k, label, c, y, x);
  });
  return out;
}

/** The fixture's wnid and name of class i. */
export function imagenetFixtureClass(i: number): { wnid: string; name: string } {
  return { wnid: `n9${String(i).padStart(7, '0')}`, name: `synthetic_class_${String(i).padStart(3, '0')}` };
}

/** classes.txt: 1,000 lines `<index> <wnid> <name>`. */
export function imagenetFixtureClasses(): string {
  return Array.from({ length: 1000 }, (_, i) => `${i} ${imagenetFixtureClass(i).wnid} ${imagenetFixtureClass(i).name}\n`).join('');
}

/** Every fixture file: its path relative to fixtures/data/ and its bytes. */
export function fixtureFiles(): Record<string, Uint8Array> {
  return {
    'cifar10/train_subset.bin': cifarFixtureRecords(CIFAR_FIXTURE_RECORDS.train),
    'cifar10/test_subset.bin': cifarFixtureRecords(CIFAR_FIXTURE_RECORDS.test),
    'imagenet/sample_32x32.bin': imagenetFixtureRecords(32),
    'imagenet/sample_64x64.bin': imagenetFixtureRecords(64),
    'imagenet/classes.txt': new TextEncoder().encode(imagenetFixtureClasses()),
  };
}

/** The files under `dir` that differ from fixtureFiles() (missing ones included). */
export function fixtureDifferences(dir = FIXTURE_DATA_DIR): string[] {
  return Object.entries(fixtureFiles())
    .filter(([rel, bytes]) => {
      try {
        return !Buffer.from(bytes).equals(readFileSync(join(dir, rel)));
      } catch {
        return true;
      }
    })
    .map(([rel]) => rel);
}

function main(argv: readonly string[]): number {
  if (argv.includes('--check')) {
    const diff = fixtureDifferences();
    for (const rel of diff) process.stderr.write(`${join(FIXTURE_DATA_DIR, rel)} differs from what scripts/make-data-fixtures.ts writes\n`);
    return diff.length === 0 ? 0 : 1;
  }
  for (const [rel, bytes] of Object.entries(fixtureFiles())) {
    const path = join(FIXTURE_DATA_DIR, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, bytes);
    process.stdout.write(`${path}  ${bytes.length.toLocaleString('en-US')} bytes\n`);
  }
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href)
  process.exitCode = main(process.argv.slice(2));
