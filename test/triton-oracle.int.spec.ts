import { cpSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LINEAR_ONNX, tempRepo } from '../lib/repository/rules/__fixtures__/repo';
import { Workspace } from './platforms/workspace';
import { expectTritonServes, loadWithTriton, writtenFields } from './triton-oracle';

// The oracle itself, against the real tritonserver: it passes what Triton serves and fails on a
// config rule, a wrong answer or a config Triton changed.

const ADD_ONE_PY = `import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        return [pb_utils.InferenceResponse([pb_utils.Tensor("Y", (pb_utils.get_input_tensor_by_name(r, "X").as_numpy() + 1).astype(np.float32))]) for r in requests]
`;
const ADD_ONE = `name: "add_one"
backend: "python"
max_batch_size: 4
input [ { name: "X" data_type: TYPE_FP32 dims: [ 2 ] } ]
output [ { name: "Y" data_type: TYPE_FP32 dims: [ 2 ] } ]
instance_group [ { kind: KIND_CPU count: 2 } ]
dynamic_batching { preferred_batch_size: [ 2, 4 ] }
parameters { key: "mode" value: { string_value: "plus" } }
`;
const LINEAR = `name: "linear"
platform: "onnxruntime_onnx"
max_batch_size: 8
input [ { name: "x" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: "y" data_type: TYPE_FP32 dims: [ 2 ] } ]
`;
const ensemble = (name: string, member: string, io: [string, string], dims: [number, number]) => `name: "${name}"
platform: "ensemble"
max_batch_size: 4
input [ { name: "IN" data_type: TYPE_FP32 dims: [ ${dims[0]} ] } ]
output [ { name: "OUT" data_type: TYPE_FP32 dims: [ ${dims[1]} ] } ]
ensemble_scheduling { step [ { model_name: "${member}" model_version: -1 input_map { key: "${io[0]}" value: "IN" } output_map { key: "${io[1]}" value: "OUT" } } ] }
`;
const files = {
  'add_one/config.pbtxt': ADD_ONE,
  'add_one/1/model.py': ADD_ONE_PY,
  'linear/config.pbtxt': LINEAR,
  'linear/1/model.onnx': { copy: LINEAR_ONNX },
  'plus/config.pbtxt': ensemble('plus', 'add_one', ['X', 'Y'], [2, 2]),
  'plus/1': { dir: true as const },
  'project/config.pbtxt': ensemble('project', 'linear', ['x', 'y'], [4, 2]),
  'project/1': { dir: true as const },
};
const addOne = (name: string, inName: string, outName: string) => ({
  [name]: [{ inputs: [{ name: inName, shape: [2, 2], datatype: 'FP32', data: [1, 2, -1, 0.5] }], outputs: { [outName]: { shape: [2, 2], data: [2, 3, 0, 1.5] } } }],
});
const infer = { ...addOne('add_one', 'X', 'Y'), ...addOne('plus', 'IN', 'OUT') };

let cleanup: Array<() => void> = [];
afterEach(() => {
  cleanup.forEach((f) => f());
  cleanup = [];
});
function repo(over: Parameters<typeof tempRepo>[0] = {}): string {
  const r = tempRepo({ ...files, ...over });
  cleanup.push(r.done);
  return r.dir;
}

describe('the Triton oracle (real tritonserver)', () => {
  it('serves python models and ensembles over them, and finds only missing backends for the rest', async () => {
    expect(await expectTritonServes(repo(), { infer })).toEqual([
      { model: 'add_one', state: 'ready' },
      { model: 'linear', state: 'no-backend', missing: 'onnxruntime', error: expect.stringContaining("unable to find backend library for backend 'onnxruntime'") },
      { model: 'plus', state: 'ready' },
      { model: 'project', state: 'member-without-backend', missing: 'linear', error: expect.stringContaining("ensemble 'project' depends on 'linear'") },
    ]);
  }, 120_000);

  it('fails on a config rule of a model whose backend is missing (core ValidateModelIOConfig)', async () => {
    const dir = repo({ 'linear/config.pbtxt': LINEAR.replace('dims: [ 4 ] }', 'dims: [ 4 ] reshape: { shape: [ 5 ] } }') });
    const { results, stop } = await loadWithTriton(dir, ['linear']);
    await stop();
    expect(results).toEqual([{ model: 'linear', state: 'refused', error: "model input 'x' has different size for dims and reshape for linear" }]);
    await expect(expectTritonServes(dir, { infer })).rejects.toThrow(/linear: refused \(model input 'x' has different size/);
  }, 120_000);

  it('fails on a wrong expected output, and on a model that loads with no expected outputs', async () => {
    const wrong = { ...infer, plus: [{ ...infer.plus[0], outputs: { OUT: { shape: [2, 2], data: [2, 3, 0, 1] } } }] };
    await expect(expectTritonServes(repo(), { infer: wrong })).rejects.toThrow(/plus: infer/);
    await expect(expectTritonServes(repo(), { infer: { add_one: infer.add_one } })).rejects.toThrow(/plus loads: give its expected outputs/);
  }, 120_000);

  it('compares the fields we wrote with the config Triton serves', () => {
    const ours = { name: 'm', max_batch_size: 4, input: [{ name: 'x', dims: [2] }], parameters: { k: { string_value: 'v' } } };
    const theirs = { name: 'm', backend: 'python', max_batch_size: 4, input: [{ name: 'x', dims: [2], optional: false }], parameters: { k: { string_value: 'v' } } };
    expect(writtenFields(ours, theirs)).toEqual({ name: 'm', max_batch_size: '4', input: [{ name: 'x', dims: ['2'] }], parameters: { k: { string_value: 'v' } } });
    // An input Triton added, or a value it changed, shows.
    expect(writtenFields(ours, { ...theirs, input: [...theirs.input, { name: 'z' }] })).toMatchObject({ input: [...theirs.input, { name: 'z' }] });
    expect(writtenFields(ours, { ...theirs, max_batch_size: 8 })).toMatchObject({ max_batch_size: '8' });
  });
});

describe('examples/ built through the lib API, served by the real tritonserver', () => {
  it('mlp_classifier and text_scorer meet every config rule of Triton', async () => {
    const ws = new Workspace();
    cleanup.push(() => ws.dispose());
    for (const name of ['mlp_classifier', 'text_scorer']) {
      cpSync(resolve(__dirname, '..', 'examples', 'models', name), join(ws.root, 'models', name), { recursive: true });
      await ws.exportAndBuild(name);
    }
    expect((await expectTritonServes(ws.repository)).map((r) => `${r.model}: ${r.state} ${r.missing}`)).toEqual([
      'mlp_classifier: no-backend onnxruntime',
      'text_scorer: no-backend onnxruntime',
    ]);
  }, 300_000);
});
