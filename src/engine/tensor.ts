import type { Tape } from './tape.ts';

/**
 * A tensor of the engine: flat row-major values (each a value of the tape's precision p), a shape,
 * and — after `tape.backward` — the gradient of the loss with respect to it.
 *
 * Tensors are made by a Tape (`tape.tensor` for leaves, ops for results), never directly, so every
 * value entering the engine has been rounded to p. Values never change once made.
 *
 * Where the values live: in a double array (`data`), in the tape's device memory (`dev`, an
 * address: kernels/device.ts), or both. An op on the kernels produces device values only; `data`
 * downloads them on first use and keeps the copy. The gradient likewise: `grad` is the device
 * gradient downloaded (a copy, remade after the tape changes the gradient) or the host one. The
 * fields `host`, `dev`, `gradHost` and `gradDev` belong to the Tape.
 */
export class Tensor {
  /** Values as doubles, or null until downloaded (Tape internal). */
  host: Float64Array | null;
  /** Byte address of the values in the tape's device memory, 0 when they are not there (Tape internal). */
  dev: number;
  /** dL/d(this) as doubles: the gradient, or a copy of the device one (Tape internal). */
  gradHost: Float64Array | null = null;
  /** Byte address of dL/d(this) in device memory; when set, it is the gradient (Tape internal). */
  gradDev = 0;
  readonly size: number;

  constructor(
    readonly tape: Tape,
    data: Float64Array | null,
    readonly shape: readonly number[],
    /** Whether backward computes this tensor's gradient (leaves: as asked; results: iff an input does). */
    readonly requiresGrad: boolean,
    readonly name = '',
    dev = 0,
  ) {
    const n = shape.reduce((a, b) => a * b, 1);
    if (data !== null && n !== data.length)
      throw new Error(`tensor ${name || '(unnamed)'}: shape ${shape.join('×')} needs ${n} values, got ${data.length}`);
    if (data === null && dev === 0) throw new Error(`tensor ${name || '(unnamed)'}: no values`);
    this.size = n;
    this.host = data;
    this.dev = dev;
  }

  /** The values as doubles (values of p). */
  get data(): Float64Array {
    if (this.host === null) this.host = this.tape.download(this.dev, this.size);
    return this.host;
  }

  /** dL/d(this), values of p; null until backward reaches it (or when it needs no gradient). */
  get grad(): Float64Array | null {
    if (this.gradDev !== 0 && this.gradHost === null) this.gradHost = this.tape.download(this.gradDev, this.size);
    return this.gradHost;
  }

  values(): number[] {
    return Array.from(this.data);
  }

  /** The gradient as a plain array; zeros where backward never reached. */
  gradValues(): number[] {
    const g = this.grad;
    return g ? Array.from(g) : new Array<number>(this.size).fill(0);
  }
}
