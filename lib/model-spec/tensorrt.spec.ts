import { describe, expect, it } from 'vitest';
import { SpecError } from '../errors';
import type { ModelTensor } from '../model-config';
import { parseSpec } from './load';
import { engineRequest } from './engine-request';

const F = 'models/m/triton.yaml';
const tokens: ModelTensor[] = [{ name: 'tokens', data_type: 'TYPE_INT64', dims: [-1] }];

function requestError(yaml: string, input = tokens, maxBatch = 8): string {
  const spec = parseSpec(`platform: tensorrt_plan\nmax_batch_size: ${maxBatch}\nfrom: my_onnx\n${yaml}`, F, '/tmp/m', { checkFiles: false });
  try {
    engineRequest(spec, { max_batch_size: maxBatch, input });
  } catch (err) {
    expect(err).toBeInstanceOf(SpecError);
    return (err as Error).message;
  }
  throw new Error('expected a SpecError');
}

// Issue 12.12: TensorRT profile errors name the file, line and column where the key was written.
describe('engineRequest: profile problems placed in triton.yaml', () => {
  it('an input the model does not have', () => {
    expect(requestError('tensorrt:\n  profiles:\n    - token: { min: [1], opt: [2], max: [4] }\n')).toBe(
      `${F}:6:7: tensorrt.profiles[0].token: no input named "token" (inputs: tokens)`,
    );
  });

  it('a fixed dim given another size, and a dynamic dim with no range', () => {
    const x = [{ name: 'x', dims: [4] }];
    expect(requestError('tensorrt:\n  profiles:\n    - x: { min: [5], opt: [5], max: [5] }\n', x)).toBe(
      `${F}:6:12: tensorrt.profiles[0].x.min: dim 1 of the engine shape is fixed at 4, got 5`,
    );
    expect(requestError('tensorrt:\n  profiles:\n    - {}\n')).toMatch(new RegExp(`^${F}:6:7: tensorrt.profiles\\[0\\]: input "tokens" has dynamic dims \\[-1\\] but no range`));
  });

  it('a max_batch_size above what the profiles allow, at max_batch_size', () => {
    expect(requestError('tensorrt:\n  profiles:\n    - tokens: { min: [1, 1], opt: [2, 8], max: [4, 8] }\n')).toBe(
      `${F}:2:1: max_batch_size: configuration specified max-batch 8 but TensorRT engine only supports max-batch 4 (raise the batch dim of max in tensorrt.profiles, or lower max_batch_size)`,
    );
  });
});

// Issue 13.6: user strings are never looked up on plain objects.
describe('engineRequest: inputs named like Object.prototype members', () => {
  it('builds profiles for inputs named constructor, toString and __proto__', () => {
    const input: ModelTensor[] = ['constructor', 'toString', '__proto__'].map((name) => ({ name, data_type: 'TYPE_FP32', dims: [-1] }));
    const profile = JSON.parse('{"constructor": {"min": [1], "opt": [2], "max": [3]}, "toString": {"min": [1], "opt": [2], "max": [3]}, "__proto__": {"min": [1], "opt": [2], "max": [3]}}');
    const r = engineRequest({ file: F, name: 'm', tensorrt: { profiles: [profile] }, positions: {} }, { max_batch_size: 4, input });
    expect(Object.keys(r.profiles[0])).toEqual(['constructor', 'toString', '__proto__']);
    expect(r.profiles[0].__proto__).toEqual({ min: [1, 1], opt: [4, 2], max: [4, 3] });
    expect(() => engineRequest({ file: F, name: 'm', tensorrt: { profiles: [{}] }, positions: {} }, { max_batch_size: 4, input })).toThrow(
      'tensorrt.profiles[0]: input "constructor" has dynamic dims [-1] but no range',
    );
  });
});

