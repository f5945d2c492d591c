import type { ModelConfig } from '../../../model-config';

/** A config Triton loads: the base every rule test changes one thing in. */
export function onnxModel(over: Partial<ModelConfig> = {}): ModelConfig {
  return {
    name: 'my_nn',
    platform: 'onnxruntime_onnx',
    max_batch_size: 8,
    input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [4] }],
    output: [{ name: 'y', data_type: 'TYPE_FP32', dims: [2] }],
    instance_group: [{ kind: 'KIND_GPU', count: 1 }],
    ...over,
  };
}

export function trtModel(over: Partial<ModelConfig> = {}): ModelConfig {
  return onnxModel({ name: 'my_trt', platform: 'tensorrt_plan', ...over });
}
