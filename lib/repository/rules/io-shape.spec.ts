import { describe, expect, it } from 'vitest';
import type { DataType, ModelTensor } from '../../model-config';
import { onnxModel, trtModel } from './__fixtures__/configs';
import { checkModelConfig } from './index';

const withInput = (input: Partial<ModelTensor>, maxBatch = 8) =>
  checkModelConfig(onnxModel({ max_batch_size: maxBatch, input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [4], ...input }] }));
const paths = (ps: Array<{ path: string }>) => ps.map((p) => p.path);

describe('inputs and outputs', () => {
  it('needs name, data_type and dims', () => {
    expect(paths(withInput({ name: '' }))).toEqual(['input[0].name']);
    expect(paths(withInput({ data_type: 'TYPE_INVALID' }))).toEqual(['input[0].data_type']);
    expect(paths(withInput({ data_type: undefined }))).toEqual(['input[0].data_type']);
    expect(paths(withInput({ dims: [] }))).toEqual(['input[0].dims']);
  });

  it('takes dims >= 1 or -1, never 0 or -2', () => {
    expect(paths(withInput({ dims: [3, 0] }))).toEqual(['input[0].dims[1]']);
    expect(paths(withInput({ dims: [-2] }))).toEqual(['input[0].dims[0]']);
    expect(withInput({ dims: [-1, 3, 224, 224] })).toEqual([]);
  });

  it('checks reshape element counts', () => {
    expect(withInput({ dims: [2, 3], reshape: { shape: [6] } })).toEqual([]);
    const [p] = withInput({ dims: [2, 3], reshape: { shape: [5] } });
    expect(p.path).toBe('input[0].reshape.shape');
    expect(p.message).toContain('different size');
    expect(paths(withInput({ dims: [2, 3], reshape: { shape: [0, 6] } }))).toEqual(['input[0].reshape.shape[0]']);
  });

  it('compares the segments between wildcards', () => {
    expect(withInput({ dims: [2, 4, -1, 6], reshape: { shape: [8, -1, 1, 6] } })).toEqual([]);
    expect(withInput({ dims: [2, 4, -1, 6], reshape: { shape: [4, -1, 12] } })[0].message).toContain('different size');
    expect(withInput({ dims: [-1, 6], reshape: { shape: [-1, -1, 6] } })[0].message).toContain('number of variable-size dimensions');
  });

  it('allows an empty reshape only for dims of one element in a batching model', () => {
    expect(withInput({ dims: [1], reshape: { shape: [] } })).toEqual([]);
    expect(withInput({ dims: [1], reshape: {} })).toEqual([]);
    const [p] = withInput({ dims: [1], reshape: { shape: [] } }, 0);
    expect(p.path).toBe('input[0].reshape');
    expect(p.message).toContain('non-batching');
    expect(paths(withInput({ dims: [2], reshape: { shape: [] } }))).toEqual(['input[0].reshape.shape']);
  });

  it('wants 3 dims for NHWC/NCHW', () => {
    expect(paths(withInput({ format: 'FORMAT_NCHW', dims: [3, 224] }))).toEqual(['input[0].format']);
    expect(withInput({ format: 'FORMAT_NHWC', dims: [224, 224, 3] })).toEqual([]);
  });

  it('allows shape tensors and non-linear I/O only for TensorRT, non-linear with 3 dims', () => {
    expect(paths(withInput({ is_shape_tensor: true }))).toEqual(['input[0].is_shape_tensor']);
    expect(paths(withInput({ is_non_linear_format_io: true }))).toEqual(['input[0].is_non_linear_format_io']);
    const trtInput = (over: Partial<ModelTensor>) => checkModelConfig(trtModel({ input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [4], ...over }] }));
    expect(trtInput({ is_shape_tensor: true })).toEqual([]);
    expect(paths(trtInput({ is_non_linear_format_io: true }))).toEqual(['input[0].dims']);
    expect(trtInput({ is_non_linear_format_io: true, dims: [3, 8, 8] })).toEqual([]);
  });

  it('warns of a tensor name declared twice, which Triton loads (test/agreement: the real server)', () => {
    const config = onnxModel({ output: [{ name: 'y', data_type: 'TYPE_FP32', dims: [2] }, { name: 'y', data_type: 'TYPE_FP32', dims: [2] }] });
    const [p] = checkModelConfig(config);
    expect(p).toEqual({ path: 'output[1].name', message: "output 'y' is already declared at output[0]; Triton's core takes both", warning: true });
  });

  it('reads enums given as numbers and 64-bit dims given as strings', () => {
    expect(withInput({ data_type: 11 as unknown as DataType, dims: ['4'] })).toEqual([]);
    expect(paths(withInput({ data_type: 0 as unknown as DataType }))).toEqual(['input[0].data_type']);
  });
});
