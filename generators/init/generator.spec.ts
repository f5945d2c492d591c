import { readJson, readNxJson, updateNxJson, writeJson } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
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

  it("pins @nx/devkit to the workspace's nx version, unless it is there or package.json is off limits", async () => {
    const tree = createTreeWithEmptyWorkspace({ formatter: 'none' });
    writeJson(tree, 'package.json', { name: 'ws', devDependencies: { nx: '22.6.1' } });
    await initGenerator(tree, { skipFormat: true });
    expect(readJson(tree, 'package.json').devDependencies).toEqual({ nx: '22.6.1', '@nx/devkit': '22.6.1' });

    writeJson(tree, 'package.json', { name: 'ws', devDependencies: { nx: '24.0.6', '@nx/devkit': '24.0.0' } });
    await initGenerator(tree, { skipFormat: true });
    expect(readJson(tree, 'package.json').devDependencies).toEqual({ nx: '24.0.6', '@nx/devkit': '24.0.0' });

    writeJson(tree, 'package.json', { name: 'ws', devDependencies: { nx: '23.3.2' } });
    await initGenerator(tree, { skipFormat: true, skipPackageJson: true });
    expect(readJson(tree, 'package.json').devDependencies).toEqual({ nx: '23.3.2' });
  });
});
