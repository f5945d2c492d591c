import { describe, expect, it } from 'vitest';
import { parseSpec } from '../model-spec';
import type { ModelSpec } from '../model-spec/types';
import { torchRequest, verifyBatchSizes } from './sources/torch';

/** The keys of export.torch and verify as triton.yaml spells them, and what the export request makes of them. */

const FILE = 'models/m/triton.yaml';
const parse = (yaml: string): ModelSpec => parseSpec(yaml, FILE, '/ws/models/m', { checkFiles: false });
const messageOf = (yaml: string): string => {
  try {
    parse(yaml);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected a SpecError');
};
const torchYaml = (extra: string, top = '') =>
  `platform: onnxruntime_onnx\nmax_batch_size: 8\n${top}export:\n  torch:\n    model: net:build\n    input_shapes: { x: [null, 4], mask: [null, 4] }\n${extra}`;

describe('export.torch.exporter, example_inputs and verify in triton.yaml', () => {
  it('reads every form of example values, the exporter and verify', () => {
    const spec = parse(
      torchYaml(
        '    exporter: torchscript\n    example_inputs: { x: { normal: [0.5, 2] }, mask: { randint: [0, 2] } }\n',
        'verify: { atol: 0.001, rtol: 0, batch_sizes: [2, 8], samples: data/s.npz }\n',
      ),
    );
    expect(spec.export).toMatchObject({ torch: { exporter: 'torchscript', example_inputs: { x: { values: { normal: [0.5, 2] } }, mask: { values: { randint: [0, 2] } } } } });
    expect(spec.verify).toEqual({ atol: 0.001, rtol: 0, batch_sizes: [2, 8], samples: 'data/s.npz' });
    for (const [text, want] of [
      ['zeros', { values: 'zeros' }],
      ['ones', { values: 'ones' }],
      ['padding_mask', { values: 'padding_mask' }],
      ['{ uniform: [-1, 1] }', { values: { uniform: [-1, 1] } }],
      ['{ constant: 3, dtype: int32 }', { values: { constant: 3 }, dtype: 'TYPE_INT32' }],
      ['{ randint: [0, 9], dtype: TYPE_INT32 }', { values: { randint: [0, 9] }, dtype: 'TYPE_INT32' }],
      ['{ normal: [0, 1], dtype: half }', { values: { normal: [0, 1] }, dtype: 'TYPE_FP16' }],
      ['{ padding_mask: true, dtype: bool }', { values: { padding_mask: true }, dtype: 'TYPE_BOOL' }],
      ['data/x.npy', { values: { npy: 'data/x.npy' } }],
    ] as const) {
      expect((parse(torchYaml(`    example_inputs: { x: ${text} }\n`)).export as { torch: { example_inputs: unknown } }).torch.example_inputs).toEqual({ x: want });
    }
    expect(parse(torchYaml('', 'verify: false\n')).verify).toBe(false);
    expect(parse(torchYaml('', 'verify: true\n')).verify).toEqual({});
  });

  it('refuses bad values at their line and key', () => {
    expect(messageOf(torchYaml('    exporter: onnx\n'))).toBe(`${FILE}:7:5: export.torch.exporter: expected dynamo or torchscript, got "onnx"`);
    const forms = 'zeros, ones, padding_mask, { constant: n }, { randint: [low, high] }, { uniform: [low, high] }, { normal: [mean, std] } (each map may add dtype:) or a .npy file';
    expect(messageOf(torchYaml('    example_inputs: { x: random }\n'))).toBe(`${FILE}:7:23: export.torch.example_inputs.x: expected ${forms}, got string "random"`);
    expect(messageOf(torchYaml('    example_inputs: { x: { randint: [0, 2], normal: [0, 1] } }\n'))).toBe(`${FILE}:7:23: export.torch.example_inputs.x: expected ${forms}, got a map`);
    expect(messageOf(torchYaml('    example_inputs: { x: { dtype: int64 } }\n'))).toBe(`${FILE}:7:23: export.torch.example_inputs.x: expected ${forms}, got a map`);
    expect(messageOf(torchYaml('    example_inputs: { x: { constant: 1, dtyp: int64 } }\n'))).toBe(`${FILE}:7:41: export.torch.example_inputs.x.dtyp: unknown key "dtyp" (did you mean "dtype"?)`);
    expect(messageOf(torchYaml('    example_inputs: { x: { constant: 1, dtype: int46 } }\n'))).toBe(
      `${FILE}:7:41: export.torch.example_inputs.x.dtype: unknown data type "int46" (expected one of bool, uint8, int8, int16, int32, int64, fp16, bf16, fp32, fp64) (did you mean "int16"?)`,
    );
    expect(messageOf(torchYaml('    example_inputs: { x: { constant: 1, dtype: string } }\n'))).toBe(
      `${FILE}:7:41: export.torch.example_inputs.x.dtype: TYPE_STRING cannot be fed to a torch model (expected one of bool, uint8, int8, int16, int32, int64, fp16, bf16, fp32, fp64)`,
    );
    expect(messageOf(torchYaml('    example_inputs: { x: { constant: a } }\n'))).toBe(`${FILE}:7:28: export.torch.example_inputs.x.constant: expected a number, got string "a"`);
    expect(messageOf(torchYaml('    input_names: [a, a]\n'))).toBe(`${FILE}:7:5: export.torch.input_names: "a" is named twice`);
    expect(messageOf(torchYaml('', 'verify: { dim_sizes: [9, 9] }\n'))).toBe(
      `${FILE}:3:11: verify.dim_sizes: give two or more different sizes: a size baked into the graph shows only at another size`,
    );
    expect(messageOf(torchYaml('    example_inputs: { x: { randint: [5, 5] } }\n'))).toBe(
      `${FILE}:7:28: export.torch.example_inputs.x.randint: expected two integers [low, high] with low < high (high is excluded), got a list`,
    );
    expect(messageOf(torchYaml('    example_inputs: { x: { normal: [0, -1] } }\n'))).toBe(
      `${FILE}:7:28: export.torch.example_inputs.x.normal: expected [mean, std] with std >= 0, got a list`,
    );
    expect(messageOf(torchYaml('', 'verify: { atol: -1, batch_size: [1] }\n'))).toBe(
      [`${FILE}:3:11: verify.atol: expected a number >= 0, got number -1`, `${FILE}:3:21: verify.batch_size: unknown key "batch_size" (did you mean "batch_sizes"?)`].join('\n'),
    );
    expect(messageOf('platform: onnxruntime_onnx\nverify: false\n')).toBe(`${FILE}:2:1: verify: the fidelity gate checks an export: this model has no export: section`);
  });

  it('checks names against the inputs and batch sizes against max_batch_size before python runs', () => {
    const request = (yaml: string) => {
      const spec = parse(yaml);
      return () => torchRequest(spec, (spec.export as { torch: never }).torch, '/out/model.onnx');
    };
    expect(request(torchYaml('    example_inputs: { y: ones }\n'))).toThrow(`${FILE}:7:23: export.torch.example_inputs.y: "y" is not an input (inputs: x, mask)`);
    expect(request(torchYaml('', 'verify: { batch_sizes: [1, 16] }\n'))).toThrow(`${FILE}:3:28: verify.batch_sizes[1]: 16 is larger than max_batch_size 8`);
    expect(request(torchYaml('    exporter: dynamo\n').replace('onnxruntime_onnx', 'pytorch_libtorch'))).toThrow(
      `${FILE}:7:5: export.torch.exporter: chooses the ONNX exporter; a pytorch_libtorch model is TorchScript (traced, or script: true)`,
    );
    const made = request(torchYaml('    example_inputs: { mask: zeros }\n', 'dynamic_batching: { preferred_batch_size: [2, 4, 16] }\n'))();
    expect(made.inputs.map((i) => [i.name, i.values, i.dtype, i.key])).toEqual([
      ['x', null, null, 'export.torch.input_shapes.x'],
      ['mask', 'zeros', null, 'export.torch.input_shapes.mask'],
    ]);
    // 1, the largest preferred size that fits, max_batch_size
    expect(made.verify).toEqual({ atol: null, rtol: null, batch_sizes: [1, 4, 8], dim_sizes: null, samples: null });
    expect(made.requirements).toMatchObject({ torch: '1.13', onnxruntime: '1.16' });
  });

  it('orders the inputs as input_names names them, and refuses names without a shape or shapes without a name', () => {
    const request = (extra: string) => {
      const spec = parse(torchYaml(extra));
      return () => torchRequest(spec, (spec.export as { torch: never }).torch, '/out/model.onnx');
    };
    const made = request('    input_names: [mask, x]\n    example_inputs: { x: { constant: 2, dtype: fp16 } }\n')();
    expect(made.input_names).toEqual(['mask', 'x']);
    expect(made.inputs.map((i) => [i.name, i.values, i.dtype])).toEqual([
      ['mask', null, null],
      ['x', { constant: 2 }, 'TYPE_FP16'],
    ]);
    expect(request('    input_names: [mask]\n')).toThrow(`${FILE}:7:5: export.torch.input_names: "x" in input_shapes is not in input_names (input_names: [mask])`);
    expect(request('    input_names: [x, mask, y]\n')).toThrow(`${FILE}:7:5: export.torch.input_names: input_shapes gives no shape for "y" (input_names: [x, mask, y])`);
    expect(verifyBatchSizes(parse(torchYaml('').replace('max_batch_size: 8', 'max_batch_size: 1')), {})).toEqual([1]);
  });
});
