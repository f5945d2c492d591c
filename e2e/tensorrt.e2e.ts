import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePbtxt } from '../proto/text-format';
import { A100, H100, standInVars, trtexecBuilds } from '../test/fixtures/stand-ins';
import { TORCH1_PYTHON } from '../test/pythons';
import { createWorkspace, type Workspace } from './workspace';

// trtexec and nvidia-smi are test stand-ins (test/fixtures/bin): no GPU or TensorRT here.
const scratch = mkdtempSync(join(tmpdir(), 'nx-triton-trt-e2e-'));
const trtLog = join(scratch, 'trtexec.log');
const gpuEnv = (gpu: string) => ({ ...standInVars({ gpu, log: trtLog, store: join(scratch, 'engines') }), NX_TRITON_PYTHON: TORCH1_PYTHON });
/** Engine builds trtexec ran (the stand-in logs every run; `--help` runs read the version). */
const trtexecRuns = () => trtexecBuilds(trtLog);

describe('a TensorRT model made from an ONNX model, in a fresh workspace (stand-in trtexec)', () => {
  let ws: Workspace;
  const trtYaml = () => join(ws.root, 'models/my_trt/triton.yaml');

  beforeAll(() => {
    ws = createWorkspace();
    for (const args of [
      ['g', 'nx-triton:init'],
      ['g', 'nx-triton:model', 'my_nn', '--maxBatchSize=16', '--instanceGroup=gpu:1'],
      ['g', 'nx-triton:model', 'my_trt', '--from=my_nn', '--instanceGroup=gpu:2'],
      ['g', 'nx-triton:model', 'other', '--maxBatchSize=4'],
    ]) {
      const r = ws.nx(args);
      if (r.code !== 0) throw new Error(r.out);
    }
  });
  afterAll(() => {
    ws?.remove();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('builds model.plan through trtexec, with the ONNX model\'s I/O and platform tensorrt_plan', () => {
    const r = ws.nx(['run', 'my_trt:build'], gpuEnv(A100));
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('[trtexec my_trt]');
    expect(trtexecRuns()).toBe(1);
    const entry = join(ws.root, 'dist/model-repository/my_trt');
    const plan = readFileSync(join(entry, '1/model.plan'));
    expect(plan.subarray(0, 4).toString('latin1')).toBe('ftrt');
    const trt = parsePbtxt(readFileSync(join(entry, 'config.pbtxt'), 'utf8'), 'config.pbtxt');
    const onnx = parsePbtxt(readFileSync(join(ws.root, 'dist/model-repository/my_nn/config.pbtxt'), 'utf8'), 'config.pbtxt');
    expect(trt).toMatchObject({ name: 'my_trt', platform: 'tensorrt_plan', max_batch_size: 16, instance_group: [{ kind: 'KIND_GPU', count: 2 }] });
    expect(trt.input).toEqual(onnx.input);
    expect(trt.output).toEqual(onnx.output);
  });

  it('reuses the engine from the store when the Nx cache is gone, and after an instance_group edit', () => {
    expect(ws.nx(['reset']).code).toBe(0);
    let r = ws.nx(['run', 'my_trt:build'], gpuEnv(A100));
    expect(r.code, r.out).toBe(0);
    expect(trtexecRuns()).toBe(1);
    writeFileSync(trtYaml(), readFileSync(trtYaml(), 'utf8').replace(/count: 2/, 'count: 3'));
    r = ws.nx(['run', 'my_trt:build'], gpuEnv(A100));
    expect(r.code, r.out).toBe(0);
    expect(trtexecRuns()).toBe(1);
    expect(readFileSync(join(ws.root, 'dist/model-repository/my_trt/config.pbtxt'), 'utf8')).toMatch(/count: 3/);
  });

  it('builds a new engine for another GPU', () => {
    const r = ws.nx(['run', 'my_trt:build'], gpuEnv(H100));
    expect(r.code, r.out).toBe(0);
    expect(trtexecRuns()).toBe(2);
    const provenance = JSON.parse(readFileSync(join(ws.root, 'dist/model-repository/my_trt/1/engine.json'), 'utf8'));
    expect(JSON.stringify(provenance)).toContain('H100');
  });

  it('says what is missing when there is no trtexec', () => {
    const env = { ...gpuEnv(A100), PATH: process.env.PATH ?? '', NX_TRITON_ENGINE_CACHE: join(scratch, 'empty-store') };
    writeFileSync(trtYaml(), readFileSync(trtYaml(), 'utf8').replace(/count: 3/, 'count: 4'));
    const r = ws.nx(['run', 'my_trt:build', '--skip-nx-cache'], env);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/trtexec/);
    expect(r.out).not.toMatch(/^\s+at .*\.js:\d+/m);
  });

  it('nx affected follows from: — a change to the ONNX model affects the TensorRT model, not the others', () => {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: ws.root, stdio: 'pipe' });
    git('add', '-A');
    git('-c', 'user.name=e2e', '-c', 'user.email=e2e@example.com', 'commit', '-qm', 'models');
    const net = join(ws.root, 'models/my_nn/net.py');
    writeFileSync(net, `${readFileSync(net, 'utf8')}\n# retrained\n`);
    const r = ws.nx(['show', 'projects', '--affected', '--base=HEAD']);
    expect(r.code, r.out).toBe(0);
    expect(r.out.split('\n').map((l) => l.trim()).filter((l) => /^[a-z_]+$/.test(l)).sort()).toEqual(['my_nn', 'my_trt']);
  });
});
