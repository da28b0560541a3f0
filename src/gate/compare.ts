/**
 * The gate's comparison of a report with its baseline: pure functions from two loaded sides and the
 * thresholds to a list of regressions, each one line saying what moved, by how much, and where to
 * look (file and generator / backend / precision, network, or training configuration). Training
 * accuracy is compared only between runs trained alike (same configuration and recipe).
 */
import { basename, dirname, join } from 'node:path';
import { discover, ofKind, shown } from '../schema/discover.ts';
import type { ReadResult, VerifyJson } from '../schema/index.ts';
import {
  accuracyByBeta,
  configKey,
  configLabel,
  recipeDiff,
  recipeKey,
  recipeTag,
  trainRuns,
  varyingKeys,
  type AccuracySummary,
  type Recipe,
  type RunRow,
} from '../schema/runs.ts';
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
  if (verifies.length > 1)
    throw new GateInputError(
      `${what} ${shown(dir)} holds ${verifies.length} verify.json files (${verifies.map((v) => shown(v.file)).join(', ')}); the gate compares one`,
    );
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

export function compareVerify(
  base: ReadResult<'verify'>,
  rep: ReadResult<'verify'>,
  t: Thresholds['verify'],
  lone: readonly string[],
): Regression[] {
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
          out.push({
            check: 'tie-rule',
            line: `tie rule not measured: ${bt.backend} ran but has no measured tie rule (baseline '${bt.rule}'); look at ${shown(rep.file)} tieRules`,
          });
        } else if (t.rowsMustMatch) {
          out.push({
            check: 'tie-rule',
            line: `tie rule not measured: ${bt.backend} did not run (baseline '${bt.rule}'); look at ${shown(rep.file)} unavailable`,
          });
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

export function compareZones(
  base: readonly ReadResult<'zones'>[],
  rep: readonly ReadResult<'zones'>[],
  t: Thresholds['zones'],
): Regression[] {
  const out: Regression[] = [];
  for (const bz of base) {
    const rz = rep.find((z) => zonesKey(z) === zonesKey(bz));
    if (!rz) continue;
    const bc = bz.data.config;
    const rc = rz.data.config;
    if (
      bc.batches !== rc.batches ||
      bc.batchSize !== rc.batchSize ||
      bc.seed !== rc.seed ||
      bc.split !== rc.split ||
      bc.accumulate !== rc.accumulate
    ) {
      throw new GateInputError(
        `${shown(rz.file)} is not comparable with ${shown(bz.file)}: ${rc.batches} batches of ${rc.batchSize} (${rc.split}, seed ${rc.seed}, ${rc.accumulate}) in the report, ` +
          `${bc.batches} of ${bc.batchSize} (${bc.split}, seed ${bc.seed}, ${bc.accumulate}) in the baseline; run zones with the baseline's options, or rebaseline with --update`,
      );
    }
    for (const bp of bz.data.precisions) {
      const rp = rz.data.precisions.find((p) => p.precision === bp.precision);
      const c = bz.data.config;
      if (!rp) {
        out.push({
          check: 'zones-precision-missing',
          line: `zones precision missing: ${c.model}/${c.dataset} at ${bp.precision} bits is in the baseline but not in ${shown(rz.file)}`,
        });
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

/** A few files for a note. */
function someFiles(files: readonly string[], max = 3): string {
  const u = [...new Set(files)];
  return `${u.slice(0, max).map(shown).join(', ')}${u.length > max ? ` and ${u.length - max} more` : ''}`;
}

interface TrainGroup {
  readonly recipe: Recipe | undefined;
  readonly acc: AccuracySummary;
}

/** β = 0 runs per configuration, then per recipe ('?' when unknown). */
function beta0Groups(runs: readonly RunRow[]): Map<string, Map<string, TrainGroup>> {
  const by = new Map<string, Map<string, RunRow[]>>();
  for (const r of runs) {
    if (r.beta !== 0) continue;
    const m = by.get(configKey(r)) ?? new Map<string, RunRow[]>();
    m.set(recipeKey(r.recipe), [...(m.get(recipeKey(r.recipe)) ?? []), r]);
    by.set(configKey(r), m);
  }
  return new Map(
    [...by].map(
      ([ck, m]) =>
        [ck, new Map([...m].map(([rk, rs]) => [rk, { recipe: rs[0].recipe, acc: accuracyByBeta(rs)[0] }]))] as [
          string,
          Map<string, TrainGroup>,
        ],
    ),
  );
}

export interface TrainOutcome {
  readonly regressions: Regression[];
  readonly notes: string[];
  /** (baseline, report) pairs of groups compared, and report groups left uncompared because every baseline group of their configuration was trained differently. */
  readonly compared: number;
  readonly notCompared: number;
}

/**
 * Mean test accuracy at β = 0, baseline against report, per configuration — between runs trained
 * alike only. A report group is compared with the baseline group of the same configuration and the
 * same recipe; when there is none, with the baseline groups whose recipe is unknown (or, when the
 * report's recipe is unknown, with every baseline group of the configuration), as before recipes
 * were recorded, and a note says so. Groups whose recipes are both known and differ are not
 * compared; a note names the fields that differ.
 */
export function compareTrain(base: readonly RunRow[], rep: readonly RunRow[], t: Thresholds['train']): TrainOutcome {
  const regressions: Regression[] = [];
  const notes: string[] = [];
  let compared = 0;
  let notCompared = 0;
  const b0 = beta0Groups(base);
  const r0 = beta0Groups(rep);
  for (const [ck, rGroups] of r0) {
    const bGroups = b0.get(ck);
    if (!bGroups) continue;
    const cfg = [...rGroups.values()][0].acc.config;
    const name = `${cfg.model} on ${cfg.dataset}, ${configLabel(cfg)}`;
    const split = bGroups.size > 1 || rGroups.size > 1;
    const keys = varyingKeys([...bGroups.values(), ...rGroups.values()].map((g) => g.recipe));
    for (const [rk, r] of rGroups) {
      const exact = r.recipe ? bGroups.get(rk) : undefined;
      const targets = exact ? [exact] : [...bGroups.values()].filter((b) => !b.recipe || !r.recipe);
      const differing = exact ? [] : [...bGroups.values()].filter((b) => b.recipe && r.recipe);
      for (const b of targets) {
        compared++;
        const label = !split
          ? name
          : r.recipe
            ? `${name} (${recipeTag(r.recipe, keys)})`
            : b.recipe
              ? `${name} (recipe unknown in the report; baseline ${recipeTag(b.recipe, keys)})`
              : `${name} (recipe unknown)`;
        if (!b.recipe || !r.recipe) {
          const side = !b.recipe && !r.recipe ? 'the baseline and the report' : !b.recipe ? 'the baseline' : 'the report';
          notes.push(
            `train: ${label} at β = 0: recipe unknown in ${side} (no config recorded, no readable result.json beside it); compared by configuration only, so the runs may have been trained differently (look at ${someFiles([...b.acc.files, ...r.acc.files])})`,
          );
        }
        const drop = b.acc.mean - r.acc.mean;
        if (drop > t.accuracyAtBeta0MaxDrop + 1e-12) {
          regressions.push({
            check: 'accuracy-beta0',
            line:
              `test accuracy at β = 0 dropped: ${label} moved from ${(100 * b.acc.mean).toFixed(2)}% to ${(100 * r.acc.mean).toFixed(2)}% ` +
              `(−${(100 * drop).toFixed(2)} pp, mean over ${r.acc.seeds} seed${r.acc.seeds > 1 ? 's' : ''}), allowed −${(100 * t.accuracyAtBeta0MaxDrop).toFixed(2)} pp; look at ${r.acc.files.map(shown).join(', ')}`,
          });
        }
      }
      if (!targets.length) notCompared++;
      for (const b of differing) {
        notes.push(
          `train: ${name} at β = 0: not compared, trained differently: ${recipeDiff(b.recipe!, r.recipe!)} (baseline vs report; ` +
            `${(100 * b.acc.mean).toFixed(2)}% vs ${(100 * r.acc.mean).toFixed(2)}%; look at ${someFiles([...b.acc.files, ...r.acc.files])})`,
        );
      }
    }
  }
  return { regressions, notes, compared, notCompared };
}

export interface GateOutcome {
  readonly regressions: readonly Regression[];
  /** What was compared, and what could not be (printed, never a failure by itself). */
  readonly notes: readonly string[];
}

export function compareSides(base: Side, rep: Side, t: Thresholds, lone: readonly string[]): GateOutcome {
  const notes: string[] = [];
  for (const k of t.require) {
    if (!rep.kinds.has(k))
      throw new GateInputError(`report ${shown(rep.dir)} holds no ${k} result (thresholds.json requires: ${t.require.join(', ')})`);
    if (!base.kinds.has(k))
      throw new GateInputError(`baseline ${shown(base.dir)} holds no ${k} result (thresholds.json requires: ${t.require.join(', ')})`);
  }
  const regressions: Regression[] = [];
  if (base.verify && rep.verify) {
    regressions.push(...compareVerify(base.verify, rep.verify, t.verify, lone));
    notes.push(
      `verify: ${rep.verify.data.table.length} rows of ${shown(rep.verify.file)} against ${shown(base.verify.file)}${base.verify.data.seed === rep.verify.data.seed && base.verify.data.samples === rep.verify.data.samples ? ' (same seed and samples: identical draws)' : ` (seed ${rep.verify.data.seed}/${base.verify.data.seed}, samples ${rep.verify.data.samples}/${base.verify.data.samples}: sampling allowance applies)`}`,
    );
  } else if (base.verify || rep.verify) notes.push(`verify: only the ${base.verify ? 'baseline' : 'report'} has one; not compared`);
  if (base.zones.length || rep.zones.length) {
    regressions.push(...compareZones(base.zones, rep.zones, t.zones));
    const paired = base.zones.filter((b) => rep.zones.some((r) => zonesKey(r) === zonesKey(b))).length;
    notes.push(
      `zones: ${paired} network(s) compared${base.zones.length - paired ? `, ${base.zones.length - paired} baseline network(s) absent from the report` : ''}`,
    );
  }
  if (base.runs.length || rep.runs.length) {
    const tr = compareTrain(base.runs, rep.runs, t.train);
    regressions.push(...tr.regressions);
    notes.push(
      `train: ${rep.runs.length} run(s) in the report, ${base.runs.length} in the baseline${
        !base.runs.length || !rep.runs.length
          ? ' (not compared: one side has none)'
          : `; accuracy at β = 0 compared for ${tr.compared} group(s)${tr.notCompared ? `, ${tr.notCompared} not compared (trained differently)` : ''}`
      }`,
    );
    notes.push(...tr.notes);
  }
  return { regressions, notes };
}
