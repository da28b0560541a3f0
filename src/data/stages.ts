/**
 * The data stages behind `adzone data`: listDatasets() (what can be fetched, from where, how big)
 * and fetchDataset(config) (download, verify and unpack one data set). Typed configs validated in
 * their own words (ConfigError('retries', …)); no argv, no printing: progress and log lines go
 * through the config's callbacks.
 */
import { resolve } from 'node:path';
import { ConfigError } from '../util/errors.ts';
import { assertWritableDir } from '../util/output.ts';
import { DataError } from './errors.ts';
import { type FetchOptions, type FetchReport, fetchSource } from './fetch.ts';
import { FETCH_SOURCES, type FetchSource } from './fetchSources.ts';

type Sources = Readonly<Record<string, FetchSource>>;

export interface DatasetListing {
  readonly name: string;
  readonly title: string;
  readonly home: string;
  /** The official location (a file's URL is base + its name); '' when it cannot be fetched. */
  readonly base: string;
  readonly files: readonly { readonly file: string; readonly bytes: number; readonly md5: string; readonly optional: boolean }[];
  /** Bytes of the files fetched without `extra`. */
  readonly totalBytes: number;
  readonly hasOptional: boolean;
  /** The folder (under DIR) an archive is unpacked into. */
  readonly unpackedInto?: string;
  /** Why it cannot be fetched and what to do instead. */
  readonly unavailable?: string;
  readonly note?: string;
}

/** Every fetchable (and not fetchable) data set of the table, with its files, sizes, md5 sums and origin. */
export function listDatasets(sources: Sources = FETCH_SOURCES): DatasetListing[] {
  return Object.values(sources).map((s) => ({
    name: s.name,
    title: s.title,
    home: s.home,
    base: s.base,
    files: s.files.map((f) => ({ file: f.file, bytes: f.bytes, md5: f.md5, optional: f.optional === true })),
    totalBytes: s.files.filter((f) => !f.optional).reduce((a, f) => a + f.bytes, 0),
    hasOptional: s.files.some((f) => f.optional),
    ...(s.extract ? { unpackedInto: s.extract.into } : {}),
    ...(s.unavailable ? { unavailable: s.unavailable } : {}),
    ...(s.note ? { note: s.note } : {}),
  }));
}

export interface FetchDatasetConfig extends Omit<FetchOptions, 'dir'> {
  /** The data set: a key of `sources` (case-insensitive; '-' and '_' ignored). */
  readonly name: string;
  /** The folder to put the files in; checked writable (and made) before any download. */
  readonly dir: string;
  /** The source table (default FETCH_SOURCES, the official one; tests and mirrors pass their own). */
  readonly sources?: Sources;
  /** Called once the config is checked and the folder found writable, before the first download. */
  readonly onStart?: (start: { readonly name: string; readonly dir: string; readonly from: string }) => void;
}

export interface ResolvedFetchConfig {
  readonly source: FetchSource;
  readonly options: FetchOptions & { readonly retries: number };
}

/** The source `name` names in `sources`; ConfigError('name') when none does. */
function sourceNamed(name: string, sources: Sources): FetchSource {
  const source = sources[String(name).toLowerCase().replace(/[-_]/g, '')];
  if (!source) throw new ConfigError('name', `unknown data set '${name}'; fetchable: ${Object.keys(sources).join(', ')}`);
  return source;
}

/**
 * Checks a fetch config and fills in its defaults; ConfigError naming the field for a bad one,
 * DataError 'unavailable' for a data set that cannot be fetched (ImageNet). Touches nothing on disk.
 */
export function resolveFetchConfig(config: FetchDatasetConfig): ResolvedFetchConfig {
  const source = sourceNamed(config.name, config.sources ?? FETCH_SOURCES);
  if (source.unavailable) throw new DataError('unavailable', source.unavailable);
  if (typeof config.dir !== 'string' || config.dir.trim() === '')
    throw new ConfigError('dir', 'is required: the folder to put the files in');
  const retries = config.retries ?? 3;
  if (!Number.isInteger(retries) || retries < 0 || retries > 100) {
    throw new ConfigError('retries', `must be a whole number from 0 to 100, got ${retries}`);
  }
  if (config.extra && !source.files.some((f) => f.optional))
    throw new ConfigError('extra', `is not available: ${source.name} has no optional files`);
  if (config.baseUrl !== undefined && !/^https?:\/\/[^/]/.test(config.baseUrl)) {
    throw new ConfigError('baseUrl', `must be an http:// or https:// URL, got '${config.baseUrl}'`);
  }
  const { name: _n, sources: _s, onStart: _o, ...options } = config;
  return { source, options: { ...options, dir: resolve(config.dir), retries } };
}

export interface FetchDatasetResult extends FetchReport {
  /** The base URL the files came from. */
  readonly from: string;
  /** What to do with the files now (for the closing line). */
  readonly use: string;
}

/**
 * Fetches one data set: checks the config, checks that `dir` can be written (before any
 * download), then downloads, verifies and unpacks (fetchSource). Failures of single files are in
 * the result's `failures`; a bad config or an unwritable folder throws.
 */
export async function fetchDataset(config: FetchDatasetConfig): Promise<FetchDatasetResult> {
  const { source, options } = resolveFetchConfig(config);
  assertWritableDir(options.dir);
  const from = options.baseUrl ?? source.base;
  config.onStart?.({ name: source.name, dir: options.dir, from });
  const report = await fetchSource(source, options);
  return { ...report, from, use: source.use(options.dir) };
}
