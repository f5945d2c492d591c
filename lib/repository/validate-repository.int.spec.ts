import { afterEach, describe, expect, it } from 'vitest';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { loadWithTriton } from '../../test/triton-oracle';
import { parsePbtxt } from '../../proto/text-format';
import { ADD_ONNX, LINEAR_ONNX, tempRepo } from './rules/__fixtures__/repo';
import { checkRepository, validateModel, validateRepository } from './validate-repository';

let cleanup: Array<() => void> = [];
afterEach(() => {
  cleanup.forEach((f) => f());
  cleanup = [];
});
function repo(files: Parameters<typeof tempRepo>[0]): string {
  const r = tempRepo(files);
  cleanup.push(r.done);
  return r.dir;
}

const PREPROCESS = `
name: "preprocess"
backend: "python"
max_batch_size: 8
input [ { name: "RAW" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: "FEATURES" data_type: TYPE_FP32 dims: [ 4 ] } ]
instance_group [ { kind: KIND_CPU count: 2 } ]
`;
const LINEAR = `
name: "linear"
platform: "onnxruntime_onnx"
max_batch_size: 8
input [ { name: "x" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: "y" data_type: TYPE_FP32 dims: [ 2 ] label_filename: "labels.txt" } ]
dynamic_batching { preferred_batch_size: [ 4, 8 ] }
`;
const ENSEMBLE = `
name: "pipeline"
platform: "ensemble"
max_batch_size: 8
input [ { name: "IN" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: "OUT" data_type: TYPE_FP32 dims: [ 2 ] } ]
ensemble_scheduling {
  step [
    { model_name: "preprocess" model_version: -1 input_map { key: "RAW" value: "IN" } output_map { key: "FEATURES" value: "features" } },
    { model_name: "linear" model_version: -1 input_map { key: "x" value: "features" } output_map { key: "y" value: "OUT" } }
  ]
}
`;
const good = {
  'preprocess/config.pbtxt': PREPROCESS,
  // A model.py Triton's python backend loads (it must define TritonPythonModel): the agreement test serves this.
  'preprocess/1/model.py': 'class TritonPythonModel:\n    def execute(self, requests):\n        return []\n',
  'linear/config.pbtxt': LINEAR,
  'linear/labels.txt': 'a\nb\n',
  'linear/1/model.onnx': { copy: LINEAR_ONNX },
  'pipeline/config.pbtxt': ENSEMBLE,
  'pipeline/1': { dir: true as const },
};

