/**
 * The data that flows one way through nx-triton:
 *   triton.yaml --lib/model-spec--> ModelSpec --lib/config (+ OnnxSignature)--> ModelConfig --lib/repository--> files
 */

/**
 * An `inference.ModelConfig` as a plain object, the shape protobufjs' `Type.fromObject` takes,
 * generated from proto/model_config.proto (lib/model-config/generated.ts): keys spelled as in
 * config.pbtxt (snake_case), enums by their Triton names (`TYPE_FP32`), 64-bit integers as numbers
 * (decimal strings beyond 2^53), maps as objects, an empty message present as `{}`
 * (`dynamic_batching: {}` turns the batcher on).
 */
import type { ModelConfig, ModelInput, ModelOutput } from './model-config/generated';
export type { DataType, ModelConfig, ModelInput, ModelOutput } from './model-config/generated';

/**
 * An input or an output, as code that reads both sees it: the fields of either message (an
 * output has no `optional`, an input no `label_filename`; absent reads as undefined).
 */
export type ModelTensor = ModelInput & ModelOutput;

/** `export.torch`: a torch.nn.Module exported by python/export_torch.py. */
export interface TorchExport {
  /** "python.module:callable", resolved from the project directory. */
  model: string;
  kwargs?: Record<string, unknown>;
  /** state_dict file, relative to the project directory. */
  checkpoint?: string;
  /** input name -> shape; null is a dynamic dim, a leading null the batch dim. */
  input_shapes?: Record<string, Array<number | null>>;
  output_names?: string[];
  opset?: number;
  /** pytorch_libtorch: torch.jit.script instead of torch.jit.trace. */
  script?: boolean;
  /** Which torch ONNX exporter runs; default torch's own (dynamo from torch 2.9). */
  exporter?: 'dynamo' | 'torchscript';
  /** input name -> the values of its example tensor (default normal(0,1) for floats, ones otherwise). */
  example_inputs?: Record<string, ExampleValues>;
}

/** `export.torch.example_inputs.<input>`: how the example tensor is filled (`npy`: a project file). */
export type ExampleValues =
  | 'zeros'
  | 'ones'
  | { randint: [number, number] }
  | { uniform: [number, number] }
  | { normal: [number, number] }
  | { npy: string };

/** `verify:` — the fidelity gate after a torch export (`false` turns it off). */
export interface VerifySpec {
  atol?: number;
  rtol?: number;
  batch_sizes?: number[];
  /** An .npz in the project: one array per input name. */
  samples?: string;
}

/** `export:` — exactly one source. */
export type ExportSpec = { torch: TorchExport } | { command: string[] } | { file: string };

/** min / opt / max of one input's shape in an optimization profile. */
export interface ShapeRange {
  min: number[];
  opt: number[];
  max: number[];
}

/** One optimization profile: input name -> its shape range. */
export type Profile = Record<string, ShapeRange>;

/** `tensorrt:` — its type is derived from the key table in lib/model-spec/tensorrt.ts (TENSORRT_KEYS). */
import type { EngineOptions, TensorRtSpec } from './model-spec/tensorrt';
export type { TensorRtSpec };

/**
 * What an engine is built from, made once by lib/model-spec/tensorrt.ts `engineRequest` out of
 * triton.yaml and the model's I/O; trtexecArgs, the engine key and the builders take it.
 */
export interface EngineRequest extends EngineOptions {
  /** triton.yaml as it appears in messages. */
  file: string;
  model: string;
  /** ModelConfig `max_batch_size`; 0 = no batch dim. */
  maxBatchSize: number;
  /** Key path -> where it was written in `file` (for messages). */
  positions: Record<string, Position>;
}

/** Line and column (1-based) where a key path was written in triton.yaml. */
export interface Position {
  line: number;
  col: number;
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

/** A dim of an ONNX tensor: a fixed size, a symbolic name (`dim_param`), or unknown (null). */
export type OnnxDim = number | string | null;

export interface OnnxTensor {
  name: string;
  /** ONNX `TensorProto.DataType` number (1 = FLOAT, 7 = INT64, ...); 0 when not a tensor type. */
  elemType: number;
  /** null when the graph gives no shape at all (unknown rank); [] for a scalar. */
  shape: OnnxDim[] | null;
}

/** What a model file declares, read without loading its weights. */
export interface OnnxSignature {
  irVersion: number;
  opsets: Array<{ domain: string; version: number }>;
  producerName: string;
  producerVersion: string;
  graphName: string;
  /** Graph inputs that are not initializers. */
  inputs: OnnxTensor[];
  /**
   * Graph inputs that are also initializers: onnxruntime's overridable initializers, which a
   * request may feed (Triton takes them as optional inputs) but need not.
   */
  overridableInputs: OnnxTensor[];
  outputs: OnnxTensor[];
  /** `location` of every external-data tensor, in first-seen order, de-duplicated. */
  externalData: string[];
}
