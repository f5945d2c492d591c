/**
 * What the parse layer hands on: a checked triton.yaml (ModelSpec) and, for a TensorRT model, the
 * EngineRequest made from it. Data flows one way:
 *   triton.yaml --lib/model-spec--> ModelSpec --lib/config (+ OnnxSignature)--> ModelConfig --work--> files
 */
import type { ModelConfig } from '../model-config';
/** `tensorrt:` — its type is derived from the key table (TENSORRT_KEYS in ./tensorrt.ts). */
import type { EngineOptions, RemoteTensorRtSpec, TensorRtSpec } from './tensorrt';
export type { TensorRtSpec };

export type { ExampleValues, ExportKind, ExportSpec, TorchExport, VerifySpec } from './plugin-keys';
import type { ExportSpec, VerifySpec } from './plugin-keys';

export type { Profile, ShapeRange } from './tensorrt';
export type { Position } from './context';
import type { Position } from './context';

/**
 * What an engine is built from, made once by lib/model-spec/engine-request.ts out of triton.yaml and
 * the model's I/O (or, on a remote builder, out of the wire request): the engine target, trtexec's
 * argv, the engine key and the builders take it, and nothing else.
 */
export interface EngineRequest extends EngineOptions {
  /** triton.yaml as it appears in messages. */
  file: string;
  model: string;
  /** ModelConfig `max_batch_size`; 0 = no batch dim. */
  maxBatchSize: number;
  /** The model's inputs as the config gives them (dims without the batch dim). */
  inputs: Array<{ name: string; dims: number[]; reshape?: { shape: number[] } }>;
  /** The default profile's opt batch (the largest preferred batch size). */
  optBatchSize?: number;
  /** The model's own `triton_release` (nx.json's `tritonRelease` is the caller's fallback). */
  tritonRelease?: string;
  /** The tensorrt: options a builder takes, as written: what a remote build request carries. */
  remote: RemoteTensorRtSpec;
  /** Key path -> where it was written in `file` (for messages). */
  positions: Record<string, Position>;
}

/** A loaded, checked triton.yaml. */
export interface ModelSpec {
  /** The triton.yaml path as it should appear in messages (workspace-relative when known). */
  file: string;
  /** Absolute directory of the project (the directory holding triton.yaml). */
  dir: string;
  /** `name:` or the directory's basename; checked to be a legal Triton model name. */
  name: string;
  /** Every Triton key as given, enums normalised to Triton names, `name` set. No plugin keys. */
  config: ModelConfig;
  /** Version directory this project builds (default 1). */
  version: number;
  /** "<n>" -> directory relative to the project, copied as version <n>. */
  previousVersions: Record<string, string>;
  export?: ExportSpec;
  /** `verify:` as given; absent = the default (on for export.torch). */
  verify?: VerifySpec | false;
  from?: string;
  tensorrt?: TensorRtSpec;
  /** `triton_release`: the Triton container release that serves the model ("24.08"). */
  tritonRelease?: string;
  /** Key path (`input[0].dims`, `export.torch.model`) -> where it was written. */
  positions: Record<string, Position>;
}
