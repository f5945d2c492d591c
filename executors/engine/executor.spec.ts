import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { logger } from '@nx/devkit';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { A100, standInEnv } from '../../test/fixtures/stand-ins';
import { executorContext } from '../../test/executor-context';
import engineExecutor from './executor';

const ROOT = resolve(__dirname, '../..');
const ONNX = join(ROOT, 'lib/engine/__fixtures__/relu_batch.onnx');
const base = mkdtempSync(join(tmpdir(), 'nx-triton-engine-exec-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

let ws: string;
let n = 0;
const savedEnv = { ...process.env };
let errors: string[];

beforeEach(() => {
  ws = join(base, `ws${n++}`);
  process.env = standInEnv({ gpu: A100, log: join(ws, 'trtexec.log'), store: join(ws, 'store') }, savedEnv);
  errors = [];
  vi.spyOn(logger, 'error').mockImplementation((m: unknown) => void errors.push(String(m)));
  vi.spyOn(logger, 'info').mockImplementation(() => undefined);
  write('models/my_onnx/triton.yaml', 'platform: onnxruntime_onnx\nmax_batch_size: 8\nexport:\n  file: model.onnx\n');
  copyFileSync(ONNX, join(ws, 'models/my_onnx/model.onnx'));
});

afterEach(() => {
  process.env = { ...savedEnv };
  vi.restoreAllMocks();
});

function write(rel: string, text: string): void {
  mkdirSync(join(ws, rel, '..'), { recursive: true });
  writeFileSync(join(ws, rel), text);
}

function exported(): void {
  mkdirSync(join(ws, 'dist/models/my_onnx/export'), { recursive: true });
  copyFileSync(ONNX, join(ws, 'dist/models/my_onnx/export/model.onnx'));
}

function context(projectName = 'my_trt') {
  return executorContext(ws, projectName, { projects: { my_onnx: 'models/my_onnx', my_mid: 'models/my_mid', my_trt: 'models/my_trt' }, targetName: 'engine' });
}

describe('engine executor', () => {
  it('builds the plan of a from: model into dist/models/<name>/engine, through the store', async () => {
    write('models/my_trt/triton.yaml', 'platform: tensorrt_plan\nfrom: my_onnx\ntensorrt:\n  workspace: 512\n');
    exported();
    expect(await engineExecutor({}, context())).toEqual({ success: true });
    const out = join(ws, 'dist/models/my_trt/engine');
    expect(readFileSync(join(out, 'model.plan')).toString('latin1', 0, 4)).toBe('ftrt');
    const provenance = JSON.parse(readFileSync(join(out, 'engine.json'), 'utf8'));
    expect(provenance.parts.options).toEqual(['--minShapes=x:1x4', '--optShapes=x:8x4', '--maxShapes=x:8x4', '--memPoolSize=workspace:512M', '--skipInference']);

    rmSync(join(ws, 'dist/models/my_trt'), { recursive: true });
    expect(await engineExecutor({}, context())).toEqual({ success: true });
    const runs = readFileSync(join(ws, 'trtexec.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(runs.filter((r) => r.kind === 'build')).toHaveLength(1);
    expect(errors).toEqual([]);
  });

  it("takes the engine store from nx.json's plugin option engineCache (it is not in the target's options)", async () => {
    delete process.env.NX_TRITON_ENGINE_CACHE;
    write('models/my_trt/triton.yaml', 'platform: tensorrt_plan\nfrom: my_onnx\n');
    exported();
    const ctx = { ...context(), nxJsonConfiguration: { plugins: [{ plugin: 'nx-triton', options: { engineCache: 'stores/engines' } }] } };
    expect(await engineExecutor({}, ctx)).toEqual({ success: true });
    expect(existsSync(join(ws, 'stores/engines'))).toBe(true);
    expect(existsSync(join(ws, 'store'))).toBe(false);
  });

  it('follows a from: chain to the model that exports, folding each level', async () => {
    write('models/my_mid/triton.yaml', 'from: my_onnx\nmax_batch_size: 4\n');
    write('models/my_trt/triton.yaml', 'platform: tensorrt_plan\nfrom: my_mid\n');
    exported();
    expect(await engineExecutor({}, context())).toEqual({ success: true });
    const provenance = JSON.parse(readFileSync(join(ws, 'dist/models/my_trt/engine/engine.json'), 'utf8'));
    expect(provenance.parts.options).toContain('--maxShapes=x:4x4');
    expect(errors).toEqual([]);
  });

  it('names a from: cycle', async () => {
    write('models/my_mid/triton.yaml', 'from: my_trt\n');
    write('models/my_trt/triton.yaml', 'platform: tensorrt_plan\nfrom: my_mid\n');
    expect(await engineExecutor({}, context())).toEqual({ success: false });
    expect(errors).toEqual(['models/my_mid/triton.yaml:1:1: from: "my_trt" -> "my_mid" -> "my_trt" is a cycle']);
  });

  it('says to run the export first when the ONNX is missing', async () => {
    write('models/my_trt/triton.yaml', 'platform: tensorrt_plan\nfrom: my_onnx\n');
    expect(await engineExecutor({}, context())).toEqual({ success: false });
    expect(errors).toEqual(['models/my_trt/triton.yaml: no ONNX model at dist/models/my_onnx/export/model.onnx: run my_onnx:export first']);
  });

  it('reports a TensorRT 11 precision flag as a user error', async () => {
    process.env.FAKE_TRT_VERSION = '11.1.0';
    write('models/my_trt/triton.yaml', 'platform: tensorrt_plan\nfrom: my_onnx\ntensorrt:\n  precision: fp16\n');
    exported();
    expect(await engineExecutor({}, context())).toEqual({ success: false });
    // Placed where tensorrt.precision was written (issue 12.12: TensorRT option errors name file:line).
    expect(errors[0]).toMatch(/^models\/my_trt\/triton\.yaml:4:3: tensorrt\.precision: "fp16" cannot be used with TensorRT 11\.1\.0/);
    expect(existsSync(join(ws, 'dist/models/my_trt/engine'))).toBe(false);
  });

  it('uses the engineCache option when the env does not set one', async () => {
    delete process.env.NX_TRITON_ENGINE_CACHE;
    write('models/my_trt/triton.yaml', 'platform: tensorrt_plan\nfrom: my_onnx\n');
    exported();
    expect(await engineExecutor({ engineCache: '.engines' }, context())).toEqual({ success: true });
    expect(existsSync(join(ws, '.engines/locks'))).toBe(true);
  });
});
