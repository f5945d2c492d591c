import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  addDependenciesToPackageJson,
  formatFiles,
  readJson,
  readNxJson,
  updateNxJson,
  writeJson,
  type GeneratorCallback,
  type PluginConfiguration,
  type Tree,
} from '@nx/devkit';
import { UserError } from '../../lib/errors';

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

/** The major version in an nx version or range (`24.0.6`, `^23.3.2`, `~22.1.0`); else the installed nx's. */
function nxMajor(tree: Tree, declared: string): number | undefined {
  const match = /^\s*[\^~=v]*\s*([0-9]+)\.[0-9]+/.exec(declared);
  if (match) return Number(match[1]);
  try {
    const installed = JSON.parse(readFileSync(join(tree.root, 'node_modules', 'nx', 'package.json'), 'utf8')) as { version?: string };
    const m = /^([0-9]+)\./.exec(installed.version ?? '');
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * nx-triton depends on `@nx/devkit` with a range covering nx 22–24. Without a root `@nx/devkit`,
 * npm picks the newest devkit, whose peer range may not admit the workspace's nx. So a root
 * `@nx/devkit` of the workspace's nx major is added — as a range of the whole major, which any
 * registry holding that major satisfies (a registry may lag behind nx's own patch releases).
 */
export function devkitRange(tree: Tree): string | undefined {
  if (!tree.exists('package.json')) return undefined;
  const pkg = readJson<PackageJson>(tree, 'package.json');
  const deps = { ...pkg.dependencies, ...pkg.devDependencies };
  if (deps['@nx/devkit'] !== undefined || deps.nx === undefined) return undefined;
  const major = nxMajor(tree, deps.nx);
  return major === undefined ? undefined : `>=${major}.0.0 <${major + 1}.0.0`;
}

/**
 * Runs the package install; when it fails, puts package.json back as it was before this
 * generator (the tree is already written to disk when callbacks run) and says what failed.
 */
function installOrRestore(tree: Tree, original: string, range: string, install: GeneratorCallback): GeneratorCallback {
  return async () => {
    try {
      await install();
    } catch (err) {
      writeFileSync(join(tree.root, 'package.json'), original);
      const detail = err instanceof Error ? err.message.split('\n')[0] : String(err);
      throw new UserError(
        `nx-triton:init: installing @nx/devkit@"${range}" failed (${detail}); package.json is left as it was. ` +
          `Install it yourself (npm i -D "@nx/devkit@${range}") or rerun with --skipPackageJson.`,
      );
    }
  };
}

/** Registers the plugin in nx.json (once; creating nx.json when there is none) and adds `@nx/devkit` of the workspace's nx major. */
export async function initGenerator(tree: Tree, options: InitGeneratorSchema = {}): Promise<GeneratorCallback | void> {
  const entry = { plugin: PLUGIN_NAME, options: {} };
  if (!tree.exists('nx.json')) {
    writeJson(tree, 'nx.json', { $schema: './node_modules/nx/schemas/nx-schema.json', plugins: [entry] });
  } else {
    const nxJson = readNxJson(tree) ?? {};
    const plugins = nxJson.plugins ?? [];
    if (!plugins.some(isNxTriton)) {
      nxJson.plugins = [...plugins, entry];
      updateNxJson(tree, nxJson);
    }
  }
  const range = options.skipPackageJson ? undefined : devkitRange(tree);
  let install: GeneratorCallback | undefined;
  if (range) {
    const original = tree.read('package.json', 'utf8') ?? '';
    install = installOrRestore(tree, original, range, addDependenciesToPackageJson(tree, {}, { '@nx/devkit': range }, undefined, options.keepExistingVersions));
  }
  if (!options.skipFormat) await formatFiles(tree);
  return install;
}

export default initGenerator;
