import { activationShapes, windowIndices } from './shapes.ts';
import type { LayerRouting, MaxPoolSpec, Problem, Routing } from './types.ts';

/**
 * The routing a forward pass's values imply: for each MaxPool window the entries equal to its
 * maximum (a window holding NaN routes to its first NaN: the engine's convention, not a framework's;
 * PyTorch 1.13 on CPU was measured to route to the last NaN, see src/backends/tie_rule.ts; the
 * classifier never reads a routing off non-finite values, a non-finite result being 'nonfinite'
 * before routing matters), for each ReLU the sign of its input (NaN counts as −1: no gradient,
 * like the `x > 0` mask). Used for backends that expose their activations but not their decisions
 * (tfjs, torch): the routing is read off the values they computed.
 */
export function routingFromActivations(problem: Problem, activations: readonly (readonly number[])[]): Routing {
  const shapes = activationShapes(problem);
  const out: LayerRouting[] = [];
  problem.layers.forEach((layer, li) => {
    const x = activations[li];
    if (layer.kind === 'relu') {
      out.push({ kind: 'relu', layer: li, sign: x.map((v) => (v > 0 ? 1 : v === 0 ? 0 : -1)) });
    } else if (layer.kind === 'maxpool') {
      const n = shapes[li + 1].reduce((a, b) => a * b, 1);
      const ties: number[][] = [];
      for (let o = 0; o < n; o++) {
        const idx = windowIndices(layer as MaxPoolSpec, shapes[li], shapes[li + 1], o);
        const nan = idx.find((i) => Number.isNaN(x[i]));
        if (nan !== undefined) {
          ties.push([nan]);
          continue;
        }
        const m = Math.max(...idx.map((i) => x[i]));
        ties.push(idx.filter((i) => x[i] === m));
      }
      out.push({ kind: 'maxpool', layer: li, ties });
    }
  });
  return out;
}
