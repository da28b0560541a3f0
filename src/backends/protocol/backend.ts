/**
 * An AdBackend that computes through the AD protocol: live, through a bridge process
 * (`bridgeBackend`), or from a results file a bridge wrote in batch mode (`recordedBackend`).
 * Either way a run rounds the problem to the dtype, sends it exactly, and checks and decodes the
 * answer (wire.ts); the backend's precisions are the dtypes its hello lists for the device.
 */
import { readFileSync } from 'node:fs';
import type { Problem } from '../../problem/index.ts';
import { InputError } from '../../util/errors.ts';
import type { AdBackend, BackendResult, BackendRunOptions } from '../types.ts';
import { type BridgeClient, BridgeRequestError } from './client.ts';
import { DTYPE_PRECISION, type Dtype, decodeFloats, dtypeOf, isDtype } from './floats.ts';
import {
  BRIDGE_MESSAGES,
  type BridgeHello,
  type BridgeMessage,
  type DeviceCapability,
  type RunResult,
  type WireProblem,
} from './schema.ts';
import { ProtocolError, readMessage } from './validate.ts';
import { problemToWire, requestKey, resultToBackend } from './wire.ts';

/** Computes one request: (dtype, encoded problem, its content key) → the bridge's result. */
export type Compute = (dtype: Dtype, problem: WireProblem, key: string) => Promise<RunResult>;

/** The hello's entry for `device`; throws naming the devices there are. */
export function deviceOf(hello: BridgeHello, device = hello.capabilities.defaultDevice): DeviceCapability {
  const d = hello.capabilities.devices.find((x) => x.name === device);
  if (!d)
    throw new ProtocolError(
      'capabilities.devices',
      `no device '${device}' (has ${hello.capabilities.devices.map((x) => x.name).join(', ')})`,
    );
  return d;
}

/** One line saying what the hello describes: framework versions, device, dtypes, what is unsupported. */
export function describeHello(hello: BridgeHello, device: DeviceCapability, what: string): string {
  const fw = Object.entries(hello.frameworks)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const unsupported = Object.entries(device.unsupported ?? {})
    .map(([k, v]) => `${k}: ${v}`)
    .join('; ');
  return (
    `${what} (${hello.bridge.name} ${hello.bridge.version}; ${fw}) on ${device.name}${device.description ? ` (${device.description})` : ''}: ` +
    `${device.dtypes.join(', ') || 'no dtype'}${unsupported ? ` (unsupported: ${unsupported})` : ''}; ` +
    `MaxPool and ReLU Jacobians fixed by the framework (tie rule measured)${hello.capabilities.maxpool ? `; maxpool computed by ${hello.capabilities.maxpool}` : ''}` +
    `${hello.capabilities.forwardValues ? '' : '; NO forward values: verdicts marked no-forward'}`
  );
}

class ProtocolBackend implements AdBackend {
  readonly fixedJacobian = true;
  readonly precisions: readonly string[];
  readonly forwardValues: boolean;
  readonly versions: Readonly<Record<string, string>>;

  constructor(
    readonly id: string,
    readonly description: string,
    hello: BridgeHello,
    private readonly device: DeviceCapability,
    private readonly compute: Compute,
    private readonly onClose?: () => Promise<void>,
  ) {
    this.precisions = device.dtypes.filter(isDtype).map((d) => DTYPE_PRECISION[d]);
    this.forwardValues = hello.capabilities.forwardValues;
    this.versions = { [hello.bridge.name]: hello.bridge.version, ...hello.frameworks };
  }

  async run(problem: Problem, opts: BackendRunOptions): Promise<BackendResult> {
    if (!this.precisions.includes(opts.precision)) {
      const why = this.device.unsupported?.[dtypeOf(opts.precision)];
      throw new Error(
        `${this.id} on ${this.device.name} computes in ${this.precisions.join(', ')}; precision '${opts.precision}' was asked for${why ? ` (${why})` : ''}`,
      );
    }
    const dtype = dtypeOf(opts.precision);
    const wire = problemToWire(problem, dtype);
    const res = await this.compute(dtype, wire, requestKey(dtype, wire));
    return resultToBackend(res, problem, dtype, Array.from(decodeFloats(wire.input.bits, dtype)), this.forwardValues);
  }

  close(): Promise<void> {
    return this.onClose?.() ?? Promise.resolve();
  }
}

/** A backend computing through a started bridge client, on the bridge's default device. */
export function bridgeBackend(id: string, what: string, client: BridgeClient): AdBackend {
  const hello = client.hello!;
  const device = deviceOf(hello);
  return new ProtocolBackend(
    id,
    describeHello(hello, device, what),
    hello,
    device,
    (dtype, problem) => client.run({ dtype, problem }),
    () => client.close(),
  );
}

/** Parse a results file: its bridge hello, and every result or error by id. Throws InputError naming the line and field. */
export function readResults(text: string, file: string): { hello: BridgeHello; byId: Map<string, RunResult | BridgeRequestError> } {
  const lines = text.split('\n').filter((l) => l.trim());
  if (!lines.length) throw new InputError(`${file} is empty: expected a bridge's hello, then its results`, file);
  const parse = (line: string, n: number): BridgeMessage => {
    try {
      return readMessage<BridgeMessage>(line, BRIDGE_MESSAGES, 'the bridge', file);
    } catch (e) {
      throw new InputError(`${file}, line ${n}: ${(e as Error).message}`, file);
    }
  };
  const hello = parse(lines[0], 1);
  if (hello.type !== 'hello') throw new InputError(`${file}, line 1: expected the bridge's hello, got a '${hello.type}'`, file);
  const byId = new Map<string, RunResult | BridgeRequestError>();
  lines.slice(1).forEach((line, i) => {
    const m = parse(line, i + 2);
    if (m.type === 'hello') throw new InputError(`${file}, line ${i + 2}: a second hello`, file);
    if (m.type === 'error' && m.id === null)
      throw new InputError(`${file}, line ${i + 2}: the bridge could not read a request: ${m.error.message}`, file);
    byId.set(m.id as string, m.type === 'error' ? new BridgeRequestError(m) : m);
  });
  return { hello, byId };
}

/**
 * A backend answering from a results file (batch mode): each run looks its result up by the
 * request's content key, so the file answers exactly the problems that were exported. A problem
 * the file lacks is an InputError saying how to make a matching batch.
 */
export function recordedBackend(id: string, what: string, file: string): AdBackend {
  const { hello, byId } = readResults(readFileSync(file, 'utf8'), file);
  const device = deviceOf(hello);
  const compute: Compute = async (dtype, problem, key) => {
    const r = byId.get(key);
    if (r === undefined) {
      throw new InputError(
        `${file} has no result for a ${dtype} problem with input ${problem.input.shape.join('×')} (request ${key}): ` +
          'export the batch with the same --seed, --samples, --generators and --precision as this run',
        file,
      );
    }
    if (r instanceof BridgeRequestError) throw r;
    return r;
  };
  return new ProtocolBackend(id, `${describeHello(hello, device, what)}; results read from ${file}`, hello, device, compute);
}
