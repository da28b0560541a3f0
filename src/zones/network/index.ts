/**
 * Exact zone classification of whole-network evaluations (DESIGN §3 on networks): the exact
 * routing made affordable by filtering (exact.ts), the per-unit classification against a
 * precision-p routing (classify.ts), and the paper's threshold estimator (estimator.ts).
 */

export { type BruteForceResult, bruteForceRouting } from './bruteforce.ts';
export {
  type BatchZone,
  type BifurcationCause,
  type ClassifyNetworkOptions,
  type CompensationCause,
  classifyNetwork,
  type EntryExplanation,
  type HarmlessKind,
  type NetworkClassification,
  type NodeZoneSummary,
  type UnitFinding,
  type UnitZone,
  type ZoneTotals,
} from './classify.ts';
export {
  compareEstimator,
  ESTIMATOR_THRESHOLDS,
  type EstimatorComparison,
  type EstimatorResult,
  estimateZone,
  estimatorDistance,
  type GradientMap,
} from './estimator.ts';
export { type ExactRoutingResult, exactRouting } from './exact.ts';
export { type DecisionLike, type FloatForward, plainForward, routingFromDecisions, routingFromValues, simulateForward } from './float.ts';
export { BATCHNORM_UNSUPPORTED, type NetworkSpec, NetworkSpecError, type Params } from './graph.ts';
export * from './types.ts';
