/**
 * Input checks shared by both oracles (no arithmetic): the problem is consistent and finite, and a
 * routing given to `backward` fits the problem (one entry per ReLU / MaxPool layer, the right
 * sizes, tie sets non-empty, ascending and inside their window).
 */
import { type LayerRouting, type Problem, ProblemError, type Routing, type Shape, validateProblem } from '../problem/index.ts';
import { OracleError } from './types.ts';

/** validateProblem, with ProblemError and non-finite numbers reported as OracleError. */
export function checkProblem(problem: Problem, who: string): Shape[] {
  let shapes: Shape[];
  try {
    shapes = validateProblem(problem);
  } catch (e) {
    if (e instanceof ProblemError) throw new OracleError(`${who}: invalid problem: ${e.message}`);
    throw e;
  }
  const bad = (what: string, a: readonly number[]) => {
    const i = a.findIndex((x) => !Number.isFinite(x));
    if (i >= 0) {
      throw new OracleError(`${who}: ${what}[${i}] = ${a[i]} is not finite; only finite numbers have an exact value`);
    }
  };
  bad('input', problem.input.data);
  bad('cotangent', problem.cotangent);
  problem.params.forEach((p, l) => {
    if (!p) return;
    bad(`params[${l}].weight`, p.weight);
    if (p.bias) bad(`params[${l}].bias`, p.bias);
  });
  return shapes;
}

/** The routing entry of each layer (undefined for conv2d), after checking it fits the problem. */
export function checkRouting(problem: Problem, shapes: readonly Shape[], routing: Routing, who: string): (LayerRouting | undefined)[] {
  const byLayer: (LayerRouting | undefined)[] = problem.layers.map(() => undefined);
  for (const r of routing) {
    const layer = problem.layers[r.layer];
    if (!layer) throw new OracleError(`${who}: routing names layer ${r.layer}, the problem has ${problem.layers.length} layers`);
    if (layer.kind !== r.kind) throw new OracleError(`${who}: routing for layer ${r.layer} is ${r.kind}, the layer is ${layer.kind}`);
    if (byLayer[r.layer]) throw new OracleError(`${who}: routing has two entries for layer ${r.layer}`);
    byLayer[r.layer] = r;
  }
  problem.layers.forEach((layer, l) => {
    if (layer.kind === 'conv2d') return;
    const r = byLayer[l];
    if (!r) throw new OracleError(`${who}: routing has no entry for layer ${l} (${layer.kind})`);
    const [n, c, h, w] = shapes[l];
    const out = shapes[l + 1];
    const outSize = out[0] * out[1] * out[2] * out[3];
    if (r.kind === 'relu') {
      if (r.sign.length !== n * c * h * w)
        throw new OracleError(`${who}: relu routing of layer ${l} has ${r.sign.length} signs, needs ${n * c * h * w}`);
      r.sign.forEach((s, i) => {
        if (s !== -1 && s !== 0 && s !== 1)
          throw new OracleError(`${who}: relu routing of layer ${l}: sign[${i}] = ${s} is not −1, 0 or 1`);
      });
      return;
    }
    if (r.kind !== 'maxpool' || layer.kind !== 'maxpool') return;
    if (r.ties.length !== outSize)
      throw new OracleError(`${who}: maxpool routing of layer ${l} has ${r.ties.length} tie sets, needs ${outSize}`);
    const [, , oh, ow] = out;
    r.ties.forEach((tie, o) => {
      if (tie.length === 0) throw new OracleError(`${who}: maxpool routing of layer ${l}: tie set of output ${o} is empty`);
      const ox = o % ow;
      const oy = Math.floor(o / ow) % oh;
      const nc = Math.floor(o / (ow * oh)); // n·C + c, the same plane in input and output
      const y0 = oy * layer.stride[0] - layer.padding[0];
      const x0 = ox * layer.stride[1] - layer.padding[1];
      let prev = -1;
      for (const i of tie) {
        const ix = i % w;
        const iy = Math.floor(i / w) % h;
        const inPlane = Math.floor(i / (w * h));
        const inside =
          Number.isInteger(i) &&
          i > prev &&
          inPlane === nc &&
          iy >= y0 &&
          iy < y0 + layer.kernel[0] &&
          ix >= x0 &&
          ix < x0 + layer.kernel[1];
        if (!inside) {
          throw new OracleError(
            `${who}: maxpool routing of layer ${l}: tie set [${tie.join(', ')}] of output ${o} is not ascending inside its window`,
          );
        }
        prev = i;
      }
    });
  });
  return byLayer;
}
