import { formatFiles, readNxJson, updateNxJson, type PluginConfiguration, type Tree } from '@nx/devkit';

export interface InitGeneratorSchema {
  skipFormat?: boolean;
  keepExistingVersions?: boolean;
  skipPackageJson?: boolean;
}

export const PLUGIN_NAME = 'nx-triton';

function isNxTriton(entry: PluginConfiguration): boolean {
  return (typeof entry === 'string' ? entry : entry.plugin) === PLUGIN_NAME;
}

/** Registers the plugin in nx.json; a second run (or an existing string entry) changes nothing. */
export async function initGenerator(tree: Tree, options: InitGeneratorSchema = {}): Promise<void> {
  const nxJson = readNxJson(tree) ?? {};
  const plugins = nxJson.plugins ?? [];
  if (!plugins.some(isNxTriton)) {
    nxJson.plugins = [...plugins, { plugin: PLUGIN_NAME, options: {} }];
    updateNxJson(tree, nxJson);
  }
  if (!options.skipFormat) await formatFiles(tree);
}

export default initGenerator;
