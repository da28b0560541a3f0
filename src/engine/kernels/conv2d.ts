/**
 * conv2d through kernels.wasm: forward, input gradient, weight and bias gradients (the summation
 * orders of ops/conv2d.ts). Each returns null when the JS path has to compute instead (index.ts).
 * Shapes: x [N, C, H, W], w [O, C, KH, KW], y and gy [N, O, outH, outW].
 */
import type { Pair } from '../../problem/index.ts';
import { callKernel, type KernelMode } from './index.ts';

export interface ConvShape {
  readonly N: number;
  readonly C: number;
  readonly H: number;
  readonly W: number;
  readonly O: number;
  readonly KH: number;
  readonly KW: number;
  readonly stride: Pair;
  readonly padding: Pair;
  readonly outH: number;
  readonly outW: number;
}

const dims = (s: ConvShape) =>
  [s.N, s.C, s.H, s.W, s.O, s.KH, s.KW, s.stride[0], s.stride[1], s.padding[0], s.padding[1], s.outH, s.outW] as const;
/** Bytes of element data a driver lays out (4 per value, 8 at kind 0), generously. */
const bytes = (mode: KernelMode, values: number) => values * (mode.kind === 0 ? 8 : 4) + 65536;

/** y (rounded to p), or null. Padding is read as +0, so with padding it needs a finite w. */
export function conv2dForwardKernel(
  mode: KernelMode,
  s: ConvShape,
  x: Float64Array,
  w: Float64Array,
  b: Float64Array | null,
): Float64Array | null {
  const scratch = bytes(mode, s.N * s.C * (s.H + 2 * s.padding[0]) * (s.W + 2 * s.padding[1]) + s.C * s.KH * s.KW * (s.O + 4));
  const out = callKernel([x, w, b], [s.N * s.O * s.outH * s.outW], scratch, (k, [xp, wp, bp, yp], sc) =>
    k.convFwd(mode.kind, mode.round, ...dims(s), xp, wp, bp, yp, sc),
  );
  return out ? out[0] : null;
}

/** dx (rounded to p), or null. The scatter's holes are read as +0, so it needs a finite w. */
export function conv2dInputGradKernel(mode: KernelMode, s: ConvShape, gy: Float64Array, w: Float64Array): Float64Array | null {
  const Qh = (s.outH - 1) * s.stride[0] + 1;
  const Qw = (s.outW - 1) * s.stride[1] + 16;
  const scratch = bytes(mode, s.N * s.O * Qh * Qw + s.O * s.KH * s.KW * (s.C + 4));
  const out = callKernel([gy, w], [s.N * s.C * s.H * s.W], scratch, (k, [gp, wp, dxp], sc) =>
    k.convDx(mode.kind, mode.round, ...dims(s), gp, wp, dxp, sc),
  );
  return out ? out[0] : null;
}

/**
 * dw and/or db (rounded to p), or null. Padding is read as +0 against gy, so with padding dw needs a finite gy.
 * db is the sum of gy with every x = 1.
 */
export function conv2dParamGradKernel(
  mode: KernelMode,
  s: ConvShape,
  gy: Float64Array,
  x: Float64Array,
  wantW: boolean,
  wantB: boolean,
): { dw: Float64Array | null; db: Float64Array | null } | null {
  const scratch = bytes(
    mode,
    s.N * s.outH * s.outW * (s.O + 4) + (wantW ? s.N * s.C * (s.H + 2 * s.padding[0]) * (s.W + 2 * s.padding[1]) : 0),
  );
  const nw = wantW ? s.O * s.C * s.KH * s.KW : 0;
  const nb = wantB ? s.O : 0;
  const out = callKernel([gy, wantW ? x : null], [nw, nb], scratch, (k, [gp, xp, dwp, dbp], sc) =>
    k.convDw(mode.kind, mode.round, ...dims(s), gp, xp, wantW ? dwp : 0, wantB ? dbp : 0, sc),
  );
  return out && { dw: wantW ? out[0] : null, db: wantB ? out[1] : null };
}
