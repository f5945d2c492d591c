import { afterEach, describe, expect, it } from 'vitest';
import { LINEAR_ONNX, tempRepo } from './__fixtures__/repo';
import { stampedOnnx } from './__fixtures__/stamp';
import { onnxReleaseProblem } from './onnx-release';
import { checkRepository, validateModel } from '../validate-repository';
import { parsePbtxt } from '../../../proto/text-format';

const CONFIG = `name: "linear"
platform: "onnxruntime_onnx"
max_batch_size: 8
input [ { name: "x" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: "y" data_type: TYPE_FP32 dims: [ 2 ] } ]
`;

let cleanup: Array<() => void> = [];
afterEach(() => {
  cleanup.forEach((f) => f());
  cleanup = [];
});

function repoWith(ir: number, opsets: Record<string, number>): string {
  const r = tempRepo({ 'linear/config.pbtxt': CONFIG, 'linear/1/model.onnx': stampedOnnx(LINEAR_ONNX, ir, opsets) });
  cleanup.push(r.done);
  return r.dir;
}

describe('an ONNX model against triton_release', () => {
  it('the dynamo exporter\'s IR 10 on a release whose ONNX Runtime stops at IR 9: the fix names the exporter, the opset and the first release that loads it', () => {
    expect(onnxReleaseProblem({ irVersion: 10, opsets: [{ domain: '', version: 18 }] }, '24.01')).toBe(
      'ONNX IR 10, opset 18: Triton 24.01 ships ONNX Runtime 1.16.3, which loads IR 9, opset 19 at most; ' +
        "re-export it with IR 9 or lower: torch's dynamo exporter writes IR 10 at any opset, its TorchScript-based one fits at opset 19 or lower " +
        '(export.torch.exporter: torchscript, export.torch.opset: 19); or serve it with Triton 24.05 or newer (ONNX Runtime 1.18.0)',
    );
  });

  it('an opset too new: the opset to export at, or the first release that loads it', () => {
    expect(onnxReleaseProblem({ irVersion: 9, opsets: [{ domain: 'ai.onnx', version: 20 }] }, '23.09')).toBe(
      'ONNX IR 9, opset 20: Triton 23.09 ships ONNX Runtime 1.16.0, which loads IR 9, opset 19 at most; ' +
        're-export it at opset 19 or lower (export.torch.opset: 19); or serve it with Triton 24.03 or newer (ONNX Runtime 1.17.2)',
    );
    expect(onnxReleaseProblem({ irVersion: 8, opsets: [{ domain: '', version: 17 }, { domain: 'ai.onnx.ml', version: 4 }] }, '24.02')).toBe(
      'ONNX IR 8, opset 17, ai.onnx.ml opset 4: Triton 24.02 ships ONNX Runtime 1.16.3, which loads IR 9, opset 19, ai.onnx.ml opset 3 at most; ' +
        'use ai.onnx.ml opset 3 or lower; or serve it with Triton 24.03 or newer (ONNX Runtime 1.17.2)',
    );
    expect(onnxReleaseProblem({ irVersion: 12, opsets: [{ domain: '', version: 24 }] }, '25.12')).toMatch(/; no Triton release nx-triton knows loads it$/);
    expect(onnxReleaseProblem({ irVersion: 10, opsets: [{ domain: '', version: 21 }] }, '24.05')).toBeUndefined();
  });

  it('is checked by validate with a release, and by the build (validateModel) with the model\'s triton_release', async () => {
    const dir = repoWith(10, { '': 18 });
    expect((await checkRepository(dir)).problems).toEqual([]);
    expect((await checkRepository(dir, { tritonRelease: '24.05' })).problems).toEqual([]);
    const { problems } = await checkRepository(dir, { tritonRelease: '24.04' });
    expect(problems).toEqual([{ model: 'linear', path: '1/model.onnx', message: expect.stringMatching(/^ONNX IR 10, opset 18: Triton 24\.04 ships ONNX Runtime 1\.17\.3, which loads IR 9, opset 20 at most; /) }]);
    // --config-only reads no model file.
    expect((await checkRepository(dir, { tritonRelease: '24.04', configOnly: true })).problems).toEqual([]);
    const config = parsePbtxt(CONFIG, 'linear/config.pbtxt');
    expect(await validateModel(`${dir}/linear`, config, { tritonRelease: '24.04' })).toEqual([{ path: '1/model.onnx', message: problems[0].message }]);
    expect(await validateModel(`${dir}/linear`, config)).toEqual([]);
  });

  it('reads the stamps as written: the directory form, and the default domain as "" or "ai.onnx"', async () => {
    const r = tempRepo({ 'linear/config.pbtxt': CONFIG, 'linear/1/model.onnx/model.onnx': stampedOnnx(LINEAR_ONNX, 8, { 'ai.onnx': 20 }) });
    cleanup.push(r.done);
    const { problems } = await checkRepository(r.dir, { tritonRelease: '24.01' });
    expect(problems.map((p) => p.message)).toEqual([expect.stringMatching(/^ONNX IR 8, opset 20: Triton 24\.01 .* loads IR 9, opset 19 at most; re-export it at opset 19 or lower/)]);
  });
});
