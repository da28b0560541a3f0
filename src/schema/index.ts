/**
 * One versioned schema per kind of result file, and the helpers every writer and reader uses:
 *
 * - `validate(kind, obj, file?)` throws a SchemaError naming the file, the JSON path of the first
 *   bad field and what was expected there;
 * - `writeResult(file, kind, obj)` validates, then writes atomically (what every command should
 *   call instead of writeFileAtomic(toJson(...)) for its result file);
 * - `readResult(file, kind?)` reads, identifies the kind from the `schema` field, brings an older or
 *   newer `schemaVersion` to the current one when a migration exists (or refuses, naming both
 *   versions), validates, and turns 'NaN' / 'Infinity' strings back into numbers.
 *
 * | kind | schema | version | file | writer |
 * | --- | --- | --- | --- | --- |
 * | verify | adzone/verify | 1 | verify.json | src/cli/main.ts verify |
 * | zones | adzone/zones | 1 | zones.json | src/cli/commands/zones.ts |
 * | bench | adzone/bench | 2 | results.json | src/bench/run.ts |
 * | train | adzone/train | 1 | result.json | src/train/ |
 * | ablate | adzone/ablate | 1 | ablate.json | src/train/ |
 */
import { readFileSync } from 'node:fs';
import { toJson, writeFileAtomic } from '../util/atomic.ts';
import type { ZonesReport } from '../report/zonesMarkdown.ts';
import { check, SchemaError, type Shape } from './shape.ts';
import { verifyShape, type VerifyJson } from './verify.ts';
import { zonesShape } from './zones.ts';
import { benchShape, type BenchJson } from './bench.ts';
import { ablateShape, trainShape, type AblateJson, type TrainJson } from './train.ts';

export { SchemaError } from './shape.ts';
export type { VerifyJson } from './verify.ts';
export type { BenchJson, BenchRowJson } from './bench.ts';
export type { AblateJson, AblateRun, TrainJson, TrainRunKey } from './train.ts';
export type { ZonesReport } from '../report/zonesMarkdown.ts';

export interface ResultTypes {
  verify: VerifyJson;
  zones: ZonesReport;
  bench: BenchJson;
  train: TrainJson;
  ablate: AblateJson;
}
export type ResultKind = keyof ResultTypes;

/** A step from one schemaVersion to another (usually the next one up, or down for a newer file that only added fields). */
export interface Migration {
  readonly from: number;
  readonly to: number;
  readonly note: string;
  readonly migrate: (o: Record<string, unknown>) => Record<string, unknown>;
}

export interface ResultSchema {
  readonly kind: ResultKind;
  readonly id: string;
  readonly version: number;
  /** The file name the writer uses. */
  readonly fileName: string;
  readonly shape: Shape;
  readonly migrations: readonly Migration[];
}

export const SCHEMAS: Readonly<Record<ResultKind, ResultSchema>> = {
  verify: { kind: 'verify', id: 'adzone/verify', version: 1, fileName: 'verify.json', shape: verifyShape, migrations: [] },
  zones: { kind: 'zones', id: 'adzone/zones', version: 1, fileName: 'zones.json', shape: zonesShape, migrations: [] },
  bench: { kind: 'bench', id: 'adzone/bench', version: 2, fileName: 'results.json', shape: benchShape, migrations: [] },
  train: { kind: 'train', id: 'adzone/train', version: 1, fileName: 'result.json', shape: trainShape, migrations: [] },
  ablate: { kind: 'ablate', id: 'adzone/ablate', version: 1, fileName: 'ablate.json', shape: ablateShape, migrations: [] },
};
export const RESULT_KINDS = Object.keys(SCHEMAS) as ResultKind[];

export function kindOfSchemaId(id: unknown): ResultKind | undefined {
  return RESULT_KINDS.find((k) => SCHEMAS[k].id === id);
}

/** Validate a result object of `kind` (current version); throws SchemaError on the first bad field. */
export function validate<K extends ResultKind>(kind: K, o: unknown, file = `(${SCHEMAS[kind].fileName})`): asserts o is ResultTypes[K] {
  check(SCHEMAS[kind].shape, o, file);
}

/** Validate, then write as JSON atomically (temp file + rename). */
export function writeResult<K extends ResultKind>(file: string, kind: K, o: unknown): void {
  validate(kind, o, file);
  writeFileAtomic(file, toJson(o));
}

