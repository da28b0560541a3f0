/**
 * The network-zones stage's config (stage.ts): what a caller sets, the defaults (all here), and
 * the checks that turn it into a resolved run, each bad field a ConfigError in the config's own
 * words. A message names other fields in backticks (`dataset`), so that the command line can put
 * its option names in their place.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { DATASET_NAMES, type DatasetInfo, datasetByName, type Split } from '../../data/index.ts';
import type { Accumulate } from '../../engine/types.ts';
import { isModelName, MODEL_NAMES, type ModelOptions, type ModelSpec, modelSpec, type NetLayer } from '../../models/index.ts';
import { ConfigError } from '../../util/errors.ts';
import { ESTIMATOR_THRESHOLDS } from './estimator.ts';
import { BATCHNORM_UNSUPPORTED } from './graph.ts';

/** The precisions the estimator has thresholds for. */
export const ZONE_PRECISIONS = ['16', '32', '64'] as const;
export type ZonePrecision = (typeof ZONE_PRECISIONS)[number];

export interface NetworkZonesConfig {
  /** lenet5, lenet5-padded, vgg11 or resnet18. */
  readonly model: string;
  /** mnist, cifar10, svhn, imagenet, imagenet-sample: its image shape must fit the model (ResNet18 takes any H×W). */
  readonly dataset: string;
  /** The first N mini-batches of the split, in order. */
  readonly batches: number;
  /** Default 16, 32 and 64. */
  readonly precisions?: readonly string[];
  /** Seed of the untrained parameters initParams(spec, seed). Default 1. */
  readonly seed?: number;
  /** Default 128. */
  readonly batchSize?: number;
  /** Channel multiplier of vgg11 / resnet18. */
  readonly width?: number;
  /** Insert (true) or remove (false) batch norm; with it only the estimator runs. */
  readonly batchNorm?: boolean;
  /** resnet18 only. */
  readonly stem?: 'cifar' | 'imagenet';
  /** Default 'strict'. */
  readonly accumulate?: Accumulate;
  /** ReLU'(0) of the run, in [0, 1]. Default 0. */
  readonly reluAlpha?: number;
  /** Default 'train' where the data set has it, else its only split. */
  readonly split?: Split;
  /** Worker threads; the result does not depend on it. Default: the CPUs, at most 4. */
  readonly jobs?: number;
  /** Called as (batch, precision) tasks finish: first (0, total, 'starting'). */
  readonly onProgress?: (done: number, total: number, what: string) => void;
  /** Log lines (what runs, notes about the data). */
  readonly log?: (line: string) => void;
  /** Recorded in zones.json as tool.adzone. Default: this package's version. */
  readonly version?: string;
  /** Recorded in zones.json: how the run was asked for. Default: this call, `networkZones({...})`. */
  readonly command?: string;
}

export const NETWORK_ZONES_DEFAULTS = {
  precisions: ZONE_PRECISIONS,
  seed: 1,
  batchSize: 128,
  accumulate: 'strict',
  reluAlpha: 0,
  /** Jobs: the CPUs, but at most this many. */
  maxDefaultJobs: 4,
} as const;

/** What one (batch, precision) task needs to rebuild its context anywhere (a worker thread included). */
export interface TaskConfig {
  readonly model: string;
  readonly modelOptions: ModelOptions;
  readonly seed: number;
  readonly accumulate: Accumulate;
  readonly reluAlpha: number;
  /** Exact classification runs (no batch norm). */
  readonly exact: boolean;
}

export interface ResolvedNetworkZones {
  readonly task: TaskConfig;
  readonly spec: ModelSpec;
  readonly info: DatasetInfo;
  readonly split: Split;
  readonly batchSize: number;
  readonly batches: number;
  /** Ascending. */
  readonly precisions: readonly ZonePrecision[];
  readonly jobs: number;
  /** Said in zones.json and zones.md. */
  readonly notes: readonly string[];
  /** Why exact classification does not run, or null. */
  readonly exactReason: string | null;
  readonly onProgress: (done: number, total: number, what: string) => void;
  readonly log: (line: string) => void;
  readonly version: string;
  readonly command: string;
}

