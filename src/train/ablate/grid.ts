/**
 * An ablation grid: a file (JSON or YAML) naming the train options every run shares (`base`) and the
 * axes whose product gives the runs (`grid`), in the order the runs are made (the last axis varies
 * fastest). Each cell's options become a TrainConfig through the training stage's own option table
 * and checks (src/train/options.ts, config.ts), so a grid can say nothing a run could not; the
 * equivalent `adzone train` command line is kept for people to read, never parsed.
 *
 *   name: lenet5-mnist-sgd
 *   base: { model: lenet5, dataset: mnist, epochs: 3, optimizer: sgd, lr: 0.01 }
 *   grid:
 *     precision:                        # an axis value is an option value ...
 *       - { precision: 16, mode: strict, backend: engine, label: p16-strict }   # ... or a bundle of options
 *       - { precision: 32, mode: strict, backend: engine, label: p32-strict }
 *     beta: [0, 1, 10, 100, 1000, 10000]
 *     seed: [1, 2]
 *
 * A top-level `tune:` block searches the learning rate of every cell (src/train/tune: trials on a
 * validation split carved from the train split, successive halving, then the run with the lr
 * chosen); its fields are the search's (`trials`, `lr-min`, `lr-max`, `rungs`, `eta`,
 * `validation`, `seed`; defaults in src/train/tune/config.ts), and `lr` may then appear nowhere:
 *
 *   tune: { trials: 8, rungs: [5, 10], eta: 3 }
 *
 * `chance-from-epoch: N` (trainRun's chanceFromEpoch, not a config field: it decides when a run at
 * chance is stopped) may appear in base or an axis of a grid without `tune:`; it is part of the hash.
 *
 * Option names are the train command's (`batch-size`, `batch-norm`, …); camelCase (`batchSize`) is
 * read too. Booleans: `batch-norm: true` adds --batch-norm, `augment: false` adds --no-augment.
 * Options about a run's folder and output (`out`, `resume`, `quiet`, `help`) cannot appear: ablate
 * owns those. The cell's identity is its full TrainConfig (defaults filled in); its folder is
 * `runs/<axis>-<label>_…`. A grid has at most MAX_GRID_CELLS cells, counted before any is made.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError, InputError } from '../../util/errors.ts';
import { stringifyExact } from '../checkpoint.ts';
import { resolveTrainConfig, type TrainConfig } from '../config.ts';
import { optionName, trainOptionsFrom } from '../options.ts';
import { prepare } from '../run.ts';
import { resolveTuneSearch, type TuneOptions, type TuneSearch } from '../tune/config.ts';

/** A grid that cannot be run: unreadable, malformed, or a cell no run can be. Unusable input (exit 2). */
export class GridError extends InputError {
  override name = 'GridError';
}

/** The most cells a grid may have (a training grid past this is a typo in an axis, and its grid.json would be huge). */
export const MAX_GRID_CELLS = 10_000;

type Scalar = string | number | boolean;
export type OptionBundle = Readonly<Record<string, Scalar>>;

export interface Grid {
  readonly name: string;
  readonly description: string;
  readonly base: OptionBundle;
  /** The lr search of every cell (the grid's `tune:` block, resolved), or null. */
  readonly tune: TuneSearch | null;
  readonly axes: readonly {
    readonly name: string;
    readonly values: readonly { readonly label: string; readonly options: OptionBundle }[];
  }[];
}

export interface Cell {
  /** 0-based position in grid order. */
  readonly index: number;
  /** The folder name under runs/, from the axis labels. */
  readonly id: string;
  /** Axis name → label of this cell's value. */
  readonly labels: Readonly<Record<string, string>>;
  /** The equivalent `adzone train` (or `adzone tune`) command line (without --out), for people to read. */
  readonly argv: readonly string[];
  /** The run's config; for a tuned cell without lr (the search chooses it). */
  readonly config: CellConfig;
  /** The cell's lr search (the grid's `tune:` block), or null for a plain run. */
  readonly tune: TuneSearch | null;
  /** `chance-from-epoch` (a run option, trainRun's chanceFromEpoch) when the grid sets it. */
  readonly chanceFromEpoch?: number;
}