/**
 * Bring a parsed object of `kind` from its schemaVersion to the current one by following the
 * registered migrations; refuses with a message naming both versions when no path exists.
 */
export function migrate(
  kind: ResultKind,
  o: Record<string, unknown>,
  file: string,
): { data: Record<string, unknown>; from?: number; steps: string[] } {
  return migrateWith(SCHEMAS[kind], o, file);
}

/** migrate() against an explicit schema description (its migrations list). */
export function migrateWith(
  s: ResultSchema,
  o: Record<string, unknown>,
  file: string,
): { data: Record<string, unknown>; from?: number; steps: string[] } {
  const v = o.schemaVersion;
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw new SchemaError(file, '$.schemaVersion', 'a whole number', JSON.stringify(v) ?? 'nothing');
  if (v === s.version) return { data: o, steps: [] };
  let cur = o;
  let at = v;
  const steps: string[] = [];
  const seen = new Set<number>([at]);
  while (at !== s.version) {
    // Prefer the step that moves toward the current version.
    const cand = s.migrations.filter((m) => m.from === at).sort((a, b) => Math.abs(s.version - a.to) - Math.abs(s.version - b.to))[0];
    if (!cand || seen.has(cand.to)) {
      const newer = v > s.version;
      throw new SchemaError(
        file,
        '$.schemaVersion',
        `version ${s.version}`,
        `version ${v}`,
        `${file}: schema ${s.id} version ${v} ${newer ? 'was written by a newer adzone' : 'is older'}; this adzone reads version ${s.version}` +
          ` and has no migration from version ${v}${newer ? ' (upgrade adzone to read it)' : ' (re-run the command that wrote it)'}`,
      );
    }
    cur = { ...cand.migrate(cur), schemaVersion: cand.to };
    steps.push(`${at} → ${cand.to}: ${cand.note}`);
    seen.add(cand.to);
    at = cand.to;
  }
  return { data: cur, from: v, steps };
}

export interface ReadResult<K extends ResultKind = ResultKind> {
  readonly kind: K;
  readonly file: string;
  readonly data: ResultTypes[K];
  /** The schemaVersion the file had, when a migration brought it to the current one. */
  readonly migratedFrom?: number;
  readonly migrationSteps?: readonly string[];
}

/** Parse and identify a result file (any kind, or the one asked for), migrate and validate it. */
export function readResult<K extends ResultKind>(file: string, kind?: K): ReadResult<K> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new SchemaError(
      file,
      '$',
      'a readable file',
      (e as NodeJS.ErrnoException).code ?? 'an unreadable file',
      `${file}: cannot read: ${(e as Error).message}`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new SchemaError(file, '$', 'JSON', 'text that is not JSON', `${file}: not valid JSON (${(e as Error).message})`);
  }
  return parseResult(raw, file, kind);
}

/** As readResult, for an object already parsed. The object may be modified (migration, revived numbers). */
export function parseResult<K extends ResultKind>(raw: unknown, file: string, kind?: K): ReadResult<K> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new SchemaError(file, '$', 'an object with a "schema" field', Array.isArray(raw) ? 'an array' : String(raw));
  const o = raw as Record<string, unknown>;
  const found = kindOfSchemaId(o.schema);
  if (!found) {
    const known = RESULT_KINDS.map((k) => `'${SCHEMAS[k].id}'`).join(', ');
    throw new SchemaError(
      file,
      '$.schema',
      kind ? `'${SCHEMAS[kind].id}'` : `one of ${known}`,
      JSON.stringify(o.schema) ?? 'nothing (the field is missing)',
    );
  }
  if (kind && found !== kind)
    throw new SchemaError(
      file,
      '$.schema',
      `'${SCHEMAS[kind].id}'`,
      `'${SCHEMAS[found].id}'`,
      `${file}: expected a ${kind} result (schema ${SCHEMAS[kind].id}), found schema ${SCHEMAS[found].id}`,
    );
  const m = migrate(found, o, file);
  check(SCHEMAS[found].shape, m.data, file, { revive: true });
  return {
    kind: found as K,
    file,
    data: m.data as unknown as ResultTypes[K],
    ...(m.from !== undefined ? { migratedFrom: m.from, migrationSteps: m.steps } : {}),
  };
}
