import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TritonClient } from '../lib/triton/client';
import { freePort, isReady } from '../lib/triton/server';
import { LINEAR_ONNX } from '../lib/repository/rules/__fixtures__/repo';
import { addModelPy } from '../test/python-models';
import { venvPython } from '../test/pythons';
import { createWorkspace, nxEnv, type Workspace } from './workspace';
import { processesWith, until } from '../test/processes';

// `nx run <model>:serve` in a fresh workspace with the packed tarball: the real tritonserver of
// nvidia-pytriton (.venv) serves a python-backend model and an ensemble over it.

const ADD_ONE = addModelPy(1);

const FILES: Record<string, string> = {
  'models/add_one/triton.yaml':
    'backend: python\nmax_batch_size: 4\ninput: [{ name: X, data_type: fp32, dims: [2] }]\noutput: [{ name: Y, data_type: fp32, dims: [2] }]\n' +
    'instance_group: [{ kind: cpu }]\nexport: { file: model.py }\n',
  'models/add_one/model.py': ADD_ONE,
  // pipe(IN) = add_one(add_one(IN)) = IN + 2
  'models/pipe/triton.yaml':
    'platform: ensemble\nmax_batch_size: 4\ninput: [{ name: IN, data_type: fp32, dims: [2] }]\noutput: [{ name: OUT, data_type: fp32, dims: [2] }]\n' +
    'ensemble_scheduling:\n  step:\n' +
    '    - { model_name: add_one, model_version: -1, input_map: { X: IN }, output_map: { Y: mid } }\n' +
    '    - { model_name: add_one, model_version: -1, input_map: { X: mid }, output_map: { Y: OUT } }\n',
  // An unrelated model in the same repository: serve leaves it unloaded.
  'models/other/triton.yaml':
    'backend: python\nmax_batch_size: 4\ninput: [{ name: X, data_type: fp32, dims: [2] }]\noutput: [{ name: Y, data_type: fp32, dims: [2] }]\n' +
    'instance_group: [{ kind: cpu }]\nexport: { file: model.py }\n',
  'models/other/model.py': ADD_ONE,
};

