/**
 * Worker threads for the GEMM kernels: each runs kernels.wasm on the same shared memory and takes
 * its fixed share of a prepared job (kernels.as.ts `runProduct`), so a conv2d or linear kernel uses
 * every thread while its results stay the same bit for bit for any number of threads (each output
 * is computed whole, by one thread, in the same operations).
 *
 * The thread count: setThreads(n) (the --threads option of train and bench), else the
 * ADZONE_THREADS environment variable, else os.availableParallelism(). Products under
 * PARALLEL_FLOPS run on the calling thread alone (waking a thread costs more than they take).
 * The main thread posts a job through a control block in the shared memory and waits with
 * Atomics.wait; workers are unref'd, so they never keep a process alive.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { permanentBlock } from './device.ts';
import type { RawKernels } from './index.ts';

const WORKER = new URL('./threads-worker.js', import.meta.url);
/** The largest thread count accepted. */
export const MAX_THREADS = 64;
/** Products smaller than this (in flops) run on the calling thread alone. */
let parallelFlops = 4e6;

let configured: number | null = null;

/** Set the thread count for the kernels (null: back to ADZONE_THREADS or the available cores). */
export function setThreads(n: number | null): void {
  if (n !== null && !(Number.isInteger(n) && n >= 1 && n <= MAX_THREADS))
    throw new Error(`threads must be an integer in [1, ${MAX_THREADS}], got ${n}`);
  configured = n;
}

/** Products of at least `flops` flops use every thread (tests set 0 to split even tiny ones). */
export function setParallelThreshold(flops: number): void {
  parallelFlops = flops;
}

/** The thread count in force and where it comes from. */
export function threadSetting(): { readonly threads: number; readonly source: 'setThreads' | 'ADZONE_THREADS' | 'available cores' } {
  if (configured !== null) return { threads: configured, source: 'setThreads' };
  const env = process.env.ADZONE_THREADS;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!(Number.isInteger(n) && n >= 1 && n <= MAX_THREADS))
      throw new Error(`ADZONE_THREADS must be an integer in [1, ${MAX_THREADS}], got '${env}'`);
    return { threads: n, source: 'ADZONE_THREADS' };
  }
  return { threads: Math.min(MAX_THREADS, availableParallelism()), source: 'available cores' };
}

/** Threads for a product of `flops` flops. */
export function threadsFor(flops: number): number {
  return flops >= parallelFlops ? threadSetting().threads : 1;
}

interface Pool {
  readonly c: Int32Array;
  readonly workers: Worker[];
  gen: number;
}

/** Control block: [done, failed, then per worker: gen, job, t, T]. */
const DONE = 0;
const FAILED = 1;
const SLOT0 = 4;
const SLOT = 4;
const INTS = SLOT0 + SLOT * MAX_THREADS;

let pool: Pool | null = null;
let dispatched = 0;

/** Jobs run on more than one thread since the process started (tests check the threads ran). */
export function parallelRuns(): number {
  return dispatched;
}

function ensurePool(module: WebAssembly.Module, memory: WebAssembly.Memory, n: number): Pool {
  if (!pool) {
    const ctl = permanentBlock(INTS * 4);
    pool = { c: new Int32Array(memory.buffer, ctl, INTS), workers: [], gen: 0 };
    pool.c.fill(0);
  }
  const p = pool;
  const ctl = p.c.byteOffset;
  while (p.workers.length < n) {
    const slot = SLOT0 + SLOT * p.workers.length;
    const w = new Worker(WORKER, { workerData: { module, memory, ctl, ints: INTS, slot, done: DONE, failed: FAILED } });
    w.unref();
    p.workers.push(w);
  }
  return p;
}

/**
 * Make sure T − 1 worker threads exist. Call it before a driver prepares its job: the first call
 * allocates the control block from the pool, which would otherwise land on the job's scratch.
 */
export function ensureThreads(module: WebAssembly.Module, memory: WebAssembly.Memory, T: number): void {
  if (T > 1) ensurePool(module, memory, T - 1);
}

/** Run a prepared job on T threads (this one included; ensureThreads(T) came first) and wait for all of them. */
export function runJob(raw: RawKernels, job: number, T: number): void {
  if (T <= 1 || !pool || pool.workers.length < T - 1) {
    raw.runProduct(job, 0, 1);
    return;
  }
  const p = pool;
  dispatched++;
  const c = p.c;
  Atomics.store(c, DONE, 0);
  Atomics.store(c, FAILED, 0);
  p.gen = (p.gen + 1) & 0x3fffffff;
  for (let w = 0; w < T - 1; w++) {
    const s = SLOT0 + SLOT * w;
    c[s + 1] = job;
    c[s + 2] = w + 1;
    c[s + 3] = T;
    Atomics.store(c, s, p.gen);
    Atomics.notify(c, s);
  }
  raw.runProduct(job, 0, T);
  for (let d = Atomics.load(c, DONE); d < T - 1; d = Atomics.load(c, DONE)) Atomics.wait(c, DONE, d);
  if (Atomics.load(c, FAILED) !== 0) throw new Error('a kernels thread failed');
}
