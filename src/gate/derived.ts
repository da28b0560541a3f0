/**
 * A result file's derived numbers, recomputed from its raw counts and checked against what it
 * stores. The gate and the report never trust a stored share, total or summary: a file whose
 * stored numbers contradict its own counts (edited by hand, or written by a broken adzone) is
 * refused with a SchemaError naming the file, the field, what its counts give and what it says.
 *
 * - verify.json: n = Σ counts = samples; nonRegularShare = (bifurcation + compensation) / finite
 *   draws, as src/zones/verify.ts computes it; inconsistent ≤ regular; the other per-row tallies ≤ n;
 *   every row's generator, backend and precision named in the header, once; real-tie totals add up;
 *   each counterexample's class counted in its row, its seed the run's generator seed.
 * - zones.json: each precision's summary and per-layer totals rebuilt from its batch records by
 *   the writer's own aggregation (src/zones/network/aggregate.ts); each batch's exact totals from
 *   its layers; the estimator's verdict from its distance and threshold.
 * - train: result.json's duplicated fields agree with its config, finalTestAcc is the last epoch's,
 *   bestTestAcc the best epoch's; an ablate.json entry agrees with its config and with the
 *   result.json its `dir` names; one run found twice has one accuracy.
 *
 * Not recomputed (documented in fixtures/doctored/README.md): ablate.json's `table` (neither the gate
 * nor the report reads it; they average the runs themselves) and timings.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Discovered } from '../schema/discover.ts';
import { type ReadResult, SchemaError, type TrainJson, type VerifyJson, type ZonesReport } from '../schema/index.ts';
import { recipeKey, recipeOf, runKey } from '../schema/runs.ts';
import { ZONE_CLASSES, zoneClassOf } from '../problem/index.ts';
import { generatorSeed } from '../zones/verify.ts';
import { precisionReport } from '../zones/network/aggregate.ts';
import type { TaskResult } from '../zones/network/task.ts';

/** A stored number that its own file's counts contradict: exit 2, naming file, field, recomputed and stored values. */
export function contradiction(file: string, path: string, expected: string, got: string, how: string): SchemaError {
  return new SchemaError(
    file,
    path,
    expected,
    got,
    `${file}: ${path} is ${got}, but ${how} gives ${expected}: the file contradicts its own counts (edited, or written by a broken adzone); re-run the command that wrote it`,
  );
}

const near = (a: number, b: number) => a === b || Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(a), Math.abs(b));
const num = (x: unknown) => (typeof x === 'number' ? String(x) : JSON.stringify(x));

type Row = VerifyJson['table'][number];
const countOf = (r: Row, c: string): number => (r.counts as Record<string, number | undefined>)[c] ?? 0;

/** The non-regular share src/zones/verify.ts writes: bifurcation + compensation over the finite draws (defects apart). */
export function nonRegularShareOf(r: Pick<Row, 'n' | 'counts'>): number {
  const c = r.counts as Record<string, number | undefined>;
  const finite = r.n - (c.nonfinite ?? 0);
  return finite > 0 ? (finite - (c.regular ?? 0) - (c.defect ?? 0)) / finite : 0;
}

function unique(file: string, path: string, ids: readonly string[], what: string): void {
  const dup = ids.find((x, i) => ids.indexOf(x) !== i);
  if (dup !== undefined)
    throw new SchemaError(file, path, `each ${what} once`, `'${dup}' twice`, `${file}: ${path} names ${what} '${dup}' twice`);
}

function checkVerifyHeader(file: string, v: VerifyJson): void {
  const backends = v.backends.map((b) => b.id);
  unique(file, '$.backends', backends, 'backend');
  unique(
    file,
    '$.generators',
    v.generators.map((g) => g.id),
    'generator',
  );
  unique(file, '$.precisions', v.precisions, 'precision');
  unique(
    file,
    '$.tieRules',
    v.tieRules.map((t) => t.backend),
    'backend',
  );
  unique(
    file,
    '$.table',
    v.table.map((r) => `${r.generator}|${r.backend}|${r.precision}`),
    'row (generator|backend|precision)',
  );
  v.unavailable.forEach((u, i) => {
    if (backends.includes(u.id))
      throw new SchemaError(
        file,
        `$.unavailable[${i}]`,
        'a backend that did not run',
        `'${u.id}', which ran`,
        `${file}: $.unavailable[${i}]: backend '${u.id}' is listed as skipped and as run`,
      );
  });
  v.tieRules.forEach((t, i) => {
    if (!backends.includes(t.backend))
      throw new SchemaError(
        file,
        `$.tieRules[${i}].backend`,
        `one of ${backends.join(', ')}`,
        `'${t.backend}'`,
        `${file}: $.tieRules[${i}]: a tie rule for backend '${t.backend}', which did not run (backends: ${backends.join(', ')})`,
      );
  });
  v.table.forEach((r, i) => {
    const refs: [string, string, readonly string[]][] = [
      ['generator', r.generator, v.generators.map((g) => g.id)],
      ['backend', r.backend, backends],
      ['precision', r.precision, v.precisions],
    ];
    for (const [field, value, known] of refs)
      if (!known.includes(value))
        throw new SchemaError(
          file,
          `$.table[${i}].${field}`,
          `one of the ${field}s the header names (${known.join(', ') || 'none'})`,
          `'${value}'`,
          `${file}: $.table[${i}].${field} is '${value}', which the header's ${field}s do not name (${known.join(', ') || 'none'})`,
        );
  });
}

