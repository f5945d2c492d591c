import { describe, expect, it } from 'vitest';
import { SpecError } from '../errors';
import type { ModelConfig } from '../model-config';
import type { ModelSpec, Position } from '../model-spec/types';
import type { OnnxSignature, OnnxTensor } from '../onnx/types';
import { deriveModelConfig } from './derive';

const ONNX_FILE = 'dist/models/my_nn/export/model.onnx';

function spec(config: ModelConfig, positions: Record<string, Position> = {}, extra: Partial<ModelSpec> = {}): ModelSpec {
  const name = extra.name ?? 'my_nn';
  return {
    file: `models/${name}/triton.yaml`,
    dir: `/ws/models/${name}`,
    name,
    config: { name, ...config },
    version: 1,
    previousVersions: {},
    positions,
    ...extra,
  };
}

function sig(inputs: OnnxTensor[], outputs: OnnxTensor[]): OnnxSignature {
  return { irVersion: 8, opsets: [{ domain: '', version: 17 }], producerName: 'pytorch', producerVersion: '1.13', graphName: 'g', inputs, overridableInputs: [], outputs, externalData: [] };
}

const batched = sig(
  [{ name: 'x', elemType: 1, shape: ['batch', 3, 'h'] }],
  [{ name: 'y', elemType: 1, shape: ['batch', 10] }],
);

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SpecError);
    return (err as Error).message;
  }
  throw new Error('expected a SpecError');
}

