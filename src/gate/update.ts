/**
 * `adzone gate --update`: rewrite the baseline from a report, on purpose. Each file is written
 * atomically (temp file + rename) after validation; result files of the old baseline that the new
 * one does not replace are removed; thresholds.json is kept (a default one is written when there
 * is none). Returns the lines saying what changed.
 */
import { existsSync, unlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { shown } from '../schema/discover.ts';
import { writeResult, type AblateJson } from '../schema/index.ts';
import { accuracyByBeta, configKey, recipeKey, type RunRow } from '../schema/runs.ts';
import { compactCounts } from '../report/html/format.ts';
import type { Side } from './compare.ts';
import { defaultThresholds } from './thresholds.ts';

const pc = (x: number) => `${(100 * x).toFixed(1)}%`;

function verifyChanges(old: Side | undefined, rep: Side): string[] {
  const out: string[] = [];
  const n = rep.verify!.data;
  const o = old?.verify?.data;
  if (!o) return [`verify: new baseline from ${shown(rep.verify!.file)} (${n.table.length} rows)`];
  if (o.seed !== n.seed || o.samples !== n.samples) out.push(`verify: seed ${o.seed} → ${n.seed}, samples ${o.samples} → ${n.samples}`);
  const key = (r: { generator: string; backend: string; precision: string }) => `${r.generator} ${r.backend} ${r.precision}`;
  const om = new Map(o.table.map((r) => [key(r), r]));
  const nm = new Map(n.table.map((r) => [key(r), r]));
  for (const [k, r] of nm) {
    const p = om.get(k);
    if (!p) out.push(`verify: row added: ${k}: ${compactCounts(r)} of ${r.n}`);
    else if (compactCounts(p) !== compactCounts(r) || p.n !== r.n || p.inconsistent !== r.inconsistent) {
      out.push(
        `verify: ${k}: ${compactCounts(p)} of ${p.n} → ${compactCounts(r)} of ${r.n} (non-regular ${pc(p.nonRegularShare)} → ${pc(r.nonRegularShare)}${p.inconsistent !== r.inconsistent ? `, inconsistent ${p.inconsistent} → ${r.inconsistent}` : ''})`,
      );
    }
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
  for (const x of accuracyByBeta(runs)) {
    const p = a.get(x.key);
    if (!p) out.push(`train: added ${x.config.model}/${x.config.dataset} ${x.label} β=${x.beta}: ${(100 * x.mean).toFixed(2)}%`);
    else if (Math.abs(p.mean - x.mean) > 1e-9)
      out.push(
        `train: ${x.config.model}/${x.config.dataset} ${x.label} β=${x.beta}: ${(100 * p.mean).toFixed(2)}% → ${(100 * x.mean).toFixed(2)}%`,
      );
  }
  for (const [k, p] of a)
    if (!accuracyByBeta(runs).some((x) => x.key === k))
      out.push(`train: removed ${p.config.model}/${p.config.dataset} ${p.label} β=${p.beta}`);
  return out;
}

export async function updateBaseline(baselineDir: string, old: Side | undefined, rep: Side, lone: readonly string[]): Promise<string[]> {
  const dir = resolve(baselineDir);
  const lines: string[] = [];
  const written = new Set<string>();
  if (rep.verify) {
    lines.push(...verifyChanges(old, rep));
    const f = join(dir, 'verify.json');
    writeResult(f, 'verify', rep.verify.data);
    written.add(f);
  }
  for (const z of rep.zones) {
    const c = z.data.config;
    const f = join(dir, 'zones', `${c.model}-${c.variant}-${c.dataset}.json`.replace(/[^\w.-]+/g, '_'));
    const prev = old?.zones.find(
      (x) => x.data.config.model === c.model && x.data.config.variant === c.variant && x.data.config.dataset === c.dataset,
    );
    const shares = (zz: typeof z) =>
      zz.data.precisions.map((p) => `${p.precision}: ${p.summary.exactShare === null ? '—' : pc(p.summary.exactShare)}`).join(', ');
    lines.push(
      prev
        ? `zones: ${c.model}/${c.dataset} exact share in zone ${shares(prev)} → ${shares(z)}`
        : `zones: added ${c.model}/${c.dataset} (${shares(z)})`,
    );
    writeResult(f, 'zones', z.data);
    written.add(f);
  }
  if (rep.runs.length) {
    lines.push(...trainChanges(old?.runs ?? [], rep.runs));
    const f = join(dir, 'train', 'ablate.json');
    const ablate: AblateJson = {
      schema: 'adzone/ablate',
      schemaVersion: 1,
      command: `adzone gate --update (collected from ${shown(rep.dir)})`,
      createdAt: new Date().toISOString(),
      runs: [...rep.runs]
        .sort(
          (a, b) =>
            configKey(a).localeCompare(configKey(b)) ||
            recipeKey(a.recipe).localeCompare(recipeKey(b.recipe)) ||
            a.beta - b.beta ||
            a.seed - b.seed,
        )
        // the config goes along, so the baseline keeps each run's recipe (runs are compared only when trained alike)
        .map((r) => ({
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
    writeResult(f, 'ablate', ablate);
    written.add(f);
  }
  for (const f of old?.files ?? []) {
    if (!written.has(resolve(f)) && existsSync(f)) {
      unlinkSync(f);
      lines.push(`removed ${shown(f)} (the report has no counterpart)`);
    }
  }
  const th = join(dir, 'thresholds.json');
  if (!existsSync(th)) {
    writeResult(th, 'gate-thresholds', defaultThresholds(lone));
    lines.push(`wrote default ${shown(th)}`);
  }
  return lines;
}
