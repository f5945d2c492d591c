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
    expect(spec.export).toMatchObject({ torch: { exporter: 'torchscript', example_inputs: { x: { normal: [0.5, 2] }, mask: { randint: [0, 2] } } } });
    expect(spec.verify).toEqual({ atol: 0.001, rtol: 0, batch_sizes: [2, 8], samples: 'data/s.npz' });
    for (const [text, want] of [
      ['zeros', 'zeros'],
      ['ones', 'ones'],
      ['{ uniform: [-1, 1] }', { uniform: [-1, 1] }],
      ['data/x.npy', { npy: 'data/x.npy' }],
    ] as const) {
      expect((parse(torchYaml(`    example_inputs: { x: ${text} }\n`)).export as { torch: { example_inputs: unknown } }).torch.example_inputs).toEqual({ x: want });
    }
    expect(parse(torchYaml('', 'verify: false\n')).verify).toBe(false);
    expect(parse(torchYaml('', 'verify: true\n')).verify).toEqual({});
  });

  it('refuses bad values at their line and key', () => {
    expect(messageOf(torchYaml('    exporter: onnx\n'))).toBe(`${FILE}:7:5: export.torch.exporter: expected dynamo or torchscript, got "onnx"`);
    expect(messageOf(torchYaml('    example_inputs: { x: random }\n'))).toBe(
      `${FILE}:7:23: export.torch.example_inputs.x: expected zeros, ones, { randint: [low, high] }, { uniform: [low, high] }, { normal: [mean, std] } or a .npy file, got string "random"`,
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
    expect(made.inputs.map((i) => [i.name, i.values, i.key])).toEqual([
      ['x', null, 'export.torch.input_shapes.x'],
      ['mask', 'zeros', 'export.torch.input_shapes.mask'],
    ]);
    // 1, the largest preferred size that fits, max_batch_size
    expect(made.verify).toEqual({ atol: null, rtol: null, batch_sizes: [1, 4, 8], samples: null });
    expect(verifyBatchSizes(parse(torchYaml('').replace('max_batch_size: 8', 'max_batch_size: 1')), {})).toEqual([1]);
  });
});
