import type { ExecutorContext } from '@nx/devkit';
import { runEngineTarget } from '../../lib/targets/engine';
import { pluginOptionsOf, runForProject, type CommonOptions } from '../run-for-project';

export interface EngineExecutorOptions extends CommonOptions {
  /** The plugin's `engineCache` option; env NX_TRITON_ENGINE_CACHE overrides it. */
  engineCache?: string;
  /** The plugin's `tritonRelease` option; a model's `triton_release` wins. */
  tritonRelease?: string;
}

/**
 * `engine`: ONNX (own export or the `from:` model's) -> dist/models/<name>/engine/model.plan via the engine store,
 * or one `model_smXY.plan` per `tensorrt.targets` entry, built here or on `tensorrt.builders`.
 */
export default async function engineExecutor(options: EngineExecutorOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  return runForProject(context, 'engine', async (project) => {
    await runEngineTarget({
      ...project,
      // Read from nx.json, not from the target's options: the store's location is not in the cache key.
      engineCache: options.engineCache ?? text(pluginOptionsOf(context).engineCache),
      tritonRelease: options.tritonRelease,
    });
  }, options);
}

/** A string option of nx-triton's entry in nx.json (options that must stay out of the target's cache key). */
function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
