/**
 * One versioned TypeBox schema per kind of JSON file adzone writes or reads, the TypeScript types
 * derived from them, and the helpers every writer and reader uses:
 *
 * - `validate(kind, obj, file?)` throws a SchemaError naming the file, the JSON path of the first
 *   bad field, what was expected there and what was found;
 * - `writeResults([{ file, kind, data }, …])` validates every file exactly as it will be written
 *   (the toJson text, non-finite numbers as strings), then writes them all as one transaction
 *   (src/util/output.ts: temps first, then renames); plain files (a markdown report) may ride along.
 *   `writeResult(file, kind, obj)` is the one-file case. Nothing is written when one file is bad;
 * - `readResult(file, kind?)` reads, identifies the kind from the `schema` field, brings an older or
 *   newer `schemaVersion` to the current one when a migration exists (or refuses, naming both
 *   versions), validates, and turns 'NaN' / 'Infinity' strings back into numbers.
 *
 * | kind | schema | version | file | writer |
 * | --- | --- | --- | --- | --- |
 * | verify | adzone/verify | 1 | verify.json | src/cli/main.ts verify, src/nightly/verify.ts |
 * | zones | adzone/zones | 1 | zones.json | src/cli/commands/zones.ts |
 * | bench | adzone/bench | 2 | results.json | src/bench/run.ts |
 * | train | adzone/train | 1 | result.json | src/train/run.ts |
 * | ablate | adzone/ablate | 1 | ablate.json | src/train/ablate/run.ts, src/nightly/ablation.ts |
 * | ablate-grid | adzone/ablate-grid | 1 | grid.json | src/train/ablate/run.ts |
 * | tune | adzone/tune | 1 | tune.json | src/train/tune/run.ts |
 * | counterexample | adzone/counterexample | 1 | fixtures/counterexamples/*.json | src/zones/corpus.ts |
 * | gate-thresholds | adzone/gate-thresholds | 1 | thresholds.json | src/gate/update.ts |
 * | nightly-plan | adzone/nightly-plan | 1 | plan.json | src/cli/commands/nightly.ts |
 * | nightly | adzone/nightly | 1 | nightly.json | src/cli/commands/nightly.ts |
 * | nightly-suites | adzone/nightly-suites | 1 | suites.json | src/cli/commands/nightly.ts |
 *
 * The first five are the result kinds `adzone report` and `adzone gate` read (RESULT_KINDS); the
 * JSON Schemas of all of them are published in schemas/ (`npm run schemas`).
 */
import { existsSync, readFileSync } from 'node:fs';
import type { TSchema } from '@sinclair/typebox';
import { toJson } from '../util/atomic.ts';
import { type OutputFile, writeFilesAtomic } from '../util/output.ts';
import { type BenchJson, BenchSchema } from './bench.ts';
import { checkJson, decodeJson, SchemaError } from './check.ts';
import { type CorpusEntry, CorpusEntrySchema } from './corpus.ts';
import { type Thresholds, ThresholdsSchema } from './gate.ts';
import { type NightlyJson, NightlySchema, type NightlySuitesJson, NightlySuitesSchema, type PlanFile, PlanSchema } from './nightly.ts';
import { type AblateGridJson, AblateGridSchema, type AblateJson, AblateSchema, type TrainJson, TrainSchema } from './train.ts';
import { type TuneJson, TuneSchema } from './tune.ts';
import { type VerifyJson, VerifySchema } from './verify.ts';
import { type ZonesReport, ZonesSchema } from './zones.ts';

export type * from './bench.ts';
export { checkJson, decodeJson, describe, SchemaError } from './check.ts';
export type * from './corpus.ts';
export type * from './gate.ts';
export type * from './nightly.ts';
export type * from './train.ts';
export type * from './tune.ts';
export type * from './verify.ts';
export type * from './zones.ts';

/** What reading each result kind gives. */
export interface ResultTypes {
  verify: VerifyJson;
  zones: ZonesReport;
  bench: BenchJson;
  train: TrainJson;
  ablate: AblateJson;
}
/** Every kind of file with a schema: the result kinds and the files around them. */
export interface FileTypes extends ResultTypes {
  'ablate-grid': AblateGridJson;
  tune: TuneJson;
  counterexample: CorpusEntry;
  'gate-thresholds': Thresholds;
  'nightly-plan': PlanFile;
  nightly: NightlyJson;
  'nightly-suites': NightlySuitesJson;
}
export type ResultKind = keyof ResultTypes;
export type FileKind = keyof FileTypes;

/** A step from one schemaVersion to another (usually the next one up, or down for a newer file that only added fields). */
export interface Migration {
  readonly from: number;
  readonly to: number;
  readonly note: string;
  readonly migrate: (o: Record<string, unknown>) => Record<string, unknown>;
}

export interface ResultSchema {
  readonly kind: FileKind;
  /** The `schema` field of its files, e.g. 'adzone/verify'. */
  readonly id: string;
  readonly version: number;
  /** The file name the writer uses. */
  readonly fileName: string;
  /** One line for the published JSON Schema's title, and what the file is. */
  readonly title: string;
  readonly description: string;
  readonly schema: TSchema;
  readonly migrations: readonly Migration[];
}

