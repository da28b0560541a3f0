/**
 * linear through kernels.wasm on device tensors: forward, input gradient, weight and bias
 * gradients (the summation orders of ops/linear.ts). Each returns the device address of its result
 * (a fresh block of the tape's arena), or null when the JS path has to compute instead.
 * Shapes: x [N, I], W [O, I], y and gy [N, O].
 */
import type { Tape } from '../tape.ts';
import { drive } from './conv2d.ts';
import { scratchBase } from './device.ts';
import type { KernelMode } from './index.ts';

/** y (rounded to p), or null. b = 0: no bias. */
export function linearForwardDev(
  tape: Tape,
  mode: KernelMode,
  N: number,
  I: number,
  O: number,
  x: number,
  w: number,
  b: number,
): number | null {
  const d = tape.device!;
  const y = tape.alloc(N * O);
  const r = drive(d, 2 * N * I * O, (T) => d.raw.linFwd(d.E, T, mode.kind, mode.round, N, I, O, x, w, b, y, scratchBase()));
  return r < 0 ? null : y;
}

/** dx (rounded to p), or null. */
export function linearInputGradDev(tape: Tape, mode: KernelMode, N: number, I: number, O: number, gy: number, w: number): number | null {
  const d = tape.device!;
  const dx = tape.alloc(N * I);
  const r = drive(d, 2 * N * I * O, (T) => d.raw.linDx(d.E, T, mode.kind, mode.round, N, I, O, gy, w, dx, scratchBase()));
  return r < 0 ? null : dx;
}

/** dW and/or db (rounded to p; 0 for the one not wanted), or null. db is the sum of gy with every x = 1. */
export function linearParamGradDev(
  tape: Tape,
  mode: KernelMode,
  N: number,
  I: number,
  O: number,
  gy: number,
  x: number,
  wantW: boolean,
  wantB: boolean,
): { dw: number; db: number } | null {
  const d = tape.device!;
  const dw = wantW ? tape.alloc(O * I) : 0;
  const db = wantB ? tape.alloc(O) : 0;
  const r = drive(d, 2 * N * I * O, (T) => d.raw.linDw(d.E, T, mode.kind, mode.round, N, I, O, gy, wantW ? x : 0, dw, db, scratchBase()));
  return r < 0 ? null : { dw, db };
}
