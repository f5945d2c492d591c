import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readJson, readNxJson, updateNxJson, writeJson } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
// The tree `nx g` itself uses: changes are flushed to disk before the install callback runs.
import { FsTree, flushChanges } from 'nx/src/generators/tree';
import { describe, expect, it } from 'vitest';
import { initGenerator } from './generator';

describe('init generator', () => {
  it('registers nx-triton in nx.json once', async () => {
    const tree = createTreeWithEmptyWorkspace({ formatter: 'none' });
    const before = readNxJson(tree)?.plugins ?? [];
    await initGenerator(tree, {});
    await initGenerator(tree, { keepExistingVersions: true });
    expect(readNxJson(tree)?.plugins).toEqual([...before, { plugin: 'nx-triton', options: {} }]);
  });

  it('keeps an existing entry, string or object, as the user wrote it', async () => {
    for (const entry of ['nx-triton', { plugin: 'nx-triton', options: { repository: 'out/repo' } }]) {
      const tree = createTreeWithEmptyWorkspace({ formatter: 'none' });
      const nxJson = readNxJson(tree) ?? {};
      updateNxJson(tree, { ...nxJson, plugins: ['@nx/js/typescript', entry] });
      await initGenerator(tree, { skipFormat: true });
      expect(readNxJson(tree)?.plugins).toEqual(['@nx/js/typescript', entry]);
    }
  });

  it('touches nothing but nx.json in a workspace without nx in package.json', async () => {
    const tree = createTreeWithEmptyWorkspace({ formatter: 'none' });
    const contents = () => new Map(tree.listChanges().map((c) => [c.path, c.content?.toString('utf8')]));
    const before = contents();
    await initGenerator(tree, { skipPackageJson: false });
    const after = contents();
    const changed = [...after.keys()].filter((path) => after.get(path) !== before.get(path));
    expect(changed).toEqual(['nx.json']);
  });

  it("adds @nx/devkit as a range of the workspace's nx major, unless it is there or package.json is off limits", async () => {
    const tree = createTreeWithEmptyWorkspace({ formatter: 'none' });
    // A registry may stop at 24.0.0 while nx is at 24.0.6: `^24.0.6` would be ETARGET there.
    for (const [nx, devkit] of [
      ['24.0.6', '>=24.0.0 <25.0.0'],
      ['^23.3.2', '>=23.0.0 <24.0.0'],
      ['~22.6.1', '>=22.0.0 <23.0.0'],
    ]) {
      writeJson(tree, 'package.json', { name: 'ws', devDependencies: { nx } });
      await initGenerator(tree, { skipFormat: true });
      expect(readJson(tree, 'package.json').devDependencies).toEqual({ nx, '@nx/devkit': devkit });
    }

    writeJson(tree, 'package.json', { name: 'ws', devDependencies: { nx: '24.0.6', '@nx/devkit': '24.0.0' } });
    await initGenerator(tree, { skipFormat: true });
    expect(readJson(tree, 'package.json').devDependencies).toEqual({ nx: '24.0.6', '@nx/devkit': '24.0.0' });

    writeJson(tree, 'package.json', { name: 'ws', devDependencies: { nx: '23.3.2' } });
    await initGenerator(tree, { skipFormat: true, skipPackageJson: true });
    expect(readJson(tree, 'package.json').devDependencies).toEqual({ nx: '23.3.2' });
  });

  it('creates nx.json with the plugin when the workspace has none', async () => {
    const tree = createTreeWithEmptyWorkspace({ formatter: 'none' });
    tree.delete('nx.json');
    await initGenerator(tree, { skipFormat: true, skipPackageJson: true });
    expect(readJson(tree, 'nx.json')).toEqual({
      $schema: './node_modules/nx/schemas/nx-schema.json',
      plugins: [{ plugin: 'nx-triton', options: {} }],
    });
    await initGenerator(tree, { skipFormat: true, skipPackageJson: true });
    expect(readNxJson(tree)?.plugins).toEqual([{ plugin: 'nx-triton', options: {} }]);
  });

  it('puts package.json back as it was when the install fails, and says so', async () => {
    const root = mkdtempSync(join(tmpdir(), 'nx-triton-init-'));
    const emptyCache = mkdtempSync(join(tmpdir(), 'nx-triton-npm-cache-'));
    const saved = { offline: process.env.npm_config_offline, cache: process.env.npm_config_cache, quiet: process.env.NX_GENERATE_QUIET };
    try {
      const original = '{\n  "name": "ws",\n  "devDependencies": { "nx": "24.0.6" }\n}\n';
      writeFileSync(join(root, 'package.json'), original);
      const tree = new FsTree(root, false);
      const install = await initGenerator(tree, { skipFormat: true });
      flushChanges(root, tree.listChanges());
      expect(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).devDependencies['@nx/devkit']).toBe('>=24.0.0 <25.0.0');
      // A real npm that cannot reach any package: offline, with an empty cache.
      Object.assign(process.env, { npm_config_offline: 'true', npm_config_cache: emptyCache, NX_GENERATE_QUIET: 'true' });
      await expect(async () => install?.()).rejects.toThrow(
        /^nx-triton:init: installing @nx\/devkit@">=24\.0\.0 <25\.0\.0" failed \(.*\); package\.json is left as it was\./,
      );
      expect(readFileSync(join(root, 'package.json'), 'utf8')).toBe(original);
      expect(readJson(new FsTree(root, false), 'nx.json').plugins).toEqual([{ plugin: 'nx-triton', options: {} }]);
    } finally {
      for (const [key, value] of [['npm_config_offline', saved.offline], ['npm_config_cache', saved.cache], ['NX_GENERATE_QUIET', saved.quiet]] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
      rmSync(root, { recursive: true, force: true });
      rmSync(emptyCache, { recursive: true, force: true });
    }
  });
});
