/**
 * Writes schemas/protocol.schema.json, the published JSON Schema of the AD protocol, from the
 * TypeBox schemas in src/backends/protocol/schema.ts (properties/torch.test.ts checks that the
 * committed file matches). Run after changing a message: npx tsx scripts/protocol-schema.ts
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { protocolSchemaText } from '../src/backends/protocol/schema.ts';

const file = fileURLToPath(new URL('../schemas/protocol.schema.json', import.meta.url));
writeFileSync(file, protocolSchemaText());
console.log(`wrote ${file}`);
