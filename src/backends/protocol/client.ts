/**
 * The stdio client of the AD protocol: spawns a bridge process, shakes hands (with a timeout),
 * sends run requests (pipelined, matched to their results by id) and checks every message the
 * bridge sends. Nothing can hang: a bridge that never says hello, leaves a request unanswered past
 * its timeout, exits, or sends a line that breaks the protocol fails every request in flight with
 * a BridgeError saying which (with the end of its stderr), and is killed.
 *
 * The process does not keep Node alive while idle (it is unref'd between requests), so a caller
 * that forgets `close()` still exits; `close()` ends it cleanly.
 *
 *   const c = await BridgeClient.start({ command: '/usr/bin/python3', args: [BRIDGE, '--device', 'cpu'] });
 *   const r = await c.run({ dtype: 'float32', problem });
 *   await c.close();
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { InputError } from '../../util/errors.ts';
import {
  BRIDGE_MESSAGES,
  type BridgeHello,
  type BridgeMessage,
  type ErrorMessage,
  PROTOCOL_VERSION,
  type RunRequest,
  type RunResult,
} from './schema.ts';
import { ProtocolError, readMessage } from './validate.ts';

/** The bridge failed: did not start, exited, went silent, or broke the protocol (`cause` then holds the ProtocolError). */
export class BridgeError extends InputError {
  override name = 'BridgeError';
}

/** The bridge answered a request with an error message (the session goes on). */
export class BridgeRequestError extends Error {
  override name = 'BridgeRequestError';
  constructor(readonly reply: ErrorMessage) {
    super(`${reply.error.code}${reply.error.field ? ` at ${reply.error.field}` : ''}: ${reply.error.message}`);
  }
}

export interface BridgeClientOptions {
  readonly command: string;
  readonly args?: readonly string[];
  /** What the bridge is, for messages (default: the command). */
  readonly label?: string;
  /** How long the bridge may take to say hello (default 60 s: importing a framework is slow). */
  readonly handshakeTimeoutMs?: number;
  /** How long one request may stay unanswered (default 120 s). */
  readonly requestTimeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly client?: { readonly name: string; readonly version: string };
}

interface Pending {
  readonly resolve: (r: RunResult) => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout;
}

type Ref = { ref?: () => void; unref?: () => void };

export class BridgeClient {
  private readonly pending = new Map<string, Pending>();
  private readonly stderrTail: string[] = [];
  private failure: Error | undefined;
  private closed = false;
  private nextId = 1;
  private helloWaiter: { resolve: (h: BridgeHello) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | undefined;
  hello: BridgeHello | undefined;

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly opts: BridgeClientOptions,
  ) {}

