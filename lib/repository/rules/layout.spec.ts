import { afterEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelConfig } from '../../model-config';
import { onnxModel, trtModel } from './__fixtures__/configs';
import { ADD_ONNX, INITIALIZER_INPUT_ONNX, LINEAR_ONNX, planBytes, tempRepo } from './__fixtures__/repo';
import { checkModelFiles, completeBackend, loadedVersions } from './index';

let cleanup: Array<() => void> = [];
afterEach(() => {
  cleanup.forEach((f) => f());
  cleanup = [];
});
function model(files: Parameters<typeof tempRepo>[0]): string {
  const repo = tempRepo(files);
  cleanup.push(repo.done);
  return join(repo.dir, 'm');
}
const linear = (over: Partial<ModelConfig> = {}) =>
  onnxModel({ name: 'm', input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [4] }], output: [{ name: 'y', data_type: 'TYPE_FP32', dims: [2] }], ...over });
const messages = (ps: Array<{ message: string }>) => ps.map((p) => p.message);

describe('version directories', () => {
  it('accepts numeric versions and the folders Triton skips', () => {
    const dir = model({ 'm/1/model.onnx': { copy: LINEAR_ONNX }, 'm/warmup/x': '', 'm/configs/a.pbtxt': '' });
    return expect(checkModelFiles(dir, linear())).resolves.toEqual([]);
  });

  it('reports leading zeros, non-numbers and a model without versions', async () => {
    const dir = model({ 'm/1/model.onnx': { copy: LINEAR_ONNX }, 'm/01/model.onnx': '', 'm/2abc/x': '', 'm/latest/x': '' });
    const problems = await checkModelFiles(dir, linear());
    expect(problems.map((p) => p.path).sort()).toEqual(['01/', '2abc/', 'latest/']);
    expect(messages(problems).join('\n')).toContain("version directory '01' starts with 0, so Triton ignores it");
    expect(messages(problems).join('\n')).toContain('Triton would read it as version 2');

    const none = model({ 'm/config.pbtxt': '' });
    expect(messages(await checkModelFiles(none, linear()))).toEqual([expect.stringContaining('no version directory')]);
  });

  it('applies the version policy', async () => {
    expect(loadedVersions({}, [1, 2, 3])).toEqual([3]);
    expect(loadedVersions({ version_policy: { latest: { num_versions: 2 } } }, [1, 2, 3])).toEqual([2, 3]);
    expect(loadedVersions({ version_policy: { specific: { versions: [1, 5] } } }, [1, 2, 3])).toEqual([1]);
    expect(loadedVersions({ version_policy: { all: {} } }, [1, 2])).toEqual([1, 2]);
    // Version 1 has no file, but only the latest (2) is loaded.
    const dir = model({ 'm/1/README': '', 'm/2/model.onnx': { copy: LINEAR_ONNX } });
    expect(await checkModelFiles(dir, linear())).toEqual([]);
    expect((await checkModelFiles(dir, linear({ version_policy: { all: {} } }))).map((p) => p.path)).toEqual(['1/model.onnx']);
    expect((await checkModelFiles(dir, linear({ version_policy: { specific: { versions: [3] } } }))).map((p) => p.path)).toEqual(['version_policy']);
  });
});

describe('model files', () => {
  it('wants the default model file in each loaded version', async () => {
    const dir = model({ 'm/1/other.onnx': { copy: LINEAR_ONNX } });
    expect(await checkModelFiles(dir, linear())).toEqual([{ path: '1/model.onnx', message: 'model file 1/model.onnx does not exist' }]);
    expect(await checkModelFiles(dir, linear({ default_model_filename: 'other.onnx' }))).toEqual([]);
  });

  it('accepts model.onnx as a directory holding model.onnx', async () => {
    const good = model({ 'm/1/model.onnx/model.onnx': { copy: LINEAR_ONNX }, 'm/1/model.onnx/weights.bin': '' });
    expect(await checkModelFiles(good, linear())).toEqual([]);
    const bad = model({ 'm/1/model.onnx/weights.bin': '' });
    expect(messages(await checkModelFiles(bad, linear()))).toEqual(['1/model.onnx is a directory without model.onnx in it']);
  });

  it('wants a file where the backend loads a file', async () => {
    const dir = model({ 'm/1/model.plan/x': '' });
    expect(messages(await checkModelFiles(dir, trtModel({ name: 'm' })))).toEqual(['1/model.plan must be a file, found a directory']);
  });

  it('checks cc_model_filenames', async () => {
    const dir = model({ 'm/1/model_86.plan': planBytes() });
    const config = trtModel({ name: 'm', cc_model_filenames: { '8.6': 'model_86.plan', '9.0': 'model_90.plan', sm75: 'model_86.plan' } });
    expect((await checkModelFiles(dir, config)).map((p) => p.path)).toEqual(['cc_model_filenames[sm75]', 'cc_model_filenames[9.0]']);
    expect(await checkModelFiles(dir, trtModel({ name: 'm', cc_model_filenames: { '8.6': 'model_86.plan' } }))).toEqual([]);
  });

  it('wants label files beside config.pbtxt, inside the model directory', async () => {
    const dir = model({ 'm/1/model.onnx': { copy: LINEAR_ONNX }, 'm/labels.txt': 'a\nb\n' });
    const withLabel = (f: string) => linear({ output: [{ name: 'y', data_type: 'TYPE_FP32', dims: [2], label_filename: f }] });
    expect(await checkModelFiles(dir, withLabel('labels.txt'))).toEqual([]);
    expect(messages(await checkModelFiles(dir, withLabel('classes.txt')))).toEqual(["label file 'classes.txt' does not exist beside config.pbtxt"]);
    expect(messages(await checkModelFiles(dir, withLabel('../../etc/passwd')))).toEqual(["'../../etc/passwd' must be a file name inside the model directory"]);
  });
});

