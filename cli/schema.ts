import { schemaText } from '../lib/schema/build';

/** `nx-triton schema`: prints the JSON Schema of triton.yaml (the same text as schemas/triton.schema.json). */
export async function run(argv: string[]): Promise<number> {
  if (argv.length > 0) {
    console.error(`nx-triton schema: takes no arguments (got ${argv.join(' ')})`);
    return 1;
  }
  process.stdout.write(schemaText());
  return 0;
}