const entry = (kind: FileKind, version: number, fileName: string, schema: TSchema, title: string, description: string): ResultSchema => ({
  kind,
  id: `adzone/${kind}`,
  version,
  fileName,
  title,
  description,
  schema,
  migrations: [],
});

export const SCHEMAS: Readonly<Record<FileKind, ResultSchema>> = {
  verify: entry(
    'verify',
    1,
    'verify.json',
    VerifySchema,
    'adzone verify result',
    'Zone counts of the verification sweep, real ties and minimal counterexamples (adzone verify).',
  ),
  zones: entry(
    'zones',
    1,
    'zones.json',
    ZonesSchema,
    'adzone zones result',
    'Network zones per mini-batch: the threshold estimator against the exact unit-by-unit classification (adzone zones).',
  ),
  bench: entry(
    'bench',
    2,
    'results.json',
    BenchSchema,
    'adzone bench result',
    'Speed and memory per measurement, ratios and target verdicts (adzone bench).',
  ),
  train: entry(
    'train',
    1,
    'result.json',
    TrainSchema,
    'adzone train result',
    'One training run: its config, per-epoch metrics, accuracy, timings and data (adzone train).',
  ),
  ablate: entry(
    'ablate',
    1,
    'ablate.json',
    AblateSchema,
    'adzone ablate result',
    'A grid of training runs summarised: one entry per run, with its config (adzone ablate, adzone nightly).',
  ),
  'ablate-grid': entry(
    'ablate-grid',
    1,
    'grid.json',
    AblateGridSchema,
    'adzone ablate grid',
    "The grid an ablation folder runs: its source, a hash of its cells and every cell's full training config.",
  ),
  tune: entry(
    'tune',
    1,
    'tune.json',
    TuneSchema,
    'adzone tune result',
    'A learning-rate search of one training config: every trial (lr, per-epoch validation accuracy and loss, pruned or diverged), the lr chosen on the validation split and the final run trained with it (adzone tune, adzone ablate with a tune block).',
  ),
  counterexample: entry(
    'counterexample',
    1,
    'counterexample.json',
    CorpusEntrySchema,
    'adzone counterexample',
    'A kept non-regular case: the exact problem, how to regenerate it and the class it had.',
  ),
  'gate-thresholds': entry(
    'gate-thresholds',
    1,
    'thresholds.json',
    ThresholdsSchema,
    'adzone gate thresholds',
    'What may move between a gate baseline and a new report, and by how much.',
  ),
  'nightly-plan': entry(
    'nightly-plan',
    1,
    'plan.json',
    PlanSchema,
    'adzone nightly plan',
    "The nightly's counts per stage, the costs they were fitted from and the estimates.",
  ),
  nightly: entry(
    'nightly',
    1,
    'nightly.json',
    NightlySchema,
    'adzone nightly summary',
    'What the nightly ran, for how long, what it found and the gate verdict.',
  ),
  'nightly-suites': entry(
    'nightly-suites',
    1,
    'suites.json',
    NightlySuitesSchema,
    'adzone nightly property suites',
    "The nightly's run of the property suites: per file its counts, failures and every test case.",
  ),
};
/** The kinds `adzone report` and `adzone gate` read from a folder. */
export const RESULT_KINDS: readonly ResultKind[] = ['verify', 'zones', 'bench', 'train', 'ablate'];
export const FILE_KINDS = Object.keys(SCHEMAS) as FileKind[];

/** The result kind whose files carry this `schema` field, if any (the other file kinds are not results). */
export function kindOfSchemaId(id: unknown): ResultKind | undefined {
  return RESULT_KINDS.find((k) => SCHEMAS[k].id === id);
}

/** The JSON Schema document published for a kind (schemas/<kind>.schema.json). */
export function jsonSchemaOf(kind: FileKind): Record<string, unknown> {
  const s = SCHEMAS[kind];
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: `https://adzone.dev/schemas/${kind}-${s.version}.json`,
    title: s.title,
    description: `${s.description} Schema '${s.id}' version ${s.version}, file ${s.fileName}. Numbers JSON cannot hold (NaN, ±Infinity) are written as the strings 'NaN', 'Infinity', '-Infinity' where a number slot allows them.`,
    ...JSON.parse(JSON.stringify(s.schema)),
  };
}

/** The published JSON Schema files: schemas/<kind>.schema.json for every kind, as `npm run schemas` writes them. */
export function publishedSchemas(): { readonly file: string; readonly text: string }[] {
  return FILE_KINDS.map((k) => ({ file: `${k}.schema.json`, text: `${JSON.stringify(jsonSchemaOf(k), null, 2)}\n` }));
}

/** The JSON form of an object as a writer writes it: toJson's text, parsed back. */
const asWritten = (o: unknown): { text: string; json: unknown } => {
  const text = toJson(o);
  return { text, json: JSON.parse(text) };
};

/**
 * Validate an object of `kind` (current version) as it would be written: non-finite numbers become
 * their strings and undefined fields disappear first. Throws SchemaError on the first bad field.
 */
