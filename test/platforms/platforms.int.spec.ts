import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parsePbtxt } from '../../proto/text-format';
import { failure, TORCH_PYTHON, Workspace } from './workspace';

let fixtures: string;
let ws: Workspace;

beforeAll(() => {
  fixtures = mkdtempSync(join(tmpdir(), 'nx-triton-platforms-fixtures-'));
  // A real classifier, x [batch, 4] FLOAT -> probs [batch, 3], saved inline and with its four
  // weight tensors in four external-data files.
  const script = [
    'import os, sys, torch, onnx',
    'torch.manual_seed(0)',
    'net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3), torch.nn.Softmax(-1))',
    'out = sys.argv[1]',
    "torch.onnx.export(net, torch.zeros(2, 4), os.path.join(out, 'classifier.onnx'), input_names=['x'], output_names=['probs'],",
    "    dynamic_axes={'x': {0: 'batch'}, 'probs': {0: 'batch'}}, opset_version=13)",
    "m = onnx.load(os.path.join(out, 'classifier.onnx'))",
    "os.mkdir(os.path.join(out, 'external'))",
    "onnx.save_model(m, os.path.join(out, 'external', 'model.onnx'), save_as_external_data=True, all_tensors_to_one_file=False, size_threshold=0)",
  ].join('\n');
  execFileSync(TORCH_PYTHON, ['-c', script, fixtures], { stdio: 'pipe' });
});
afterAll(() => rmSync(fixtures, { recursive: true, force: true }));

beforeEach(() => {
  ws = new Workspace();
});
afterEach(() => ws.dispose());

function config(entryDir: string) {
  return parsePbtxt(readFileSync(join(entryDir, 'config.pbtxt'), 'utf8'), 'config.pbtxt');
}

async function classify(onnxFile: string, rows: number[][]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(onnxFile);
  try {
    const x = new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, 4]);
    return (await session.run({ x })).probs.data as Float32Array;
  } finally {
    await session.release();
  }
}

const PREPROCESS_PY = `import json

import numpy as np
import triton_python_backend_utils as pb_utils

from scaling import Scaler


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        self.out_dtype = pb_utils.triton_string_to_numpy(pb_utils.get_output_config_by_name(config, "x")["data_type"])
        self.scaler = Scaler.from_file(args["model_repository"] + "/" + args["model_version"] + "/stats.json")

    def execute(self, requests):
        responses = []
        for request in requests:
            raw = pb_utils.get_input_tensor_by_name(request, "RAW").as_numpy()
            x = pb_utils.Tensor("x", self.scaler(raw).astype(self.out_dtype))
            responses.append(pb_utils.InferenceResponse(output_tensors=[x]))
        return responses
`;

const SCALING_PY = `import json


class Scaler:
    def __init__(self, mean, std):
        self.mean, self.std = mean, std

    @classmethod
    def from_file(cls, path):
        with open(path) as f:
            stats = json.load(f)
        return cls(stats["mean"], stats["std"])

    def __call__(self, values):
        return (values - self.mean) / self.std
`;

const POSTPROCESS_PY = `import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        responses = []
        for request in requests:
            probs = pb_utils.get_input_tensor_by_name(request, "probs").as_numpy()
            label = pb_utils.Tensor("LABEL", probs.argmax(-1).astype(np.int64).reshape(-1, 1))
            responses.append(pb_utils.InferenceResponse(output_tensors=[label]))
        return responses
`;

/** The python backend puts the version directory on sys.path: the helper must import from there. */
function importsFromVersionDir(versionDir: string): string {
  const script = [
    'import sys',
    'sys.path.insert(0, sys.argv[1])',
    'from scaling import Scaler',
    "s = Scaler.from_file(sys.argv[1] + '/stats.json')",
    'print(s(10.0))',
  ].join('\n');
  return execFileSync(TORCH_PYTHON, ['-c', script, versionDir], { encoding: 'utf8' }).trim();
}

const PREPROCESS_YAML = `backend: python
max_batch_size: 8
input: [{ name: RAW, data_type: fp32, dims: [4] }]
output: [{ name: x, data_type: fp32, dims: [4] }]
instance_group: [{ kind: cpu, count: 1 }]
export:
  file: src
`;

