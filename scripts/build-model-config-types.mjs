// Writes lib/model-config/generated.ts (the TypeScript shape of inference.ModelConfig) from the
// built dist/: run by `npm run build` after tsc. Generated, never edited: see proto/model-config-types.ts.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { modelConfigTypesText, MODEL_CONFIG_TYPES_FILE } = createRequire(import.meta.url)(
  join(root, 'dist/proto/model-config-types.js'),
);
writeFileSync(join(root, MODEL_CONFIG_TYPES_FILE), modelConfigTypesText());
