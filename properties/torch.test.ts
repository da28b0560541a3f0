/**
 * The AD protocol and the PyTorch bridge (src/backends/protocol/, src/backends/torch.ts,
 * bridges/torch/adzone_torch_bridge.py), and the device-under-test contract (forward values).
 *
 * Always run: exact float encoding (every 16-bit pattern, random 32/64-bit ones, the specials by
 * their hand-written bit patterns), malformed messages naming the field, the published schema
 * matching its generator, fake bridges (tiny Node scripts) that hang, die or lie failing within a
 * timeout, and a seeded routing defect reported as a defect with forward values and marked
 * 'no-forward' without them.
 *
 * With PyTorch (Debian's python3-torch; skipped with one line otherwise): the bridge's own field
 * errors, the exact path through torch (specials survive a 1×1 max_pool2d bit for bit), the tie
 * rule (first; windows holding NaN → the last NaN, as measured on torch 1.13), a verify sweep at
 * 32, 64 and bfloat16 where the classifier finds nothing inconsistent, batch mode end to end (the
 * bridge as a subprocess on files) agreeing with the live bridge, and the command line.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { engineBackend } from '../src/backends/engine.ts';
import { recordedBackend } from '../src/backends/protocol/backend.ts';
import { BridgeClient } from '../src/backends/protocol/client.ts';
import { type Dtype, decodeFloats, encodeFloats, roundAndEncode } from '../src/backends/protocol/floats.ts';
import { BRIDGE_MESSAGES, CLIENT_MESSAGES, protocolSchemaText, type RunResult } from '../src/backends/protocol/schema.ts';
import { ProtocolError, readMessage } from '../src/backends/protocol/validate.ts';
import { problemToWire, resultToBackend, wireToProblem } from '../src/backends/protocol/wire.ts';
import { isUnavailable, loadBackend, measureTieRule } from '../src/backends/registry.ts';
import { createTorchBackend, TORCH_BRIDGE } from '../src/backends/torch.ts';
import type { AdBackend, BackendResult } from '../src/backends/types.ts';
import { generatorById } from '../src/generators/index.ts';
import { FIRST, MINNORM } from '../src/jacobians/index.ts';
import { decimalOracle } from '../src/oracle/index.ts';
import { activationShapes, type Problem, windowIndices } from '../src/problem/index.ts';
import { findPython } from '../src/util/python.ts';
import { exportBatch } from '../src/zones/batch.ts';
import { classifyPoint } from '../src/zones/classify.ts';
import { runVerify, type VerifyOptions } from '../src/zones/verify.ts';

const ROOT = join(import.meta.dirname, '..');
const DTYPES: readonly Dtype[] = ['float16', 'bfloat16', 'float32', 'float64'];

// ---------------------------------------------------------------------------------------------
// Exact floats.

/** Hand-written bit patterns: −0, +Inf, −Inf, smallest subnormal, largest finite, 1, a quiet NaN with a payload. */
const SPECIALS: Readonly<Record<Dtype, readonly [string, number][]>> = {
  float16: [
    ['8000', -0],
    ['7c00', Infinity],
    ['fc00', -Infinity],
    ['0001', 2 ** -24],
    ['03ff', 1023 * 2 ** -24],
    ['7bff', 65504],
    ['3c00', 1],
    ['7e01', NaN],
  ],
  bfloat16: [
    ['8000', -0],
    ['7f80', Infinity],
    ['ff80', -Infinity],
    ['0001', 2 ** -133],
    ['7f7f', (2 - 2 ** -7) * 2 ** 127],
    ['3f80', 1],
    ['7fc1', NaN],
  ],
  float32: [
    ['80000000', -0],
    ['7f800000', Infinity],
    ['ff800000', -Infinity],
    ['00000001', 2 ** -149],
    ['7f7fffff', (2 - 2 ** -23) * 2 ** 127],
    ['3f800000', 1],
    ['ffc00123', NaN],
  ],
  float64: [
    ['8000000000000000', -0],
    ['7ff0000000000000', Infinity],
    ['fff0000000000000', -Infinity],
    ['0000000000000001', 2 ** -1074],
    ['7fefffffffffffff', Number.MAX_VALUE],
    ['3ff0000000000000', 1],
    ['7ff8000000000abc', NaN],
  ],
};

