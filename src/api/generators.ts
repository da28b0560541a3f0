/**
 * `adzone/generators`: the fast-check arbitraries that draw MaxPool evaluation points at and near
 * ties (one public arbitrary a file in src/generators), and the registry the CLI and the checks use.
 */
export {
  /** Every generator (id, description, arbitrary), in the order reports list them. */
  GENERATORS,
  /** The generator with this id; throws listing the valid ids. */
  generatorById,
  /** One generated evaluation point (the Problem) with a note of how it was built. */
  type Case,
  /** A registered generator: stable id, one-sentence description, near-tie flag and its arbitrary. */
  type Generator,
  /** Lone MaxPool with a window whose k ≥ 2 entries tie exactly at its maximum. */
  exactTie,
  /** Lone MaxPool whose window's top two entries are adjacent values x and nextUp(x) of a format. */
  ulpNeighbour,
  /** Lone MaxPool whose window holds values distinct in a fine format that round to one value of a coarse one. */
  roundTie,
  /** Lone MaxPool whose top two entries differ by a relative gap log-uniform in [2^-60, 2^-2]. */
  nearTie,
  /** The exponent range [lo, hi] of nearTie's relative gaps (2^lo … 2^hi). */
  NEAR_TIE_GAP_EXPONENTS,
  /** conv2d → relu → maxpool whose conv outputs in a window are exactly or nearly equal over the reals. */
  nearTieChain,
  /** The ways nearTieChain builds its near-equal conv outputs. */
  NEAR_TIE_CHAIN_MODES,
  /** One of NEAR_TIE_CHAIN_MODES. */
  type ChainMode,
  /** conv2d → (relu) → maxpool where exactly A > B but the rounded sums give A < B in a format. */
  argmaxFlip,
  /** conv2d → relu → maxpool with pre-activations exactly 0 (ReLU'(0) matters). */
  reluZero,
  /** The ways reluZero builds its exact zeros. */
  ZERO_MODES,
  /** One of ZERO_MODES. */
  type ZeroMode,
  /** Lone MaxPool with NaN, ±Inf, ±0 ties, subnormals or values beyond binary16's range. */
  specialValues,
  /** The kinds of special value specialValues draws. */
  SPECIAL_KINDS,
  /** One of SPECIAL_KINDS. */
  type SpecialKind,
  /** Random conv2d → relu → maxpool chains with random doubles: the regular background. */
  genericChain,
  /** Pooling geometries (shape, kernel, stride, padding) within typed constraints. */
  windowShape,
  /** windowShape's constraints object. */
  type WindowShapeOptions,
  /** A pooling geometry: input shape, kernel, stride, padding. */
  type PoolGeometry,
  /** Every window of a pooling geometry with the flat input indices it covers. */
  poolWindows,
  /** One window of poolWindows. */
  type PoolWindow,
} from '../generators/index.ts';
