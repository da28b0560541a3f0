/**
 * WebAssembly SIMD kernels for conv2d and linear at 16, 32 and 64 bits, bit-identical to the JS
 * loops of ops/conv2d.ts and ops/linear.ts (same summation order per output element; SIMD only
 * across independent outputs). The ops call them when `kernelMode(arith)` gives a mode and fall
 * back to their own loops when it gives null or a kernel declines (returns null).
 *
 *   kernels.as.ts   the AssemblyScript source (micro-kernel, drivers, binary16 rounding)
 *   kernels.wasm    its build, committed: `npm run build:kernels` regenerates it, and
 *                   properties/kernels.test.ts checks that rebuilding gives the same bytes
 *   conv2d.ts, linear.ts   the calls: operands into wasm memory, results out
 *
 * The JS path is used instead when
 * - ADZONE_KERNELS=js is set (read at every op, so tests can switch);
 * - the Arith is checked (makeArith(..., { checkUnderflow: true }), accKind 3): the underflow flag
 *   needs every rounding observed;
 * - the format is not binary16/32/64 (bfloat16, E4M3, E5M2 keep the JS path);
 * - the module cannot be loaded (no WebAssembly SIMD), or an op is too big for wasm32 memory;
 * - a kernel declines: it would read padding (or the scatter's holes) as +0 against a non-finite
 *   factor, which would add NaN where the JS path skips the term (kernels.as.ts "Zero terms").
 */
import { readFileSync } from 'node:fs';
import type { Arith } from '../arith.ts';

/** The exports of kernels.wasm (addresses are byte offsets into `memory`). */
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
  convDx(
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
    gy: number,
    w: number,
    dx: number,
    scratch: number,
  ): number;
  convDw(
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
    gy: number,
    x: number,
    dw: number,
    db: number,
    scratch: number,
  ): number;
  linFwd(kind: number, R: number, N: number, I: number, O: number, x: number, w: number, b: number, y: number, scratch: number): number;
  linDx(kind: number, R: number, N: number, I: number, O: number, gy: number, w: number, dx: number, scratch: number): number;
  linDw(kind: number, R: number, N: number, I: number, O: number, gy: number, x: number, dw: number, db: number, scratch: number): number;
}

/**
 * How a kernel computes for an Arith (kernels.as.ts header): kind 0 binary64 arithmetic, 1 binary32
 * arithmetic, 2 binary16 strict (the driver runs its kind 2 or the faster kind 3, whichever is
 * exact for the operands); round: the op's final rounding, 0 none, 1 to binary32, 2 to binary16.
 */
export interface KernelMode {
  readonly kind: 0 | 1 | 2;
  readonly round: 0 | 1 | 2;
}

const MODES: Readonly<Record<string, KernelMode>> = {
  '64/strict': { kind: 0, round: 0 },
  '64/wide': { kind: 0, round: 0 },
  '32/strict': { kind: 1, round: 0 },
  '32/wide': { kind: 0, round: 1 },
  '16/strict': { kind: 2, round: 0 },
  '16/wide': { kind: 1, round: 2 },
};

let instance: KernelExports | null | undefined;
let loadError: string | null = null;

/** The kernels module, instantiated on first use; null when it cannot be (loadError says why). */
export function loadKernels(): KernelExports | null {
  if (instance !== undefined) return instance;
  try {
    const bytes = readFileSync(new URL('./kernels.wasm', import.meta.url));
    instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports as unknown as KernelExports;
  } catch (e) {
    instance = null;
    loadError = e instanceof Error ? e.message : String(e);
  }
  return instance;
}

/** Whether the kernels are in use (loaded and not switched off by ADZONE_KERNELS=js), and why not. */
export function kernelStatus(): { readonly active: boolean; readonly reason: string } {
  if (process.env.ADZONE_KERNELS === 'js') return { active: false, reason: 'ADZONE_KERNELS=js' };
  if (!loadKernels()) return { active: false, reason: `kernels.wasm did not load: ${loadError}` };
  return { active: true, reason: 'loaded' };
}

/** The kernel mode for an op computing with `ar`, or null for the JS path (see the header). */
export function kernelMode(ar: Arith): KernelMode | null {
  if (ar.accKind === 3) return null;
  if (process.env.ADZONE_KERNELS === 'js') return null;
  const mode = MODES[`${ar.format.name}/${ar.accumulate}`];
  if (!mode || !loadKernels()) return null;
  return mode;
}

/**
 * Kernel calls since the process started, by what the driver returned (kind 0..3, plus 4 for a
 * driver's second layout): lets tests and benchmarks see which variants ran.
 */
export const kernelCalls = [0, 0, 0, 0, 0, 0, 0, 0];
/** Calls a driver declined (the JS path computed the op), since the process started. */
export let kernelDeclined = 0;

/**
 * Largest linear memory a call may use: the drivers compute byte offsets in i32, and wasm32 memory
 * stops at 4 GiB. Memory grows to the largest call so far and stays there (wasm cannot shrink it).
 */
const MAX_BYTES = 2 ** 31;

/**
 * Run one kernel call: copy `inputs` (f64 arrays, null for absent ones: address 0) into linear
 * memory, reserve `outputs` f64 slots, call `run(addresses of inputs then outputs, scratch)`, which
 * returns what the driver returns (the kind it ran, +4 for its second layout, or −1 when it
 * declined), and return copies of the outputs.
 * `scratchBytes` estimates the scratch the driver lays out (it grows memory itself; the estimate
 * only guards against exceeding wasm32). Null when declined, too big, or on a trap.
 */
export function callKernel(
  inputs: readonly (Float64Array | null)[],
  outputs: readonly number[],
  scratchBytes: number,
  run: (k: KernelExports, ptrs: number[], scratch: number) => number,
): Float64Array[] | null {
  const k = loadKernels();
  if (!k) return null;
  const align = (p: number) => Math.ceil(p / 16) * 16;
  let top = align(k.heapBase());
  const ptrs: number[] = [];
  for (const a of inputs) {
    ptrs.push(a ? top : 0);
    if (a) top = align(top + 8 * a.length);
  }
  for (const n of outputs) {
    ptrs.push(top);
    top = align(top + 8 * n);
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