function checkVerifyRow(file: string, v: VerifyJson, r: Row, i: number): void {
  const at = `$.table[${i}]`;
  const sum = ZONE_CLASSES.reduce((a, c) => a + countOf(r, c), 0);
  if (sum !== r.n)
    throw contradiction(
      file,
      `${at}.n`,
      String(sum),
      String(r.n),
      `the sum of its counts (${ZONE_CLASSES.map((c) => countOf(r, c)).join(' + ')})`,
    );
  if (r.n !== v.samples)
    throw contradiction(
      file,
      `${at}.n`,
      String(v.samples),
      String(r.n),
      'the header (samples: draws per generator, each classified on every backend and precision)',
    );
  const share = nonRegularShareOf(r);
  if (!near(share, r.nonRegularShare))
    throw contradiction(
      file,
      `${at}.nonRegularShare`,
      num(share),
      num(r.nonRegularShare),
      '(bifurcation + compensation) / (n − nonfinite) from its counts',
    );
  if (r.inconsistent > countOf(r, 'regular'))
    throw contradiction(
      file,
      `${at}.inconsistent`,
      `at most ${countOf(r, 'regular')}`,
      String(r.inconsistent),
      'its regular count (an inconsistent draw is a regular one)',
    );
  const bounded: [string, number | undefined][] = [
    ['harmlessRoundingDiffs', r.harmlessRoundingDiffs],
    ['underflow', r.underflow],
    ['noForward', r.noForward],
    ['inputZones', r.inputZones ? Object.values(r.inputZones).reduce((a, b) => a + (b ?? 0), 0) : undefined],
  ];
  for (const [k, x] of bounded)
    if (x !== undefined && x > r.n) throw contradiction(file, `${at}.${k}`, `at most ${r.n}`, String(x), 'its draws (n)');
}

function checkVerifyExtras(file: string, v: VerifyJson): void {
  v.realTies.forEach((t, i) => {
    const at = `$.realTies[${i}]`;
    if (t.harmful + t.allZero + t.otherHarmless !== t.tiedWindows)
      throw contradiction(
        file,
        `${at}.tiedWindows`,
        String(t.harmful + t.allZero + t.otherHarmless),
        String(t.tiedWindows),
        'harmful + allZero + otherHarmless',
      );
    if (t.draws !== v.samples) throw contradiction(file, `${at}.draws`, String(v.samples), String(t.draws), 'the header (samples)');
  });
  v.counterexamples.forEach((c, i) => {
    const at = `$.counterexamples[${i}]`;
    const row = v.table.find((r) => r.generator === c.generator && r.backend === c.backend && r.precision === c.precision);
    if (!row || countOf(row, c.class) < 1)
      throw contradiction(
        file,
        `${at}.class`,
        `a class its row counts (${row ? `${c.class} ${countOf(row, c.class)}` : 'no row'})`,
        `'${c.class}'`,
        `the table row of ${c.generator} on ${c.backend} at ${c.precision} bits`,
      );
    const cls = zoneClassOf(c.classification.zone, c.classification.cause);
    if (cls !== c.class) throw contradiction(file, `${at}.class`, `'${cls}'`, `'${c.class}'`, 'its classification (zone and cause)');
    // A seed is a 32-bit word: verify prints it unsigned, older reports (and the baseline) signed.
    const seed = generatorSeed(v.seed, c.generator) >>> 0;
    if (seed !== c.seed >>> 0)
      throw contradiction(
        file,
        `${at}.seed`,
        String(seed),
        String(c.seed),
        `the run's seed ${v.seed} mixed with the generator id (src/zones/verify.ts generatorSeed)`,
      );
  });
}

export function checkVerify(res: ReadResult<'verify'>): void {
  const v = res.data;
  checkVerifyHeader(res.file, v);
  for (const [i, r] of v.table.entries()) checkVerifyRow(res.file, v, r, i);
  checkVerifyExtras(res.file, v);
}

