/**
 * `adzone train` where runs break (issue 12's reproductions, kept as tests; each failed on the code
 * before the fix), at the command line:
 *  - a kill between the final checkpoint and result.json: --resume rebuilds result.json (same
 *    numbers, the command that started the run), and removes the killed writer's temp files and
 *    its stale lock;
 *  - the run lock has no window: a train.lock just created (not yet written, by an older adzone)
 *    is not taken over; of several processes finding one stale lock exactly one takes it; two
 *    trains started at once into one folder: one trains, the other exits 2;
 *  - an --out that cannot be written (a file, a file as parent, a read-only place) exits 2 with one
 *    line before any work;
 *  - crafted checkpoints (sha256 recomputed) exit 2 with one line naming the file: never a stack
 *    trace, never a run that cannot exist (0 epochs, a position past the data);
 *  - --limit-train beyond the data exits 2; a data error exits 2 (it was 1);
 *  - a metrics.jsonl whose last line a kill cut is read without that line.
 */
import { describe, expect, it, vi } from 'vitest';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { readMetrics } from '../src/schema/discover.ts';
import { SchemaError } from '../src/schema/check.ts';
import { bin, root, runMain as cli, tempDirs } from './support/cli.ts';

const tmp = tempDirs();

/** A pid no process can have (above Linux's pid_max limit). */
const DEAD = 2 ** 22 + 17;

const tiny = (out: string, ...more: string[]) => [
  'train',
  '--model',
  'lenet5',
  '--dataset',
  'mnist',
  '--beta',
  '0',
  '--precision',
  '64',
  '--epochs',
  '1',
  '--batch-size',
  '32',
  '--limit-train',
  '64',
  '--limit-test',
  '32',
  '--quiet',
  '--out',
  out,
  ...more,
];

/** One line on stderr, no stack trace. */
function oneLine(err: string): void {
  expect(err.trim().split('\n')).toHaveLength(1);
  expect(err).not.toMatch(/\n\s+at /);
}

describe('a kill between the final checkpoint and result.json', () => {
  it('--resume rebuilds result.json from the final checkpoint, with the command that started the run, and cleans up', async () => {
    const d = tmp('adzone-train-kill-');
    const first = await cli(...tiny(d));
    expect(first.code, first.err).toBe(0);
    const r0 = JSON.parse(readFileSync(join(d, 'result.json'), 'utf8'));
    // the state a kill leaves there: no result.json, its writer's temp, a checkpoint temp, the lock
    const { rmSync } = await import('node:fs');
    rmSync(join(d, 'result.json'));
    writeFileSync(join(d, `.result.json.${DEAD}.1700000000000.k1ll3d.tmp`), '{"schema":"adzone/tr');
    writeFileSync(join(d, `.checkpoint.bin.${DEAD}.1700000000000.k1ll3d.tmp`), 'ADZCKPT1');
    writeFileSync(join(d, 'train.lock'), JSON.stringify({ pid: DEAD, host: hostname() }));
    const again = await cli('train', '--out', d, '--resume', '--quiet');
    expect(again.code, again.err).toBe(0);
    expect(again.out).toMatch(/result\.json was missing; rebuilt it from the final checkpoint/);
    const r1 = JSON.parse(readFileSync(join(d, 'result.json'), 'utf8'));
    for (const k of ['config', 'status', 'divergence', 'finalTestAcc', 'bestTestAcc', 'epochs', 'model', 'optimizer', 'data', 'startedAt'])
      expect(r1[k], k).toEqual(r0[k]);
    // the wall time is the one the final checkpoint recorded, a moment before the lost result.json's
    expect(r1.timings).toEqual({ ...r0.timings, totalSeconds: expect.any(Number) });
    expect(r1.timings.totalSeconds).toBeLessThanOrEqual(r0.timings.totalSeconds);
    expect(r1.command).toBe(r0.command);
    expect(r1.command).not.toMatch(/--resume/);
    expect(readdirSync(d).sort()).toEqual(['checkpoint.bin', 'metrics.jsonl', 'result.json']);
    // and once result.json is there, resuming says so and changes nothing
    const third = await cli('train', '--out', d, '--resume', '--quiet');
    expect(third.code).toBe(0);
    expect(third.out).toMatch(/has already ended \(completed\)/);
    expect(JSON.parse(readFileSync(join(d, 'result.json'), 'utf8'))).toEqual(r1);
  });
});

