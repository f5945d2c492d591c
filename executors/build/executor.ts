import type { ExecutorContext } from '@nx/devkit';
import { DEFAULT_REPOSITORY } from '../../lib/layout';
import { buildModel } from '../../lib/targets/build';
import { runForProject, type CommonOptions } from '../run-for-project';

export interface BuildExecutorOptions extends CommonOptions {
  repository?: string;
  /** The plugin's `tritonRelease` option; a model's `triton_release` wins. */
  tritonRelease?: string;
}

/** `build`: writes `<repository>/<model>/` from the project's triton.yaml and its upstream outputs. */
export default async function buildExecutor(options: BuildExecutorOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  return runForProject(context, 'build', async (project) => {
    await buildModel({ ...project, repository: options.repository ?? DEFAULT_REPOSITORY, tritonRelease: options.tritonRelease });
  }, options);
}