describe('ONNX signature against the config', () => {
  it('counts sequence control and state inputs with the config inputs, as the ONNX backend does (issue 13 item 15)', async () => {
    // Triton's simple_sequence: the graph has INPUT and START/READY; the config lists INPUT only and
    // names START/READY as control_input (onnxruntime_backend ValidateInputs counts them too).
    const dir = model({ 'm/1/model.onnx': { copy: ADD_ONNX } });
    const add = (sb: Record<string, unknown>) =>
      onnxModel({ name: 'm', max_batch_size: 0, input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [3, 4, 5] }], output: [{ name: 'sum', data_type: 'TYPE_FP32', dims: [3, 4, 5] }], sequence_batching: sb });
    const start = { name: 'y', control: [{ kind: 'CONTROL_SEQUENCE_START', fp32_false_true: [0, 1] }] };
    expect(await checkModelFiles(dir, add({ control_input: [start] }))).toEqual([]);
    expect(await checkModelFiles(dir, add({ state: [{ input_name: 'y', output_name: 'sum', data_type: 'TYPE_FP32', dims: [3, 4, 5] }] }))).toEqual([]);
    expect(await checkModelFiles(dir, add({ control_input: [{ ...start, name: 'START' }] }))).toEqual([
      { path: 'sequence_batching', message: "configuration specified sequence control or state 'START', but the model does not provide that input (1/model.onnx)" },
    ]);
  });

  it('names the unexpected input and the allowed ones', async () => {
    const dir = model({ 'm/1/model.onnx': { copy: LINEAR_ONNX } });
    const problems = await checkModelFiles(dir, linear({ input: [{ name: 'input', data_type: 'TYPE_FP32', dims: [4] }] }));
    expect(problems).toEqual([
      { path: 'input[0].name', message: "unexpected inference input 'input', allowed inputs are: x (1/model.onnx)" },
    ]);
  });

  it('compares data types and dims the way the onnxruntime backend does', async () => {
    const dir = model({ 'm/1/model.onnx': { copy: LINEAR_ONNX } });
    const problems = await checkModelFiles(dir, linear({
      input: [{ name: 'x', data_type: 'TYPE_FP16', dims: [4] }],
      output: [{ name: 'y', data_type: 'TYPE_FP32', dims: [3] }],
    }));
    expect(problems.map((p) => p.path)).toEqual(['input[0].data_type', 'output[0].dims']);
    expect(problems[0].message).toBe("unexpected datatype TYPE_FP16 for inference input 'x', expecting TYPE_FP32 (1/model.onnx)");
    expect(problems[1].message).toContain('making complete shape [-1,3]');
  });

  it('wants a dynamic first dim in a batching model and compares all dims otherwise', async () => {
    const dir = model({ 'm/1/model.onnx': { copy: ADD_ONNX } });
    const add = (maxBatch: number, dims: number[]) => onnxModel({
      name: 'm', max_batch_size: maxBatch,
      input: [{ name: 'x', data_type: 'TYPE_FP32', dims }, { name: 'y', data_type: 'TYPE_FP32', dims }],
      output: [{ name: 'sum', data_type: 'TYPE_FP32', dims }],
    });
    expect(await checkModelFiles(dir, add(0, [3, 4, 5]))).toEqual([]);
    const batching = await checkModelFiles(dir, add(8, [4, 5]));
    expect(batching).toHaveLength(3);
    expect(batching[0].message).toContain('the first dimension must be -1');
    expect((await checkModelFiles(dir, add(0, [3, 4, 6]))).map((p) => p.path)).toEqual(['input[0].dims', 'input[1].dims', 'output[0].dims']);
  });

  it('wants every model input in the config', async () => {
    const dir = model({ 'm/1/model.onnx': { copy: ADD_ONNX } });
    const config = onnxModel({
      name: 'm', max_batch_size: 0,
      input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [3, 4, 5] }],
      output: [{ name: 'sum', data_type: 'TYPE_FP32', dims: [3, 4, 5] }],
    });
    expect(messages(await checkModelFiles(dir, config))).toEqual(['configuration expects 1 inputs, model provides 2 (missing from the config: y) (1/model.onnx)']);
  });

  it('takes an overridable initializer as an input the config may name, and need not', async () => {
    // Triton's QA L0_initializer_as_input. onnxruntime_backend src/onnxruntime.cc: the constructor
    // counts the config's inputs less those marked optional; ModelInstanceState::ValidateInputs
    // wants that count to equal the model's inputs without initializers, then looks each config
    // input up among the inputs and the overridable initializers together; an optional input is
    // refused when max_batch_size is not 0.
    const dir = model({ 'm/1/model.onnx': { copy: INITIALIZER_INPUT_ONNX } });
    const x = { name: 'x', data_type: 'TYPE_FP32', dims: [4] };
    const bias = { name: 'bias', data_type: 'TYPE_FP32', dims: [4] };
    const add = (input: Array<Record<string, unknown>>, maxBatch = 0) =>
      onnxModel({ name: 'm', max_batch_size: maxBatch, input: input as never, output: [{ name: 'y', data_type: 'TYPE_FP32', dims: [4] }] });
    expect(await checkModelFiles(dir, add([x]))).toEqual([]);
    expect(await checkModelFiles(dir, add([x, { ...bias, optional: true }]))).toEqual([]);
    expect(await checkModelFiles(dir, add([x, { ...bias, data_type: 'TYPE_FP16', optional: true }]))).toEqual([
      { path: 'input[1].data_type', message: "unexpected datatype TYPE_FP16 for inference input 'bias', expecting TYPE_FP32 (1/model.onnx)" },
    ]);
    expect(await checkModelFiles(dir, add([x, bias]))).toEqual([
      { path: 'input', message: 'configuration expects 2 inputs, model provides 1 (bias: an initializer of the model, which Triton counts only as an input marked optional: true) (1/model.onnx)' },
    ]);
    expect(messages(await checkModelFiles(dir, add([{ ...x, optional: true }])))).toEqual(['configuration expects 0 inputs, model provides 1 (1/model.onnx)']);
    expect(messages(await checkModelFiles(dir, add([{ ...x, dims: [-1, 4] }, { ...bias, optional: true }], 8)))).toContain(
      "optional input 'bias' is not supported for models that support batching (1/model.onnx)",
    );
  });

  it('skips reading model files with configOnly', async () => {
    const dir = model({ 'm/1/model.onnx': { copy: LINEAR_ONNX } });
    const config = linear({ input: [{ name: 'x', data_type: 'TYPE_FP16', dims: [4] }] });
    expect(await checkModelFiles(dir, config, { configOnly: true })).toEqual([]);
    expect(existsSync(join(dir, '1', 'model.onnx'))).toBe(true);
  });
});

