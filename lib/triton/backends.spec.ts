import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { userErrorMessage } from '../../test/expect-user-error';
import { backendDirectoryOf, backendsIn, checkBackends, missingBackends } from './backends';
import type { TritonServerBinary } from './locate';

// Which backend each model needs, found as Triton's core finds it (core src/backend_model.cc); that
// Triton itself agrees, on the real server: backends.int.spec.ts.

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'nx-triton-backends-spec-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function files(base: string, entries: Record<string, string>): string {
  for (const [rel, text] of Object.entries(entries)) {
    mkdirSync(dirname(join(base, rel)), { recursive: true });
    writeFileSync(join(base, rel), text);
  }
  return base;
}

const io = 'input [ { name: "X" data_type: TYPE_FP32 dims: [ 2 ] } ]\noutput [ { name: "Y" data_type: TYPE_FP32 dims: [ 2 ] } ]\n';

function repository(): string {
  return files(join(root, 'repo'), {
    'py/config.pbtxt': `name: "py"\nbackend: "python"\n${io}`,
    'py/1/model.py': '',
    'onnx/config.pbtxt': `name: "onnx"\nplatform: "onnxruntime_onnx"\n${io}`,
    'onnx/1/model.onnx': '',
    // No platform or backend: Triton's auto-complete reads the model file name.
    'auto/config.pbtxt': `name: "auto"\n${io}`,
    'auto/1/model.pt': '',
    // No config.pbtxt at all.
    'bare/1/model.onnx': '',
    'pipe/config.pbtxt': `name: "pipe"\nplatform: "ensemble"\n${io}`,
    'pipe/1/.keep': '',
    'echo/config.pbtxt': `name: "echo"\nbackend: "echo"\n${io}`,
    'echo/1/.keep': '',
    'own/config.pbtxt': `name: "own"\nbackend: "own"\n${io}`,
    'own/1/libtriton_own.so': '',
    'custom/config.pbtxt': `name: "custom"\nbackend: "custom"\nruntime: "libcustom.so"\n${io}`,
    'custom/1/.keep': '',
    'broken/config.pbtxt': 'name: "broken"\nplatform: [\n',
  });
}

const bundleDir = () => files(join(root, 'bundle-backends'), { 'python/libtriton_python.so': '', 'python/triton_python_backend_utils.py': '' });

describe('missingBackends', () => {
  it("nvidia-pytriton's python backend alone: every model of another backend, by what its config or model file says", async () => {
    const repo = repository();
    expect(await missingBackends(repo, '*', bundleDir())).toEqual([
      { model: 'auto', backend: 'pytorch' },
      { model: 'bare', backend: 'onnxruntime' },
      { model: 'custom', backend: 'custom (runtime libcustom.so)' },
      { model: 'echo', backend: 'echo' },
      { model: 'onnx', backend: 'onnxruntime' },
    ]);
    // Only the models asked for; an ensemble needs no backend of its own.
    expect(await missingBackends(repo, ['py', 'pipe'], bundleDir())).toEqual([]);
  });

  it('finds libtriton_<b>.so in <dir>/<b>/, the model or version directory; a python-based backend by <dir>/<b>/model.py and the python backend', async () => {
    const repo = repository();
    const full = files(join(root, 'full'), {
      'python/libtriton_python.so': '',
      'onnxruntime/libtriton_onnxruntime.so': '',
      'pytorch/libtriton_pytorch.so': '',
      'echo/model.py': '',
    });
    expect(await missingBackends(repo, '*', full)).toEqual([{ model: 'custom', backend: 'custom (runtime libcustom.so)' }]);
    writeFileSync(join(repo, 'custom', 'libcustom.so'), '');
    expect(await missingBackends(repo, '*', full)).toEqual([]);
    // A python-based backend without the python backend to run it.
    rmSync(join(full, 'python'), { recursive: true });
    expect(await missingBackends(repo, ['echo', 'onnx'], full)).toEqual([{ model: 'echo', backend: 'echo' }]);
    // runtime: "model.py" asks for the python-based one even where a C++ library exists.
    files(full, { 'python/libtriton_python.so': '', 'rt/libtriton_rt.so': '' });
    files(repo, { 'rt/config.pbtxt': `name: "rt"\nbackend: "rt"\nruntime: "model.py"\n${io}`, 'rt/1/.keep': '' });
    expect(await missingBackends(repo, ['rt'], full)).toEqual([{ model: 'rt', backend: 'rt (runtime model.py)' }]);
    writeFileSync(join(full, 'rt', 'model.py'), '');
    expect(await missingBackends(repo, ['rt'], full)).toEqual([]);
  });

  it('follows a model directory that is a symbolic link, as Triton does', async () => {
    const repo = repository();
    const elsewhere = files(join(root, 'elsewhere'), { 'config.pbtxt': `name: "linked"\nplatform: "onnxruntime_onnx"\n${io}`, '1/model.onnx': '' });
    symlinkSync(elsewhere, join(repo, 'linked'));
    expect(await missingBackends(repo, ['linked'], bundleDir())).toEqual([{ model: 'linked', backend: 'onnxruntime' }]);
  });
});

