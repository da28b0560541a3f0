/**
 * The generators: fast-check arbitraries that draw MaxPool evaluation points at and near ties, one
 * public arbitrary a file, each taking a typed constraints object with documented defaults (as
 * fc.integer({ min, max }) does), and the registry of the 14 that the CLI, the checks and the gate
 * use, each declaring its structure (lone MaxPool or chain). Internals live in _internals/.
 * src/api/generators.ts publishes this module as it is, so every name here carries its JSDoc.
 */
export type {
  /** One generated evaluation point (the Problem) with a note of how it was built. */
  Case,
  /** A generator: stable id, one-sentence description, near-tie flag, its arbitrary and (where declared) its structure. */
  Generator,
  /** A registry generator: a Generator with its structure and layer sequences declared. */
  RegisteredGenerator,
  /** 'lone-maxpool' (one maxpool layer, no parameters) or 'chain' (more layers). */
  GeneratorStructure,
  /** A layer's kind: 'conv2d', 'relu' or 'maxpool'. */
  LayerKind,
} from './types.ts';
export {
  /** Every registry generator (id, description, near-tie flag, structure, layer sequences, arbitrary), in the order reports list them. */
  GENERATORS,
  /** The registry generator with this id; throws listing the valid ids. */
  generatorById,
} from './registry.ts';
export type {
  /** A range { min?, max? } of a constraints object, either bound optional (as fc.integer's). */
  RangeConstraints,
} from './_internals/constraints.ts';
export {
  /** Pooling geometries (shape, kernel, stride, padding) within typed constraints. */
  windowShape,
  /** windowShape's constraints, also the lone-MaxPool generators' `window` constraint. */
  type WindowShapeOptions,
  /** A pooling geometry: input shape, kernel, stride, padding. */
  type PoolGeometry,
} from './windowShape.ts';
export {
  /** Lone MaxPool with a window whose k ≥ 2 entries tie exactly at its maximum. */
  exactTie,
  /** exactTie's constraints: k, window, overlap, binade. */
  type ExactTieConstraints,
} from './exactTie.ts';
export {
  /** Lone MaxPool whose window's top two entries are adjacent values x and nextUp(x) of a format. */
  ulpNeighbour,
  /** ulpNeighbour's constraints: format (required), edge, window. */
  type UlpNeighbourConstraints,
} from './ulpNeighbour.ts';
export {
  /** Lone MaxPool whose window holds values distinct in a fine format that round to one value of a coarse one. */
  roundTie,
  /** roundTie's constraints: to (required), from, straddle, binade, window. */
  type RoundTieConstraints,
} from './roundTie.ts';
export {
  /** Lone MaxPool whose top two entries differ by a relative gap log-uniform in [2^-60, 2^-2] (by default). */
  nearTie,
  /** The default exponent range [lo, hi] of the near-tie generators' relative gaps (2^lo … 2^hi). */
  NEAR_TIE_GAP_EXPONENTS,
  /** nearTie's constraints: gapExponents, binade, window. */
  type NearTieConstraints,
} from './nearTie.ts';
export {
  /** conv2d → relu → maxpool whose conv outputs in a window are exactly or nearly equal over the reals. */
  nearTieChain,
  /** The ways nearTieChain builds its near-equal conv outputs. */
  NEAR_TIE_CHAIN_MODES,
  /** One of NEAR_TIE_CHAIN_MODES. */
  type ChainMode,
  /** nearTieChain's constraints: modes, gapExponents, cancel, bias. */
  type NearTieChainConstraints,
} from './nearTieChain.ts';
export {
  /** conv2d → (relu) → maxpool where exactly A > B but the rounded sums give A < B in a format. */
  argmaxFlip,
  /** argmaxFlip's constraints: format (required), relu. */
  type ArgmaxFlipConstraints,
} from './argmaxFlip.ts';
export {
  /** conv2d → relu → maxpool with pre-activations exactly 0 (ReLU'(0) matters). */
  reluZero,
  /** The ways reluZero builds its exact zeros. */
  ZERO_MODES,
  /** One of ZERO_MODES. */
  type ZeroMode,
  /** reluZero's constraints: modes. */
  type ReluZeroConstraints,
} from './reluZero.ts';
export {
  /** Lone MaxPool with NaN, ±Inf, ±0 ties, subnormals or values beyond binary16's range. */
  specialValues,
  /** The kinds of special value specialValues draws. */
  SPECIAL_KINDS,
  /** One of SPECIAL_KINDS. */
  type SpecialKind,
  /** specialValues' constraints: kinds, window. */
  type SpecialValuesConstraints,
} from './specialValues.ts';
export {
  /** Random conv2d → relu → maxpool chains with random doubles: the regular background. */
  genericChain,
  /** genericChain's constraints: maxSize, bias, inputBound, weightBound. */
  type GenericChainConstraints,
} from './genericChain.ts';
export {
  /** Every window of a pooling geometry with the flat input indices it covers. */
  poolWindows,
  /** One window of poolWindows. */
  type PoolWindow,
} from './_internals/geometry.ts';
