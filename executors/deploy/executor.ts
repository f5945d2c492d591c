import { resolve } from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import { DEFAULT_REPOSITORY } from '../../lib/layout';
import { runDeployTarget } from '../../lib/targets/deploy';
import { pluginOptionsOf, runForProject } from '../run-for-project';

export interface DeployExecutorOptions {
  /** The built model repository, relative to the workspace root. */
  repository?: string;
  /** The environment of nx.json's `deploy` (each configuration of the target sets it); default: the first. */
  environment?: string;
  /** Read the destination and print what would be uploaded, deleted and loaded; change nothing. */
  dryRun?: boolean;
}

/**
 * `deploy` (not cached): this model's changed files to the environment's repository, then load,
 * ready and smoke inference on each of its servers; the previous files back on any failure. The
 * models it uses were deployed first (the target's dependsOn).
 */
export default async function deployExecutor(options: DeployExecutorOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  // Not runForProject's generic --dry-run: deploy's own reads the destination and prints its plan.
  return runForProject(context, 'deploy', async (project) => {
    await runDeployTarget({
      pluginOptions: pluginOptionsOf(context),
      environment: options.environment ?? context.configurationName,
      workspaceRoot: project.workspaceRoot,
      builtRepository: resolve(project.workspaceRoot, options.repository ?? DEFAULT_REPOSITORY),
      model: context.projectName as string,
      dryRun: options.dryRun,
      log: project.log,
    });
  });
}