describe('deriveModelConfig: I/O from the graph', () => {
  it('drops the batch dim, maps symbolic dims to -1 and orders keys', () => {
    const config = deriveModelConfig(spec({ dynamic_batching: {}, max_batch_size: 8 }), { onnx: batched, onnxFile: ONNX_FILE });
    expect(config).toEqual({
      name: 'my_nn',
      platform: 'onnxruntime_onnx',
      max_batch_size: 8,
      input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [3, -1] }],
      output: [{ name: 'y', data_type: 'TYPE_FP32', dims: [10] }],
      dynamic_batching: {},
    });
    expect(Object.keys(config)).toEqual(['name', 'platform', 'max_batch_size', 'input', 'output', 'dynamic_batching']);
  });

  it('does not add sequence control and state tensors again as ordinary inputs (issue 12 item 8)', () => {
    // Triton's simple_sequence: INPUT, START and READY in the graph; START/READY are control inputs,
    // which the ONNX backend counts (onnxruntime_backend ValidateInputs) and the client never sends.
    const graph = sig(
      [
        { name: 'INPUT', elemType: 6, shape: ['batch', 1] },
        { name: 'START', elemType: 6, shape: ['batch', 1] },
        { name: 'READY', elemType: 6, shape: ['batch', 1] },
        { name: 'STATE_IN', elemType: 6, shape: ['batch', 1] },
      ],
      [{ name: 'OUTPUT', elemType: 6, shape: ['batch', 1] }],
    );
    const sequence_batching: ModelConfig['sequence_batching'] = {
      control_input: [
        { name: 'START', control: [{ kind: 'CONTROL_SEQUENCE_START', int32_false_true: [0, 1] }] },
        { name: 'READY', control: [{ kind: 'CONTROL_SEQUENCE_READY', int32_false_true: [0, 1] }] },
      ],
      state: [{ input_name: 'STATE_IN', output_name: 'OUTPUT', data_type: 'TYPE_INT32', dims: [1] }],
    };
    const config = deriveModelConfig(spec({ max_batch_size: 8, sequence_batching }), { onnx: graph, onnxFile: ONNX_FILE });
    expect(config.input).toEqual([{ name: 'INPUT', data_type: 'TYPE_INT32', dims: [1] }]);
    expect(config.output).toEqual([{ name: 'OUTPUT', data_type: 'TYPE_INT32', dims: [1] }]);
  });

  it('keeps every dim without batching and unknown dims become -1', () => {
    const onnx = sig([{ name: 'x', elemType: 7, shape: [2, null, 'n'] }], [{ name: 'y', elemType: 9, shape: [2] }]);
    const config = deriveModelConfig(spec({}), { onnx });
    expect(config.input).toEqual([{ name: 'x', data_type: 'TYPE_INT64', dims: [2, -1, -1] }]);
    expect(config.output).toEqual([{ name: 'y', data_type: 'TYPE_BOOL', dims: [2] }]);
  });

  it('keeps platform/backend as given and sets no default platform without ONNX', () => {
    expect(deriveModelConfig(spec({ backend: 'onnxruntime' }), { onnx: batched }).platform).toBeUndefined();
    expect(deriveModelConfig(spec({ platform: 'tensorrt_plan' }), { onnx: batched }).platform).toBe('tensorrt_plan');
    const ensemble = deriveModelConfig(spec({ platform: 'ensemble', input: [{ name: 'a', data_type: 'TYPE_FP32', dims: [1] }] }));
    expect(ensemble).toEqual({ name: 'my_nn', platform: 'ensemble', input: [{ name: 'a', data_type: 'TYPE_FP32', dims: [1] }] });
    expect(deriveModelConfig(spec({ backend: 'python' })).platform).toBeUndefined();
  });

  it('maps every supported ONNX type as Triton does', () => {
    const table: Array<[number, string]> = [
      [1, 'TYPE_FP32'], [2, 'TYPE_UINT8'], [3, 'TYPE_INT8'], [4, 'TYPE_UINT16'], [5, 'TYPE_INT16'],
      [6, 'TYPE_INT32'], [7, 'TYPE_INT64'], [8, 'TYPE_STRING'], [9, 'TYPE_BOOL'], [10, 'TYPE_FP16'],
      [11, 'TYPE_FP64'], [12, 'TYPE_UINT32'], [13, 'TYPE_UINT64'], [16, 'TYPE_BF16'],
    ];
    const onnx = sig(table.map(([t]) => ({ name: `in${t}`, elemType: t, shape: [4] })), [{ name: 'y', elemType: 1, shape: [4] }]);
    const config = deriveModelConfig(spec({}), { onnx });
    expect(config.input!.map((t) => [Number(t.name!.slice(2)), t.data_type])).toEqual(table);
  });

  it.each([
    [14, 'COMPLEX64'], [15, 'COMPLEX128'], [17, 'FLOAT8E4M3FN'], [19, 'FLOAT8E5M2'], [21, 'UINT4'], [22, 'INT4'], [23, 'FLOAT4E2M1'],
  ])('refuses ONNX type %i (%s), naming the tensor', (t, name) => {
    const onnx = sig([{ name: 'x', elemType: t, shape: [4] }], [{ name: 'y', elemType: 1, shape: [4] }]);
    expect(errorOf(() => deriveModelConfig(spec({}), { onnx, onnxFile: ONNX_FILE }))).toBe(
      `models/my_nn/triton.yaml: input: input "x" has ONNX type ${name} in ${ONNX_FILE}, which Triton does not support; export it as a supported type (e.g. FLOAT, INT64)`,
    );
  });

  it('turns a per-item scalar into dims [1] with an empty reshape when batching', () => {
    const onnx = sig([{ name: 'x', elemType: 1, shape: ['N'] }], [{ name: 'y', elemType: 1, shape: ['N', 2] }]);
    const config = deriveModelConfig(spec({ max_batch_size: 4 }), { onnx });
    expect(config.input).toEqual([{ name: 'x', data_type: 'TYPE_FP32', dims: [1], reshape: { shape: [] } }]);
  });

  it('refuses a scalar without batching, and an unknown rank', () => {
    const scalar = sig([{ name: 'x', elemType: 1, shape: [] }], [{ name: 'y', elemType: 1, shape: null }]);
    const message = errorOf(() => deriveModelConfig(spec({}), { onnx: scalar, onnxFile: ONNX_FILE }));
    expect(message.split('\n')).toEqual([
      `models/my_nn/triton.yaml: input: input "x" is a scalar (rank 0) in ${ONNX_FILE}, but Triton needs non-empty dims; with max_batch_size: 0 it cannot be served as is (export it with shape [1], or batch the model)`,
      `models/my_nn/triton.yaml: output: output "y" has no shape (unknown rank) in ${ONNX_FILE}; declare it under output: with data_type and dims`,
    ]);
  });

  it('refuses batching when a tensor has a fixed first dim, at max_batch_size', () => {
    const onnx = sig([{ name: 'x', elemType: 1, shape: [1, 3] }], [{ name: 'y', elemType: 1, shape: ['N', 2] }, { name: 's', elemType: 1, shape: [] }]);
    const message = errorOf(() => deriveModelConfig(spec({ max_batch_size: 64 }, { max_batch_size: { line: 2, col: 1 } }), { onnx, onnxFile: ONNX_FILE }));
    expect(message.split('\n')).toEqual([
      `models/my_nn/triton.yaml:2:1: max_batch_size: 64 needs a dynamic first (batch) dim on every input and output, but input "x" has a fixed first dim: shape [1, 3] in ${ONNX_FILE}; set max_batch_size: 0 or export with a dynamic batch dim`,
      `models/my_nn/triton.yaml:2:1: max_batch_size: 64 needs a dynamic first (batch) dim on every input and output, but output "s" is a scalar (no batch dim): shape [] in ${ONNX_FILE}; set max_batch_size: 0 or export with a dynamic batch dim`,
    ]);
  });
});

