import type { ModelConfig } from '../../../model-config';

/** preprocess (python) -> classifier (onnx) -> postprocess (python), wrapped in an ensemble. */
export function pipeline(): { ensemble: ModelConfig; members: Map<string, ModelConfig> } {
  const preprocess: ModelConfig = {
    name: 'preprocess', backend: 'python', max_batch_size: 8,
    input: [{ name: 'RAW', data_type: 'TYPE_UINT8', dims: [-1] }],
    output: [{ name: 'PIXELS', data_type: 'TYPE_FP32', dims: [3, 224, 224] }],
  };
  const classifier: ModelConfig = {
    name: 'classifier', platform: 'onnxruntime_onnx', max_batch_size: 16,
    input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [3, 224, 224] }],
    output: [{ name: 'logits', data_type: 'TYPE_FP32', dims: [1000] }],
  };
  const postprocess: ModelConfig = {
    name: 'postprocess', backend: 'python', max_batch_size: 8,
    input: [{ name: 'LOGITS', data_type: 'TYPE_FP32', dims: [1000] }, { name: 'TOPK', data_type: 'TYPE_INT32', dims: [1], optional: true }],
    output: [{ name: 'LABEL', data_type: 'TYPE_STRING', dims: [1] }],
  };
  const ensemble: ModelConfig = {
    name: 'classify', platform: 'ensemble', max_batch_size: 8,
    input: [{ name: 'IMAGE', data_type: 'TYPE_UINT8', dims: [-1] }],
    output: [{ name: 'CLASS', data_type: 'TYPE_STRING', dims: [1] }],
    ensemble_scheduling: {
      step: [
        { model_name: 'preprocess', model_version: -1, input_map: { RAW: 'IMAGE' }, output_map: { PIXELS: 'pixels' } },
        { model_name: 'classifier', model_version: -1, input_map: { x: 'pixels' }, output_map: { logits: 'scores' } },
        { model_name: 'postprocess', model_version: -1, input_map: { LOGITS: 'scores' }, output_map: { LABEL: 'CLASS' } },
      ],
    },
  };
  return { ensemble, members: new Map([preprocess, classifier, postprocess].map((c) => [c.name!, c])) };
}

type Step = { model_name: string; model_version?: number; input_map: Record<string, string>; output_map: Record<string, string> };

export function stepsOf(config: ModelConfig): Step[] {
  return (config.ensemble_scheduling as { step: Step[] }).step;
}
