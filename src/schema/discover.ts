/**
 * Find the files a directory holds and read every one: every *.json at any depth is either a valid
 * adzone file (a result kind, or one of the files around results: thresholds, grids, nightly
 * plans), a named error (SchemaError: empty, not JSON, not an object, an unknown `schema`, a file
 * named like an adzone file without one, a field that fails its schema), or, outside a strict
 * folder, a foreign JSON document (an object with no `schema` field and a name no adzone writer
 * uses, e.g. vitest's JSON report in a nightly folder), which is listed and never read. Nothing is
 * skipped silently: the whole file is parsed (never a prefix), so key order does not matter.
 *
 * metrics*.jsonl files are read line by line; a bad line is an error naming its number, except a
 * cut last line (no newline after it: a write torn by a crash or a copy in progress), which is
 * dropped with a note.
 */
import { existsSync, readdirSync, readFileSync, realpathSync, type Stats, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import {
  FILE_KINDS,
  type FileKind,
  type FileTypes,
  kindOfSchemaId,
  parseResult,
  type ReadResult,
  type ResultKind,
  type ResultTypes,
  SCHEMAS,
  SchemaError,
} from './index.ts';

export interface MetricsFile {
  readonly file: string;
  readonly dir: string;
  readonly lines: readonly Record<string, unknown>[];
}

/** An adzone file that is not a result (thresholds.json, grid.json, plan.json, nightly.json, …), validated. */
export interface OtherFile<K extends FileKind = FileKind> {
  readonly kind: K;
  readonly file: string;
  readonly data: FileTypes[K];
}

export interface Discovered {
  readonly roots: readonly string[];
  readonly results: readonly ReadResult[];
  readonly metrics: readonly MetricsFile[];
  /** The other adzone files found, each valid. */
  readonly others: readonly OtherFile[];
  /** JSON and JSONL documents that are not adzone files: listed, never read. */
  readonly foreign: readonly string[];
  /** What was tolerated, one line each (a cut last line of a metrics.jsonl). */
  readonly notes: readonly string[];
}

export interface DiscoverOptions {
  /**
   * Refuse foreign JSON too (a gate baseline, which only `adzone gate --update` writes): every
   * .json must be an adzone file.
   */
  readonly strict?: boolean;
}

/** Folders never entered: dependencies, version control, and the counterexample corpus (not results). */
const SKIP_DIRS = new Set(['node_modules', '.git', 'counterexamples']);

/** The file names adzone's writers use: a file of one of these names must be an adzone file. */
const ADZONE_NAMES = new Set(FILE_KINDS.map((k) => SCHEMAS[k].fileName));

/** Every .json / .jsonl under `dir` (dot files and dot folders are temps and are left alone), following each real folder once. */
function walk(dir: string, out: string[], seen: Set<string>): void {
  const real = realpathSync(dir);
  if (seen.has(real)) return;
  seen.add(real);
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (e) {
    throw new SchemaError(dir, '$', 'a readable folder', 'an unreadable folder', `${dir}: cannot list: ${(e as Error).message}`);
  }
  for (const n of names) {
    if (n.startsWith('.')) continue;
    const p = join(dir, n);
    let st: Stats;
    try {
      st = statSync(p);
    } catch {
      continue; // a dangling link: nothing to read
    }
    if (st.isDirectory()) {
      if (!SKIP_DIRS.has(n)) walk(p, out, seen);
    } else if (n.endsWith('.json') || n.endsWith('.jsonl')) out.push(p);
  }
}

/**
 * Parse metrics.jsonl: one object a line; a bad line is an error naming its number, except a last
 * line without its newline that does not parse: the line a run killed mid-write left cut (the run's
 * checkpoint holds it whole, and a resumed run rewrites the file), dropped with a note.
 */
export function readMetrics(file: string, notes: string[] = []): MetricsFile {
  const text = readFileSync(file, 'utf8');
  const raw = text.split('\n');
  const lines: Record<string, unknown>[] = [];
  raw.forEach((l, i) => {
    if (!l.trim()) return;
    const last = i === raw.length - 1; // no newline after it
    let o: unknown;
    try {
      o = JSON.parse(l);
    } catch {
      if (last) {
        notes.push(`${shown(file)}: line ${i + 1} is cut (no newline, not JSON: a torn write); read the ${lines.length} lines before it`);
        return;
      }
      throw new SchemaError(file, `line ${i + 1}`, 'a JSON object', 'text that is not JSON');
    }
    if (typeof o !== 'object' || o === null || Array.isArray(o))
      throw new SchemaError(file, `line ${i + 1}`, 'a JSON object', Array.isArray(o) ? 'an array' : String(o));
    lines.push(o as Record<string, unknown>);
  });
  return { file, dir: dirname(file), lines };
}

type Read = { readonly result: ReadResult } | { readonly other: OtherFile } | { readonly foreign: string };

/** The parsed JSON of a file, or a SchemaError naming it (unreadable, empty, not JSON). */
function parseJsonFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new SchemaError(file, '$', 'a readable file', 'an unreadable file', `${file}: cannot read: ${(e as Error).message}`);
  }
  if (!text.trim()) throw new SchemaError(file, '$', 'JSON', 'an empty file', `${file}: empty file (expected an adzone JSON file)`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SchemaError(file, '$', 'JSON', 'text that is not JSON', `${file}: not valid JSON (${(e as Error).message})`);
  }
}

