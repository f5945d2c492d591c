import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { logger, type ExecutorContext } from '@nx/devkit';
import { UserError } from '../../lib/errors';
import { DEFAULT_REPOSITORY } from '../../lib/layout';
import { buildModel } from '../../lib/repository/build-model';

export interface BuildExecutorOptions {
  repository?: string;
}

const SPEC_FILE = 'triton.yaml';

/** `build`: writes `<repository>/<model>/` from the project's triton.yaml and its upstream outputs. */
export default async function buildExecutor(options: BuildExecutorOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  const projects = context.projectsConfigurations?.projects ?? {};
  const project = context.projectName ? projects[context.projectName] : undefined;
  if (!project) {
    logger.error(`nx-triton: build: project ${JSON.stringify(context.projectName)} not found in the workspace`);
    return { success: false };
  }
  const specOf = (root: string) => join(context.root, root, SPEC_FILE);
  try {
    await buildModel({
      workspaceRoot: context.root,
      specFile: specOf(project.root),
      repository: options.repository ?? DEFAULT_REPOSITORY,
      resolveSpecFile: (name) => {
        const other = projects[name];
        return other && existsSync(specOf(other.root)) ? specOf(other.root) : undefined;
      },
      log: (line) => logger.info(line),
    });
    return { success: true };
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    logger.error(err.message);
    return { success: false };
  }
}