describe('checkBackends', () => {
  const bundle = (): TritonServerBinary => ({
    binary: '/venv/pytriton/tritonserver/bin/tritonserver',
    source: 'nvidia-pytriton',
    bundle: { root: join(root, 'bundle'), libDir: '', stub: '', pythonVersion: '3.11', sitePackages: [], libPythonDir: '' },
  });

  it("names the models, the backends missing, and how to get a full Triton, in one line", async () => {
    const repo = repository();
    files(join(root, 'bundle', 'backends'), { 'python/libtriton_python.so': '' });
    expect(await userErrorMessage(checkBackends({ repository: repo, models: ['onnx', 'auto', 'bare', 'py'], binary: bundle(), tritonRelease: '24.08' }))).toBe(
      'nx-triton serve: no backend for 3 models it is to load: onnxruntime (onnx, bare); pytorch (auto). ' +
        "tritonserver /venv/pytriton/tritonserver/bin/tritonserver (from nvidia-pytriton) is nvidia-pytriton's, which has the python backend only. " +
        "Serve them with a full Triton: NGC's container nvcr.io/nvidia/tritonserver:24.08-py3 has every backend (/opt/tritonserver/bin/tritonserver, " +
        'backends in /opt/tritonserver/backends); point the "tritonserver" option in nx.json, NX_TRITON_SERVER or --tritonserver at its tritonserver',
    );
    await checkBackends({ repository: repo, models: ['py', 'pipe'], binary: bundle() });
  });

  it('for another server, its backend directory (--backend-directory, else /opt/tritonserver/backends) and what it holds', async () => {
    const repo = repository();
    const dir = files(join(root, 'opt-backends'), { 'python/libtriton_python.so': '', 'onnxruntime/libtriton_onnxruntime.so': '', 'empty/.keep': '' });
    const binary: TritonServerBinary = { binary: '/opt/tritonserver/bin/tritonserver', source: 'PATH' };
    expect(backendDirectoryOf(binary)).toBe('/opt/tritonserver/backends');
    expect(backendDirectoryOf(binary, ['--backend-directory', dir])).toBe(dir);
    expect(backendDirectoryOf(binary, [`--backend-directory=${dir}`])).toBe(dir);
    expect(backendsIn(dir)).toEqual(['onnxruntime', 'python']);
    expect(await userErrorMessage(checkBackends({ repository: repo, models: ['onnx', 'auto'], binary, extraArgs: [`--backend-directory=${dir}`] }))).toBe(
      'nx-triton serve: no backend for a model it is to load: pytorch (auto). ' +
        `tritonserver /opt/tritonserver/bin/tritonserver (from PATH) looks for backends in ${dir}, which has onnxruntime, python. ` +
        "Serve it with a full Triton: NGC's container nvcr.io/nvidia/tritonserver:<YY.MM>-py3 has every backend (/opt/tritonserver/bin/tritonserver, " +
        'backends in /opt/tritonserver/backends); point the "tritonserver" option in nx.json, NX_TRITON_SERVER or --tritonserver at its tritonserver',
    );
    expect(await userErrorMessage(checkBackends({ repository: repo, models: ['onnx'], binary, extraArgs: [`--backend-directory=${join(root, 'nowhere')}`] }))).toMatch(
      /looks for backends in .*nowhere, which has none \(no such directory\)\. /,
    );
  });
});
