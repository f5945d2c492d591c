import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePbtxt } from '../proto/text-format';
import { A100, H100, standInEnv, trtexecBuilds } from '../test/fixtures/stand-ins';
import { TORCH1_PYTHON, VENV_PYTHON } from '../test/pythons';
import { createWorkspace, type Workspace } from './workspace';

// Two remote builders on loopback, each with its own stand-in GPU (test/fixtures/bin), started from
// the packed tarball's bin; the workspace's own machine has no GPU and no TensorRT.
const scratch = mkdtempSync(join(tmpdir(), 'nx-triton-builders-e2e-'));
const TOKEN = 'e2e-token-0123456789abcdef0123';
const trtLog = join(scratch, 'trtexec.log');

interface Builder {
  url: string;
  proc: ChildProcess;
}

function startBuilder(ws: Workspace, gpu: string, store: string, log = trtLog): Promise<Builder> {
  const proc = spawn(join(ws.root, 'node_modules/.bin/nx-triton'), ['builder', '--port', '0', '--engine-cache', store], {
    env: { ...standInEnv({ gpu, log }), NX_TRITON_BUILDER_TOKEN: TOKEN },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  return new Promise((ok, ko) => {
    const onData = (d: Buffer) => {
      text += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(text);
      if (m) ok({ url: m[1], proc });
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('exit', (code) => ko(new Error(`builder exited with ${code}: ${text}`)));
  });
}

const builds = () => trtexecBuilds(trtLog);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('remote builders and one plan per GPU architecture, from the packed tarball', () => {
  let ws: Workspace;
  const builders: Builder[] = [];
  const env = () => ({ NX_TRITON_PYTHON: TORCH1_PYTHON, NX_TRITON_BUILDER_TOKEN: TOKEN, NX_TRITON_ENGINE_CACHE: join(scratch, 'local-store') });

  beforeAll(async () => {
    ws = createWorkspace();
    builders.push(await startBuilder(ws, A100, join(scratch, 'a100')));
    builders.push(await startBuilder(ws, H100, join(scratch, 'h100')));
    for (const args of [
      ['g', 'nx-triton:init'],
      ['g', 'nx-triton:model', 'my_nn', '--maxBatchSize=8'],
      ['g', 'nx-triton:model', 'my_trt', '--from=my_nn', '--instanceGroup=gpu:1'],
    ]) {
      const r = ws.nx(args);
      if (r.code !== 0) throw new Error(r.out);
    }
  });
  afterAll(() => {
    for (const b of builders) b.proc.kill('SIGKILL');
    ws?.remove();
  });

  it('builds model_sm80.plan and model_sm90.plan on the matching builders, wired with cc_model_filenames', () => {
    const yaml = join(ws.root, 'models/my_trt/triton.yaml');
    writeFileSync(yaml, `${readFileSync(yaml, 'utf8')}\ntensorrt:\n  targets: ["8.0", "9.0"]\n  builders: [${builders.map((b) => b.url).join(', ')}]\n`);
    const r = ws.nx(['run', 'my_trt:build'], env());
    expect(r.code, r.out).toBe(0);
    expect(builds()).toBe(2);
    const entry = join(ws.root, 'dist/model-repository/my_trt');
    expect(readdirSync(join(entry, '1')).filter((f) => f.endsWith('.plan')).sort()).toEqual(['model_sm80.plan', 'model_sm90.plan']);
    for (const f of ['model_sm80.plan', 'model_sm90.plan']) expect(readFileSync(join(entry, '1', f)).subarray(0, 4).toString('latin1')).toBe('ftrt');
    const config = parsePbtxt(readFileSync(join(entry, 'config.pbtxt'), 'utf8'), 'config.pbtxt');
    expect(config.cc_model_filenames).toEqual({ '8.0': 'model_sm80.plan', '9.0': 'model_sm90.plan' });
  });

  it('serves a rebuild from the local store, with no upload and no trtexec run', () => {
    expect(ws.nx(['reset']).code).toBe(0);
    const r = ws.nx(['run', 'my_trt:build'], env());
    expect(r.code, r.out).toBe(0);
    expect(builds()).toBe(2);
  });

  it('refuses a target no builder serves before building anything', () => {
    const yaml = join(ws.root, 'models/my_trt/triton.yaml');
    writeFileSync(yaml, readFileSync(yaml, 'utf8').replace('targets: ["8.0", "9.0"]', 'targets: ["8.0", "8.6"]'));
    const r = ws.nx(['run', 'my_trt:build'], env());
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/8\.6/);
    expect(r.out).toContain(builders[0].url.replace(/\/$/, ''));
    expect(builds()).toBe(2);
  });
});

// Issue 19, item 14: torch 2.x's default (dynamo) exporter writes its weights as external data
// (model.onnx + model.onnx.data), and builders refused every such model. Both builders now get the
// data files with the ONNX: the stand-in trtexec records what lay beside the ONNX it was given.
describe('remote builders and a dynamo export with external data, from the packed tarball', () => {
  let ws: Workspace;
  const builders: Builder[] = [];
  const log = join(scratch, 'dynamo-trtexec.log');
  const env = () => ({ NX_TRITON_PYTHON: VENV_PYTHON, NX_TRITON_BUILDER_TOKEN: TOKEN, NX_TRITON_ENGINE_CACHE: join(scratch, 'dynamo-local-store') });

  beforeAll(async () => {
    ws = createWorkspace();
    builders.push(await startBuilder(ws, A100, join(scratch, 'dynamo-a100'), log));
    builders.push(await startBuilder(ws, H100, join(scratch, 'dynamo-h100'), log));
    for (const args of [
      ['g', 'nx-triton:init'],
      ['g', 'nx-triton:model', 'dyn_nn', '--maxBatchSize=8'],
      ['g', 'nx-triton:model', 'dyn_trt', '--from=dyn_nn'],
    ]) {
      const r = ws.nx(args);
      if (r.code !== 0) throw new Error(r.out);
    }
  });
  afterAll(() => {
    for (const b of builders) b.proc.kill('SIGKILL');
    ws?.remove();
  });

  it('builds a dynamo export with external data through both builders', () => {
    const yaml = join(ws.root, 'models/dyn_trt/triton.yaml');
    writeFileSync(yaml, `${readFileSync(yaml, 'utf8')}\ntensorrt:\n  targets: ["8.0", "9.0"]\n  builders: [${builders.map((b) => b.url).join(', ')}]\n`);
    const r = ws.nx(['run', 'dyn_trt:build'], env());
    expect(r.code, r.out).toBe(0);
    expect(readdirSync(join(ws.root, 'dist/models/dyn_nn/export')).sort()).toEqual(['model.onnx', 'model.onnx.data', 'verify.json']);
    const runs = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string; beside?: string[] });
    const built = runs.filter((run) => run.kind === 'build');
    expect(built).toHaveLength(2);
    for (const run of built) expect(run.beside).toEqual(['model.onnx', 'model.onnx.data']);
    const entry = join(ws.root, 'dist/model-repository/dyn_trt');
    expect(readdirSync(join(entry, '1')).filter((f) => f.endsWith('.plan')).sort()).toEqual(['model_sm80.plan', 'model_sm90.plan']);
    const provenance = JSON.parse(readFileSync(join(ws.root, 'dist/models/dyn_trt/engine/engine.json'), 'utf8'));
    expect(Object.keys(provenance.targets['9.0'].parts.onnx.external_data)).toEqual(['model.onnx.data']);
  });
});