// What the python models above answer under the real tritonserver: (RAW - mean) / std, and argmax.
const scaled = (raw: number[], x: number[]) => ({ inputs: [{ name: 'RAW', shape: [1, 4], datatype: 'FP32', data: raw }], outputs: { x: { shape: [1, 4], data: x } } });
const argmax = { inputs: [{ name: 'probs', shape: [2, 3], datatype: 'FP32', data: [0.1, 0.7, 0.2, 0.5, 0.3, 0.2] }], outputs: { LABEL: { shape: [2, 1], data: [1, 0] } } };

describe('python backend', () => {
  it('a directory holding model.py becomes the version directory, helper modules and data included', async () => {
    ws.project('preprocess', PREPROCESS_YAML, {
      'src/model.py': PREPROCESS_PY,
      'src/scaling.py': SCALING_PY,
      'src/stats.json': '{"mean": 2.0, "std": 4.0}',
      'README.md': 'not part of the model',
    });
    const built = await ws.exportAndBuild('preprocess');
    expect(built.files).toEqual(['config.pbtxt', '1/model.py', '1/scaling.py', '1/stats.json']);
    expect(readFileSync(join(built.entryDir, '1', 'model.py'), 'utf8')).toBe(PREPROCESS_PY);
    expect(importsFromVersionDir(join(built.entryDir, '1'))).toBe('2.0');
    expect(config(built.entryDir)).toMatchObject({ name: 'preprocess', backend: 'python', input: [{ name: 'RAW' }], output: [{ name: 'x' }] });
    expect(await ws.validate()).toEqual([]);
    expect(await ws.triton({ preprocess: [scaled([2, 6, 10, -2], [0, 1, 2, -1])] })).toEqual(['preprocess: ready']);
  });

  it('a single model.py file, under default_model_filename when set', async () => {
    ws.project('post', 'backend: python\nmax_batch_size: 8\ninput: [{ name: probs, data_type: fp32, dims: [3] }]\noutput: [{ name: LABEL, data_type: int64, dims: [1] }]\nexport:\n  file: postprocess.py\n', {
      'postprocess.py': POSTPROCESS_PY,
    });
    expect((await ws.exportAndBuild('post')).files).toEqual(['config.pbtxt', '1/model.py']);
    ws.project('post', 'backend: python\ndefault_model_filename: argmax.py\nmax_batch_size: 8\ninput: [{ name: probs, data_type: fp32, dims: [3] }]\noutput: [{ name: LABEL, data_type: int64, dims: [1] }]\nexport:\n  file: postprocess.py\n');
    expect((await ws.exportAndBuild('post')).files).toEqual(['config.pbtxt', '1/argmax.py']);
    expect(await ws.validate()).toEqual([]);
    expect(await ws.triton({ post: [argmax] })).toEqual(['post: ready']);
  });

  it('says what is missing: model.py in the directory, I/O in triton.yaml', async () => {
    ws.project('preprocess', PREPROCESS_YAML, { 'src/scaling.py': SCALING_PY });
    expect(await failure(ws.export('preprocess'))).toBe(
      'models/preprocess/triton.yaml:7:3: export.file: "src" has no model.py: a python model\'s directory holds model.py and the files it uses',
    );
    ws.project('bare', 'backend: python\nexport:\n  file: model.py\n', { 'model.py': POSTPROCESS_PY });
    await ws.export('bare');
    expect((await failure(ws.build('bare'))).split('\n')[0]).toBe(
      'models/bare/triton.yaml: input: required: a python model has no signature nx-triton can read; declare each input with name, data_type and dims',
    );
  });
});

/**
 * vLLM's backend is python-based (vllm_backend src/model.py): initialize() reads the engine args from
 * `<model_repository>/<version>/model.json`. A stand-in backend named vllm reads that file the same way
 * and answers with the length of its "model" as a factor, so the model loads only when the build put
 * model.json into 1/ (before: copied to 1/model.vllm).
 */
const VLLM_BACKEND_PY = `import json, os
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        with open(os.path.join(args["model_repository"], args["model_version"], "model.json")) as f:
            self.factor = float(len(json.load(f)["model"]))

    def execute(self, requests):
        return [pb_utils.InferenceResponse([pb_utils.Tensor("OUT", pb_utils.get_input_tensor_by_name(r, "IN").as_numpy() * self.factor)]) for r in requests]
`;

