import { isAbsolute, join, posix, resolve } from 'node:path';
import { getProjects, globAsync, logger, type GeneratorCallback, type Tree } from '@nx/devkit';
import { assertNoClashes, planImport, readRepository, summarizeImport, writeImportedFiles } from '../../lib/import';
import { schemaModeline } from '../../lib/schema/modeline';
import { readSpecSummary } from '../../lib/model-spec/summary';
import { SPEC_FILE } from '../../lib/layout';
import { printable } from '../../lib/errors';

export interface ImportGeneratorSchema {
  /** The Triton model repository, relative to the workspace root or absolute. */
  repositoryDir: string;
  /** Where the projects go (default `models`). */
  directory?: string;
}

/** Names of every project and every triton.yaml model in the workspace. */
async function takenNames(tree: Tree): Promise<Set<string>> {
  const names = new Set(getProjects(tree).keys());
  for (const file of await globAsync(tree, [`**/${SPEC_FILE}`])) {
    names.add(readSpecSummary(tree.read(file, 'utf8') ?? '', join(tree.root, posix.dirname(file))).name);
  }
  return names;
}

/** A path that holds something (an empty directory is free, as for nx-triton:model). */
function directoryTaken(tree: Tree, path: string): boolean {
  return tree.exists(path) && (tree.isFile(path) || tree.children(path).length > 0);
}

/**
 * `nx g nx-triton:import <repositoryDir>`: the triton.yaml files go through the Tree (so --dry-run
 * shows them); the model files, which may be gigabytes, are copied (reflinked where the file
 * system can) on disk by the returned callback, after Nx has written the Tree, never read into memory.
 */
export async function importGenerator(tree: Tree, schema: ImportGeneratorSchema): Promise<GeneratorCallback> {
  const root = isAbsolute(schema.repositoryDir) ? schema.repositoryDir : resolve(tree.root, schema.repositoryDir);
  const listing = readRepository(root, schema.repositoryDir);
  const plan = planImport(listing, { directory: schema.directory });
  assertNoClashes(plan, { names: await takenNames(tree), exists: (path) => directoryTaken(tree, path) });
  for (const model of plan.models) tree.write(`${model.projectDir}/${SPEC_FILE}`, schemaModeline(model.projectDir) + model.yaml);
  for (const warning of plan.warnings) logger.warn(printable(`nx-triton: ${warning}`));
  return async () => {
    await writeImportedFiles(tree.root, plan);
    for (const line of summarizeImport(plan)) logger.info(printable(line));
  };
}

export default importGenerator;
