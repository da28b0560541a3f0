/**
 * The Node end of the PyTorch training bridge (bridges/torch/adzone_torch_train.py, protocol
 * adzone-torch-train 1): frames of a JSON line and the binary arrays it lists, little-endian IEEE
 * 754, each array from a multiple of 8 bytes. Batches are large, so they travel as raw float32 /
 * float64 (exact, and a quarter of the hex text the verification protocol would send).
 *
 * One request at a time, answered in order; nothing can hang: a bridge that says no hello, leaves a
 * request unanswered past its timeout, exits, or sends a frame it cannot have meant fails every
 * request with a TorchBridgeError saying which (with the end of its stderr), and is killed. The
 * process does not keep Node alive while idle; close() ends it.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { InputError } from '../../util/errors.ts';

/** The bridge failed: did not start, exited, went silent or broke the protocol. Unusable environment (exit 2). */
export class TorchBridgeError extends InputError {
  override name = 'TorchBridgeError';
}

/** The bridge answered a request with an error (code 'unsupported', 'bad-message' or 'failed'). */
export class TorchRequestError extends Error {
  override name = 'TorchRequestError';
  constructor(
    readonly code: string,
    readonly reason: string,
    /** The request's field at fault ('device', 'dtype'), when the bridge names one. */
    readonly field?: string,
  ) {
    super(`${code}: ${reason}`);
  }
}

export type WireArray = Float32Array | Float64Array | Int32Array;
type WireDtype = 'float32' | 'float64' | 'int32';

export interface Frame {
  readonly head: Record<string, unknown>;
  readonly arrays: Map<string, WireArray>;
}

interface Listed {
  readonly name: string;
  readonly dtype: WireDtype;
  readonly shape: readonly number[];
}

const dtypeOf = (a: WireArray): WireDtype => (a instanceof Float64Array ? 'float64' : a instanceof Float32Array ? 'float32' : 'int32');
const align8 = (n: number) => (n + 7) & ~7;

/** The bytes of one frame: the head with its array list and byte count, a newline, the arrays. */
export function encodeFrame(head: object, arrays: readonly (readonly [string, WireArray, readonly number[]])[] = []): Buffer {
  const listed: Listed[] = [];
  let at = 0;
  const offsets: number[] = [];
  for (const [name, a, shape] of arrays) {
    at = align8(at);
    offsets.push(at);
    listed.push({ name, dtype: dtypeOf(a), shape });
    at += a.byteLength;
  }
  const line = Buffer.from(`${JSON.stringify({ ...head, arrays: listed, bytes: at })}\n`, 'utf8');
  const out = Buffer.alloc(line.length + at);
  line.copy(out, 0);
  arrays.forEach(([, a], i) => {
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).copy(out, line.length + offsets[i]);
  });
  return out;
}

const CTOR = { float32: Float32Array, float64: Float64Array, int32: Int32Array } as const;

/** Reads frames from a byte stream, however it is chunked. */
export class FrameReader {
  private chunks: Buffer[] = [];
  private size = 0;
  private head: { value: Record<string, unknown>; bytes: number } | null = null;

  /** Add bytes; returns the frames they complete. Throws on a frame that breaks the protocol. */
  push(chunk: Buffer): Frame[] {
    this.chunks.push(chunk);
    this.size += chunk.length;
    const out: Frame[] = [];
    for (;;) {
      const f = this.next();
      if (!f) return out;
      out.push(f);
    }
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.size);
    const taken = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.size = rest.length;
    return taken;
  }

  /** Where the first newline is in the bytes held, or −1 (a frame's line is short: it ends in the first chunks). */
  private newline(): number {
    let offset = 0;
    for (const c of this.chunks) {
      const i = c.indexOf(10);
      if (i >= 0) return offset + i;
      offset += c.length;
    }
    return -1;
  }

  /** The next whole frame, or null; a payload is joined once, when all of it has come (not once per chunk). */
  private next(): Frame | null {
    if (!this.head) {
      const nl = this.newline();
      if (nl < 0) return null;
      const value = JSON.parse(this.take(nl + 1).toString('utf8')) as Record<string, unknown>;
      if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('a frame line is not a JSON object');
      const bytes = value.bytes ?? 0;
      if (!Number.isSafeInteger(bytes) || (bytes as number) < 0) throw new Error(`a frame says it has ${String(bytes)} bytes`);
      this.head = { value, bytes: bytes as number };
    }
    if (this.size < this.head.bytes) return null;
    const { value, bytes } = this.head;
    this.head = null;
    return { head: value, arrays: decodeArrays(value.arrays, this.take(bytes)) };
  }
}

function decodeArrays(listed: unknown, payload: Buffer): Map<string, WireArray> {
  const arrays = new Map<string, WireArray>();
  if (listed === undefined) return arrays;
  if (!Array.isArray(listed)) throw new Error("a frame's 'arrays' is not a list");
  let at = 0;
  for (const l of listed as Listed[]) {
    const Ctor = CTOR[l?.dtype];
    if (!Ctor || !Array.isArray(l.shape)) throw new Error(`array ${JSON.stringify(l)} has no dtype float32, float64 or int32 and shape`);
    at = align8(at);
    const n = l.shape.reduce((a, b) => a * b, 1);
    const size = n * Ctor.BYTES_PER_ELEMENT;
    if (at + size > payload.length) throw new Error(`array '${l.name}' runs past the payload (${payload.length} bytes)`);
    const a = new Ctor(n);
    Buffer.from(a.buffer).set(payload.subarray(at, at + size));
    arrays.set(l.name, a);
    at += size;
  }
  if (at !== payload.length) throw new Error(`the arrays take ${at} bytes, the payload has ${payload.length}`);
  return arrays;
}

