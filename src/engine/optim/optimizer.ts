/**
 * What every optimizer shares: the Optimizer interface, the format its update arithmetic runs in,
 * its state per parameter, and the parts around the update (defineOptimizer).
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
 * Python scalar to the tensor's dtype. The learning rate may change between steps (a per-epoch
 * schedule sets `lr`); each step uses the value in force when it starts.
 *
 * State export and import (for checkpoints) copy every number an update reads — per parameter
 * its step count, master copy and buffers — so that an optimizer restored from an export continues
 * bit for bit as the exported one would have.
 */
import { F32, type Format } from '../../precision/index.ts';
import { roundArrayBy, roundBy, rounder, roundKindOf } from '../arith.ts';

export interface StepOptions {
  /**
   * The gradients are those of S·L (loss scaling): the optimizer first unscales them,
   * g = round_q(g · (1/S)) in its master format q. Default 1 (no unscaling).
   */
  readonly gradScale?: number;
}

/** The update rules of this folder (sgd.ts, adam.ts). */
export type OptimizerKind = 'sgd' | 'adam';

/**
 * What a checkpoint keeps of an optimizer: small facts as JSON, the arrays apart (exportState). One
 * entry per parameter stepped so far, in the order of their first step: its step count (Adam's t;
 * SGD counts none and keeps 0), whether it has a master copy (array `${name}/master`), and its state
 * buffers in creation order (arrays `${name}/${buffer}`: 'momentum' for SGD; 'exp_avg',
 * 'exp_avg_sq' for Adam). `lr` is the learning rate in force when exported. Training checkpoints
 * store this shape and these array keys as they are: change neither.
 */
export interface OptimizerState {
  readonly kind: OptimizerKind;
  readonly lr: number;
  readonly params: readonly {
    readonly name: string;
    readonly step: number;
    readonly master: boolean;
    readonly buffers: readonly string[];
  }[];
}

export interface Optimizer {
  readonly kind: OptimizerKind;
  /** e.g. 'sgd(lr=0.01, momentum=0.9, weightDecay=0)', with the current learning rate. */
  readonly name: string;
  /**
   * The learning rate of the next steps (≥ 0, else setting it throws). It may be changed between
   * steps, as a per-epoch schedule does; a step reads it once, when it starts.
   */
  lr: number;
  /**
   * One update of every parameter that has a gradient, in place. `params` values must be values of
   * `format`; afterwards they are again values of `format`.
   */
  step(params: ReadonlyMap<string, Float64Array>, grads: ReadonlyMap<string, Float64Array>, format: Format, options?: StepOptions): void;
  /** Forget all state (momentum, moments, step counts, master copies); the learning rate stays. */
  reset(): void;
  /** The state (see OptimizerState) plus its arrays keyed `${param}/${buffer}`, copies. */
  exportState(): { state: OptimizerState; arrays: Map<string, Float64Array> };
  /**
   * Replace all state and the learning rate by an export of an optimizer of the same kind (arrays
   * copied). Steps afterwards equal, bit for bit, those the exported optimizer would have taken.
   */
  importState(state: OptimizerState, arrays: ReadonlyMap<string, Float64Array>): void;
}

/** 'p' (default): master weights are the p-weights; '32': fp32 master weights for formats narrower than 32 bits. */
export type MasterWeights = 'p' | '32';

/** The format an optimizer computes in for weights of format p. */
export function masterFormat(format: Format, masterWeights: MasterWeights = 'p'): Format {
  return masterWeights === '32' && format.bits < 32 ? F32 : format;
}

interface Entry {
  /** The master copy in q, or null when the update works on the p-weights themselves. */
  master: Float64Array | null;
  readonly buffers: Map<string, Float64Array>;
  step: number;
}

/**
 * Per-parameter state shared by the optimizers: the master copy of the weights (the p-weights
 * themselves when q = p) and named state buffers, created on first use; exported and
 * imported whole for checkpoints.
 */
export class ParamState {
  private entries = new Map<string, Entry>();

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

  /** Every entry as OptimizerState facts, its master copy and buffers as arrays keyed `${name}/master`, `${name}/${buffer}` (copies). */
  export(): { params: OptimizerState['params']; arrays: Map<string, Float64Array> } {
    const arrays = new Map<string, Float64Array>();
    const params: OptimizerState['params'][number][] = [];
    for (const [name, e] of this.entries) {
      if (e.master) arrays.set(`${name}/master`, e.master.slice());
      for (const [k, b] of e.buffers) arrays.set(`${name}/${k}`, b.slice());
      params.push({ name, step: e.step, master: e.master !== null, buffers: [...e.buffers.keys()] });
    }
    return { params, arrays };
  }

  /** Replace every entry by those of an export (arrays copied); throws, changing nothing, if an array is missing. */
  import(params: OptimizerState['params'], arrays: ReadonlyMap<string, Float64Array>): void {
    const get = (k: string) => {
      const a = arrays.get(k);
      if (!a) throw new Error(`optimizer state: array '${k}' is missing`);
      return a.slice();
    };
    const entries = new Map<string, Entry>();
    for (const p of params) {
      entries.set(p.name, {
        master: p.master ? get(`${p.name}/master`) : null,
        buffers: new Map(p.buffers.map((b) => [b, get(`${p.name}/${b}`)])),
        step: p.step,
      });
    }
    this.entries = entries;
  }
}

/**
 * An Optimizer of `kind` around its update: `update(lr, …)` is one step's arithmetic with the
 * learning rate in force (kept here, settable, checked ≥ 0), on the per-parameter `state` that
 * reset / exportState / importState clear, copy out and replace; `describe(lr)` gives the name.
 */
export function defineOptimizer(
  kind: OptimizerKind,
  lr: number,
  describe: (lr: number) => string,
  state: ParamState,
  update: (
    lr: number,
    params: ReadonlyMap<string, Float64Array>,
    grads: ReadonlyMap<string, Float64Array>,
    format: Format,
    options: StepOptions,
  ) => void,
): Optimizer {
  const checked = (x: number): number => {
    if (!(x >= 0)) throw new Error(`${kind}: lr must be ≥ 0, got ${x}`);
    return x;
  };
  let current = checked(lr);
  return {
    kind,
    get name() {
      return describe(current);
    },
    get lr() {
      return current;
    },
    set lr(x: number) {
      current = checked(x);
    },
    step: (params, grads, format, options = {}) => update(current, params, grads, format, options),
    reset: () => state.clear(),
    exportState() {
      const { params, arrays } = state.export();
      return { state: { kind, lr: current, params }, arrays };
    },
    importState(s, arrays) {
      if (s.kind !== kind) throw new Error(`optimizer state is ${s.kind}'s, this optimizer is ${kind}`);
      const lrSaved = checked(s.lr);
      state.import(s.params, arrays);
      current = lrSaved;
    },
  };
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
