import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A throw-away workspace with one model project, `models/my_nn/`, holding the files specs name. */
export function makeProject(): { root: string; dir: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'nx-triton-spec-'));
  const dir = join(root, 'models', 'my_nn');
  for (const d of ['old/v1', 'old/v2', 'weights']) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, 'old/v1/model.onnx'), 'x');
  writeFileSync(join(dir, 'weights/nn.pt'), 'x');
  writeFileSync(join(dir, 'model.onnx'), 'x');
  writeFileSync(join(dir, 'labels.txt'), 'cat\ndog\n');
  writeFileSync(join(dir, 'net.py'), 'def build(**kw):\n    pass\n');
  return { root, dir, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

export const DISPLAY = 'models/my_nn/triton.yaml';

/** A spec that uses most sections; its files exist in makeProject()'s project. */
export const FULL = `# models/my_nn/triton.yaml
platform: onnxruntime_onnx
max_batch_size: 64
version: 3
previous_versions:
  1: old/v1
  "2": ./old/v2/
instance_group:
  - { kind: gpu, count: 4, gpus: [0, 1] }
  - kind: KIND_CPU
input:
  - name: input
    data_type: float32
    format: nchw
    dims: [3, 224, 224]
output:
  - name: logits
    data_type: TYPE_FP16
    dims: [-1]
    label_filename: labels.txt
dynamic_batching:
  preferred_batch_size: [8, 16]
  max_queue_delay_microseconds: 18446744073709551615
  priority_queue_policy:
    1: { timeout_action: delay, default_timeout_microseconds: 100 }
  default_queue_policy: ~
version_policy: { all: {} }
optimization:
  execution_accelerators:
    gpu_execution_accelerator:
      - name: tensorrt
        parameters: { precision_mode: FP16 }
parameters:
  EXECUTION_ENV_PATH: { string_value: "$$TRITON_MODEL_DIRECTORY/env.tar.gz" }
cc_model_filenames: { 8.0: model_80.onnx }
model_warmup:
  - name: w
    batch_size: 1
    inputs:
      input: { data_type: fp32, dims: [3, 224, 224], zero_data: true }
export:
  torch:
    model: net:build
    kwargs: { hidden: 128, layers: [1, 2], label: x, dropout: 0.5, act: null }
    checkpoint: ./weights/nn.pt
    input_shapes: { input: [null, 3, 224, 224] }
    output_names: [logits]
    opset: 17
`;

/** A TensorRT model built from another one, with engine options. */
export const TRT = `platform: tensorrt_plan
max_batch_size: 8
from: other_nn
tensorrt:
  precision: fp16
  workspace: 512MiB
  profiles:
    - input: { min: [1, 3], opt: [4, 3], max: [8, 3] }
  targets: ["8.0", "8.6"]
instance_group: [{ kind: gpu, count: 2 }]
sequence_batching:
  control_input:
    - name: START
      control: [{ kind: start, int32_false_true: [0, 1] }]
  oldest: { max_candidate_sequences: 4 }
`;
