import { existsSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { logger, type ExecutorContext } from '@nx/devkit';
import { deriveModelConfig } from '../../lib/config';
import { buildEngines } from '../../lib/builder/engines';
import { UserError } from '../../lib/errors';
import { engineDir, exportDir } from '../../lib/layout';
import { readOnnxSignature } from '../../lib/onnx';
import { loadSpec } from '../../lib/spec';
import type { ModelSpec } from '../../lib/types';

export interface EngineExecutorOptions {
  /** The plugin's `engineCache` option; env NX_TRITON_ENGINE_CACHE overrides it. */
  engineCache?: string;
}

const SPEC_FILE = 'triton.yaml';
/** `from:` chains longer than this are a cycle (the project graph refuses those anyway). */
const MAX_FROM_DEPTH = 16;

/**
 * `engine`: ONNX (own export or the `from:` model's) -> dist/models/<name>/engine/model.plan via the engine store,
 * or one `model_smXY.plan` per `tensorrt.targets` entry, built here or on `tensorrt.builders`.
 */
export default async function engineExecutor(options: EngineExecutorOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  const project = context.projectName ? context.projectsConfigurations?.projects[context.projectName] : undefined;
  if (!project) {
    logger.error(`nx-triton: engine: project ${JSON.stringify(context.projectName)} not found in the workspace`);
    return { success: false };
  }
  try {
    const spec = loadProjectSpec(context, project.root);
    if (spec.config.platform !== 'tensorrt_plan') {
      throw new UserError(`${spec.file}: platform: the engine target builds tensorrt_plan models; this one is ${spec.config.platform ?? 'not set'}`);
    }
    const fromSpec = spec.from ? loadFromChain(context, spec.from, spec.file) : undefined;
    const source = spec.from ?? spec.name;
    const onnxPath = join(exportDir(context.root, source), 'model.onnx');
    if (!existsSync(onnxPath)) {
      throw new UserError(`${spec.file}: no ONNX model at ${relative(context.root, onnxPath)}: run ${source}:export first`);
    }
    const onnxFile = statSync(onnxPath).isDirectory() ? join(onnxPath, 'model.onnx') : onnxPath;
    const onnx = await readOnnxSignature(onnxFile);
    const config = deriveModelConfig(spec, { onnx, onnxFile: relative(context.root, onnxFile), fromSpec });
    await buildEngines({
      workspaceRoot: context.root,
      spec,
      config,
      onnxPath,
      externalData: onnx.externalData,
      outDir: engineDir(context.root, spec.name),
      engineCache: options.engineCache,
      log: (line) => logger.info(line),
    });
    return { success: true };
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    logger.error(err.message);
    return { success: false };
  }
}

function loadProjectSpec(context: ExecutorContext, projectRoot: string): ModelSpec {
  const file = join(context.root, projectRoot, SPEC_FILE);
  return loadSpec(file, { displayPath: relative(context.root, file) });
}

/** The `from:` model's spec, its own `from:` folded into its config. */
function loadFromChain(context: ExecutorContext, name: string, referrer: string, depth = 0): ModelSpec {
  const project = context.projectsConfigurations?.projects[name];
  if (!project) throw new UserError(`${referrer}: from: no model project named "${name}" in the workspace`);
  if (depth >= MAX_FROM_DEPTH) throw new UserError(`${referrer}: from: the chain of from: models is too long (a cycle?)`);
  const spec = loadProjectSpec(context, project.root);
  if (!spec.from) return spec;
  const upstream = loadFromChain(context, spec.from, spec.file, depth + 1);
  return { ...spec, config: deriveModelConfig(spec, { fromSpec: upstream }) };
}
