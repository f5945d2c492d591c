import { tritonTypeForOnnx } from '../../onnx';
import type { ModelConfig, ModelTensor } from '../../model-config';
import type { OnnxDim, OnnxSignature, OnnxTensor } from '../../onnx/types';
import type { Problem } from './problem';
import { dimsText, enumValue } from './problem';
import { sequenceFedInputs } from '../../model-config';

function modelDims(shape: OnnxDim[]): number[] {
  return shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1));
}

/** Triton's CompareDimsSupported: fixed model dims must match; a batching model needs a leading -1. */
function shapeProblem(io: ModelTensor, model: OnnxTensor, maxBatch: number, modelName: string): string | undefined {
  if (model.shape === null) return undefined;
  const dims = ((io.reshape ? io.reshape.shape : io.dims) ?? []).map(Number);
  const shape = modelDims(model.shape);
  const prefix = `model '${modelName}', tensor '${io.name}'`;
  if (maxBatch > 0) {
    if (shape.length === 0 || shape[0] !== -1) {
      return `${prefix}: for the model to support batching the shape should have at least 1 dimension and the first dimension must be -1; but shape expected by the model is ${dimsText(shape)}`;
    }
    const full = [-1, ...dims];
    const ok = full.length === shape.length && full.every((d, i) => i === 0 || shape[i] === -1 || shape[i] === d);
    if (!ok) {
      return `${prefix}: the model expects ${shape.length} dimensions (shape ${dimsText(shape)}) but the model configuration specifies ${full.length} dimensions (an initial batch dimension because max_batch_size > 0 followed by the explicit tensor shape, making complete shape ${dimsText(full)})`;
    }
    return undefined;
  }
  const ok = dims.length === shape.length && dims.every((d, i) => shape[i] === -1 || shape[i] === d);
  return ok
    ? undefined
    : `${prefix}: the model expects ${shape.length} dimensions (shape ${dimsText(shape)}) but the model configuration specifies ${dims.length} dimensions (shape ${dimsText(dims)})`;
}

/**
 * The config's `input`/`output` against an ONNX graph, as Triton's onnxruntime backend compares
 * them when it loads the model. `file` names the model file in messages (`1/model.onnx`).
 */
export function compareOnnxSignature(config: ModelConfig, sig: OnnxSignature, file: string): Problem[] {
  const problems: Problem[] = [];
  const maxBatch = config.max_batch_size ?? 0;
  const modelName = config.name ?? '';
  const sides: Array<{ kind: 'input' | 'output'; tensors: ModelTensor[]; model: OnnxTensor[] }> = [
    // A request may also feed an overridable initializer (Triton merges them into the inputs).
    { kind: 'input', tensors: config.input ?? [], model: [...sig.inputs, ...sig.overridableInputs] },
    { kind: 'output', tensors: config.output ?? [], model: sig.outputs },
  ];
  for (const { kind, tensors, model } of sides) {
    // With none listed, Triton completes them from the model itself.
    if (tensors.length === 0) continue;
    const byName = new Map(model.map((t) => [t.name, t]));
    const allowed = [...byName.keys()].sort().join(', ');
    tensors.forEach((io, i) => {
      const at = `${kind}[${i}]`;
      const m = io.name === undefined ? undefined : byName.get(io.name);
      if (!m) {
        problems.push({ path: `${at}.name`, message: `unexpected inference ${kind} '${io.name}', allowed ${kind}s are: ${allowed} (${file})` });
        return;
      }
      const expected = tritonTypeForOnnx(m.elemType) ?? 'TYPE_INVALID';
      const given = enumValue(io.data_type, 'inference.DataType');
      if (given !== expected) {
        problems.push({ path: `${at}.data_type`, message: `unexpected datatype ${given} for inference ${kind} '${io.name}', expecting ${expected} (${file})` });
      }
      const why = shapeProblem(io, m, maxBatch, modelName);
      if (why) problems.push({ path: `${at}.dims`, message: `${why} (${file})` });
    });
  }

  const inputs: ModelTensor[] = config.input ?? [];
  const batchTargets = (config.batch_input ?? []).flatMap((b) => b.target_name ?? []);
  const modelInputs = new Set(sig.inputs.map((t) => t.name));
  batchTargets.forEach((t) => {
    if (!modelInputs.has(t)) {
      problems.push({ path: 'batch_input', message: `unexpected batch input '${t}', allowed inputs are: ${[...modelInputs].sort().join(', ')} (${file})` });
    }
  });
  const fed = sequenceFedInputs(config).filter((n) => !inputs.some((io) => io.name === n));
  fed.forEach((n) => {
    if (!modelInputs.has(n)) {
      problems.push({ path: 'sequence_batching', message: `configuration specified sequence control or state '${n}', but the model does not provide that input (${file})` });
    }
  });
  problems.push(...countProblems(config, sig, file, batchTargets, fed));
  return problems;
}

/**
 * onnxruntime_backend src/onnxruntime.cc, ModelInstanceState's constructor and ValidateInputs:
 * the config's inputs that are not `optional`, its batch inputs and its sequence controls and
 * states must count exactly the model's inputs (overridable initializers not among them); an
 * optional input is refused in a model that batches.
 */
function countProblems(config: ModelConfig, sig: OnnxSignature, file: string, batchTargets: string[], fed: string[]): Problem[] {
  const inputs: ModelTensor[] = config.input ?? [];
  if (inputs.length === 0) return [];
  const problems: Problem[] = [];
  const maxBatch = config.max_batch_size ?? 0;
  inputs.forEach((io, i) => {
    if (io.optional && maxBatch !== 0) {
      problems.push({ path: `input[${i}].optional`, message: `optional input '${io.name}' is not supported for models that support batching (${file})` });
    }
  });
  const required = inputs.filter((io) => !io.optional);
  const expected = required.length + batchTargets.length + fed.length;
  const head = `configuration expects ${expected} inputs, model provides ${sig.inputs.length}`;
  if (expected < sig.inputs.length) {
    const missing = sig.inputs.map((t) => t.name).filter((n) => !inputs.some((io) => io.name === n) && !batchTargets.includes(n) && !fed.includes(n));
    const why = missing.length > 0 ? ` (missing from the config: ${missing.join(', ')})` : '';
    problems.push({ path: 'input', message: `${head}${why} (${file})` });
  }
  const overridable = new Set(sig.overridableInputs.map((t) => t.name));
  const initializers = required.filter((io) => overridable.has(io.name ?? '')).map((io) => io.name);
  if (expected > sig.inputs.length && initializers.length > 0) {
    problems.push({
      path: 'input',
      message: `${head} (${initializers.join(', ')}: an initializer of the model, which Triton counts only as an input marked optional: true) (${file})`,
    });
  }
  return problems;
}
