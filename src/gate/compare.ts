/**
 * The gate's comparison of a report with its baseline: pure functions from two loaded sides and the
 * thresholds to a list of regressions, each one line saying what moved, by how much, and where to
 * look. Every baseline item (verify row and tie rule, network and precision, training run) must be
 * in the report; a missing one is a regression naming it, unless the report declares the stage
 * that makes it skipped (load.ts), which the outcome names with the items it leaves out.
 */
import { shown } from '../schema/discover.ts';
import { GateInputError, type GatedStage, type Side, type SkippedStage, skipCovers, skipOf, zonesSkipOf } from './load.ts';
import type { Thresholds } from './thresholds.ts';
import { compareTrain } from './train.ts';
import { compareVerify, type Regression } from './verify.ts';
import { compareZones, type Zones, zonesKey } from './zones.ts';

export { GateInputError, loadSide, type Side, type SkippedStage } from './load.ts';
export { checkComparable, compareVerify, type Regression } from './verify.ts';
export { compareZones } from './zones.ts';
export { compareTrain, type TrainOutcome } from './train.ts';

export interface SkippedOutcome extends SkippedStage {
  /** Baseline items (rows, networks, runs) left out of the comparison. */
  readonly notCompared: number;
}

export interface GateOutcome {
  readonly regressions: readonly Regression[];
  /** What was compared, and what could not be (printed, never a failure by itself). */
  readonly notes: readonly string[];
  /** Stages the report declares it did not run, with the baseline items that leaves out. */
  readonly skipped: readonly SkippedOutcome[];
}

const STAGE_OF_KIND: Readonly<Record<string, GatedStage | undefined>> = {
  verify: 'verify',
  zones: 'zones',
  train: 'train',
  ablate: 'train',
};

function checkRequired(base: Side, rep: Side, t: Thresholds): void {
  for (const k of t.require) {
    const stage = STAGE_OF_KIND[k];
    const skip = stage ? skipOf(rep, stage) : undefined;
    if (!rep.kinds.has(k))
      throw new GateInputError(
        `report ${shown(rep.dir)} holds no ${k} result (thresholds.json requires: ${t.require.join(', ')})${skip ? `; it declares the ${skip.stage} stage skipped (${skip.source}: ${skip.reason})` : ''}`,
        rep.dir,
      );
    if (!base.kinds.has(k))
      throw new GateInputError(
        `baseline ${shown(base.dir)} holds no ${k} result (thresholds.json requires: ${t.require.join(', ')})`,
        base.dir,
      );
  }
}

function verifyPart(
  base: Side,
  rep: Side,
  t: Thresholds,
  lone: readonly string[],
  notes: string[],
): { regressions: Regression[]; left: number } {
  if (base.verify && rep.verify) {
    const same = base.verify.data.seed === rep.verify.data.seed && base.verify.data.samples === rep.verify.data.samples;
    notes.push(
      `verify: ${rep.verify.data.table.length} rows of ${shown(rep.verify.file)} against ${base.verify.data.table.length} of ${shown(base.verify.file)}${same ? ' (same seed and samples: identical draws)' : ` (seed ${rep.verify.data.seed}/${base.verify.data.seed}, samples ${rep.verify.data.samples}/${base.verify.data.samples}: sampling allowance applies)`}`,
    );
    return { regressions: compareVerify(base.verify, rep.verify, t.verify, lone), left: 0 };
  }
  if (rep.verify) notes.push(`verify: only the report has one (${shown(rep.verify.file)}); not compared`);
  if (!base.verify) return { regressions: [], left: 0 };
  if (skipOf(rep, 'verify')) return { regressions: [], left: base.verify.data.table.length };
  return {
    regressions: [
      {
        check: 'verify-missing',
        line: `verify result missing: the baseline has ${base.verify.data.table.length} rows (${shown(base.verify.file)}) but the report ${shown(rep.dir)} holds no verify.json`,
      },
    ],
    left: 0,
  };
}

function zonesPart(base: Side, rep: Side, t: Thresholds, notes: string[]): { regressions: Regression[]; left: number; leftOut: Zones[] } {
  if (!base.zones.length && !rep.zones.length) return { regressions: [], left: 0, leftOut: [] };
  const z = compareZones(base.zones, rep.zones, t.zones, (bz) => zonesSkipOf(rep, bz.data.config) !== undefined);
  const extra = rep.zones.filter((r) => !base.zones.some((b) => zonesKey(b) === zonesKey(r))).length;
  notes.push(
    `zones: ${z.compared} of ${base.zones.length} baseline network(s) compared${extra ? `; ${extra} network(s) only in the report (not compared)` : ''}`,
  );
  return { regressions: z.regressions, left: z.notCompared, leftOut: [...z.leftOut] };
}

function trainPart(base: Side, rep: Side, t: Thresholds, notes: string[]): { regressions: Regression[]; left: number } {
  if (!base.runs.length && !rep.runs.length) return { regressions: [], left: 0 };
  const tr = compareTrain(base.runs, rep.runs, t.train, skipOf(rep, 'train') !== undefined);
  notes.push(
    `train: ${rep.runs.length} run(s) in the report, ${base.runs.length} in the baseline${
      base.runs.length
        ? `; accuracy at β = 0 compared for ${tr.compared} group(s)${tr.notCompared ? `, ${tr.notCompared} not compared (trained differently)` : ''}`
        : ' (only the report has runs: not compared)'
    }`,
    ...tr.notes,
  );
  return { regressions: tr.regressions, left: tr.runsNotCompared };
}

export function compareSides(base: Side, rep: Side, t: Thresholds, lone: readonly string[]): GateOutcome {
  checkRequired(base, rep, t);
  const notes: string[] = [...rep.notes];
  if (rep.foreign.length)
    notes.push(
      `ignored ${rep.foreign.length} JSON document(s) that are not adzone files: ${rep.foreign.slice(0, 3).map(shown).join(', ')}${rep.foreign.length > 3 ? ', …' : ''}`,
    );
  const verify = verifyPart(base, rep, t, lone, notes);
  const zones = zonesPart(base, rep, t, notes);
  const parts: Record<GatedStage, { regressions: Regression[]; left: number }> = { verify, zones, train: trainPart(base, rep, t, notes) };
  // a unit's skip counts the networks it covers; a stage's, every item of the stage left out
  const left = (s: SkippedStage) => (s.only ? zones.leftOut.filter((z) => skipCovers(s, z.data.config)).length : parts[s.stage].left);
  const skipped = rep.skipped.map((s) => ({ ...s, notCompared: left(s) }));
  for (const s of skipped)
    notes.push(
      `${s.stage}: not compared — the report declares ${s.only ? `${s.only.model} on ${s.only.dataset} of the stage` : 'the stage'} skipped (${s.source}: ${s.reason}); ${s.notCompared} baseline item(s) left out`,
    );
  return { regressions: Object.values(parts).flatMap((p) => p.regressions), notes, skipped };
}
