/** The JSON Schema of triton.yaml, relative to the package root (written by `npm run build`). */
export const SCHEMA_FILE = 'schemas/triton.schema.json';
