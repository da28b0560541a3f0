/**
 * SGD and Adam for training runs: the engine's optimizers (src/engine/optim, PyTorch semantics,
 * every update op rounded to the master format q) with two things a trainer needs and they lack:
 * a learning rate that a schedule can change between steps, and state that can be saved to a
 * checkpoint and restored exactly (momentum buffers, Adam moments, per-parameter step counts,
 * fp32 master copies).
 *
 * The arithmetic is the same expression for expression as sgd.ts / adam.ts (the property suite
 * checks them bit for bit against each other); read those files for the formulas.
 */
import type { Format } from '../precision/index.ts';
import { rounder } from '../engine/arith.ts';
import { masterFormat, unscaled, type MasterWeights, type Optimizer, type StepOptions } from '../engine/optim/optimizer.ts';

interface Entry {
  master: Float64Array | null;
  readonly buffers: Map<string, Float64Array>;
  step: number;
}

/** What a checkpoint keeps of an optimizer: small facts as JSON, arrays apart. */
export interface OptimizerState {
  readonly kind: 'sgd' | 'adam';
  readonly lr: number;
  readonly params: readonly { readonly name: string; readonly step: number; readonly master: boolean; readonly buffers: readonly string[] }[];
}

export interface TrainOptimizer extends Optimizer {
  readonly kind: 'sgd' | 'adam';
  /** The learning rate of the next steps (a schedule sets it each epoch). */
  lr: number;
  /** State as JSON-able facts plus arrays keyed `${param}/${buffer}` (copies). */
  exportState(): { state: OptimizerState; arrays: Map<string, Float64Array> };
  /** Replace all state by an exported one. */
  importState(state: OptimizerState, arrays: ReadonlyMap<string, Float64Array>): void;
}

export interface TrainOptimizerOptions {
  readonly kind: 'sgd' | 'adam';
  readonly lr: number;
  readonly momentum?: number;
  readonly weightDecay?: number;
  readonly masterWeights?: MasterWeights;
  /** Adam. */
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
}

export function trainOptimizer(o: TrainOptimizerOptions): TrainOptimizer {
  const { kind, momentum = 0, weightDecay = 0, masterWeights = 'p', beta1 = 0.9, beta2 = 0.999, eps = 1e-8 } = o;
  if (!(o.lr >= 0)) throw new Error(`${kind}: lr must be ≥ 0, got ${o.lr}`);
  if (!(momentum >= 0)) throw new Error(`${kind}: momentum must be ≥ 0, got ${momentum}`);
  if (!(weightDecay >= 0)) throw new Error(`${kind}: weightDecay must be ≥ 0, got ${weightDecay}`);
  const entries = new Map<string, Entry>();

  /** ParamState.get of optimizer.ts: the entry of a parameter, created (or re-created) as there. */
  const entryOf = (name: string, param: Float64Array, separate: boolean): Entry => {
    let e = entries.get(name);
    if (!e || (separate && e.master === null) || (e.master !== null && e.master.length !== param.length)) {
      e = { master: separate ? param.slice() : null, buffers: new Map(), step: 0 };
      entries.set(name, e);
    }
    return e;
  };
  const buffer = (e: Entry, key: string, n: number): { values: Float64Array; fresh: boolean } => {
    let b = e.buffers.get(key);
    if (b) return { values: b, fresh: false };
    b = new Float64Array(n);
    e.buffers.set(key, b);
    return { values: b, fresh: true };
  };

  const self: TrainOptimizer = {
    kind,
    lr: o.lr,
    get name() {
      const m = masterWeights === '32' ? ', fp32 masters' : '';
      return kind === 'sgd'
        ? `sgd(lr=${self.lr}, momentum=${momentum}, weightDecay=${weightDecay}${m})`
        : `adam(lr=${self.lr}, betas=(${beta1}, ${beta2}), eps=${eps}, weightDecay=${weightDecay}${m})`;
    },
    reset: () => entries.clear(),
    step(params: ReadonlyMap<string, Float64Array>, grads: ReadonlyMap<string, Float64Array>, format: Format, { gradScale = 1 }: StepOptions = {}) {
      const lr = self.lr;
      const q = masterFormat(format, masterWeights);
      const R = rounder(q);
      const roundP = rounder(format);
      const separate = q !== format;
      const wdQ = R(weightDecay);
      // sgd
      const lrQ = R(lr);
      const muQ = R(momentum);
      // adam
      const c1Q = R(1 - beta1);
      const b2Q = R(beta2);
      const c2Q = R(1 - beta2);
      const epsQ = R(eps);
      for (const [name, param] of params) {
        const grad = grads.get(name);
        if (!grad) continue;
        if (grad.length !== param.length) throw new Error(`${kind}: gradient of ${name} has ${grad.length} values, the parameter ${param.length}`);
        const e = entryOf(name, param, separate);
        const w = e.master ?? param;
        const g0 = unscaled(grad, q, gradScale);
        if (kind === 'sgd') {
          const buf = momentum !== 0 ? buffer(e, 'momentum', param.length) : null;
          for (let i = 0; i < w.length; i++) {
            let g = g0[i];
            if (weightDecay !== 0) g = R(g + R(wdQ * w[i]));
            if (buf) {
              const b = buf.fresh ? g : R(R(muQ * buf.values[i]) + g);
              buf.values[i] = b;
              g = b;
            }
            w[i] = R(w[i] - R(lrQ * g));
          }
        } else {
          const m = buffer(e, 'exp_avg', param.length).values;
          const v = buffer(e, 'exp_avg_sq', param.length).values;
          const t = ++e.step;
          const stepSize = R(lr / (1 - beta1 ** t));
          const c2s = R(Math.sqrt(1 - beta2 ** t));
          for (let i = 0; i < w.length; i++) {
            let g = g0[i];
            if (weightDecay !== 0) g = R(g + R(wdQ * w[i]));
            m[i] = R(m[i] + R(c1Q * R(g - m[i])));
            v[i] = R(R(b2Q * v[i]) + R(c2Q * R(g * g)));
            const denom = R(R(R(Math.sqrt(v[i])) / c2s) + epsQ);
            w[i] = R(w[i] - R(stepSize * R(m[i] / denom)));
          }
        }
        if (w !== param) for (let i = 0; i < param.length; i++) param[i] = roundP(w[i]);
      }
    },
    exportState() {
      const arrays = new Map<string, Float64Array>();
      const ps: OptimizerState['params'][number][] = [];
      for (const [name, e] of entries) {
        if (e.master) arrays.set(`${name}/master`, e.master.slice());
        for (const [k, b] of e.buffers) arrays.set(`${name}/${k}`, b.slice());
        ps.push({ name, step: e.step, master: e.master !== null, buffers: [...e.buffers.keys()] });
      }
      return { state: { kind, lr: self.lr, params: ps }, arrays };
    },
    importState(state, arrays) {
      if (state.kind !== kind) throw new Error(`optimizer state is ${state.kind}'s, this optimizer is ${kind}`);
      const get = (k: string) => {
        const a = arrays.get(k);
        if (!a) throw new Error(`optimizer state: array '${k}' is missing`);
        return a.slice();
      };
      entries.clear();
      for (const p of state.params) {
        entries.set(p.name, { master: p.master ? get(`${p.name}/master`) : null, buffers: new Map(p.buffers.map((b) => [b, get(`${p.name}/${b}`)])), step: p.step });
      }
      self.lr = state.lr;
    },
  };
  return self;
}
