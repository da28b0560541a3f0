/**
 * The tape: records ops during the forward pass and replays their gradients backwards
 * (reverse-mode AD, as in micrograd, with tensors instead of scalars).
 *
 * A tape belongs to one forward/backward pass. It holds the EngineOptions (precision p,
 * accumulation mode, Jacobian choice), the Arith every op computes with, and the routing
 * decisions the nonsmooth ops (maxpool, relu) took, in forward order.
 */
import { addInPlace, makeArith, roundInPlace, type Arith } from './arith.ts';
import { Tensor } from './tensor.ts';
import type { EngineOptions } from './types.ts';

/** Tie sets of a maxpool, flat: output o's tie set is indices[offsets[o] .. offsets[o+1]). */
export interface TieSets {
  readonly offsets: Int32Array;
  /** Flat NCHW indices of the layer input, ascending within each tie set. */
  readonly indices: Int32Array;
}

/** A routing decision taken by a nonsmooth op in the precision-p forward pass (docs/DESIGN.md §3). */
export type Decision =
  | { readonly kind: 'maxpool'; readonly output: Tensor; readonly ties: TieSets }
  /** relu: 1 (x > 0), 0 (x = ±0), −1 (x < 0 or NaN: NaN is routed like x < 0, no gradient). */
  | { readonly kind: 'relu'; readonly output: Tensor; readonly sign: Int8Array };

interface TapeNode {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  readonly output: Tensor;
  /** Given dL/d(output), add each input's contribution with tape.addGrad. */
  readonly backward: (gy: Float64Array) => void;
}

export class Tape {
  readonly arith: Arith;
  readonly decisions: Decision[] = [];
  private readonly nodes: TapeNode[] = [];
  private done = false;

  constructor(readonly options: EngineOptions) {
    this.arith = makeArith(options.format, options.accumulate, { checkUnderflow: options.checkUnderflow === true });
  }

  /** A leaf tensor: the values rounded to p. Set requiresGrad for inputs and parameters you want gradients of. */
  tensor(values: ArrayLike<number>, shape: readonly number[], requiresGrad = false, name = ''): Tensor {
    const data = new Float64Array(values.length);
    data.set(values);
    roundInPlace(this.arith, data); // = this.arith.round(values[i]) for each i
    return new Tensor(this, data, shape, requiresGrad, name);
  }

  /** Wrap an op's output (its values already of p); it needs a gradient iff one of its inputs does. */
  result(data: Float64Array, shape: readonly number[], inputs: readonly Tensor[], name = ''): Tensor {
    for (const t of inputs) if (t.tape !== this) throw new Error(`op ${name}: input ${t.name || '(unnamed)'} belongs to another tape`);
    return new Tensor(
      this,
      data,
      shape,
      inputs.some((t) => t.requiresGrad),
      name,
    );
  }

  /** Record an op for the backward pass (skipped when no input needs a gradient). */
  record(op: string, inputs: readonly Tensor[], output: Tensor, backward: (gy: Float64Array) => void): void {
    if (output.requiresGrad) this.nodes.push({ op, inputs, output, backward });
  }

  /**
   * Add a gradient contribution g (values of p) into t.grad. A tensor used by several ops gets the
   * sum of their contributions, each addition rounded to p, in the order backward reaches them.
   */
  addGrad(t: Tensor, g: Float64Array): void {
    if (!t.requiresGrad) return;
    if (g.length !== t.size) throw new Error(`gradient of ${t.name || 'tensor'} has ${g.length} values, needs ${t.size}`);
    if (t.grad === null) {
      t.grad = g.slice(); // a copy: ops may hand the same buffer to several inputs
      return;
    }
    addInPlace(this.arith, t.grad, g); // t.grad[i] = addP(t.grad[i], g[i])
  }

  /** Reverse pass: seed dL/dy = seed (rounded to p) and run every recorded op's gradient, last op first. */
  backward(y: Tensor, seed: ArrayLike<number>): void {
    if (this.done) throw new Error('backward already ran on this tape; make a new Tape per pass');
    this.done = true;
    if (seed.length !== y.size) throw new Error(`seed has ${seed.length} values, output has ${y.size}`);
    const g = new Float64Array(seed.length);
    g.set(seed);
    roundInPlace(this.arith, g);
    this.addGrad(y, g);
    for (let n = this.nodes.length - 1; n >= 0; n--) {
      const node = this.nodes[n];
      if (node.output.grad !== null) node.backward(node.output.grad);
    }
  }
}
