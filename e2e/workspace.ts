import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureDist } from '../test/dist';
import { requirePeer } from '../test/lane';

export const repoRoot = resolve(__dirname, '..');

let tarball: string | undefined;

/** `npm pack` of this checkout (built by `npm test` before vitest starts, else here), once per process. */
export function packedTarball(): string {
  if (tarball) return tarball;
  ensureDist();
  // The rest of `npm run build`: the JSON Schema of triton.yaml, generated from dist/.
  execFileSync(process.execPath, [join(repoRoot, 'scripts/build-schema.mjs')], { stdio: 'pipe' });
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
  /** Seconds the install steps took: `npm i -D nx nx-triton` and `npx nx g nx-triton:init`. */
  timings: { install: number; init: number };
}

export const nxEnv = { NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', CI: 'true', NX_SKIP_LOG_GROUPING: 'true' };

/** npm settings that change how fast, not what, npm installs (the README's commands stay as written). */
const npmQuiet = { npm_config_prefer_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };

function run(root: string, file: string, args: string[], env: NodeJS.ProcessEnv = {}): number {
  const started = Date.now();
  const r = spawnSync(file, args, { cwd: root, encoding: 'utf8', env: { ...process.env, ...nxEnv, ...npmQuiet, ...env }, timeout: 600_000 });
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} failed in ${root} (exit ${r.status ?? r.signal}):\n${r.stdout ?? ''}${r.stderr ?? ''}`);
  return (Date.now() - started) / 1000;
}

/**
 * A fresh workspace made the README's way: a package.json (no nx.json), then exactly the README's
 * install lines — `npm i -D nx nx-triton` (nx at `nxVersion`, nx-triton the packed tarball) and
 * `npx nx g nx-triton:init`, which creates nx.json and adds `@nx/devkit` itself.
 * `devkitVersion` is accepted for older callers and ignored: init chooses the devkit.
 */
export function createWorkspace(opts: { nxVersion?: string; devkitVersion?: string } = {}): Workspace {
  requirePeer('an Nx workspace');
  const nxVersion = opts.nxVersion ?? '24.0.6';
  const root = mkdtempSync(join(tmpdir(), 'nx-triton-e2e-'));
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'e2e-ws', version: '0.0.0', private: true }, null, 2));
  writeFileSync(join(root, '.gitignore'), 'node_modules\ndist\n.nx\n');
  mkdirSync(join(root, 'models'));
  execFileSync('git', ['init', '-q'], { cwd: root });
  const install = run(root, 'npm', ['i', '-D', `nx@${nxVersion}`, packedTarball()]);
  const init = run(root, 'npx', ['nx', 'g', 'nx-triton:init']);
  return {
    root,
    timings: { install, init },
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