/** One .json file: a result, another adzone file, a foreign document, or a SchemaError. */
function readJsonFile(file: string, strict: boolean): Read {
  const raw = parseJsonFile(file);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new SchemaError(
      file,
      '$',
      'an object with a "schema" field',
      Array.isArray(raw) ? 'an array' : String(raw),
      `${file}: expected an adzone JSON object with a "schema" field, found ${Array.isArray(raw) ? 'an array' : JSON.stringify(raw)}`,
    );
  const o = raw as Record<string, unknown>;
  if (!('schema' in o)) {
    if (strict || ADZONE_NAMES.has(basename(file)))
      throw new SchemaError(
        file,
        '$.schema',
        'an adzone schema id',
        'nothing (the field is missing)',
        `${file}: has no "schema" field; ${strict ? 'this folder holds only adzone files' : `${basename(file)} is an adzone file name`} (expected one of ${FILE_KINDS.map((k) => `'${SCHEMAS[k].id}'`).join(', ')})`,
      );
    return { foreign: file };
  }
  const kind = FILE_KINDS.find((k) => SCHEMAS[k].id === o.schema);
  if (!kind)
    throw new SchemaError(
      file,
      '$.schema',
      `one of ${FILE_KINDS.map((k) => `'${SCHEMAS[k].id}'`).join(', ')}`,
      JSON.stringify(o.schema) ?? 'nothing',
      `${file}: unknown schema ${JSON.stringify(o.schema)} (expected one of ${FILE_KINDS.map((k) => `'${SCHEMAS[k].id}'`).join(', ')})`,
    );
  const r = parseResult(o, file, kind);
  return kindOfSchemaId(o.schema) ? { result: r as ReadResult } : { other: { kind, file, data: r.data } };
}

/** Every result file under the given directories (or the files themselves). Missing paths throw. */
export function discover(paths: readonly string[], options: DiscoverOptions = {}): Discovered {
  const files: string[] = [];
  const seenDirs = new Set<string>();
  for (const p of paths) {
    if (!existsSync(p)) throw new SchemaError(p, '$', 'an existing file or directory', 'nothing there', `${p}: no such file or directory`);
    if (statSync(p).isDirectory()) walk(p, files, seenDirs);
    else files.push(p);
  }
  const results: ReadResult[] = [];
  const metrics: MetricsFile[] = [];
  const others: OtherFile[] = [];
  const foreign: string[] = [];
  const notes: string[] = [];
  for (const f of [...new Set(files)]) {
    if (f.endsWith('.jsonl')) {
      if (basename(f).startsWith('metrics')) metrics.push(readMetrics(f, notes));
      else foreign.push(f);
      continue;
    }
    const r = readJsonFile(f, options.strict === true);
    if ('result' in r) results.push(r.result);
    else if ('other' in r) others.push(r.other);
    else foreign.push(r.foreign);
  }
  if (foreign.length && options.strict)
    throw new SchemaError(
      foreign[0],
      '$',
      'an adzone file',
      'a foreign document',
      `${foreign[0]}: not an adzone file; this folder holds only adzone files`,
    );
  return { roots: paths, results, metrics, others, foreign, notes };
}

export function ofKind<K extends ResultKind>(d: Discovered, kind: K): ReadResult<K>[] {
  return d.results.filter((r): r is ReadResult<K> => r.kind === kind);
}

export function othersOfKind<K extends FileKind>(d: Discovered, kind: K): OtherFile<K>[] {
  return d.others.filter((r): r is OtherFile<K> => r.kind === kind);
}

/** A path for messages: relative to the working directory when shorter. */
export function shown(file: string): string {
  const r = relative(process.cwd(), file);
  return r && !r.startsWith('..') && r.length < file.length ? r : file;
}

/** "a.json, b.json and 3 more". */
export function someFiles(files: readonly string[], max = 3): string {
  const u = [...new Set(files)];
  return `${u.slice(0, max).map(shown).join(', ')}${u.length > max ? ` and ${u.length - max} more` : ''}`;
}

export type { ResultTypes };
