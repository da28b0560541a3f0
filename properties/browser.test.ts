/**
 * The HTML report in a real browser: headless Debian chromium (/usr/bin/chromium, installed by
 * scripts/install-chromium.sh) opens the generated file with networking off, its serialised DOM
 * must hold every plot with its series and legend labels; a copy of the page with a measuring
 * script added checks in the browser's own layout that every visible text has a contrast of at
 * least 4.5:1 (WCAG AA) against what is behind it, that no command wraps, and that the verdict and
 * its table sit on the first screen. Screenshots (the first screen and a tall one) go to the ignored
 * reports/tmp/screenshots/ for people to look at; the committed ones in reports/screenshots/ are
 * regenerated on purpose by scripts/screenshots.ts, never by a test.
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
// test screenshots are scratch output: reports/tmp/ is git-ignored, so npm test leaves the tree clean
const SHOTS = join(root, 'reports', 'tmp', 'screenshots');

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

  it('every visible text has a contrast of at least 4.5:1, no command wraps, and the verdict and its table are on the first screen', async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} not found: run scripts/install-chromium.sh`).toBe(true);
    const probe = join(tempDir('adzone-probe-'), 'probe.html');
    writeFileSync(probe, html.replace('</body>', `<script>${MEASURE}</script></body>`));
    const r = await chromium(['--dump-dom', '--window-size=1400,900'], pathToFileURL(probe).href);
    expect(r.status, r.stderr.slice(-2000)).toBe(0);
    const m = /<pre id="adzone-measure">([^<]*)<\/pre>/.exec(r.stdout);
    expect(m, 'the measuring script ran').not.toBeNull();
    const got = JSON.parse(
      m![1]
        .replace(/&quot;/g, '"')
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&amp;/g, '&'),
    ) as Measured;
    expect(got.checked, 'texts measured').toBeGreaterThan(500);
    expect(got.low, 'texts below 4.5:1').toEqual([]);
    expect(got.commands, 'replay commands on the page').toBeGreaterThan(3);
    expect(got.wrapped, 'commands that wrap').toEqual([]);
    expect(got.verdict.top, 'the verdict starts near the top').toBeLessThan(400);
    expect(got.findings.bottom, 'the table of what is wrong ends on the first screen (900 px)').toBeLessThan(900);
  });

  it('takes screenshots under reports/tmp/screenshots/ (the first screen and a tall page), never touching the committed ones', async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} not found: run scripts/install-chromium.sh`).toBe(true);
    mkdirSync(SHOTS, { recursive: true });
    const committed = join(root, 'reports', 'screenshots', 'report.png');
    const before = existsSync(committed) ? readFileSync(committed) : undefined;
    for (const [name, w, h] of [
      ['report-first-screen.png', 1400, 900],
      ['report.png', 1400, 2400],
    ] as const) {
      const png = join(SHOTS, name);
      rmSync(png, { force: true });
      const r = await chromium(['--hide-scrollbars', `--window-size=${w},${h}`, `--screenshot=${png}`], pathToFileURL(page).href);
      expect(r.status, r.stderr.slice(-2000)).toBe(0);
      const buf = readFileSync(png);
      expect(buf.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
      expect(buf.readUInt32BE(16)).toBe(w); // IHDR width
      expect(buf.readUInt32BE(20)).toBe(h); // IHDR height
      expect(statSync(png).size, 'a blank page compresses to a few kB').toBeGreaterThan(h > 1000 ? 60_000 : 30_000);
    }
    if (before) expect(readFileSync(committed).equals(before), 'the committed screenshot is untouched').toBe(true);
  });
});

interface Measured {
  checked: number;
  low: { tag: string; cls: string | null; text: string; ratio: number; fg: string; bg: number[] }[];
  commands: number;
  wrapped: string[];
  verdict: { top: number; bottom: number };
  findings: { top: number; bottom: number };
}

/**
 * Runs in the page (chromium, --dump-dom): for every element with text of its own that is laid out,
 * its text colour composited over the backgrounds behind it (SVG text: over the plot's white), the
 * WCAG contrast ratio; every code.cmd's height against one line; where the verdict and its table sit.
 */
const MEASURE = `(() => {
  const parse = (c) => { const m = /rgba?\\(([^)]+)\\)/.exec(c || ''); if (!m) return null; const p = m[1].split(',').map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const over = (top, under) => [0, 1, 2].map((i) => top[i] * top[3] + under[i] * (1 - top[3]));
  const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }; return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const behind = (el) => { const chain = []; for (let e = el; e && e.nodeType === 1; e = e.parentElement) chain.push(e); let bg = [255, 255, 255]; for (const e of chain.reverse()) { const c = parse(getComputedStyle(e).backgroundColor); if (c && c[3] > 0) bg = over(c, bg); } return bg; };
  const low = []; let checked = 0;
  for (const el of document.querySelectorAll('body *')) {
    if (el.id === 'adzone-measure' || el.tagName === 'SCRIPT' || el.tagName === 'STYLE' || el.tagName === 'TITLE') continue;
    if (![...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
    if (!el.getClientRects().length) continue;
    const cs = getComputedStyle(el);
    if (cs.visibility === 'hidden' || cs.display === 'none') continue;
    const svg = el instanceof SVGElement;
    const fg = parse(svg ? cs.fill : cs.color);
    if (!fg) continue;
    const bg = svg ? [255, 255, 255] : behind(el);
    const r = ratio(over(fg, bg), bg);
    checked++;
    if (r < 4.5) low.push({ tag: el.tagName, cls: el.getAttribute('class'), text: el.textContent.trim().slice(0, 50), ratio: Math.round(r * 100) / 100, fg: svg ? cs.fill : cs.color, bg: bg.map(Math.round) });
  }
  const cmds = [...document.querySelectorAll('code.cmd')].filter((c) => c.getClientRects().length);
  const wrapped = cmds.filter((c) => { const cs = getComputedStyle(c); const lh = parseFloat(cs.lineHeight) || 1.3 * parseFloat(cs.fontSize); return cs.whiteSpace !== 'pre' || c.getClientRects().length > 1 || c.clientHeight > 1.6 * lh; }).map((c) => c.textContent.slice(0, 80));
  const box = (q) => { const e = document.querySelector(q); const r = e ? e.getBoundingClientRect() : { top: 1e9, bottom: 1e9 }; return { top: Math.round(r.top), bottom: Math.round(r.bottom) }; };
  const pre = document.createElement('pre');
  pre.id = 'adzone-measure';
  pre.textContent = JSON.stringify({ checked, low, commands: cmds.length, wrapped, verdict: box('#verdict'), findings: box('#verdict table.findings') });
  document.body.appendChild(pre);
})();`;
