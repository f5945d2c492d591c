import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createNodesFromFiles, type CreateNodesV2 } from '@nx/devkit';
import { UserError } from '../lib/errors';
import { checkModelName } from '../lib/model-spec/model-name';
import { normalizeOptions, type TritonPluginOptions } from './options';
import { summaryOf, withModelImports } from './summaries';
import { buildProject } from './targets';
import { SPEC_FILE } from '../lib/layout';

export const SPEC_GLOB = `**/${SPEC_FILE}`;

/** Workspace-relative triton.yaml -> its project root (`.` for one at the workspace root). */
function projectRootOf(file: string): string {
  return dirname(file).split('\\').join('/');
}

/** Where a model's name comes from: the `name:` line, or the directory when there is none. */
function namePlace(workspaceRoot: string, file: string): string {
  let text = '';
  try {
    text = readFileSync(join(workspaceRoot, file), 'utf8');
  } catch {
    // unreadable: the build target reports it
  }
  const index = text.split(/\r?\n/).findIndex((line) => /^name\s*:/.test(line));
  return index >= 0 ? `${file}:${index + 1}:1 (name:)` : `${file}:1:1 (no name:, so its directory's name)`;
}

/**
 * Two triton.yaml files that make the same model name: Nx would stop every command with its advice to
 * add a project.json. Say instead which files, and which lines, clash.
 */
function duplicateNames(files: readonly string[], workspaceRoot: string): Map<string, string> {
  const byName = new Map<string, string[]>();
  for (const file of files) {
    const name = summaryOf(join(workspaceRoot, file)).name;
    byName.set(name, [...(byName.get(name) ?? []), file]);
  }
  const problems = new Map<string, string>();
  for (const [name, clashing] of byName) {
    if (clashing.length < 2) continue;
    for (const file of clashing) {
      const others = clashing.filter((f) => f !== file).map((f) => namePlace(workspaceRoot, f));
      problems.set(
        file,
        `${namePlace(workspaceRoot, file)}: model name "${name}" is also the name of ${others.join(' and ')}; ` +
          'model names are unique in a workspace (they are the project and the repository directory): rename one with name:',
      );
    }
  }
  return problems;
}

// `CreateNodesV2` is the one type name that nx 22, 23 and 24 all export.
export const createNodes: CreateNodesV2<TritonPluginOptions> = [
  SPEC_GLOB,
  (files, options, context) => {
    const normalized = normalizeOptions(options, context.workspaceRoot);
    const duplicates = duplicateNames(files, context.workspaceRoot);
    return createNodesFromFiles(
      (file) => {
        const duplicate = duplicates.get(file);
        if (duplicate) throw new UserError(duplicate);
        const root = projectRootOf(file);
        const summary = withModelImports(summaryOf(join(context.workspaceRoot, file)), join(context.workspaceRoot, root));
        // The name is part of the targets' outputs: a glob or template there reaches other models (issue 22, N3).
        const badName = checkModelName(summary.name);
        if (badName) throw new UserError(`${namePlace(context.workspaceRoot, file)}: ${badName}; set name:`);
        return { projects: { [root]: buildProject(root, summary, normalized) } };
      },
      files,
      options,
      context,
    );
  },
];

/** Nx 22 looks for `createNodesV2` first, Nx 23+ for `createNodes`: one value serves both. */
export const createNodesV2 = createNodes;
