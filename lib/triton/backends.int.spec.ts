import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addModelFiles, addModelPy, writeFiles } from '../../test/python-models';
import { venvPython } from '../../test/pythons';
import { LINEAR_ONNX } from '../repository/rules/__fixtures__/repo';
import { run } from '../../cli/serve';
import { missingBackends } from './backends';
import { TritonClient } from './client';
import { locateTritonServer } from './locate';
import { startTritonServer, writeBundlePythonBackend } from './server';
import { processesWith } from '../../test/processes';

/**
 * Issue 19.11 on the real tritonserver of nvidia-pytriton (.venv): `serve` names the models whose
 * backend the server lacks before it starts one, and what it names is what Triton itself refuses
 * ("unable to find backend library for backend ...", core src/backend_model.cc), nothing more.
 * Only the python backend (and python-based backends run by it) can be served here: a model of
 * another backend is checked by its refusal, never by a load.
 */

const python = venvPython();
const NO_BACKEND = /unable to find backend library for backend '([^']+)'|unable to find Python backend based backend library '([^']+)'/;

const io = (x: string, y: string) => `input [ { name: "${x}" data_type: TYPE_FP32 dims: [ 2 ] } ]\noutput [ { name: "${y}" data_type: TYPE_FP32 dims: [ 2 ] } ]\n`;

let root: string;
let repo: string;
let backendDir: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'nx-triton-backends-int-'));
  repo = join(root, 'repo');
  writeFiles(repo, {
    ...addModelFiles('py', 1),
    'onnx/config.pbtxt': 'name: "onnx"\nplatform: "onnxruntime_onnx"\nmax_batch_size: 8\ninput [ { name: "x" data_type: TYPE_FP32 dims: [ 4 ] } ]\noutput [ { name: "y" data_type: TYPE_FP32 dims: [ 2 ] } ]\n',
    'ts/config.pbtxt': `name: "ts"\nplatform: "pytorch_libtorch"\nmax_batch_size: 4\n${io('INPUT__0', 'OUTPUT__0')}`,
    'ts/1/model.pt': '',
    // No platform or backend: Triton's auto-complete takes it from 1/model.onnx.
    'auto/config.pbtxt': `name: "auto"\nmax_batch_size: 8\n`,
    // Python-based backends (<backend-directory>/<name>/model.py), run by the python backend.
    'echo/config.pbtxt': `name: "echo"\nbackend: "echo"\nmax_batch_size: 4\n${io('X', 'Y')}instance_group [ { kind: KIND_CPU } ]\n`,
    'echo/1/.keep': '',
    'rt/config.pbtxt': `name: "rt"\nbackend: "echo"\nruntime: "model.py"\nmax_batch_size: 4\n${io('X', 'Y')}instance_group [ { kind: KIND_CPU } ]\n`,
    'rt/1/.keep': '',
    'nosuch/config.pbtxt': `name: "nosuch"\nbackend: "nosuch"\nmax_batch_size: 4\n${io('X', 'Y')}`,
    'nosuch/1/.keep': '',
    'pipe/config.pbtxt':
      `name: "pipe"\nplatform: "ensemble"\nmax_batch_size: 4\n${io('IN', 'OUT')}` +
      'ensemble_scheduling { step [ { model_name: "py" model_version: -1 input_map { key: "X" value: "IN" } output_map { key: "Y" value: "OUT" } } ] }\n',
    'pipe/1/.keep': '',
  });
  for (const m of ['onnx', 'auto']) {
    mkdirSync(join(repo, m, '1'), { recursive: true });
    execFileSync('cp', [LINEAR_ONNX, join(repo, m, '1', 'model.onnx')]);
  }
  // The bundle's python backend and the python-based backend "echo".
  backendDir = join(root, 'backends');
  mkdirSync(backendDir);
  writeBundlePythonBackend(locateTritonServer({ python, env: { PATH: '/usr/bin:/bin' } }).bundle!, backendDir);
  mkdirSync(join(backendDir, 'echo'));
  writeFileSync(join(backendDir, 'echo', 'model.py'), addModelPy(5));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the backend check against the real tritonserver', () => {
  it('names exactly the models Triton refuses for want of a backend library', async () => {
    const models = ['auto', 'echo', 'nosuch', 'onnx', 'pipe', 'py', 'rt', 'ts'];
    // The server takes the last --backend-directory: this one, beside the one server.ts makes.
    const server = await startTritonServer({ repository: repo, python, models: [], extraArgs: [`--backend-directory=${backendDir}`], env: { PATH: '/usr/bin:/bin' } });
    const triton: Record<string, string> = {};
    try {
      const client = new TritonClient(server.url, server.log);
      // The ensemble after its member.
      for (const m of ['py', ...models.filter((x) => x !== 'py')]) {
        const loaded = await client.load(m);
        triton[m] = loaded.ok ? 'loads' : `no backend ${(NO_BACKEND.exec(loaded.error ?? '') ?? [])[1] ?? (NO_BACKEND.exec(loaded.error ?? '') ?? [])[2] ?? `(other: ${loaded.error})`}`;
      }
      const [y] = await client.infer('rt', [{ name: 'X', shape: [1, 2], datatype: 'FP32', data: [1, 2] }]);
      expect(y.data).toEqual([6, 7]);
    } finally {
      await server.stop();
    }
    const ours: Record<string, string> = {};
    for (const m of models) {
      const missing = await missingBackends(repo, [m], backendDir);
      ours[m] = missing.length === 0 ? 'loads' : `no backend ${missing[0].backend.split(' ')[0]}`;
    }
    expect(ours).toEqual(triton);
    expect(triton).toEqual({
      auto: 'no backend onnxruntime',
      echo: 'loads',
      nosuch: 'no backend nosuch',
      onnx: 'no backend onnxruntime',
      pipe: 'loads',
      py: 'loads',
      rt: 'loads',
      ts: 'no backend pytorch',
    });
  }, 180_000);

  it('nx-triton serve stops before starting a server, with one line instead of Triton\'s log', async () => {
    let out = '';
    let err = '';
    const code = await run([repo, '--model', 'pipe', '--model', 'onnx', '--model', 'auto', '--model', 'ts', '--http-port', '0', '--python', python], {
      out: (t) => (out += t),
      err: (t) => (err += t),
    });
    expect({ code, out }).toEqual({ code: 1, out: '' });
    expect(err).toMatch(
      /^nx-triton serve: no backend for 3 models it is to load: onnxruntime \(onnx, auto\); pytorch \(ts\)\. tritonserver \S+\/tritonserver \(from nvidia-pytriton\) is nvidia-pytriton's, which has the python backend only\. Serve them with a full Triton: NGC's container nvcr\.io\/nvidia\/tritonserver:<YY\.MM>-py3 has every backend /,
    );
    expect(err).not.toContain('try specifying runtime');
    expect(err.split('\n')).toHaveLength(2); // one line
    expect(processesWith(`--model-repository=${repo}`)).toEqual([]);
  });
});
