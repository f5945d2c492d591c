import { describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../model-config';
import { onnxModel } from './__fixtures__/configs';
import { checkModelConfig } from './index';

const paths = (c: Parameters<typeof checkModelConfig>[0], ctx?: { dirName?: string }) => checkModelConfig(c, ctx).map((p) => p.path);

describe('name, platform, backend, max_batch_size', () => {
  it('passes a complete ONNX config', () => {
    expect(checkModelConfig(onnxModel(), { dirName: 'my_nn' })).toEqual([]);
  });

  it('needs a name unless the directory gives it', () => {
    expect(paths(onnxModel({ name: '' }))).toEqual(['name']);
    expect(paths(onnxModel({ name: undefined }), { dirName: 'my_nn' })).toEqual([]);
  });

  it('wants the name to equal the directory', () => {
    const [p] = checkModelConfig(onnxModel(), { dirName: 'other' });
    expect(p).toEqual({ path: 'name', message: expect.stringContaining("unexpected directory name 'other' for model 'my_nn'") });
  });

  it('rejects an unknown platform without a backend, accepts it with a custom backend', () => {
    const [p] = checkModelConfig(onnxModel({ platform: 'onnx' }));
    expect(p.path).toBe('platform');
    expect(p.message).toContain("unexpected platform type 'onnx'");
    expect(paths(onnxModel({ platform: 'my_platform', backend: 'my_backend' }))).toEqual([]);
  });

  it('pairs known backends with their platform', () => {
    const [p] = checkModelConfig(onnxModel({ backend: 'tensorrt' }));
    expect(p.path).toBe('backend');
    expect(p.message).toContain("unexpected 'platform' and 'backend' pair, got:onnxruntime_onnx, tensorrt");
    expect(paths(onnxModel({ backend: 'onnxruntime' }))).toEqual([]);
    expect(paths(onnxModel({ platform: 'pytorch_libtorch', backend: 'pytorch' }))).toEqual([]);
    expect(paths(onnxModel({ platform: undefined, backend: 'python' }))).toEqual([]);
  });

  it('needs a platform or a backend', () => {
    expect(paths(onnxModel({ platform: undefined }))).toEqual(['platform']);
    expect(paths(onnxModel({ platform: undefined, default_model_filename: 'net.onnx' }))).toEqual([]);
  });

  it('keeps the backend of an ensemble empty', () => {
    const ensemble: ModelConfig = {
      name: 'e', platform: 'ensemble', backend: 'python',
      input: [{ name: 'a', data_type: 'TYPE_FP32', dims: [1] }],
      output: [{ name: 'b', data_type: 'TYPE_FP32', dims: [1] }],
      ensemble_scheduling: { step: [{ model_name: 'm', model_version: -1, input_map: { in: 'a' }, output_map: { out: 'b' } }] },
    };
    expect(paths(ensemble)).toEqual(['backend']);
    expect(paths({ ...ensemble, backend: undefined })).toEqual([]);
  });

  it('rejects a negative max_batch_size, accepts 0', () => {
    expect(paths(onnxModel({ max_batch_size: -1 }))).toEqual(['max_batch_size']);
    expect(paths(onnxModel({ max_batch_size: 0 }))).toEqual([]);
  });
});
