/** `adzone data list` and `adzone data fetch NAME --to DIR`: the official data files, downloaded with resume and checksums. */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { fmtInt } from '../../data/errors.ts';
import { FETCH_SOURCES, FetchError, fetchSource, fmtBytes, type FetchSource, type FetchOutput } from '../../data/fetch.ts';

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
DIR/cifar-10-batches-bin/.

Options:
  --to DIR          folder to put the files in (made if missing) (required). For SVHN the loader
                    looks in $ADZONE_SVHN_DIR, else $ADZONE_DATA_DIR/svhn, else ../shared/data/svhn
  --extra           svhn: also fetch extra_32x32.mat (531,131 more images, 1.3 GB)
  --base-url URL    fetch each file from URL/FILE instead of its official location (a mirror, or a
                    test server); default $ADZONE_FETCH_BASE when set
  --retries N       further attempts after a broken connection or a server error, each resuming
                    the .part (default 3)
  --quiet           no progress line on stderr (bytes, %, rate, ETA)

Exit codes: 0 every file is there and verified; 1 a download or checksum failed (what was
expected and found is printed; partial downloads are kept to resume); 2 usage (unknown name,
missing --to, imagenet).

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

class Usage extends Error {}

function listText(sources: Readonly<Record<string, FetchSource>>): string {
  const lines: string[] = [];
  for (const s of Object.values(sources)) {
    lines.push(`${s.name} — ${s.title}`);
    if (s.unavailable) {
      lines.push(`  ${s.unavailable}`, '');
      continue;
    }
    lines.push(`  from ${s.base}${s.home !== s.base ? ` (documented at ${s.home})` : ''}`);
    const w = Math.max(...s.files.map((f) => f.file.length));
    const bw = Math.max(...s.files.map((f) => (f.bytes !== undefined ? fmtInt(f.bytes).length : 1)));
    for (const f of s.files) {
      const size = f.bytes !== undefined ? `${fmtInt(f.bytes).padStart(bw)} bytes (${fmtBytes(f.bytes)})` : 'size unknown';
      lines.push(`  ${f.file.padEnd(w)}  ${size}  md5 ${f.md5}${f.optional ? '  (only with --extra)' : ''}`);
    }
    const total = s.files.filter((f) => !f.optional).reduce((a, f) => a + (f.bytes ?? 0), 0);
    lines.push(
      `  total ${fmtBytes(total)}${s.files.some((f) => f.optional) ? ' without --extra' : ''}${s.extract ? `; unpacked into DIR/${s.extract.into}/` : ''}`,
    );
    if (s.note) lines.push(`  note: ${s.note}`);
    lines.push('');
  }
  return lines.join('\n').trimEnd();
}

/** `adzone data`'s options; a parse error is a Usage error. */
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
    throw new Usage((e as Error).message);
  }
}

/** Runs `adzone data ARGV…`; returns the exit code (0 ok, 1 download/checksum failure, 2 usage). */
export async function dataCommand(argv: string[], io: DataCommandIO = {}): Promise<number> {
  const out = io.stdout ?? process.stdout;
  const err = io.stderr ?? process.stderr;
  const sources = io.sources ?? FETCH_SOURCES;
  const env = io.env ?? process.env;
  try {
    const { values, positionals } = parseDataArgv(argv);
    const [sub, ...names] = positionals;
    if (values.help || sub === undefined || sub === 'help') {
      out.write(`${DATA_HELP}\n`);
      return values.help || sub === 'help' ? 0 : 2;
    }
    if (sub === 'list') {
      if (names.length) throw new Usage(`data list takes no arguments, got ${names.map((n) => `'${n}'`).join(', ')}`);
      out.write(`${listText(sources)}\n`);
      return 0;
    }
    if (sub !== 'fetch') throw new Usage(`unknown data command '${sub}'; expected 'fetch' or 'list'`);
    if (names.length !== 1)
      throw new Usage(
        `data fetch takes one data set name (${Object.keys(sources).join(', ')}), got ${names.length ? names.map((n) => `'${n}'`).join(', ') : 'none'}`,
      );
    const key = names[0].toLowerCase().replace(/[-_]/g, '');
    const source = sources[key];
    if (!source) throw new Usage(`unknown data set '${names[0]}'; fetchable: ${Object.keys(sources).join(', ')}`);
    if (source.unavailable) {
      err.write(`adzone data: ${source.unavailable}\n`);
      return 2;
    }
    if (!values.to)
      throw new Usage(`data fetch ${source.name} needs --to DIR (the folder to put the files in), e.g. --to data/${source.name}`);
    let retries = 3;
    if (values.retries !== undefined) {
      if (!/^\d+$/.test(values.retries.trim()) || Number(values.retries) > 100)
        throw new Usage(`--retries must be a whole number from 0 to 100, got '${values.retries}'`);
      retries = Number(values.retries);
    }
    if (values.extra && !source.files.some((f) => f.optional)) throw new Usage(`--extra: ${source.name} has no optional files`);
    const envBase = env.ADZONE_FETCH_BASE;
    const baseUrl = values['base-url'] ?? (envBase && envBase.trim() !== '' ? envBase.trim() : undefined);
    if (baseUrl !== undefined && !/^https?:\/\/[^/]/.test(baseUrl))
      throw new Usage(`--base-url must be an http:// or https:// URL, got '${baseUrl}'`);

    const dir = resolve(values.to);
    out.write(`${source.name}: fetching into ${dir} from ${baseUrl ?? source.base}\n`);
    const report = await fetchSource(source, {
      dir,
      baseUrl,
      extra: values.extra,
      quiet: values.quiet,
      retries,
      retryDelayMs: io.retryDelayMs,
      progress: err,
      log: (line) => out.write(`  ${line}\n`),
    });
    for (const f of report.failures) err.write(`adzone data: ${f}\n`);
    if (report.failures.length) {
      const steps = report.failures.length + report.files.length;
      err.write(
        `adzone data: ${report.failures.length} of ${steps} step${steps > 1 ? 's' : ''} failed (see above); ${report.files.length} file${report.files.length === 1 ? '' : 's'} verified in ${dir}.\n`,
      );
      return 1;
    }
    out.write(
      `${source.name}: ${report.files.length} file${report.files.length === 1 ? '' : 's'} verified in ${dir}. ${source.use(dir)}\n`,
    );
    return 0;
  } catch (e) {
    if (e instanceof Usage) {
      err.write(`adzone data: ${e.message}\nRun 'adzone help data' for usage.\n`);
      return 2;
    }
    if (e instanceof FetchError) {
      err.write(`adzone data: ${e.message}\n`);
      return e.exitCode;
    }
    throw e;
  }
}
