import { describe, expect, it } from 'vitest';
import { modelFilename } from './layout';
import { autoCompleteBackend, needsModelFile, runtimeOf, type FileKind } from './platforms';

const dirHolding = (files: Record<string, FileKind>) => (name: string) => files[name];

describe('the platform table', () => {
  it('gives the file Triton loads for each platform and backend', () => {
    const byPlatform = ['tensorrt_plan', 'onnxruntime_onnx', 'pytorch_libtorch', 'torch_aoti', 'tensorflow_savedmodel', 'tensorflow_graphdef'];
    expect(byPlatform.map((platform) => modelFilename({ platform }))).toEqual(['model.plan', 'model.onnx', 'model.pt', 'model.pt2', 'model.savedmodel', 'model.graphdef']);
    const byBackend = ['tensorrt', 'onnxruntime', 'pytorch', 'python', 'openvino', 'tensorflow', 'dali', 'vllm'];
    expect(byBackend.map((backend) => modelFilename({ backend }))).toEqual(['model.plan', 'model.onnx', 'model.pt', 'model.py', 'model.xml', 'model.savedmodel', 'model.dali', 'model.vllm']);
    expect(modelFilename({ platform: 'unknown_platform', backend: 'python' })).toBe('model.py');
    expect(modelFilename({ platform: 'ensemble' })).toBeUndefined();
    expect(modelFilename({ backend: 'python', default_model_filename: 'run.py' })).toBe('run.py');
    expect(runtimeOf({ backend: 'pytorch' })?.platform).toBe('pytorch_libtorch');
    expect(runtimeOf({ platform: 'tensorrt_plan' })?.technologies).toEqual(['onnx', 'tensorrt']); // built from ONNX
    expect(runtimeOf({ backend: 'openvino' })?.technologies).toEqual(['openvino']);
  });

  // Triton: core src/model_config_utils.cc, AutoCompleteBackendFields
  it("fills backend and platform as Triton's auto-complete does", () => {
    const none = dirHolding({});
    expect(autoCompleteBackend({ platform: 'tensorrt_plan' }, none)).toEqual({ backend: 'tensorrt' });
    expect(autoCompleteBackend({ default_model_filename: 'model.py' }, none)).toEqual({ backend: 'python' });
    expect(autoCompleteBackend({ default_model_filename: 'model.onnx' }, none)).toEqual({ backend: 'onnxruntime', platform: 'onnxruntime_onnx' });
    // a default_model_filename of another name tells nothing, and the files are not looked at then
    expect(autoCompleteBackend({ default_model_filename: 'net.onnx' }, dirHolding({ 'model.onnx': 'file' }))).toEqual({});
    expect(autoCompleteBackend({}, dirHolding({ 'model.py': 'file' }))).toEqual({ backend: 'python' });
    expect(autoCompleteBackend({}, dirHolding({ 'model.onnx': 'dir' }))).toEqual({ backend: 'onnxruntime', platform: 'onnxruntime_onnx' });
    // TensorRT wants a file, SavedModel a directory; the first that fits in Triton's order wins
    expect(autoCompleteBackend({}, dirHolding({ 'model.plan': 'dir', 'model.py': 'file' }))).toEqual({ backend: 'python' });
    expect(autoCompleteBackend({}, dirHolding({ 'model.savedmodel': 'dir', 'model.plan': 'file' }))).toEqual({ backend: 'tensorflow', platform: 'tensorflow_savedmodel' });
    expect(autoCompleteBackend({}, dirHolding({ 'model.pt': 'dir', 'model.pt2': 'file' }))).toEqual({ backend: 'pytorch', platform: 'torch_aoti' });
    expect(autoCompleteBackend({}, dirHolding({ 'model.dali': 'file' }))).toEqual({});
    expect(autoCompleteBackend({ backend: 'vllm' }, dirHolding({ 'model.py': 'file' }))).toEqual({});
    expect(autoCompleteBackend({ platform: 'ensemble' }, none)).toEqual({});
  });

  it('says which models load a model file from each version', () => {
    expect(needsModelFile({ platform: 'onnxruntime_onnx' })).toBe(true);
    expect(needsModelFile({ backend: 'dali' })).toBe(true);
    expect(needsModelFile({ backend: 'python' })).toBe(true);
    expect(needsModelFile({ backend: 'python', runtime: 'model.py' })).toBe(false);
    expect(needsModelFile({ backend: 'vllm' })).toBe(false);
    expect(needsModelFile({ backend: 'tensorrtllm' })).toBe(false);
    expect(needsModelFile({ platform: 'ensemble' })).toBe(false);
  });
});
