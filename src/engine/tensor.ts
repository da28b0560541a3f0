import type { Tape } from './tape.ts';

/**
 * A tensor of the engine: flat row-major values (each a value of the tape's precision p, held in a
 * double), a shape, and — after `tape.backward` — the gradient of the loss with respect to it.
 *
 * Tensors are made by a Tape (`tape.tensor` for leaves, ops for results), never directly, so every
 * value entering the engine has been rounded to p.
 */
export class Tensor {
  /** dL/d(this), values of p; null until backward reaches it (or when it needs no gradient). */
  grad: Float64Array | null = null;

  constructor(
    readonly tape: Tape,
    readonly data: Float64Array,
    readonly shape: readonly number[],
    /** Whether backward computes this tensor's gradient (leaves: as asked; results: iff an input does). */
    readonly requiresGrad: boolean,
    readonly name = '',
  ) {
    const n = shape.reduce((a, b) => a * b, 1);
    if (n !== data.length) throw new Error(`tensor ${name || '(unnamed)'}: shape ${shape.join('×')} needs ${n} values, got ${data.length}`);
  }

  get size(): number {
    return this.data.length;
  }

  values(): number[] {
    return Array.from(this.data);
  }

  /** The gradient as a plain array; zeros where backward never reached. */
  gradValues(): number[] {
    return this.grad ? Array.from(this.grad) : new Array<number>(this.data.length).fill(0);
  }
}
