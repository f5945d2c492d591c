import { SpecError, type Diagnostic } from '../errors';
import { isTensorRt } from '../platforms';
import { onnxElemTypeName, tritonTypeForOnnx } from '../onnx/elem-types';
import { didYouMean } from '../model-spec/suggest';
import { sequenceFedInputs, type DataType, type ModelConfig, type ModelTensor } from '../model-config';
import type { ModelSpec } from '../model-spec/types';
import type { OnnxDim, OnnxSignature, OnnxTensor } from '../onnx/types';
import { withLeadingKeys } from './key-order';
import { placed } from '../model-spec/positions';
import { hasNoReadableSignature, torchScriptIo, type TorchScriptSignature } from './torchscript-io';


export interface ModelSource {
  /** The signature of the ONNX model the entry is built from (its own, or the `from:` model's). */
  onnx?: OnnxSignature;
  /** How the ONNX file is named in messages (workspace-relative). */
  onnxFile?: string;
  /** The spec named by `from:`, its own `from:` already folded into its config. */
  fromSpec?: ModelSpec;
  /**
   * The model file has no signature to read (TorchScript, python): I/O comes from triton.yaml,
   * completed by what a torch export recorded (`traced`).
   */
  noSignature?: { traced?: TorchScriptSignature };
  /** One TensorRT plan per compute capability (`tensorrt.targets`): cc -> file, unless triton.yaml sets it. */
  ccModelFilenames?: Record<string, string>;
}

type Kind = 'input' | 'output';

/** Keys of the `from:` model that describe its file, not its interface. */
const NOT_INHERITED: ReadonlyArray<keyof ModelConfig> = ['name', 'platform', 'backend', 'default_model_filename', 'cc_model_filenames'];

/**
 * The `inference.ModelConfig` of one model: triton.yaml's keys over the `from:` model's config,
 * with inputs and outputs read from (or checked against) the ONNX graph. Throws SpecError
 * naming both the triton.yaml key and the graph when they disagree.
 */
export function deriveModelConfig(spec: ModelSpec, source: ModelSource = {}): ModelConfig {
  const { onnx, fromSpec } = source;
  const merged: ModelConfig = { ...(fromSpec ? inherited(fromSpec.config, spec.config) : {}), ...structuredClone(spec.config) };
  merged.name = spec.name;
  if (merged.platform === undefined && merged.backend === undefined && onnx) merged.platform = 'onnxruntime_onnx';

  if (onnx) {
    const derivation = new IoDerivation(spec, source, merged);
    merged.input = derivation.tensors('input');
    merged.output = derivation.tensors('output');
    derivation.checkBatchDims();
    if (derivation.diagnostics.length > 0) throw new SpecError(derivation.diagnostics);
  }
  if (source.ccModelFilenames && merged.cc_model_filenames === undefined) merged.cc_model_filenames = source.ccModelFilenames;
  const config = withLeadingKeys(merged);
  return source.noSignature && hasNoReadableSignature(config) ? torchScriptIo(spec, config, source.noSignature.traced) : config;
}

/** What a model made `from:` another takes of its config: the interface, not the file. */
function inherited(from: ModelConfig, own: ModelConfig): ModelConfig {
  const out = structuredClone(from);
  for (const k of NOT_INHERITED) delete out[k];
  if (isTensorRt(own)) out.instance_group = gpuKindsOnly(out.instance_group);
  return out;
}

/**
 * A TensorRT model made `from:` a CPU model keeps its instance counts, not the CPU kind: Triton's
 * TensorRT backend runs on GPUs only (tensorrt_backend instance_state.cc: "TensorRT backend supports
 * only GPU device"). The kind is left out (KIND_AUTO: GPU when there is one).
 */
function gpuKindsOnly(groups: ModelConfig['instance_group']): ModelConfig['instance_group'] {
  if (!Array.isArray(groups)) return groups;
  return groups.map((g) => {
    if (g.kind !== 'KIND_CPU' && g.kind !== 'KIND_MODEL') return g;
    const { kind: _cpu, ...rest } = g;
    return rest;
  });
}

/**
 * Triton dims of a graph shape, as Triton's onnxruntime backend auto-completes them: dynamic dims -1,
 * the batch dim dropped when batching (a per-item scalar becomes dims [1] with an empty reshape).
 * Undefined for a scalar, which has no dims without batching and no batch dim with it.
 */
function tritonDims(shape: readonly OnnxDim[], batching: boolean): Pick<ModelTensor, 'dims' | 'reshape'> | undefined {
  const all = shape.map((d) => (isFixed(d) ? d : -1));
  if (all.length === 0) return undefined;
  if (!batching) return { dims: all };
  const dims = all.slice(1);
  return dims.length === 0 ? { dims: [1], reshape: { shape: [] } } : { dims };
}

/**
 * The inputs and outputs of an ONNX graph as Triton's onnxruntime backend auto-completes a config
 * that leaves them out (what an ensemble over such a model sees).
 * Undefined when Triton could not complete the config from it (a tensor it cannot serve, or a graph that
 * cannot be batched as `max_batch_size` asks).
 */
