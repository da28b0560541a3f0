/**
 * conv2d through kernels.wasm on device tensors: forward, input gradient, weight and bias
 * gradients (the summation orders of ops/conv2d.ts). Each returns the device address of its
 * result (a fresh block of the tape's arena), or null when the JS path has to compute instead
 * (the driver declined or trapped: index.ts). Shapes: x [N, C, H, W], w [O, C, KH, KW], y and gy
 * [N, O, outH, outW].
 */
import type { Pair } from '../../problem/index.ts';
import type { Tape } from '../tape.ts';
import { type DeviceCtx, scratchBase } from './device.ts';
import { type KernelMode, kernelCalls, noteDeclined } from './index.ts';
import { ensureThreads, runJob, threadsFor } from './threads.ts';

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

/** Multiplications and additions of one direction of the conv. */
const flops = (s: ConvShape) => 2 * s.N * s.O * s.outH * s.outW * s.C * s.KH * s.KW;

const dims = (s: ConvShape) =>
  [s.N, s.C, s.H, s.W, s.O, s.KH, s.KW, s.stride[0], s.stride[1], s.padding[0], s.padding[1], s.outH, s.outW] as const;

/**
 * Run a driver on as many threads as its `flops` deserve (threads.ts): `prepare(T)` lays the job
 * out (the driver called with T ≥ 1), then the threads compute it. What the driver returned (the
 * kind it ran), or −1 (declined, or a trap: memory could not grow for the scratch).
 */
export function drive(d: DeviceCtx, flops: number, prepare: (T: number) => number): number {
  let r: number;
  try {
    const T = threadsFor(flops);
    ensureThreads(d.module, d.memory, T);
    r = prepare(T);
    if (r >= 0) runJob(d.raw, d.raw.lastJob(), T);
  } catch {
    r = -1; // the JS path computes the op
  }
  if (r < 0) noteDeclined();
  else kernelCalls[r]++;
  return r;
}

/** y (rounded to p), or null. Padding is read as +0, so with padding it needs a finite w. */
export function conv2dForwardDev(tape: Tape, mode: KernelMode, s: ConvShape, x: number, w: number, b: number): number | null {
  const d = tape.device!;
  const y = tape.alloc(s.N * s.O * s.outH * s.outW);
  const r = drive(d, flops(s), (T) => d.raw.convFwd(d.E, T, mode.kind, mode.round, ...dims(s), x, w, b, y, scratchBase()));
  return r < 0 ? null : y;
}

/** dx (rounded to p), or null. The scatter's holes are read as +0, so it needs a finite w. */
export function conv2dInputGradDev(tape: Tape, mode: KernelMode, s: ConvShape, gy: number, w: number): number | null {
  const d = tape.device!;
  const dx = tape.alloc(s.N * s.C * s.H * s.W);
  const r = drive(d, flops(s), (T) => d.raw.convDx(d.E, T, mode.kind, mode.round, ...dims(s), gy, w, dx, scratchBase()));
  return r < 0 ? null : dx;
}

/**
 * dw and/or db (rounded to p; 0 for the one not wanted), or null. Padding is read as +0 against
 * gy, so with padding dw needs a finite gy. db is the sum of gy with every x = 1.
 */
export function conv2dParamGradDev(
  tape: Tape,
  mode: KernelMode,
  s: ConvShape,
  gy: number,
  x: number,
  wantW: boolean,
  wantB: boolean,
): { dw: number; db: number } | null {
  const d = tape.device!;
  const dw = wantW ? tape.alloc(s.O * s.C * s.KH * s.KW) : 0;
  const db = wantB ? tape.alloc(s.O) : 0;
  const r = drive(d, flops(s), (T) => d.raw.convDw(d.E, T, mode.kind, mode.round, ...dims(s), gy, wantW ? x : 0, dw, db, scratchBase()));
  return r < 0 ? null : { dw, db };
}
