// @ts-check
/**
 * A MaxPool layer as a kernel author writes it: forward and backward over flat NCHW Float32Arrays,
 * implicit −∞ padding, floor-mode output.
 *
 * `backward` sends each window's upstream gradient to the window's *last* maximal entry (a `>=`
 * scan), the `last` member of the family of admissible Jacobians (tfjs's wasm backend does the
 * same). `backwardFltMin` carries the bug of tfjs-backend-wasm 4.22's MaxPoolGrad: its running
 * maximum starts at FLT_MIN = 2^-126, the smallest *positive* normal float, instead of −∞. Every
 * window whose maximum is below 2^-126 (zero, negative, subnormal) never updates it, and its
 * gradient is lost.
 */

/** @typedef {import('adzone/testing').MaxPoolGeometry} MaxPoolGeometry */
/** @typedef {import('adzone/testing').KernelArray} KernelArray */
/** @typedef {import('adzone/testing').MaxPoolKernel} MaxPoolKernel */

const FLT_MIN = 2 ** -126;

/**
 * For every output element, the flat input index a scan of its window picks (−1: none).
 * @param {KernelArray} x
 * @param {MaxPoolGeometry} g
 * @param {number} start the running maximum before the first entry
 * @param {(value: number, best: number) => boolean} replaces whether an entry replaces the running maximum
 */
function scan(x, g, start, replaces) {
  const [n, c, h, w] = g.inputShape;
  const [, , oh, ow] = g.outputShape;
  const picked = new Int32Array(n * c * oh * ow).fill(-1);
  let o = 0;
  for (let plane = 0; plane < n * c; plane++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++, o++) {
        let best = start;
        for (let ky = 0; ky < g.kernel[0]; ky++) {
          const y = oy * g.stride[0] - g.padding[0] + ky;
          if (y < 0 || y >= h) continue;
          for (let kx = 0; kx < g.kernel[1]; kx++) {
            const xx = ox * g.stride[1] - g.padding[1] + kx;
            if (xx < 0 || xx >= w) continue;
            const i = plane * h * w + y * w + xx;
            if (replaces(x[i], best)) {
              best = x[i];
              picked[o] = i;
            }
          }
        }
      }
    }
  }
  return picked;
}

/**
 * y = maxpool(x).
 * @param {KernelArray} x
 * @param {MaxPoolGeometry} g
 */
export function forward(x, g) {
  return Float32Array.from(
    scan(x, g, -Infinity, (v, best) => v >= best),
    (i) => x[i],
  );
}

/**
 * dx for upstream gradient dy, the `last` rule: a correct MaxPool backward.
 * @param {KernelArray} x
 * @param {KernelArray} dy
 * @param {MaxPoolGeometry} g
 */
export function backward(x, dy, g) {
  const dx = new Float32Array(x.length);
  scan(x, g, -Infinity, (v, best) => v >= best).forEach((i, o) => {
    if (i >= 0) dx[i] += dy[o];
  });
  return dx;
}

/**
 * The same backward with the seeded bug: the running maximum starts at 2^-126.
 * @param {KernelArray} x
 * @param {KernelArray} dy
 * @param {MaxPoolGeometry} g
 */
export function backwardFltMin(x, dy, g) {
  const dx = new Float32Array(x.length);
  scan(x, g, FLT_MIN, (v, best) => v >= best).forEach((i, o) => {
    if (i >= 0) dx[i] += dy[o];
  });
  return dx;
}

/** @type {MaxPoolKernel} */
export const lastMaxPool = { id: 'custom-maxpool (last)', precision: '32', forward, backward };

/** @type {MaxPoolKernel} */
export const fltMinMaxPool = { id: 'custom-maxpool (running max from 2^-126)', precision: '32', forward, backward: backwardFltMin };