export function ioFromOnnx(config: ModelConfig, onnx: OnnxSignature): { input: ModelTensor[]; output: ModelTensor[] } | undefined {
  const batching = (config.max_batch_size ?? 0) > 0;
  const fed = new Set(sequenceFedInputs(config));
  const tensors = [...onnx.inputs.filter((g) => !fed.has(g.name)), ...onnx.outputs];
  if (batching && tensors.some((g) => g.shape !== null && (g.shape.length === 0 || isFixed(g.shape[0])))) return undefined;
  const convert = (g: OnnxTensor): ModelTensor | undefined => {
    const data_type = tritonTypeForOnnx(g.elemType);
    const dims = g.shape === null ? undefined : tritonDims(g.shape, batching);
    return data_type && dims ? { name: g.name, data_type, ...dims } : undefined;
  };
  const input = onnx.inputs.filter((g) => !fed.has(g.name)).map(convert);
  const output = onnx.outputs.map(convert);
  const all = (list: Array<ModelTensor | undefined>): list is ModelTensor[] => list.every((t) => t !== undefined);
  return all(input) && all(output) ? { input, output } : undefined;
}

/** `[N, 3, 224, 224]`, unknown dims as `?`. */
export function formatShape(shape: readonly OnnxDim[]): string {
  return `[${shape.map((d) => (d === null ? '?' : String(d))).join(', ')}]`;
}

function formatDims(dims: readonly unknown[]): string {
  return `[${dims.join(', ')}]`;
}

function isFixed(d: OnnxDim): d is number {
  return typeof d === 'number' && d >= 0;
}

class IoDerivation {
  readonly diagnostics: Diagnostic[] = [];
  private readonly onnx: OnnxSignature;
  private readonly onnxFile: string;
  private readonly batching: boolean;
  /** Graph outputs the config serves: the declared ones, else all. */
  private servedOutputs = new Set<string>();

  constructor(
    private readonly spec: ModelSpec,
    private readonly source: ModelSource,
    private readonly merged: ModelConfig,
  ) {
    this.onnx = source.onnx!;
    this.onnxFile = source.onnxFile ?? 'the ONNX model';
    this.batching = typeof merged.max_batch_size === 'number' && merged.max_batch_size > 0;
  }

  /** The spec a top-level key was taken from: this file, else the `from:` model's. */
  private origin(key: keyof ModelConfig): ModelSpec {
    if (this.spec.config[key] !== undefined || !this.source.fromSpec) return this.spec;
    return this.source.fromSpec.config[key] !== undefined ? this.source.fromSpec : this.spec;
  }

  private error(key: keyof ModelConfig, path: string, message: string): void {
    this.diagnostics.push(placed(this.origin(key), path, message));
  }

  tensors(kind: Kind): ModelTensor[] {
    const graph = kind === 'input' ? this.onnx.inputs : this.onnx.outputs;
    const given: ModelTensor[] | undefined = this.merged[kind];
    const out: ModelTensor[] = [];
    const named = new Set<string>();
    if (kind === 'output') this.servedOutputs = new Set((given ?? graph).flatMap((t) => t.name ?? []));
    for (const [i, tensor] of (given ?? []).entries()) {
      if (tensor.name === undefined) {
        // Triton's ValidateIOShape: "must specify 'name'".
        this.error(kind, `${kind}[${i}]`, `${kind}[${i}] must specify 'name'`);
        continue;
      }
      named.add(tensor.name);
      const g = graph.find((t) => t.name === tensor.name);
      if (!g) {
        this.missingInGraph(kind, i, tensor.name, graph);
        out.push(tensor);
      } else {
        out.push(this.check(kind, i, tensor, g));
      }
    }
    // Triton needs every input declared; outputs may be a subset of the graph's.
    // The sequence batcher feeds control and state inputs: they are never ordinary inputs.
    const fed = kind === 'input' ? new Set(sequenceFedInputs(this.merged)) : new Set<string>();
    if (kind === 'input' || given === undefined) {
      for (const g of graph) if (!named.has(g.name) && !fed.has(g.name)) {
        const t = this.fromGraph(kind, g);
        if (t) out.push(t);
      }
    }
    return out;
  }

  private missingInGraph(kind: Kind, i: number, name: string, graph: OnnxTensor[]): void {
    const names = graph.map((t) => t.name);
    const has = names.length === 0 ? `has no ${kind}s` : `has ${kind}s ${names.map((n) => JSON.stringify(n)).join(', ')}`;
    this.error(kind, `${kind}[${i}].name`, `${kind} ${JSON.stringify(name)} is not in the exported graph, which ${has} (${this.onnxFile})${didYouMean(name, names)}`);
  }

  private describe(kind: Kind, g: OnnxTensor): string {
    return `${kind} ${JSON.stringify(g.name)}`;
  }

