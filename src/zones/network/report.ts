/**
 * The result of the network-zones stage (stage.ts), written as zones.json, schema 'adzone/zones'
 * version 1. Its types are derived from the schema (src/schema/zones.ts); src/report/zonesMarkdown.ts
 * renders zones.md from it.
 */
export type {
  ZonesBatchRecord,
  ZonesConfig,
  ZonesCounts,
  ZonesExactBatch,
  ZonesFinding,
  ZonesHarmlessTie,
  ZonesLayer,
  ZonesLayerAggregate,
  ZonesPrecisionReport,
  ZonesReport,
  ZonesSummary,
} from '../../schema/zones.ts';