/** Check a config and fill in its defaults; throws ConfigError naming the first bad field. */
export function resolveNetworkZonesConfig(config: NetworkZonesConfig): ResolvedNetworkZones {
  const D = NETWORK_ZONES_DEFAULTS;
  const model = checkModel(config.model);
  const info = checkDataset(config.dataset);
  const precisions = checkPrecisions(config.precisions ?? D.precisions);
  const batches = checkCount('batches', config.batches, 'how many mini-batches to measure');
  const seed = checkInt('seed', config.seed ?? D.seed, 0, 2 ** 31 - 1);
  const batchSize = checkInt('batchSize', config.batchSize ?? D.batchSize, 1, 65_536);
  const accumulate = checkChoice('accumulate', config.accumulate ?? D.accumulate, ['strict', 'wide'] as const);
  const reluAlpha = config.reluAlpha ?? D.reluAlpha;
  if (!(typeof reluAlpha === 'number' && reluAlpha >= 0 && reluAlpha <= 1))
    throw new ConfigError('reluAlpha', `\`reluAlpha\` must be a number in [0, 1] (the run's ReLU'(0)), got ${reluAlpha}`);
  const split = checkSplit(info, config.split);
  const jobs = checkInt('jobs', config.jobs ?? Math.max(1, Math.min(availableParallelism(), D.maxDefaultJobs)), 1, 64);
  const { spec, modelOptions, notes } = fitModel(model, info, config);
  checkAvailable(info, split);
  const exact = !hasLayer(spec.layers, 'batchnorm2d');
  if (countLayers(spec.layers, 'maxpool') === 0)
    notes.push(
      'This model has no MaxPool: β cannot change any gradient, so the estimator distance is 0 by construction; only ReLU units can be non-regular.',
    );
  return {
    task: { model, modelOptions, seed, accumulate, reluAlpha, exact },
    spec,
    info,
    split,
    batchSize,
    batches,
    precisions,
    jobs,
    notes,
    exactReason: exact
      ? null
      : BATCHNORM_UNSUPPORTED.replace(/;.*$/, '.').replace(/^exact classification through batch norm is not supported: it/, 'batch norm'),
    onProgress: config.onProgress ?? (() => {}),
    log: config.log ?? (() => {}),
    version: config.version ?? packageVersion(),
    command: config.command ?? `networkZones(${JSON.stringify(plainFields(config))})`,
  };
}

function checkModel(model: string): string {
  if (!isModelName(model)) throw new ConfigError('model', `unknown model '${model}'; expected one of ${MODEL_NAMES.join(', ')}`);
  return model;
}

function checkDataset(name: string): DatasetInfo {
  try {
    return datasetByName(name);
  } catch {
    throw new ConfigError('dataset', `unknown data set '${name}'; expected one of ${DATASET_NAMES.join(', ')}`);
  }
}

function checkPrecisions(ps: readonly string[]): ZonePrecision[] {
  if (!Array.isArray(ps) || ps.length === 0) throw new ConfigError('precisions', 'needs at least one of 16, 32, 64');
  const bad = ps.filter((p) => !(ZONE_PRECISIONS as readonly string[]).includes(p));
  if (bad.length)
    throw new ConfigError(
      'precisions',
      `unknown value ${bad.map((p) => `'${p}'`).join(', ')}; expected 16, 32 or 64 (the estimator has thresholds for these only: ${Object.keys(ESTIMATOR_THRESHOLDS).join(', ')})`,
    );
  const dup = ps.find((x, i) => ps.indexOf(x) !== i);
  if (dup) throw new ConfigError('precisions', `'${dup}' is given twice`);
  return [...(ps as ZonePrecision[])].sort((a, b) => Number(a) - Number(b));
}

function checkCount(field: string, v: number, what: string): number {
  if (!(Number.isInteger(v) && v >= 1)) throw new ConfigError(field, `\`${field}\` must be a positive integer (${what}), got '${v}'`);
  return v;
}

function checkInt(field: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v)) throw new ConfigError(field, `\`${field}\` must be a whole number from ${min} to ${max}, got '${v}'`);
  if (v < min || v > max) throw new ConfigError(field, `\`${field}\` must be from ${min} to ${max}, got ${v}`);
  return v;
}

function checkChoice<T extends string>(field: string, v: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(v))
    throw new ConfigError(field, `\`${field}\` must be one of ${allowed.join(', ')}, got '${v}'`);
  return v as T;
}

