// Dogfooding: makes `nx-triton` resolve to this checkout, so the workspace's nx.json
// and the inferred `nx-triton:*` executors use the plugin built from source (dist/).
import { existsSync, lstatSync, mkdirSync, symlinkSync, unlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const link = join(root, 'node_modules', 'nx-triton');
if (!existsSync(join(root, 'node_modules'))) process.exit(0); // installed as a dependency: nothing to do
try {
  if (lstatSync(link).isSymbolicLink()) unlinkSync(link);
} catch {}
if (!existsSync(link)) {
  mkdirSync(dirname(link), { recursive: true });
  symlinkSync('..', link, 'dir');
}
