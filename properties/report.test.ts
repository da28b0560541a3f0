/**
 * Result schemas and `adzone report`: every result file is validated with a message naming the
 * file, the field and what was expected; versions are migrated or refused naming both; the HTML
 * page is self-contained (no http(s) URL, no script, no external resource) and every plot draws
 * the series its legend names; the Markdown summary and the JUnit XML are well formed.
 *
 * Data: the committed baseline verify.json (a real `adzone verify --samples 200 --seed 1` run), a
 * tiny real `adzone zones` run made here, and a synthetic training grid (clearly marked as such:
 * the train command is not part of this suite).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { root, run, tempDirs } from './support/cli.ts';
import { migrateWith, parseResult, readResult, SCHEMAS, SchemaError, validate, writeResult } from '../src/schema/index.ts';
import { discover } from '../src/schema/discover.ts';
import { renderHtml } from '../src/report/html/index.ts';
import { junitXml } from '../src/report/junit.ts';
import { summaryMarkdown } from '../src/report/summary.ts';
import { loneMaxPoolGenerators } from '../src/gate/lone.ts';
import { chooseScale, fmtPct, logTicks } from '../src/report/html/svg.ts';
import { GENERATORS } from '../src/generators/index.ts';
import { accuracyByBeta, modelLabel, trainRuns } from '../src/schema/runs.ts';
import { wilson } from '../src/report/stats.ts';
import { contrast, overWhite, textOn, ZONE_COLOUR } from '../src/report/html/colours.ts';
import { mdCode, mdRow, mdText } from '../src/report/markdown.ts';
import fc from 'fast-check';

const tempDir = tempDirs();
const baselineVerify = join(root, 'fixtures/baseline/verify.json');

/** A synthetic β sweep (NOT measured: a fixture with the shape of docs/DESIGN.md §4) as one ablate.json. */
function writeSyntheticAblate(dir: string): void {
  const runs = [];
  for (const precision of ['16', '32'])
    for (const optimizer of ['sgd', 'adam'])
      for (const beta of [0, 1, 10, 100, 1000, 10000])
        for (const seed of [1, 2, 3]) {
          const testAccuracy =
            optimizer === 'adam' && precision === '32'
              ? 0.9915
              : precision === '16' && beta >= 1000
                ? 0.098
                : 0.992 + 0.001 * ((seed * 7 + beta) % 3);
          runs.push({
            model: 'lenet5',
            dataset: 'mnist',
            precision,
            mode: precision === '16' ? 'wide' : 'framework',
            optimizer,
            batchNorm: false,
            beta,
            seed,
            testAccuracy,
          });
        }
  mkdirSync(dir, { recursive: true });
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
}

/** A strict-enough XML well-formedness check: declaration, balanced tags, quoted attributes, known entities, no stray '<' or '&'. */
function checkXml(xml: string): void {
  let s = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const stack: string[] = [];
  const entity = /&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;
  let i = 0;
  while (i < s.length) {
    const lt = s.indexOf('<', i);
    const text = s.slice(i, lt < 0 ? s.length : lt);
    if (text.replace(entity, '').includes('&')) throw new Error(`bad entity in text near '${text.slice(0, 40)}'`);
    if (lt < 0) break;
    const gt = s.indexOf('>', lt);
    if (gt < 0) throw new Error('unclosed tag');
    const tag = s.slice(lt + 1, gt);
    if (tag.startsWith('/')) {
      const name = tag.slice(1).trim();
      if (stack.pop() !== name) throw new Error(`mismatched </${name}>`);
    } else {
      const m = /^([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_][\w.-]*="[^"<]*")*)\s*(\/?)$/.exec(tag);
      if (!m) throw new Error(`malformed tag <${tag.slice(0, 60)}>`);
      if (m[2].replace(entity, '').includes('&')) throw new Error(`bad entity in attributes of <${m[1]}>`);
      if (!m[3]) stack.push(m[1]);
    }
    i = gt + 1;
  }
  if (stack.length) throw new Error(`unclosed <${stack.join('>, <')}>`);
  s = '';
}

