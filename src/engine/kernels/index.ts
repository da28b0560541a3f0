/**
 * WebAssembly SIMD kernels for every op of a training step at binary16, binary32, binary64 (and
 * bfloat16 where a kernel has it), bit-identical to the JS loops of src/engine/ops (same summation
 * order per output element; SIMD only across independent outputs). A Tape whose Arith has kernels
 * (`deviceFor`, device.ts) keeps its tensors in the kernels' memory and runs each op's kernel; an
 * op falls back to its own JS loop when its kernel declines or the format has none.
 *
 *   kernels.as.ts   the AssemblyScript entry (conv2d and linear drivers, micro-kernel);
 *   ops.as.ts       ReLU, MaxPool, add, gradient accumulation, softmax cross-entropy, batch norm,
 *                   average pooling;
 *   round.as.ts     rounding to binary32/binary16/bfloat16 inside the kernels
 *   kernels.wasm    their build, committed: `npm run build:kernels` regenerates it, and
 *                   properties/kernels.test.ts checks that rebuilding gives the same bytes
 *   device.ts       the kernels' memory: arenas of tensors per tape, upload and download
 *   optim.ts        the SGD and Adam updates on the optimizers' arrays
 *   conv2d.ts, linear.ts   the GEMM calls on device tensors
 *
 * The JS path is used instead when
 * - ADZONE_KERNELS=js is set (read when a Tape is made, so tests can switch between passes);
 * - the Arith is checked (makeArith(..., { checkUnderflow: true })): the underflow flag needs every
 *   rounding observed;
 * - the format has no kernels (E4M3, E5M2), or an op's kernel does not cover it;
 * - the module cannot be loaded (no WebAssembly SIMD or shared memory), or memory runs out;
 * - a kernel declines: it would read padding (or the scatter's holes) as +0 against a non-finite
 *   factor, which would add NaN where the JS path skips the term (kernels.as.ts "Zero terms").
 *
 * The memory is a shared WebAssembly.Memory (so views of it never detach when it grows, and worker
 * threads can run the same kernels on it). Besides the device tensors, `loadKernels` offers the
 * conv2d/linear drivers with binary64 operands laid out by the caller from `heapBase()` (the
 * zones' bounded forward and `callKernel` use that).
 */
import { readFileSync } from 'node:fs';
import type { Arith } from '../arith.ts';

/**
 * Conv and linear drivers: (storage size, threads T, kind, R, shape…, addresses…, scratch). T = 0
 * computes the op at once; T ≥ 1 only prepares its job for T threads (runProduct runs them).
 */
type Driver = (...args: number[]) => number;

/** The raw exports of kernels.wasm (addresses are byte offsets into the shared memory). */
export interface RawKernels {
  heapBase(): number;
  convFwd: Driver;
  convDx: Driver;
  convDw: Driver;
  linFwd: Driver;
  linDx: Driver;
  linDw: Driver;
  reluFwd(E: number, n: number, x: number, y: number, sign: number): void;
  reluBwd(E: number, rk: number, n: number, sign: number, gy: number, alpha: number, dx: number): void;
  addP(E: number, rk: number, n: number, a: number, b: number, y: number): void;
  maxpoolFwd(
    E: number,
    planes: number,
    HW: number,
    P: number,
    K: number,
    map: number,
    x: number,
    y: number,
    offsets: number,
    indices: number,
  ): number;
  maxpool2x2(
    E: number,
    planes: number,
    H: number,
    W: number,
    outH: number,
    outW: number,
    x: number,
    y: number,
    offsets: number,
    indices: number,
  ): number;
  maxpoolBwd(
    E: number,
    ak: number,
    rk: number,
    nOut: number,
    n: number,
    offsets: number,
    indices: number,
    wtab: number,
    gy: number,
    dx: number,
    acc64: number,
  ): void;
  sceFwd(E: number, ak: number, rk: number, N: number, K: number, z: number, labels: number, e: number, sums: number): number;
  sceBwd(E: number, ak: number, rk: number, N: number, K: number, e: number, sums: number, labels: number, g: number, dz: number): void;
  bnFwd(
    E: number,
    ak: number,
    rk: number,
    N: number,
    C: number,
    HW: number,
    training: number,
    x: number,
    gamma: number,
    beta: number,
    stats: number,
    eps: number,
    momentum: number,
    xhat: number,
    invstd: number,
    y: number,
  ): void;
  bnBwd(
    E: number,
    ak: number,
    rk: number,
    N: number,
    C: number,
    HW: number,
    training: number,
    gy: number,
    xhat: number,
    invstd: number,
    gamma: number,
    dx: number,
    dgamma: number,
    dbeta: number,
  ): void;
  avgpoolFwd(E: number, ak: number, rk: number, planes: number, HW: number, P: number, K: number, map: number, x: number, y: number): void;
  avgpoolBwd(
    E: number,
    ak: number,
    rk: number,
    planes: number,
    HW: number,
    P: number,
    K: number,
    map: number,
    gy: number,
    dx: number,
    acc64: number,
  ): void;
  sgdUpdate(
    qk: number,
    n: number,
    w: number,
    g: number,
    buf: number,
    fresh: number,
    lr: number,
    mu: number,
    wd: number,
    decay: number,
    nesterov: number,
  ): void;
  adamUpdate(
    qk: number,
    n: number,
    w: number,
    g: number,
    m: number,
    v: number,
    wd: number,
    decay: number,
    c1: number,
    b2: number,
    c2: number,
    eps: number,
    stepSize: number,
    c2s: number,
  ): void;
  roundF32(rk: number, x: number): number;
  roundF64(rk: number, x: number): number;
  /** The job the last GEMM driver prepared (drivers called with T ≥ 1 only prepare it). */
  lastJob(): number;
  /** Thread t of T: its share of a prepared job. */
  runProduct(job: number, t: number, T: number): void;
}

