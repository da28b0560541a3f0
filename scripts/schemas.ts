/**
 * `npm run schemas`: write the JSON Schema of every file kind adzone writes or reads into schemas/
 * (schemas/<kind>.schema.json), from the TypeBox schemas in src/schema, and of the AD protocol
 * (schemas/protocol.schema.json, from src/backends/protocol/schema.ts). The files are committed and
 * published with the package; properties/schema.test.ts and properties/torch.test.ts fail when they
 * differ from what this writes.
 * Files in schemas/ that no kind writes any more are removed.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { protocolSchemaText } from '../src/backends/protocol/schema.ts';
import { publishedSchemas } from '../src/schema/index.ts';
import { writeFilesAtomic } from '../src/util/output.ts';

const dir = resolve(import.meta.dirname, '..', 'schemas');
const files = [...publishedSchemas(), { file: 'protocol.schema.json', text: protocolSchemaText() }];
writeFilesAtomic(files.map((f) => ({ path: join(dir, f.file), data: f.text })));
const keep = new Set(files.map((f) => f.file));
for (const name of readdirSync(dir)) {
  if (name.endsWith('.schema.json') && !keep.has(name)) {
    rmSync(join(dir, name));
    console.log(`removed schemas/${name}`);
  }
}
console.log(`wrote ${files.length} JSON Schemas into schemas/: ${files.map((f) => f.file).join(', ')}`);
