/**
 * linear through kernels.wasm: forward, input gradient, weight and bias gradients (the summation
 * orders of ops/linear.ts). Each returns null when the JS path has to compute instead (index.ts).
 * Shapes: x [N, I], W [O, I], y and gy [N, O].
 */
import { callKernel, type KernelMode } from './index.ts';

const bytes = (mode: KernelMode, values: number) => values * (mode.kind === 0 ? 8 : 4) + 65536;

/** y (rounded to p), or null. */
export function linearForwardKernel(
  mode: KernelMode,
  N: number,
  I: number,
  O: number,
  x: Float64Array,
  w: Float64Array,
  b: Float64Array | null,
): Float64Array | null {
  const out = callKernel([x, w, b], [N * O], bytes(mode, N * I + I * (O + 4)), (k, [xp, wp, bp, yp], sc) =>
    k.linFwd(mode.kind, mode.round, N, I, O, xp, wp, bp, yp, sc),
  );
  return out ? out[0] : null;
}

/** dx (rounded to p), or null. */
export function linearInputGradKernel(
  mode: KernelMode,
  N: number,
  I: number,
  O: number,
  gy: Float64Array,
  w: Float64Array,
): Float64Array | null {
  const out = callKernel([gy, w], [N * I], bytes(mode, N * O + O * (I + 4)), (k, [gp, wp, dxp], sc) =>
    k.linDx(mode.kind, mode.round, N, I, O, gp, wp, dxp, sc),
  );
  return out ? out[0] : null;
}

/** dW and/or db (rounded to p), or null. db is the sum of gy with every x = 1. */
export function linearParamGradKernel(
  mode: KernelMode,
  N: number,
  I: number,
  O: number,
  gy: Float64Array,
  x: Float64Array,
  wantW: boolean,
  wantB: boolean,
): { dw: Float64Array | null; db: Float64Array | null } | null {
  const out = callKernel(
    [gy, wantW ? x : null],
    [wantW ? O * I : 0, wantB ? O : 0],
    bytes(mode, N * O + N * (I + 4) + N * (O + 4)),
    (k, [gp, xp, dwp, dbp], sc) => k.linDw(mode.kind, mode.round, N, I, O, gp, xp, wantW ? dwp : 0, wantB ? dbp : 0, sc),
  );
  return out && { dw: wantW ? out[0] : null, db: wantB ? out[1] : null };
}
