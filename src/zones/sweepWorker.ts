/**
 * A verify worker thread (started by sweepPool.ts through sweep-worker-entry.js): loads the
 * backends it is given by id, then runs the units it is sent, one at a time, until told to stop.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { isUnavailable, loadBackend } from '../backends/registry.ts';
import type { AdBackend } from '../backends/types.ts';
import { generatorById } from '../generators/index.ts';
import { decimalOracle } from '../oracle/index.ts';
import type { SweepContext } from './sweep.ts';
import { type FromSweepWorker, runUnit, type ToSweepWorker, type WorkerInit, type WorkerRun } from './sweepPool.ts';

const describe = (e: unknown) => (e instanceof Error ? (e.stack ?? e.message) : String(e));

/** Load the backends this worker was started with; those that cannot run here are left out, as the main thread leaves them out. */
async function loadAll(init: WorkerInit): Promise<AdBackend[]> {
  const backends: AdBackend[] = [];
  for (const id of init.backendIds) {
    const b = await loadBackend(id, init.backendOptions);
    if (!isUnavailable(b)) backends.push(b);
  }
  return backends;
}

function contextOf(backends: readonly AdBackend[], run: WorkerRun): SweepContext {
  const missing = run.backendIds.filter((id) => !backends.some((b) => b.id === id));
  if (missing.length) throw new Error(`backend ${missing.join(', ')} loaded in the main thread but not in a worker`);
  return {
    spec: run.spec,
    backends: run.backendIds.map((id) => backends.find((b) => b.id === id)!),
    oracle: decimalOracle,
    generator: generatorById,
  };
}

async function workerMain(): Promise<void> {
  const port = parentPort!;
  let backends: AdBackend[];
  try {
    backends = await loadAll(workerData as WorkerInit);
  } catch (e) {
    port.postMessage({ type: 'error', message: describe(e) } satisfies FromSweepWorker);
    return;
  }
  port.on('message', (m: ToSweepWorker) => {
    if (m.type === 'stop') {
      // Close what holds the thread open (a PyTorch bridge process), then end the thread.
      void Promise.allSettled(backends.map((b) => b.close?.())).then(() => {
        port.close();
        process.exit(0);
      });
      return;
    }
    Promise.resolve()
      .then(() => runUnit(contextOf(backends, m.run), m.task))
      .then(
        (outcome) => port.postMessage({ type: 'done', outcome } satisfies FromSweepWorker),
        (e: unknown) => port.postMessage({ type: 'error', message: describe(e) } satisfies FromSweepWorker),
      );
  });
  port.postMessage({ type: 'ready' } satisfies FromSweepWorker);
}

if (!isMainThread) void workerMain();
