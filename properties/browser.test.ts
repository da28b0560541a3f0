/**
 * The HTML report in a real browser: headless Debian chromium (/usr/bin/chromium, installed by
 * scripts/install-chromium.sh) opens the generated file with networking off, its serialised DOM
 * must hold every plot with its series and legend labels, and a screenshot is saved under
 * reports/screenshots/ for people to look at.
 *
 * Data: the committed baseline verify.json, a tiny real `adzone zones` run, and a synthetic β sweep
 * (a fixture, said so in the page title) so that the line charts render too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Temporary directories made here, removed when the file's tests end. */
const made: string[] = [];
const tempDir = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
};
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin/adzone.js');
const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(root, 'reports', 'screenshots');

function exec(cmd: string, args: string[], timeoutMs = 120_000): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: root, timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (status) => res({ status, stdout, stderr }));
  });
}

/** Headless chromium with networking and background services off, in a fresh profile. */
async function chromium(extra: string[], url: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const profile = tempDir('adzone-chromium-');
  try {
    return await exec(
      CHROMIUM,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--host-resolver-rules=MAP * ~NOTFOUND',
        `--user-data-dir=${profile}`,
        ...extra,
        url,
      ],
      60_000,
    );
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

function writeSyntheticTrain(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const runs = [];
  for (const precision of ['16', '32'])
    for (const beta of [0, 1, 10, 100, 1000, 10000])
      for (const seed of [1, 2, 3])
        runs.push({
          model: 'lenet5',
          dataset: 'mnist',
          precision,
          optimizer: 'sgd',
          batchNorm: false,
          beta,
          seed,
          testAccuracy: precision === '16' && beta >= 1000 ? 0.098 : 0.992 + 0.001 * (seed % 3),
        });
  writeFileSync(
    join(dir, 'ablate.json'),
    JSON.stringify({
      schema: 'adzone/ablate',
      schemaVersion: 1,
      command: 'synthetic test fixture',
      createdAt: '2026-01-01T00:00:00Z',
      runs,
    }),
  );
  writeFileSync(
    join(dir, 'metrics.jsonl'),
    `${[1, 2, 3, 4, 5].map((e) => JSON.stringify({ epoch: e, trainLoss: 2.3 / e ** 2.5, testAccuracy: 1 - 0.9 / e ** 2 })).join('\n')}\n`,
  );
}

describe('the HTML report in headless chromium', () => {
  let html = '';
  let page = '';

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) return;
    const dir = tempDir('adzone-browser-');
    const z = await exec(process.execPath, [
      bin,
      'zones',
      '--model',
      'lenet5',
      '--dataset',
      'mnist',
      '--batches',
      '2',
      '--batch-size',
      '8',
      '--jobs',
      '1',
      '--out',
      join(dir, 'zones'),
      '--quiet',
    ]);
    expect(z.status, z.stderr).toBe(0);
    writeSyntheticTrain(join(dir, 'train'));
    page = join(dir, 'report.html');
    const r = await exec(process.execPath, [
      bin,
      'report',
      'fixtures/baseline',
      join(dir, 'zones'),
      join(dir, 'train'),
      '--out',
      page,
      '--title',
      'adzone report (browser test; the training results are synthetic fixtures)',
    ]);
    expect(r.status, r.stderr).toBe(0);
    html = readFileSync(page, 'utf8');
  }, 120_000);

  it('chromium is installed (CI: bash scripts/install-chromium.sh)', () => {
    expect(
      existsSync(CHROMIUM),
      `${CHROMIUM} not found: run scripts/install-chromium.sh (apt-get install chromium; needs root) before npm test`,
    ).toBe(true);
  });

  it('renders every plot with its series and legend labels (--dump-dom)', async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} not found: run scripts/install-chromium.sh`).toBe(true);
    const r = await chromium(['--dump-dom'], pathToFileURL(page).href);
    expect(r.status, r.stderr.slice(-2000)).toBe(0);
    const dom = r.stdout;
    expect(dom).toMatch(/<title>adzone report \(browser test/);
    expect(dom).not.toMatch(/parsererror/);
    const srcPlots = [...html.matchAll(/<svg class="plot" data-plot="([^"]+)"/g)].map((m) => m[1]);
    const domPlots = [...dom.matchAll(/<svg class="plot" data-plot="([^"]+)"[\s\S]*?<\/svg>/g)];
    expect(domPlots.map((m) => m[1])).toEqual(srcPlots);
    expect(srcPlots).toEqual(
      expect.arrayContaining([
        'verify-zones-exact-tie',
        'verify-zones-near-tie-chain',
        'tie-rules-defects',
        'zones-1-estimator',
        'zones-1-layers-16',
        'accuracy-lenet5-mnist',
        'curves-trainLoss',
      ]),
    );
    for (const [svg, id] of domPlots) {
      const labels = [...svg.matchAll(/<text class="legend-label"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
      const series = [...svg.matchAll(/<g class="series" data-series="[^"]+" data-points="(\d+)">([\s\S]*?)<\/g>/g)];
      expect(labels.length, id).toBe(series.length);
      for (const l of labels) expect(l.trim().length, id).toBeGreaterThan(0);
      for (const s of series) expect((s[2].match(/<(rect|circle|path)\b/g) ?? []).length, id).toBeGreaterThanOrEqual(Number(s[1]));
    }
    const exactTie = domPlots.find((m) => m[1] === 'verify-zones-exact-tie')![0];
    expect(exactTie).toMatch(/<text class="legend-label"[^>]*>bifurcation<\/text>/);
    const acc = domPlots.find((m) => m[1] === 'accuracy-lenet5-mnist')![0];
    expect(acc).toMatch(/>16-bit sgd<\/text>/);
    expect(acc).toMatch(/>32-bit sgd<\/text>/);
  });

  it('takes a screenshot under reports/screenshots/', async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} not found: run scripts/install-chromium.sh`).toBe(true);
    mkdirSync(SHOTS, { recursive: true });
    const png = join(SHOTS, 'report.png');
    rmSync(png, { force: true });
    const r = await chromium(['--hide-scrollbars', '--window-size=1400,2400', `--screenshot=${png}`], pathToFileURL(page).href);
    expect(r.status, r.stderr.slice(-2000)).toBe(0);
    const buf = readFileSync(png);
    expect(buf.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    expect(buf.readUInt32BE(16)).toBe(1400); // IHDR width
    expect(buf.readUInt32BE(20)).toBe(2400); // IHDR height
    expect(statSync(png).size, 'a blank page compresses to a few kB').toBeGreaterThan(60_000);
  });
});
