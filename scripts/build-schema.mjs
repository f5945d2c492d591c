// Writes schemas/triton.schema.json (the JSON Schema of triton.yaml) from the built dist/: run by
// `npm run build` after tsc. The schema is generated, never edited: see lib/schema/build.ts.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { schemaText, SCHEMA_FILE } = createRequire(import.meta.url)(join(root, 'dist/lib/schema/build.js'));
const out = join(root, SCHEMA_FILE);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, schemaText());
