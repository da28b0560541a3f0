/**
 * Loss scaling (off unless a LossScaler is passed to trainStep). The backward pass is seeded with
 * S instead of 1, so it computes the gradients of S·L in precision p (small gradients stay above
 * p's underflow threshold); the optimizer unscales them (g · (1/S), in its master format) before the
 * update. If any gradient is ±∞ or NaN the step is skipped: no parameter or optimizer state changes.
 *
 * - static: S fixed. Overflowing steps are skipped (and reported), S never changes.
 * - dynamic: PyTorch torch.cuda.amp.GradScaler semantics: S starts at 2^16; after an overflowing
 *   step S ← S · 0.5 (backoff) and the step is skipped; after `growthInterval` (2000) consecutive
 *   finite steps S ← S · 2 (growth).
 *
 * The seed S is rounded to p like every value entering the engine: in pure binary16 the default
 * 2^16 is above the largest half (65504) and becomes +∞, so the first step overflows, is skipped
 * and S drops to 2^15 — the scaler finds a usable scale by itself, as GradScaler does.
 */

export interface LossScaler {
  readonly kind: 'static' | 'dynamic';
  /** The current scale S. */
  readonly scale: number;
  /** Consecutive finite steps since the last change of S (dynamic). */
  readonly growthTracker: number;
  /** Report the outcome of a step: `finite` false when some gradient was ±∞ or NaN (the step was skipped). */
  update(finite: boolean): void;
}

export function staticLossScale(scale: number): LossScaler {
  if (!(scale > 0 && Number.isFinite(scale))) throw new Error(`static loss scale must be a positive finite number, got ${scale}`);
  return { kind: 'static', scale, growthTracker: 0, update() {} };
}

export interface DynamicLossScaleOptions {
  readonly initScale?: number;
  readonly growthFactor?: number;
  readonly backoffFactor?: number;
  readonly growthInterval?: number;
}

export function dynamicLossScale({
  initScale = 2 ** 16,
  growthFactor = 2,
  backoffFactor = 0.5,
  growthInterval = 2000,
}: DynamicLossScaleOptions = {}): LossScaler {
  if (!(initScale > 0 && Number.isFinite(initScale))) throw new Error(`initScale must be a positive finite number, got ${initScale}`);
  if (!(growthFactor > 1) || !(backoffFactor > 0 && backoffFactor < 1))
    throw new Error(`need growthFactor > 1 and 0 < backoffFactor < 1, got ${growthFactor}, ${backoffFactor}`);
  if (!(Number.isInteger(growthInterval) && growthInterval >= 1))
    throw new Error(`growthInterval must be a positive integer, got ${growthInterval}`);
  const s = {
    kind: 'dynamic' as const,
    scale: initScale,
    growthTracker: 0,
    update(finite: boolean) {
      if (!finite) {
        s.scale *= backoffFactor;
        s.growthTracker = 0;
        return;
      }
      s.growthTracker++;
      if (s.growthTracker === growthInterval) {
        s.scale *= growthFactor;
        s.growthTracker = 0;
      }
    },
  };
  return s;
}

/** Whether every gradient value is finite. */
export function allFinite(grads: Iterable<Float64Array>): boolean {
  for (const g of grads) for (let i = 0; i < g.length; i++) if (!Number.isFinite(g[i])) return false;
  return true;
}