/** A cell's config: a run's TrainConfig, without lr when the cell searches it. */
export type CellConfig = Omit<TrainConfig, 'lr'> & { readonly lr?: number };

/** Options ablate sets itself; a grid that names one is refused. */
const OWNED = new Set(['out', 'resume', 'quiet', 'help', 'checkpoint-every', 'continue-on-divergence']);

const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

function isScalar(v: unknown): v is Scalar {
  return typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean';
}

function bundle(where: string, v: unknown): OptionBundle {
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new GridError(`${where} must be a mapping of train options (e.g. { precision: 16, mode: strict }), got ${JSON.stringify(v)}`);
  const out: Record<string, Scalar> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (k === 'label') continue;
    const name = kebab(k);
    if (OWNED.has(name))
      throw new GridError(`${where}: '${k}' is set by adzone ablate itself (each cell runs in <out>/runs/<cell>); remove it from the grid`);
    if (!isScalar(x)) throw new GridError(`${where}.${k} must be a number, string or boolean, got ${JSON.stringify(x)}`);
    if (name in out) throw new GridError(`${where}: option '${name}' is given twice`);
    out[name] = x;
  }
  return out;
}

const safeLabel = (s: string) => s.replace(/[^A-Za-z0-9.+-]/g, '_');

/** Parse grid text (JSON or YAML; `file` names it in messages). */
export function parseGrid(text: string, file: string): Grid {
  let raw: unknown;
  try {
    raw = /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new GridError(`${file}: not valid ${/\.json$/i.test(file) ? 'JSON' : 'YAML'}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new GridError(`${file}: a grid is a mapping with 'base' (options every run shares) and 'grid' (axis → list of values)`);
  const r = raw as Record<string, unknown>;
  const unknown = Object.keys(r).filter((k) => !['name', 'description', 'base', 'grid', 'tune'].includes(k));
  if (unknown.length)
    throw new GridError(
      `${file}: unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}; a grid has name, description, base, grid and tune`,
    );
  const tune = r.tune === undefined || r.tune === null ? null : tuneBlock(file, r.tune);
  const name = r.name === undefined ? file.replace(/^.*[\\/]/, '').replace(/\.(json|ya?ml)$/i, '') : r.name;
  if (typeof name !== 'string' || !name) throw new GridError(`${file}: 'name' must be a non-empty string`);
  if (r.description !== undefined && typeof r.description !== 'string') throw new GridError(`${file}: 'description' must be a string`);
  const base = r.base === undefined ? {} : bundle(`${file}: base`, r.base);
  if (r.grid === undefined || r.grid === null || typeof r.grid !== 'object' || Array.isArray(r.grid)) {
    throw new GridError(`${file}: 'grid' must map each axis to a list of values (e.g. beta: [0, 1, 10])`);
  }
  const axes: Grid['axes'][number][] = [];
  for (const [axis, vals] of Object.entries(r.grid as Record<string, unknown>)) {
    const where = `${file}: grid.${axis}`;
    if (!Array.isArray(vals) || vals.length === 0) throw new GridError(`${where} must be a non-empty list of values`);
    const values = vals.map((v, i) => {
      if (isScalar(v)) {
        const opt = kebab(axis);
        if (OWNED.has(opt)) throw new GridError(`${where}: '${axis}' is set by adzone ablate itself; remove the axis`);
        if (opt in base) throw new GridError(`${where}: '${opt}' is both in base and an axis; keep one`);
        return { label: safeLabel(String(v)), options: { [opt]: v } };
      }
      const b = bundle(`${where}[${i}]`, v);
      const lab = (v as Record<string, unknown>).label;
      if (lab !== undefined && (typeof lab !== 'string' || !lab)) throw new GridError(`${where}[${i}].label must be a non-empty string`);
      const clash = Object.keys(b).filter((k) => k in base);
      if (clash.length) throw new GridError(`${where}[${i}]: ${clash.join(', ')} also in base; keep one`);
      return { label: safeLabel(lab ?? Object.values(b).map(String).join('-')), options: b };
    });
    const seen = new Set<string>();
    for (const v of values) {
      if (seen.has(v.label)) throw new GridError(`${where}: two values have the label '${v.label}'; give each a distinct 'label'`);
      seen.add(v.label);
    }
    axes.push({ name: axis, values });
  }
  // an option set by two axes is ambiguous
  const owner = new Map<string, string>();
  for (const a of axes) {
    for (const v of a.values) {
      for (const k of Object.keys(v.options)) {
        const o = owner.get(k);
        if (o !== undefined && o !== a.name)
          throw new GridError(`${file}: option '${k}' is set by both axes '${o}' and '${a.name}'; keep it in one`);
        owner.set(k, a.name);
      }
    }
  }
  if (tune && (owner.has('lr') || 'lr' in base))
    throw new GridError(
      `${file}: 'lr' is set${'lr' in base ? ' in base' : ` by axis '${owner.get('lr')}'`} but the 'tune' block searches it; remove one`,
    );
  return { name, description: (r.description as string | undefined) ?? '', base, tune, axes };
}

const camel = (k: string) => k.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());

/** The grid's `tune:` block as a search's settings (names as `lr-min` or `lrMin`), checked. */
function tuneBlock(file: string, v: unknown): TuneSearch {
  if (typeof v !== 'object' || Array.isArray(v))
    throw new GridError(
      `${file}: 'tune' must be a mapping of search settings (e.g. { trials: 8, rungs: [5, 10] }), got ${JSON.stringify(v)}`,
    );
  const o = Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [camel(k), x])) as TuneOptions;
  try {
    return resolveTuneSearch(o);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    throw new GridError(`${file}: tune.${inGridWords(e.message)}`);
  }
}

export function readGrid(file: string): { grid: Grid; text: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new GridError(
      `cannot read the grid file ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist' : (e as Error).message}`,
    );
  }
  return { grid: parseGrid(text, file), text };
}

