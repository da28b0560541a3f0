/**
 * Exact zone classification of whole-network evaluations (DESIGN §3 on networks): the exact
 * routing made affordable by filtering (exact.ts), the per-unit classification against a
 * precision-p routing (classify.ts), and the paper's threshold estimator (estimator.ts).
 */
export * from './types.ts';
export { exactRouting, type ExactRoutingResult } from './exact.ts';
export {
  classifyNetwork,
  type BatchZone,
  type BifurcationCause,
  type ClassifyNetworkOptions,
  type CompensationCause,
  type EntryExplanation,
  type HarmlessKind,
  type HarmlessTie,
  type NetworkClassification,
  type NodeZoneSummary,
  type UnitFinding,
  type UnitZone,
  type ZoneTotals,
} from './classify.ts';
export {
  ESTIMATOR_THRESHOLDS,
  compareEstimator,
  estimateZone,
  estimatorDistance,
  type EstimatorComparison,
  type EstimatorResult,
  type GradientMap,
} from './estimator.ts';
export { plainForward, simulateForward, routingFromValues, routingFromDecisions, type DecisionLike, type FloatForward } from './float.ts';
export { bruteForceRouting, type BruteForceResult } from './bruteforce.ts';
export { BATCHNORM_UNSUPPORTED, NetworkSpecError, type NetworkSpec, type Params } from './graph.ts';
