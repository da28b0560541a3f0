/**
 * What every optimizer shares: the Optimizer interface, and the format its update arithmetic runs in.
 *
 * Parameters are Float64Arrays holding values of the run's format p (the net's weights). An
 * optimizer keeps its state (momentum buffers, Adam moments) per parameter name, and rounds every
 * operation of the update — each product, sum, division, square root — to its master format q,
 * whatever the accumulation mode (an update is a chain of elementwise ops, each an op of its own):
 *   - by default q = p: the master weights are the p-weights themselves ("pure" p training, as
 *     PyTorch does with a model converted by .half() and a plain optimizer);
 *   - with masterWeights '32' and a format narrower than 32 bits, q = binary32: the optimizer keeps
 *     fp32 copies of the weights and its state in fp32 (mixed-precision training), updates those,
 *     and writes round_p(master) back into the p-weights after every step.
 * Hyperparameters (lr, momentum, β…) are rounded to q once per step, as a framework casts a
 * Python scalar to the tensor's dtype.
 */
import { F32, type Format } from '../../precision/index.ts';
import { roundArrayBy, roundBy, roundKindOf, rounder } from '../arith.ts';

export interface StepOptions {
  /**
   * The gradients are those of S·L (loss scaling): the optimizer first unscales them,
   * g = round_q(g · (1/S)) in its master format q. Default 1 (no unscaling).
   */
  readonly gradScale?: number;
}

export interface Optimizer {
  /** e.g. 'sgd(lr=0.01, momentum=0.9, weightDecay=0)'. */
  readonly name: string;
  /**
   * One update of every parameter that has a gradient, in place. `params` values must be values of
   * `format`; afterwards they are again values of `format`.
   */
  step(params: ReadonlyMap<string, Float64Array>, grads: ReadonlyMap<string, Float64Array>, format: Format, options?: StepOptions): void;
  /** Forget all state (momentum, moments, step counts, master copies). */
  reset(): void;
}

/** 'p' (default): master weights are the p-weights; '32': fp32 master weights for formats narrower than 32 bits. */
export type MasterWeights = 'p' | '32';

/** The format an optimizer computes in for weights of format p. */
export function masterFormat(format: Format, masterWeights: MasterWeights = 'p'): Format {
  return masterWeights === '32' && format.bits < 32 ? F32 : format;
}

/**
 * Per-parameter state shared by the optimizers: the master copy of the weights (the p-weights
 * themselves when q = p) and named state buffers, created on first use.
 */
export class ParamState {
  private readonly entries = new Map<string, { master: Float64Array | null; buffers: Map<string, Float64Array>; step: number }>();

  clear(): void {
    this.entries.clear();
  }

  /**
   * The state of parameter `name`: `weights` is what the update works on (a master copy in q when q
   * differs from p, else the p-array itself), and after the update `writeBack` rounds it into p.
   */
  get(name: string, param: Float64Array, p: Format, q: Format) {
    let e = this.entries.get(name);
    const separate = q !== p;
    if (!e || (separate && e.master === null) || (e.master !== null && e.master.length !== param.length)) {
      e = { master: separate ? param.slice() : null, buffers: new Map(), step: 0 };
      this.entries.set(name, e);
    }
    const entry = e;
    const weights = entry.master ?? param;
    const roundP = rounder(p);
    return {
      weights,
      buffer(key: string, init: 'zeros' | Float64Array): { values: Float64Array; fresh: boolean } {
        let b = entry.buffers.get(key);
        if (b) return { values: b, fresh: false };
        b = init === 'zeros' ? new Float64Array(param.length) : init.slice();
        entry.buffers.set(key, b);
        return { values: b, fresh: true };
      },
      /** Increment and return this parameter's step count (1 on the first step). */
      nextStep(): number {
        return ++entry.step;
      },
      writeBack(): void {
        if (weights === param) return;
        param.set(weights);
        roundArrayBy(roundKindOf(p), roundP, param); // param[i] = roundP(weights[i])
      },
    };
  }
}

/** The gradient unscaled into q: round_q(g · (1/S)), or g itself (already a value of p ⊆ q) when S = 1. */
export function unscaled(g: Float64Array, q: Format, gradScale = 1): Float64Array {
  if (gradScale === 1) return g;
  const r = rounder(q);
  const kq = roundKindOf(q);
  const inv = 1 / gradScale;
  const out = new Float64Array(g.length);
  for (let i = 0; i < g.length; i++) out[i] = roundBy(kq, r, g[i] * inv);
  return out;
}