describe('TensorRT plan header', () => {
  it('accepts a plan that starts with ftrt and rejects anything else', async () => {
    const good = model({ 'm/1/model.plan': planBytes() });
    expect(await checkModelFiles(good, trtModel({ name: 'm' }))).toEqual([]);
    const bad = model({ 'm/1/model.plan': { copy: LINEAR_ONNX } });
    expect(messages(await checkModelFiles(bad, trtModel({ name: 'm' })))).toEqual([expect.stringContaining("does not start with the plan magic 'ftrt'")]);
    const short = model({ 'm/1/model.plan': 'ftrt' });
    expect(messages(await checkModelFiles(short, trtModel({ name: 'm' })))[0]).toContain('shorter than a plan header');
  });
});

describe('auto-complete of the backend', () => {
  it('infers the backend from the platform, the file name, or the first version', async () => {
    const dir = model({ 'm/1/model.plan': planBytes() });
    expect(await completeBackend({ platform: 'onnxruntime_onnx' }, dir)).toMatchObject({ backend: 'onnxruntime' });
    expect(await completeBackend({ default_model_filename: 'model.pt' }, dir)).toMatchObject({ backend: 'pytorch', platform: 'pytorch_libtorch' });
    expect(await completeBackend({}, dir)).toMatchObject({ backend: 'tensorrt', platform: 'tensorrt_plan' });
    expect(await completeBackend({ backend: 'python' }, dir)).toEqual({ backend: 'python' });
  });
});

