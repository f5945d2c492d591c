import { join } from 'node:path';
import { addProjectConfiguration, type Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { parse } from 'yaml';
import { beforeEach, describe, expect, it } from 'vitest';
import { parseSpec } from '../../lib/model-spec';
import { modelGenerator } from './generator';
import type { ModelGeneratorSchema } from './options';

let tree: Tree;
beforeEach(() => {
  tree = createTreeWithEmptyWorkspace({ formatter: 'none' });
});

async function generate(options: ModelGeneratorSchema) {
  const callback = await modelGenerator(tree, options);
  return callback;
}

function read(path: string): string {
  const text = tree.read(path, 'utf8');
  if (text === null) throw new Error(`${path} was not written`);
  return text;
}

/** The generated triton.yaml as the real spec loader sees it. */
function spec(directory: string) {
  const file = `${directory}/triton.yaml`;
  return parseSpec(read(file), file, join(tree.root, directory), { checkFiles: false });
}

function filesUnder(directory: string): string[] {
  return tree.children(directory).sort();
}

describe('model generator', () => {
  it('creates models/<name>/triton.yaml with the asked config and an example torch export', async () => {
    await generate({ name: 'my_nn', maxBatchSize: 64, instanceGroup: ['gpu:4'] });
    expect(filesUnder('models/my_nn')).toEqual(['net.py', 'triton.yaml']);
    const text = read('models/my_nn/triton.yaml');
    expect(parse(text)).toEqual({
      platform: 'onnxruntime_onnx',
      max_batch_size: 64,
      instance_group: [{ kind: 'gpu', count: 4 }],
      dynamic_batching: {},
      export: {
        torch: { model: 'net:build', kwargs: { hidden: 128 }, input_shapes: { input: [null, 256] }, output_names: ['output'] },
      },
    });
    expect(text).toContain('# input:\n#   - { name: input, data_type: fp32, dims: [256] }');
    const loaded = spec('models/my_nn');
    expect(loaded.name).toBe('my_nn');
    expect(loaded.config).toMatchObject({ name: 'my_nn', platform: 'onnxruntime_onnx', max_batch_size: 64 });
    expect(loaded.config.instance_group).toEqual([{ kind: 'KIND_GPU', count: 4 }]);
    expect(loaded.export).toEqual({
      torch: { model: 'net:build', kwargs: { hidden: 128 }, input_shapes: { input: [null, 256] }, output_names: ['output'] },
    });
    const net = read('models/my_nn/net.py');
    expect(net).toContain('def build(hidden: int = 128) -> nn.Module:');
    expect(net).toContain('IN_FEATURES = 256');
  });

  it('prints the next step', async () => {
    const callback = await generate({ name: 'my_nn' });
    const lines: string[] = [];
    const { logger } = await import('@nx/devkit');
    const info = logger.info;
    logger.info = (message: unknown) => void lines.push(String(message));
    try {
      callback();
    } finally {
      logger.info = info;
    }
    expect(lines).toEqual(['Created model my_nn in models/my_nn/. Next: nx run my_nn:build']);
  });

  it('places the model in --directory and names it when the directory does not', async () => {
    await generate({ name: 'ranker', directory: './services/search/ranking_model/' });
    expect(parse(read('services/search/ranking_model/triton.yaml')).name).toBe('ranker');
    expect(spec('services/search/ranking_model').name).toBe('ranker');
    await generate({ name: 'other', directory: 'services/other' });
    expect(parse(read('services/other/triton.yaml')).name).toBeUndefined();
  });

  it('fails with "Model my_nn already exists" for any project, triton.yaml model or directory of that name', async () => {
    await generate({ name: 'my_nn' });
    await expect(generate({ name: 'my_nn' })).rejects.toThrow(/^Model my_nn already exists$/);

    addProjectConfiguration(tree, 'web', { root: 'apps/web' });
    await expect(generate({ name: 'web' })).rejects.toThrow('Model web already exists');

    tree.write('elsewhere/x/triton.yaml', 'name: named_in_yaml\nplatform: onnxruntime_onnx\n');
    await expect(generate({ name: 'named_in_yaml' })).rejects.toThrow('Model named_in_yaml already exists');

    tree.write('models/leftover/README.md', 'not a model');
    await expect(generate({ name: 'leftover' })).rejects.toThrow('Model leftover already exists');
    expect(tree.exists('models/leftover/triton.yaml')).toBe(false);
  });

  it('with --force names the model <name>_<n>, the lowest n free', async () => {
    await generate({ name: 'my_nn' });
    await generate({ name: 'my_nn', force: true });
    await generate({ name: 'my_nn', force: true });
    expect(spec('models/my_nn_0').name).toBe('my_nn_0');
    expect(spec('models/my_nn_1').name).toBe('my_nn_1');
    tree.delete('models/my_nn_0');
    await generate({ name: 'my_nn', force: true });
    expect(tree.exists('models/my_nn_0/triton.yaml')).toBe(true);
    tree.write('models/my_nn_2/keep.txt', 'occupied');
    await generate({ name: 'my_nn', force: true });
    expect(tree.exists('models/my_nn_3/triton.yaml')).toBe(true);
  });

  it('parses --instanceGroup kind:count entries and rejects bad kinds and counts', async () => {
    await generate({ name: 'a', instanceGroup: ['gpu:4', 'CPU:2', 'KIND_MODEL', 'auto:1'] });
    expect(parse(read('models/a/triton.yaml')).instance_group).toEqual([
      { kind: 'gpu', count: 4 },
      { kind: 'cpu', count: 2 },
      { kind: 'model', count: 1 },
      { kind: 'auto', count: 1 },
    ]);
    await generate({ name: 'b', instanceGroup: ['gpu:1,cpu:3'] });
    expect(parse(read('models/b/triton.yaml')).instance_group).toEqual([{ kind: 'gpu', count: 1 }, { kind: 'cpu', count: 3 }]);

    await expect(generate({ name: 'c', instanceGroup: ['gpuu:4'] })).rejects.toThrow(
      '--instanceGroup "gpuu:4": unknown kind "gpuu" (expected kind:count with kind one of gpu, cpu, model, auto, e.g. gpu:4) (did you mean "gpu"?)',
    );
    for (const bad of ['gpu:0', 'gpu:-1', 'gpu:two', 'gpu:1.5']) {
      await expect(generate({ name: 'c', instanceGroup: [bad] })).rejects.toThrow(`--instanceGroup "${bad}": count must be a positive integer (e.g. gpu:2)`);
    }
    expect(tree.exists('models/c')).toBe(false);
  });

  it('--from makes a TensorRT model built from an ONNX model', async () => {
    await generate({ name: 'my_nn', maxBatchSize: 16 });
    await generate({ name: 'my_nn_trt', from: 'my_nn' });
    expect(filesUnder('models/my_nn_trt')).toEqual(['triton.yaml']);
    const trtText = read('models/my_nn_trt/triton.yaml');
    expect(parse(trtText)).toEqual({ platform: 'tensorrt_plan', from: 'my_nn' });
    expect(trtText).not.toContain('input:');
    const loaded = spec('models/my_nn_trt');
    expect(loaded.from).toBe('my_nn');
    expect(loaded.export).toBeUndefined();

    await expect(generate({ name: 'x', from: 'nope' })).rejects.toThrow('--from: no model named "nope" in the workspace');
    await expect(generate({ name: 'x', from: 'my_nn', platform: 'onnxruntime_onnx' })).rejects.toThrow(
      '--from makes a TensorRT model: it cannot be used with --platform=onnxruntime_onnx',
    );
    await expect(generate({ name: 'x', from: 'my_nn', source: 'torch' })).rejects.toThrow(/cannot be used with --source/);
  });

  it('--source command and file scaffold their export: sections', async () => {
    await generate({ name: 'cmd', source: 'command' });
    expect(filesUnder('models/cmd')).toEqual(['triton.yaml']);
    expect(spec('models/cmd').export).toEqual({ command: ['python3', 'export.py', '--output', '{output}'] });

    await generate({ name: 'f', source: 'file', platform: 'pytorch_libtorch', maxBatchSize: 4 });
    const loaded = spec('models/f');
    expect(loaded.export).toEqual({ file: 'model.pt' });
    // TorchScript has no names or types: a libtorch model lists its I/O.
    expect(loaded.config.input).toEqual([{ name: 'input', data_type: 'TYPE_FP32', dims: [256] }]);
    expect(loaded.config.output).toEqual([{ name: 'output', data_type: 'TYPE_FP32', dims: [10] }]);

    await generate({ name: 'trt', platform: 'tensorrt_plan', source: 'file' });
    expect(spec('models/trt').export).toEqual({ file: 'model.onnx' });
  });

  it('scaffolds a python backend model and an ensemble skeleton', async () => {
    await generate({ name: 'pre', platform: 'python', maxBatchSize: 8 });
    expect(filesUnder('models/pre')).toEqual(['model.py', 'triton.yaml']);
    const py = spec('models/pre');
    expect(py.config).toMatchObject({ backend: 'python', max_batch_size: 8 });
    expect(py.config.platform).toBeUndefined();
    expect(py.export).toEqual({ file: 'model.py' });
    expect(py.config.input).toEqual([{ name: 'INPUT0', data_type: 'TYPE_FP32', dims: [4] }]);
    expect(read('models/pre/model.py')).toContain('class TritonPythonModel:');

    await generate({ name: 'pipeline', platform: 'ensemble', maxBatchSize: 8 });
    expect(filesUnder('models/pipeline')).toEqual(['triton.yaml']);
    const text = read('models/pipeline/triton.yaml');
    // No dynamic_batching: an ensemble's scheduling is ensemble_scheduling.
    expect(parse(text)).toEqual({
      platform: 'ensemble',
      max_batch_size: 8,
      input: [{ name: 'INPUT0', data_type: 'fp32', dims: [4] }],
      output: [{ name: 'OUTPUT0', data_type: 'fp32', dims: [4] }],
    });
    expect(text).not.toContain('instance_group');
    expect(text).toContain('# ensemble_scheduling:\n#   step:\n#     - model_name: preprocess');
    await expect(generate({ name: 'e2', platform: 'ensemble', source: 'torch' })).rejects.toThrow('--source: an ensemble has no model file of its own');
    await expect(generate({ name: 'e3', platform: 'ensemble', instanceGroup: ['gpu:1'] })).rejects.toThrow(/an ensemble runs no instances/);
    await expect(generate({ name: 'p2', platform: 'python', source: 'torch' })).rejects.toThrow(/a python backend model is its model.py/);
  });

  it('rejects names Triton cannot use and directories outside the workspace', async () => {
    await expect(generate({ name: 'a/b' })).rejects.toThrow('Invalid model name: a model name cannot contain "/" or "\\" (got "a/b")');
    await expect(generate({ name: '..' })).rejects.toThrow('Invalid model name: a model name cannot be ".."');
    await expect(generate({ name: 'ok', directory: '../out' })).rejects.toThrow('--directory "../out": must be a directory inside the workspace');
    await expect(generate({ name: 'ok', directory: '/abs/dir' })).rejects.toThrow(/must be a directory inside the workspace/);
    await expect(generate({ name: 'ok', maxBatchSize: -1 })).rejects.toThrow('--maxBatchSize: must be an integer >= 0 (got -1)');
    await expect(generate({ name: 'ok', platform: 'onnx' as never })).rejects.toThrow(/--platform: unknown value "onnx"/);
  });

  it('writes a spec that every platform default loads', async () => {
    for (const platform of ['onnxruntime_onnx', 'tensorrt_plan', 'pytorch_libtorch'] as const) {
      for (const maxBatchSize of [undefined, 0, 32]) {
        const name = `m_${platform}_${maxBatchSize ?? 'none'}`;
        await generate({ name, platform, maxBatchSize, instanceGroup: ['cpu:2'] });
        const loaded = spec(`models/${name}`);
        expect(loaded.config.platform).toBe(platform);
        expect(loaded.export && 'torch' in loaded.export).toBe(true);
      }
    }
  });

  it('--dynamicBatching and --preferredBatchSize set dynamic_batching', async () => {
    await generate({ name: 'a', maxBatchSize: 64, preferredBatchSize: [8, 16] });
    expect(read('models/a/triton.yaml')).toContain('\ndynamic_batching: { preferred_batch_size: [8, 16] }\n');
    expect(spec('models/a').config.dynamic_batching).toEqual({ preferred_batch_size: [8, 16] });

    // The CLI hands a repeated or comma-separated option over as strings.
    await generate({ name: 'b', maxBatchSize: 32, preferredBatchSize: ['4,32'], dynamicBatching: true });
    expect(spec('models/b').config.dynamic_batching).toEqual({ preferred_batch_size: [4, 32] });

    await generate({ name: 'c', maxBatchSize: 8, dynamicBatching: false });
    expect(spec('models/c').config.dynamic_batching).toBeUndefined();
    expect(read('models/c/triton.yaml')).toContain('\n# dynamic_batching: {}\n');

    await generate({ name: 'd', maxBatchSize: 8, dynamicBatching: true });
    expect(spec('models/d').config.dynamic_batching).toEqual({});

    await expect(generate({ name: 'x', preferredBatchSize: [8] })).rejects.toThrow(
      '--preferredBatchSize 8: exceeds --maxBatchSize 0 (Triton forms batches up to max_batch_size)',
    );
    await expect(generate({ name: 'x', maxBatchSize: 8, preferredBatchSize: [16] })).rejects.toThrow('--preferredBatchSize 16: exceeds --maxBatchSize 8');
    await expect(generate({ name: 'x', maxBatchSize: 8, preferredBatchSize: ['0'] })).rejects.toThrow('--preferredBatchSize "0": must be a positive integer');
    await expect(generate({ name: 'x', maxBatchSize: 8, preferredBatchSize: [4, 4] })).rejects.toThrow('--preferredBatchSize 4: listed twice');
    await expect(generate({ name: 'x', dynamicBatching: true })).rejects.toThrow(
      '--dynamicBatching: needs --maxBatchSize > 0 (Triton batches only models with max_batch_size > 0)',
    );
    await expect(generate({ name: 'x', maxBatchSize: 8, dynamicBatching: false, preferredBatchSize: [4] })).rejects.toThrow(
      '--preferredBatchSize: sets sizes for the dynamic batcher, which --dynamicBatching=false turns off',
    );
    expect(tree.exists('models/x')).toBe(false);
  });

  it('--from refuses a model that makes no ONNX file', async () => {
    await generate({ name: 'ts', platform: 'pytorch_libtorch', maxBatchSize: 8 });
    await generate({ name: 'py', platform: 'python' });
    await expect(generate({ name: 'x', from: 'ts' })).rejects.toThrow(
      '--from: ts (models/ts/triton.yaml) is a pytorch_libtorch model and makes no ONNX file; --from builds a TensorRT engine from an ONNX model (platform: onnxruntime_onnx)',
    );
    await expect(generate({ name: 'x', from: 'py' })).rejects.toThrow('--from: py (models/py/triton.yaml) is a backend python model and makes no ONNX file');
    expect(tree.exists('models/x')).toBe(false);
  });

  it('a TorchScript model exported by export.torch leaves its I/O to the traced module', async () => {
    await generate({ name: 'ts', platform: 'pytorch_libtorch', maxBatchSize: 8 });
    const text = read('models/ts/triton.yaml');
    expect(text).toContain('# Inputs and outputs are read from the traced module when omitted (names from input_shapes and output_names).\n# input:');
    expect(text).not.toContain('needs its inputs and outputs listed');
    expect(spec('models/ts').config.input).toBeUndefined();

    await generate({ name: 'tsf', platform: 'pytorch_libtorch', source: 'file', maxBatchSize: 8 });
    expect(read('models/tsf/triton.yaml')).toContain('# A TorchScript file carries no tensor names or types: it needs its inputs and outputs listed.\ninput:');
  });
});