function toArgv(opts: OptionBundle): string[] {
  const argv: string[] = [];
  for (const [k, v] of Object.entries(opts)) {
    if (typeof v === 'boolean') {
      if (k === 'augment' || k === 'no-augment') argv.push(v === (k === 'augment') ? '--augment' : '--no-augment');
      else if (v) argv.push(`--${k}`);
    } else if (String(v).startsWith('-')) argv.push(`--${k}=${String(v)}`);
    else argv.push(`--${k}`, String(v));
  }
  return argv;
}

/** A search's settings as `adzone tune` options. */
function tuneArgv(t: TuneSearch): string[] {
  return [
    ...['--trials', String(t.trials), '--lr-min', String(t.lrMin), '--lr-max', String(t.lrMax), '--rungs', t.rungs.join(',')],
    ...['--eta', String(t.eta), '--validation', String(t.validation), '--search-seed', String(t.seed)],
  ];
}

/** How many cells a grid has (computed before making any). */
export function gridSize(grid: Grid): number {
  return grid.axes.reduce((n, a) => n * a.values.length, 1);
}

/** The axis values of cell `index`: the last axis varies fastest. */
function picks(grid: Grid, index: number): { axis: string; label: string; options: OptionBundle }[] {
  const out: { axis: string; label: string; options: OptionBundle }[] = new Array(grid.axes.length);
  let rest = index;
  for (let a = grid.axes.length - 1; a >= 0; a--) {
    const ax = grid.axes[a];
    const v = ax.values[rest % ax.values.length];
    rest = Math.floor(rest / ax.values.length);
    out[a] = { axis: ax.name, label: v.label, options: v.options };
  }
  return out;
}

/** A config error in the grid's words: fields named as the grid names options (`batchSize` → batch-size). */
const inGridWords = (message: string) => message.replace(/`(\w+)`/g, (_m, f: string) => optionName(f));

