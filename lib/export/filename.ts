import { modelFilename, ONNX_FILE, PLAN_FILE, VERSION_FILES } from '../layout';
import { isTensorRt, loadsOwnFiles, RUNTIMES } from '../platforms';
import type { ModelSpec } from '../model-spec/types';
import { exportError } from './where';

export type TorchFormat = 'onnx' | 'torchscript';


/** A prebuilt plan given as `file:`, copied as it is instead of feeding the engine target. */
function isPlanFile(path: string): boolean {
  return /\.(plan|engine)$/i.test(path);
}

/**
 * The name the `export` target gives its result in `dist/models/<name>/export/`: Triton's file name
 * for the platform, except a TensorRT model, whose export is the ONNX the engine target builds from
 * (`model.onnx`) unless `file:` names a ready-made plan.
 */
export function exportFilename(spec: ModelSpec): string {
  if (isTensorRt(spec.config)) return spec.export && 'file' in spec.export && isPlanFile(spec.export.file) ? PLAN_FILE : ONNX_FILE;
  if (loadsOwnFiles(spec.config)) return VERSION_FILES;
  const name = modelFilename(spec.config);
  // No platform or backend: an ONNX file makes an onnxruntime_onnx model, as the build infers.
  const onnxFile = spec.export && 'file' in spec.export && spec.export.file.endsWith('.onnx');
  if (!name && onnxFile && !spec.config.platform && !spec.config.backend) return ONNX_FILE;
  if (!name) {
    const what = spec.config.platform ?? spec.config.backend ?? 'no platform or backend';
    throw exportError(spec, 'export', `a model with ${what} has no model file to export`);
  }
  return name;
}

/** What `export.torch` makes for this model's platform. */
export function torchFormat(spec: ModelSpec): TorchFormat {
  const target = spec.config.platform ?? spec.config.backend ?? '';
  // By the platform when there is one, else by the backend, as before: what export.torch makes (lib/platforms.ts).
  const made = (spec.config.platform ? RUNTIMES.find((r) => r.platform === target) : RUNTIMES.find((r) => r.backend === target))?.torchExport;
  if (made) return made;
  throw exportError(
    spec,
    'export.torch',
    `export.torch makes ONNX (onnxruntime_onnx, tensorrt_plan) or TorchScript (pytorch_libtorch), not a model for ${JSON.stringify(target || 'no platform')}; use export.command or export.file`,
  );
}