/** Markdown tables: every row has the header's number of cells; code fences balanced. */
function checkMarkdown(md: string): void {
  const lines = md.split('\n');
  expect((md.match(/^```/gm) ?? []).length % 2).toBe(0);
  const cells = (l: string) => l.replace(/\\\|/g, '').split('|').length - 2;
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].startsWith('|')) continue;
    const head = cells(lines[i]);
    expect(lines[i + 1], `table at line ${i + 1} needs a separator row`).toMatch(/^\|( ?-+:? ?\|)+$/);
    let j = i + 1;
    for (; j < lines.length && lines[j].startsWith('|'); j++) expect(cells(lines[j]), `line ${j + 1}: ${lines[j]}`).toBe(head);
    i = j;
  }
}

interface Plot {
  id: string;
  svg: string;
  series: { key: string; points: number; marks: number }[];
  legend: string[];
}

function plots(html: string): Plot[] {
  return [...html.matchAll(/<svg class="plot" data-plot="([^"]+)"[\s\S]*?<\/svg>/g)].map((m) => {
    const svg = m[0];
    const series = [...svg.matchAll(/<g class="series" data-series="([^"]+)" data-points="(\d+)">([\s\S]*?)<\/g>/g)].map((g) => ({
      key: g[1],
      points: Number(g[2]),
      marks: (g[3].match(/<(rect|circle|path)\b/g) ?? []).length,
    }));
    const legend = [...svg.matchAll(/<g class="legend-item" data-series="([^"]+)">/g)].map((g) => g[1]);
    return { id: m[1], svg, series, legend };
  });
}

describe('result schemas', () => {
  it('reads the committed baseline and rejects a bad field naming file, path and expectation', () => {
    const r = readResult(baselineVerify);
    expect(r.kind).toBe('verify');
    const raw = JSON.parse(readFileSync(baselineVerify, 'utf8'));
    raw.table[3].counts.regular = '12';
    expect(() => parseResult(raw, 'x/verify.json')).toThrow(
      /^x\/verify\.json: \$\.table\[3\]\.counts\.regular: expected a whole number ≥ 0, got the string "12"$/,
    );
    const raw2 = JSON.parse(readFileSync(baselineVerify, 'utf8'));
    delete raw2.tieRules[0].rule;
    expect(() => parseResult(raw2, 'y.json')).toThrow(
      /y\.json: \$\.tieRules\[0\]\.rule: expected a string, got nothing \(the field is missing\)/,
    );
    expect(() => parseResult({ schema: 'adzone/nope', schemaVersion: 1 }, 'z.json')).toThrow(
      /z\.json: \$\.schema: expected one of 'adzone\/verify'/,
    );
  });

  it('refuses an older or newer schemaVersion without a migration, naming both versions', () => {
    const raw = JSON.parse(readFileSync(baselineVerify, 'utf8'));
    expect(() => parseResult({ ...raw, schemaVersion: 2 }, 'v.json')).toThrow(
      /v\.json: schema adzone\/verify version 2 was written by a newer adzone; this adzone reads version 1/,
    );
    expect(() => parseResult({ ...raw, schemaVersion: 0 }, 'v.json')).toThrow(/version 0 is older; this adzone reads version 1/);
  });

  it('migrates along registered steps, up or down, and refuses when the chain breaks', () => {
    const s = {
      ...SCHEMAS.bench,
      version: 3,
      migrations: [
        { from: 1, to: 2, note: 'rows renamed', migrate: (o: Record<string, unknown>) => ({ ...o, rows: o.measurements }) },
        { from: 2, to: 3, note: 'notes added', migrate: (o: Record<string, unknown>) => ({ ...o, notes: [] }) },
        { from: 4, to: 3, note: 'drop extra', migrate: (o: Record<string, unknown>) => o },
      ],
    };
    const up = migrateWith(s, { schemaVersion: 1, measurements: [1] }, 'b.json');
    expect(up.data).toMatchObject({ schemaVersion: 3, rows: [1], notes: [] });
    expect(up.steps).toHaveLength(2);
    expect(migrateWith(s, { schemaVersion: 4 }, 'b.json').data.schemaVersion).toBe(3);
    expect(() => migrateWith(s, { schemaVersion: 5 }, 'b.json')).toThrow(
      /version 5 was written by a newer adzone; this adzone reads version 3/,
    );
  });

  it('writeResult validates before it writes; validate accepts in-memory NaN where the schema allows it', () => {
    const dir = tempDir('adzone-schema-');
    const f = join(dir, 'verify.json');
    expect(() => writeResult(f, 'verify', { schema: 'adzone/verify', schemaVersion: 1 })).toThrow(SchemaError);
    expect(existsSync(f)).toBe(false);
    const raw = readResult(baselineVerify).data;
    validate('verify', raw);
    writeResult(f, 'verify', raw);
    expect(readFileSync(f, 'utf8')).toBe(readFileSync(baselineVerify, 'utf8'));
  });

  it('the lone-MaxPool generator list in thresholds.json matches the generator registry', async () => {
    const th = JSON.parse(readFileSync(join(root, 'fixtures/baseline/thresholds.json'), 'utf8'));
    expect(th.verify.loneMaxPoolGenerators).toEqual(await loneMaxPoolGenerators(GENERATORS));
  });
});

describe('plot scales', () => {
  it('log scale where shares span decades, linear otherwise; decade ticks', () => {
    expect(chooseScale([0.005, 0.5, 1])).toEqual({ scale: 'log', min: 0.001, max: 1 });
    expect(chooseScale([0.2, 0.5, 1], { linMax: 1 })).toEqual({ scale: 'linear', min: 0, max: 1 });
    expect(logTicks(1e-7, 1)).toEqual([1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1]);
    expect(fmtPct(0.5)).toBe('50%');
    expect(fmtPct(1e-5)).toBe('10⁻³%');
  });
});

describe('adzone report', () => {
  let dir: string;
  let html: string;
  let md: string;
  let xml: string;
  const verify = JSON.parse(readFileSync(baselineVerify, 'utf8'));

  beforeAll(async () => {
    dir = tempDir('adzone-report-');
    // Two real tiny runs (their writers' real output), side by side.
    const [z, t] = await Promise.all([
      run(
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
      ),
      run(
        'train',
        '--model',
        'lenet5',
        '--dataset',
        'mnist',
        '--beta',
        '0',
        '--precision',
        '32',
        '--epochs',
        '2',
        '--batch-norm',
        '--limit-train',
        '128',
        '--limit-test',
        '64',
        '--batch-size',
        '32',
        '--log-every',
        '2',
        '--continue-on-divergence',
        '--out',
        join(dir, 'train', 'run'),
        '--quiet',
      ),
    ]);
    expect(z.status, z.stderr).toBe(0);
    expect(t.status === 0 || t.status === 1, t.stderr).toBe(true);
    writeSyntheticAblate(join(dir, 'train'));
    const r = await run(
      'report',
      'fixtures/baseline',
      join(dir, 'zones'),
      join(dir, 'train'),
      '--out',
      join(dir, 'r.html'),
      '--markdown',
      join(dir, 's.md'),
      '--junit',
      join(dir, 'j.xml'),
      '--title',
      'test report',
    );
    expect(r.status, r.stderr).toBe(0);
    for (const k of ['1 verify', '1 zones', '1 train', '1 ablate', '1 metrics.jsonl']) expect(r.stderr).toContain(k);
    html = readFileSync(join(dir, 'r.html'), 'utf8');
    md = readFileSync(join(dir, 's.md'), 'utf8');
    xml = readFileSync(join(dir, 'j.xml'), 'utf8');
  }, 120_000);

  it('the HTML is self-contained: no http(s) URL, no script, no external resource', () => {
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).not.toMatch(/https?:\/\//i);
    expect(html).not.toMatch(/<script|<link|<img|<iframe|\ssrc=|url\(|@import|@font-face/i);
  });

  it('every plot draws every series its legend names, with marks', () => {
    const ps = plots(html);
    expect(ps.length).toBeGreaterThan(20);
    for (const p of ps) {
      expect(p.svg, p.id).toMatch(/<text class="title"[^>]*>[^<]+</);
      expect(p.legend, p.id).toEqual(p.series.map((s) => s.key));
      for (const s of p.series) {
        expect(s.points, `${p.id} ${s.key}`).toBeGreaterThan(0);
        expect(s.marks, `${p.id} ${s.key}`).toBeGreaterThanOrEqual(s.points);
      }
    }
  });

  it('verify: one chart per generator, its bars the table counts, one colour per zone everywhere', () => {
    const ps = plots(html);
    const cols = new Set(verify.table.map((r: { backend: string; precision: string }) => `${r.backend}|${r.precision}`)).size;
    for (const g of verify.generators as { id: string }[]) {
      const p = ps.find((x) => x.id === `verify-zones-${g.id}`);
      expect(p, g.id).toBeDefined();
      const rows = verify.table.filter((r: { generator: string }) => r.generator === g.id);
      for (const cls of ['bifurcation', 'compensation:tie', 'compensation:flip', 'defect', 'nonfinite']) {
        const bars = rows.filter((r: { counts: Record<string, number> }) => (r.counts[cls] ?? 0) > 0).length;
        expect(p!.series.find((s) => s.key === cls)?.points ?? 0, `${g.id} ${cls}`).toBe(bars);
      }
      expect(p!.svg.match(/<tspan[^>]*>[^<]*<\/tspan>/g)!.length).toBeGreaterThanOrEqual(cols);
    }
    // shares span decades: log scale with decade ticks
    expect(ps.find((x) => x.id === 'verify-zones-near-tie')!.svg).toMatch(/>1%<\/text>.*>10%<\/text>.*>100%<\/text>/s);
    const fills = new Map<string, Set<string>>();
    for (const p of ps.filter((x) => x.id.startsWith('verify-zones-') || x.id.includes('-layers-'))) {
      for (const m of p.svg.matchAll(/<g class="series" data-series="([^"]+)"[^>]*>([\s\S]*?)<\/g>/g)) {
        for (const f of m[2].matchAll(/fill="([^"]+)"/g)) fills.set(m[1], (fills.get(m[1]) ?? new Set()).add(f[1]));
      }
    }
    for (const [k, f] of fills) expect([...f], k).toHaveLength(1);
    expect([...fills.get('bifurcation')!]).toEqual(['#D55E00']);
  });

  it('zones, accuracy against β and training curves have their plots and series', () => {
    const ps = plots(html);
    const ids = ps.map((p) => p.id);
    expect(ids).toEqual(
      expect.arrayContaining([
        'zones-1-estimator',
        'zones-1-distance-16',
        'zones-1-distance-32',
        'zones-1-distance-64',
        'zones-1-layers-16',
        'accuracy-lenet5-mnist',
        'curves-loss',
        'curves-testAcc',
      ]),
    );
    const layers = ps.find((p) => p.id === 'zones-1-layers-16')!;
    expect(layers.series.map((s) => s.key)).toContain('harmless');
    const acc = ps.find((p) => p.id === 'accuracy-lenet5-mnist')!;
    expect(acc.legend).toEqual([
      'lenet5|mnist|16|wide|adam|nobn',
      'lenet5|mnist|16|wide|sgd|nobn',
      'lenet5|mnist|32|framework|adam|nobn',
      'lenet5|mnist|32|framework|sgd|nobn',
      'lenet5|mnist|32|framework|sgd|bn', // the real tiny run: β = 0 only
    ]);
    expect(acc.series.map((s) => s.points)).toEqual([6, 6, 6, 6, 1]); // one point per β, error bars over 3 seeds
    expect(acc.svg).toMatch(/class="errbar"/);
    expect(acc.svg).toMatch(/>10⁴<\/text>/);
    expect(acc.svg).toMatch(/>32-bit sgd \+ BN<\/text>/);
    expect(ps.find((p) => p.id === 'curves-loss')!.series[0].points).toBe(4); // 4 steps logged every 2
    expect(ps.find((p) => p.id === 'curves-testAcc')!.series[0].points).toBe(2); // 2 epochs
  });

  it('counterexamples: one card each, with exact and rounded values; tie rules and the wasm defect', () => {
    expect((html.match(/<div class="card"/g) ?? []).length).toBe(verify.counterexamples.length);
    expect((html.match(/<table class="cx">/g) ?? []).length).toBeGreaterThan(10);
    expect(html).toMatch(/<th>exact value<\/th><th>value in p<\/th>/);
    for (const t of verify.tieRules) expect(html).toContain(`<td>${t.backend}</td><td><b class="rule">${t.rule}</b></td>`);
    expect(html).toMatch(/<div class="defect"><b>Defect:<\/b>/);
    expect(plots(html).some((p) => p.id === 'tie-rules-defects')).toBe(true);
  });

  it('the Markdown summary is well formed and carries the zone table and checks', () => {
    checkMarkdown(md);
    expect(md).toMatch(/^## test report/);
    for (const g of verify.generators as { id: string }[]) expect(md).toMatch(new RegExp(`^\\| ${g.id} \\|`, 'm'));
    expect(md).toMatch(/\| inconsistent value checks \(must be 0\) \| 0 ✓ \|/);
    expect(md).toMatch(/tie rule of tfjs-wasm \| \*\*last\*\*/);
    expect(md).toMatch(/### Test accuracy against β/);
    expect(md.length).toBeLessThan(65_536);
  });

  it('the JUnit XML is well formed: one testcase per generator × backend × precision, none failing on the baseline', () => {
    checkXml(xml);
    const cases = [...xml.matchAll(/<testcase classname="adzone\.verify\.([^"]+)" name="([^"]+)"/g)].filter((m) => m[1] !== 'tie-rule');
    expect(cases).toHaveLength(verify.table.length);
    expect(xml).toMatch(/<testsuites name="adzone" tests="\d+" failures="0"/);
  });

  it('JUnit fails a testcase for inconsistent checks and for 64-bit compensation on a lone MaxPool', async () => {
    const raw = JSON.parse(readFileSync(baselineVerify, 'utf8'));
    const row = raw.table.find((r: { generator: string; precision: string }) => r.generator === 'exact-tie' && r.precision === '64');
    row.counts.bifurcation -= 3;
    row.counts['compensation:tie'] += 3;
    const row2 = raw.table.find(
      (r: { generator: string; backend: string; precision: string }) =>
        r.generator === 'near-tie-chain' && r.backend === 'engine' && r.precision === '16',
    );
    row2.inconsistent = 2;
    const d = tempDir('adzone-junit-');
    writeFileSync(join(d, 'verify.json'), JSON.stringify(raw));
    const x = await junitXml(discover([d]));
    checkXml(x);
    expect(x).toMatch(/failures="2"/);
    expect(x).toMatch(
      /<failure type="compensation-64" message="3 compensation\(s\) at 64 bits on lone-MaxPool generator exact-tie \(engine\)/,
    );
    expect(x).toMatch(/<failure type="inconsistent" message="2 regular draw\(s\) of 200/);
  });

  it('renders in-process the same sections from the same files', async () => {
    const h = await renderHtml(discover([join(root, 'fixtures/baseline')]), { generatedAt: 'T' });
    expect(h).toContain('<section id="verify">');
    expect(h).not.toContain('<section id="accuracy">');
    expect(await summaryMarkdown(discover([join(root, 'fixtures/baseline')]))).toContain('| exact-tie |');
  });

  it.each([
    [['report'], 2, /report needs at least one DIR/],
    [['report', 'no/such/dir'], 2, /no\/such\/dir: no such file or directory/],
    [['report', 'fixtures/baseline', '--out', 'x.txt'], 2, /--out must name a \.html file/],
    [['report', 'src/cli'], 2, /no result files/],
  ])('%j exits %i with a clear message', async (args, code, msg) => {
    const r = await run(...(args as string[]));
    expect(r.status).toBe(code);
    expect(r.stderr).toMatch(msg as RegExp);
  });

  it('a result file failing its schema exits 2 naming the file and field', async () => {
    const raw = JSON.parse(readFileSync(baselineVerify, 'utf8'));
    raw.table[0].n = -1;
    const d = tempDir('adzone-bad-');
    writeFileSync(join(d, 'verify.json'), JSON.stringify(raw));
    const r = await run('report', d, '--out', join(d, 'r.html'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/verify\.json: \$\.table\[0\]\.n: expected a whole number ≥ 0, got -1/);
  });
});

describe('accuracy rows per recipe', () => {
  /** Synthetic strict 16-bit SGD runs (a fixture, not measured) of one configuration, trained for `epochs` over `limitTrain` images, as ablate.json in `dir`. */
  function recipeAblate(dir: string, epochs: number, limitTrain: number | null, acc: number, withConfig = true, seeds = [1, 2]): void {
    const runs = [];
    for (const beta of [0, 1000])
      for (const seed of seeds) {
        const config = {
          model: 'lenet5',
          dataset: 'mnist',
          beta,
          betaMode: 'backward',
          reluAlpha: 0,
          precision: '16',
          mode: 'strict',
          backend: 'engine',
          epochs,
          batchSize: 64,
          optimizer: 'sgd',
          lr: 0.01,
          momentum: 0.9,
          weightDecay: 0,
          lrSchedule: 'none',
          masterWeights: 'p',
          lossScale: 'none',
          batchNorm: false,
          width: null,
          augment: false,
          seed,
          limitTrain,
          limitTest: null,
          logEvery: 50,
        };
        runs.push({
          model: 'lenet5',
          dataset: 'mnist',
          precision: '16',
          mode: 'strict',
          optimizer: 'sgd',
          batchNorm: false,
          beta,
          seed,
          testAccuracy: acc,
          ...(withConfig ? { config } : {}),
        });
      }
    mkdirSync(dir, { recursive: true });
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
  }

  it('runs of one configuration trained differently are never averaged together; each recipe is a row and a series of its own, labelled by what differs', async () => {
    const d = tempDir('adzone-recipes-');
    recipeAblate(join(d, 'full'), 4, null, 0.99);
    recipeAblate(join(d, 'slice'), 1, 10368, 0.95);
    const disc = discover([d]);
    const acc = accuracyByBeta(trainRuns(disc.results))
      .filter((a) => a.beta === 0)
      .sort((a, b) => a.mean - b.mean);
    expect(acc.map((a) => [a.label, a.seeds, a.mean])).toEqual([
      ['16-bit strict sgd (epochs 1, limitTrain 10368)', 2, 0.95],
      ['16-bit strict sgd (epochs 4, limitTrain all)', 2, 0.99],
    ]);
    const md = await summaryMarkdown(disc);
    checkMarkdown(md);
    expect(md).toMatch(
      /^\| lenet5 \| mnist \| 16-bit strict sgd \(epochs 4, limitTrain all\) \| 99\.00% \(99\.0–99\.0\) \| 99\.00% \(99\.0–99\.0\) \|$/m,
    );
    expect(md).toMatch(/^\| lenet5 \| mnist \| 16-bit strict sgd \(epochs 1, limitTrain 10368\) \| 95\.00% /m);
    const html = await renderHtml(disc, { generatedAt: 'T' });
    const p = plots(html).find((x) => x.id === 'accuracy-lenet5-mnist')!;
    expect(p.legend).toEqual([
      'lenet5|mnist|16|strict|sgd|nobn|epochs 1, limitTrain 10368',
      'lenet5|mnist|16|strict|sgd|nobn|epochs 4, limitTrain all',
    ]);
    expect(p.series.map((s) => s.points)).toEqual([2, 2]);
    expect(html).toContain('<td>16-bit strict sgd (epochs 1, limitTrain 10368)</td><td>0</td><td>2</td><td>95.00%</td>');

    // one recipe (or none recorded): the plain configuration, as before
    const one = tempDir('adzone-recipes-');
    recipeAblate(one, 4, null, 0.99);
    expect(accuracyByBeta(trainRuns(discover([one]).results)).map((a) => [a.group, a.label])).toEqual([
      ['lenet5|mnist|16|strict|sgd|nobn', '16-bit strict sgd'],
      ['lenet5|mnist|16|strict|sgd|nobn', '16-bit strict sgd'],
    ]);
    // the same runs (β, seed) found again without a recipe (an older ablate.json): counted once
    recipeAblate(join(one, 'old'), 4, null, 0.99, false);
    expect(accuracyByBeta(trainRuns(discover([one]).results)).map((a) => a.seeds)).toEqual([2, 2]);
    // other runs of the configuration whose recipe is unknown: apart too
    recipeAblate(join(one, 'old'), 1, 10368, 0.95, false, [3, 4]);
    const labels = accuracyByBeta(trainRuns(discover([one]).results))
      .filter((a) => a.beta === 0)
      .map((a) => a.label)
      .sort();
    expect(labels).toEqual(['16-bit strict sgd (epochs 4, batchSize 64, lr 0.01, limitTrain all)', '16-bit strict sgd (recipe unknown)']);
  });

  it('architectures are named: width and ResNet18 stem (recorded, or the default for the data set) in the model column, one chart each', async () => {
    expect(modelLabel({ model: 'lenet5', dataset: 'mnist', recipe: { width: null } })).toBe('lenet5');
    expect(modelLabel({ model: 'lenet5', dataset: 'mnist' })).toBe('lenet5');
    expect(modelLabel({ model: 'vgg11', dataset: 'cifar10', recipe: { width: 0.125 } })).toBe('vgg11 ×1/8');
    expect(modelLabel({ model: 'vgg11', dataset: 'cifar10', recipe: { width: 0.3 } })).toBe('vgg11 ×0.3');
    expect(modelLabel({ model: 'resnet18', dataset: 'cifar10', recipe: { width: 1 } })).toBe('resnet18 cifar stem');
    expect(modelLabel({ model: 'resnet18', dataset: 'imagenet-sample', recipe: { width: 0.125 } })).toBe('resnet18 ×1/8, imagenet stem');
    expect(modelLabel({ model: 'resnet18', dataset: 'cifar10', recipe: { width: 0.25, stem: 'imagenet' } })).toBe(
      'resnet18 ×1/4, imagenet stem',
    );

    // Synthetic ResNet18 runs (a fixture, not measured): the same configuration key, two architectures.
    const d = tempDir('adzone-arch-');
    const write = (dir: string, width: number, stem: string | undefined, acc: number) => {
      const runs = [0, 10000].map((beta) => ({
        model: 'resnet18',
        dataset: 'cifar10',
        precision: '32',
        mode: 'strict',
        optimizer: 'sgd',
        batchNorm: false,
        beta,
        seed: 1,
        testAccuracy: acc,
        config: {
          model: 'resnet18',
          dataset: 'cifar10',
          beta,
          betaMode: 'backward',
          reluAlpha: 0,
          precision: '32',
          mode: 'strict',
          backend: 'engine',
          epochs: 2,
          batchSize: 128,
          optimizer: 'sgd',
          lr: 0.01,
          momentum: 0.9,
          weightDecay: 0,
          lrSchedule: 'none',
          masterWeights: 'p',
          lossScale: 'none',
          batchNorm: false,
          width,
          ...(stem ? { stem } : {}),
          augment: true,
          seed: 1,
          limitTrain: null,
          limitTest: null,
          logEvery: 50,
        },
      }));
      mkdirSync(dir, { recursive: true });
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
    };
    write(join(d, 'a'), 0.25, 'imagenet', 0.4);
    write(join(d, 'b'), 0.0625, undefined, 0.38);
    const disc = discover([d]);
    const md = await summaryMarkdown(disc);
    expect(md).toMatch(
      /^\| resnet18 ×1\/4, imagenet stem \| cifar10 \| 32-bit strict sgd \(width 0\.25, stem imagenet\) \| 40\.00% \| 40\.00% \|$/m,
    );
    expect(md).toMatch(/^\| resnet18 ×1\/16, cifar stem \| cifar10 \| 32-bit strict sgd \(width 0\.0625, stem unset\) \| 38\.00% /m);
    const html = await renderHtml(disc, { generatedAt: 'T' });
    const ids = plots(html)
      .map((p) => p.id)
      .filter((id) => id.startsWith('accuracy-'));
    expect(ids.sort()).toEqual(['accuracy-resnet18-1-16-cifar-stem-cifar10', 'accuracy-resnet18-1-4-imagenet-stem-cifar10']);
    expect(html).toContain('resnet18 ×1/4, imagenet stem on cifar10');
  });
});

describe('adzone report: issues 12 and 16', () => {
  it('an output that cannot be written stops the command before any work, and no other output is written', async () => {
    const d = tempDir('adzone-report-out-');
    writeFileSync(join(d, 'afile'), 'a file, not a folder\n');
    const ok = join(d, 'ok.html');
    const r = await run('report', 'fixtures/baseline', '--out', ok, '--markdown', join(d, 'afile', 's.md'));
    expect(existsSync(ok), 'ok.html is not written').toBe(false);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^adzone report: .*afile/)]);
  });

  it('a cut last line of a metrics.jsonl (a torn write) is dropped with a note, not a refusal of the folder', async () => {
    const d = tempDir('adzone-report-metrics-');
    writeFileSync(join(d, 'metrics.jsonl'), '{"epoch": 1, "trainLoss": 2.1}\n{"epoch": 2, "trainLoss": 1.4}\n{"epoch": 3, "trainLo');
    cpSync(baselineVerify, join(d, 'verify.json'));
    const r = await run('report', d, '--out', join(d, 'r.html'));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/metrics\.jsonl: line 3 is cut \(no newline, not JSON: a torn write\); read the 2 lines before it/);
    expect(readFileSync(join(d, 'r.html'), 'utf8')).toMatch(/data-plot="curves-trainLoss"/);
  });

  it('the Markdown summary escapes what it quotes: a title with HTML, ids with pipes, backticks and tags', async () => {
    const d = tempDir('adzone-report-md-');
    const raw = JSON.parse(readFileSync(baselineVerify, 'utf8'));
    const evil = 'near|tie`<b>x</b>';
    raw.generators.find((g: { id: string }) => g.id === 'near-tie').id = evil;
    for (const r of raw.table) if (r.generator === 'near-tie') r.generator = evil;
    for (const t of raw.realTies) if (t.generator === 'near-tie') t.generator = evil;
    raw.counterexamples = raw.counterexamples.filter((c: { generator: string }) => c.generator !== 'near-tie');
    writeFileSync(join(d, 'verify.json'), JSON.stringify(raw));
    const r = await run(
      'report',
      d,
      '--out',
      join(d, 'r.html'),
      '--markdown',
      join(d, 's.md'),
      '--title',
      'T<script>alert(1)</script> | `x',
    );
    expect(r.status, r.stderr).toBe(0);
    const md = readFileSync(join(d, 's.md'), 'utf8');
    checkMarkdown(md);
    expect(md).not.toMatch(/<script|<b>/);
    expect(md).toMatch(/^## T&lt;script&gt;alert\(1\)&lt;\/script&gt; \\\| \\`x$/m);
    expect(md).toContain('| near\\|tie\\`&lt;b&gt;x&lt;/b&gt; |');
    // every code span closes on its line
    for (const line of md.split('\n')) expect((line.replace(/\\`/g, '').match(/`/g) ?? []).length % 2, line).toBe(0);
  });

  it('the Markdown summary opens with the gate verdict and the headline, and names no local path', async () => {
    const d = tempDir('adzone-report-gate-');
    const r = await run(
      'report',
      'fixtures/baseline',
      '--baseline',
      'fixtures/baseline',
      '--out',
      join(d, 'r.html'),
      '--markdown',
      join(d, 's.md'),
    );
    expect(r.status, r.stderr).toBe(0);
    const md = readFileSync(join(d, 's.md'), 'utf8');
    checkMarkdown(md);
    const lines = md.split('\n');
    expect(lines[2]).toBe('**Gate**: ✅ pass, every threshold holds');
    expect(lines[4]).toMatch(
      /^tfjs-wasm at 32 bits returns MaxPool gradients that no admissible Jacobian explains \(defects\) in \d+ of \d+ draws: /,
    );
    expect(md).toMatch(/^\| tfjs-wasm \| 32 \| defect \| \d+ of 2800 \| \d+% \\\[\d+–\d+\\\] \| .* \| `adzone replay --generator /m);
    expect(md).not.toContain(d);
    expect(md).not.toMatch(/fixtures\/baseline\/verify\.json|\/tmp\//);
    expect(md).toContain('`r.html`');
    const html = readFileSync(join(d, 'r.html'), 'utf8');
    expect(html.indexOf('<section id="verdict"')).toBeLessThan(html.indexOf('<svg'));
    expect(html).toMatch(/<section id="baseline">.*Every one of the 70 rows has the baseline's counts/s);
  });

  it('beside a baseline, a doctored report shows the gate regression and the rows that differ, and exits 1', async () => {
    const d = tempDir('adzone-report-diff-');
    const raw = JSON.parse(readFileSync(baselineVerify, 'utf8'));
    const row = raw.table.find(
      (r: { generator: string; backend: string; precision: string }) =>
        r.generator === 'near-tie' && r.backend === 'engine' && r.precision === '32',
    );
    row.counts.regular -= 10;
    row.counts['compensation:tie'] += 10;
    row.nonRegularShare = (row.n - row.counts.regular - row.counts.defect) / row.n;
    writeFileSync(join(d, 'verify.json'), JSON.stringify(raw));
    const r = await run('report', d, '--baseline', 'fixtures/baseline', '--out', join(d, 'r.html'), '--markdown', join(d, 's.md'));
    expect(r.status, r.stderr).toBe(1);
    const md = readFileSync(join(d, 's.md'), 'utf8');
    expect(md.split('\n')[2]).toBe('**Gate**: ❌ 1 regression');
    expect(md).toMatch(/^- non-regular share grew: near-tie on engine at 32 bits moved from 58\.0% to 63\.0%/m);
    // the regression line says where to look; in a pull-request comment only the file's own name means anything
    expect(md).not.toContain(d);
    expect(md).not.toMatch(/\/tmp\//);
    expect(md).toMatch(/look at …\/verify\.json /);
    const html = readFileSync(join(d, 'r.html'), 'utf8');
    expect(html).toMatch(
      /<tr><td>near-tie<\/td><td>engine<\/td><td>32<\/td><td>B 15, C 101 of 200<\/td><td>B 15, C 111 of 200<\/td><td class="num">58% \[51–65\]<\/td><td class="num">63% \[56–69\]<\/td><td class="num">\+5\.0 pp<\/td><\/tr>/,
    );
  });

  it('--fail-on defect marks every cell with defects as a JUnit failure (with its interval and a replay line) and exits 1', async () => {
    const d = tempDir('adzone-report-failon-');
    const r = await run(
      'report',
      'fixtures/baseline',
      '--out',
      join(d, 'r.html'),
      '--junit',
      join(d, 'j.xml'),
      '--fail-on',
      'defect,inconsistent',
    );
    expect(r.status, r.stderr).toBe(1);
    const xml = readFileSync(join(d, 'j.xml'), 'utf8');
    checkXml(xml);
    const defectRows = verifyRows().filter((x) => (x.counts.defect ?? 0) > 0);
    expect(defectRows.length).toBeGreaterThan(5);
    expect(xml).toMatch(new RegExp(`<testsuites name="adzone" tests="\\d+" failures="${defectRows.length}"`));
    expect(xml).toMatch(
      /<failure type="defect" message="96 defect draw\(s\) of 200 \(48% \[41–55\], 95% CI\) for near-tie on tfjs-wasm at 32 bits \(--fail-on defect,inconsistent\); replay: adzone replay --generator near-tie --seed /,
    );
    const plain = await run('report', 'fixtures/baseline', '--out', join(d, 'r2.html'), '--junit', join(d, 'j2.xml'));
    expect(plain.status).toBe(0);
    expect(readFileSync(join(d, 'j2.xml'), 'utf8')).toMatch(/failures="0"/);
    const bad = await run('report', 'fixtures/baseline', '--out', join(d, 'r3.html'), '--fail-on', 'defects');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(
      /--fail-on: unknown value 'defects'; expected one of bifurcation, compensation, nonfinite, defect, inconsistent/,
    );
  });
});

function verifyRows(): { counts: Record<string, number> }[] {
  return JSON.parse(readFileSync(baselineVerify, 'utf8')).table;
}

describe('shares with intervals, and Markdown that quotes safely', () => {
  it('the Wilson 95% interval: known values, inside [0, 1], holding the share, wider for fewer draws', () => {
    const a = wilson(0, 30);
    expect([a.lo, a.hi.toFixed(4)]).toEqual([0, '0.1135']);
    const b = wilson(15, 30);
    expect([b.lo.toFixed(4), b.hi.toFixed(4)]).toEqual(['0.3315', '0.6685']);
    expect(wilson(30, 30).hi).toBe(1);
    expect(wilson(0, 0)).toMatchObject({ p: 0, lo: 0, hi: 1 });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), fc.double({ min: 0, max: 1, noNaN: true }), (n, f) => {
        const k = Math.round(f * n);
        const s = wilson(k, n);
        return s.lo >= 0 && s.hi <= 1 && s.lo <= s.p && s.p <= s.hi;
      }),
    );
    // 30 draws and 2,000 draws with the same share no longer look alike
    expect(wilson(6, 30).hi - wilson(6, 30).lo).toBeGreaterThan(5 * (wilson(400, 2000).hi - wilson(400, 2000).lo));
  });

  it('overview cells pick black or white text with a contrast of at least 4.5:1 on any zone colour at any strength', () => {
    for (const colour of Object.values(ZONE_COLOUR))
      for (let a = 0; a <= 255; a += 5) {
        const bg = `${colour}${a.toString(16).padStart(2, '0')}`;
        const fg = textOn(bg) === '#000000' ? [0, 0, 0] : [255, 255, 255];
        expect(contrast(fg, overWhite(bg)), bg).toBeGreaterThanOrEqual(4.5);
      }
  });

  it('mdText and mdCode keep any text inside its cell and its code span', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.string({ unit: fc.constantFrom('|', '`', '<', '>', '&', '*', '_', '\\', '#', '-', '1', '.', ' ', 'a', '\n', '[', ']') }),
          { minLength: 1, maxLength: 4 },
        ),
        (cells) => {
          const texts = cells.map((c) => mdText(c));
          const row = mdRow([...texts, mdCode(cells.join(''), true)]);
          // one line, the right number of unescaped pipes, no raw tag in text (inside a code span a '<' is literal)
          if (row.includes('\n') || texts.some((t) => /<[a-z/]/i.test(t))) return false;
          // GitHub splits a table row at every pipe not right after a backslash (even inside code)
          const pipes = row.split(/(?<!\\)\|/).length - 1;
          return pipes === cells.length + 2;
        },
      ),
    );
    expect(mdCode('a `b` c')).toBe('``a `b` c``');
    expect(mdCode('`x')).toBe('`` `x ``');
    expect(mdText('1. item')).toBe('1\\. item');
    expect(mdText('# head')).toBe('\\# head');
  });
});
