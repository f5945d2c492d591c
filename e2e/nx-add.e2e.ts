import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nxEnv, packedTarball, repoRoot } from './workspace';

/**
 * `nx add nx-triton`, the README's first line, for real: a local npm registry (verdaccio, loopback
 * only) holds the packed tarball as nx-triton's only version and proxies everything else to the
 * public registry, so nx and its dependencies install as they would for a user.
 */

let registry: ChildProcess | undefined;
let dir: string;
let npmrc: string;
let url: string;
const timings: string[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function waitForRegistry(deadline: number, log: () => string): Promise<void> {
  for (;;) {
    try {
      if ((await fetch(`${url}-/ping`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`verdaccio did not answer on ${url}:\n${log()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Runs a command with npm pointed at the local registry (`local: false`: npm's own settings, for what
 * the workspace had before nx-triton); throws with its output when it fails.
 */
function run(cwd: string, file: string, args: string[], local = true): { seconds: number; out: string } {
  const started = Date.now();
  const npm = { npm_config_prefer_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false', ...(local ? { npm_config_userconfig: npmrc } : {}) };
  const r = spawnSync(file, args, { cwd, encoding: 'utf8', timeout: 600_000, env: { ...process.env, ...nxEnv, ...npm } });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} failed (exit ${r.status ?? r.signal}) in ${cwd}:\n${out}`);
  return { seconds: (Date.now() - started) / 1000, out };
}

function upstreamRegistry(): string {
  return spawnSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8' }).stdout.trim();
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nx-triton-registry-'));
  const port = await freePort();
  url = `http://127.0.0.1:${port}/`;
  writeFileSync(
    join(dir, 'config.yaml'),
    [
      `storage: ${join(dir, 'storage')}`,
      'auth:',
      `  htpasswd: { file: ${join(dir, 'htpasswd')}, max_users: 1 }`,
      'uplinks:',
      // The registry npm itself is configured with: everything but ours comes from there.
      `  npmjs: { url: ${JSON.stringify(upstreamRegistry())}, timeout: 120s }`,
      'packages:',
      // Ours is only what the test publishes: never the public package of that name.
      '  "nx-triton": { access: $all, publish: $authenticated }',
      '  "**": { access: $all, publish: $authenticated, proxy: npmjs }',
      'web: { enable: false }',
      'log: { type: stdout, format: pretty, level: warn }',
      '',
    ].join('\n'),
  );
  let log = '';
  registry = spawn(join(repoRoot, 'node_modules/.bin/verdaccio'), ['--config', join(dir, 'config.yaml'), '--listen', `127.0.0.1:${port}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  registry.stdout?.on('data', (d) => (log += d));
  registry.stderr?.on('data', (d) => (log += d));
  await waitForRegistry(Date.now() + 60_000, () => log);

  const user = await fetch(`${url}-/user/org.couchdb.user:e2e`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'e2e', password: 'e2e-password' }),
  });
  const { token } = (await user.json()) as { token?: string };
  if (!token) throw new Error(`verdaccio gave no token (HTTP ${user.status})`);
  npmrc = join(dir, 'npmrc');
  writeFileSync(npmrc, `registry=${url}\n//127.0.0.1:${port}/:_authToken=${token}\n`);
  run(dir, 'npm', ['publish', packedTarball(), '--ignore-scripts']);
}, 300_000);

afterAll(() => {
  registry?.kill();
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (timings.length > 0) console.log(`nx add timings:\n${timings.join('\n')}`);
});

describe.each(['22.6.1', '23.3.2', '24.0.6'])('nx add nx-triton from a registry, nx %s', (nxVersion) => {
  it('installs the plugin, runs init, and a generated model builds', () => {
    const ws = mkdtempSync(join(tmpdir(), 'nx-triton-add-'));
    try {
      // An existing Nx workspace: package.json, nx.json, nx (from npm's usual registry, as the user had it).
      writeFileSync(join(ws, 'package.json'), JSON.stringify({ name: 'add-ws', version: '0.0.0', private: true }, null, 2));
      writeFileSync(join(ws, 'nx.json'), JSON.stringify({ $schema: './node_modules/nx/schemas/nx-schema.json' }, null, 2));
      writeFileSync(join(ws, '.gitignore'), 'node_modules\ndist\n.nx\n');
      spawnSync('git', ['init', '-q'], { cwd: ws });
      run(ws, 'npm', ['i', '-D', `nx@${nxVersion}`], false);

      const add = run(ws, 'npx', ['nx', 'add', 'nx-triton']);
      const pkg = JSON.parse(readFileSync(join(ws, 'package.json'), 'utf8'));
      const major = Number(nxVersion.split('.')[0]);
      expect(pkg.devDependencies['nx-triton']).toMatch(/0\.1\.0/);
      expect(pkg.devDependencies['@nx/devkit']).toBe(`>=${major}.0.0 <${major + 1}.0.0`);
      expect(JSON.parse(readFileSync(join(ws, 'node_modules/@nx/devkit/package.json'), 'utf8')).version).toMatch(new RegExp(`^${major}\\.`));
      expect(JSON.parse(readFileSync(join(ws, 'nx.json'), 'utf8')).plugins).toEqual([{ plugin: 'nx-triton', options: {} }]);

      const init = run(ws, 'npx', ['nx', 'g', 'nx-triton:init']);
      expect(JSON.parse(readFileSync(join(ws, 'nx.json'), 'utf8')).plugins).toHaveLength(1);

      run(ws, 'npx', ['nx', 'g', 'nx-triton:model', 'my_py', '--platform=python', '--maxBatchSize=8', '--preferredBatchSize=4,8']);
      const build = run(ws, 'npx', ['nx', 'run', 'my_py:build']);
      const entry = join(ws, 'dist/model-repository/my_py');
      expect(readFileSync(join(entry, 'config.pbtxt'), 'utf8')).toContain('dynamic_batching {\n  preferred_batch_size: 4\n  preferred_batch_size: 8\n}');
      expect(existsSync(join(entry, '1/model.py'))).toBe(true);
      timings.push(
        `  nx ${nxVersion}: nx add ${add.seconds.toFixed(1)} s, nx g nx-triton:init (again) ${init.seconds.toFixed(1)} s, first build ${build.seconds.toFixed(1)} s`,
      );
    } finally {
      rmSync(ws, { recursive: true, force: true });
    }
  }, 600_000);
});