describe('deriveModelConfig: given I/O checked against the graph', () => {
  it('keeps given entries as written and fills missing fields and inputs from the graph', () => {
    const onnx = sig(
      [{ name: 'x', elemType: 1, shape: ['N', 3] }, { name: 'mask', elemType: 9, shape: ['N', 3] }],
      [{ name: 'y', elemType: 1, shape: ['N', 2] }, { name: 'z', elemType: 1, shape: ['N', 5] }],
    );
    const config = deriveModelConfig(
      spec({ max_batch_size: 2, input: [{ name: 'mask', dims: [3], optional: true }], output: [{ name: 'z', data_type: 'TYPE_FP32', dims: [-1], label_filename: 'labels.txt' }] }),
      { onnx },
    );
    expect(config.input).toEqual([
      { name: 'mask', data_type: 'TYPE_BOOL', dims: [3], optional: true },
      { name: 'x', data_type: 'TYPE_FP32', dims: [3] },
    ]);
    // Triton serves a subset of outputs: only the declared one is kept.
    expect(config.output).toEqual([{ name: 'z', data_type: 'TYPE_FP32', dims: [-1], label_filename: 'labels.txt' }]);
  });

  it('names both sides when data_type differs', () => {
    const s = spec({ input: [{ name: 'x', data_type: 'TYPE_INT64', dims: [-1, 3, -1] }] }, { 'input[0].data_type': { line: 9, col: 7 } });
    expect(errorOf(() => deriveModelConfig(s, { onnx: batched, onnxFile: ONNX_FILE }))).toBe(
      `models/my_nn/triton.yaml:9:7: input[0].data_type: TYPE_INT64 does not match the exported graph: input "x" is FLOAT (TYPE_FP32) in ${ONNX_FILE}`,
    );
  });

  it('asks for the name of a tensor given without one, as Triton does', () => {
    const s = spec({ max_batch_size: 8, input: [{ data_type: 'TYPE_FP32', dims: [3, -1] }] }, { 'input[0]': { line: 3, col: 5 } });
    expect(errorOf(() => deriveModelConfig(s, { onnx: batched, onnxFile: ONNX_FILE }))).toBe(
      "models/my_nn/triton.yaml:3:5: input[0]: input[0] must specify 'name'",
    );
  });

  it('lists the graph names with a did-you-mean for an unknown name', () => {
    const s = spec({ output: [{ name: 'Y', data_type: 'TYPE_FP32', dims: [-1, 10] }] }, { 'output[0]': { line: 5, col: 5 }, 'output[0].name': { line: 5, col: 7 } });
    expect(errorOf(() => deriveModelConfig(s, { onnx: batched, onnxFile: ONNX_FILE }))).toBe(
      `models/my_nn/triton.yaml:5:7: output[0].name: output "Y" is not in the exported graph, which has outputs "y" (${ONNX_FILE}) (did you mean "y"?)`,
    );
  });

  it('checks the rank with the batch dim', () => {
    const s = spec({ max_batch_size: 4, input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [-1, 3, -1] }] }, { 'input[0].dims': { line: 6, col: 7 } });
    expect(errorOf(() => deriveModelConfig(s, { onnx: batched, onnxFile: ONNX_FILE }))).toBe(
      `models/my_nn/triton.yaml:6:7: input[0].dims: dims [-1, 3, -1] does not match the exported graph: rank 3 but input "x" has shape [batch, 3, h] in ${ONNX_FILE} (with max_batch_size > 0 the graph's first dim is the batch dim and is not written, so dims needs 2 entries)`,
    );
  });

  it('checks the rank without batching', () => {
    const s = spec({ input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [3, -1] }] });
    expect(errorOf(() => deriveModelConfig(s, { onnx: batched, onnxFile: ONNX_FILE }))).toBe(
      `models/my_nn/triton.yaml: input[0].dims: dims [3, -1] does not match the exported graph: rank 2 but input "x" has shape [batch, 3, h] in ${ONNX_FILE}`,
    );
  });

  it('accepts -1 against anything and a fixed dim against a symbolic one, refuses different fixed dims', () => {
    const ok = spec({ max_batch_size: 4, input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [-1, 224] }] });
    expect(deriveModelConfig(ok, { onnx: batched }).input).toEqual([{ name: 'x', data_type: 'TYPE_FP32', dims: [-1, 224] }]);
    const bad = spec({ max_batch_size: 4, input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [4, 224] }] }, { 'input[0].dims': { line: 7, col: 5 } });
    expect(errorOf(() => deriveModelConfig(bad, { onnx: batched, onnxFile: ONNX_FILE }))).toBe(
      `models/my_nn/triton.yaml:7:5: input[0].dims: dims [4, 224] does not match the exported graph: dim 0 is 4 but input "x" has shape [batch, 3, h] in ${ONNX_FILE} (dim 1 is 3)`,
    );
  });

  it('checks reshape.shape, not dims, against the graph when a reshape is given', () => {
    const onnx = sig([{ name: 'x', elemType: 1, shape: ['N'] }], [{ name: 'y', elemType: 1, shape: ['N', 2] }]);
    const s = spec({ max_batch_size: 4, input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [1], reshape: { shape: [] } }] });
    expect(deriveModelConfig(s, { onnx }).input).toEqual([{ name: 'x', data_type: 'TYPE_FP32', dims: [1], reshape: { shape: [] } }]);
  });

  it('reports every problem at once', () => {
    const s = spec({
      input: [{ name: 'x', data_type: 'TYPE_FP16', dims: [1] }],
      output: [{ name: 'nope', data_type: 'TYPE_FP32', dims: [1] }],
    });
    expect(errorOf(() => deriveModelConfig(s, { onnx: batched, onnxFile: ONNX_FILE })).split('\n')).toHaveLength(3);
  });
});

