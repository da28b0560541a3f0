/**
 * The gate's rules for zones.json: every baseline network (model, variant, data set) and each of
 * its precisions must be in the report, measured alike (same batches, seed, split, accumulation);
 * the exact share of batches in a zone, recomputed from the counts, may grow by a margin.
 */
import { shown } from '../schema/discover.ts';
import type { ReadResult } from '../schema/index.ts';
import { GateInputError } from './load.ts';
import type { Thresholds } from './thresholds.ts';
import { pc, pp, type Regression } from './verify.ts';

export type Zones = ReadResult<'zones'>;

export const zonesKey = (z: Zones) => `${z.data.config.model}|${z.data.config.variant}|${z.data.config.dataset}`;
const name = (z: Zones) => `${z.data.config.model} (${z.data.config.variant}) on ${z.data.config.dataset}`;

function checkComparableZones(bz: Zones, rz: Zones): void {
  const bc = bz.data.config;
  const rc = rz.data.config;
  if (
    bc.batches !== rc.batches ||
    bc.batchSize !== rc.batchSize ||
    bc.seed !== rc.seed ||
    bc.split !== rc.split ||
    bc.accumulate !== rc.accumulate
  )
    throw new GateInputError(
      `${shown(rz.file)} is not comparable with ${shown(bz.file)}: ${rc.batches} batches of ${rc.batchSize} (${rc.split}, seed ${rc.seed}, ${rc.accumulate}) in the report, ` +
        `${bc.batches} of ${bc.batchSize} (${bc.split}, seed ${bc.seed}, ${bc.accumulate}) in the baseline; run zones with the baseline's options, or rebaseline with --update`,
      rz.file,
    );
}

/** The exact share of batches in a zone, from the counts (null without exact classification). */
const exactShare = (s: Zones['data']['precisions'][number]['summary']) =>
  s.exactInZone === null ? null : s.batches > 0 ? s.exactInZone / s.batches : 0;

function comparePrecisions(bz: Zones, rz: Zones, t: Thresholds['zones']): Regression[] {
  const out: Regression[] = [];
  for (const bp of bz.data.precisions) {
    const rp = rz.data.precisions.find((p) => p.precision === bp.precision);
    if (!rp) {
      out.push({
        check: 'zones-precision-missing',
        line: `zones precision missing: ${name(bz)} at ${bp.precision} bits is in the baseline but not in ${shown(rz.file)}`,
      });
      continue;
    }
    const a = exactShare(bp.summary);
    const b = exactShare(rp.summary);
    if (a === null) continue;
    if (b === null) {
      out.push({
        check: 'zones-exact-missing',
        line: `exact classification missing: ${name(bz)} at ${bp.precision} bits has one in the baseline, none in ${shown(rz.file)} (${rz.data.config.exact.reason ?? 'no reason given'})`,
      });
      continue;
    }
    if (b - a > t.exactShareMaxIncrease + 1e-12)
      out.push({
        check: 'zones-exact-share',
        line: `exact share of batches in a zone grew: ${name(bz)} at ${bp.precision} bits moved from ${pc(a)} (${bp.summary.exactInZone} of ${bp.summary.batches}) to ${pc(b)} (${rp.summary.exactInZone} of ${rp.summary.batches}) (${pp(b - a)}), allowed ${pp(t.exactShareMaxIncrease)}; look at ${shown(rz.file)} precisions[precision=${bp.precision}].summary and its zones.md`,
      });
  }
  return out;
}

export interface ZonesOutcome {
  readonly regressions: Regression[];
  readonly compared: number;
  /** Baseline networks left out because the report declares the zones stage, or their unit, skipped. */
  readonly notCompared: number;
  /** Those networks. */
  readonly leftOut: readonly Zones[];
}

/** `skipped`: whether the report declares a baseline network it lacks skipped (true: the whole stage). */
export function compareZones(
  base: readonly Zones[],
  rep: readonly Zones[],
  t: Thresholds['zones'],
  skipped: boolean | ((z: Zones) => boolean) = false,
): ZonesOutcome {
  const regressions: Regression[] = [];
  const leftOut: Zones[] = [];
  let compared = 0;
  for (const bz of base) {
    const rz = rep.find((z) => zonesKey(z) === zonesKey(bz));
    if (!rz) {
      if (typeof skipped === 'function' ? skipped(bz) : skipped) leftOut.push(bz);
      else
        regressions.push({
          check: 'zones-network-missing',
          line: `network missing: ${name(bz)} is in the baseline (${shown(bz.file)}) but the report has no zones.json for it`,
        });
      continue;
    }
    checkComparableZones(bz, rz);
    compared++;
    regressions.push(...comparePrecisions(bz, rz, t));
  }
  return { regressions, compared, notCompared: leftOut.length, leftOut };
}
