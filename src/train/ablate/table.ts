/**
 * The results table of an ablation: the runs grouped by every axis but the seed, each group's final
 * test accuracy as mean ± sample standard deviation over its seeds, and how many of its runs
 * diverged (NaN/Inf loss or accuracy at chance; such a run still counts with the accuracy of the
 * model it ended with, as the paper's collapsed runs do). Missing runs (not run yet, or in another
 * shard) are counted, never guessed.
 */
import type { TuneJson } from '../../schema/tune.ts';
import type { TrainResult } from '../run.ts';
import type { Cell } from './grid.ts';

/** Axes that are a seed: their values change only `seed`. */
export function seedAxes(cells: readonly Cell[]): Set<string> {
  const out = new Set<string>();
  if (!cells.length) return out;
  for (const axis of Object.keys(cells[0].labels)) {
    const others = cells.filter((c) => c.labels[axis] !== cells[0].labels[axis]);
    if (!others.length) continue;
    const sameBut = (a: Cell, b: Cell) =>
      (Object.keys(a.config) as (keyof Cell['config'])[]).every(
        (k) => k === 'seed' || JSON.stringify(a.config[k]) === JSON.stringify(b.config[k]),
      );
    // every pair differing only in this axis differs only in seed
    const onlySeed = cells.every((a) =>
      cells.every((b) => Object.keys(a.labels).some((x) => x !== axis && a.labels[x] !== b.labels[x]) || sameBut(a, b)),
    );
    if (onlySeed) out.add(axis);
  }
  return out;
}

export interface RunOutcomeRow {
  readonly cell: Cell;
  /** Relative to the ablate.json that lists it. */
  readonly dir: string;
  readonly result: TrainResult;
  /** A tuned cell: its tune.json (relative to the ablate.json) and what it holds. */
  readonly tune?: { readonly file: string; readonly record: TuneJson };
}

export interface TableRow {
  /** Axis → label, seed axes left out. */
  readonly labels: Readonly<Record<string, string>>;
  readonly planned: number;
  readonly finished: number;
  readonly diverged: number;
  /** Runs that ended without any test accuracy. */
  readonly noAccuracy: number;
  /** Over finished runs with a test accuracy; null when there is none. */
  readonly mean: number | null;
  /** Sample standard deviation (n − 1); null below two accuracies. */
  readonly std: number | null;
  readonly min: number | null;
  readonly max: number | null;
  readonly accuracies: readonly (number | null)[];
  readonly meanEpochSeconds: number | null;
  /** Tuned cells: the lr each run's search chose (null for a run not tuned), in the order of `accuracies`. */
  readonly lrs?: readonly (number | null)[];
}

export function summarise(cells: readonly Cell[], done: readonly RunOutcomeRow[]): { seedAxes: string[]; rows: TableRow[] } {
  const seeds = seedAxes(cells);
  const groupKey = (c: Cell) =>
    Object.entries(c.labels)
      .filter(([a]) => !seeds.has(a))
      .map(([a, l]) => `${a}=${l}`)
      .join('|');
  const byCell = new Map(done.map((d) => [d.cell.id, d]));
  const groups = new Map<string, Cell[]>();
  for (const c of cells) {
    const k = groupKey(c);
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(c);
  }
  const rows: TableRow[] = [];
  for (const members of groups.values()) {
    const results = members.map((c) => byCell.get(c.id)).filter((d): d is RunOutcomeRow => d !== undefined);
    const accs = results.map((r) => r.result.finalTestAcc);
    const finite = accs.filter((a): a is number => a !== null);
    const mean = finite.length ? finite.reduce((s, a) => s + a, 0) / finite.length : null;
    const std =
      finite.length >= 2 && mean !== null ? Math.sqrt(finite.reduce((s, a) => s + (a - mean) ** 2, 0) / (finite.length - 1)) : null;
    const epochSecs = results.flatMap((r) => r.result.timings.epochSeconds);
    rows.push({
      labels: Object.fromEntries(Object.entries(members[0].labels).filter(([a]) => !seeds.has(a))),
      planned: members.length,
      finished: results.length,
      diverged: results.filter((r) => r.result.status === 'diverged').length,
      noAccuracy: accs.filter((a) => a === null).length,
      mean,
      std,
      min: finite.length ? Math.min(...finite) : null,
      max: finite.length ? Math.max(...finite) : null,
      accuracies: accs,
      meanEpochSeconds: epochSecs.length ? epochSecs.reduce((s, x) => s + x, 0) / epochSecs.length : null,
      ...(members.some((c) => c.tune) ? { lrs: results.map((r) => r.tune?.record.chosen?.lr ?? null) } : {}),
    });
  }
  return { seedAxes: [...seeds], rows };
}

