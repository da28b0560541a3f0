// A kernels thread (threads.ts): the same kernels.wasm on the same shared memory, running its share
// of each GEMM job the main thread posts in the control block, until told to stop. Plain JS, so
// that it loads the same under tsx, vitest and plain node.
import { workerData } from 'node:worker_threads';

const { module, memory, ctl, ints, slot, done, failed } = workerData;
const { runProduct } = new WebAssembly.Instance(module, { env: { memory, exp: Math.exp, log: Math.log } }).exports;
const c = new Int32Array(memory.buffer, ctl, ints);
let seen = 0;
for (;;) {
  Atomics.wait(c, slot, seen);
  const gen = Atomics.load(c, slot);
  if (gen < 0) break;
  seen = gen;
  try {
    runProduct(c[slot + 1], c[slot + 2], c[slot + 3]);
  } catch {
    Atomics.store(c, failed, 1);
  }
  Atomics.add(c, done, 1);
  Atomics.notify(c, done);
}
