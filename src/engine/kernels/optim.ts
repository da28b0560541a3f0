/**
 * The SGD and Adam updates of src/engine/optim in kernels/ops.as.ts (sgdUpdate, adamUpdate): the
 * same double expressions with the same roundings to the master format, so the same values as the
 * JS loops. The optimizer's arrays stay its own Float64Arrays: they are copied into a scratch arena
 * of the kernels' memory and back. Each returns false — and the JS loop runs — when the kernels are
 * off (ADZONE_KERNELS=js), cannot load, or the master format has no kernel rounding (E4M3, E5M2).
 */
import type { AccKind } from '../arith.ts';
import { Arena, memViews } from './device.ts';
import { loadModule, type RawKernels } from './index.ts';

/** The kernels' round kind for an AccKind (binary64, binary32, binary16, bfloat16). */
const ROUND_KIND: Partial<Record<AccKind, number>> = { 0: 0, 1: 1, 2: 2, 4: 3 };

/**
 * Copy `arrays` (null: absent, address 0) into a fresh arena, run, copy back the ones `written`
 * marks, give the arena back. False when there is no kernel for kind `kq`.
 */
function onDevice(
  kq: AccKind,
  arrays: readonly (Float64Array | null)[],
  written: readonly boolean[],
  run: (raw: RawKernels, qk: number, ptrs: number[]) => void,
): boolean {
  const qk = ROUND_KIND[kq];
  if (qk === undefined || process.env.ADZONE_KERNELS === 'js') return false;
  const m = loadModule();
  if (!m) return false;
  const arena = new Arena(m.memory);
  try {
    const ptrs = arrays.map((a) => (a ? arena.alloc(8 * a.length) : 0));
    const v = memViews(m.memory).f64;
    arrays.forEach((a, i) => {
      if (a) v.set(a, ptrs[i] >> 3);
    });
    run(m.raw, qk, ptrs);
    const after = memViews(m.memory).f64;
    arrays.forEach((a, i) => {
      if (a && written[i]) a.set(after.subarray(ptrs[i] >> 3, (ptrs[i] >> 3) + a.length));
    });
  } finally {
    arena.release();
  }
  return true;
}

export interface SgdStep {
  readonly lr: number;
  readonly mu: number;
  readonly wd: number;
  readonly decay: boolean;
  readonly nesterov: boolean;
}

/** optim/sgd.ts `update` in the kernels: w and buf updated in place. */
export function sgdKernel(kq: AccKind, w: Float64Array, g: Float64Array, buf: Float64Array | null, fresh: boolean, k: SgdStep): boolean {
  return onDevice(kq, [w, g, buf], [true, false, true], (raw, qk, [pw, pg, pb]) =>
    raw.sgdUpdate(qk, w.length, pw, pg, pb, fresh ? 1 : 0, k.lr, k.mu, k.wd, k.decay ? 1 : 0, k.nesterov ? 1 : 0),
  );
}

export interface AdamStep {
  readonly wdQ: number;
  readonly decay: boolean;
  readonly c1Q: number;
  readonly b2Q: number;
  readonly c2Q: number;
  readonly epsQ: number;
  readonly stepSize: number;
  readonly c2s: number;
}

/** optim/adam.ts `update` in the kernels: w, m and v updated in place. */
export function adamKernel(kq: AccKind, w: Float64Array, g: Float64Array, m: Float64Array, v: Float64Array, k: AdamStep): boolean {
  return onDevice(kq, [w, g, m, v], [true, false, true, true], (raw, qk, [pw, pg, pm, pv]) =>
    raw.adamUpdate(qk, w.length, pw, pg, pm, pv, k.wdQ, k.decay ? 1 : 0, k.c1Q, k.b2Q, k.c2Q, k.epsQ, k.stepSize, k.c2s),
  );
}