describe('a backend that loads no model file of its own (vLLM)', () => {
  it('export.file model.json lands in the version directory as named, and the backend reads it there', async () => {
    ws.project('llm', 'backend: vllm\nmax_batch_size: 0\ninput: [{ name: IN, data_type: fp32, dims: [2] }]\noutput: [{ name: OUT, data_type: fp32, dims: [2] }]\ninstance_group: [{ kind: cpu }]\nexport:\n  file: model.json\n', {
      'model.json': '{"model": "facebook/opt-125m", "gpu_memory_utilization": 0.5}\n',
    });
    expect((await ws.exportAndBuild('llm')).files).toEqual(['config.pbtxt', '1/model.json']);
    expect(await ws.validate()).toEqual([]);
    const factor = 'facebook/opt-125m'.length;
    const cases = [{ inputs: [{ name: 'IN', shape: [2], datatype: 'FP32', data: [1, 2] }], outputs: { OUT: { shape: [2], data: [factor, 2 * factor] } } }];
    expect(await ws.triton({ llm: cases }, { vllm: VLLM_BACKEND_PY })).toEqual(['llm: ready']);
  });
});

describe('onnxruntime_onnx with external data', () => {
  it('copies every data file into the model.onnx/ directory form, which onnxruntime runs from the entry', async () => {
    const dataFiles = readdirSync(join(fixtures, 'external')).filter((n) => n !== 'model.onnx');
    expect(dataFiles.length).toBeGreaterThanOrEqual(4);
    const dir = ws.project('classifier', 'max_batch_size: 16\ninstance_group: [{ kind: cpu }]\nexport:\n  file: weights/model.onnx\n');
    cpSync(join(fixtures, 'external'), join(dir, 'weights'), { recursive: true });
    const exported = await ws.export('classifier');
    // verify.json: the smoke run's record (onnxruntime ran the model), never copied into the repository
    expect(readdirSync(join(exported, '..')).sort()).toEqual(['model.onnx', 'verify.json', ...dataFiles].sort());
    const built = await ws.build('classifier');
    expect(built.files).toEqual(['config.pbtxt', '1/model.onnx/']);
    const onnxDir = join(built.entryDir, '1', 'model.onnx');
    expect(readdirSync(onnxDir).sort()).toEqual(['model.onnx', ...dataFiles].sort());
    expect(config(built.entryDir)).toMatchObject({ input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [4] }], output: [{ name: 'probs', dims: [3] }] });
    const rows = [[1, 2, 3, 4], [-1, 0.5, 0, 2]];
    const fromEntry = await classify(join(onnxDir, 'model.onnx'), rows);
    expect(Array.from(fromEntry)).toEqual(Array.from(await classify(join(fixtures, 'classifier.onnx'), rows)));
    expect(await ws.validate()).toEqual([]);
    expect(await ws.triton()).toEqual(['classifier: no-backend']);
  });

  it('refuses an export whose external data is missing', async () => {
    const dir = ws.project('classifier', 'max_batch_size: 16\nexport:\n  file: weights/model.onnx\n');
    cpSync(join(fixtures, 'external'), join(dir, 'weights'), { recursive: true });
    const lost = readdirSync(join(dir, 'weights')).filter((n) => n !== 'model.onnx').sort()[0];
    rmSync(join(dir, 'weights', lost));
    expect(await failure(ws.export('classifier'))).toBe(
      `models/classifier/triton.yaml:3:3: export.file: "weights/model.onnx" names external data ${JSON.stringify(lost)}, which does not exist beside it`,
    );
    expect(existsSync(join(ws.root, 'dist', 'models', 'classifier', 'export'))).toBe(false);
  });
});

