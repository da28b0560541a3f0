/**
 * Writes schemas/protocol.schema.json, the published JSON Schema of the AD protocol, from the
 * TypeBox schemas in src/backends/protocol/schema.ts, formatted by Biome like every JSON file here
 * (properties/torch.test.ts checks that the committed file holds what the generator makes).
 * Run after changing a message: npx tsx scripts/protocol-schema.ts
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { protocolSchemaText } from '../src/backends/protocol/schema.ts';

const file = fileURLToPath(new URL('../schemas/protocol.schema.json', import.meta.url));
writeFileSync(file, protocolSchemaText());
const biome = fileURLToPath(new URL('../node_modules/.bin/biome', import.meta.url));
const r = spawnSync(biome, ['format', '--write', file], { encoding: 'utf8' });
if (r.status !== 0) throw new Error(`biome format failed: ${r.stderr}`);
console.log(`wrote ${file}`);
