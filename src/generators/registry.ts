import { F16, F32, F64 } from '../precision/index.ts';
import type { LayerKind, RegisteredGenerator } from './types.ts';
import { argmaxFlip } from './argmaxFlip.ts';
import { exactTie } from './exactTie.ts';
import { genericChain } from './genericChain.ts';
import { nearTie } from './nearTie.ts';
import { nearTieChain } from './nearTieChain.ts';
import { reluZero } from './reluZero.ts';
import { roundTie } from './roundTie.ts';
import { specialValues } from './specialValues.ts';
import { ulpNeighbour } from './ulpNeighbour.ts';

/** Lone MaxPool: one maxpool layer, no parameters. */
const LONE = { structure: 'lone-maxpool', layers: [['maxpool']] } as const satisfies Pick<RegisteredGenerator, 'structure' | 'layers'>;
const CONV_RELU_POOL: readonly LayerKind[] = ['conv2d', 'relu', 'maxpool'];
/** conv2d → relu → maxpool. */
const CHAIN = { structure: 'chain', layers: [CONV_RELU_POOL] } as const satisfies Pick<RegisteredGenerator, 'structure' | 'layers'>;
/** conv2d → relu → maxpool or conv2d → maxpool. */
const CHAIN_OPTIONAL_RELU = {
  structure: 'chain',
  layers: [CONV_RELU_POOL, ['conv2d', 'maxpool']],
} as const satisfies Pick<RegisteredGenerator, 'structure' | 'layers'>;

/**
 * Every generator, in the order reports list them. Each declares its structure (lone MaxPool or a
 * chain) and the layer sequences it draws: properties/generators.test.ts checks them against its
 * draws, and the gate and the MaxPool checks read them instead of sampling.
 */
export const GENERATORS: readonly RegisteredGenerator[] = [
  {
    id: 'exact-tie',
    description: 'Lone MaxPool where a window has k ≥ 2 entries exactly equal at its maximum, sometimes shared with an overlapping window.',
    nearTie: false,
    ...LONE,
    arbitrary: exactTie(),
  },
  ...[F16, F32, F64].map((f) => ({
    id: `ulp-neighbour-${f.name}`,
    description: `Lone MaxPool where a window's top two entries are adjacent binary${f.name} values x and nextUp(x).`,
    nearTie: true,
    ...LONE,
    arbitrary: ulpNeighbour({ format: f }),
  })),
  {
    id: 'round-tie-16',
    description: 'Lone MaxPool where a window holds values distinct in binary32 that round to the same binary16 value.',
    nearTie: true,
    ...LONE,
    arbitrary: roundTie({ to: F16, from: F32 }),
  },
  {
    id: 'round-tie-32',
    description:
      'Lone MaxPool where a window holds distinct doubles that round to the same binary32 value (at 16 bits they may tie or split).',
    nearTie: true,
    ...LONE,
    arbitrary: roundTie({ to: F32, from: F64 }),
  },
  {
    id: 'near-tie',
    description: "Lone MaxPool where a window's top two entries differ by a relative gap log-uniform in [2^-60, 2^-2].",
    nearTie: true,
    ...LONE,
    arbitrary: nearTie(),
  },
  {
    id: 'near-tie-chain',
    description:
      'conv2d → relu → maxpool where two conv outputs in a window are exactly or nearly equal over the reals (gaps down to 2^-60, mixed magnitudes).',
    nearTie: true,
    ...CHAIN,
    arbitrary: nearTieChain(),
  },
  ...[F16, F32, F64].map((f) => ({
    id: `argmax-flip-${f.name}`,
    description: `conv2d → (relu) → maxpool where exactly A > B in a window but the strictly rounded binary${f.name} sums give A < B.`,
    nearTie: true,
    ...CHAIN_OPTIONAL_RELU,
    arbitrary: argmaxFlip({ format: f }),
  })),
  {
    id: 'relu-zero',
    description: 'conv2d → relu → maxpool with pre-activations exactly 0 in an all-zero window and a window of negative pre-activations.',
    nearTie: false,
    ...CHAIN,
    arbitrary: reluZero(),
  },
  {
    id: 'special-values',
    description: 'Lone MaxPool with NaN, ±Inf, −0/+0 ties, subnormals of binary16/32/64 or values above 65504.',
    nearTie: false,
    ...LONE,
    arbitrary: specialValues(),
  },
  {
    id: 'generic-chain',
    description: 'Random conv2d → relu → maxpool chains with random doubles (the regular background).',
    nearTie: false,
    ...CHAIN,
    arbitrary: genericChain(),
  },
];

/** The generator with this id; throws listing the valid ids. */
export function generatorById(id: string): RegisteredGenerator {
  const g = GENERATORS.find((x) => x.id === id);
  if (!g) throw new Error(`unknown generator '${id}': expected one of ${GENERATORS.map((x) => x.id).join(', ')}`);
  return g;
}