describe('model files that nx-triton does not read (placeholder bytes, real layout)', () => {
  it('tensorflow_savedmodel: a SavedModel directory (placeholder files) lands as model.savedmodel/', async () => {
    ws.project(
      'tf_placeholder',
      'platform: tensorflow_savedmodel\nmax_batch_size: 4\ninput: [{ name: images, data_type: fp32, dims: [8] }]\noutput: [{ name: scores, data_type: fp32, dims: [2] }]\nexport:\n  file: saved\n',
      { 'saved/saved_model.pb': 'placeholder graph', 'saved/variables/variables.index': 'idx', 'saved/variables/variables.data-00000-of-00001': 'data' },
    );
    const built = await ws.exportAndBuild('tf_placeholder');
    expect(built.files).toEqual(['config.pbtxt', '1/model.savedmodel/']);
    expect(readFileSync(join(built.entryDir, '1/model.savedmodel/variables/variables.index'), 'utf8')).toBe('idx');
    expect(await ws.validate()).toEqual([]);
    expect(await ws.triton()).toEqual(['tf_placeholder: no-backend']);
  });

  it('openvino: model.xml comes with its weights as model.bin (placeholder IR)', async () => {
    const yaml = 'backend: openvino\nmax_batch_size: 0\ninput: [{ name: x, data_type: fp32, dims: [1, 4] }]\noutput: [{ name: y, data_type: fp32, dims: [1, 3] }]\nexport:\n  file: ir/detector.xml\n';
    ws.project('ov_placeholder', yaml, { 'ir/detector.xml': '<net name="detector"/>', 'ir/detector.bin': 'weights', 'ir/notes.txt': 'left out' });
    const built = await ws.exportAndBuild('ov_placeholder');
    expect(built.files).toEqual(['config.pbtxt', '1/model.bin', '1/model.xml']);
    expect(readFileSync(join(built.entryDir, '1', 'model.bin'), 'utf8')).toBe('weights');
    expect(await ws.validate()).toEqual([]);
    expect(await ws.triton()).toEqual(['ov_placeholder: no-backend']);
    rmSync(join(ws.projectDir('ov_placeholder'), 'ir', 'detector.bin'));
    expect(await failure(ws.export('ov_placeholder'))).toBe(
      'models/ov_placeholder/triton.yaml:6:3: export.file: "ir/detector.xml" needs its weights "ir/detector.bin" beside it (OpenVINO reads <name>.bin next to <name>.xml)',
    );
  });

  it('a custom backend gets model.<backend>, or default_model_filename (placeholder files, a directory too)', async () => {
    const io = 'max_batch_size: 0\ninput: [{ name: IN, data_type: int32, dims: [2] }]\noutput: [{ name: OUT, data_type: int32, dims: [2] }]\n';
    ws.project('custom_placeholder', `backend: identity_plus\n${io}export:\n  file: blob.dat\n`, { 'blob.dat': 'custom' });
    expect((await ws.exportAndBuild('custom_placeholder')).files).toEqual(['config.pbtxt', '1/model.identity_plus']);
    ws.project('custom_dir', `backend: identity_plus\ndefault_model_filename: engine\n${io}export:\n  file: engine_dir\n`, { 'engine_dir/a.bin': 'a', 'engine_dir/b.bin': 'b' });
    const built = await ws.exportAndBuild('custom_dir');
    expect(built.files).toEqual(['config.pbtxt', '1/engine/']);
    expect(readdirSync(join(built.entryDir, '1', 'engine')).sort()).toEqual(['a.bin', 'b.bin']);
    expect(config(built.entryDir)).toMatchObject({ backend: 'identity_plus', default_model_filename: 'engine' });
    expect(await ws.validate()).toEqual([]);
    expect(await ws.triton()).toEqual(['custom_dir: no-backend', 'custom_placeholder: no-backend']);
  });
});

