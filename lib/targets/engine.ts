import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { deriveModelConfig } from '../config';
import { loadWorkspaceSpec, resolveFromChain } from '../config/from-chain';
import { buildEngines, type BuiltPlan } from '../engine/builders';
import { UserError } from '../errors';
import { engineDir, exportDir, ONNX_FILE, onnxFileIn } from '../layout';
import { engineRequest } from '../model-spec/engine-request';
import { readOnnxSignature } from '../onnx';
import { isTensorRt } from '../platforms';
import type { ProjectRun } from './project';

export interface EngineTargetOptions extends ProjectRun {
  /** The plugin's `engineCache` option; env NX_TRITON_ENGINE_CACHE overrides it. */
  engineCache?: string;
  /** The plugin's `tritonRelease` option; a model's `triton_release` wins. */
  tritonRelease?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * The `engine` target: the ONNX of the model (its own export or its `from:` model's) ->
 * dist/models/<name>/engine/model.plan via the engine store, or one `model_smXY.plan` per
 * `tensorrt.targets` entry, built here or on `tensorrt.builders`. The EngineRequest is made once,
 * here, and is all the engine path reads.
 */
export async function runEngineTarget(o: EngineTargetOptions): Promise<BuiltPlan[]> {
  const { workspaceRoot } = o;
  const spec = loadWorkspaceSpec(workspaceRoot, o.specFile);
  if (!isTensorRt(spec.config)) {
    throw new UserError(`${spec.file}: platform: the engine target builds TensorRT models (tensorrt_plan); this one is ${spec.config.platform ?? spec.config.backend ?? 'not set'}`);
  }
  const { fromSpec, owner = spec } = resolveFromChain(spec, o);
  const onnxPath = join(exportDir(workspaceRoot, owner.name), ONNX_FILE);
  if (!existsSync(onnxPath)) {
    throw new UserError(`${spec.file}: no ONNX model at ${relative(workspaceRoot, onnxPath)}: run ${owner.name}:export first`);
  }
  const onnxFile = onnxFileIn(onnxPath);
  const onnx = await readOnnxSignature(onnxFile);
  const config = deriveModelConfig(spec, { onnx, onnxFile: relative(workspaceRoot, onnxFile), fromSpec });
  return buildEngines({
    workspaceRoot,
    request: engineRequest(spec, config),
    onnxPath,
    externalData: onnx.externalData,
    outDir: engineDir(workspaceRoot, spec.name),
    engineCache: o.engineCache,
    tritonRelease: o.tritonRelease,
    env: o.env,
    log: o.log,
  });
}