  /** The Triton type of a graph tensor, or an error naming why it has none. */
  private tritonType(kind: Kind, g: OnnxTensor, key: Kind, path: string): DataType | undefined {
    if (g.elemType === 0) {
      this.error(key, path, `${this.describe(kind, g)} of the exported graph is not a tensor (a sequence, map or optional?) in ${this.onnxFile}; Triton's onnxruntime backend serves tensors only`);
      return undefined;
    }
    const t = tritonTypeForOnnx(g.elemType);
    if (!t) {
      this.error(key, path, `${this.describe(kind, g)} has ONNX type ${onnxElemTypeName(g.elemType)} in ${this.onnxFile}, which Triton does not support; export it as a supported type (e.g. FLOAT, INT64)`);
    }
    return t;
  }

  /** Triton dims of a graph shape: dynamic dims -> -1, the batch dim dropped when batching. */
  private graphDims(kind: Kind, g: OnnxTensor, key: Kind, path: string): Pick<ModelTensor, 'dims' | 'reshape'> | undefined {
    if (g.shape === null) {
      this.error(key, path, `${this.describe(kind, g)} has no shape (unknown rank) in ${this.onnxFile}; declare it under ${kind}: with data_type and dims`);
      return undefined;
    }
    const dims = tritonDims(g.shape, this.batching);
    if (!dims && !this.batching) {
      this.error(key, path, `${this.describe(kind, g)} is a scalar (rank 0) in ${this.onnxFile}, but Triton needs non-empty dims; with max_batch_size: 0 it cannot be served as is (export it with shape [1], or batch the model)`);
    }
    // A graph scalar has no batch dim: checkBatchDims reports it.
    return dims;
  }

  private fromGraph(kind: Kind, g: OnnxTensor): ModelTensor | undefined {
    const path = kind;
    const data_type = this.tritonType(kind, g, kind, path);
    const shape = this.graphDims(kind, g, kind, path);
    if (!data_type || !shape) return undefined;
    return { name: g.name, data_type, ...shape };
  }

  private check(kind: Kind, i: number, given: ModelTensor, g: OnnxTensor): ModelTensor {
    const at = `${kind}[${i}]`;
    const out: ModelTensor = { ...given };
    const mapped = this.tritonType(kind, g, kind, `${at}.name`);
    if (mapped && given.data_type === undefined) out.data_type = mapped;
    else if (mapped && given.data_type !== mapped) {
      this.error(kind, `${at}.data_type`, `${given.data_type} does not match the exported graph: ${this.describe(kind, g)} is ${onnxElemTypeName(g.elemType)} (${mapped}) in ${this.onnxFile}`);
    }

    if (given.dims === undefined) {
      const shape = this.graphDims(kind, g, kind, `${at}.name`);
      if (shape) Object.assign(out, shape, given.reshape ? { reshape: given.reshape } : {});
      return out;
    }
    if (g.shape === null) return out;
    const viaReshape = given.reshape?.shape !== undefined;
    const modelDims = viaReshape ? given.reshape!.shape! : given.dims;
    const key = viaReshape ? `${at}.reshape.shape` : `${at}.dims`;
    const written = `${viaReshape ? 'reshape.shape' : 'dims'} ${formatDims(modelDims)}`;
    const graphShape = this.batching ? g.shape.slice(1) : g.shape;
    if (this.batching && g.shape.length === 0) return out; // checkBatchDims reports it
    const graphSays = `${this.describe(kind, g)} has shape ${formatShape(g.shape)} in ${this.onnxFile}`;
    if (modelDims.length !== graphShape.length) {
      const batchNote = this.batching
        ? ` (with max_batch_size > 0 the graph's first dim is the batch dim and is not written, so ${viaReshape ? 'reshape.shape' : 'dims'} needs ${graphShape.length} entries)`
        : '';
      this.error(kind, key, `${written} does not match the exported graph: rank ${modelDims.length} but ${graphSays}${batchNote}`);
      return out;
    }
    for (const [j, c] of modelDims.entries()) {
      const d = graphShape[j];
      if (c !== -1 && isFixed(d) && d !== c) {
        const graphIndex = this.batching ? j + 1 : j;
        this.error(kind, key, `${written} does not match the exported graph: dim ${j} is ${c} but ${graphSays} (dim ${graphIndex} is ${d})`);
        break;
      }
    }
    return out;
  }

  /** With batching, every input and every declared output needs a dynamic first dim. */
  checkBatchDims(): void {
    if (!this.batching) return;
    const declared = this.servedOutputs;
    const tensors: Array<[Kind, OnnxTensor]> = [
      ...this.onnx.inputs.map((t): [Kind, OnnxTensor] => ['input', t]),
      ...this.onnx.outputs.filter((t) => declared.has(t.name)).map((t): [Kind, OnnxTensor] => ['output', t]),
    ];
    for (const [kind, g] of tensors) {
      if (g.shape === null) continue;
      if (g.shape.length > 0 && !isFixed(g.shape[0])) continue;
      const why = g.shape.length === 0 ? 'is a scalar (no batch dim)' : `has a fixed first dim`;
      this.error(
        'max_batch_size',
        'max_batch_size',
        `${this.merged.max_batch_size} needs a dynamic first (batch) dim on every input and output, but ${this.describe(kind, g)} ${why}: shape ${formatShape(g.shape)} in ${this.onnxFile}; set max_batch_size: 0 or export with a dynamic batch dim`,
      );
    }
  }
}

