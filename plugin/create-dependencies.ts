import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  DependencyType,
  validateDependency,
  type CreateDependencies,
  type CreateDependenciesContext,
  type RawProjectGraphDependency,
} from '@nx/devkit';
import type { TritonPluginOptions } from './options';
import { summaryOf } from './summaries';
import { SPEC_FILE } from '../lib/layout';

function specFileOf(root: string): string {
  return root === '.' || root === '' ? SPEC_FILE : `${root}/${SPEC_FILE}`;
}

/**
 * `from:` and ensemble steps (`ensemble_scheduling.step[].model_name`) are edges to other model
 * projects. Only changed triton.yaml files are read; Nx keeps the edges of the others.
 */
export const createDependencies: CreateDependencies<TritonPluginOptions> = (_options, context) => {
  const dependencies: RawProjectGraphDependency[] = [];
  // Both maps are keyed by project name.
  for (const [source, files] of Object.entries(context.filesToProcess.projectFileMap)) {
    const project = context.projects[source];
    if (!project) continue;
    const specFile = specFileOf(project.root);
    if (!files.some((f) => f.file === specFile)) continue;
    const file = join(context.workspaceRoot, specFile);
    if (!existsSync(file)) continue;
    const summary = summaryOf(file);
    const targets = new Set([...(summary.from ? [summary.from] : []), ...summary.ensembleModels]);
    for (const target of targets) {
      if (target === source || !context.projects[target]) continue;
      const dependency: RawProjectGraphDependency = { source, target, sourceFile: specFile, type: DependencyType.static };
      if (isValid(dependency, context)) dependencies.push(dependency);
    }
  }
  return dependencies;
};

function isValid(dependency: RawProjectGraphDependency, context: CreateDependenciesContext): boolean {
  try {
    validateDependency(dependency, context);
    return true;
  } catch {
    return false;
  }
}