export interface TorchBridgeOptions {
  readonly python: string;
  readonly script: string;
  /** What the bridge is, for messages. */
  readonly label: string;
  /** Default 120 s: importing torch and probing the devices is slow on a busy machine. */
  readonly handshakeTimeoutMs?: number;
  /** How long one request may stay unanswered (default 10 minutes: a ResNet step on a CPU is long). */
  readonly requestTimeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly clientVersion?: string;
}

interface Waiter {
  readonly resolve: (f: Frame) => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout;
  readonly what: string;
}

type Ref = { ref?: () => void; unref?: () => void };

export class TorchBridge {
  private readonly reader = new FrameReader();
  private readonly stderrTail: string[] = [];
  private waiter: Waiter | null = null;
  private failure: Error | null = null;
  private exited = false;
  private nextId = 1;
  /** The bridge's hello: frameworks (versions) and devices with the dtypes they run. */
  hello: Record<string, unknown> = {};

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly opts: TorchBridgeOptions,
  ) {}

  /** Spawn the bridge and shake hands; a TorchBridgeError when it cannot start or answer. */
  static async start(opts: TorchBridgeOptions): Promise<TorchBridge> {
    const child = spawn(opts.python, [opts.script], { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    const b = new TorchBridge(child, opts);
    b.wire();
    const hello = await b.exchange(
      encodeFrame({ type: 'hello', protocol: 1, client: { name: 'adzone', version: opts.clientVersion ?? '?' } }),
      'hello',
      opts.handshakeTimeoutMs ?? 120_000,
    );
    if (hello.head.type !== 'hello') throw b.broke(`expected its hello, got ${JSON.stringify(hello.head).slice(0, 200)}`);
    b.hello = hello.head;
    return b;
  }

  private wire(): void {
    this.child.stdout.on('data', (chunk: Buffer) => this.onData(chunk));
    this.child.stderr.on('data', (chunk: Buffer) => {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) this.stderrTail.push(l.trim().slice(0, 300));
      this.stderrTail.splice(0, Math.max(0, this.stderrTail.length - 20));
    });
    this.child.on('error', (e) => this.fail(new TorchBridgeError(`${this.opts.label} could not be run: ${e.message}`)));
    this.child.on('close', (code, signal) => {
      this.exited = true;
      this.fail(new TorchBridgeError(`${this.opts.label} exited (${signal ? `signal ${signal}` : `code ${code}`})${this.tail()}`));
    });
    this.child.stdin.on('error', () => {}); // EPIPE after an exit: reported by 'close'
    this.idle();
  }

  private tail(): string {
    return this.stderrTail.length ? `; its stderr ends: ${this.stderrTail.slice(-3).join(' | ')}` : '';
  }

  private broke(why: string): TorchBridgeError {
    const e = new TorchBridgeError(`${this.opts.label} broke the protocol: ${why}`);
    this.fail(e);
    return e;
  }

  private onData(chunk: Buffer): void {
    if (this.failure) return;
    let frames: Frame[];
    try {
      frames = this.reader.push(chunk);
    } catch (e) {
      this.broke((e as Error).message);
      return;
    }
    for (const f of frames) {
      const w = this.waiter;
      if (!w) {
        this.broke(`a frame nobody asked for: ${JSON.stringify(f.head).slice(0, 200)}`);
        return;
      }
      this.waiter = null;
      clearTimeout(w.timer);
      this.idle();
      w.resolve(f);
    }
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    const w = this.waiter;
    this.waiter = null;
    if (w) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    if (!this.exited) this.child.kill('SIGKILL');
    this.idle();
  }

  private setRef(on: boolean): void {
    for (const h of [this.child, this.child.stdin, this.child.stdout, this.child.stderr] as Ref[]) (on ? h.ref : h.unref)?.call(h);
  }

  private idle(): void {
    this.setRef(false);
  }

  private exchange(bytes: Buffer, what: string, ms: number): Promise<Frame> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.waiter) return Promise.reject(new Error(`${this.opts.label}: a request is already in flight`));
    return new Promise<Frame>((resolve, reject) => {
      const timer = setTimeout(
        () => this.fail(new TorchBridgeError(`${this.opts.label} gave no answer to ${what} within ${ms / 1000} s${this.tail()}`)),
        ms,
      );
      this.waiter = { resolve, reject, timer, what };
      this.setRef(true);
      this.child.stdin.write(bytes);
    });
  }

  /** Send one request; resolves with the reply frame, rejects with a TorchRequestError (the bridge's error) or a TorchBridgeError. */
  async request(
    type: string,
    head: object = {},
    arrays: readonly (readonly [string, WireArray, readonly number[]])[] = [],
  ): Promise<Frame> {
    const id = String(this.nextId++);
    const reply = await this.exchange(
      encodeFrame({ type, id, ...head }, arrays),
      `'${type}' (request ${id})`,
      this.opts.requestTimeoutMs ?? 600_000,
    );
    if (reply.head.id !== id) throw this.broke(`answered request ${id} with id ${JSON.stringify(reply.head.id)}`);
    if (reply.head.type === 'error') {
      const e = (reply.head.error ?? {}) as { code?: string; message?: string; field?: string };
      throw new TorchRequestError(String(e.code ?? 'failed'), String(e.message ?? 'no message'), e.field);
    }
    return reply;
  }

  /** End the session: close stdin and wait for the bridge to exit (killed after `graceMs`). */
  async close(graceMs = 5_000): Promise<void> {
    if (this.exited) return;
    this.setRef(true);
    const exited = new Promise<void>((r) => this.child.once('close', () => r()));
    if (!this.failure) this.failure = new TorchBridgeError(`${this.opts.label} was closed`);
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}
