/**
 * The gate's comparison of a report with its baseline: pure functions from two loaded sides and the
 * thresholds to a list of regressions, each one line saying what moved, by how much, and where to
 * look (file and generator / backend / precision, network, or training configuration).
 */
import { basename, dirname, join } from 'node:path';
import { discover, ofKind, shown } from '../schema/discover.ts';
import type { ReadResult, VerifyJson } from '../schema/index.ts';
import { accuracyByBeta, configKey, configLabel, trainRuns, type AccuracySummary, type RunRow } from '../schema/runs.ts';
import { compensation, countOf } from '../report/html/format.ts';
import type { Thresholds } from './thresholds.ts';

/** Input the gate cannot use (missing files, schema mismatch, runs not comparable): exit 2. */
export class GateInputError extends Error {
  override name = 'GateInputError';
}

export interface Side {
  readonly dir: string;
  readonly verify: ReadResult<'verify'> | undefined;
  readonly zones: readonly ReadResult<'zones'>[];
  readonly runs: readonly RunRow[];
  readonly kinds: ReadonlySet<string>;
  /** Every result file found (for --update). */
  readonly files: readonly string[];
}

export function loadSide(dir: string, what: 'baseline' | 'report'): Side {
  const d = discover([dir]);
  const verifies = ofKind(d, 'verify');
  if (verifies.length > 1) throw new GateInputError(`${what} ${shown(dir)} holds ${verifies.length} verify.json files (${verifies.map((v) => shown(v.file)).join(', ')}); the gate compares one`);
  return {
    dir,
    verify: verifies[0],
    zones: ofKind(d, 'zones'),
    runs: trainRuns(d.results),
    kinds: new Set(d.results.map((r) => r.kind)),
    files: d.results.map((r) => r.file),
  };
}

export interface Regression {
  /** Short id of the rule that failed. */
  readonly check: string;
  /** The one line printed. */
  readonly line: string;
}

type Row = VerifyJson['table'][number];
const rowKey = (r: Pick<Row, 'generator' | 'backend' | 'precision'>) => `${r.generator}|${r.backend}|${r.precision}`;
const where = (r: Pick<Row, 'generator' | 'backend' | 'precision'>) => `${r.generator} on ${r.backend} at ${r.precision} bits`;
const pp = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(100 * x).toFixed(1)} pp`;
const pc = (x: number) => `${(100 * x).toFixed(1)}%`;
const finite = (r: Row) => r.n - countOf(r, 'nonfinite');

function look(file: string, r: Pick<Row, 'generator' | 'backend' | 'precision'>, extra = ''): string {
  const md = join(dirname(file), basename(file).replace(/\.json$/, '.md'));
  return `look at ${shown(file)} table[generator=${r.generator}, backend=${r.backend}, precision=${r.precision}]${extra} and '### ${r.generator}' in ${shown(md)}`;
}

/** Binomial standard error of the difference of two shares. */
function seDiff(p1: number, n1: number, p2: number, n2: number): number {
  if (n1 <= 0 || n2 <= 0) return 0;
  const p = (p1 * n1 + p2 * n2) / (n1 + n2);
  return Math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2));
}

/** Refuse runs that measure different things: their counts cannot be compared. */
export function checkComparable(base: VerifyJson, rep: VerifyJson, baseFile: string, repFile: string): void {
  const fields: [string, unknown, unknown][] = [
    ['--jacobians', base.jacobians.join(','), rep.jacobians.join(',')],
    ['--relu-alpha', base.reluAlphas.join(','), rep.reluAlphas.join(',')],
    ['--accumulate', base.accumulate, rep.accumulate],
    ['--beta-mode', base.betaMode, rep.betaMode],
  ];
  const diff = fields.filter(([, a, b]) => a !== b);
  if (diff.length) {
    throw new GateInputError(
      `${shown(repFile)} is not comparable with ${shown(baseFile)}: ${diff.map(([k, a, b]) => `${k} ${String(b)} in the report, ${String(a)} in the baseline`).join('; ')}. Run the report with the baseline's options, or rebaseline with --update`,
    );
  }
}

