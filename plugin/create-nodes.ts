import { dirname, join } from 'node:path';
import { createNodesFromFiles, type CreateNodesV2 } from '@nx/devkit';
import { normalizeOptions, type TritonPluginOptions } from './options';
import { summaryOf } from './summaries';
import { buildProject } from './targets';

export const SPEC_GLOB = '**/triton.yaml';

/** Workspace-relative triton.yaml -> its project root (`.` for one at the workspace root). */
function projectRootOf(file: string): string {
  return dirname(file).split('\\').join('/');
}

// `CreateNodesV2` is the one type name that nx 22, 23 and 24 all export.
export const createNodes: CreateNodesV2<TritonPluginOptions> = [
  SPEC_GLOB,
  (files, options, context) => {
    const normalized = normalizeOptions(options, context.workspaceRoot);
    return createNodesFromFiles(
      (file) => {
        const root = projectRootOf(file);
        const summary = summaryOf(join(context.workspaceRoot, file));
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
