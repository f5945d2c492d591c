import type { ModelConfig } from './model-config';

/** What a model file is: Triton checks some for a file, some for a directory. */
export type FileKind = 'file' | 'dir';

/** One way Triton runs a model: its backend, the platform that names it, and the file it loads. */
export interface Runtime {
  backend: string;
  /** The platform of this runtime; none for backends Triton pairs with no platform (python, openvino). */
  platform?: string;
  /** The file (or directory) Triton looks for in a version directory when default_model_filename is unset. */
  file: string;
  /** What `file` must be for Triton to infer this runtime from it; undefined: either. */
  kind?: FileKind;
  /**
   * The platform Triton sets when only `default_model_filename` names `file`, where it is not
   * `platform`: a named model.pt2 gets the pytorch backend's default, pytorch_libtorch.
   */
  namedPlatform?: string;
  /** False for a backend Triton's auto-complete does not know (it never infers it from `file`). */
  autoComplete?: false;
  /** What `export.torch` makes for it: ONNX, TorchScript, or (undefined) nothing. */
  torchExport?: 'onnx' | 'torchscript';
  /** Its model file has no I/O signature we read (TorchScript, python): inputs and outputs come from triton.yaml. */
  ioFromConfig?: true;
  /** The Nx project `technologies` a model of this runtime adds to `triton`. */
  technologies: readonly string[];
}

/**
 * Triton's runtimes in the order its auto-complete tries them (triton-inference-server/core,
 * src/model_config_utils.cc, AutoCompleteBackendFields; file names from src/constants.h).
 * The first whose platform, default_model_filename or model file matches gives the backend.
 */
export const RUNTIMES: readonly Runtime[] = [
  { backend: 'tensorflow', platform: 'tensorflow_savedmodel', file: 'model.savedmodel', kind: 'dir', technologies: ['tensorflow'] },
  { backend: 'tensorflow', platform: 'tensorflow_graphdef', file: 'model.graphdef', kind: 'file', technologies: ['tensorflow'] },
  { backend: 'tensorrt', platform: 'tensorrt_plan', file: 'model.plan', kind: 'file', torchExport: 'onnx', technologies: ['onnx', 'tensorrt'] }, // built from ONNX
  { backend: 'onnxruntime', platform: 'onnxruntime_onnx', file: 'model.onnx', torchExport: 'onnx', technologies: ['onnx'] }, // a file, or a directory for a large model
  { backend: 'openvino', file: 'model.xml', technologies: ['openvino'] },
  { backend: 'pytorch', platform: 'pytorch_libtorch', file: 'model.pt', kind: 'file', torchExport: 'torchscript', ioFromConfig: true, technologies: ['pytorch'] },
  { backend: 'pytorch', platform: 'torch_aoti', file: 'model.pt2', kind: 'file', namedPlatform: 'pytorch_libtorch', technologies: ['pytorch'] },
  { backend: 'python', file: 'model.py', ioFromConfig: true, technologies: ['python'] },
  { backend: 'dali', file: 'model.dali', autoComplete: false, technologies: [] },
];

/** The runtime a config names: by its platform, else the first of its backend (undefined: neither known). */
export function runtimeOf(config: Pick<ModelConfig, 'platform' | 'backend'>): Runtime | undefined {
  const byPlatform = config.platform ? RUNTIMES.find((r) => r.platform === config.platform) : undefined;
  return byPlatform ?? (config.backend ? RUNTIMES.find((r) => r.backend === config.backend) : undefined);
}

/** The backend of a platform Triton knows (undefined for another platform, or an ensemble). */
export function backendOfPlatform(platform: string): string | undefined {
  return RUNTIMES.find((r) => r.platform === platform)?.backend;
}

/** The platforms Triton knows: each runtime's, and `ensemble` (core src/model_config_utils.cc, ValidateModelConfig). */
export const KNOWN_PLATFORMS: readonly string[] = [...RUNTIMES.flatMap((r) => (r.platform ? [r.platform] : [])), 'ensemble'];