function checkSplit(info: DatasetInfo, split: Split | undefined): Split {
  const s = checkChoice('split', split ?? (info.splits.includes('train') ? 'train' : info.splits[0]), ['train', 'test'] as const);
  if (!info.splits.includes(s))
    throw new ConfigError(
      'split',
      `\`split\` ${s}: ${info.name} has only the ${info.splits.join(', ')} split${info.splits.length > 1 ? 's' : ''}`,
    );
  return s;
}

/**
 * The model spec for the config's options and the data set's shape. Every model takes a fixed
 * input, except ResNet18, which ends in a global average pool (as torchvision's adaptive pool)
 * and so takes any H×W with the right channels.
 */
function fitModel(
  model: string,
  info: DatasetInfo,
  config: NetworkZonesConfig,
): { spec: ModelSpec; modelOptions: ModelOptions; notes: string[] } {
  if (config.width !== undefined && !(config.width > 0 && Number.isFinite(config.width)))
    throw new ConfigError('width', `\`width\` must be a positive number (a channel multiplier), got ${config.width}`);
  if (config.stem !== undefined) checkChoice('stem', config.stem, ['cifar', 'imagenet'] as const);
  const opts: { width?: number; batchNorm?: boolean; stem?: 'cifar' | 'imagenet'; classes: number; input?: [number, number, number] } = {
    classes: info.classes,
  };
  if (config.width !== undefined) opts.width = config.width;
  if (config.batchNorm !== undefined) opts.batchNorm = config.batchNorm;
  if (config.stem !== undefined) opts.stem = config.stem;
  const notes: string[] = [];
  const probe = specOf(model, opts);
  const [c, h, w] = info.shape;
  if (probe.input[0] !== c || probe.input[1] !== h || probe.input[2] !== w) {
    if (model !== 'resnet18' || probe.input[0] !== c) {
      const fits = DATASET_NAMES.filter((d) => datasetByName(d).shape.join('×') === probe.input.join('×'));
      throw new ConfigError(
        'dataset',
        `\`model\` ${model} expects inputs of shape ${probe.input.join('×')} (C×H×W) but \`dataset\` ${info.name} gives ${info.shape.join('×')}` +
          (fits.length ? `; use \`dataset\` ${fits.join(' or ')}` : ''),
      );
    }
    opts.input = [c, h, w];
    notes.push(
      `ResNet18 takes ${info.name}'s ${c}×${h}×${w} images instead of its default ${probe.input.join('×')} (it ends in a global average pool).`,
    );
  }
  return { spec: specOf(model, opts), modelOptions: { ...opts }, notes };
}

/** modelSpec, its errors as ConfigErrors on the option it refused (or on `model`). */
function specOf(model: string, opts: ModelOptions): ModelSpec {
  try {
    return modelSpec(model, { ...opts });
  } catch (e) {
    const message = (e as Error).message.replace(/^model '[^']*' /, '');
    const option = /does not take options? (\w+)/.exec(message)?.[1];
    throw new ConfigError(option ?? 'model', `\`model\` ${model}: ${message}`);
  }
}

function checkAvailable(info: DatasetInfo, split: Split): void {
  if (info.available) return;
  let why = `${info.name}: no offline source`;
  try {
    info.load(split);
  } catch (e) {
    why = (e as Error).message;
  }
  throw new ConfigError('dataset', `\`dataset\` ${info.name} cannot be loaded: ${why}`);
}

export function hasLayer(layers: readonly NetLayer[], kind: NetLayer['kind']): boolean {
  return layers.some((l) => l.kind === kind || (l.kind === 'residual' && (hasLayer(l.body, kind) || hasLayer(l.shortcut, kind))));
}

export function countLayers(layers: readonly NetLayer[], kind: NetLayer['kind']): number {
  return layers.reduce(
    (a, l) => a + (l.kind === kind ? 1 : l.kind === 'residual' ? countLayers(l.body, kind) + countLayers(l.shortcut, kind) : 0),
    0,
  );
}

/** The config without its callbacks, for the default `command`. */
function plainFields(config: NetworkZonesConfig): Record<string, unknown> {
  const { onProgress: _p, log: _l, version: _v, command: _c, ...rest } = config;
  return rest;
}

let version: string | undefined;

function packageVersion(): string {
  if (version === undefined) {
    const pkg = new URL('../../../package.json', import.meta.url);
    version = (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
  }
  return version;
}