  /** Spawn the bridge and shake hands; rejects with a BridgeError when it cannot start or answer. */
  static async start(opts: BridgeClientOptions): Promise<BridgeClient> {
    const child = spawn(opts.command, [...(opts.args ?? [])], { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    const c = new BridgeClient(child, opts);
    c.wire();
    const hello = new Promise<BridgeHello>((resolve, reject) => {
      const ms = opts.handshakeTimeoutMs ?? 60_000;
      const timer = setTimeout(() => c.fail(new BridgeError(`${c.label} said no hello within ${ms / 1000} s${c.tail()}`)), ms);
      c.helloWaiter = { resolve, reject, timer };
    });
    c.send({ type: 'hello', protocols: [PROTOCOL_VERSION], client: opts.client ?? { name: 'adzone', version: '?' } });
    c.hello = await hello;
    c.idle();
    return c;
  }

  private get label(): string {
    return this.opts.label ?? this.opts.command;
  }

  private tail(): string {
    return this.stderrTail.length ? `; its stderr ends: ${this.stderrTail.slice(-3).join(' | ')}` : '';
  }

  private wire(): void {
    const lines = createInterface({ input: this.child.stdout });
    lines.on('line', (line) => this.onLine(line));
    createInterface({ input: this.child.stderr }).on('line', (l) => {
      if (l.trim()) this.stderrTail.push(l.trim().slice(0, 300));
      if (this.stderrTail.length > 20) this.stderrTail.shift();
    });
    this.child.on('error', (e) => this.fail(new BridgeError(`${this.label} could not be run: ${e.message}`)));
    // 'close' comes after the process exited and its stdout and stderr ended: every line it wrote has been read.
    this.child.on('close', (code, signal) =>
      this.fail(new BridgeError(`${this.label} exited (${signal ? `signal ${signal}` : `code ${code}`})${this.tail()}`)),
    );
    this.child.stdin.on('error', () => {}); // EPIPE after an exit: reported by 'close'.
    this.child.once('close', () => {
      this.closed = true;
    });
  }

  private onLine(line: string): void {
    if (this.failure || !line.trim()) return;
    let msg: BridgeMessage;
    try {
      msg = readMessage<BridgeMessage>(line, BRIDGE_MESSAGES, 'it');
    } catch (e) {
      this.fail(new BridgeError(`${this.label} broke the protocol: ${(e as Error).message}`, undefined), e);
      return;
    }
    if (!this.hello) {
      this.onHello(msg);
      return;
    }
    if (msg.type === 'hello') {
      this.fail(new BridgeError(`${this.label} broke the protocol: a second hello`));
      return;
    }
    const p = msg.id === null ? undefined : this.pending.get(msg.id);
    if (!p) {
      const why = msg.type === 'error' ? `: ${msg.error.message}` : '';
      this.fail(new BridgeError(`${this.label} broke the protocol: id ${JSON.stringify(msg.id)} matches no request in flight${why}`));
      return;
    }
    this.pending.delete(msg.id as string);
    clearTimeout(p.timer);
    if (msg.type === 'error') p.reject(new BridgeRequestError(msg));
    else p.resolve(msg);
    if (this.pending.size === 0) this.idle();
  }

  private onHello(msg: BridgeMessage): void {
    const w = this.helloWaiter;
    if (!w) return;
    if (msg.type === 'error') {
      this.fail(new BridgeError(`${this.label} refused the handshake: ${msg.error.message}`));
    } else if (msg.type !== 'hello') {
      this.fail(new BridgeError(`${this.label} broke the protocol: expected its hello first, got a '${msg.type}'`));
    } else if (msg.protocol !== PROTOCOL_VERSION) {
      this.fail(new BridgeError(`${this.label} chose protocol ${msg.protocol}; this adzone speaks ${PROTOCOL_VERSION}`));
    } else {
      clearTimeout(w.timer);
      this.helloWaiter = undefined;
      this.hello = msg;
      w.resolve(msg);
    }
  }

  /** Fail everything in flight with `err`, kill the process; later calls reject with the same error. */
  private fail(err: Error, cause?: unknown): void {
    if (this.failure) return;
    if (cause !== undefined) (err as { cause?: unknown }).cause = cause;
    this.rejectAll(err);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  private rejectAll(err: Error): void {
    this.failure = err;
    if (this.helloWaiter) {
      clearTimeout(this.helloWaiter.timer);
      this.helloWaiter.reject(err);
      this.helloWaiter = undefined;
    }
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
    this.idle();
  }

  private setRef(on: boolean): void {
    for (const h of [this.child, this.child.stdin, this.child.stdout, this.child.stderr] as Ref[]) (on ? h.ref : h.unref)?.call(h);
  }

  private idle(): void {
    this.setRef(false);
  }

  private send(msg: object): void {
    this.setRef(true);
    this.child.stdin.write(`${JSON.stringify(msg)}\n`);
  }

  /** Send one run request; resolves with its result, rejects with a BridgeRequestError (the bridge's error reply) or a BridgeError. */
  run(req: Omit<RunRequest, 'type' | 'id'> & { readonly id?: string }): Promise<RunResult> {
    if (this.failure) return Promise.reject(this.failure);
    const id = req.id ?? String(this.nextId++);
    if (this.pending.has(id)) return Promise.reject(new ProtocolError('id', `'${id}' is already in flight`));
    const ms = this.opts.requestTimeoutMs ?? 120_000;
    return new Promise<RunResult>((resolve, reject) => {
      const timer = setTimeout(
        () => this.fail(new BridgeError(`${this.label} gave no answer to request ${id} within ${ms / 1000} s${this.tail()}`)),
        ms,
      );
      this.pending.set(id, { resolve, reject, timer });
      this.send({ type: 'run', id, dtype: req.dtype, ...(req.device ? { device: req.device } : {}), problem: req.problem });
    });
  }

  /** End the session: close the bridge's stdin and wait for it to exit (killed after `graceMs`); requests in flight are rejected. */
  async close(graceMs = 5_000): Promise<void> {
    if (this.closed) return;
    if (!this.failure) this.rejectAll(new BridgeError(`${this.label} was closed`));
    this.setRef(true);
    const exited = new Promise<void>((r) => this.child.once('close', () => r()));
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}
