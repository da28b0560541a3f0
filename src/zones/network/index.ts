/**
 * Zones of whole networks (docs/DESIGN.md §3 on networks): the network-zones stage (stage.ts:
 * `networkZones(config)` → zones.json's content; config.ts its config and defaults), the exact
 * routing made affordable by filtering (exact.ts), the per-unit classification against a
 * precision-p routing (classify.ts), and the paper's threshold estimator (estimator.ts).
 *
 * Why the exact routing is here and not in src/oracle: its exact arithmetic is the oracle's
 * (src/oracle/network: BigInt dyadics, the exact value of a node's entry), but what makes it
 * affordable is deciding most units without that arithmetic — float64 values with rigorous error
 * bounds computed on the engine's WebAssembly kernels, structural ids of identical computations —
 * and it compiles model specs with the engine's window maps; the engine and the models sit above
 * the oracle, so this filter lives with the zones that use it. bruteforce.ts, the unfiltered exact
 * reference the properties check it against, reads model specs for the same reason.
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
  type HarmlessTie,
  type NetworkClassification,
  type NodeZoneSummary,
  type UnitFinding,
  type UnitZone,
  type ZoneTotals,
} from './classify.ts';
export { NETWORK_ZONES_DEFAULTS, type ResolvedNetworkZones, ZONE_PRECISIONS, type ZonePrecision } from './config.ts';
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
export type {
  ZonesBatchRecord,
  ZonesConfig,
  ZonesCounts,
  ZonesExactBatch,
  ZonesFinding,
  ZonesLayer,
  ZonesLayerAggregate,
  ZonesPrecisionReport,
  ZonesReport,
  ZonesSummary,
} from './report.ts';
export { type NetworkZonesConfig, networkZones, resolveNetworkZonesConfig } from './stage.ts';
export * from './types.ts';
