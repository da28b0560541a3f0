/**
 * Gradient kernels the tfjs wasm backend lacks, built from kernels it has.
 *
 * tfjs-backend-wasm 4.22 registers Conv2D, Conv2DBackpropInput, MaxPool, MaxPoolGrad, Relu, Step,
 * Multiply, Sum, Transpose, ... but not Conv2DBackpropFilter, so `tf.grad` of anything with a
 * conv2d weight throws "Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'".
 * `missingWasmKernels(CHAIN_KERNELS)` lists what is still missing for conv2d → relu → maxpool.
 */
import * as tf from '@tensorflow/tfjs';
import type { Conv2DBackpropFilterAttrs, KernelBackend, KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';

/** Every kernel a forward + backward pass of transpose → conv2d(+bias) → relu → maxpool → transpose runs, with pad for the manual-padding path. */
export const CHAIN_KERNELS = [
  'Transpose',
  'Conv2D',
  'Conv2DBackpropInput',
  'Conv2DBackpropFilter',
  'Add',
  'Sum',
  'Reshape',
  'Relu',
  'Step',
  'Cast',
  'Multiply',
  'MaxPool',
  'MaxPoolGrad',
  'PadV2',
  'Slice',
] as const;

/** The kernels of `names` that have no implementation registered for `backendName`. */
export function missingWasmKernels(names: readonly string[] = CHAIN_KERNELS, backendName = 'wasm'): string[] {
  return names.filter((k) => !tf.getKernel(k, backendName));
}

type Run = (inputs: Record<string, TensorInfo>, attrs: Record<string, unknown>) => TensorInfo;

function kernelOf(name: string, backend: KernelBackend, backendName: string): Run {
  const k = tf.getKernel(name, backendName);
  if (!k) throw new Error(`${backendName} backend has no '${name}' kernel, needed by Conv2DBackpropFilter`);
  return (inputs, attrs) => k.kernelFunc({ inputs, backend, attrs: attrs as NamedAttrMap }) as TensorInfo;
}

/**
 * The filter gradient as one forward convolution (the correlation of the input with dy):
 *
 *   dW[a, b, ci, co] = Σ_{n, i, j} xpad[n, a + i·sh, b + j·sw, ci] · dy[n, i, j, co]
 *
 * which is conv2d(X', F') with X' = x transposed to [Cin, H, W, N] (batch becomes the channel axis
 * that is summed over), F' = dy transposed to [OH, OW, N, Cout] used as the filter, stride 1 and
 * dilation (sh, sw) (the forward stride becomes the dilation of the correlation), and the forward
 * top/left padding. Bottom/right padding is whatever makes the output exactly kh × kw; when it is
 * negative (the forward pass never read the last rows or columns), those rows are cropped instead.
 * The result [Cin, kh, kw, Cout] is transposed to tfjs's filter layout [kh, kw, Cin, Cout].
 */
export function conv2DBackpropFilterViaConv2D(backendName: string): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as Conv2DBackpropFilterAttrs;
    if (dataFormat === 'NCHW') {
      throw new Error(`Conv2DBackpropFilter (${backendName}, via conv2d): dataFormat NCHW is not supported, use NHWC`);
    }
    const kb = backend as KernelBackend;
    const transpose = kernelOf('Transpose', kb, backendName);
    const slice = kernelOf('Slice', kb, backendName);
    const conv2d = kernelOf('Conv2D', kb, backendName);
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filterShape,
      strides,
      1,
      pad,
      dimRoundingMode,
      false,
      'channelsLast',
    );
    const { batchSize: n, inHeight: h, inWidth: w, inChannels: cin, outHeight: oh, outWidth: ow } = info;
    const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
    const top = info.padInfo.top;
    const left = info.padInfo.left;
    const bottom = kh + (oh - 1) * sh - top - h;
    const right = kw + (ow - 1) * sw - left - w;
    const temps: TensorInfo[] = [];
    const keep = (t: TensorInfo) => {
      temps.push(t);
      return t;
    };
    try {
      let xt = keep(transpose({ x }, { perm: [3, 1, 2, 0] })); // [Cin, H, W, N]
      if (bottom < 0 || right < 0) {
        const hh = h + Math.min(0, bottom);
        const ww = w + Math.min(0, right);
        if (hh <= 0 || ww <= 0)
          throw new Error(
            `Conv2DBackpropFilter (${backendName}, via conv2d): no window reads the input (padding ${top}/${left} with kernel ${kh}×${kw})`,
          );
        xt = keep(slice({ x: xt }, { begin: [0, 0, 0, 0], size: [cin, hh, ww, n] }));
      }
      const dyt = keep(transpose({ x: dy }, { perm: [1, 2, 0, 3] })); // [OH, OW, N, Cout]
      const corr = keep(
        conv2d(
          { x: xt, filter: dyt },
          {
            strides: [1, 1],
            pad: [
              [0, 0],
              [top, Math.max(0, bottom)],
              [left, Math.max(0, right)],
              [0, 0],
            ],
            dataFormat: 'NHWC',
            dilations: [sh, sw],
            dimRoundingMode: undefined,
          },
        ),
      ); // [Cin, kh, kw, Cout]
      return transpose({ x: corr }, { perm: [1, 2, 0, 3] }); // [kh, kw, Cin, Cout]
    } finally {
      for (const t of temps) kb.disposeData(t.dataId);
    }
  };
}

export const conv2DBackpropFilterWasmConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilterViaConv2D('wasm'),
};

/**
 * Register the missing gradient kernels for wasm (idempotent; a kernel tfjs already has is left
 * alone). Returns the names it registered.
 */
export function registerWasmGradKernels(): string[] {
  const done: string[] = [];
  for (const config of [conv2DBackpropFilterWasmConfig]) {
    if (!tf.getKernel(config.kernelName, config.backendName)) {
      tf.registerKernel(config);
      done.push(config.kernelName);
    }
  }
  return done;
}
