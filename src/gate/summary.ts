/**
 * What `adzone gate --json` prints on stdout: one JSON object a CI job can act on (the verdict,
 * the exit code, every regression with its rule, the stages left out and the notes), the same
 * whether the gate passed, failed or could not run. Its shape is a TypeBox schema, so a test holds
 * the printed object to it.
 */
import { type Static, Type } from '@sinclair/typebox';
import { shown } from '../schema/discover.ts';
import { oneOf } from '../schema/kit.ts';
import type { GateResult } from './index.ts';

export const GATE_SUMMARY_VERDICTS = ['pass', 'partial', 'regression', 'unusable'] as const;

export const GateSummarySchema = Type.Object(
  {
    schema: Type.Literal('adzone/gate-summary'),
    schemaVersion: Type.Literal(1),
    verdict: oneOf(GATE_SUMMARY_VERDICTS),
    exitCode: Type.Union([Type.Literal(0), Type.Literal(1), Type.Literal(2)]),
    baseline: Type.Union([Type.String(), Type.Null()]),
    report: Type.Union([Type.String(), Type.Null()]),
    thresholds: Type.Union([Type.String(), Type.Null()]),
    regressions: Type.Array(Type.Object({ check: Type.String(), line: Type.String() }, { additionalProperties: false })),
    skipped: Type.Array(
      Type.Object(
        { stage: Type.String(), reason: Type.String(), source: Type.String(), notCompared: Type.Integer({ minimum: 0 }) },
        { additionalProperties: false },
      ),
    ),
    notes: Type.Array(Type.String()),
    /** The one line saying why the gate could not run (verdict 'unusable'), else null. */
    error: Type.Union([Type.String(), Type.Null()]),
  },
  { additionalProperties: false },
);

export type GateSummary = Static<typeof GateSummarySchema>;

export function summaryOf(r: GateResult): GateSummary {
  return {
    schema: 'adzone/gate-summary',
    schemaVersion: 1,
    verdict: r.verdict,
    exitCode: r.verdict === 'regression' ? 1 : 0,
    baseline: shown(r.baseline),
    report: shown(r.report),
    thresholds: shown(r.thresholds),
    regressions: r.regressions.map((x) => ({ check: x.check, line: x.line })),
    skipped: r.skipped.map((s) => ({ stage: s.stage, reason: s.reason, source: s.source, notCompared: s.notCompared })),
    notes: [...r.notes],
    error: null,
  };
}

export function unusableSummary(error: string, paths: { baseline?: string; report?: string; thresholds?: string } = {}): GateSummary {
  return {
    schema: 'adzone/gate-summary',
    schemaVersion: 1,
    verdict: 'unusable',
    exitCode: 2,
    baseline: paths.baseline ? shown(paths.baseline) : null,
    report: paths.report ? shown(paths.report) : null,
    thresholds: paths.thresholds ? shown(paths.thresholds) : null,
    regressions: [],
    skipped: [],
    notes: [],
    error,
  };
}

/** The verdict in one line, as the command prints it last. */
export function verdictLine(r: GateResult): string {
  const where = `${shown(r.report)} against ${shown(r.baseline)}`;
  if (r.verdict === 'regression')
    return `gate: ${r.regressions.length} regression${r.regressions.length > 1 ? 's' : ''} in ${where} (thresholds ${shown(r.thresholds)}); if the change is intended, rerun with --update`;
  if (r.verdict === 'partial')
    return `gate: PARTIAL — every threshold of ${shown(r.thresholds)} holds for ${where}, but not compared: ${r.skipped.map((s) => `${s.stage} (${s.notCompared} baseline item(s); declared skipped in ${s.source}: ${s.reason})`).join('; ')}`;
  return `gate: OK — every threshold of ${shown(r.thresholds)} holds for ${where}`;
}
