import { join } from 'node:path';
import type { ModelConfig } from './types';

/** Where the `export` target writes: the model under the file name it gets in the version dir. */
export function exportDir(workspaceRoot: string, modelName: string): string {
  return join(workspaceRoot, 'dist', 'models', modelName, 'export');
}

/** Where the `engine` target writes its plan(s). */
export function engineDir(workspaceRoot: string, modelName: string): string {
  return join(workspaceRoot, 'dist', 'models', modelName, 'engine');
}

/** Default `repository` plugin option. */
export const DEFAULT_REPOSITORY = 'dist/model-repository';

const BY_PLATFORM: Record<string, string> = {
  tensorrt_plan: 'model.plan',
  onnxruntime_onnx: 'model.onnx',
  pytorch_libtorch: 'model.pt',
  torch_aoti: 'model.pt2',
  tensorflow_savedmodel: 'model.savedmodel',
  tensorflow_graphdef: 'model.graphdef',
};

const BY_BACKEND: Record<string, string> = {
  tensorrt: 'model.plan',
  onnxruntime: 'model.onnx',
  pytorch: 'model.pt',
  python: 'model.py',
  openvino: 'model.xml',
  tensorflow: 'model.savedmodel',
  dali: 'model.dali',
};

/**
 * The file (or directory) name Triton looks for in a version directory:
 * `default_model_filename` when set, else the platform's or backend's default,
 * `model.<backend>` for a custom backend, and undefined for an ensemble (no model file).
 */
export function modelFilename(config: ModelConfig): string | undefined {
  if (config.platform === 'ensemble') return undefined;
  if (config.default_model_filename) return config.default_model_filename;
  if (config.platform && BY_PLATFORM[config.platform]) return BY_PLATFORM[config.platform];
  if (config.backend) return BY_BACKEND[config.backend] ?? `model.${config.backend}`;
  return undefined;
}
