import {
  addDependenciesToPackageJson,
  formatFiles,
  readJson,
  readNxJson,
  updateNxJson,
  type GeneratorCallback,
  type PluginConfiguration,
  type Tree,
} from '@nx/devkit';

export interface InitGeneratorSchema {
  skipFormat?: boolean;
  keepExistingVersions?: boolean;
  skipPackageJson?: boolean;
}

export const PLUGIN_NAME = 'nx-triton';

function isNxTriton(entry: PluginConfiguration): boolean {
  return (typeof entry === 'string' ? entry : entry.plugin) === PLUGIN_NAME;
}

interface PackageJson {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

/**
 * nx-triton depends on `@nx/devkit` with a range covering nx 22–24. Without a root `@nx/devkit`,
 * npm picks the newest devkit, whose peer range may not admit the workspace's nx: pin it to the
 * workspace's own nx version, as Nx's plugins do. Nothing to do when either is absent or devkit is there.
 */
function devkitToAdd(tree: Tree): string | undefined {
  if (!tree.exists('package.json')) return undefined;
  const pkg = readJson<PackageJson>(tree, 'package.json');
  const deps = { ...pkg.dependencies, ...pkg.devDependencies };
  if (deps['@nx/devkit'] !== undefined) return undefined;
  return deps.nx;
}

/** Registers the plugin in nx.json (once) and pins `@nx/devkit` to the workspace's nx version. */
export async function initGenerator(tree: Tree, options: InitGeneratorSchema = {}): Promise<GeneratorCallback | void> {
  const nxJson = readNxJson(tree) ?? {};
  const plugins = nxJson.plugins ?? [];
  if (!plugins.some(isNxTriton)) {
    nxJson.plugins = [...plugins, { plugin: PLUGIN_NAME, options: {} }];
    updateNxJson(tree, nxJson);
  }
  const devkit = options.skipPackageJson ? undefined : devkitToAdd(tree);
  const install = devkit ? addDependenciesToPackageJson(tree, {}, { '@nx/devkit': devkit }, undefined, options.keepExistingVersions) : undefined;
  if (!options.skipFormat) await formatFiles(tree);
  return install;
}

export default initGenerator;
