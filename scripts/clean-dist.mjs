// Removes what tsc compiled into dist/ before it compiles again, so a source file that moved or went
// leaves no stale .js behind for a require by path to find. Build outputs of the examples
// (dist/model-repository, dist/models) stay.
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
for (const entry of ['index.js', 'index.d.ts', 'lib', 'plugin', 'executors', 'generators', 'proto', 'cli']) {
  rmSync(join(dist, entry), { recursive: true, force: true });
}