describe('deriveModelConfig: from:', () => {
  const base = spec(
    {
      platform: 'onnxruntime_onnx',
      max_batch_size: 16,
      input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [3, -1] }],
      instance_group: [{ kind: 'KIND_CPU', count: 2 }],
      dynamic_batching: { preferred_batch_size: [4, 8] },
      default_model_filename: 'net.onnx',
      parameters: { a: { string_value: '1' } },
    },
    { 'input[0].data_type': { line: 4, col: 9 } },
    { name: 'my_onnx' },
  );

  it('starts from the other config, drops its identity and lets this file override top-level keys', () => {
    const trt = spec({ platform: 'tensorrt_plan', instance_group: [{ kind: 'KIND_GPU', count: 1 }] }, {}, { name: 'my_trt', from: 'my_onnx' });
    const config = deriveModelConfig(trt, { onnx: batched, fromSpec: base });
    expect(config).toEqual({
      name: 'my_trt',
      platform: 'tensorrt_plan',
      max_batch_size: 16,
      input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [3, -1] }],
      output: [{ name: 'y', data_type: 'TYPE_FP32', dims: [10] }],
      instance_group: [{ kind: 'KIND_GPU', count: 1 }],
      dynamic_batching: { preferred_batch_size: [4, 8] },
      parameters: { a: { string_value: '1' } },
    });
    // The source spec is left untouched.
    expect(base.config.name).toBe('my_onnx');
  });

  // Issue 12.6: a TensorRT model made from a CPU ONNX model must not inherit KIND_CPU (Triton's TensorRT backend refuses it).
  it('keeps the instance counts of a CPU from: model for a TensorRT model, not the CPU kind', () => {
    const trt = spec({ platform: 'tensorrt_plan' }, {}, { name: 'my_trt', from: 'my_onnx' });
    expect(deriveModelConfig(trt, { onnx: batched, fromSpec: base }).instance_group).toEqual([{ count: 2 }]);
    const onnx = spec({ platform: 'onnxruntime_onnx' }, {}, { name: 'my_copy', from: 'my_onnx' });
    expect(deriveModelConfig(onnx, { onnx: batched, fromSpec: base }).instance_group).toEqual([{ kind: 'KIND_CPU', count: 2 }]);
  });

  it('points at the from-model file for an inherited key that does not match', () => {
    const wrong = spec({ ...base.config, input: [{ name: 'x', data_type: 'TYPE_INT32', dims: [3, -1] }] }, base.positions, { name: 'my_onnx' });
    const trt = spec({ platform: 'tensorrt_plan' }, {}, { name: 'my_trt', from: 'my_onnx' });
    expect(errorOf(() => deriveModelConfig(trt, { onnx: batched, onnxFile: ONNX_FILE, fromSpec: wrong }))).toBe(
      `models/my_onnx/triton.yaml:4:9: input[0].data_type: TYPE_INT32 does not match the exported graph: input "x" is FLOAT (TYPE_FP32) in ${ONNX_FILE}`,
    );
  });
});
