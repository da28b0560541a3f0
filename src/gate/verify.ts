/**
 * The gate's rules for verify.json: the report's rows against the baseline's, every share
 * recomputed from the counts (derived.ts has already refused a file whose stored share disagrees).
 * Every baseline row and tie rule must be in the report; the absolute rules (inconsistent value
 * checks, 64-bit compensation on a lone MaxPool) hold whatever the baseline says; the shares may
 * grow by their margins, plus a sampling allowance when the two runs drew different points.
 */
import { basename, dirname, join } from 'node:path';
import { shown } from '../schema/discover.ts';
import type { ReadResult, VerifyJson } from '../schema/index.ts';
import { ZONE_CLASSES } from '../problem/index.ts';
import { nonRegularShareOf } from './derived.ts';
import { GateInputError } from './load.ts';
import type { Thresholds } from './thresholds.ts';

export interface Regression {
  /** Short id of the rule that failed. */
  readonly check: string;
  /** The one line printed. */
  readonly line: string;
}

type Row = VerifyJson['table'][number];
type Key = Pick<Row, 'generator' | 'backend' | 'precision'>;
const rowKey = (r: Key) => `${r.generator}|${r.backend}|${r.precision}`;
const where = (r: Key) => `${r.generator} on ${r.backend} at ${r.precision} bits`;
export const pp = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(100 * x).toFixed(1)} pp`;
export const pc = (x: number) => `${(100 * x).toFixed(1)}%`;
const countOf = (r: Row, c: string): number => (r.counts as Record<string, number | undefined>)[c] ?? 0;
const compensation = (r: Row) => countOf(r, 'compensation:tie') + countOf(r, 'compensation:flip');
const finite = (r: Row) => r.n - countOf(r, 'nonfinite');

function look(file: string, r: Key, extra = ''): string {
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
      repFile,
    );
  }
}

/** A report row must count every class its baseline row counts (a row without `defect` was written before defects were classified). */
function checkClassesPresent(br: Row, rr: Row, baseFile: string, repFile: string): void {
  const missing = ZONE_CLASSES.filter((c) => c in br.counts && !(c in rr.counts));
  if (missing.length)
    throw new GateInputError(
      `${shown(repFile)} is not comparable with ${shown(baseFile)}: the row of ${where(rr)} has no count of ${missing.join(', ')}, which the baseline's row counts; re-run verify with this adzone`,
      repFile,
    );
}

function missingRows(base: ReadResult<'verify'>, rep: ReadResult<'verify'>): Regression[] {
  const have = new Set(rep.data.table.map(rowKey));
  return base.data.table
    .filter((br) => !have.has(rowKey(br)))
    .map((br) => {
      const skipped = rep.data.unavailable.find((u) => u.id === br.backend);
      return {
        check: 'row-missing',
        line: `row missing: ${where(br)} is in the baseline but not in the report${skipped ? ` (backend ${br.backend} was skipped: ${skipped.unavailable})` : ''}; look at ${shown(rep.file)} (generators, backends, precisions, unavailable)`,
      };
    });
}

/** Rules that hold whatever the baseline says. */
function absoluteRules(rr: Row, br: Row | undefined, file: string, t: Thresholds['verify'], lone: readonly string[]): Regression[] {
  const out: Regression[] = [];
  if (rr.inconsistent > t.inconsistentMax)
    out.push({
      check: 'inconsistent',
      line: `inconsistent value checks: ${where(rr)} moved from ${br ? br.inconsistent : 'no row'} to ${rr.inconsistent} of ${rr.n} draws (regular points outside their rigorous rounding bound); must stay ≤ ${t.inconsistentMax}; ${look(file, rr)}`,
    });
  if (rr.precision === '64' && lone.includes(rr.generator) && compensation(rr) > t.loneMaxPool64CompensationMax) {
    const was = br ? compensation(br) : 0;
    out.push({
      check: 'lone-maxpool-64-compensation',
      line:
        `64-bit compensation on a lone MaxPool: ${where(rr)} moved from ${was} to ${compensation(rr)} of ${rr.n} draws (${pp(compensation(rr) / rr.n - (br ? was / br.n : 0))}; ` +
        `tie ${countOf(rr, 'compensation:tie')}, flip ${countOf(rr, 'compensation:flip')}); its input is exact at 64 bits, so this must stay ≤ ${t.loneMaxPool64CompensationMax}; ${look(file, rr, ' and its minimal counterexample')}`,
    });
  }
  return out;
}

