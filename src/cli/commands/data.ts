/**
 * `adzone data list` and `adzone data fetch NAME --to DIR`: parses argv, calls the data stages
 * (listDatasets, fetchDataset in src/data/stages.ts), prints, and returns the exit code.
 */
import { parseArgs } from 'node:util';
import { fmtInt } from '../../data/errors.ts';
import { type FetchOutput, type FetchSource, fmtBytes } from '../../data/fetch.ts';
import { type DatasetListing, type FetchDatasetConfig, fetchDataset, listDatasets } from '../../data/stages.ts';
import { ConfigError, EXIT, InputError, UsageError } from '../../util/errors.ts';

export const DATA_HELP = `adzone data — fetch real data sets from their official sources, with checksums and resume

Usage:
  adzone data list
  adzone data fetch NAME --to DIR [--extra] [--base-url URL] [--retries N] [--quiet]

NAME is svhn, cifar10 or mnist ('adzone data list' shows the files, sizes and sources). imagenet
cannot be fetched (it needs a login); the command says what to do instead.

Each file is downloaded to DIR/FILE.part (an interrupted download is resumed from there with an
HTTP Range request), its md5 is checked against the published one, and only then is it renamed
to DIR/FILE. A file whose md5 does not match is kept as DIR/FILE.bad and the fetch fails; files
already in DIR with the right md5 are skipped. cifar10's archive is then unpacked into
DIR/cifar-10-batches-bin/, each batch checked against its published sha1.

Every file's size is known and is a cap: a server announcing another size is refused, and a body
that runs past the size is cut off there with an error. Nothing is written through a symbolic
link at DIR/FILE.part or DIR/FILE. DIR is checked writable before any download.

Options:
  --to DIR          folder to put the files in (made if missing) (required). For SVHN the loader
                    looks in $ADZONE_SVHN_DIR, else $ADZONE_DATA_DIR/svhn, else ../shared/data/svhn
  --extra           svhn: also fetch extra_32x32.mat (531,131 more images, 1.3 GB)
  --base-url URL    fetch each file from URL/FILE instead of its official location (a mirror, or a
                    test server); default $ADZONE_FETCH_BASE when set
  --retries N       further attempts after a broken connection or a server error, each resuming
                    the .part (default 3)
  --quiet           no progress line on stderr (bytes, %, rate, ETA)

Exit codes: 0 every file is there and verified; 2 otherwise, one line each: usage (unknown
name, missing --to, bad option), imagenet, a folder that cannot be written, a download, size or
checksum failure (what was expected and found is printed; partial downloads are kept to resume).

Example: adzone data fetch svhn --to data/svhn && ADZONE_SVHN_DIR=data/svhn adzone train --model vgg11 --dataset svhn …`;

