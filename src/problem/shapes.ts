import { type LayerSpec, type Problem, ProblemError } from './types.ts';

export type Shape = readonly [number, number, number, number];

/** Output size of a sliding window along one axis (floor mode, as PyTorch and TF 'valid' with explicit padding). */
export function windowOutSize(size: number, kernel: number, stride: number, padding: number): number {
  return Math.floor((size + 2 * padding - kernel) / stride) + 1;
}

/** Output shape of one layer given its input shape; throws ProblemError on impossible shapes. */
export function layerOutputShape(layer: LayerSpec, [n, c, h, w]: Shape, inChannels = c): Shape {
  switch (layer.kind) {
    case 'relu':
      return [n, c, h, w];
    case 'conv2d':
    case 'maxpool': {
      const [kh, kw] = layer.kernel;
      const [sh, sw] = layer.stride;
      const [ph, pw] = layer.padding;
      if (kh < 1 || kw < 1 || sh < 1 || sw < 1 || ph < 0 || pw < 0) {
        throw new ProblemError(
          `${layer.kind}: kernel and stride must be ≥ 1 and padding ≥ 0, got kernel ${kh}×${kw}, stride ${sh}×${sw}, padding ${ph}×${pw}`,
        );
      }
      if (layer.kind === 'maxpool' && (2 * ph > kh || 2 * pw > kw)) {
        throw new ProblemError(`maxpool: padding ${ph}×${pw} must be at most half the kernel ${kh}×${kw}`);
      }
      const oh = windowOutSize(h, kh, sh, ph);
      const ow = windowOutSize(w, kw, sw, pw);
      if (oh < 1 || ow < 1) {
        throw new ProblemError(`${layer.kind}: input ${h}×${w} with kernel ${kh}×${kw}, padding ${ph}×${pw} gives an empty output`);
      }
      return [n, layer.kind === 'conv2d' ? layer.outChannels : inChannels, oh, ow];
    }
  }
}

/** Shapes of every activation: shapes[0] is the input, shapes[i+1] the output of layer i. */
export function activationShapes(problem: Pick<Problem, 'input' | 'layers'>): Shape[] {
  const shapes: Shape[] = [problem.input.shape as Shape];
  for (const layer of problem.layers) shapes.push(layerOutputShape(layer, shapes[shapes.length - 1]));
  return shapes;
}

export function size(shape: Shape): number {
  return shape[0] * shape[1] * shape[2] * shape[3];
}

/**
 * Check a problem's internal consistency (sizes of input, params, cotangent) and return its
 * activation shapes. Throws ProblemError naming the first inconsistency.
 */
export function validateProblem(problem: Problem): Shape[] {
  const shapes = activationShapes(problem);
  if (problem.input.data.length !== size(shapes[0])) {
    throw new ProblemError(`input has ${problem.input.data.length} values, shape ${shapes[0].join('×')} needs ${size(shapes[0])}`);
  }
  if (problem.params.length !== problem.layers.length) {
    throw new ProblemError(`params has ${problem.params.length} entries for ${problem.layers.length} layers`);
  }
  problem.layers.forEach((layer, i) => {
    const p = problem.params[i];
    if (layer.kind !== 'conv2d') {
      if (p !== null) throw new ProblemError(`layer ${i} (${layer.kind}) has no parameters but params[${i}] is not null`);
      return;
    }
    if (!p) throw new ProblemError(`layer ${i} (conv2d) needs params[${i}] = { weight, bias? }`);
    const inC = shapes[i][1];
    const need = layer.outChannels * inC * layer.kernel[0] * layer.kernel[1];
    if (p.weight.length !== need) throw new ProblemError(`layer ${i} conv2d weight has ${p.weight.length} values, needs ${need}`);
    if (layer.bias !== (p.bias !== undefined))
      throw new ProblemError(`layer ${i} conv2d bias=${layer.bias} but params[${i}].bias is ${p.bias ? 'present' : 'absent'}`);
    if (p.bias && p.bias.length !== layer.outChannels)
      throw new ProblemError(`layer ${i} conv2d bias has ${p.bias.length} values, needs ${layer.outChannels}`);
  });
  const out = shapes[shapes.length - 1];
  if (problem.cotangent.length !== size(out)) {
    throw new ProblemError(`cotangent has ${problem.cotangent.length} values, output ${out.join('×')} needs ${size(out)}`);
  }
  return shapes;
}

/** True when every number of the problem (input, params, cotangent) is finite. */
export function isFiniteProblem(problem: Problem): boolean {
  const fin = (a: readonly number[]) => a.every(Number.isFinite);
  return (
    fin(problem.input.data) && fin(problem.cotangent) && problem.params.every((p) => !p || (fin(p.weight) && (!p.bias || fin(p.bias))))
  );
}

/** Does the problem have any trainable parameters? (A lone MaxPool has none: its input gradient is classified.) */
export function hasParams(problem: Problem): boolean {
  return problem.params.some((p) => p !== null);
}

/**
 * Flat NCHW input indices inside the window of output element `out` of a maxpool layer (same channel)
 * (padding positions excluded), in row-major order.
 */
export function windowIndices(
  layer: { kernel: readonly [number, number]; stride: readonly [number, number]; padding: readonly [number, number] },
  inShape: Shape,
  outShape: Shape,
  out: number,
): number[] {
  const [, , h, w] = inShape;
  const [, c, oh, ow] = outShape;
  const ox = out % ow;
  const oy = Math.floor(out / ow) % oh;
  const ch = Math.floor(out / (ow * oh)) % c;
  const n = Math.floor(out / (ow * oh * c));
  const base = (n * inShape[1] + ch) * h * w;
  const idx: number[] = [];
  for (let ky = 0; ky < layer.kernel[0]; ky++) {
    const y = oy * layer.stride[0] - layer.padding[0] + ky;
    if (y < 0 || y >= h) continue;
    for (let kx = 0; kx < layer.kernel[1]; kx++) {
      const x = ox * layer.stride[1] - layer.padding[1] + kx;
      if (x < 0 || x >= w) continue;
      idx.push(base + y * w + x);
    }
  }
  return idx;
}

/** All parameter gradient entries of a Gradients record, flattened layer by layer (weight then bias). */
export function flattenParams<T>(g: {
  readonly params: readonly ({ readonly weight: readonly T[]; readonly bias?: readonly T[] } | null)[];
}): T[] {
  const out: T[] = [];
  for (const p of g.params) {
    if (!p) continue;
    out.push(...p.weight);
    if (p.bias) out.push(...p.bias);
  }
  return out;
}