/** Every number of `b` equal to `a`'s (deep, numbers within rounding, NaN = NaN); the first difference's path, or undefined. */
function firstDifference(a: unknown, b: unknown, path: string): { path: string; expected: string; got: string } | undefined {
  if (typeof a === 'number' && typeof b === 'number')
    return near(a, b) || (Number.isNaN(a) && Number.isNaN(b)) ? undefined : { path, expected: num(a), got: num(b) };
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object')
    return a === b ? undefined : { path, expected: num(a), got: num(b) };
  if (Array.isArray(a) !== Array.isArray(b)) return { path, expected: num(a), got: num(b) };
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  for (const k of keys) {
    const d = firstDifference(
      (a as Record<string, unknown>)[k],
      (b as Record<string, unknown>)[k],
      Array.isArray(a) ? `${path}[${k}]` : `${path}.${k}`,
    );
    if (d) return d;
  }
  return undefined;
}

function checkZonesBatches(file: string, p: ZonesReport['precisions'][number], at: string): void {
  const sumR = (r: Readonly<Record<string, number>>) => Object.values(r).reduce((a, b) => a + b, 0);
  p.batches.forEach((b, j) => {
    const e = b.estimator;
    const inZone = e.nonfinite || e.distance > e.threshold;
    if (e.inZone !== inZone)
      throw contradiction(
        file,
        `${at}.batches[${j}].estimator.inZone`,
        String(inZone),
        String(e.inZone),
        `its distance ${num(e.distance)} against its threshold ${num(e.threshold)}`,
      );
    if (!b.exact) return;
    const x = b.exact;
    const fromLayers = {
      units: x.layers.reduce((a, l) => a + l.units, 0),
      regular: x.layers.reduce((a, l) => a + l.regular, 0),
      harmless: x.layers.reduce((a, l) => a + sumR(l.harmless), 0),
      bifurcation: x.layers.reduce((a, l) => a + sumR(l.bifurcation), 0),
      compensation: x.layers.reduce((a, l) => a + sumR(l.compensation), 0),
    };
    for (const [k, want] of Object.entries(fromLayers)) {
      const got = (x as unknown as Record<string, number>)[k];
      if (got !== want) throw contradiction(file, `${at}.batches[${j}].exact.${k}`, String(want), String(got), 'the sum over its layers');
    }
    const zone = fromLayers.bifurcation > 0 ? 'bifurcation' : fromLayers.compensation > 0 ? 'compensation' : 'regular';
    if (x.inZone !== (zone !== 'regular') || x.zone !== zone)
      throw contradiction(
        file,
        `${at}.batches[${j}].exact.zone`,
        `'${zone}' (inZone ${zone !== 'regular'})`,
        `'${x.zone}' (inZone ${x.inZone})`,
        'its bifurcation and compensation counts',
      );
  });
}

export function checkZones(res: ReadResult<'zones'>): void {
  const z = res.data;
  const precisions = z.precisions.map((p) => p.precision);
  unique(res.file, '$.precisions', precisions, 'precision');
  z.precisions.forEach((p, i) => {
    const at = `$.precisions[${i}]`;
    checkZonesBatches(res.file, p, at);
    const records = p.batches.map((record) => ({ record, findings: [], harmless: [] }) as unknown as TaskResult);
    const again = precisionReport(p.precision, records, z.config.exact.available);
    const d = firstDifference(again.summary, p.summary, `${at}.summary`) ?? firstDifference(again.layers, p.layers, `${at}.layers`);
    if (d)
      throw contradiction(res.file, d.path, d.expected, d.got, `its ${p.batches.length} batch records (summed as adzone zones sums them)`);
  });
}

type Ablate = ReadResult<'ablate'>;
type Train = ReadResult<'train'>;

function checkTrainResult(res: Train): void {
  const d: TrainJson = res.data;
  for (const k of ['precision', 'mode', 'backend', 'betaMode'] as const)
    if (d[k] !== d.config[k]) throw contradiction(res.file, `$.${k}`, `'${d.config[k]}'`, `'${d[k]}'`, `its config.${k}`);
  const last = d.epochs.length ? d.epochs[d.epochs.length - 1].testAcc : null;
  if (d.finalTestAcc !== last && !(last !== null && d.finalTestAcc !== null && near(last, d.finalTestAcc)))
    throw contradiction(res.file, '$.finalTestAcc', num(last), num(d.finalTestAcc), "the last epoch's testAcc");
  let best: { testAcc: number; epoch: number } | null = null;
  for (const e of d.epochs)
    if (e.testAcc !== null && (best === null || e.testAcc > best.testAcc)) best = { testAcc: e.testAcc, epoch: e.epoch };
  if (best !== null && (d.bestTestAcc === null || !near(best.testAcc, d.bestTestAcc.testAcc)))
    throw contradiction(
      res.file,
      '$.bestTestAcc.testAcc',
      num(best.testAcc),
      num(d.bestTestAcc?.testAcc ?? null),
      'the best epoch testAcc',
    );
  if ((d.status === 'diverged') !== (d.divergence !== null))
    throw contradiction(
      res.file,
      '$.divergence',
      d.status === 'diverged' ? 'a divergence' : 'null',
      num(d.divergence),
      `its status '${d.status}'`,
    );
}

