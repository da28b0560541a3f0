/**
 * One side of the gate, loaded: every file of the folder read (src/schema/discover.ts: valid, or a
 * named error; a baseline may hold adzone files only), every derived number recomputed from its
 * counts (derived.ts), and the stages the report declares it did not run.
 *
 * A report declares a skipped stage in a nightly plan.json at its top (schema adzone/nightly-plan,
 * what `adzone nightly` writes before any stage runs): a stage missing from its `stages` did not
 * run, for the reason its `dropped` entry gives; a unit in its `leftOut` (a network of the zones
 * stage whose data was not there) did not run either, while the rest of its stage did. Library
 * callers may declare more in the gate's config. Baseline items of a declared-skipped stage (or
 * unit) are not compared, and the gate names the stage, the reason and how many baseline items that
 * leaves out; a stage that was planned and left no results is not skipped: its baseline items are
 * missing, and so are the other networks of a stage that left out one unit.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { discover, type Discovered, ofKind, othersOfKind, shown } from '../schema/discover.ts';
import type { ReadResult } from '../schema/index.ts';
import type { STAGES } from '../schema/nightly.ts';
import { type RunRow, trainRuns } from '../schema/runs.ts';
import { InputError } from '../util/errors.ts';
import { checkDerived } from './derived.ts';
import { loneMaxPoolGenerators } from './lone.ts';
import type { Thresholds } from './thresholds.ts';

/** Input the gate cannot use (missing files, schema mismatch, runs not comparable): exit 2. */
export class GateInputError extends InputError {
  override name = 'GateInputError';
}

/** The stages a report can declare it did not run, and the result kinds each one writes. */
export const GATED_STAGES = ['verify', 'zones', 'train'] as const satisfies readonly (typeof STAGES)[number][];
export type GatedStage = (typeof GATED_STAGES)[number];

export interface SkippedStage {
  readonly stage: GatedStage;
  readonly reason: string;
  /** Where it was declared: a plan.json, or 'config'. */
  readonly source: string;
  /** Only this network of the (zones) stage was left out, the rest ran; absent: the whole stage. */
  readonly only?: { readonly model: string; readonly dataset: string };
}

export interface Side {
  readonly dir: string;
  readonly verify: ReadResult<'verify'> | undefined;
  readonly zones: readonly ReadResult<'zones'>[];
  readonly runs: readonly RunRow[];
  readonly kinds: ReadonlySet<string>;
  /** Every result file found (for --update). */
  readonly files: readonly string[];
  /** Stages the side declares it did not run (a report's nightly plan.json); empty for a baseline. */
  readonly skipped: readonly SkippedStage[];
  /** JSON documents that are not adzone files, listed (a report only). */
  readonly foreign: readonly string[];
  /** What discovery tolerated (a cut last metrics line). */
  readonly notes: readonly string[];
}

/** The stages, and units of stages, a nightly plan.json at the top of `dir` left out, with its reasons. */
function declaredSkips(d: Discovered, dir: string): SkippedStage[] {
  const plans = othersOfKind(d, 'nightly-plan').filter((p) => resolve(dirname(p.file)) === resolve(dir));
  const out: SkippedStage[] = [];
  for (const p of plans) {
    const source = shown(p.file);
    for (const stage of GATED_STAGES) {
      if (p.data.stages.includes(stage)) continue;
      const why = p.data.dropped.find((x) => x.stage === stage)?.reason ?? 'not among the stages it ran';
      out.push({ stage, reason: why, source });
    }
    for (const u of p.data.leftOut ?? [])
      if (isGated(u.stage))
        out.push({ stage: u.stage, reason: `${u.unit} left out: ${u.reason}`, source, only: { model: u.model, dataset: u.dataset } });
  }
  return out;
}

const isGated = (stage: string): stage is GatedStage => (GATED_STAGES as readonly string[]).includes(stage);

/** One skip per stage, or per unit of a stage not skipped whole (a whole-stage skip covers its units). */
function distinctSkips(skips: readonly SkippedStage[]): SkippedStage[] {
  const key = (s: SkippedStage) => `${s.stage}|${s.only ? `${s.only.model}|${s.only.dataset}` : ''}`;
  const whole = new Set(skips.filter((s) => !s.only).map((s) => s.stage));
  const kept = skips.filter((s) => !s.only || !whole.has(s.stage));
  return kept.filter((s, i) => kept.findIndex((x) => key(x) === key(s)) === i);
}

export function loadSide(dir: string, what: 'baseline' | 'report', declared: readonly SkippedStage[] = []): Side {
  const d = discover([dir], { strict: what === 'baseline' });
  checkDerived(d);
  const verifies = ofKind(d, 'verify');
  if (verifies.length > 1)
    throw new GateInputError(
      `${what} ${shown(dir)} holds ${verifies.length} verify.json files (${verifies.map((v) => shown(v.file)).join(', ')}); the gate compares one`,
      dir,
    );
  const skipped = what === 'report' ? [...declaredSkips(d, dir), ...declared] : [];
  return {
    dir,
    verify: verifies[0],
    zones: ofKind(d, 'zones'),
    runs: trainRuns(d.results),
    kinds: new Set(d.results.map((r) => r.kind)),
    files: d.results.map((r) => r.file),
    skipped: distinctSkips(skipped),
    foreign: d.foreign,
    notes: d.notes,
  };
}

/** The declared skip of a whole stage, if any. */
export const skipOf = (side: Side, stage: GatedStage): SkippedStage | undefined => side.skipped.find((s) => s.stage === stage && !s.only);

/** Whether a declared skip covers a network of the zones stage: the whole stage, or that network's unit. */
export const skipCovers = (s: SkippedStage, net: { readonly model: string; readonly dataset: string }): boolean =>
  s.stage === 'zones' && (!s.only || (s.only.model === net.model && s.only.dataset === net.dataset));

/** The declared skip that leaves out a network (its zones.json config's model and data set), if any. */
export const zonesSkipOf = (side: Side, net: { readonly model: string; readonly dataset: string }): SkippedStage | undefined =>
  side.skipped.find((s) => skipCovers(s, net));

/** A folder that must exist: GateInputError naming it otherwise. */
export function requireDir(dir: string, what: string, hint = ''): void {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new GateInputError(`${what} directory ${shown(dir)} does not exist${hint}`, dir);
}

/** The report side, refused when it holds no result at all. */
export function loadReport(dir: string, declared: readonly SkippedStage[] = []): Side {
  requireDir(dir, 'report');
  const rep = loadSide(dir, 'report', declared);
  if (!rep.kinds.size) throw new GateInputError(`no result files (verify.json, zones.json, train results) under ${shown(dir)}`, dir);
  return rep;
}

/** The lone-MaxPool generators: the thresholds' list, else decided from the generator registry. */
export async function loneOf(t: Thresholds | undefined, sides: readonly (Side | undefined)[]): Promise<string[]> {
  if (t?.verify.loneMaxPoolGenerators) return [...t.verify.loneMaxPoolGenerators];
  return loneMaxPoolGenerators(sides.flatMap((s) => s?.verify?.data.generators ?? []));
}
