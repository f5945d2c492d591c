import { SpecError, type Diagnostic } from '../errors';
import type { ModelConfig } from '../model-config';
import { isTensorRt } from '../platforms';
import { ortParameters, profileMaxBatch, remoteTensorRt, requestOptions, type RequestContext, type TensorRtSpec } from './tensorrt';
import { placed } from './positions';
import type { EngineRequest, ModelSpec, Position } from './types';

/**
 * What an EngineRequest is made from: the model's tensorrt: options and its inputs. A triton.yaml
 * gives them with the derived ModelConfig (`requestSource`); a remote builder, from the wire request
 * (lib/engine/remote/server.ts). Nothing else is needed to build an engine.
 */
export interface RequestSource {
  /** triton.yaml as it appears in messages (or what stands for it: `build request for <model>`). */
  file: string;
  model: string;
  /** Key path -> where it was written in `file` (empty for a remote request). */
  positions: Record<string, Position>;
  /** The project directory: a relative `tensorrt.trtexec` is resolved from it. */
  dir?: string;
  tensorrt: TensorRtSpec;
  inputs: NonNullable<ModelConfig['input']>;
  maxBatchSize: number;
  /** The default profile's opt batch (the largest preferred batch size). */
  optBatchSize?: number;
  /** The model's own `triton_release`. */
  tritonRelease?: string;
}

/** The spec fields an engine request is made from. */
export type EngineSpec = Pick<ModelSpec, 'file' | 'name' | 'tensorrt' | 'positions'> & Partial<Pick<ModelSpec, 'dir' | 'tritonRelease'>>;

/** A model's request source: its triton.yaml and its ModelConfig with the I/O (from the spec, `from:` and the ONNX). */
export function requestSource(spec: EngineSpec, config: ModelConfig): RequestSource {
  return {
    file: spec.file,
    model: spec.name,
    positions: spec.positions,
    ...(spec.dir !== undefined ? { dir: spec.dir } : {}),
    tensorrt: spec.tensorrt ?? {},
    inputs: config.input ?? [],
    maxBatchSize: config.max_batch_size ?? 0,
    ...(optBatch(config) !== undefined ? { optBatchSize: optBatch(config) } : {}),
    ...(spec.tritonRelease !== undefined ? { tritonRelease: spec.tritonRelease } : {}),
  };
}

/**
 * The one EngineRequest of a model: its TensorRT options normalised (each key's `request` in
 * TENSORRT_KEYS) and its optimization profiles resolved against its inputs. Problems are a
 * SpecError placed where the key was written.
 */
export function engineRequestFrom(source: RequestSource): EngineRequest {
  const fail = (path: string, message: string): never => {
    throw new SpecError([placed(source, path, message)]);
  };
  if (source.inputs.length === 0) throw new SpecError([{ file: source.file, path: '', message: `${source.model} has no inputs to build a TensorRT engine for` }]);
  const c: RequestContext = { inputs: source.inputs, maxBatchSize: source.maxBatchSize, optBatchSize: source.optBatchSize, dir: source.dir, fail };
  const request: EngineRequest = {
    file: source.file,
    model: source.model,
    positions: source.positions,
    maxBatchSize: source.maxBatchSize,
    inputs: source.inputs.map((t) => ({
      name: t.name ?? '',
      dims: (t.dims ?? []).map(Number),
      ...(t.reshape?.shape ? { reshape: { shape: t.reshape.shape.map(Number) } } : {}),
    })),
    ...(source.optBatchSize !== undefined ? { optBatchSize: source.optBatchSize } : {}),
    ...(source.tritonRelease !== undefined ? { tritonRelease: source.tritonRelease } : {}),
    remote: remoteTensorRt(source.tensorrt),
    ...requestOptions(source.tensorrt, c),
  };
  const max = profileMaxBatch(request.profiles, source.maxBatchSize);
  if (source.maxBatchSize > max) {
    // Triton refuses a max_batch_size above the engine's profiles' max (tensorrt_backend model_state.cc GetProfileMaxBatchSize).
    fail(
      'max_batch_size',
      `configuration specified max-batch ${source.maxBatchSize} but TensorRT engine only supports max-batch ${max} ` +
        `(raise the batch dim of max in tensorrt.profiles, or lower max_batch_size)`,
    );
  }
  return request;
}

/** The EngineRequest of a model from its triton.yaml and ModelConfig. */
export function engineRequest(spec: EngineSpec, config: ModelConfig): EngineRequest {
  return engineRequestFrom(requestSource(spec, config));
}

/** The opt batch of the default profile: the largest preferred batch size, if any. */
export function optBatch(config: ModelConfig): number | undefined {
  const db = config.dynamic_batching;
  const sizes = (db?.preferred_batch_size ?? []).map(Number).filter((n) => n > 0 && n <= (config.max_batch_size ?? 0));
  return sizes.length ? Math.max(...sizes) : undefined;
}

/**
 * The config with `tensorrt:` applied for a model that is not TensorRT: an ONNX Runtime model gets
 * the TensorRT execution provider, configured the way Triton's onnxruntime_backend reads
 * `optimization.execution_accelerators.gpu_execution_accelerator` (src/onnxruntime.cc), key by key
 * (TENSORRT_KEYS' `ort`); any other platform has nothing to apply it to (SpecError).
 */
export function applyTensorRtOptions(spec: EngineSpec, config: ModelConfig): ModelConfig {
  if (!spec.tensorrt || isTensorRt(config)) return config;
  const ort = config.platform === 'onnxruntime_onnx' || config.backend === 'onnxruntime';
  if (!ort) {
    throw new SpecError([placed(spec, 'tensorrt', `applies to tensorrt_plan models (engines) and onnxruntime_onnx models (TensorRT execution provider), not ${config.platform ?? config.backend ?? 'this model'}`)]);
  }
  const optimization = config.optimization ?? {};
  if ((optimization.execution_accelerators?.gpu_execution_accelerator ?? []).length > 0) {
    throw new SpecError([placed(spec, 'tensorrt', 'set either tensorrt: or optimization.execution_accelerators.gpu_execution_accelerator, not both')]);
  }
  const problems: Diagnostic[] = [];
  const parameters = ortParameters(
    spec.tensorrt,
    () => engineRequest(spec, config).profiles,
    (k, why) => void problems.push(placed(spec, `tensorrt.${k}`, why)),
  );
  if (problems.length > 0) throw new SpecError(problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0)));
  const accelerator = { name: 'tensorrt', parameters };
  return {
    ...config,
    optimization: { ...optimization, execution_accelerators: { ...optimization.execution_accelerators, gpu_execution_accelerator: [accelerator] } },
  };
}
