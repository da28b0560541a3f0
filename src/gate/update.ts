/**
 * `adzone gate --update`: rewrite the baseline from a report, on purpose, as one transaction. The
 * new baseline is built in full in a temp folder beside the old one (everything of the old one
 * that is not a result file carried over, thresholds.json kept or a default one written, every new
 * result validated as it is written), then swapped in by two renames: the old folder aside, the new
 * one in its place; the old one is removed last. A failure before the swap leaves the old baseline
 * untouched; a failure of the second rename puts the old one back. Result files of a stage the
 * report declares skipped are kept from the old baseline. Returns the lines saying what changed.
 */
import { cpSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { shown } from '../schema/discover.ts';
import { type AblateJson, type ReadResult, type ResultEntry, SchemaError, writeResults } from '../schema/index.ts';
import { accuracyByBeta, configKey, type RunRow, recipeKey } from '../schema/runs.ts';
import { assertWritableDir, tempBeside } from '../util/output.ts';
import { InputError } from '../util/errors.ts';
import { compactCounts } from '../report/html/format.ts';
import { nonRegularShareOf } from './derived.ts';
import { GateInputError, loadReport, loadSide, loneOf, requireDir, type Side, skipOf, zonesSkipOf } from './load.ts';
import { defaultThresholds, readThresholds } from './thresholds.ts';
import { pc } from './verify.ts';

export interface UpdateConfig {
  readonly baseline: string;
  readonly report: string;
  /** A thresholds file to read the lone-MaxPool list from; default `<baseline>/thresholds.json` when it exists. */
  readonly thresholds?: string;
}

export interface UpdateResult {
  readonly baseline: string;
  readonly report: string;
  /** What changed in the compared numbers, one line each. */
  readonly lines: readonly string[];
  /** Said before the lines (the old baseline was unreadable and is replaced). */
  readonly warnings: readonly string[];
}

type Key = { generator: string; backend: string; precision: string };
const key = (r: Key) => `${r.generator} ${r.backend} ${r.precision}`;

function verifyChanges(old: Side | undefined, rep: Side): string[] {
  const n = rep.verify!.data;
  const o = old?.verify?.data;
  if (!o) return [`verify: new baseline from ${shown(rep.verify!.file)} (${n.table.length} rows)`];
  const out: string[] = [];
  if (o.seed !== n.seed || o.samples !== n.samples) out.push(`verify: seed ${o.seed} → ${n.seed}, samples ${o.samples} → ${n.samples}`);
  const om = new Map(o.table.map((r) => [key(r), r]));
  const nm = new Map(n.table.map((r) => [key(r), r]));
  for (const [k, r] of nm) {
    const p = om.get(k);
    if (!p) out.push(`verify: row added: ${k}: ${compactCounts(r)} of ${r.n}`);
    else if (compactCounts(p) !== compactCounts(r) || p.n !== r.n || p.inconsistent !== r.inconsistent)
      out.push(
        `verify: ${k}: ${compactCounts(p)} of ${p.n} → ${compactCounts(r)} of ${r.n} (non-regular ${pc(nonRegularShareOf(p))} → ${pc(nonRegularShareOf(r))}${p.inconsistent !== r.inconsistent ? `, inconsistent ${p.inconsistent} → ${r.inconsistent}` : ''})`,
      );
  }
  for (const k of om.keys()) if (!nm.has(k)) out.push(`verify: row removed: ${k}`);
  for (const t of n.tieRules) {
    const p = o.tieRules.find((x) => x.backend === t.backend);
    if (!p) out.push(`verify: tie rule of ${t.backend} added: '${t.rule}'`);
    else if (p.rule !== t.rule) out.push(`verify: tie rule of ${t.backend}: '${p.rule}' → '${t.rule}'`);
  }
  for (const p of o.tieRules)
    if (!n.tieRules.some((x) => x.backend === p.backend)) out.push(`verify: tie rule of ${p.backend} removed (was '${p.rule}')`);
  return out;
}

function trainChanges(old: readonly RunRow[], runs: readonly RunRow[]): string[] {
  const out: string[] = [];
  const a = new Map(accuracyByBeta(old).map((x) => [x.key, x]));
  const now = accuracyByBeta(runs);
  for (const x of now) {
    const p = a.get(x.key);
    const what = `${x.config.model}/${x.config.dataset} ${x.label} β=${x.beta}`;
    if (!p) out.push(`train: added ${what}: ${(100 * x.mean).toFixed(2)}%`);
    else if (Math.abs(p.mean - x.mean) > 1e-9) out.push(`train: ${what}: ${(100 * p.mean).toFixed(2)}% → ${(100 * x.mean).toFixed(2)}%`);
  }
  for (const [k, p] of a)
    if (!now.some((x) => x.key === k)) out.push(`train: removed ${p.config.model}/${p.config.dataset} ${p.label} β=${p.beta}`);
  return out;
}

const zonesFile = (z: ReadResult<'zones'>) =>
  join('zones', `${z.data.config.model}-${z.data.config.variant}-${z.data.config.dataset}.json`.replace(/[^\w.-]+/g, '_'));

function zonesChanges(old: Side | undefined, rep: Side): string[] {
  const shares = (z: ReadResult<'zones'>) =>
    z.data.precisions
      .map((p) => `${p.precision}: ${p.summary.exactInZone === null ? '—' : pc(p.summary.exactInZone / Math.max(1, p.summary.batches))}`)
      .join(', ');
  return rep.zones.map((z) => {
    const c = z.data.config;
    const prev = old?.zones.find((x) => zonesFile(x) === zonesFile(z));
    return prev
      ? `zones: ${c.model}/${c.dataset} exact share in zone ${shares(prev)} → ${shares(z)}`
      : `zones: added ${c.model}/${c.dataset} (${shares(z)})`;
  });
}

/** The train runs as one ablate.json, each with its config, so the baseline keeps each run's recipe. */
function ablateOf(rep: Side): AblateJson {
  const runs = [...rep.runs].sort(
    (a, b) =>
      configKey(a).localeCompare(configKey(b)) ||
      recipeKey(a.recipe).localeCompare(recipeKey(b.recipe)) ||
      a.beta - b.beta ||
      a.seed - b.seed,
  );
  return {
    schema: 'adzone/ablate',
    schemaVersion: 1,
    command: `adzone gate --update (collected from ${shown(rep.dir)})`,
    createdAt: new Date().toISOString(),
    runs: runs.map((r) => ({
      model: r.model,
      dataset: r.dataset,
      precision: r.precision,
      ...(r.mode ? { mode: r.mode } : {}),
      optimizer: r.optimizer,
      batchNorm: r.batchNorm,
      beta: r.beta,
      seed: r.seed,
      testAccuracy: r.testAccuracy,
      ...(r.config ? { config: r.config } : {}),
    })),
  };
}

/** The result files of the new baseline, relative to it, and the old ones carried over (a stage the report declares skipped). */
function newFiles(
  old: Side | undefined,
  rep: Side,
): { entries: { rel: string; kind: 'verify' | 'zones' | 'ablate'; data: unknown }[]; keep: string[] } {
  const entries: { rel: string; kind: 'verify' | 'zones' | 'ablate'; data: unknown }[] = [];
  if (rep.verify) entries.push({ rel: 'verify.json', kind: 'verify', data: rep.verify.data });
  for (const z of rep.zones) entries.push({ rel: zonesFile(z), kind: 'zones', data: z.data });
  if (rep.runs.length) entries.push({ rel: join('train', 'ablate.json'), kind: 'ablate', data: ablateOf(rep) });
  const keep: string[] = [];
  if (old) {
    if (!rep.verify && skipOf(rep, 'verify') && old.verify) keep.push(old.verify.file);
    // a network the report lacks and declares left out (its stage, or its unit) keeps its baseline file
    const lacks = (z: ReadResult<'zones'>) => !rep.zones.some((r) => zonesFile(r) === zonesFile(z));
    keep.push(...old.zones.filter((z) => lacks(z) && zonesSkipOf(rep, z.data.config)).map((z) => z.file));
    if (!rep.runs.length && skipOf(rep, 'train')) keep.push(...old.runs.map((r) => r.file));
  }
  return { entries, keep: [...new Set(keep)].map((f) => relative(old!.dir, f)) };
}

/** Swap the staged folder in: old aside, new in place, old removed; the old one is put back if the second rename fails. */
function swapIn(stage: string, dir: string): void {
  if (!existsSync(dir)) {
    renameSync(stage, dir);
    return;
  }
  const aside = tempBeside(join(dir, '..', `${basename(dir)}.old`));
  renameSync(dir, aside);
  try {
    renameSync(stage, dir);
  } catch (e) {
    renameSync(aside, dir);
    throw new InputError(`cannot move the new baseline into ${dir}: ${(e as Error).message}; the old one is back in place`, dir);
  }
  rmSync(aside, { recursive: true, force: true });
}

/** The old baseline, or undefined with a warning when it is unreadable (it is being replaced on purpose). */
function readOld(dir: string, warnings: string[]): Side | undefined {
  if (!existsSync(dir)) return undefined;
  requireDir(dir, 'baseline');
  try {
    return loadSide(dir, 'baseline');
  } catch (e) {
    if (!(e instanceof SchemaError || e instanceof GateInputError)) throw e;
    warnings.push(`the old baseline is unreadable (${e.message}); replacing it`);
    return undefined;
  }
}

export async function updateGate(config: UpdateConfig): Promise<UpdateResult> {
  const dir = resolve(config.baseline);
  assertWritableDir(dirname(dir));
  const rep = loadReport(resolve(config.report));
  const warnings: string[] = [];
  const old = readOld(dir, warnings);
  const thFile = resolve(config.thresholds ?? join(dir, 'thresholds.json'));
  const th = existsSync(thFile) ? readThresholds(thFile) : undefined;
  const lone = await loneOf(th, [rep]);
  const lines = [
    ...(rep.verify ? verifyChanges(old, rep) : []),
    ...zonesChanges(old, rep),
    ...(rep.runs.length ? trainChanges(old?.runs ?? [], rep.runs) : []),
  ];
  const { entries, keep } = newFiles(old, rep);
  const stage = tempBeside(dir);
  try {
    mkdirSync(stage);
    if (existsSync(dir)) cpSync(dir, stage, { recursive: true });
    const oldResults = (old?.files ?? []).map((f) => relative(dir, f)).filter((f) => !keep.includes(f));
    for (const f of oldResults) rmSync(join(stage, f), { force: true });
    const files: ResultEntry[] = entries.map((e) => ({ file: join(stage, e.rel), kind: e.kind, data: e.data }));
    if (!existsSync(join(stage, 'thresholds.json'))) {
      files.push({ file: join(stage, 'thresholds.json'), kind: 'gate-thresholds', data: defaultThresholds(lone) });
      lines.push(`wrote default ${shown(join(dir, 'thresholds.json'))}`);
    }
    writeResults(files);
    for (const f of oldResults)
      if (!entries.some((e) => e.rel === f)) lines.push(`removed ${shown(join(dir, f))} (the report has no counterpart)`);
    for (const f of keep) lines.push(`kept ${shown(join(dir, f))} (the report declares its stage skipped)`);
    swapIn(stage, dir);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
  return { baseline: dir, report: rep.dir, lines, warnings };
}
