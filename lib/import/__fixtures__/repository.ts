/**
 * Test fixture: a realistic Triton model repository written into a directory. The model files are
 * real (ONNX made with onnx, TorchScript made with torch.jit by /usr/bin/python3).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export const SYSTEM_PYTHON = '/usr/bin/python3';

export const CONFIGS: Record<string, string> = {
  classifier: `name: "classifier"
platform: "onnxruntime_onnx"
max_batch_size: 8
version_policy { specific { versions: [1, 3] } }
input [ { name: "INPUT0" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ 4 ] label_filename: "labels.txt" } ]
instance_group [ { kind: KIND_GPU count: 2 gpus: [ 0, 1 ] }, { name: "cpu_pool" kind: KIND_CPU count: 1 } ]
dynamic_batching {
  preferred_batch_size: [ 4, 8 ]
  max_queue_delay_microseconds: 100
  priority_levels: 2
  default_priority_level: 2
  default_queue_policy { timeout_action: REJECT default_timeout_microseconds: 5000 }
  priority_queue_policy { key: 1 value { timeout_action: DELAY default_timeout_microseconds: 18446744073709551615 allow_timeout_override: true max_queue_size: 16 } }
  priority_queue_policy { key: 2 value { } }
}
optimization { graph { level: 1 } priority: PRIORITY_MAX input_pinned_memory { enable: true } }
parameters { key: "intra_op_thread_count" value { string_value: "1" } }
parameters { key: "enable mem arena" value { string_value: "true" } }
model_warmup [
  { name: "ones" batch_size: 1 inputs { key: "INPUT0" value { data_type: TYPE_FP32 dims: [ 4 ] input_data_file: "input0.bin" } } },
  { name: "zeros" batch_size: 8 inputs { key: "INPUT0" value { data_type: TYPE_FP32 dims: [ 4 ] zero_data: true } } }
]
response_cache { enable: true }
`,
  ensemble_pipeline: `name: "ensemble_pipeline"
platform: "ensemble"
max_batch_size: 8
input [ { name: "RAW" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: "SCORES" data_type: TYPE_FP32 dims: [ 4 ] } ]
ensemble_scheduling {
  step [
    { model_name: "classifier" model_version: -1 input_map { key: "INPUT0" value: "RAW" } output_map { key: "OUTPUT0" value: "logits" } },
    { model_name: "postprocess" model_version: 1 input_map { key: "INPUT0" value: "logits" } output_map { key: "OUTPUT0" value: "SCORES" } }
  ]
}
`,
  // No name: Triton takes the directory name.
  postprocess: `backend: "python"
max_batch_size: 8
input [ { name: "INPUT0" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ 4 ] } ]
instance_group [ { kind: KIND_CPU count: 2 } ]
dynamic_batching { }
parameters { key: "scale" value { string_value: "0.5" } }
`,
  torch_linear: `name: "torch_linear"
platform: "pytorch_libtorch"
max_batch_size: 0
input [ { name: "INPUT__0" data_type: TYPE_FP32 dims: [ -1, 4 ] } ]
output [ { name: "OUTPUT__0" data_type: TYPE_FP32 dims: [ -1, 2 ] } ]
instance_group [ { kind: KIND_CPU } ]
version_policy { all { } }
model_transaction_policy { }
`,
  external_onnx: `name: "external_onnx"
platform: "onnxruntime_onnx"
default_model_filename: "model.onnx"
max_batch_size: 4
input [ { name: "INPUT0" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ 4 ] } ]
`,
};

/** postprocess's model.py imports a module beside it (SCALING_PY): the version directory travels whole. */
export const MODEL_PY = `import triton_python_backend_utils as pb_utils

from scaling import scale


class TritonPythonModel:
    def execute(self, requests):
        responses = []
        for request in requests:
            x = pb_utils.get_input_tensor_by_name(request, "INPUT0").as_numpy()
            out = pb_utils.Tensor("OUTPUT0", scale(x))
            responses.append(pb_utils.InferenceResponse(output_tensors=[out]))
        return responses
`;

export const SCALING_PY = `def scale(x):
    return x * 0.5
`;

function put(path: string, content: string | Buffer): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}

/** The model files, made once per call by /usr/bin/python3 into a temporary directory (returned). */
export function makeModelFiles(): string {
  const out = mkdtempSync(join(tmpdir(), 'nx-triton-import-models-'));
  try {
    execFileSync(SYSTEM_PYTHON, [join(__dirname, 'make_models.py'), out], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    rmSync(out, { recursive: true, force: true });
    throw err;
  }
  return out;
}

/**
 * Writes the repository into `root`: classifier (rich config, versions 1 and 3, labels, warm-up data,
 * plus an ignored `01/` and a README), ensemble_pipeline, postprocess (python backend, model.py and the
 * module it imports), torch_linear
 * (TorchScript), external_onnx (`model.onnx/` directory form) and not_a_model (no config.pbtxt).
 */
export function writeRepository(root: string, modelFiles: string): void {
  for (const [name, text] of Object.entries(CONFIGS)) put(join(root, name, 'config.pbtxt'), text);
  const copy = (from: string, to: string) => {
    mkdirSync(dirname(join(root, to)), { recursive: true });
    copyFileSync(join(modelFiles, from), join(root, to));
  };
  copy('classifier_v1.onnx', 'classifier/1/model.onnx');
  copy('classifier_v3.onnx', 'classifier/3/model.onnx');
  copy('classifier_v1.onnx', 'classifier/01/model.onnx');
  put(join(root, 'classifier', 'README.md'), '# classifier\n');
  put(join(root, 'classifier', 'labels.txt'), 'cat\ndog\nbird\nfish\n');
  put(join(root, 'classifier', 'warmup', 'input0.bin'), Buffer.from(new Float32Array([1, 1, 1, 1]).buffer));
  mkdirSync(join(root, 'ensemble_pipeline', '1'), { recursive: true });
  put(join(root, 'postprocess', '1', 'model.py'), MODEL_PY);
  put(join(root, 'postprocess', '1', 'scaling.py'), SCALING_PY);
  copy('linear.pt', 'torch_linear/1/model.pt');
  copy('external/model.onnx', 'external_onnx/1/model.onnx/model.onnx');
  copy('external/weights.bin', 'external_onnx/1/model.onnx/weights.bin');
  copy('classifier_v1.onnx', 'not_a_model/1/model.onnx');
}
