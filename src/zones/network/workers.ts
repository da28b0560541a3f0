/**
 * Running the stage's (batch, precision) tasks: in this thread when one job (or one task) is
 * asked for, else on worker threads (worker.ts), each fed the next task as it finishes one. Every
 * task is deterministic on its own and its result is stored by (batch, precision), so the result
 * does not depend on the number of jobs or on the order the tasks finish in.
 */
import { Worker } from 'node:worker_threads';
import type { TaskConfig } from './config.ts';
import { type TaskBatch, TaskContext, type TaskResult } from './task.ts';

export interface Task {
  readonly id: number;
  readonly precision: string;
  readonly batch: TaskBatch;
}

export type ToWorker =
  | { readonly type: 'task'; readonly id: number; readonly precision: string; readonly batch: TaskBatch }
  | { readonly type: 'stop' };
export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'done'; readonly id: number; readonly result: TaskResult }
  | { readonly type: 'error'; readonly id: number; readonly message: string };

const ENTRY = new URL('./worker-entry.js', import.meta.url);

export async function runTasks(
  cfg: TaskConfig,
  tasks: Iterable<Task>,
  total: number,
  jobs: number,
  onDone: (t: Task, r: TaskResult) => void,
): Promise<void> {
  if (jobs <= 1 || total <= 1) {
    const ctx = new TaskContext(cfg);
    for (const t of tasks) {
      onDone(t, ctx.run(t.precision, t.batch));
      await new Promise((r) => setImmediate(r)); // let a progress line flush
    }
    return;
  }
  await runOnWorkers(cfg, tasks[Symbol.iterator](), Math.min(jobs, total), onDone);
}

/** n worker threads, each sent the next task when it is ready or done; rejects on the first failure, stopping the others. */
function runOnWorkers(cfg: TaskConfig, it: Iterator<Task>, n: number, onDone: (t: Task, r: TaskResult) => void): Promise<void> {
  const workers: Worker[] = [];
  return new Promise<void>((resolveAll, rejectAll) => {
    let running = 0;
    let failed = false;
    const inFlight = new Map<number, Task>();
    const fail = (e: Error) => {
      if (failed) return;
      failed = true;
      for (const w of workers) void w.terminate();
      rejectAll(e);
    };
    const feed = (w: Worker) => {
      const next = it.next();
      if (next.done) {
        w.postMessage({ type: 'stop' } satisfies ToWorker);
        return;
      }
      const t = next.value;
      inFlight.set(t.id, t);
      w.postMessage({ type: 'task', id: t.id, precision: t.precision, batch: t.batch } satisfies ToWorker);
    };
    const onMessage = (w: Worker, m: FromWorker) => {
      if (failed) return;
      if (m.type === 'ready') return feed(w);
      if (m.type === 'error') return fail(new Error(`zones worker: ${m.message}`));
      const t = inFlight.get(m.id)!;
      inFlight.delete(m.id);
      try {
        onDone(t, m.result);
      } catch (e) {
        return fail(e as Error);
      }
      feed(w);
    };
    for (let k = 0; k < n; k++) {
      const w = new Worker(ENTRY, { workerData: { cfg } });
      workers.push(w);
      running++;
      w.on('message', (m: FromWorker) => onMessage(w, m));
      w.on('error', (e) => fail(e));
      w.on('exit', (code) => {
        running--;
        if (failed) return;
        if (code !== 0) return fail(new Error(`zones worker exited with code ${code}`));
        if (running === 0) inFlight.size ? fail(new Error('zones workers stopped with tasks left')) : resolveAll();
      });
    }
  });
}