/** Backends Triton pairs with a platform; any other backend name is a custom backend. */
export const PAIRED_BACKENDS: ReadonlySet<string> = new Set(RUNTIMES.flatMap((r) => (r.platform ? [r.backend] : [])));

/** The backend a config runs on: `backend`, else its platform's ('' when neither says). */
export function backendOf(config: Pick<ModelConfig, 'platform' | 'backend'>): string {
  return config.backend || backendOfPlatform(config.platform ?? '') || '';
}

/**
 * Whether a model is served by Triton's TensorRT backend: `platform: tensorrt_plan` or
 * `backend: tensorrt` (the one test of "is TensorRT": the engine target, the export's file, the
 * parser's need for an ONNX source and the rules all ask this).
 */
export function isTensorRt(config: Pick<ModelConfig, 'platform' | 'backend'>): boolean {
  return backendOf(config) === 'tensorrt';
}

/**
 * Backends that load one model file from each version directory. Others (vLLM, tensorrtllm, custom
 * backends, a python model with its own `runtime`) need none there — validate asks none of them —
 * though some read files of their own from it (OWN_FILES_BACKENDS).
 */
export const MODEL_FILE_BACKENDS: ReadonlySet<string> = new Set(RUNTIMES.map((r) => r.backend));

/**
 * Backends that read files of their own from the version directory, under their own names, and
 * no one model file: vLLM's engine args `1/model.json` (vllm_backend src/model.py), tensorrtllm.
 * A custom backend gets its one model file (`model.<backend>` or default_model_filename) instead.
 */
export const OWN_FILES_BACKENDS: ReadonlySet<string> = new Set(['vllm', 'tensorrtllm']);

/** Whether the version directory holds the backend's own files as named (OWN_FILES_BACKENDS, a python model with `runtime`). */
export function loadsOwnFiles(config: ModelConfig): boolean {
  if (config.platform === 'ensemble' || config.default_model_filename) return false;
  return OWN_FILES_BACKENDS.has(config.backend ?? '') || (config.backend === 'python' && Boolean(config.runtime));
}

/** Whether Triton needs a model file in each version directory of this (auto-completed) config. */
export function needsModelFile(config: ModelConfig): boolean {
  if (config.platform === 'ensemble') return false;
  const backend = backendOf(config);
  if (backend === 'python' && config.runtime) return false;
  return MODEL_FILE_BACKENDS.has(backend);
}

/** What Triton's auto-complete adds to a config that names no backend. */
export interface AutoCompleted {
  backend?: string;
  platform?: string;
  default_model_filename?: string;
}

/**
 * `backend` and `platform` as Triton's auto-complete fills them in (core src/model_config_utils.cc,
 * AutoCompleteBackendFields): from the platform, from a `default_model_filename` that is exactly a
 * runtime's file (`model.pt`, never `net.pt`), else from the model files in the first version
 * directory (`firstVersion(name)` says whether that directory holds `name`, and as what). With
 * none of these and no platform or default_model_filename, a model directory named
 * `<name>.<backend>` names a custom backend: everything after the first dot, loading
 * `model.<backend>`. Returns only the keys the config leaves out and Triton would set.
 */
export function autoCompleteBackend(
  config: ModelConfig,
  firstVersion: (name: string) => FileKind | undefined,
  modelName?: string,
): AutoCompleted {
  if (config.backend || config.platform === 'ensemble') return {};
  const { platform, default_model_filename: named } = config;
  const found = RUNTIMES.find((r) => {
    if (r.autoComplete === false) return false;
    if (platform) return r.platform === platform;
    if (named) return r.file === named;
    const kind = firstVersion(r.file);
    return kind !== undefined && (r.kind === undefined || r.kind === kind);
  });
  if (found) {
    const setPlatform = platform ? undefined : named ? (found.namedPlatform ?? found.platform) : found.platform;
    return setPlatform ? { backend: found.backend, platform: setPlatform } : { backend: found.backend };
  }
  const dot = modelName?.indexOf('.') ?? -1;
  if (platform || named || modelName === undefined || dot < 0) return {};
  const backend = modelName.slice(dot + 1);
  return { backend, default_model_filename: `model.${backend}` };
}
