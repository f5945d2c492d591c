import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SpecError } from '../errors';
import { parseSpec } from './load';

const F = 'models/my_nn/triton.yaml';
const KNOWN = 'tensorflow_savedmodel, tensorflow_graphdef, tensorrt_plan, onnxruntime_onnx, pytorch_libtorch, torch_aoti, ensemble';

function problems(text: string): string[] {
  try {
    parseSpec(text, F, join(tmpdir(), 'my_nn'), { checkFiles: false });
  } catch (err) {
    if (err instanceof SpecError) return err.message.split('\n');
    throw err;
  }
  return [];
}

// Triton core src/model_config_utils.cc (ValidateModelConfig: "unexpected platform type") refuses a platform it does
// not know when no backend is set: the spec checker says so up front, with what was meant.
describe('platform: a name Triton does not know', () => {
  it.each([
    ['onnxruntime', 'platform: onnxruntime_onnx" or "backend: onnxruntime'],
    ['tensorrt', 'platform: tensorrt_plan" or "backend: tensorrt'],
    ['pytorch', 'platform: pytorch_libtorch" or "backend: pytorch'],
    ['python', 'backend: python'],
    ['onnxruntime_onx', 'platform: onnxruntime_onnx'],
  ])('%s gets a did-you-mean', (platform, hint) => {
    expect(problems(`max_batch_size: 8\nplatform: ${platform}\n`)).toEqual([
      `${F}:2:1: platform: unknown platform "${platform}" (expected one of ${KNOWN}, or backend: for a backend without a platform) (did you mean "${hint}"?)`,
    ]);
  });

  it('a name nothing is close to gets the list alone', () => {
    expect(problems('platform: caffe2_netdef_xyz\n')).toEqual([
      `${F}:1:1: platform: unknown platform "caffe2_netdef_xyz" (expected one of ${KNOWN}, or backend: for a backend without a platform)`,
    ]);
  });

  it('is fine with a backend beside it, and with every platform Triton knows', () => {
    expect(problems('platform: my_format\nbackend: my_backend\n')).toEqual([]);
    for (const platform of ['onnxruntime_onnx', 'pytorch_libtorch', 'ensemble']) expect(problems(`platform: ${platform}\n`)).toEqual([]);
  });
});