/** The conv2d/linear drivers on binary64 operands at caller-chosen addresses (kernels.as.ts), from heapBase() up. */
export interface KernelExports {
  readonly memory: WebAssembly.Memory;
  heapBase(): number;
  convFwd(
    kind: number,
    R: number,
    N: number,
    C: number,
    H: number,
    W: number,
    O: number,
    KH: number,
    KW: number,
    sh: number,
    sw: number,
    ph: number,
    pw: number,
    outH: number,
    outW: number,
    x: number,
    w: number,
    b: number,
    y: number,
    scratch: number,
  ): number;
  convDx(...args: number[]): number;
  convDw(...args: number[]): number;
  linFwd(kind: number, R: number, N: number, I: number, O: number, x: number, w: number, b: number, y: number, scratch: number): number;
  linDx(kind: number, R: number, N: number, I: number, O: number, gy: number, w: number, dx: number, scratch: number): number;
  linDw(kind: number, R: number, N: number, I: number, O: number, gy: number, x: number, dw: number, db: number, scratch: number): number;
}

/**
 * How a GEMM kernel computes for an Arith (gemm.as.ts header): kind 0 binary64 arithmetic, 1
 * binary32 arithmetic, 2 binary16 strict (the driver runs its kind 2 or the faster kind 3, whichever
 * is exact for the operands), 4 bfloat16 strict; round: the op's final rounding, 0 none, 1 to
 * binary32, 2 to binary16, 3 to bfloat16.
 */
export interface KernelMode {
  readonly kind: 0 | 1 | 2 | 4;
  readonly round: 0 | 1 | 2 | 3;
}

const MODES: Readonly<Record<string, KernelMode>> = {
  '64/strict': { kind: 0, round: 0 },
  '64/wide': { kind: 0, round: 0 },
  '32/strict': { kind: 1, round: 0 },
  '32/wide': { kind: 0, round: 1 },
  '16/strict': { kind: 2, round: 0 },
  '16/wide': { kind: 1, round: 2 },
  'bf16/strict': { kind: 4, round: 0 },
  'bf16/wide': { kind: 1, round: 3 },
};

/** Largest memory: 32768 pages of 64 KiB (2 GiB), the module's declared maximum; byte offsets stay within i32. */
export const MAX_PAGES = 32768;

export interface Loaded {
  readonly raw: RawKernels;
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  readonly legacy: KernelExports;
}

let loaded: Loaded | null | undefined;
let loadError: string | null = null;
/** The first address above every arena chunk (device.ts keeps it): where `heapBase()` callers and driver scratch start. */
export const heap = { top: 0 };

const align16 = (p: number) => Math.ceil(p / 16) * 16;