describe('nx run <model>:serve in a fresh workspace', () => {
  let ws: Workspace;
  const env = { NX_TRITON_PYTHON: venvPython(), PATH: `${join(process.execPath, '..')}:/usr/bin:/bin` };

  beforeAll(() => {
    ws = createWorkspace();
    const init = ws.nx(['g', 'nx-triton:init']);
    if (init.code !== 0) throw new Error(init.out);
    for (const [file, text] of Object.entries(FILES)) {
      mkdirSync(join(ws.root, file, '..'), { recursive: true });
      writeFileSync(join(ws.root, file), text);
    }
    // An ONNX model: nvidia-pytriton's server has no onnxruntime backend.
    mkdirSync(join(ws.root, 'models/linear'), { recursive: true });
    writeFileSync(join(ws.root, 'models/linear/triton.yaml'), 'platform: onnxruntime_onnx\nmax_batch_size: 8\nexport: { file: model.onnx }\n');
    copyFileSync(LINEAR_ONNX, join(ws.root, 'models/linear/model.onnx'));
  });
  afterAll(() => ws?.remove());

  it('shows the serve target: continuous, not cached, after the builds, ready on /v2/health/ready', () => {
    const r = ws.nx(['show', 'project', 'pipe', '--json']);
    expect(r.code, r.out).toBe(0);
    const serve = JSON.parse(r.out.slice(r.out.indexOf('{'))).targets.serve;
    expect(serve).toMatchObject({
      executor: 'nx-triton:serve',
      continuous: true,
      cache: false,
      dependsOn: ['build', { target: 'build', dependencies: true }],
      readyWhen: { signal: true },
    });
  });

  it('builds the ensemble and its member, serves just those, answers an inference and leaves nothing on SIGINT', async () => {
    const port = await freePort();
    const repository = join(ws.root, 'dist/model-repository');
    // `other` is built too, so the repository holds a model that serving pipe must leave unloaded.
    const other = ws.nx(['run', 'other:build'], env);
    expect(other.code, other.out).toBe(0);
    const nx = spawn(join(ws.root, 'node_modules/.bin/nx'), ['run', 'pipe:serve', `--httpPort=${port}`], {
      cwd: ws.root,
      env: { ...process.env, ...nxEnv, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    nx.stdout.on('data', (c: Buffer) => (out += c.toString()));
    nx.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((ok) => nx.on('exit', (code) => ok(code)));
    let gone = false;
    void exited.then(() => (gone = true));
    const url = `http://127.0.0.1:${port}`;
    try {
      await until('the server to be ready', async () => {
        if (gone) throw new Error(`nx exited before the server was ready:\n${out}`);
        return isReady(url);
      }, 240_000, 250);
      const client = new TritonClient(url);
      const [y] = await client.infer('pipe', [{ name: 'IN', shape: [2, 2], datatype: 'FP32', data: [1, 2, 3, 4.5] }]);
      expect(y).toMatchObject({ name: 'OUT', datatype: 'FP32', shape: [2, 2], data: [3, 4, 5, 6.5] });
      const states = Object.fromEntries((await client.index()).map((m) => [m.name, m.state ?? 'UNLOADED']));
      expect(states).toEqual({ add_one: 'READY', other: 'UNLOADED', pipe: 'READY' });
      expect(out).toContain(`nx-triton serve: tritonserver`);
      expect(out).toContain('is ready, serving pipe, add_one');
      expect(out).toContain(`  HTTP     ${url}  (ready: ${url}/v2/health/ready)`);
    } finally {
      nx.kill('SIGINT');
    }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 60_000))]);
    expect(gone, out).toBe(true);
    await until('no server left', () => processesWith(repository).length === 0, 30_000);
    // That covers the python backend's stubs: their command lines name their model.py in the repository.
    expect(await isReady(url)).toBe(false);
  }, 400_000);

  // Issue 19.11: the target checks the server's backends before it starts one.
  it('refuses to serve an ONNX model with nvidia-pytriton\'s server, in one line naming the model, the backend and a full Triton', async () => {
    const r = ws.nx(['run', 'linear:serve', '--httpPort=0'], env);
    expect(r.code, r.out).not.toBe(0);
    expect(r.out).toMatch(
      /nx-triton serve: no backend for a model it is to load: onnxruntime \(linear\)\. tritonserver \S+ \(from nvidia-pytriton\) is nvidia-pytriton's, which has the python backend only\. Serve it with a full Triton: NGC's container nvcr\.io\/nvidia\/tritonserver:<YY\.MM>-py3/,
    );
    expect(r.out).not.toContain('try specifying runtime');
    expect(processesWith(join(ws.root, 'dist/model-repository'))).toEqual([]);
  }, 400_000);

  // Issue 22 N17: with --httpPort=0 (a free port) a url probe, filled in from the options before the task
  // starts, polled port 0; the executor now signals readiness with the URL Triton listens on, which nx
  // hands to the waiting task as NX_READY_URL.
  it('a task that waits for serve to be ready (readyWhen) infers at the URL it is given, on a free port, and nx stops the server when it is done', async () => {
    // The user's own settings beside the inferred target: a free port, and a smoke test that waits for readiness.
    writeFileSync(join(ws.root, 'models/pipe/project.json'), JSON.stringify({ targets: { serve: { options: { httpPort: 0 } } } }));
    mkdirSync(join(ws.root, 'smoke'), { recursive: true });
    writeFileSync(
      join(ws.root, 'smoke/infer.mjs'),
      `const base = process.env.NX_READY_URL;\n` +
        `const res = await fetch(new URL('v2/models/pipe/infer', base), { method: 'POST', body: JSON.stringify({ inputs: [{ name: 'IN', shape: [1, 2], datatype: 'FP32', data: [10, 20] }] }) });\n` +
        `console.log('SMOKE ' + base + ' ' + res.status + ' ' + JSON.stringify((await res.json()).outputs[0].data));\n`,
    );
    writeFileSync(
      join(ws.root, 'smoke/project.json'),
      JSON.stringify({
        name: 'smoke',
        targets: { infer: { command: 'node smoke/infer.mjs', dependsOn: [{ projects: ['pipe'], target: 'serve', waitFor: 'ready' }] } },
      }),
    );
    const r = await new Promise<{ code: number | null; out: string }>((ok) => {
      const child = spawn(join(ws.root, 'node_modules/.bin/nx'), ['run', 'smoke:infer'], { cwd: ws.root, env: { ...process.env, ...nxEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      child.stdout.on('data', (c: Buffer) => (text += c.toString()));
      child.stderr.on('data', (c: Buffer) => (text += c.toString()));
      child.on('exit', (code) => ok({ code, out: text }));
    });
    expect(r.code, r.out).toBe(0);
    const smoke = /SMOKE (http:\/\/127\.0\.0\.1:(\d+)\/) 200 \[12,22\]/.exec(r.out);
    expect(smoke, r.out).not.toBeNull();
    expect(Number(smoke![2])).toBeGreaterThan(0);
    await until('no server left', () => processesWith(join(ws.root, 'dist/model-repository')).length === 0, 30_000);
    expect(await isReady(smoke![1].slice(0, -1))).toBe(false);
  }, 400_000);
});

// nx 22 and 23 know continuous targets but not readyWhen: the target comes without it.
describe.each(['22.6.1', '23.3.2'])('the serve target with nx %s', (nxVersion) => {
  let ws: Workspace;
  beforeAll(() => {
    ws = createWorkspace({ nxVersion });
    const init = ws.nx(['g', 'nx-triton:init']);
    if (init.code !== 0) throw new Error(init.out);
    mkdirSync(join(ws.root, 'models/add_one'), { recursive: true });
    writeFileSync(join(ws.root, 'models/add_one/triton.yaml'), FILES['models/add_one/triton.yaml']);
    writeFileSync(join(ws.root, 'models/add_one/model.py'), ADD_ONE);
  });
  afterAll(() => ws?.remove());

  it('is continuous and not cached, with no readyWhen', () => {
    const r = ws.nx(['show', 'project', 'add_one', '--json']);
    expect(r.code, r.out).toBe(0);
    const serve = JSON.parse(r.out.slice(r.out.indexOf('{'))).targets.serve;
    expect(serve).toMatchObject({ executor: 'nx-triton:serve', continuous: true, cache: false, dependsOn: ['build', { target: 'build', dependencies: true }] });
    expect(serve).not.toHaveProperty('readyWhen');
  });
});
