/**
 * Hand-written MaxPool kernels, as a kernel author would write them, for the tests of the testing
 * helpers: a correct backward with the `first` rule (strict `>`), one with the `last` rule (`>=`),
 * and the seeded bug of tfjs-backend-wasm 4.22's MaxPoolGrad: the running maximum starts at
 * FLT_MIN = 2^-126 (the smallest positive normal) instead of −∞, so a window whose maximum is below
 * 2^-126 (zero, negative, subnormal) never updates it and its gradient is dropped.
 */
import type { KernelArray, MaxPoolGeometry, MaxPoolKernel } from '../../src/testing/index.ts';

/** Does `value` replace the running maximum `best` (arg < 0: nothing chosen yet)? */
type Better = (value: number, best: number, arg: number) => boolean;

/** For each output element: the flat input index its backward routes to (−1: none), scanning each window row-major from `start`. */
function argmaxes(x: KernelArray, g: MaxPoolGeometry, better: Better, start: number): Int32Array {
  const [n, c, h, w] = g.inputShape;
  const [, , oh, ow] = g.outputShape;
  const at = new Int32Array(n * c * oh * ow);
  let o = 0;
  for (let b = 0; b < n * c; b++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++, o++) {
        let best = start;
        let arg = -1;
        for (let ky = 0; ky < g.kernel[0]; ky++) {
          const y = oy * g.stride[0] - g.padding[0] + ky;
          if (y < 0 || y >= h) continue;
          for (let kx = 0; kx < g.kernel[1]; kx++) {
            const xx = ox * g.stride[1] - g.padding[1] + kx;
            if (xx < 0 || xx >= w) continue;
            const i = b * h * w + y * w + xx;
            if (better(x[i]!, best, arg)) {
              best = x[i]!;
              arg = i;
            }
          }
        }
        at[o] = arg;
      }
    }
  }
  return at;
}

function kernel(id: string, better: Better, start: number): MaxPoolKernel {
  return {
    id,
    precision: '32',
    forward(x, g) {
      const at = argmaxes(x, g, (v, best, arg) => arg < 0 || v > best, -Infinity);
      return Float32Array.from(at, (i) => x[i]!);
    },
    backward(x, dy, g) {
      const dx = new Float32Array(x.length);
      argmaxes(x, g, better, start).forEach((i, o) => {
        if (i >= 0) dx[i]! += dy[o]!;
      });
      return dx;
    },
  };
}

/** Correct, `first` at ties (strict >, as PyTorch and tfjs cpu). */
export const firstMaxPool = kernel('maxpool-first', (v, best, arg) => arg < 0 || v > best, -Infinity);
/** Correct, `last` at ties (>=, as tfjs wasm above 2^-126). */
export const lastMaxPool = kernel('maxpool-last', (v, best, arg) => arg < 0 || v >= best, -Infinity);
/** The seeded bug: `>=` against a running maximum that starts at 2^-126 (tfjs-wasm 4.22's MaxPoolGrad). */
export const fltMinMaxPool = kernel('maxpool-last-flt-min', (v, best) => v >= best, 2 ** -126);