export function validate<K extends FileKind>(kind: K, o: unknown, file = `(${SCHEMAS[kind].fileName})`): asserts o is FileTypes[K] {
  checkJson(SCHEMAS[kind].schema, asWritten(o).json, file);
}

/** A file for writeResults: a result of a kind (validated), or a plain file written as it is. */
export type ResultEntry = { readonly file: string; readonly kind: FileKind; readonly data: unknown } | OutputFile;

/** Validate every result, then write them all (and the plain files) as one transaction; nothing is written when one is bad. */
export function writeResults(entries: readonly ResultEntry[]): void {
  const files: OutputFile[] = entries.map((e) => {
    if (!('kind' in e)) return e;
    const { text, json } = asWritten(e.data);
    checkJson(SCHEMAS[e.kind].schema, json, e.file);
    return { path: e.file, data: text };
  });
  writeFilesAtomic(files);
}

/** Validate, then write as JSON atomically (temp file + rename). */
export function writeResult<K extends FileKind>(file: string, kind: K, o: unknown): void {
  writeResults([{ file, kind, data: o }]);
}

/**
 * Bring a parsed object of `kind` from its schemaVersion to the current one by following the
 * registered migrations; refuses with a message naming both versions when no path exists.
 */
export function migrate(
  kind: FileKind,
  o: Record<string, unknown>,
  file: string,
): { data: Record<string, unknown>; from?: number; steps: string[] } {
  return migrateWith(SCHEMAS[kind], o, file);
}

function noMigration(s: ResultSchema, v: number, file: string): SchemaError {
  const newer = v > s.version;
  return new SchemaError(
    file,
    '$.schemaVersion',
    `version ${s.version}`,
    `version ${v}`,
    `${file}: schema ${s.id} version ${v} ${newer ? 'was written by a newer adzone' : 'is older'}; this adzone reads version ${s.version}` +
      ` and has no migration from version ${v}${newer ? ' (upgrade adzone to read it)' : ' (re-run the command that wrote it)'}`,
  );
}

/** migrate() against an explicit schema description (its migrations list). */
export function migrateWith(
  s: Pick<ResultSchema, 'id' | 'version' | 'migrations'>,
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
    if (!cand || seen.has(cand.to)) throw noMigration(s as ResultSchema, v, file);
    cur = { ...cand.migrate(cur), schemaVersion: cand.to };
    steps.push(`${at} → ${cand.to}: ${cand.note}`);
    seen.add(cand.to);
    at = cand.to;
  }
  return { data: cur, from: v, steps };
}

export interface ReadResult<K extends FileKind = ResultKind> {
  readonly kind: K;
  readonly file: string;
  readonly data: FileTypes[K];
  /** The schemaVersion the file had, when a migration brought it to the current one. */
  readonly migratedFrom?: number;
  readonly migrationSteps?: readonly string[];
}

/** The text of a file, or a SchemaError saying why it cannot be read. */
function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SchemaError(file, '$', 'a readable file', code ?? 'an unreadable file', `${file}: cannot read: ${(e as Error).message}`);
  }
}

/**
 * A file a resumed run finds beside it, if there: null when absent, else read as readResult reads it,
 * with a SchemaError turned by `invalid` into the caller's error (which says how to recover).
 */
export function readResultIfPresent<K extends FileKind>(file: string, kind: K, invalid: (e: SchemaError) => Error): FileTypes[K] | null {
  if (!existsSync(file)) return null;
  try {
    return readResult(file, kind).data;
  } catch (e) {
    if (!(e instanceof SchemaError)) throw e;
    throw invalid(e);
  }
}

/** Parse and identify a result file (any result kind, or the kind asked for), migrate and validate it. */
export function readResult<K extends FileKind = ResultKind>(file: string, kind?: K): ReadResult<K> {
  const text = readText(file);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new SchemaError(file, '$', 'JSON', 'text that is not JSON', `${file}: not valid JSON (${(e as Error).message})`);
  }
  return parseResult(raw, file, kind);
}

/** The kind a parsed object claims by its `schema` field: any result kind, or exactly `kind` when given. */
function claimedKind(o: Record<string, unknown>, file: string, kind: FileKind | undefined): FileKind {
  const found = kind === undefined ? kindOfSchemaId(o.schema) : FILE_KINDS.find((k) => SCHEMAS[k].id === o.schema);
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
  return found;
}

/** As readResult, for an object already parsed. The data returned is a new object (numbers revived); `raw` may be migrated in place. */
export function parseResult<K extends FileKind = ResultKind>(raw: unknown, file: string, kind?: K): ReadResult<K> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new SchemaError(file, '$', 'an object with a "schema" field', Array.isArray(raw) ? 'an array' : String(raw));
  const found = claimedKind(raw as Record<string, unknown>, file, kind);
  const m = migrate(found, raw as Record<string, unknown>, file);
  const data = decodeJson(SCHEMAS[found].schema, m.data, file) as FileTypes[K];
  return {
    kind: found as K,
    file,
    data,
    ...(m.from !== undefined ? { migratedFrom: m.from, migrationSteps: m.steps } : {}),
  };
}
