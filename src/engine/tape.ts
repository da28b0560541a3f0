/**
 * The tape: records ops during the forward pass and replays their gradients backwards
 * (reverse-mode AD, as in micrograd, with tensors instead of scalars).
 *
 * A tape belongs to one forward/backward pass. It holds the EngineOptions (precision p,
 * accumulation mode, Jacobian choice), the Arith every op computes with, the routing decisions the
 * nonsmooth ops (maxpool, relu) took, in forward order, and — when its format has kernels — the
 * device memory its tensors live in (kernels/device.ts). An op records its gradient either as a
 * host function (it receives dL/d(output) as doubles) or as a device one (it receives the address
 * of dL/d(output) in device memory); the tape moves a gradient between the two as needed.
 *
 * Tape.release() gives the device memory back once a pass's results have been read (their values
 * and gradients must be read before: afterwards reading a tensor that lived only on the device
 * throws); a tape nobody releases gives it back when it is garbage-collected.
 */
import { type Arith, addInPlace, makeArith, roundInPlace } from './arith.ts';
import { copyDev, type DeviceCtx, deviceFor, download, upload } from './kernels/device.ts';
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

type TapeNode =
  | {
      readonly op: string;
      readonly inputs: readonly Tensor[];
      readonly output: Tensor;
      readonly device: false;
      /** Given dL/d(output), add each input's contribution with tape.addGrad / addGradDev. */
      readonly backward: (gy: Float64Array) => void;
    }
  | {
      readonly op: string;
      readonly inputs: readonly Tensor[];
      readonly output: Tensor;
      readonly device: true;
      /** Given the device address of dL/d(output), add each input's contribution. */
      readonly backward: (gy: number) => void;
    };

export class Tape {
  readonly arith: Arith;
  readonly decisions: Decision[] = [];
  /** The kernels and device memory of this tape, or null: every op on its JS loops (kernels/index.ts says when). */
  readonly device: DeviceCtx | null;
  private readonly nodes: TapeNode[] = [];
  private done = false;

  constructor(readonly options: EngineOptions) {
    this.arith = makeArith(options.format, options.accumulate, { checkUnderflow: options.checkUnderflow === true });
    this.device = deviceFor(this.arith, this);
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
    return this.made(data, 0, shape, inputs, name);
  }

  /** Wrap an op's output held in device memory at `ptr` (values of p). */
  resultDev(ptr: number, shape: readonly number[], inputs: readonly Tensor[], name = ''): Tensor {
    return this.made(null, ptr, shape, inputs, name);
  }

  private made(data: Float64Array | null, ptr: number, shape: readonly number[], inputs: readonly Tensor[], name: string): Tensor {
    for (const t of inputs) if (t.tape !== this) throw new Error(`op ${name}: input ${t.name || '(unnamed)'} belongs to another tape`);
    return new Tensor(
      this,
      data,
      shape,
      inputs.some((t) => t.requiresGrad),
      name,
      ptr,
    );
  }

  /** Record an op for the backward pass (skipped when no input needs a gradient); its gradient runs on doubles. */
  record(op: string, inputs: readonly Tensor[], output: Tensor, backward: (gy: Float64Array) => void): void {
    if (output.requiresGrad) this.nodes.push({ op, inputs, output, device: false, backward });
  }

  /** Record an op whose gradient runs on the device (it receives the address of dL/d(output)). */
  recordDev(op: string, inputs: readonly Tensor[], output: Tensor, backward: (gy: number) => void): void {
    if (output.requiresGrad) this.nodes.push({ op, inputs, output, device: true, backward });
  }

  private dev(): DeviceCtx {
    if (!this.device) throw new Error('internal: a device op on a tape without kernels');
    return this.device;
  }

  /** n stored values at a device address, as doubles (a copy). */
  download(ptr: number, n: number): Float64Array {
    return download(this.dev(), ptr, n);
  }

  /** The device address of t's values, copying them there on first use. */
  devOf(t: Tensor): number {
    if (t.dev === 0) t.dev = upload(this.dev(), t.data);
    return t.dev;
  }

  /** A device block for n stored values of p (contents undefined). */
  alloc(n: number): number {
    const d = this.dev();
    return d.arena.alloc(n * d.E);
  }

  /** A device block of `bytes` bytes (contents undefined). */
  allocBytes(bytes: number): number {
    return this.dev().arena.alloc(bytes);
  }

  /**
   * Add a gradient contribution g (values of p) into t's gradient. A tensor used by several ops gets
   * the sum of their contributions, each addition rounded to p, in the order backward reaches them.
   */
  addGrad(t: Tensor, g: Float64Array): void {
    if (!t.requiresGrad) return;
    if (g.length !== t.size) throw new Error(`gradient of ${t.name || 'tensor'} has ${g.length} values, needs ${t.size}`);
    if (t.gradDev !== 0) {
      this.accumulateDev(t, upload(this.dev(), g));
      return;
    }
    if (t.gradHost === null) {
      t.gradHost = g.slice(); // a copy: ops may hand the same buffer to several inputs
      return;
    }
    addInPlace(this.arith, t.gradHost, g); // t.grad[i] = addP(t.grad[i], g[i])
  }

  /**
   * Add a gradient contribution held in device memory at `ptr` into t's gradient, as addGrad does.
   * `owned`: the block is the op's own, fresh one, so the tape may keep it as the gradient itself.
   */
  addGradDev(t: Tensor, ptr: number, owned: boolean): void {
    if (!t.requiresGrad) return;
    if (t.gradDev === 0 && t.gradHost === null) {
      t.gradDev = owned ? ptr : copyDev(this.dev(), ptr, t.size);
      return;
    }
    if (t.gradDev === 0) t.gradDev = upload(this.dev(), t.gradHost!);
    this.accumulateDev(t, ptr);
  }

  /** t's device gradient += the values at `ptr`, each sum rounded to p (= addInPlace). */
  private accumulateDev(t: Tensor, ptr: number): void {
    const d = this.dev();
    d.raw.addP(d.E, d.rk, t.size, t.gradDev, ptr, t.gradDev);
    t.gradHost = null; // the downloaded copy is stale
  }

  /** The device address of t's gradient, copying it there when it is on the host. */
  private gradDevOf(t: Tensor): number {
    if (t.gradDev === 0) t.gradDev = upload(this.dev(), t.gradHost!);
    return t.gradDev;
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
      const out = node.output;
      if (out.gradDev === 0 && out.gradHost === null) continue;
      if (node.device) node.backward(this.gradDevOf(out));
      else node.backward(out.grad!);
    }
  }

  /**
   * Give the device memory back. The values of `keep` (and the gradients already read) stay
   * readable; any other tensor that lived only on the device throws when read afterwards.
   */
  release(keep: readonly Tensor[] = []): void {
    if (!this.device) return;
    for (const t of keep) void t.data;
    this.device.arena.release();
  }
}
