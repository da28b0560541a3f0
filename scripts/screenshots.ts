/**
 * Regenerate the committed screenshots in reports/screenshots/, on purpose (never from npm test):
 *
 *   npx tsx scripts/screenshots.ts                      report.png and ablate.png
 *   npx tsx scripts/screenshots.ts --nightly DIR        also nightly.png, of DIR/report.html (a finished adzone nightly)
 *
 * - report.png: `adzone report fixtures/baseline --baseline fixtures/baseline` (the committed
 *   verify run, gated against itself), 1400 × 2400;
 * - ablate.png: reports/ablate/report.html, rewritten first (with reports/ablate/summary.md) by
 *   `adzone report reports/ablate`, 1400 × 1300;
 * - nightly.png: DIR/report.html as the nightly wrote it, 1400 × 1400.
 *
 * Headless Debian chromium (/usr/bin/chromium) with networking off, as properties/browser.test.ts.
 * Each page is shot from its top: no fragment, so no scrolled band.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = join(import.meta.dirname, '..');
const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(root, 'reports', 'screenshots');

function adzone(...args: string[]): void {
  const r = spawnSync(process.execPath, [join(root, 'bin/adzone.js'), ...args], { cwd: root, encoding: 'utf8' });
  // report exits 1 when it is written and something fails (a regression, a --fail-on class): still a page to shoot
  if (r.status !== 0 && r.status !== 1) throw new Error(`adzone ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
}

function shoot(page: string, png: string, width: number, height: number): void {
  const profile = mkdtempSync(join(tmpdir(), 'adzone-chromium-'));
  try {
    const r = spawnSync(
      CHROMIUM,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--hide-scrollbars',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--host-resolver-rules=MAP * ~NOTFOUND',
        `--user-data-dir=${profile}`,
        `--window-size=${width},${height}`,
        `--screenshot=${png}`,
        pathToFileURL(page).href,
      ],
      { encoding: 'utf8', timeout: 120_000 },
    );
    if (r.status !== 0) throw new Error(`chromium: exit ${r.status}\n${r.stderr.slice(-2000)}`);
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
  console.log(`wrote ${relative(root, png)} (${width} × ${height}) from ${relative(root, page)}`);
}

function main(): void {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: run scripts/install-chromium.sh`);
  const tmp = mkdtempSync(join(tmpdir(), 'adzone-screenshots-'));
  try {
    const page = join(tmp, 'report.html');
    adzone(
      'report',
      'fixtures/baseline',
      '--baseline',
      'fixtures/baseline',
      '--out',
      page,
      '--title',
      'adzone report: the committed baseline run',
    );
    shoot(page, join(SHOTS, 'report.png'), 1400, 2400);
    const ablate = join(root, 'reports', 'ablate', 'report.html');
    adzone('report', 'reports/ablate', '--out', ablate, '--markdown', join(root, 'reports', 'ablate', 'summary.md'));
    shoot(ablate, join(SHOTS, 'ablate.png'), 1400, 1300);
    const at = process.argv.indexOf('--nightly');
    if (at > 0) shoot(join(process.argv[at + 1], 'report.html'), join(SHOTS, 'nightly.png'), 1400, 1400);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main();