export function compareVerify(base: ReadResult<'verify'>, rep: ReadResult<'verify'>, t: Thresholds['verify'], lone: readonly string[]): Regression[] {
  const out: Regression[] = [];
  const b = base.data;
  const r = rep.data;
  checkComparable(b, r, base.file, rep.file);
  const sameDraws = b.seed === r.seed && b.samples === r.samples;
  const baseRows = new Map(b.table.map((x) => [rowKey(x), x]));
  const repRows = new Map(r.table.map((x) => [rowKey(x), x]));

  // Rows of the baseline missing from the report.
  if (t.rowsMustMatch) {
    for (const [k, br] of baseRows) {
      if (repRows.has(k)) continue;
      const skipped = r.unavailable.find((u) => u.id === br.backend);
      out.push({
        check: 'row-missing',
        line: `row missing: ${where(br)} is in the baseline but not in the report${skipped ? ` (backend ${br.backend} was skipped: ${skipped.unavailable})` : ''}; look at ${shown(rep.file)} (generators, backends, precisions, unavailable)`,
      });
    }
  }

  for (const rr of r.table) {
    const br = baseRows.get(rowKey(rr));
    // Absolute rules, whatever the baseline says.
    if (rr.inconsistent > t.inconsistentMax) {
      out.push({
        check: 'inconsistent',
        line: `inconsistent value checks: ${where(rr)} moved from ${br ? br.inconsistent : 'no row'} to ${rr.inconsistent} of ${rr.n} draws (regular points outside their rigorous rounding bound); must stay ≤ ${t.inconsistentMax}; ${look(rep.file, rr)}`,
      });
    }
    if (rr.precision === '64' && lone.includes(rr.generator) && compensation(rr) > t.loneMaxPool64CompensationMax) {
      const was = br ? compensation(br) : 0;
      out.push({
        check: 'lone-maxpool-64-compensation',
        line:
          `64-bit compensation on a lone MaxPool: ${where(rr)} moved from ${was} to ${compensation(rr)} of ${rr.n} draws (${pp(compensation(rr) / rr.n - (br ? was / br.n : 0))}; ` +
          `tie ${countOf(rr, 'compensation:tie')}, flip ${countOf(rr, 'compensation:flip')}); its input is exact at 64 bits, so this must stay ≤ ${t.loneMaxPool64CompensationMax}; ${look(rep.file, rr, ' and its minimal counterexample')}`,
      });
    }
    if (!br) continue;
    // Growth of the non-regular share.
    const margin = t.nonRegularShareMaxIncrease[rr.precision] ?? t.nonRegularShareMaxIncrease.default ?? 0;
    const allow = margin + (sameDraws ? 0 : t.samplingSigmas * seDiff(br.nonRegularShare, finite(br), rr.nonRegularShare, finite(rr)));
    const d = rr.nonRegularShare - br.nonRegularShare;
    if (d > allow + 1e-12) {
      out.push({
        check: 'non-regular-share',
        line:
          `non-regular share grew: ${where(rr)} moved from ${pc(br.nonRegularShare)} to ${pc(rr.nonRegularShare)} (${pp(d)}; bifurcation ${countOf(br, 'bifurcation')} → ${countOf(rr, 'bifurcation')}, ` +
          `compensation ${compensation(br)} → ${compensation(rr)}), allowed ${pp(allow)}${sameDraws ? '' : ` (${pp(margin)} + ${t.samplingSigmas}σ sampling)`}; ${look(rep.file, rr)}`,
      });
    }
    const db = countOf(br, 'defect') / Math.max(1, br.n);
    const dr = countOf(rr, 'defect') / Math.max(1, rr.n);
    const allowD = t.defectShareMaxIncrease + (sameDraws ? 0 : t.samplingSigmas * seDiff(db, br.n, dr, rr.n));
    if (dr - db > allowD + 1e-12) {
      out.push({
        check: 'defect-share',
        line: `defect share grew: ${where(rr)} moved from ${pc(db)} (${countOf(br, 'defect')}) to ${pc(dr)} (${countOf(rr, 'defect')}) (${pp(dr - db)}), allowed ${pp(allowD)}; ${look(rep.file, rr)} and tieRules[backend=${rr.backend}]`,
      });
    }
  }

  if (t.tieRulesMustMatch) {
    for (const bt of b.tieRules) {
      const rt = r.tieRules.find((x) => x.backend === bt.backend);
      if (!rt) {
        if (r.backends.some((x) => x.id === bt.backend)) {
          out.push({ check: 'tie-rule', line: `tie rule not measured: ${bt.backend} ran but has no measured tie rule (baseline '${bt.rule}'); look at ${shown(rep.file)} tieRules` });
        } else if (t.rowsMustMatch) {
          out.push({ check: 'tie-rule', line: `tie rule not measured: ${bt.backend} did not run (baseline '${bt.rule}'); look at ${shown(rep.file)} unavailable` });
        }
      } else if (rt.rule !== bt.rule) {
        out.push({
          check: 'tie-rule',
          line: `tie rule changed: ${bt.backend} moved from '${bt.rule}' to '${rt.rule}' at exact ties; look at ${shown(rep.file)} tieRules[backend=${bt.backend}] (evidence: ${rt.evidence.split(';')[0]})`,
        });
      }
    }
  }
  return out;
}

const zonesKey = (z: ReadResult<'zones'>) => `${z.data.config.model}|${z.data.config.variant}|${z.data.config.dataset}`;