/**
 * The config of one cell's options, checked as a run's (model and data set fitting included; a
 * tuned cell checked with a stand-in lr, then without it); GridError naming the cell.
 */
function cellConfig(grid: Grid, id: string, opts: OptionBundle, argv: readonly string[], fits: Set<string>): CellConfig {
  try {
    const config = resolveTrainConfig({ ...trainOptionsFrom(opts), ...(grid.tune ? { lr: 1 } : {}) });
    const fit = stringifyExact([config.model, config.dataset, config.width, config.stem, config.batchNorm]);
    if (!fits.has(fit)) {
      prepare(config);
      fits.add(fit);
    }
    if (!grid.tune) return config;
    const { lr: _lr, ...rest } = config;
    return rest;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    throw new GridError(`grid '${grid.name}', cell ${id} (adzone train ${argv.join(' ')}): ${inGridWords(e.message)}`);
  }
}

/**
 * `chance-from-epoch`: the first epoch whose evaluation at chance ends a run (default 2), for nets
 * that sit on a plateau longer (VGG11 without batch norm). A tuned cell's final run has the search's.
 */
function chanceOption(grid: Grid, id: string, v: Scalar): number {
  if (grid.tune)
    throw new GridError(
      `grid '${grid.name}', cell ${id}: chance-from-epoch is the search's (its last rung) in a grid with a 'tune' block; remove it`,
    );
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new GridError(`grid '${grid.name}', cell ${id}: chance-from-epoch must be a whole number ≥ 1, got ${JSON.stringify(v)}`);
  return n;
}

/** Every cell of the grid in order, each checked as a run would be (GridError naming the cell). */
export function expandGrid(grid: Grid): Cell[] {
  const total = gridSize(grid);
  if (total > MAX_GRID_CELLS)
    throw new GridError(
      `grid '${grid.name}' has ${total.toLocaleString('en-US')} cells (${grid.axes.map((a) => `${a.name} ${a.values.length}`).join(' × ')}), more than the ${MAX_GRID_CELLS.toLocaleString('en-US')} adzone ablate runs; split it into several grids`,
    );
  const cells: Cell[] = [];
  const ids = new Map<string, number>();
  const fits = new Set<string>();
  for (let index = 0; index < total; index++) {
    const p = picks(grid, index);
    const opts: Record<string, Scalar> = { ...grid.base };
    for (const x of p) Object.assign(opts, x.options);
    const argv = grid.tune ? [...toArgv(opts), ...tuneArgv(grid.tune)] : toArgv(opts);
    const id = p.map((x) => `${safeLabel(x.axis)}-${x.label}`).join('_') || 'run';
    const { 'chance-from-epoch': chance, ...trainOpts } = opts;
    const chanceFromEpoch = chance === undefined ? undefined : chanceOption(grid, id, chance);
    const config = cellConfig(grid, id, trainOpts, argv, fits);
    const key = stringifyExact(config);
    const dup = ids.get(key);
    if (dup !== undefined)
      throw new GridError(
        `grid '${grid.name}': cells ${cells[dup].id} and ${id} are the same run (every option equal); drop the axis value that changes nothing`,
      );
    ids.set(key, index);
    const labels = Object.fromEntries(p.map((x) => [x.axis, x.label]));
    cells.push({ index, id, labels, argv, config, tune: grid.tune, ...(chanceFromEpoch !== undefined ? { chanceFromEpoch } : {}) });
  }
  return cells;
}

/** A fingerprint of what a grid runs (the cells' configs in order), to tell whether shards belong together. */
export function gridHash(cells: readonly Cell[]): string {
  return createHash('sha256')
    .update(
      stringifyExact(
        cells.map((c) => [
          c.id,
          c.config,
          ...(c.tune ? [c.tune] : []),
          ...(c.chanceFromEpoch ? [{ chanceFromEpoch: c.chanceFromEpoch }] : []),
        ]),
      ),
    )
    .digest('hex')
    .slice(0, 16);
}