describe('auto-completed backend (core src/model_config_utils.cc, AutoCompleteBackendFields)', () => {
  function modelNamed(name: string, files: Parameters<typeof tempRepo>[0]): string {
    const repo = tempRepo(Object.fromEntries(Object.entries(files).map(([k, v]) => [`${name}/${k}`, v])));
    cleanup.push(repo.done);
    return join(repo.dir, name);
  }

  it('matches default_model_filename only when it is exactly a runtime file, as Triton does', async () => {
    const dir = model({ 'm/1/net.pt': '' });
    // Triton compares default_model_filename with kPyTorchLibTorchFilename ("model.pt") alone.
    expect(await completeBackend({ default_model_filename: 'net.pt' }, dir)).toEqual({ default_model_filename: 'net.pt' });
    // A named model.pt2 sets the pytorch backend, whose empty platform then becomes pytorch_libtorch;
    // only a model.pt2 found in the version directory gets torch_aoti.
    expect(await completeBackend({ default_model_filename: 'model.pt2' }, dir)).toEqual({ default_model_filename: 'model.pt2', backend: 'pytorch', platform: 'pytorch_libtorch' });
    expect(await completeBackend({}, model({ 'm/1/model.pt2': '' }))).toEqual({ backend: 'pytorch', platform: 'torch_aoti' });
    expect(await completeBackend({ default_model_filename: 'model.plan' }, dir, { configOnly: true })).toEqual({ default_model_filename: 'model.plan', backend: 'tensorrt', platform: 'tensorrt_plan' });
  });

  it('takes a custom backend from a <name>.<backend> directory when nothing else names one', async () => {
    // The custom-backend branch: everything after the model name's first dot, loading model.<backend>.
    const identity = modelNamed('add.identity', { '1/.keep': '' });
    expect(await completeBackend({ name: 'add.identity' }, identity)).toEqual({ name: 'add.identity', backend: 'identity', default_model_filename: 'model.identity' });
    expect(await completeBackend({}, modelNamed('a.b.c', { '1/.keep': '' }))).toEqual({ backend: 'b.c', default_model_filename: 'model.b.c' });
    // Only with no platform and no default_model_filename, and after the model files.
    expect(await completeBackend({ default_model_filename: 'x.bin' }, identity)).toEqual({ default_model_filename: 'x.bin' });
    expect(await completeBackend({ platform: 'unknown' }, identity)).toEqual({ platform: 'unknown' });
    expect(await completeBackend({}, modelNamed('net.identity', { '1/model.onnx': { copy: LINEAR_ONNX } }))).toEqual({ backend: 'onnxruntime', platform: 'onnxruntime_onnx' });
    expect(await completeBackend({}, model({ 'm/1/.keep': '' }))).toEqual({});
    // --config-only reads no directory, so it cannot know the model files come first.
    expect(await completeBackend({}, identity, { configOnly: true })).toEqual({});
  });

  it('looks in the first subdirectory in byte order, as a std::set of names lists them', async () => {
    // GetDirectorySubdirs fills a std::set; AutoCompleteBackendFields inspects its begin(): "10" before "9".
    const dir = model({ 'm/9/model.onnx': { copy: LINEAR_ONNX }, 'm/10/model.plan': planBytes() });
    expect(await completeBackend({}, dir)).toEqual({ backend: 'tensorrt', platform: 'tensorrt_plan' });
    // A model.plan directory is no plan: Triton checks that it is a file.
    const planDir = model({ 'm/1/model.plan/x': '', 'm/1/model.onnx': { copy: LINEAR_ONNX } });
    expect(await completeBackend({}, planDir)).toEqual({ backend: 'onnxruntime', platform: 'onnxruntime_onnx' });
  });
});

describe('custom backends', () => {
  it('leave the version directory to the backend', async () => {
    const dir = model({ 'm/1/.keep': '' });
    expect(await checkModelFiles(dir, { name: 'm', backend: 'identity', max_batch_size: 0 })).toEqual([]);
    expect((await checkModelFiles(dir, { name: 'm', backend: 'python' })).map((p) => p.path)).toEqual(['1/model.py']);
    expect(await checkModelFiles(dir, { name: 'm', backend: 'python', runtime: 'model.py' })).toEqual([]);
  });
});
