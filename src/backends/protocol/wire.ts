/**
 * Problems and results between adzone's types and the protocol's: a Problem is rounded to the
 * request's dtype (the rounding every backend does first, docs/DESIGN.md §3) and encoded exactly; a result
 * is checked against the problem it answers (every shape, every bit string's length, one forward
 * value per layer) and decoded into a BackendResult whose activations are the bridge's own forward
 * values. Every mismatch is a ProtocolError naming the field.
 */
import { createHash } from 'node:crypto';
import { activationShapes, type Gradients, type Problem, type Shape, validateProblem } from '../../problem/index.ts';
import type { BackendResult } from '../types.ts';
import { type Dtype, decodeFloats, hexWidth, roundAndEncode } from './floats.ts';
import type { RunResult, Tensor, WireLayer, WireProblem } from './schema.ts';
import { ProtocolError } from './validate.ts';

function tensor(shape: readonly number[], values: readonly number[], dtype: Dtype): Tensor {
  return { shape: [...shape], bits: roundAndEncode(values, dtype) };
}

function wireLayer(l: Problem['layers'][number]): WireLayer {
  if (l.kind === 'relu') return { kind: 'relu' };
  if (l.kind === 'maxpool') return { kind: 'maxpool', kernel: [...l.kernel], stride: [...l.stride], padding: [...l.padding] };
  return {
    kind: 'conv2d',
    outChannels: l.outChannels,
    kernel: [...l.kernel],
    stride: [...l.stride],
    padding: [...l.padding],
    bias: l.bias,
  };
}

/** The problem rounded to `dtype` and encoded (throws ProblemError for an inconsistent problem). */
export function problemToWire(problem: Problem, dtype: Dtype): WireProblem {
  const shapes = validateProblem(problem);
  return {
    input: tensor(shapes[0], problem.input.data, dtype),
    layers: problem.layers.map(wireLayer),
    params: problem.params.map((p, i) => {
      const l = problem.layers[i];
      if (!p || l.kind !== 'conv2d') return null;
      const weight = tensor([l.outChannels, shapes[i][1], l.kernel[0], l.kernel[1]], p.weight, dtype);
      return p.bias ? { weight, bias: tensor([l.outChannels], p.bias, dtype) } : { weight };
    }),
    cotangent: tensor(shapes[shapes.length - 1], problem.cotangent, dtype),
  };
}

function decodeTensor(t: Tensor, dtype: Dtype, field: string, shape?: readonly number[]): number[] {
  if (shape && (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))) {
    throw new ProtocolError(`${field}.shape`, `expected [${shape.join(', ')}], got [${t.shape.join(', ')}]`);
  }
  const n = t.shape.reduce((a, b) => a * b, 1);
  const w = hexWidth(dtype);
  if (t.bits.length !== n * w) {
    throw new ProtocolError(`${field}.bits`, `shape [${t.shape.join(', ')}] needs ${n * w} hex digits of ${dtype}, got ${t.bits.length}`);
  }
  try {
    return Array.from(decodeFloats(t.bits, dtype));
  } catch (e) {
    throw new ProtocolError(`${field}.bits`, (e as Error).message);
  }
}

/** A wire problem back as a Problem (values as doubles), checking its shapes; used by bridges written in JavaScript and by tests. */
export function wireToProblem(w: WireProblem, dtype: Dtype): Problem {
  const input = decodeTensor(w.input, dtype, 'problem.input');
  if (w.input.shape.length !== 4)
    throw new ProtocolError('problem.input.shape', `expected 4 dimensions (NCHW), got ${w.input.shape.length}`);
  const params = w.params.map((p, i) =>
    p
      ? {
          weight: decodeTensor(p.weight, dtype, `problem.params[${i}].weight`),
          ...(p.bias ? { bias: decodeTensor(p.bias, dtype, `problem.params[${i}].bias`) } : {}),
        }
      : null,
  );
  const problem: Problem = {
    input: { shape: w.input.shape as unknown as Shape, data: input },
    layers: w.layers,
    params,
    cotangent: decodeTensor(w.cotangent, dtype, 'problem.cotangent'),
  };
  return problem;
}

/** A stable id for a request's content: the same problem at the same dtype always gets the same id (batch files are matched by it). */
export function requestKey(dtype: Dtype, problem: WireProblem): string {
  return createHash('sha256')
    .update(JSON.stringify([dtype, problem]))
    .digest('hex')
    .slice(0, 32);
}

function decodeGrads(res: RunResult, problem: Problem, shapes: Shape[], dtype: Dtype): Gradients<number> {
  const input = decodeTensor(res.grads.input, dtype, 'result.grads.input', shapes[0]);
  if (res.grads.params.length !== problem.layers.length) {
    throw new ProtocolError(
      'result.grads.params',
      `expected ${problem.layers.length} entries (one per layer), got ${res.grads.params.length}`,
    );
  }
  const params = res.grads.params.map((g, i) => {
    const p = problem.params[i];
    const l = problem.layers[i];
    const field = `result.grads.params[${i}]`;
    if (!p || l.kind !== 'conv2d') {
      if (g !== null) throw new ProtocolError(field, `expected null: layer ${i} (${l.kind}) has no parameters`);
      return null;
    }
    if (g === null) throw new ProtocolError(field, `expected the gradient of layer ${i}'s conv2d parameters, got null`);
    const weight = decodeTensor(g.weight, dtype, `${field}.weight`, [l.outChannels, shapes[i][1], l.kernel[0], l.kernel[1]]);
    if (!!p.bias !== !!g.bias)
      throw new ProtocolError(`${field}.bias`, p.bias ? 'missing: the layer has a bias' : 'unknown field: the layer has no bias');
    return g.bias ? { weight, bias: decodeTensor(g.bias, dtype, `${field}.bias`, [l.outChannels]) } : { weight };
  });
  return { input, params };
}

/**
 * Check a result against the problem it answers and decode it. `roundedInput` is the input as sent
 * (activations[0]); `requireForward` refuses a result without forward values.
 */
export function resultToBackend(
  res: RunResult,
  problem: Problem,
  dtype: Dtype,
  roundedInput: readonly number[],
  requireForward: boolean,
): BackendResult {
  if (res.dtype !== dtype) throw new ProtocolError('result.dtype', `expected '${dtype}' (the request's), got '${res.dtype}'`);
  const shapes = activationShapes(problem);
  const grads = decodeGrads(res, problem, shapes, dtype);
  if (!res.forward) {
    if (requireForward)
      throw new ProtocolError('result.forward', 'missing: the bridge declared forwardValues, so every result carries them');
    return { output: [], grads };
  }
  if (res.forward.length !== problem.layers.length) {
    throw new ProtocolError('result.forward', `expected ${problem.layers.length} tensors (one per layer), got ${res.forward.length}`);
  }
  const forward = res.forward.map((t, i) => decodeTensor(t, dtype, `result.forward[${i}]`, shapes[i + 1]));
  return { output: forward[forward.length - 1], grads, activations: [roundedInput, ...forward] };
}
