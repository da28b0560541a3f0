/**
 * A MaxPool kernel (forward and backward over flat NCHW arrays) as an AdBackend, so that a kernel
 * author checks it without writing the Problem glue: the adapter rounds the point to the kernel's
 * precision, hands typed arrays to the kernel, and returns the gradient with the forward values
 * (the input the kernel pooled and its output), from which the classifier reads the kernel's own
 * routing (docs/DESIGN.md §7).
 *
 *   const backend = maxPoolBackend({ id: 'my-maxpool', precision: '32', forward, backward });
 *   await assertMaxPool(backend);
 */
import type { AdBackend, BackendResult } from '../backends/types.ts';
import { formatByName, round } from '../precision/index.ts';
import { type MaxPoolSpec, type Pair, type Problem, type Shape, validateProblem } from '../problem/index.ts';

/** Where one MaxPool runs: NCHW shapes and the window geometry (padding is implicit −∞, at most half the kernel). */
export interface MaxPoolGeometry {
  /** [batch, channels, height, width] of the input. */
  readonly inputShape: Shape;
  /** [batch, channels, outHeight, outWidth] of the output (floor mode). */
  readonly outputShape: Shape;
  /** Window [rows, cols]. */
  readonly kernel: Pair;
  /** Step between windows [rows, cols]. */
  readonly stride: Pair;
  /** Implicit −∞ padding on each side [rows, cols]: padding never attains the maximum. */
  readonly padding: Pair;
}

/** The array type a kernel receives: Float32Array at 32 bits, Float64Array otherwise (values already rounded to the precision). */
export type KernelArray = Float32Array | Float64Array;

/** A MaxPool kernel under test: forward and backward over flat NCHW arrays in one precision. */
export interface MaxPoolKernel {
  /** Name in reports and failure messages. */
  readonly id: string;
  /** The precision it computes in: '32' (Float32Array), '64', '16', 'bf16', … (Float64Array of values of that format). */
  readonly precision: string;
  /** One line for reports (default: the id and precision). */
  readonly description?: string;
  /** Versions of the software under test, recorded with results. */
  readonly versions?: Readonly<Record<string, string>>;
  /** y = maxpool(x): one value per output element, flat NCHW. */
  forward(x: KernelArray, geometry: MaxPoolGeometry): ArrayLike<number>;
  /** dx for the upstream gradient dy (one value per output element): what the kernel's MaxPool backward computes. */
  backward(x: KernelArray, dy: KernelArray, geometry: MaxPoolGeometry): ArrayLike<number>;
}

/** The lone MaxPool layer of a problem, or a clear error for anything else. */
function loneMaxPool(problem: Problem, id: string): { layer: MaxPoolSpec; geometry: MaxPoolGeometry } {
  const shapes = validateProblem(problem);
  const layer = problem.layers[0];
  if (problem.layers.length !== 1 || layer?.kind !== 'maxpool') {
    const chain = problem.layers.map((l) => l.kind).join(' → ');
    throw new Error(
      `${id} is a MaxPool kernel (maxPoolBackend) and runs lone MaxPool problems only, got ${chain}: use checkMaxPool's generators`,
    );
  }
  const [inputShape, outputShape] = shapes as [Shape, Shape];
  return { layer, geometry: { inputShape, outputShape, kernel: layer.kernel, stride: layer.stride, padding: layer.padding } };
}

function toKernelArray(values: readonly number[], precision: string): KernelArray {
  if (precision === '32') return Float32Array.from(values);
  const f = formatByName(precision);
  return Float64Array.from(values, (v) => round(f, v));
}

function checkLength(what: string, got: ArrayLike<number>, want: number, id: string): number[] {
  if (got.length !== want) throw new Error(`${id}: ${what} returned ${got.length} values, the shape needs ${want}`);
  return Array.from(got);
}

/** Wrap a MaxPool kernel as an AdBackend (fixed Jacobian: its tie rule is measured or declared to the check, never chosen). */
export function maxPoolBackend(kernel: MaxPoolKernel): AdBackend {
  formatByName(kernel.precision); // an unknown precision fails here, listing the known ones
  return {
    id: kernel.id,
    description: kernel.description ?? `${kernel.id}: a MaxPool kernel at ${kernel.precision} bits (adzone maxPoolBackend)`,
    precisions: [kernel.precision],
    fixedJacobian: true,
    // The kernel's own forward output is returned with every gradient (the contract's forward values).
    forwardValues: true,
    versions: kernel.versions ?? {},
    async run(problem, opts): Promise<BackendResult> {
      if (opts.precision !== kernel.precision) {
        throw new Error(`${kernel.id} computes at ${kernel.precision} bits; precision '${opts.precision}' was asked for`);
      }
      const { geometry } = loneMaxPool(problem, kernel.id);
      const x = toKernelArray(problem.input.data, kernel.precision);
      const dy = toKernelArray(problem.cotangent, kernel.precision);
      // Copies: a kernel that writes into its arguments must not change the forward values reported.
      const output = checkLength('forward', kernel.forward(x.slice(), geometry), dy.length, kernel.id);
      const dx = checkLength('backward', kernel.backward(x.slice(), dy, geometry), x.length, kernel.id);
      return { output, grads: { params: [null], input: dx }, activations: [Array.from(x), output] };
    },
  };
}