const pct = (x: number | null) => (x === null ? '—' : `${(100 * x).toFixed(2)}`);

const lrText = (lrs: readonly (number | null)[] | undefined) =>
  !lrs?.length ? '—' : [...new Set(lrs.map((x) => (x === null ? '—' : String(x))))].join(', ');

const TUNED_NOTE =
  "lr chosen: each cell's learning-rate search (runs/<cell>/tune.json: every trial's lr and per-epoch validation accuracy) " +
  'chose it on a validation split carved from the train split, never on the test split; the accuracy is the final run with that lr ' +
  '(runs/<cell>/final), trained on the whole train split and evaluated on the test split.';

/** The table as Markdown (accuracies in %). */
export function tableMarkdown(o: {
  name: string;
  description: string;
  hash: string;
  cells: readonly Cell[];
  rows: readonly TableRow[];
  seedAxes: readonly string[];
  missing: readonly string[];
  command: string;
}): string {
  const axes = o.cells.length ? Object.keys(o.cells[0].labels).filter((a) => !o.seedAxes.includes(a)) : [];
  const L: string[] = [];
  L.push(`# Ablation ${o.name}`, '');
  if (o.description) L.push(o.description, '');
  const finished = o.cells.length - o.missing.length;
  L.push(
    `Grid ${o.hash}: ${o.cells.length} runs, ${finished} finished${o.missing.length ? `, ${o.missing.length} missing` : ''}. Written by \`${o.command}\`.`,
    '',
  );
  const seedNote = o.seedAxes.length ? ` over ${o.seedAxes.join(', ')}` : '';
  const tuned = o.rows.some((r) => r.lrs);
  const lrCol = tuned ? ['lr chosen'] : [];
  L.push(`| ${[...axes, ...lrCol, `test accuracy % (mean ± std${seedNote})`, 'min – max', 'runs', 'diverged', 's/epoch'].join(' | ')} |`);
  L.push(`| ${[...axes, ...lrCol, '', '', '', '', ''].map(() => '---').join(' | ')} |`);
  for (const r of o.rows) {
    const acc = r.mean === null ? '—' : `${pct(r.mean)}${r.std === null ? '' : ` ± ${pct(r.std)}`}`;
    const range = r.min === null ? '—' : r.min === r.max ? pct(r.min) : `${pct(r.min)} – ${pct(r.max)}`;
    const runs = r.finished === r.planned ? `${r.finished}` : `${r.finished} of ${r.planned}`;
    const div = r.diverged ? `${r.diverged}${r.noAccuracy ? ` (${r.noAccuracy} without accuracy)` : ''}` : '0';
    L.push(
      `| ${[...axes.map((a) => r.labels[a]), ...(tuned ? [lrText(r.lrs)] : []), acc, range, runs, div, r.meanEpochSeconds === null ? '—' : r.meanEpochSeconds.toFixed(0)].join(' | ')} |`,
    );
  }
  if (tuned) L.push('', TUNED_NOTE);
  if (o.missing.length) L.push('', `Missing runs: ${o.missing.join(', ')}.`);
  L.push('');
  return L.join('\n');
}