/** Shares that may grow by a margin (plus a sampling allowance when the draws differ). */
function shareRules(rr: Row, br: Row, file: string, t: Thresholds['verify'], sameDraws: boolean): Regression[] {
  const out: Regression[] = [];
  const margin = t.nonRegularShareMaxIncrease[rr.precision] ?? t.nonRegularShareMaxIncrease.default ?? 0;
  const b = nonRegularShareOf(br);
  const r = nonRegularShareOf(rr);
  const allow = margin + (sameDraws ? 0 : t.samplingSigmas * seDiff(b, finite(br), r, finite(rr)));
  if (r - b > allow + 1e-12)
    out.push({
      check: 'non-regular-share',
      line:
        `non-regular share grew: ${where(rr)} moved from ${pc(b)} to ${pc(r)} (${pp(r - b)}; bifurcation ${countOf(br, 'bifurcation')} → ${countOf(rr, 'bifurcation')}, ` +
        `compensation ${compensation(br)} → ${compensation(rr)}), allowed ${pp(allow)}${sameDraws ? '' : ` (${pp(margin)} + ${t.samplingSigmas}σ sampling)`}; ${look(file, rr)}`,
    });
  const db = countOf(br, 'defect') / Math.max(1, br.n);
  const dr = countOf(rr, 'defect') / Math.max(1, rr.n);
  const allowD = t.defectShareMaxIncrease + (sameDraws ? 0 : t.samplingSigmas * seDiff(db, br.n, dr, rr.n));
  if (dr - db > allowD + 1e-12)
    out.push({
      check: 'defect-share',
      line: `defect share grew: ${where(rr)} moved from ${pc(db)} (${countOf(br, 'defect')}) to ${pc(dr)} (${countOf(rr, 'defect')}) (${pp(dr - db)}), allowed ${pp(allowD)}; ${look(file, rr)} and tieRules[backend=${rr.backend}]`,
    });
  return out;
}

function tieRuleRules(b: VerifyJson, r: VerifyJson, file: string): Regression[] {
  const out: Regression[] = [];
  for (const bt of b.tieRules) {
    const rt = r.tieRules.find((x) => x.backend === bt.backend);
    if (rt && rt.rule !== bt.rule)
      out.push({
        check: 'tie-rule',
        line: `tie rule changed: ${bt.backend} moved from '${bt.rule}' to '${rt.rule}' at exact ties; look at ${shown(file)} tieRules[backend=${bt.backend}] (evidence: ${rt.evidence.split(';')[0]})`,
      });
    else if (!rt)
      out.push({
        check: 'tie-rule',
        line: r.backends.some((x) => x.id === bt.backend)
          ? `tie rule not measured: ${bt.backend} ran but has no measured tie rule (baseline '${bt.rule}'); look at ${shown(file)} tieRules`
          : `tie rule not measured: ${bt.backend} did not run (baseline '${bt.rule}'); look at ${shown(file)} unavailable`,
      });
  }
  return out;
}

export function compareVerify(
  base: ReadResult<'verify'>,
  rep: ReadResult<'verify'>,
  t: Thresholds['verify'],
  lone: readonly string[],
): Regression[] {
  const b = base.data;
  const r = rep.data;
  checkComparable(b, r, base.file, rep.file);
  const sameDraws = b.seed === r.seed && b.samples === r.samples;
  const baseRows = new Map(b.table.map((x) => [rowKey(x), x]));
  const out: Regression[] = t.rowsMustMatch ? missingRows(base, rep) : [];
  for (const rr of r.table) {
    const br = baseRows.get(rowKey(rr));
    if (br) checkClassesPresent(br, rr, base.file, rep.file);
    out.push(...absoluteRules(rr, br, rep.file, t, lone));
    if (br) out.push(...shareRules(rr, br, rep.file, t, sameDraws));
  }
  if (t.tieRulesMustMatch) out.push(...tieRuleRules(b, r, rep.file).filter((x) => t.rowsMustMatch || !/did not run/.test(x.line)));
  return out;
}