describe('validateRepository', () => {
  it('passes a repository Triton would load: python -> onnx ensemble', async () => {
    const dir = repo(good);
    expect(await checkRepository(dir)).toEqual({ models: ['linear', 'pipeline', 'preprocess'], problems: [] });
  });

  it('keeps line and column of a config.pbtxt syntax error', async () => {
    const dir = repo({ ...good, 'linear/config.pbtxt': 'name: "linear"\nmax_batch_size: eight\n' });
    const problems = await validateRepository(dir);
    expect(problems.map((p) => `${p.model} ${p.path}`)).toEqual(['linear max_batch_size', 'pipeline ensemble_scheduling.step[1].model_name']);
    expect(problems[0]).toMatchObject({ model: 'linear', line: 2 });
    expect(problems[0].col).toBeGreaterThan(0);
  });

  it('reports rules of every model, with the model and field path', async () => {
    const dir = repo({
      ...good,
      'linear/config.pbtxt': LINEAR.replace('name: "linear"', 'name: "linear_v2"').replace('[ 4, 8 ]', '[ 4, 16 ]'),
      'preprocess/config.pbtxt': PREPROCESS.replace('KIND_CPU count: 2', 'KIND_CPU gpus: [ 0 ]'),
    });
    const problems = await validateRepository(dir);
    expect(problems.map((p) => `${p.model} ${p.path}`)).toEqual([
      'linear name',
      'linear dynamic_batching.preferred_batch_size[1]',
      // Triton refuses an ensemble over a model it does not load ("contains models that are not available").
      'pipeline ensemble_scheduling.step[0].model_name',
      'pipeline ensemble_scheduling.step[1].model_name',
      'preprocess instance_group[0].gpus',
    ]);
  });

  it('checks the ONNX graph unless configOnly', async () => {
    const dir = repo({ ...good, 'linear/config.pbtxt': LINEAR.replace('dims: [ 2 ]', 'dims: [ 3 ]') });
    // The ensemble sees the changed shape too; only the ONNX comparison needs the model file.
    expect((await validateRepository(dir)).map((p) => `${p.model} ${p.path}`)).toEqual([
      'linear output[0].dims',
      'pipeline ensemble_scheduling.step[1].output_map[y]',
      'pipeline ensemble_scheduling.step[1].model_name',
    ]);
    expect((await validateRepository(dir, { configOnly: true })).map((p) => `${p.model} ${p.path}`)).toEqual([
      'pipeline ensemble_scheduling.step[1].output_map[y]',
    ]);
  });

  it('checks ensembles against their members in the repository', async () => {
    const dir = repo({ ...good, 'pipeline/config.pbtxt': ENSEMBLE.replace('model_name: "linear"', 'model_name: "linear2"') });
    expect(await validateRepository(dir)).toEqual([
      { model: 'pipeline', path: 'ensemble_scheduling.step[1].model_name', message: "model 'linear2' is not in the repository" },
    ]);
    const typed = repo({ ...good, 'preprocess/config.pbtxt': PREPROCESS.replace('name: "FEATURES" data_type: TYPE_FP32', 'name: "FEATURES" data_type: TYPE_FP64') });
    expect((await validateRepository(typed))[0].message).toContain('inconsistent data type: TYPE_FP64 is inferred from model preprocess');
  });

  it('reads the graph of an ONNX member that leaves its I/O to Triton (issue 13 item 16)', async () => {
    const bare = 'name: "linear"\nplatform: "onnxruntime_onnx"\nmax_batch_size: 8\n';
    const dir = repo({ ...good, 'linear/config.pbtxt': bare });
    expect(await validateRepository(dir)).toEqual([]);
    // The graph's y is FP32 [batch, 2]: an ensemble that wants it as [3] is refused, naming the step.
    const wrong = repo({ ...good, 'linear/config.pbtxt': bare, 'pipeline/config.pbtxt': ENSEMBLE.replace('name: "OUT" data_type: TYPE_FP32 dims: [ 2 ]', 'name: "OUT" data_type: TYPE_FP32 dims: [ 3 ]') });
    expect((await validateRepository(wrong)).map((p) => `${p.model} ${p.path}`)).toEqual(['pipeline ensemble_scheduling.step[1].output_map[y]']);
  });

  it('finds cycles between ensembles and pinned versions that are not there', async () => {
    const loop = (name: string, other: string) => ENSEMBLE.replace('name: "pipeline"', `name: "${name}"`).replace('model_name: "preprocess" model_version: -1', `model_name: "${other}" model_version: -1`);
    const dir = repo({ ...good, 'a/config.pbtxt': loop('a', 'b'), 'a/1': { dir: true }, 'b/config.pbtxt': loop('b', 'a'), 'b/1': { dir: true } });
    const messages = (await validateRepository(dir)).filter((p) => p.message.startsWith('circular')).map((p) => `${p.model}: ${p.message}`);
    expect(messages).toEqual(['a: circular dependency between ensembles: a -> b -> a', 'b: circular dependency between ensembles: b -> a -> b']);

    const pinned = repo({ ...good, 'pipeline/config.pbtxt': ENSEMBLE.replace('model_name: "linear" model_version: -1', 'model_name: "linear" model_version: 2') });
    expect((await validateRepository(pinned)).map((p) => p.message)).toEqual([
      "depends on 'linear' whose required version 2 is not loaded (versions: 1)",
    ]);
  });

  it('completes a model without config.pbtxt from its files, as Triton auto-complete does', async () => {
    const dir = repo({ 'add/1/model.onnx': { copy: ADD_ONNX }, 'empty/1/README': '' });
    expect(await validateRepository(dir)).toEqual([
      { model: 'empty', path: 'platform', message: "must specify 'platform' or 'backend'" },
    ]);
  });

  it('reads no file but config.pbtxt with configOnly: no version directories, label files, model files or platforms from them', async () => {
    const dir = repo({
      'linear/config.pbtxt': LINEAR.replace('platform: "onnxruntime_onnx"\n', ''),
      'add/1/model.onnx': { copy: ADD_ONNX },
      'pipeline/config.pbtxt': ENSEMBLE.replace('model_name: "linear" model_version: -1', 'model_name: "linear" model_version: 3'),
      'preprocess/config.pbtxt': PREPROCESS,
    });
    // Without configOnly: no version directories, no labels.txt, no platform for linear (no model file).
    expect((await validateRepository(dir)).map((p) => `${p.model} ${p.path}`)).toEqual([
      'linear platform',
      'linear output[0].label_filename',
      'linear ',
      'pipeline ',
      'pipeline ensemble_scheduling.step[1].model_version',
      'pipeline ensemble_scheduling.step[0].model_name',
      'pipeline ensemble_scheduling.step[1].model_name',
      'preprocess ',
    ]);
    expect(await validateRepository(dir, { configOnly: true })).toEqual([]);
    const outside = repo({ 'm/config.pbtxt': LINEAR.replace('name: "linear"', 'name: "m"').replace('labels.txt', '../labels.txt') });
    expect((await validateRepository(outside, { configOnly: true })).map((p) => p.message)).toEqual(["'../labels.txt' must be a file name inside the model directory"]);
  });

  it('follows symbolic links to model and version directories, as Triton does (stat)', async () => {
    // The real tritonserver loads a python model whose model directory and version directory are
    // both links (core model_repository_manager.cc reads the repository with stat, not lstat).
    const elsewhere = repo({ 'preprocess/config.pbtxt': PREPROCESS, 'v1/model.py': good['preprocess/1/model.py'] });
    symlinkSync(join(elsewhere, 'v1'), join(elsewhere, 'preprocess', '1'));
    const dir = repo({ 'linear/config.pbtxt': LINEAR, 'linear/labels.txt': 'a\nb\n', 'linear/1/model.onnx': { copy: LINEAR_ONNX } });
    symlinkSync(join(elsewhere, 'preprocess'), join(dir, 'preprocess'));
    expect(await checkRepository(dir)).toEqual({ models: ['linear', 'preprocess'], problems: [] });
    const { results, stop } = await loadWithTriton(dir, ['preprocess']);
    await stop();
    expect(results).toEqual([{ model: 'preprocess', state: 'ready' }]);
  }, 120_000);

  it('refuses a path that is not a repository', async () => {
    const dir = repo(good);
    await expect(validateRepository(join(dir, 'nope'))).rejects.toThrow('not a directory');
    await expect(validateRepository(join(dir, 'linear'))).rejects.toThrow('is a model directory');
  });
});

describe('validateModel (what the build target runs on its staged entry)', () => {
  it('checks a staged ensemble against the members already in the repository', async () => {
    const dir = repo({ ...good, 'staging/tmp-123/config.pbtxt': ENSEMBLE, 'staging/tmp-123/1': { dir: true } });
    const config = parsePbtxt(ENSEMBLE, 'pipeline/config.pbtxt');
    const staged = join(dir, 'staging', 'tmp-123');
    expect(await validateModel(staged, config, { dirName: 'pipeline', repository: dir })).toEqual([]);
    const wrong = { ...config, max_batch_size: 16 };
    expect((await validateModel(staged, wrong, { dirName: 'pipeline', repository: dir })).map((p) => p.message)).toEqual([
      'ensemble allows maximum batch size 16, but it contains model preprocess which only allows maximum batch size 8',
      'ensemble allows maximum batch size 16, but it contains model linear which only allows maximum batch size 8',
    ]);
    expect((await validateModel(staged, config, { dirName: 'pipeline' }))[0].message).toBe("model 'preprocess' is not in the repository");
  });
});
