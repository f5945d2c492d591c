import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const repoRoot = resolve(__dirname, '..');

let tarball: string | undefined;

/** `npm pack` of this checkout (built by `npm test` before vitest starts), once per process. */
export function packedTarball(): string {
  if (tarball) return tarball;
  const dir = mkdtempSync(join(tmpdir(), 'nx-triton-pack-'));
  execFileSync('npm', ['pack', '--pack-destination', dir, '--ignore-scripts'], { cwd: repoRoot, stdio: 'pipe' });
  const file = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  if (!file) throw new Error(`npm pack wrote no tarball in ${dir}`);
  return (tarball = join(dir, file));
}

export interface Workspace {
  root: string;
  /** Runs `nx <args>` in the workspace; never throws, returns the exit code and all output. */
  nx(args: string[], env?: NodeJS.ProcessEnv): { code: number; out: string };
  remove(): void;
}

export const nxEnv = { NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', CI: 'true', NX_SKIP_LOG_GROUPING: 'true' };

/** A fresh Nx workspace with nothing of ours but the packed tarball (the recipe of nx-plugin-facts §4). */
export function createWorkspace(opts: { nxVersion?: string; devkitVersion?: string } = {}): Workspace {
  const nxVersion = opts.nxVersion ?? '24.0.6';
  const devkitVersion = opts.devkitVersion ?? (nxVersion.startsWith('24.') ? '24.0.0' : nxVersion);
  const root = mkdtempSync(join(tmpdir(), 'nx-triton-e2e-'));
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'e2e-ws', version: '0.0.0', private: true }, null, 2));
  writeFileSync(join(root, 'nx.json'), JSON.stringify({ $schema: './node_modules/nx/schemas/nx-schema.json' }, null, 2));
  writeFileSync(join(root, '.gitignore'), 'node_modules\ndist\n.nx\n');
  mkdirSync(join(root, 'models'));
  execFileSync('git', ['init', '-q'], { cwd: root });
  execFileSync(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '-D', `nx@${nxVersion}`, `@nx/devkit@${devkitVersion}`, packedTarball()],
    { cwd: root, stdio: 'pipe', env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' } },
  );
  return {
    root,
    nx(args, env = {}) {
      const r = spawnSync(join(root, 'node_modules', '.bin', 'nx'), args, {
        cwd: root,
        encoding: 'utf8',
        env: { ...process.env, ...nxEnv, ...env },
        timeout: 600_000,
      });
      return { code: r.status ?? 1, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
    },
    remove() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}
