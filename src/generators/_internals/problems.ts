/** Assembling Problems from drawn pieces (shapes come from the geometry, so they always validate). */
import type { Conv2dSpec, ConvParams, LayerSpec, MaxPoolSpec, Problem } from '../../problem/index.ts';
import { poolSpec, type PoolGeometry } from './geometry.ts';

export function lonePoolProblem(g: PoolGeometry, data: readonly number[], cotangent: readonly number[]): Problem {
  return {
    input: { shape: [1, g.channels, g.height, g.width], data },
    layers: [poolSpec(g)],
    params: [null],
    cotangent,
  };
}

export interface ConvChain {
  readonly input: { readonly shape: readonly [number, number, number, number]; readonly data: readonly number[] };
  readonly conv: Conv2dSpec;
  readonly params: ConvParams;
  readonly relu: boolean;
  readonly pool: MaxPoolSpec;
  readonly cotangent: readonly number[];
}

/** conv2d → (relu) → maxpool. */
export function convChainProblem(c: ConvChain): Problem {
  const layers: LayerSpec[] = [c.conv];
  const params: (ConvParams | null)[] = [c.params];
  if (c.relu) {
    layers.push({ kind: 'relu' });
    params.push(null);
  }
  layers.push(c.pool);
  params.push(null);
  return { input: c.input, layers, params, cotangent: c.cotangent };
}
