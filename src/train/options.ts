/**
 * Train options written as text or as plain scalars: a command line's `--batch-size 64`, a grid
 * file's `batch-size: 64` or `batchSize: 64`. One table names every option (the command line's
 * kebab-case name) and the TrainConfig field it sets, and turns its value into that field's type;
 * the ranges and combinations are checked once, by resolveTrainConfig (./config.ts). Errors are
 * ConfigErrors naming the field; each caller reports them under its own name for the option.
 */
import { ConfigError } from '../util/errors.ts';
import type { TrainOptions } from './config.ts';

export type OptionValue = string | number | boolean;

type Kind = 'text' | 'number' | 'boolean' | 'width' | 'lossScale' | 'precision' | 'limit';

/** Option name (as on the command line, without --) → the field it sets and how its value reads. */
export const TRAIN_OPTIONS: Readonly<Record<string, { readonly field: keyof TrainOptions; readonly kind: Kind }>> = {
  model: { field: 'model', kind: 'text' },
  dataset: { field: 'dataset', kind: 'text' },
  beta: { field: 'beta', kind: 'number' },
  'beta-mode': { field: 'betaMode', kind: 'text' },
  'relu-alpha': { field: 'reluAlpha', kind: 'number' },
  precision: { field: 'precision', kind: 'precision' },
  mode: { field: 'mode', kind: 'text' },
  backend: { field: 'backend', kind: 'text' },
  device: { field: 'device', kind: 'text' },
  epochs: { field: 'epochs', kind: 'number' },
  'batch-size': { field: 'batchSize', kind: 'number' },
  optimizer: { field: 'optimizer', kind: 'text' },
  lr: { field: 'lr', kind: 'number' },
  momentum: { field: 'momentum', kind: 'number' },
  'weight-decay': { field: 'weightDecay', kind: 'number' },
  'lr-schedule': { field: 'lrSchedule', kind: 'text' },
  'master-weights': { field: 'masterWeights', kind: 'text' },
  'loss-scale': { field: 'lossScale', kind: 'lossScale' },
  'batch-norm': { field: 'batchNorm', kind: 'boolean' },
  width: { field: 'width', kind: 'width' },
  stem: { field: 'stem', kind: 'text' },
  augment: { field: 'augment', kind: 'boolean' },
  seed: { field: 'seed', kind: 'number' },
  'limit-train': { field: 'limitTrain', kind: 'limit' },
  'limit-test': { field: 'limitTest', kind: 'limit' },
  'log-every': { field: 'logEvery', kind: 'number' },
};

/** The option name of a field (`batchSize` → `batch-size`). */
export const optionName = (field: string): string => field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function number(field: string, v: OptionValue): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && NUMBER.test(v.trim())) return Number(v.trim());
  throw new ConfigError(field, `\`${field}\` must be a number, got ${JSON.stringify(v)}`);
}

/** A channel multiplier: a number, or a fraction such as 1/4. */
function width(v: OptionValue): number {
  const m = typeof v === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(\d+(?:\.\d+)?))?\s*$/.exec(v) : null;
  const w = typeof v === 'number' ? v : m ? Number(m[1]) / (m[2] === undefined ? 1 : Number(m[2])) : NaN;
  if (!(w > 0 && Number.isFinite(w)))
    throw new ConfigError(
      'width',
      `\`width\` must be a positive number such as 0.25 or 1/4 (a channel multiplier), got ${JSON.stringify(v)}`,
    );
  return w;
}

function read(field: keyof TrainOptions, kind: Kind, v: OptionValue): unknown {
  switch (kind) {
    case 'text':
      return String(v);
    case 'number':
      return number(field, v);
    case 'limit':
      return number(field, v);
    case 'boolean':
      if (typeof v !== 'boolean') throw new ConfigError(field, `\`${field}\` must be true or false, got ${JSON.stringify(v)}`);
      return v;
    case 'width':
      return width(v);
    case 'lossScale':
      return v === 'none' || v === 'dynamic' ? v : number(field, v);
    case 'precision':
      return String(v);
  }
}

/**
 * The options these named values set: `{ 'batch-size': '64', augment: false }` → `{ batchSize: 64,
 * augment: false }`. Names are the command line's (`batch-size`) or the fields' (`batchSize`);
 * `no-augment: true` is `augment: false`. An unknown name is a ConfigError whose field is that name.
 */
export function trainOptionsFrom(values: Readonly<Record<string, OptionValue>>): TrainOptions {
  const out: Record<string, unknown> = {};
  const names = Object.keys(values).map(optionName);
  if (names.includes('augment') && names.includes('no-augment'))
    throw new ConfigError('augment', '`augment` and `no-augment` contradict each other; keep one');
  for (const [raw, v] of Object.entries(values)) {
    const name = optionName(raw);
    if (name === 'no-augment') {
      if (typeof v !== 'boolean') throw new ConfigError('augment', `\`no-augment\` must be true or false, got ${JSON.stringify(v)}`);
      out.augment = !v;
      continue;
    }
    const o = TRAIN_OPTIONS[name];
    if (!o) throw new ConfigError(raw, `unknown train option '${raw}'; the options are ${Object.keys(TRAIN_OPTIONS).join(', ')}`);
    out[o.field] = read(o.field, o.kind, v);
  }
  return out as TrainOptions;
}