describe('the run lock', () => {
  it('an empty train.lock just created is held, not stale (exit 2); one left empty long ago is taken over', async () => {
    const d = tmp('adzone-train-lock-');
    writeFileSync(join(d, 'train.lock'), '');
    const busy = await cli(...tiny(d));
    expect(busy.code).toBe(2);
    expect(busy.err).toMatch(/in use by another adzone train/);
    oneLine(busy.err);
    expect(existsSync(join(d, 'checkpoint.bin'))).toBe(false);
    const old = Date.now() / 1000 - 3600;
    utimesSync(join(d, 'train.lock'), old, old);
    const ok = await cli(...tiny(d));
    expect(ok.code, ok.err).toBe(0);
    expect(existsSync(join(d, 'train.lock'))).toBe(false);
  });

  it('of six processes finding one stale lock at the same moment, exactly one takes it', async () => {
    const d = tmp('adzone-train-lockrace-');
    writeFileSync(join(d, 'train.lock'), JSON.stringify({ pid: DEAD, host: hostname() }));
    const start = Date.now() + 6000;
    const script = join(root, 'properties/support/lock-contender.ts');
    const said = await Promise.all(
      Array.from(
        { length: 6 },
        () =>
          new Promise<string>((res) => {
            const p = spawn(process.execPath, ['--import', 'tsx', script, d, String(start), '1500'], {
              cwd: root,
              stdio: ['ignore', 'pipe', 'pipe'],
            });
            let out = '';
            p.stdout.on('data', (x) => (out += x));
            p.stderr.on('data', (x) => (out += x));
            p.on('close', () => res(out.trim()));
          }),
      ),
    );
    expect(
      said.filter((s) => s === 'got'),
      said.join(' | '),
    ).toHaveLength(1);
    expect(
      said.filter((s) => s === 'busy'),
      said.join(' | '),
    ).toHaveLength(5);
  }, 60_000);

  it('two trains started at once into one folder: one trains, the other exits 2, and metrics.jsonl is one run', async () => {
    const d = tmp('adzone-train-two-');
    const args = tiny(d, '--log-every', '1');
    const launch = () =>
      new Promise<{ status: number | null; err: string }>((res) => {
        const p = spawn(process.execPath, [bin, ...args], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        p.stderr.on('data', (x) => (err += x));
        p.on('close', (status) => res({ status, err }));
      });
    const [a, b] = await Promise.all([launch(), launch()]);
    expect([a.status, b.status].sort(), `${a.err}\n${b.err}`).toEqual([0, 2]);
    expect((a.status === 2 ? a : b).err).toMatch(/in use by another adzone train|already holds a run's checkpoint/);
    const lines = readFileSync(join(d, 'metrics.jsonl'), 'utf8').trim().split('\n');
    expect(lines.map((l) => JSON.parse(l).kind)).toEqual(['step', 'step', 'epoch']);
  }, 60_000);
});

describe('outputs checked before the work', () => {
  it('an --out naming a file, under a file, or somewhere read-only exits 2 with one line, before training', async () => {
    const d = tmp('adzone-train-out-');
    const file = join(d, 'a-file');
    writeFileSync(file, 'x');
    for (const out of [file, join(file, 'run'), '/proc/adzone-no/run']) {
      const r = await cli(...tiny(out));
      expect(r.code, out).toBe(2);
      oneLine(r.err);
      expect(r.err).toContain(out.startsWith('/proc') ? '/proc' : file);
      expect(r.err).not.toMatch(/training lenet5/);
    }
  });
});

/** A checkpoint file with this header and payload, its sha256 recomputed: what a hand (or a bug) can write. */
function craft(header: unknown, payload: Buffer): Buffer {
  let json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const head = Buffer.alloc(16);
  head.write('ADZCKPT1', 0, 'latin1');
  head.writeUInt32LE(json.length, 8);
  const body = Buffer.concat([head, json, payload]);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

/** The header and payload of a checkpoint file. */
function split(buf: Buffer): { header: Record<string, unknown>; payload: Buffer } {
  const h = buf.readUInt32LE(8);
  return { header: JSON.parse(buf.subarray(16, 16 + h).toString('utf8')), payload: buf.subarray(16 + h, buf.length - 32) };
}

// biome-ignore lint/suspicious/noExplicitAny: a header under test is edited at any path, whatever it holds
type Header = Record<string, any>;
type Crafted = [Header | unknown[], Buffer];

/** The first array one value shorter, the file laid out consistently around it. */
function shorterFirstArray(h: Header, payload: Buffer): Crafted {
  const cut = h.arrays[0].length * 8 - 8;
  h.arrays[0].length -= 1;
  let at = 0;
  for (const r of h.arrays) {
    r.offset = at;
    at += r.length * 8;
  }
  h.payloadBytes = at;
  return [h, Buffer.concat([payload.subarray(0, cut), payload.subarray(cut + 8)])];
}

describe('crafted checkpoints', () => {
  const same =
    (f: (h: Header) => Header | unknown[]) =>
    (h: Header, p: Buffer): Crafted => [f(h), p];
  /** The header with the field at `path` set to `value` (removed when undefined). */
  const set = (path: (string | number)[], value?: unknown) =>
    same((h) => {
      let at = h;
      for (const k of path.slice(0, -1)) at = at[k];
      if (value === undefined) delete at[path.at(-1)!];
      else at[path.at(-1)!] = value;
      return h;
    });
  const cases: [string, (h: Header, p: Buffer) => Crafted][] = [
    ['epochs: 0', set(['config', 'epochs'], 0)],
    ['position.batch: 1e9', set(['position'], { epoch: 0, batch: 1e9, step: 1e9 })],
    ['position.step off the grid of epochs and batches', set(['position'], { epoch: 1, batch: 0, step: 7 })],
    ['a header that is a list', same(() => [])],
    ['no config', set(['config'])],
    ['an unknown model', set(['config', 'model'], 'resnet50')],
    ['metrics not a list', set(['metrics'], 'x')],
    ['no epoch sums', set(['epochSums'])],
    ['a parameter named that is not stored', same((h) => ({ ...h, params: [...h.params, 'fc9.weight'] }))],
    ["Adam's state for an SGD run", set(['optimizer', 'kind'], 'adam')],
    ['optimizer state for no parameter of the model', set(['optimizer', 'params', 0, 'name'], 'fc9.weight')],
    ['a loss scale that is not a number', set(['lossScale'], { kind: 'dynamic', scale: 'big', growthTracker: 0 })],
    ['an array record of negative length', set(['arrays', 0, 'length'], -1)],
    ['array records overlapping', set(['arrays', 1, 'offset'], 0)],
    ['an array of the wrong size', shorterFirstArray],
  ];

  /** A run of one epoch of two, its checkpoint between the epochs: the thing every case mutates. */
  async function base(d: string): Promise<{ header: Header; payload: Buffer }> {
    const made = await cli(...tiny(d));
    expect(made.code, made.err).toBe(0);
    const { header, payload } = split(readFileSync(join(d, 'checkpoint.bin')));
    return { header: { ...header, finished: null, config: { ...(header.config as object), epochs: 2 } }, payload };
  }

  it.each(cases)('%s: --resume exits 2 with one line naming the file', async (_name, mutate) => {
    const d = tmp('adzone-train-craft-');
    const { header, payload } = await base(d);
    const file = join(d, 'checkpoint.bin');
    writeFileSync(file, craft(...mutate(structuredClone(header), payload)));
    const r = await cli('train', '--out', d, '--resume', '--quiet');
    expect(r.code, `${r.out}${r.err}`).toBe(2);
    oneLine(r.err);
    expect(r.err).toContain(file);
    expect(existsSync(join(d, 'train.lock'))).toBe(false);
  });

  it('the unmutated base of those cases resumes and ends (each case fails for its mutation alone)', async () => {
    const d = tmp('adzone-train-craft-base-');
    const { header, payload } = await base(d);
    writeFileSync(join(d, 'checkpoint.bin'), craft(header, payload));
    const r = await cli('train', '--out', d, '--resume', '--quiet');
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(readFileSync(join(d, 'result.json'), 'utf8')).epochs).toHaveLength(2);
  });
});

describe('limits and data', () => {
  it('--limit-train beyond the data set (or beyond any) exits 2 naming the option', async () => {
    const d = tmp('adzone-train-limit-');
    for (const n of ['99999999999', '70000']) {
      const args = tiny(join(d, n));
      args[args.indexOf('--limit-train') + 1] = n;
      const r = await cli(...args);
      expect(r.code, n).toBe(2);
      expect(r.err).toMatch(/--limit-train/);
      oneLine(r.err.replace(/\nRun 'adzone help train' for usage\.\n?$/, '\n'));
      expect(existsSync(join(d, n, 'checkpoint.bin'))).toBe(false);
    }
  });

  it('a data error exits 2 (unusable input), as usage errors do', async () => {
    const d = tmp('adzone-train-data-');
    vi.stubEnv('ADZONE_MNIST_DIR', d);
    try {
      const r = await cli(...tiny(join(d, 'run')));
      expect(r.code).toBe(2);
      oneLine(r.err);
      expect(r.err).toContain(d);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe('metrics.jsonl cut by a kill', () => {
  it('its torn last line is left out; a bad line before the last is still an error naming it', () => {
    const d = tmp('adzone-metrics-');
    const f = join(d, 'metrics.jsonl');
    const whole = '{"kind":"step","step":1,"loss":2.3}\n{"kind":"step","step":2,"loss":2.2}\n';
    writeFileSync(f, `${whole}{"kind":"step","ste`);
    expect(readMetrics(f).lines).toHaveLength(2);
    writeFileSync(f, `${whole}{"kind":"step","step":3,"loss":2.1}`);
    expect(readMetrics(f).lines).toHaveLength(3);
    writeFileSync(f, `{"kind":"st\n${whole}`);
    expect(() => readMetrics(f)).toThrow(SchemaError);
    expect(() => readMetrics(f)).toThrow(/line 1/);
  });
});