/** Where the command writes, and the source table it uses (tests pass their own; the CLI uses FETCH_SOURCES). */
export interface DataCommandIO {
  readonly stdout?: FetchOutput;
  readonly stderr?: FetchOutput;
  readonly sources?: Readonly<Record<string, FetchSource>>;
  /** Pause before a further attempt (default 2,000 ms). */
  readonly retryDelayMs?: number;
  /** Environment for ADZONE_FETCH_BASE (default process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

function listText(listing: readonly DatasetListing[]): string {
  const lines: string[] = [];
  for (const s of listing) {
    lines.push(`${s.name} — ${s.title}`);
    if (s.unavailable) {
      lines.push(`  ${s.unavailable}`, '');
      continue;
    }
    lines.push(`  from ${s.base}${s.home !== s.base ? ` (documented at ${s.home})` : ''}`);
    const w = Math.max(...s.files.map((f) => f.file.length));
    const bw = Math.max(...s.files.map((f) => fmtInt(f.bytes).length));
    for (const f of s.files) {
      const size = `${fmtInt(f.bytes).padStart(bw)} bytes (${fmtBytes(f.bytes)})`;
      lines.push(`  ${f.file.padEnd(w)}  ${size}  md5 ${f.md5}${f.optional ? '  (only with --extra)' : ''}`);
    }
    lines.push(
      `  total ${fmtBytes(s.totalBytes)}${s.hasOptional ? ' without --extra' : ''}${s.unpackedInto ? `; unpacked into DIR/${s.unpackedInto}/` : ''}`,
    );
    if (s.note) lines.push(`  note: ${s.note}`);
    lines.push('');
  }
  return lines.join('\n').trimEnd();
}

/** `adzone data`'s options; a parse error is a UsageError. */
function parseDataArgv(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      options: {
        to: { type: 'string' },
        'base-url': { type: 'string' },
        extra: { type: 'boolean' },
        quiet: { type: 'boolean', short: 'q' },
        retries: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: true,
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

type Parsed = ReturnType<typeof parseDataArgv>;

/** The fetch stage's config from argv (the stage checks the values; only their form is checked here). */
function fetchConfig({ values, positionals }: Parsed, io: DataCommandIO, err: FetchOutput, out: FetchOutput): FetchDatasetConfig {
  const names = positionals.slice(1);
  const sources = io.sources;
  if (names.length !== 1) {
    const known = listDatasets(sources)
      .map((d) => d.name)
      .join(', ');
    const got = names.length ? names.map((n) => `'${n}'`).join(', ') : 'none';
    throw new UsageError(`data fetch takes one data set name (${known}), got ${got}`);
  }
  if (values.retries !== undefined && !/^\d+$/.test(values.retries.trim()))
    throw new UsageError(`--retries must be a whole number from 0 to 100, got '${values.retries}'`);
  const envBase = (io.env ?? process.env).ADZONE_FETCH_BASE;
  return {
    name: names[0],
    dir: values.to ?? '',
    baseUrl: values['base-url'] ?? (envBase && envBase.trim() !== '' ? envBase.trim() : undefined),
    extra: values.extra,
    quiet: values.quiet,
    ...(values.retries !== undefined ? { retries: Number(values.retries) } : {}),
    ...(sources ? { sources } : {}),
    retryDelayMs: io.retryDelayMs,
    progress: err,
    log: (line) => out.write(`  ${line}\n`),
  };
}

/** fetchDataset, with a missing folder said in the command line's words. */
async function fetchOrUsage(config: FetchDatasetConfig) {
  try {
    return await fetchDataset(config);
  } catch (e) {
    if (e instanceof ConfigError && e.field === 'dir' && config.dir === '') {
      throw new UsageError(`data fetch ${config.name} needs --to DIR (the folder to put the files in), e.g. --to data/${config.name}`);
    }
    throw e;
  }
}

/** `adzone data fetch …`: 0 when every file is there and verified, 2 when a step failed (each failure one line). */
async function fetchCommand(parsed: Parsed, io: DataCommandIO, out: FetchOutput, err: FetchOutput): Promise<number> {
  const config = fetchConfig(parsed, io, err, out);
  const r = await fetchOrUsage({ ...config, onStart: (s) => out.write(`${s.name}: fetching into ${s.dir} from ${s.from}\n`) });
  const n = r.files.length;
  if (r.failures.length) {
    for (const f of r.failures) err.write(`adzone data: ${f}\n`);
    const steps = r.failures.length + n;
    err.write(
      `adzone data: ${r.failures.length} of ${steps} step${steps > 1 ? 's' : ''} failed (see above); ${n} file${n === 1 ? '' : 's'} verified in ${r.dir}.\n`,
    );
    return EXIT.unusable;
  }
  out.write(`${r.source}: ${n} file${n === 1 ? '' : 's'} verified in ${r.dir}. ${r.use}\n`);
  return EXIT.ok;
}

/** The option that set a config field, for messages. */
const OPTION_OF: Readonly<Record<string, string>> = { dir: '--to', baseUrl: '--base-url', retries: '--retries', extra: '--extra' };

/** One line for a known error, and the exit code; anything else is rethrown (a crash, for main to report). */
function reportError(e: unknown, err: FetchOutput): number {
  const usage = "\nRun 'adzone help data' for usage.";
  if (e instanceof ConfigError) {
    const opt = OPTION_OF[e.field];
    err.write(`adzone data: ${opt ? `${opt} ${e.message}` : e.message}${usage}\n`);
  } else if (e instanceof UsageError) {
    err.write(`adzone data: ${e.message}${usage}\n`);
  } else if (e instanceof InputError) {
    err.write(`adzone data: ${e.message}\n`);
  } else {
    throw e;
  }
  return EXIT.unusable;
}

/** Runs `adzone data ARGV…`; returns the exit code (0 ok, 2 usage, unusable input or a failed download, with one line each). */
export async function dataCommand(argv: string[], io: DataCommandIO = {}): Promise<number> {
  const out = io.stdout ?? process.stdout;
  const err = io.stderr ?? process.stderr;
  try {
    const parsed = parseDataArgv(argv);
    const [sub, ...names] = parsed.positionals;
    if (parsed.values.help || sub === undefined || sub === 'help') {
      out.write(`${DATA_HELP}\n`);
      return parsed.values.help || sub === 'help' ? EXIT.ok : EXIT.unusable;
    }
    if (sub === 'list') {
      if (names.length) throw new UsageError(`data list takes no arguments, got ${names.map((n) => `'${n}'`).join(', ')}`);
      out.write(`${listText(listDatasets(io.sources))}\n`);
      return EXIT.ok;
    }
    if (sub !== 'fetch') throw new UsageError(`unknown data command '${sub}'; expected 'fetch' or 'list'`);
    return await fetchCommand(parsed, io, out, err);
  } catch (e) {
    return reportError(e, err);
  }
}
