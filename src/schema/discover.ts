/**
 * Find the result files a directory holds: every *.json (a few levels down) whose `schema` is one
 * of the result kinds, and every metrics.jsonl beside them. JSON files of other schemas (the
 * counterexample corpus, gate thresholds) and non-adzone JSON are skipped; a result file that fails
 * its schema is an error (SchemaError), never skipped silently.
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, type Stats, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { kindOfSchemaId, type ReadResult, type ResultKind, type ResultTypes, readResult, SchemaError } from './index.ts';

export interface MetricsFile {
  readonly file: string;
  readonly dir: string;
  readonly lines: readonly Record<string, unknown>[];
}

export interface Discovered {
  readonly roots: readonly string[];
  readonly results: readonly ReadResult[];
  readonly metrics: readonly MetricsFile[];
}

const SKIP_DIRS = new Set(['node_modules', '.git', 'counterexamples']);
const MAX_DEPTH = 4;

function head(file: string, n = 400): string {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(n);
    const got = readSync(fd, buf, 0, n, 0);
    return buf.subarray(0, got).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

function walk(dir: string, depth: number, out: string[]): void {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return;
  }
  for (const n of names) {
    if (n.startsWith('.')) continue;
    const p = join(dir, n);
    let st: Stats;
    try {
      st = statSync(p);
    } catch {
      continue;
    }
    if (st.isDirectory()) {
      if (depth < MAX_DEPTH && !SKIP_DIRS.has(n)) walk(p, depth + 1, out);
    } else if (n.endsWith('.json') || n.endsWith('.jsonl')) out.push(p);
  }
}

/**
 * Parse metrics.jsonl: one object a line; a bad line is an error naming its line number, except a
 * last line without its newline that does not parse: the line a run killed mid-write left cut
 * (the run's checkpoint holds it whole, and a resumed run rewrites the file), which is skipped.
 */
export function readMetrics(file: string): MetricsFile {
  const lines: Record<string, unknown>[] = [];
  const text = readFileSync(file, 'utf8');
  const all = text.split('\n');
  all.forEach((l, i) => {
    if (!l.trim()) return;
    let o: unknown;
    try {
      o = JSON.parse(l);
    } catch {
      if (i === all.length - 1) return; // torn by a kill: no newline after it
      throw new SchemaError(file, `line ${i + 1}`, 'a JSON object', 'text that is not JSON');
    }
    if (typeof o !== 'object' || o === null || Array.isArray(o))
      throw new SchemaError(file, `line ${i + 1}`, 'a JSON object', Array.isArray(o) ? 'an array' : String(o));
    lines.push(o as Record<string, unknown>);
  });
  return { file, dir: dirname(file), lines };
}

/** Every result file under the given directories (or the files themselves). Missing paths throw. */
export function discover(paths: readonly string[]): Discovered {
  const files: string[] = [];
  for (const p of paths) {
    if (!existsSync(p)) throw new SchemaError(p, '$', 'an existing file or directory', 'nothing there', `${p}: no such file or directory`);
    if (statSync(p).isDirectory()) walk(p, 0, files);
    else files.push(p);
  }
  const results: ReadResult[] = [];
  const metrics: MetricsFile[] = [];
  const seen = new Set<string>();
  for (const f of files) {
    if (seen.has(f)) continue;
    seen.add(f);
    if (f.endsWith('.jsonl')) {
      if (basename(f).startsWith('metrics')) metrics.push(readMetrics(f));
      continue;
    }
    const m = /"schema"\s*:\s*"([^"]+)"/.exec(head(f));
    if (!m?.[1].startsWith('adzone/') || !kindOfSchemaId(m[1])) continue;
    results.push(readResult(f));
  }
  return { roots: paths, results, metrics };
}

export function ofKind<K extends ResultKind>(d: Discovered, kind: K): ReadResult<K>[] {
  return d.results.filter((r): r is ReadResult<K> => r.kind === kind);
}

/** A path for messages: relative to the working directory when shorter. */
export function shown(file: string): string {
  const r = relative(process.cwd(), file);
  return r && !r.startsWith('..') && r.length < file.length ? r : file;
}

export type { ResultTypes };