describe('exact float encoding (hex of IEEE bit patterns)', () => {
  it.each(DTYPES)(
    '%s: −0, ±Inf, subnormals, the largest value and NaN payloads decode to their values and encode back bit for bit',
    (d) => {
      for (const [hex, value] of SPECIALS[d]) {
        const [x] = decodeFloats(hex, d);
        expect(Object.is(x, value) || (Number.isNaN(value) && Number.isNaN(x)), `${d} ${hex}`).toBe(true);
        expect(encodeFloats([x], d)).toBe(hex);
      }
      const all = SPECIALS[d].map(([h]) => h).join('');
      expect(encodeFloats(decodeFloats(all, d), d)).toBe(all);
    },
  );

  it.each(['float16', 'bfloat16'] as const)('%s: all 65536 bit patterns round-trip (a signalling NaN at most quieted)', (d) => {
    const m = d === 'float16' ? 10 : 7;
    const hex = Array.from({ length: 65536 }, (_, i) => i.toString(16).padStart(4, '0')).join('');
    const back = encodeFloats(decodeFloats(hex, d), d);
    for (let i = 0; i < 65536; i++) {
      const expOnes = ((i >> m) & ((1 << (15 - m)) - 1)) === (1 << (15 - m)) - 1;
      const mant = i & ((1 << m) - 1);
      const signalling = expOnes && mant !== 0 && !(mant >> (m - 1));
      const got = Number.parseInt(back.slice(4 * i, 4 * i + 4), 16);
      if (got !== i) expect([signalling, got], `pattern ${i.toString(16)}`).toEqual([true, i | (1 << (m - 1))]);
    }
  });

  it('float32 and float64: random non-signalling bit patterns round-trip exactly', () => {
    const quiet32 = (b: number) => (b & 0x7f800000) !== 0x7f800000 || (b & 0x7fffff) === 0 || (b & 0x400000) !== 0;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }).filter(quiet32), (b) => {
        const hex = b.toString(16).padStart(8, '0');
        return encodeFloats(decodeFloats(hex, 'float32'), 'float32') === hex;
      }),
      { numRuns: 5000 },
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 2 ** 32 - 1 }), (hi, lo) => {
        const nan = (hi & 0x7ff00000) === 0x7ff00000 && ((hi & 0xfffff) !== 0 || lo !== 0);
        const hex = ((nan ? hi | 0x80000 : hi) >>> 0).toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
        return encodeFloats(decodeFloats(hex, 'float64'), 'float64') === hex;
      }),
      { numRuns: 5000 },
    );
  });

  it('refuses a value the dtype cannot hold exactly, naming the element; roundAndEncode rounds to nearest even first', () => {
    expect(() => encodeFloats([1, 0.1], 'float32')).toThrow(/element 1 \(0.1\) is not exactly representable in float32/);
    expect(() => encodeFloats([1 + 2 ** -8], 'bfloat16')).toThrow(/element 0/);
    expect(roundAndEncode([1 + 2 ** -8, 1 + 3 * 2 ** -8], 'bfloat16')).toBe('3f803f82'); // ties to even: 1 and 1 + 2^-6
    expect(() => decodeFloats('3f8', 'float32')).toThrow(/3 hex digits is not a whole number of float32 elements/);
    expect(() => decodeFloats('3F800000', 'float32')).toThrow(/other than 0-9 and a-f/);
  });

  it.each(DTYPES)('%s: a problem with specials survives problemToWire → wireToProblem', (d) => {
    const tiny = d === 'float64' ? 2 ** -1074 : d === 'float32' ? 2 ** -149 : d === 'float16' ? 2 ** -24 : 2 ** -133;
    const problem: Problem = {
      input: { shape: [1, 1, 2, 3], data: [-0, tiny, -tiny, Infinity, -Infinity, NaN] },
      layers: [{ kind: 'conv2d', outChannels: 1, kernel: [1, 1], stride: [1, 1], padding: [0, 0], bias: true }],
      params: [{ weight: [-0], bias: [tiny] }],
      cotangent: [1, -0, 2, -2, 0.5, tiny],
    };
    const back = wireToProblem(problemToWire(problem, d), d);
    const same = (a: readonly number[], b: readonly number[]) => a.every((x, i) => Object.is(x, b[i]));
    expect(same(back.input.data, problem.input.data)).toBe(true);
    expect(same(back.cotangent, problem.cotangent)).toBe(true);
    expect(same(back.params[0]!.weight, [-0]) && same(back.params[0]!.bias!, [tiny])).toBe(true);
    expect(back.layers).toEqual(problem.layers);
  });
});

