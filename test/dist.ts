import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { requirePeer } from './lane';

/** Tests that need plain `node` child processes run the built package from here. */
const ROOT = resolve(__dirname, '..');
export const DIST = join(ROOT, 'dist');
const SOURCES = ['index.ts', 'lib', 'plugin', 'executors', 'generators', 'proto', 'cli'];
const LOCK = join(ROOT, 'node_modules/.cache/nx-triton-dist.lock');

export function distPath(rel: string): string {
  return join(DIST, rel);
}

/** Newest mtime (ms) of the files under `path` that `keep` accepts; -1 when there are none. */
function newest(path: string, keep: (file: string) => boolean): number {
  let st;
  try {
    st = statSync(path);
  } catch {
    return -1;
  }
  if (!st.isDirectory()) return keep(path) ? st.mtimeMs : -1;
  let max = -1;
  for (const name of readdirSync(path)) max = Math.max(max, newest(join(path, name), keep));
  return max;
}

const isSource = (f: string): boolean => f.endsWith('.ts') && !f.endsWith('.spec.ts') && !f.includes('/__fixtures__/');
// dist/ may also hold build outputs of examples (model-repository/); only compiled JS counts.
const isBuilt = (f: string): boolean => f.endsWith('.js');

function stale(): boolean {
  const built = newest(DIST, isBuilt);
  return built < 0 || SOURCES.some((s) => newest(join(ROOT, s), isSource) > built);
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Builds dist/ with tsc when it is missing or older than any source. Test files run in parallel
 * workers, so one builds under a lock while the others wait: none runs children against half-written JS.
 */
export function ensureDist(): void {
  requirePeer('the built package (dist/)');
  if (!stale()) return;
  mkdirSync(join(LOCK, '..'), { recursive: true });
  const deadline = Date.now() + 5 * 60_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`ensureDist: ${LOCK} held for 5 minutes; remove it if no build is running`);
      sleep(100);
    }
  }
  try {
    if (!stale()) return;
    const started = Date.now();
    const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8' });
    // Type errors still emit; only a build that wrote nothing is a failure here.
    if (!existsSync(DIST) || newest(DIST, isBuilt) < started - 1000) throw new Error(`npm run build failed:\n${r.stdout}${r.stderr}`);
  } finally {
    rmdirSync(LOCK);
  }
}
