/**
 * A network-zones worker thread (started by workers.ts through worker-entry.js): builds one
 * TaskContext from the config it is given, then runs the (batch, precision) tasks it is sent, one
 * at a time, until told to stop.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { TaskConfig } from './config.ts';
import { TaskContext } from './task.ts';
import type { FromWorker, ToWorker } from './workers.ts';

function workerMain(): void {
  const port = parentPort!;
  let ctx: TaskContext;
  try {
    ctx = new TaskContext((workerData as { cfg: TaskConfig }).cfg);
  } catch (e) {
    port.postMessage({ type: 'error', id: -1, message: (e as Error).stack ?? String(e) } satisfies FromWorker);
    return;
  }
  port.on('message', (m: ToWorker) => {
    if (m.type === 'stop') {
      port.close();
      return;
    }
    try {
      port.postMessage({ type: 'done', id: m.id, result: ctx.run(m.precision, m.batch) } satisfies FromWorker);
    } catch (e) {
      port.postMessage({ type: 'error', id: m.id, message: (e as Error).stack ?? String(e) } satisfies FromWorker);
    }
  });
  port.postMessage({ type: 'ready' } satisfies FromWorker);
}

if (!isMainThread) workerMain();