// ---------------------------------------------------------------------------------------------
// Messages.

const POOL: Problem = {
  input: { shape: [1, 1, 2, 2], data: [1, 4, 3, 2] },
  layers: [{ kind: 'maxpool', kernel: [2, 2], stride: [2, 2], padding: [0, 0] }],
  params: [null],
  cotangent: [1],
};

function runLine(mutate: (m: Record<string, unknown> & { problem: Record<string, unknown> }) => void): string {
  const m = JSON.parse(JSON.stringify({ type: 'run', id: 'a', dtype: 'float32', problem: problemToWire(POOL, 'float32') }));
  mutate(m);
  return JSON.stringify(m);
}

function fieldOfError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof ProtocolError) return `${e.field} | ${e.detail}`;
    throw e;
  }
  throw new Error('no error');
}

describe('protocol messages', () => {
  it('the committed schemas/protocol.schema.json is what the generator writes (npm run schemas)', () => {
    expect(JSON.parse(readFileSync(join(ROOT, 'schemas/protocol.schema.json'), 'utf8'))).toEqual(JSON.parse(protocolSchemaText()));
  });

  it('a valid request passes; missing, unknown and malformed fields are named', () => {
    expect(
      readMessage(
        runLine(() => {}),
        CLIENT_MESSAGES,
        'client',
      ),
    ).toMatchObject({ type: 'run', id: 'a' });
    const read = (line: string) => fieldOfError(() => readMessage(line, CLIENT_MESSAGES, 'client'));
    expect(read(runLine((m) => delete m.problem.cotangent))).toMatch(/^problem\.cotangent \| expected required property/);
    expect(read(runLine((m) => (m.problem.extra = 1)))).toMatch(/^problem\.extra \| unknown field/);
    expect(read(runLine((m) => (m.dtype = 'float8')))).toMatch(/^dtype \| expected one of "float16", "bfloat16", "float32", "float64"/);
    expect(read(runLine((m) => ((m.problem.layers as { kind: string }[])[0].kind = 'avgpool')))).toMatch(
      /^problem\.layers\[0\]\.kind \| expected one of "conv2d", "relu", "maxpool"/,
    );
    expect(read(runLine((m) => ((m.problem.layers as { kernel: unknown[] }[])[0].kernel[1] = 0)))).toMatch(
      /^problem\.layers\[0\]\.kernel\[1\] \|/,
    );
    expect(read(runLine((m) => ((m.problem.input as { bits: string }).bits = 'XYZ')))).toMatch(/^problem\.input\.bits \|/);
    expect(read(runLine((m) => (m.problem.params = [{ weight: 1 }])))).toMatch(/^problem\.params\[0\]\.weight \|/);
    expect(read('{"type":"go"}')).toMatch(/^type \| client sent a message of type "go": expected one of 'hello', 'run'/);
    expect(read('not json')).toMatch(/^ \| client sent a line that is not JSON/);
  });

  it('a result that does not fit its problem is refused, naming the field', () => {
    const good: RunResult = {
      type: 'result',
      id: 'a',
      dtype: 'float32',
      device: 'cpu',
      forward: [{ shape: [1, 1, 1, 1], bits: '40800000' }],
      grads: { input: { shape: [1, 1, 2, 2], bits: `00000000${'3f800000'}${'00000000'.repeat(2)}` }, params: [null] },
    };
    const input = [1, 4, 3, 2];
    expect(resultToBackend(good, POOL, 'float32', input, true)).toMatchObject({ output: [4], grads: { input: [0, 1, 0, 0] } });
    const bad = (r: Partial<RunResult>, dtype: Dtype = 'float32') =>
      fieldOfError(() => resultToBackend({ ...good, ...r } as RunResult, POOL, dtype, input, true));
    expect(bad({ forward: undefined })).toMatch(/^result\.forward \| missing/);
    expect(bad({ forward: [{ shape: [1, 1, 2, 1], bits: '4080000040800000' }] })).toMatch(
      /^result\.forward\[0\]\.shape \| expected \[1, 1, 1, 1\]/,
    );
    expect(bad({ forward: [{ shape: [1, 1, 1, 1], bits: '4080' }] })).toMatch(
      /^result\.forward\[0\]\.bits \| shape \[1, 1, 1, 1\] needs 8 hex digits/,
    );
    expect(bad({ grads: { input: good.grads.input, params: [] } })).toMatch(/^result\.grads\.params \| expected 1 entries/);
    expect(bad({}, 'float64')).toMatch(/^result\.dtype \| expected 'float64'/);
    expect(fieldOfError(() => readMessage('{"type":"result","id":"a"}', BRIDGE_MESSAGES, 'bridge'))).toMatch(
      /^dtype \| expected required property/,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Fake bridges: a few lines of Node each, for what a real bridge should never do.

const FAKE_HELLO = {
  type: 'hello',
  protocol: 1,
  bridge: { name: 'fake', version: '0' },
  frameworks: {},
  capabilities: { devices: [{ name: 'cpu', dtypes: ['float32'] }], defaultDevice: 'cpu', layers: ['maxpool'], forwardValues: true },
};

function fakeBridge(onRun: string, hello = true): { command: string; args: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'adzone-fake-bridge-'));
  const file = join(dir, 'bridge.cjs');
  writeFileSync(
    file,
    `const rl = require('readline').createInterface({ input: process.stdin });
const out = (m) => process.stdout.write(JSON.stringify(m) + '\\n');
rl.on('line', (line) => {
  const m = JSON.parse(line);
  if (m.type === 'hello') { ${hello ? `out(${JSON.stringify(FAKE_HELLO)});` : ''} return; }
  ${onRun}
});`,
  );
  return { command: process.execPath, args: [file] };
}

async function rejection(p: Promise<unknown>): Promise<{ error: Error; ms: number }> {
  const t0 = Date.now();
  try {
    await p;
  } catch (e) {
    return { error: e as Error, ms: Date.now() - t0 };
  }
  throw new Error('expected a rejection');
}

describe('the stdio client never hangs', () => {
  const wire = problemToWire(POOL, 'float32');
  const fast = { handshakeTimeoutMs: 3000, requestTimeoutMs: 1500 };

  it('a bridge that never says hello fails the handshake within its timeout', async () => {
    const { error } = await rejection(BridgeClient.start({ ...fakeBridge('', false), ...fast, label: 'mute' }));
    expect(error.message).toMatch(/^mute said no hello within 3 s/);
  });

  it('a bridge that refuses the handshake says why', async () => {
    const refuse = fakeBridge('', false).args[0];
    writeFileSync(
      refuse,
      readFileSync(refuse, 'utf8').replace(
        "if (m.type === 'hello') {",
        "if (m.type === 'hello') { out({ type: 'error', id: null, error: { code: 'unsupported', message: 'protocol 7 only' } });",
      ),
    );
    const { error } = await rejection(BridgeClient.start({ command: process.execPath, args: [refuse], ...fast, label: 'picky' }));
    expect(error.message).toBe('picky refused the handshake: protocol 7 only');
  });

  it('a bridge that goes silent on a request fails it within the request timeout', async () => {
    const c = await BridgeClient.start({ ...fakeBridge('/* silence */'), ...fast, label: 'silent' });
    const { error } = await rejection(c.run({ dtype: 'float32', problem: wire }));
    expect(error.message).toMatch(/^silent gave no answer to request 1 within 1.5 s/);
    await expect(c.run({ dtype: 'float32', problem: wire })).rejects.toThrow(/gave no answer/);
  });

  it('a bridge that dies fails every request in flight, with the end of its stderr', async () => {
    const c = await BridgeClient.start({
      ...fakeBridge("process.stderr.write('out of cheese\\n'); process.exit(3);"),
      ...fast,
      label: 'dying',
    });
    const both = [c.run({ dtype: 'float32', problem: wire }), c.run({ dtype: 'float32', problem: wire })];
    for (const p of both) expect((await rejection(p)).error.message).toMatch(/^dying exited \(code 3\); its stderr ends: out of cheese/);
  });

  it('a result with a missing field, an unknown id or a non-JSON line is a protocol error naming it', async () => {
    const cases: [string, RegExp][] = [
      ["out({ type: 'result', id: m.id, dtype: 'float32', device: 'cpu' });", /broke the protocol: grads: expected required property/],
      ["out({ type: 'error', id: 'zz', error: { code: 'failed', message: 'who?' } });", /id "zz" matches no request in flight: who\?/],
      ["process.stdout.write('oops\\n');", /broke the protocol: .*not JSON/],
    ];
    for (const [onRun, want] of cases) {
      const c = await BridgeClient.start({ ...fakeBridge(onRun), ...fast });
      expect((await rejection(c.run({ dtype: 'float32', problem: wire }))).error.message).toMatch(want);
    }
    // Well-formed JSON that does not fit the problem: the backend refuses it naming the field.
    const misfit =
      "out({ type: 'result', id: m.id, dtype: 'float32', device: 'cpu', grads: { input: { shape: [1,1,2,2], bits: '00' }, params: [null] }, forward: [] });";
    const c = await BridgeClient.start({ ...fakeBridge(misfit), ...fast });
    const r = await c.run({ dtype: 'float32', problem: wire });
    expect(fieldOfError(() => resultToBackend(r, POOL, 'float32', [1, 4, 3, 2], true))).toMatch(
      /^result\.grads\.input\.bits \| shape \[1, 1, 2, 2\] needs 32/,
    );
    await c.close();
  });

  it('an interpreter that cannot be found or lacks torch makes the backend unavailable with one line', async () => {
    const b = await createTorchBackend({ python: '/nonexistent/python3' });
    expect(isUnavailable(b) && b.unavailable).toMatch(/^PyTorch not found: \/nonexistent\/python3 \(from the option\) cannot import torch/);
  });
});

// ---------------------------------------------------------------------------------------------
// The contract: forward values decide between a defect and compensation.

/** The engine's answers, with every window's gradient sent to the window's smallest entry instead of its maximum. */
function misrouting(forwardValues: boolean): AdBackend {
  return {
    id: forwardValues ? 'misrouting-with-forward' : 'misrouting-without-forward',
    description: 'a seeded routing defect',
    precisions: ['32'],
    fixedJacobian: true,
    forwardValues,
    versions: {},
    async run(problem, opts): Promise<BackendResult> {
      const r = await engineBackend.run(problem, opts);
      const shapes = activationShapes(problem);
      const input = new Array<number>(r.grads.input.length).fill(0);
      for (let o = 0; o < problem.cotangent.length; o++) {
        const idx = windowIndices(problem.layers[0] as never, shapes[0], shapes[1], o);
        const low = idx.reduce((a, b) => (problem.input.data[b] < problem.input.data[a] ? b : a));
        input[low] += problem.cotangent[o];
      }
      const grads = { ...r.grads, input };
      return forwardValues ? { output: r.output, grads, activations: r.activations } : { output: r.output, grads };
    },
  };
}

describe('the device-under-test contract: forward values', () => {
  const problem: Problem = {
    input: { shape: [1, 1, 4, 4], data: [5, 1, 2, 7, 3, 9, 4, 0, 8, 6, 11, 13, 10, 12, 15, 14] },
    layers: [{ kind: 'maxpool', kernel: [2, 2], stride: [2, 2], padding: [0, 0] }],
    params: [null],
    cotangent: [1, 2, 3, 4],
  };
  const config = (b: AdBackend) => ({
    precisions: ['32'],
    accumulate: 'strict' as const,
    family: [FIRST, MINNORM],
    reluAlphas: [0],
    betaMode: 'backward' as const,
    oracle: decimalOracle,
    backends: [b],
  });

  it('a seeded routing defect is a defect with forward values, and is marked no-forward (never silently compensation) without', async () => {
    const withFwd = (await classifyPoint(problem, config(misrouting(true)))).results[0];
    expect([withFwd.zone, withFwd.verdictBasis]).toEqual(['defect', 'own-forward']);
    const without = (await classifyPoint(problem, config(misrouting(false)))).results[0];
    expect(without.verdictBasis).toBe('no-forward');
    expect(without.zone).not.toBe('regular');
    expect(without.reason).toMatch(/no forward values: .*cannot be told; compensation is assumed, unverified/);
    // The same backend answering correctly is regular either way.
    expect((await classifyPoint(problem, config(engineBackend))).results[0]).toMatchObject({
      zone: 'regular',
      verdictBasis: 'own-forward',
    });
  });

  it('a backend that declares forward values and returns none is refused', async () => {
    const liar = { ...misrouting(false), forwardValues: true };
    await expect(classifyPoint(problem, config(liar))).rejects.toThrow(
      /declares forward values but returned neither activations nor routing/,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// PyTorch.

const found = findPython('torch');
const TORCH = 'python' in found ? found : undefined;
if ('missing' in found) console.log(`PyTorch not found: ${found.missing} — the PyTorch bridge tests are skipped`);

const TORCH_OPTS = { torch: { python: TORCH?.python, device: 'cpu' } };

async function torchBackend(): Promise<AdBackend> {
  const b = await loadBackend('torch', TORCH_OPTS);
  if (isUnavailable(b)) throw new Error(b.unavailable);
  return b;
}

function bridgeLines(input: string[]): Record<string, unknown>[] {
  const r = spawnSync(TORCH!.python, [TORCH_BRIDGE], { input: `${input.join('\n')}\n`, encoding: 'utf8', timeout: 120_000 });
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

function verifyOptions(backends: AdBackend[], tieRules: VerifyOptions['tieRules'], generators: string[], samples: number): VerifyOptions {
  return {
    samples,
    seed: 7,
    precisions: ['32', '64', 'bf16'],
    family: [FIRST, MINNORM],
    reluAlphas: [0],
    accumulate: 'strict',
    betaMode: 'backward',
    generators: generators.map((g) => generatorById(g)),
    backends,
    oracle: decimalOracle,
    tieRules,
    shrink: false,
  };
}

/** The bridge's hello lists every dtype as supported or unsupported with a reason; bad requests get errors naming the field. */
function helloAndFieldErrors(): void {
  const hello = { type: 'hello', protocols: [1], client: { name: 't', version: '0' } };
  const [h, e1, e2, e3] = bridgeLines([
    JSON.stringify(hello),
    runLine((m) => ((m.problem.layers as { stride: unknown }[])[0].stride = [2])),
    runLine((m) => (m.problem.extra = 1)),
    'nope',
  ]);
  const cpu = (h as typeof FAKE_HELLO).capabilities.devices[0] as {
    name: string;
    dtypes: string[];
    unsupported?: Record<string, string>;
  };
  expect(cpu.name).toBe('cpu');
  expect(['float32', 'float64', 'bfloat16'].every((d) => cpu.dtypes.includes(d))).toBe(true);
  for (const d of DTYPES) expect(cpu.dtypes.includes(d) || !!cpu.unsupported?.[d]).toBe(true);
  expect(e1).toMatchObject({ type: 'error', id: 'a', error: { code: 'bad-message', field: 'problem.layers[0].stride' } });
  expect(e2).toMatchObject({ type: 'error', id: 'a', error: { code: 'bad-message', field: 'problem.extra', message: 'unknown field' } });
  expect(e3).toMatchObject({ type: 'error', id: null, error: { code: 'bad-message' } });
}

/** Specials through torch's max_pool2d with a 1×1 window, which copies its input. */
async function throughMaxPool(): Promise<void> {
  const b = await torchBackend();
  for (const p of b.precisions) {
    const d = ({ '32': 'float32', '64': 'float64', bf16: 'bfloat16', '16': 'float16' } as Record<string, Dtype>)[p];
    const data = Array.from(decodeFloats(SPECIALS[d].map(([h]) => h).join(''), d));
    const problem: Problem = {
      input: { shape: [1, 1, 1, data.length], data },
      layers: [{ kind: 'maxpool', kernel: [1, 1], stride: [1, 1], padding: [0, 0] }],
      params: [null],
      cotangent: data.map(() => 1),
    };
    const r = await b.run(problem, {
      precision: p,
      accumulate: 'strict',
      jacobian: { maxpool: FIRST, reluAlpha: 0, betaMode: 'backward' },
    });
    const got = r.activations![1];
    data.forEach((x, i) => {
      // torch 1.13 computes bfloat16 pooling through float32 and rounds NaN back to the canonical 0x7fc0.
      if (d === 'bfloat16' && Number.isNaN(x)) expect(encodeFloats([got[i]], d)).toBe('7fc0');
      else expect(encodeFloats([got[i]], d), `${d} forward[${i}]`).toBe(encodeFloats([x], d));
    });
    expect(r.grads.input).toEqual(data.map(() => 1));
  }
}

/** The bridge's decode and encode (imported from the script) give every special back unchanged. */
function bridgeCodec(): void {
  const signalling: Record<Dtype, string> = { float16: '7c01', bfloat16: '7f81', float32: '7f800001', float64: '7ff0000000000001' };
  const cases = Object.fromEntries(DTYPES.map((d) => [d, SPECIALS[d].map(([h]) => h).join('') + signalling[d]]));
  const code = [
    'import importlib.util, json, sys, torch',
    `spec = importlib.util.spec_from_file_location("bridge", ${JSON.stringify(TORCH_BRIDGE)})`,
    'b = importlib.util.module_from_spec(spec); spec.loader.exec_module(b); b.torch = torch',
    'cases = json.loads(sys.argv[1])',
    'print(json.dumps({d: b.encode(b.decode({"shape": [len(h) // b.HEX_WIDTH[d]], "bits": h}, d, "cpu"), d)["bits"] for d, h in cases.items()}))',
  ].join('\n');
  const r = spawnSync(TORCH!.python, ['-c', code, JSON.stringify(cases)], { encoding: 'utf8', timeout: 120_000 });
  expect(r.status, r.stderr).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual(cases);
}

/** Export a verify run's problems, run the real bridge on the file, import its results: the same table as the live bridge. */
async function batchEndToEnd(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'adzone-batch-'));
  const gens = ['exact-tie', 'argmax-flip-32'];
  const b = exportBatch({
    samples: 6,
    seed: 7,
    generators: gens.map((g) => generatorById(g)),
    precisions: ['32', '64', 'bf16', '16'],
    clientVersion: 't',
  });
  writeFileSync(join(dir, 'problems.jsonl'), b.text);
  const run = spawnSync(TORCH!.python, [TORCH_BRIDGE, '--batch', join(dir, 'problems.jsonl'), '--out', join(dir, 'results.jsonl')], {
    encoding: 'utf8',
    timeout: 300_000,
  });
  expect(run.status, run.stderr).toBe(0);
  const recorded = recordedBackend('torch', 'PyTorch', join(dir, 'results.jsonl'));
  const live = await torchBackend();
  expect(recorded.precisions).toEqual(live.precisions);
  const { measureTieRuleOf } = await import('../src/backends/tie_rule.ts');
  const rule = await measureTieRuleOf(recorded);
  expect([rule.rule, rule.nan.rule]).toEqual(['first', 'last']);
  const table = async (backend: AdBackend) => (await runVerify(verifyOptions([backend], { torch: FIRST }, gens, 6))).table;
  expect(await table(recorded)).toEqual(await table(live));
  // A run asking for a draw the batch lacks is told how to make a matching one.
  await expect(runVerify(verifyOptions([recorded], { torch: FIRST }, gens, 7))).rejects.toThrow(
    /has no result for a .* problem .*same --seed, --samples/,
  );
}

describe.skipIf(!TORCH)(`PyTorch bridge (${TORCH ? `torch ${TORCH.moduleVersion} at ${TORCH.python}` : 'PyTorch not found'})`, () => {
  it('says what it can do, and answers a bad request with an error naming the field', helloAndFieldErrors);

  it('refuses a client that offers no protocol version it speaks, and ends the session', () => {
    const r = spawnSync(TORCH!.python, [TORCH_BRIDGE], {
      input: `${JSON.stringify({ type: 'hello', protocols: [99], client: { name: 't', version: '0' } })}\n${runLine(() => {})}\n`,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.status).toBe(2);
    expect(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([
      {
        type: 'error',
        id: null,
        error: { code: 'unsupported', field: 'protocols', message: expect.stringMatching(/speaks protocol 1; the client offers \[99\]/) },
      },
    ]);
  });

  it("the bridge's own codec is exact: every special, signalling NaNs included, goes hex → torch tensor → hex unchanged", bridgeCodec);

  it(
    'carries −0, subnormals, ±Inf and NaN through torch ops: a 1×1 max_pool2d copies its input (bfloat16 NaN payloads: torch makes them 7fc0)',
    throughMaxPool,
  );

  it('tie rule measured: first; a window holding NaN sends its gradient to its last NaN', async () => {
    const m = await measureTieRule('torch', TORCH_OPTS);
    console.log(m.summary);
    expect(m.rule).toBe('first');
    expect(m.misrouted.windows).toBe(0);
    expect(m.matches.first).toBeGreaterThan(200);
    expect(m.nan.rule).toBe('last');
    expect(m.nan.multiNaN).toBeGreaterThan(50);
    expect(m.evidence).toContain('[NaN, NaN, 0, 0] → index 1, [0, NaN, NaN, NaN] → index 3');
  });

  it('a verify sweep at 32, 64 and bfloat16 agrees with the classifier: nothing inconsistent, no defect', async () => {
    const b = await torchBackend();
    const m = await measureTieRule('torch', TORCH_OPTS);
    const gens = ['exact-tie', 'argmax-flip-32', 'near-tie-chain', 'relu-zero'];
    const r = await runVerify(verifyOptions([b], { torch: { kind: m.rule as 'first' } }, gens, 12));
    console.log(r.table.map((t) => `${t.generator} ${t.precision}: ${JSON.stringify(t.counts)}`).join('\n'));
    expect(r.table).toHaveLength(gens.length * 3);
    for (const t of r.table) {
      expect(t.n, `${t.generator} ${t.precision}`).toBe(12);
      expect([t.inconsistent, t.counts.defect, t.noForward ?? 0], `${t.generator} ${t.precision}`).toEqual([0, 0, 0]);
    }
    // At 64 bits an exact lone-MaxPool input has nothing for rounding to change.
    expect(r.table.find((t) => t.generator === 'exact-tie' && t.precision === '64')!.counts['compensation:tie']).toBe(0);
  });

  it('batch mode end to end: export, the bridge on files, import; the same table as the live bridge', batchEndToEnd);

  it('adzone verify --backends torch writes a report whose tie rule for torch is first', () => {
    const out = mkdtempSync(join(tmpdir(), 'adzone-verify-torch-'));
    const r = spawnSync(
      process.execPath,
      [
        join(ROOT, 'bin/adzone.js'),
        'verify',
        '--backends',
        'torch',
        '--generators',
        'exact-tie',
        '--samples',
        '4',
        '--precision',
        '32,bf16',
        '--quiet',
        '--out',
        out,
      ],
      { encoding: 'utf8', timeout: 300_000, env: { ...process.env, ADZONE_PYTHON: TORCH!.python } },
    );
    expect(r.status, r.stderr).toBe(0);
    const json = JSON.parse(readFileSync(join(out, 'verify.json'), 'utf8'));
    expect(json.tieRules).toEqual([expect.objectContaining({ backend: 'torch', rule: 'first' })]);
    expect(json.table.map((t: { precision: string }) => t.precision)).toEqual(['32', 'bf16']);
    expect(json.tool.backends.torch.torch).toBe(TORCH!.moduleVersion);
  });
});