describe('ensemble', () => {
  it('preprocess (python) -> classifier (onnx) -> postprocess (python), checked against the built members', async () => {
    ws.project('preprocess', PREPROCESS_YAML, { 'src/model.py': PREPROCESS_PY, 'src/scaling.py': SCALING_PY, 'src/stats.json': '{"mean": 0, "std": 1}' });
    ws.project('classifier', 'max_batch_size: 8\ninstance_group: [{ kind: cpu }]\nexport:\n  file: classifier.onnx\n', {
      'classifier.onnx': readFileSync(join(fixtures, 'classifier.onnx')),
    });
    ws.project('postprocess', 'backend: python\nmax_batch_size: 8\ninput: [{ name: probs, data_type: fp32, dims: [3] }]\noutput: [{ name: LABEL, data_type: int64, dims: [1] }]\nexport:\n  file: model.py\n', {
      'model.py': POSTPROCESS_PY,
    });
    ws.project(
      'pipeline',
      `platform: ensemble
max_batch_size: 8
input: [{ name: RAW, data_type: fp32, dims: [4] }]
output: [{ name: LABEL, data_type: int64, dims: [1] }]
ensemble_scheduling:
  step:
    - { model_name: preprocess, model_version: -1, input_map: { RAW: RAW }, output_map: { x: scaled } }
    - { model_name: classifier, model_version: -1, input_map: { x: scaled }, output_map: { probs: probs } }
    - { model_name: postprocess, model_version: -1, input_map: { probs: probs }, output_map: { LABEL: LABEL } }
`,
    );
    // Members first, as the build target's dependencies make Nx do.
    for (const member of ['preprocess', 'classifier', 'postprocess']) await ws.exportAndBuild(member);
    const built = await ws.build('pipeline');
    expect(built.files).toEqual(['config.pbtxt', '1/']);
    expect(readdirSync(join(built.entryDir, '1'))).toEqual(['.nx-triton-ensemble']);
    expect(readdirSync(ws.repository).sort()).toEqual(['classifier', 'pipeline', 'postprocess', 'preprocess']);
    expect(await ws.validate()).toEqual([]);
    expect(await ws.triton({ preprocess: [scaled([1, 2, 3, 4], [1, 2, 3, 4])], postprocess: [argmax] })).toEqual([
      'classifier: no-backend',
      'pipeline: member-without-backend',
      'postprocess: ready',
      'preprocess: ready',
    ]);

    // A member whose output the ensemble maps wrongly is refused, naming the step.
    ws.project('pipeline', readFileSync(join(ws.projectDir('pipeline'), 'triton.yaml'), 'utf8').replace('output_map: { x: scaled }', 'output_map: { y: scaled }'));
    expect(await failure(ws.build('pipeline'))).toMatch(/^models\/pipeline\/triton\.yaml:\d+:\d+: ensemble_scheduling\.step\[0\]\.output_map.*'y'/);
  });
});

describe('versions', () => {
  const V = 'max_batch_size: 8\ninstance_group: [{ kind: cpu }]\nversion: 3\nprevious_versions:\n  "1": old/v1\n  "2": old/v2\nexport:\n  file: classifier.onnx\n';

  function versioned(policy: string): void {
    const dir = ws.project('classifier', policy + V);
    const onnx = readFileSync(join(fixtures, 'classifier.onnx'));
    for (const f of ['classifier.onnx', 'old/v1/model.onnx', 'old/v2/model.onnx']) {
      mkdirSync(join(dir, f, '..'), { recursive: true });
      cpSync(join(fixtures, 'classifier.onnx'), join(dir, f));
    }
    expect(onnx.length).toBeGreaterThan(0);
  }

  it('builds version and previous_versions; latest with more versions than exist loads what exists', async () => {
    versioned('version_policy: { latest: { num_versions: 5 } }\n');
    const built = await ws.exportAndBuild('classifier');
    expect(built.files).toEqual(['config.pbtxt', '1/model.onnx', '2/model.onnx', '3/model.onnx']);
    expect(await ws.validate()).toEqual([]);
    expect(await ws.triton()).toEqual(['classifier: no-backend']);
  });

  it('refuses a specific version that is not built, naming it at its key', async () => {
    versioned('version_policy:\n  specific: { versions: [2, 4] }\n');
    await ws.export('classifier');
    expect(await failure(ws.build('classifier'))).toBe(
      'models/classifier/triton.yaml:2:29: version_policy.specific.versions[1]: version 4 is listed but there is no version directory 4/ (found 1, 2, 3); Triton would not serve it',
    );
    expect(existsSync(join(ws.repository, 'classifier'))).toBe(false);
    versioned('version_policy:\n  specific: { versions: [2, 3] }\n');
    expect((await ws.build('classifier')).files).toEqual(['config.pbtxt', '1/model.onnx', '2/model.onnx', '3/model.onnx']);
  });
});