/** The module, instantiated on first use on a fresh shared memory; null when it cannot be (loadError says why). */
export function loadModule(): Loaded | null {
  if (loaded !== undefined) return loaded;
  try {
    const bytes = readFileSync(new URL('./kernels.wasm', import.meta.url));
    const memory = new WebAssembly.Memory({ initial: 16, maximum: MAX_PAGES, shared: true });
    const env = { memory, exp: Math.exp, log: Math.log };
    const module = new WebAssembly.Module(bytes);
    const raw = new WebAssembly.Instance(module, { env }).exports as unknown as RawKernels;
    heap.top = align16(raw.heapBase());
    const f64io =
      (f: Driver) =>
      (...args: number[]) =>
        f(8, 0, ...args);
    const legacy: KernelExports = {
      memory,
      heapBase: () => align16(heap.top),
      convFwd: f64io(raw.convFwd),
      convDx: f64io(raw.convDx),
      convDw: f64io(raw.convDw),
      linFwd: f64io(raw.linFwd),
      linDx: f64io(raw.linDx),
      linDw: f64io(raw.linDw),
    };
    loaded = { raw, module, memory, legacy };
  } catch (e) {
    loaded = null;
    loadError = e instanceof Error ? e.message : String(e);
  }
  return loaded;
}

/** The conv2d/linear drivers on binary64 operands from heapBase() up (see the header), or null. */
export function loadKernels(): KernelExports | null {
  return loadModule()?.legacy ?? null;
}

/** Whether the kernels are in use (loaded and not switched off by ADZONE_KERNELS=js), and why not. */
export function kernelStatus(): { readonly active: boolean; readonly reason: string } {
  if (process.env.ADZONE_KERNELS === 'js') return { active: false, reason: 'ADZONE_KERNELS=js' };
  if (!loadModule()) return { active: false, reason: `kernels.wasm did not load: ${loadError}` };
  return { active: true, reason: 'loaded' };
}

/** The GEMM kernel mode for an op computing with `ar`, or null for the JS path (see the header). */
export function kernelMode(ar: Arith): KernelMode | null {
  if (ar.checked) return null;
  if (process.env.ADZONE_KERNELS === 'js') return null;
  const mode = MODES[`${ar.format.name}/${ar.accumulate}`];
  if (!mode || !loadModule()) return null;
  return mode;
}

/**
 * GEMM kernel calls since the process started, by the kind the driver ran (0..4, gemm.as.ts): lets
 * tests and benchmarks see which variants ran.
 */
export const kernelCalls = [0, 0, 0, 0, 0];
/** Calls a driver declined (the JS path computed the op), since the process started. */
export let kernelDeclined = 0;

/** Count a declined call (device.ts and the GEMM calls). */
export function noteDeclined(): void {
  kernelDeclined++;
}

/** Largest linear memory a call may use: the drivers compute byte offsets in i32. */
const MAX_BYTES = MAX_PAGES * 65536;

/**
 * Run one GEMM driver on binary64 operands laid out from heapBase(): copy `inputs` (f64 arrays,
 * null for absent ones: address 0) into memory, reserve `outputs` f64 slots, call `run(addresses of
 * inputs then outputs, scratch)`, which returns what the driver returns (the kind it ran, +4 for its
 * second layout, or −1 when it declined), and return copies of the outputs. `scratchBytes`
 * estimates the scratch the driver lays out (it grows memory itself; the estimate only guards
 * against exceeding the maximum). Null when declined, too big, or on a trap.
 */
export function callKernel(
  inputs: readonly (Float64Array | null)[],
  outputs: readonly number[],
  scratchBytes: number,
  run: (k: KernelExports, ptrs: number[], scratch: number) => number,
): Float64Array[] | null {
  const k = loadKernels();
  if (!k) return null;
  let top = k.heapBase();
  const ptrs: number[] = [];
  for (const a of inputs) {
    ptrs.push(a ? top : 0);
    if (a) top = align16(top + 8 * a.length);
  }
  for (const n of outputs) {
    ptrs.push(top);
    top = align16(top + 8 * n);
  }
  if (top + scratchBytes + 4096 > MAX_BYTES) return null;
  let ran: number;
  try {
    const have = k.memory.buffer.byteLength;
    if (top > have) k.memory.grow(Math.ceil((top - have) / 65536));
    const buf = k.memory.buffer;
    inputs.forEach((a, i) => {
      if (a) new Float64Array(buf, ptrs[i], a.length).set(a);
    });
    ran = run(k, ptrs, top);
  } catch {
    return null; // memory could not grow (RangeError, or a trap in a driver): the JS path computes the op
  }
  if (ran < 0) {
    kernelDeclined++;
    return null;
  }
  kernelCalls[ran]++;
  const after = k.memory.buffer;
  return outputs.map((n, j) => new Float64Array(after, ptrs[inputs.length + j], n).slice());
}