export function compareZones(base: readonly ReadResult<'zones'>[], rep: readonly ReadResult<'zones'>[], t: Thresholds['zones']): Regression[] {
  const out: Regression[] = [];
  for (const bz of base) {
    const rz = rep.find((z) => zonesKey(z) === zonesKey(bz));
    if (!rz) continue;
    const bc = bz.data.config;
    const rc = rz.data.config;
    if (bc.batches !== rc.batches || bc.batchSize !== rc.batchSize || bc.seed !== rc.seed || bc.split !== rc.split || bc.accumulate !== rc.accumulate) {
      throw new GateInputError(
        `${shown(rz.file)} is not comparable with ${shown(bz.file)}: ${rc.batches} batches of ${rc.batchSize} (${rc.split}, seed ${rc.seed}, ${rc.accumulate}) in the report, ` +
          `${bc.batches} of ${bc.batchSize} (${bc.split}, seed ${bc.seed}, ${bc.accumulate}) in the baseline; run zones with the baseline's options, or rebaseline with --update`,
      );
    }
    for (const bp of bz.data.precisions) {
      const rp = rz.data.precisions.find((p) => p.precision === bp.precision);
      const c = bz.data.config;
      if (!rp) {
        out.push({ check: 'zones-precision-missing', line: `zones precision missing: ${c.model}/${c.dataset} at ${bp.precision} bits is in the baseline but not in ${shown(rz.file)}` });
        continue;
      }
      const a = bp.summary.exactShare;
      const b = rp.summary.exactShare;
      if (a === null || b === null) continue;
      if (b - a > t.exactShareMaxIncrease + 1e-12) {
        out.push({
          check: 'zones-exact-share',
          line: `exact share of batches in a zone grew: ${c.model} (${c.variant}) on ${c.dataset} at ${bp.precision} bits moved from ${pc(a)} to ${pc(b)} (${pp(b - a)}), allowed ${pp(t.exactShareMaxIncrease)}; look at ${shown(rz.file)} precisions[precision=${bp.precision}].summary and its zones.md`,
        });
      }
    }
  }
  return out;
}

export function compareTrain(base: readonly RunRow[], rep: readonly RunRow[], t: Thresholds['train']): Regression[] {
  const out: Regression[] = [];
  const at0 = (runs: readonly RunRow[]) => new Map(accuracyByBeta(runs.filter((r) => r.beta === 0)).map((a) => [configKey(a.config), a] as [string, AccuracySummary]));
  const b0 = at0(base);
  const r0 = at0(rep);
  for (const [k, a] of b0) {
    const b = r0.get(k);
    if (!b) continue;
    const drop = a.mean - b.mean;
    if (drop > t.accuracyAtBeta0MaxDrop + 1e-12) {
      out.push({
        check: 'accuracy-beta0',
        line:
          `test accuracy at β = 0 dropped: ${a.config.model} on ${a.config.dataset}, ${configLabel(a.config)} moved from ${(100 * a.mean).toFixed(2)}% to ${(100 * b.mean).toFixed(2)}% ` +
          `(−${(100 * drop).toFixed(2)} pp, mean over ${b.seeds} seed${b.seeds > 1 ? 's' : ''}), allowed −${(100 * t.accuracyAtBeta0MaxDrop).toFixed(2)} pp; look at ${b.files.map(shown).join(', ')}`,
      });
    }
  }
  return out;
}

export interface GateOutcome {
  readonly regressions: readonly Regression[];
  /** What was compared, and what could not be (printed, never a failure by itself). */
  readonly notes: readonly string[];
}

export function compareSides(base: Side, rep: Side, t: Thresholds, lone: readonly string[]): GateOutcome {
  const notes: string[] = [];
  for (const k of t.require) {
    if (!rep.kinds.has(k)) throw new GateInputError(`report ${shown(rep.dir)} holds no ${k} result (thresholds.json requires: ${t.require.join(', ')})`);
    if (!base.kinds.has(k)) throw new GateInputError(`baseline ${shown(base.dir)} holds no ${k} result (thresholds.json requires: ${t.require.join(', ')})`);
  }
  const regressions: Regression[] = [];
  if (base.verify && rep.verify) {
    regressions.push(...compareVerify(base.verify, rep.verify, t.verify, lone));
    notes.push(`verify: ${rep.verify.data.table.length} rows of ${shown(rep.verify.file)} against ${shown(base.verify.file)}${base.verify.data.seed === rep.verify.data.seed && base.verify.data.samples === rep.verify.data.samples ? ' (same seed and samples: identical draws)' : ` (seed ${rep.verify.data.seed}/${base.verify.data.seed}, samples ${rep.verify.data.samples}/${base.verify.data.samples}: sampling allowance applies)`}`);
  } else if (base.verify || rep.verify) notes.push(`verify: only the ${base.verify ? 'baseline' : 'report'} has one; not compared`);
  if (base.zones.length || rep.zones.length) {
    regressions.push(...compareZones(base.zones, rep.zones, t.zones));
    const paired = base.zones.filter((b) => rep.zones.some((r) => zonesKey(r) === zonesKey(b))).length;
    notes.push(`zones: ${paired} network(s) compared${base.zones.length - paired ? `, ${base.zones.length - paired} baseline network(s) absent from the report` : ''}`);
  }
  if (base.runs.length || rep.runs.length) {
    regressions.push(...compareTrain(base.runs, rep.runs, t.train));
    notes.push(`train: ${rep.runs.length} run(s) in the report, ${base.runs.length} in the baseline${!base.runs.length || !rep.runs.length ? ' (not compared: one side has none)' : ''}`);
  }
  return { regressions, notes };
}
