import { existsSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import { deriveModelConfig } from '../../lib/config';
import { loadWorkspaceSpec, resolveFromChain } from '../../lib/config/from-chain';
import { buildEngines } from '../../lib/engine/builders';
import { UserError } from '../../lib/errors';
import { engineDir, exportDir } from '../../lib/layout';
import { readOnnxSignature } from '../../lib/onnx';
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
    const { workspaceRoot } = project;
    const spec = loadWorkspaceSpec(workspaceRoot, project.specFile);
    if (spec.config.platform !== 'tensorrt_plan') {
      throw new UserError(`${spec.file}: platform: the engine target builds tensorrt_plan models; this one is ${spec.config.platform ?? 'not set'}`);
    }
    const { fromSpec, owner = spec } = resolveFromChain(spec, project);
    const onnxPath = join(exportDir(workspaceRoot, owner.name), 'model.onnx');
    if (!existsSync(onnxPath)) {
      throw new UserError(`${spec.file}: no ONNX model at ${relative(workspaceRoot, onnxPath)}: run ${owner.name}:export first`);
    }
    const onnxFile = statSync(onnxPath).isDirectory() ? join(onnxPath, 'model.onnx') : onnxPath;
    const onnx = await readOnnxSignature(onnxFile);
    const config = deriveModelConfig(spec, { onnx, onnxFile: relative(workspaceRoot, onnxFile), fromSpec });
    await buildEngines({
      workspaceRoot,
      spec,
      config,
      onnxPath,
      externalData: onnx.externalData,
      outDir: engineDir(workspaceRoot, spec.name),
      engineCache: options.engineCache ?? text(pluginOptionsOf(context).engineCache),
      tritonRelease: options.tritonRelease,
      log: project.log,
    });
  }, options);
}

/** A string option of nx-triton's entry in nx.json (options that must stay out of the target's cache key). */
function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
