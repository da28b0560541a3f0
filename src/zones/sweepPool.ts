/**
 * Running the sweep's units (sweep.ts) on worker threads, or in this thread for one job. A queue
 * hands each runner the next unit when it is free; units may be added while others run (a
 * generator's shrinks, once its draws are done), and the pool ends when the queue is empty and
 * nothing runs. Each worker builds its own context (backends loaded by id, the oracle, the
 * generators) from plain data; the tie rules are measured once, by the caller, and passed in.
 * Every unit is deterministic and its outcome is stored by its key, so the result does not depend
 * on the number of workers or on the order units finish in.
 */
import { Worker } from 'node:worker_threads';
import type { BackendOptions } from '../backends/registry.ts';
import { runDrawTask, runShrinkTask, type SweepContext, type SweepOutcome, type SweepSpec, type SweepTask } from './sweep.ts';

/** What a worker thread is started with: the backends to load (those that cannot run here are left out, as in the main thread). */
export interface WorkerInit {
  readonly backendIds: readonly string[];
  readonly backendOptions: BackendOptions;
}

/** What a unit runs with in a worker: the run's spec and the backends the main thread loaded (by id). */
export interface WorkerRun {
  readonly spec: SweepSpec;
  readonly backendIds: readonly string[];
}

export type ToSweepWorker = { readonly type: 'task'; readonly task: SweepTask; readonly run: WorkerRun } | { readonly type: 'stop' };
export type FromSweepWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'done'; readonly outcome: SweepOutcome }
  | { readonly type: 'error'; readonly message: string };

/** Runs one unit at a time. */
export interface Runner {
  run(task: SweepTask): Promise<SweepOutcome>;
  close(): Promise<void>;
}

export function runUnit(ctx: SweepContext, task: SweepTask): Promise<SweepOutcome> {
  return task.kind === 'draws' ? runDrawTask(ctx, task) : runShrinkTask(ctx, task);
}

export function inThreadRunner(ctx: SweepContext): Runner {
  return { run: (task) => runUnit(ctx, task), close: async () => {} };
}

const ENTRY = new URL('./sweep-worker-entry.js', import.meta.url);

/**
 * A worker thread that loads its backends as soon as it starts (while the main thread loads its
 * own and measures the tie rules); `runner(run)` gives the runner for a run once it is ready.
 */
export function startWorker(init: WorkerInit): {
  readonly runner: (run: WorkerRun) => Promise<Runner>;
  readonly close: () => Promise<void>;
} {
  const w = new Worker(ENTRY, { workerData: init });
  let pending: { resolve: (o: SweepOutcome) => void; reject: (e: Error) => void } | undefined;
  let failure: Error | undefined;
  let exited = false;
  const ready = new Promise<void>((resolveReady, rejectReady) => {
    const fail = (e: Error) => {
      failure ??= e;
      pending?.reject(e);
      pending = undefined;
      rejectReady(e);
    };
    w.on('message', (m: FromSweepWorker) => {
      if (m.type === 'ready') return resolveReady();
      if (m.type === 'error') return fail(new Error(`verify worker: ${m.message}`));
      const p = pending;
      pending = undefined;
      p?.resolve(m.outcome);
    });
    w.on('error', (e) => fail(e));
    w.on('exit', (code) => {
      exited = true;
      if (code !== 0) fail(new Error(`verify worker exited with code ${code}`));
    });
  });
  ready.catch(() => {}); // reported through runner() and run()
  const close = async () => {
    if (exited) return;
    w.postMessage({ type: 'stop' } satisfies ToSweepWorker);
    await new Promise<void>((r) => {
      w.once('exit', () => r());
      setTimeout(() => void w.terminate().then(() => r()), 5000).unref();
    });
  };
  const runner = async (run: WorkerRun): Promise<Runner> => {
    await ready;
    return {
      run(task) {
        if (failure) return Promise.reject(failure);
        return new Promise<SweepOutcome>((resolve, reject) => {
          pending = { resolve, reject };
          w.postMessage({ type: 'task', task, run } satisfies ToSweepWorker);
        });
      },
      close,
    };
  };
  return { runner, close };
}

/** Units to run: added at any time; `next` waits while the queue is empty but units still run (they may add more). */
export class TaskQueue {
  private readonly items: SweepTask[] = [];
  private running = 0;
  private aborted = false;
  private waiters: ((t: SweepTask | undefined) => void)[] = [];

  add(...tasks: SweepTask[]): void {
    if (this.aborted) return;
    this.items.push(...tasks);
    while (this.waiters.length && this.items.length) {
      this.running++;
      this.waiters.shift()!(this.items.shift());
    }
  }

  next(): Promise<SweepTask | undefined> {
    if (this.items.length) {
      this.running++;
      return Promise.resolve(this.items.shift());
    }
    if (this.running === 0 || this.aborted) return Promise.resolve(undefined);
    return new Promise((r) => this.waiters.push(r));
  }

  /** A unit handed out by `next` has finished (after its outcome has added any follow-up units). */
  finished(): void {
    this.running--;
    if (this.running === 0 && this.items.length === 0) this.wakeAll();
  }

  /** Hand out nothing more (a unit failed). */
  abort(): void {
    this.aborted = true;
    this.items.length = 0;
    this.wakeAll();
  }

  private wakeAll(): void {
    for (const w of this.waiters.splice(0)) w(undefined);
  }
}

/**
 * Run the queue on the runners until it is empty and nothing runs; `onDone` sees every outcome as
 * it comes (and may add units). The first failure stops the pool and is thrown.
 */
export async function drain(queue: TaskQueue, runners: readonly Runner[], onDone: (t: SweepTask, o: SweepOutcome) => void): Promise<void> {
  let failure: unknown;
  const loop = async (runner: Runner) => {
    for (let t = await queue.next(); t; t = await queue.next()) {
      try {
        onDone(t, await runner.run(t));
      } catch (e) {
        failure ??= e;
        queue.abort();
      } finally {
        queue.finished();
      }
    }
  };
  await Promise.all(runners.map(loop));
  if (failure !== undefined) throw failure;
}
