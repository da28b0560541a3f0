/**
 * A Problem's layer chain in tfjs, and its vector–Jacobian product.
 *
 * Problems are NCHW with conv weights [out, in, kh, kw]; tfjs convolves and pools NHWC with filters
 * [kh, kw, in, out]. The chain transposes the input to NHWC once, runs every layer NHWC, and
 * transposes the output back; weights are transposed where they are used, so tf.grads returns
 * gradients in the Problem's own layouts.
 *
 * Padding, two ways (identical results wherever both run, checked in properties/tfjs.test.ts):
 * - 'explicit' (cpu, wasm): tfjs's ExplicitPadding [[0,0],[p,p],[q,q],[0,0]]. conv2d pads with
 *   zeros; maxPool skips padded positions (cpu's loops start at max(0, corner); wasm's XNNPACK
 *   pooling and its MaxPoolGrad take top/left offsets), so padding never wins the max.
 * - 'manual' (tensorflow): tfjs-node's kernels accept only 'valid' and 'same', so the chain pads
 *   itself with tf.pad (0 for conv2d, −Infinity for maxpool) and runs 'valid' ops. A window always
 *   holds at least one real entry (maxpool padding ≤ half the kernel), and every finite value
 *   beats −∞, so padding never wins there either; pad's gradient (a slice) drops the padded rows.
 */
import type { BackendResult } from '../types.ts';
import type { Gradients, LayerSpec, Problem, Shape } from '../../problem/index.ts';
import { validateProblem } from '../../problem/index.ts';
import { tf } from './runtime.ts';
import type { Tensor, Tensor4D } from '@tensorflow/tfjs';

export type PadMode = 'explicit' | 'manual';

const f32 = (a: readonly number[]): number[] => a.map(Math.fround);

type Explicit = [[number, number], [number, number], [number, number], [number, number]];
const explicit = ([p, q]: readonly [number, number]): Explicit => [
  [0, 0],
  [p, p],
  [q, q],
  [0, 0],
];

function layerForward(layer: LayerSpec, a: Tensor4D, w: Tensor | undefined, b: Tensor | undefined, mode: PadMode): Tensor4D {
  switch (layer.kind) {
    case 'relu':
      return tf.relu(a);
    case 'conv2d': {
      const filter = tf.transpose(w!, [2, 3, 1, 0]) as Tensor4D; // [out,in,kh,kw] → [kh,kw,in,out]
      const stride = [...layer.stride] as [number, number];
      const y =
        mode === 'explicit'
          ? tf.conv2d(a, filter, stride, explicit(layer.padding))
          : tf.conv2d(tf.pad(a, explicit(layer.padding), 0), filter, stride, 'valid');
      return b ? tf.add(y, b) : y;
    }
    case 'maxpool': {
      const kernel = [...layer.kernel] as [number, number];
      const stride = [...layer.stride] as [number, number];
      return mode === 'explicit'
        ? tf.maxPool(a, kernel, stride, explicit(layer.padding))
        : tf.maxPool(tf.pad(a, explicit(layer.padding), -Infinity), kernel, stride, 'valid');
    }
  }
}

/**
 * Forward output and gradients of L = ⟨cotangent, output⟩ w.r.t. the input and every conv
 * weight/bias, all rounded to float32 on the way in (Math.fround) and computed by the active tfjs
 * backend. L's gradient w.r.t. the output is the cotangent itself, so it is passed to tf.grads as
 * the upstream gradient dy (bit-identical to differentiating sum(output · cotangent), whose
 * backward pass multiplies the cotangent by ones). Call inside `exclusive` after `activate`.
 * Every tensor is created inside tf.tidy and released before returning.
 */
export function runChain(problem: Problem, mode: PadMode): BackendResult {
  const shapes: Shape[] = validateProblem(problem);
  const outShape = shapes[shapes.length - 1];
  let result: BackendResult | undefined;
  tf.tidy(() => {
    const x = tf.tensor4d(f32(problem.input.data), [...problem.input.shape] as [number, number, number, number]);
    // Flat list of differentiated tensors: [x, then weight (and bias) of each conv in order].
    const xs: Tensor[] = [x];
    const slots: ({ w: number; b?: number } | null)[] = problem.layers.map((layer, i) => {
      const p = problem.params[i];
      if (layer.kind !== 'conv2d' || !p) return null;
      const inC = shapes[i][1];
      const slot: { w: number; b?: number } = { w: xs.length };
      xs.push(tf.tensor4d(f32(p.weight), [layer.outChannels, inC, layer.kernel[0], layer.kernel[1]]));
      if (p.bias) {
        slot.b = xs.length;
        xs.push(tf.tensor1d(f32(p.bias)));
      }
      return slot;
    });
    // The first (recorded) call keeps every layer's output, NCHW, so the classifier can derive the
    // routing tfjs's own forward values imply; tf.grads re-runs the same deterministic forward.
    let recorded: Tensor[] | undefined = [];
    const forward = (...args: Tensor[]): Tensor => {
      let a = tf.transpose(args[0], [0, 2, 3, 1]) as Tensor4D;
      problem.layers.forEach((layer, i) => {
        const s = slots[i];
        a = layerForward(layer, a, s ? args[s.w] : undefined, s?.b !== undefined ? args[s.b] : undefined, mode);
        recorded?.push(tf.transpose(a, [0, 3, 1, 2]));
      });
      return tf.transpose(a, [0, 3, 1, 2]);
    };
    const out = forward(...xs);
    const acts = recorded;
    recorded = undefined;
    if (out.shape.join('×') !== outShape.join('×')) {
      throw new Error(`tfjs output shape ${out.shape.join('×')} differs from the problem's ${outShape.join('×')}`);
    }
    const dy = tf.tensor(f32(problem.cotangent), out.shape);
    const g = tf.grads(forward)(xs, dy);
    const read = (t: Tensor): number[] => Array.from(t.dataSync());
    const grads: Gradients<number> = {
      input: read(g[0]),
      params: slots.map((s) => (s ? { weight: read(g[s.w]), ...(s.b !== undefined ? { bias: read(g[s.b]) } : {}) } : null)),
    };
    result = { output: read(out), grads, activations: [f32(problem.input.data), ...acts.map(read)] };
  });
  return result!;
}