const KEY_FIELDS = ['model', 'dataset', 'precision', 'optimizer', 'batchNorm', 'beta', 'seed'] as const;

/** An ablate.json entry against its own config, and against the result.json its `dir` names when that was found. */
function checkAblate(res: Ablate, trains: ReadonlyMap<string, Train>): void {
  res.data.runs.forEach((x, i) => {
    const at = `$.runs[${i}]`;
    const c = x.config;
    if (c) {
      for (const k of [...KEY_FIELDS, 'mode', 'backend', 'epochs'] as const) {
        const own = (x as Record<string, unknown>)[k];
        if (own !== undefined && own !== c[k]) throw contradiction(res.file, `${at}.${k}`, num(c[k]), num(own), `its config.${k}`);
      }
    }
    if (!x.dir) return;
    const file = resolve(join(res.file, '..', x.dir, 'result.json'));
    const t = trains.get(file);
    if (!t)
      throw new SchemaError(
        res.file,
        `${at}.dir`,
        'a folder holding its result.json',
        `'${x.dir}' (${existsSync(file) ? 'its result.json was not read' : 'no result.json there'})`,
        `${res.file}: ${at}.dir names '${x.dir}', but ${file} ${existsSync(file) ? 'was not read (a skipped folder)' : 'is missing'}: the run's own record is gone, so its accuracy cannot be checked`,
      );
    for (const k of KEY_FIELDS)
      if (x[k] !== t.data.config[k])
        throw contradiction(res.file, `${at}.${k}`, num(t.data.config[k]), num(x[k]), `the result.json in its dir (${t.file})`);
    if (x.testAccuracy !== t.data.finalTestAcc)
      throw contradiction(
        res.file,
        `${at}.testAccuracy`,
        num(t.data.finalTestAcc),
        num(x.testAccuracy),
        `the finalTestAcc of the result.json in its dir (${t.file})`,
      );
    if (x.status !== undefined && x.status !== t.data.status)
      throw contradiction(res.file, `${at}.status`, `'${t.data.status}'`, `'${x.status}'`, `the result.json in its dir (${t.file})`);
    if (x.bestTestAcc !== undefined && firstDifference(t.data.bestTestAcc, x.bestTestAcc, ''))
      throw contradiction(
        res.file,
        `${at}.bestTestAcc`,
        num(t.data.bestTestAcc),
        num(x.bestTestAcc),
        `the result.json in its dir (${t.file})`,
      );
  });
}

/** One run (configuration, recipe, β, seed) recorded in two files must carry one accuracy. */
function checkRunsAgree(trains: readonly Train[], ablates: readonly Ablate[]): void {
  const seen = new Map<string, { acc: number | null; file: string; path: string }>();
  const see = (k: string, acc: number | null, file: string, path: string) => {
    const prev = seen.get(k);
    if (prev && prev.acc !== acc)
      throw contradiction(file, path, `${num(prev.acc)} (as in ${prev.file} ${prev.path})`, num(acc), 'the same run recorded elsewhere');
    if (!prev) seen.set(k, { acc, file, path });
  };
  for (const t of trains) {
    const c = t.data.config;
    see(`${runKey(c)}|${recipeKey(recipeOf(c))}`, t.data.finalTestAcc, t.file, '$.finalTestAcc');
  }
  for (const a of ablates)
    a.data.runs.forEach((x, i) => {
      if (x.config) see(`${runKey(x.config)}|${recipeKey(recipeOf(x.config))}`, x.testAccuracy, a.file, `$.runs[${i}].testAccuracy`);
    });
}

/** Check every derived number of every result found; throws a SchemaError at the first contradiction. */
export function checkDerived(d: Pick<Discovered, 'results'>): void {
  const trains: Train[] = [];
  const ablates: Ablate[] = [];
  for (const r of d.results) {
    if (r.kind === 'verify') checkVerify(r as ReadResult<'verify'>);
    else if (r.kind === 'zones') checkZones(r as ReadResult<'zones'>);
    else if (r.kind === 'train') trains.push(r as Train);
    else if (r.kind === 'ablate') ablates.push(r as Ablate);
  }
  trains.forEach(checkTrainResult);
  const byFile = new Map(trains.map((t) => [resolve(t.file), t]));
  for (const a of ablates) checkAblate(a, byFile);
  checkRunsAgree(trains, ablates);
}
