import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exportDir } from '../../lib/layout';
import { ABS_ONNX } from '../../lib/repository/rules/__fixtures__/repo';
import { parsePbtxt } from '../../proto/text-format';
import { executorContext, printed } from '../../test/executor-context';
import buildExecutor from './executor';

let ws: string;

beforeEach(() => {
  ws = mkdtempSync(join(tmpdir(), 'nx-triton-build-exec-'));
});
afterEach(() => rmSync(ws, { recursive: true, force: true }));

function project(name: string, yaml: string, exported: boolean): void {
  mkdirSync(join(ws, 'models', name), { recursive: true });
  writeFileSync(join(ws, 'models', name, 'triton.yaml'), yaml);
  cpSync(ABS_ONNX, join(ws, 'models', name, 'model.onnx'));
  if (exported) {
    mkdirSync(exportDir(ws, name), { recursive: true });
    cpSync(ABS_ONNX, join(exportDir(ws, name), 'model.onnx'));
  }
}

function context(projectName: string) {
  return executorContext(ws, projectName, { projects: { abs: 'models/abs', abs_trt: 'models/abs_trt', other: 'libs/other' } });
}

describe('build executor', () => {
  it('writes the entry into the default repository and prints one line', async () => {
    project('abs', 'export:\n  file: model.onnx\n', true);
    const { result, out } = await printed(() => buildExecutor({}, context('abs')));
    expect(result).toEqual({ success: true });
    expect(out).toContain('nx-triton: wrote dist/model-repository/abs (config.pbtxt, 1/model.onnx)');
    expect(readdirSync(join(ws, 'dist', 'model-repository', 'abs', '1'))).toEqual(['model.onnx']);
    const text = readFileSync(join(ws, 'dist', 'model-repository', 'abs', 'config.pbtxt'), 'utf8');
    expect(parsePbtxt(text, 'config.pbtxt')).toEqual({
      name: 'abs',
      platform: 'onnxruntime_onnx',
      input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [3, 4, 5] }],
      output: [{ name: 'y', data_type: 'TYPE_FP32', dims: [3, 4, 5] }],
    });
  });

  it('honours the repository option and resolves from: through the project graph', async () => {
    project('abs', 'export:\n  file: model.onnx\n', true);
    project('abs_trt', 'platform: tensorrt_plan\nfrom: abs\n', false);
    const { result, err } = await printed(() => buildExecutor({ repository: 'out/repo' }, context('abs_trt')));
    expect(result).toEqual({ success: false });
    expect(err).toContain('models/abs_trt/triton.yaml: the TensorRT engine is missing: dist/models/abs_trt/engine is empty or absent; run the engine target first (nx run abs_trt:engine)');
    expect(err).not.toContain('    at ');
  });

  it('prints a spec error without a stack and writes nothing', async () => {
    project('abs', 'max_batch_size: 4\nexport:\n  file: model.onnx\n', true);
    const { result, err } = await printed(() => buildExecutor({}, context('abs')));
    expect(result).toEqual({ success: false });
    expect(err).toContain(
      'models/abs/triton.yaml:1:1: max_batch_size: 4 needs a dynamic first (batch) dim on every input and output, but input "x" has a fixed first dim: shape [3, 4, 5] in dist/models/abs/export/model.onnx; set max_batch_size: 0 or export with a dynamic batch dim',
    );
    expect(err).not.toContain('    at ');
    expect(readdirSync(ws).sort()).toEqual(['dist', 'models']);
    expect(readdirSync(join(ws, 'dist'))).toEqual(['models']);
  });
});
