/**
 * The bounded float forward's dot products (dot.ts, bounds.ts) on the engine's WebAssembly SIMD
 * kernels (src/engine/kernels), no final rounding: for one conv or linear layer, two forwards of
 * the same shape back to back,
 *   values  ŷ = x̂ ⊛ w + b             in binary64 (kind 0): the layer's float64 value;
 *   bounds  β = q↑ ⊛ |w|↑ + (γ|b|)↑   in binary32 (kind 1, 4 lanes: twice as fast), on operands
 *           rounded *up* to binary32 (bounds.ts `up32`, so the kernel reads them exactly): the
 *           error bound before its final inflation (bounds.ts "The bound in binary32"),
 * each output summed on its own from 0 in (c, i, j) order with the bias added last (kernels.as.ts).
 *
 * Unlike kernels/index.ts `callKernel`, the operands are written straight into the kernels' linear
 * memory (q is computed there, never allocated) and the results are returned as views into it, not
 * copies: the caller reads them at once, before any other kernel call (the next call overwrites
 * them, and growing the memory detaches them). Same layout rules as callKernel: operands at
 * 16-byte aligned addresses from heapBase, the driver's scratch after them, at most 2^31 bytes.
 * Null (the JS loops compute instead) when the kernels are off (ADZONE_KERNELS=js) or cannot load,
 * the call would be too big, a driver declines (padding read against a non-finite weight: the
 * parameters are finite, but |w|↑ is +∞ beyond the binary32 range) or traps.
 */
import { type KernelExports, kernelCalls, kernelStatus, loadKernels } from '../../engine/kernels/index.ts';

/** Largest linear memory a call may use (as kernels/index.ts). */
const MAX_BYTES = 2 ** 31;

/** Views into the kernels' memory, valid until the next kernel call. */
export interface ForwardPair {
  readonly x: Float64Array;
  readonly w: Float64Array;
  /** Empty without a bias. */
  readonly b: Float64Array;
  readonly q: Float64Array;
  readonly absW: Float64Array;
  /** Empty without a bias. */
  readonly gb: Float64Array;
}

/** Whether the exact routing (dot.ts) should try the kernels at all (they are loaded and not switched off). */
export function kernelsActive(): boolean {
  return kernelStatus().active;
}

/**
 * Lay out the operands of two forwards (sizes nx, nw, nb, ny; nb = 0: no bias), let `fill` write
 * them (x, w, b for the values; q, |w|, γ|b| rounded up to binary32 for the bounds), run `drive`
 * twice (values at kind 0, then bounds at kind 1) and return views of the two outputs.
 * `scratchBytes` estimates the driver's scratch.
 */
export function forwardPair(
  nx: number,
  nw: number,
  nb: number,
  ny: number,
  scratchBytes: number,
  fill: (v: ForwardPair) => void,
  drive: (k: KernelExports, kind: 0 | 1, x: number, w: number, b: number, y: number, scratch: number) => number,
): { val: Float64Array; bnd: Float64Array } | null {
  const k = loadKernels();
  if (!k) return null;
  const align = (p: number) => Math.ceil(p / 16) * 16;
  let top = align(k.heapBase());
  const at = (n: number): number => {
    const p = top;
    top = align(top + 8 * n);
    return p;
  };
  const xp = at(nx);
  const wp = at(nw);
  const bp = at(nb);
  const qp = at(nx);
  const awp = at(nw);
  const gbp = at(nb);
  const yv = at(ny);
  const yb = at(ny);
  if (top + scratchBytes + 4096 > MAX_BYTES) return null;
  try {
    const have = k.memory.buffer.byteLength;
    if (top > have) k.memory.grow(Math.ceil((top - have) / 65536));
    const buf = k.memory.buffer;
    fill({
      x: new Float64Array(buf, xp, nx),
      w: new Float64Array(buf, wp, nw),
      b: new Float64Array(buf, bp, nb),
      q: new Float64Array(buf, qp, nx),
      absW: new Float64Array(buf, awp, nw),
      gb: new Float64Array(buf, gbp, nb),
    });
    const r1 = drive(k, 0, xp, wp, nb > 0 ? bp : 0, yv, top);
    if (r1 < 0) return null;
    const r2 = drive(k, 1, qp, awp, nb > 0 ? gbp : 0, yb, top);
    if (r2 < 0) return null;
    kernelCalls[r1]++;
    kernelCalls[r2]++;
  } catch {
    return null; // memory could not grow, or a driver trapped: the JS loops compute instead
  }
  const after = k.memory.buffer;
  return { val: new Float64Array(after, yv, ny), bnd: new Float64Array(after, yb, ny) };
}

/** Bytes of scratch a driver lays out for `values` values, generously (binary64's, as conv2d.ts / linear.ts). */
export const scratchFor = (values: number): number => values * 8 + 65536;
