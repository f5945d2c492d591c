import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userErrorMessage } from '../../test/expect-user-error';
import { addModelFiles, addModelPy, writeFiles } from '../../test/python-models';
import { venvPython } from '../../test/pythons';
import { TritonClient } from './client';
import { locateTritonServer } from './locate';
import { isReady, startTritonServer } from './server';
import { processesWith } from '../../test/processes';

// The real tritonserver of nvidia-pytriton (in .venv): python backend only, on CPU.

function repository(): string {
  const root = mkdtempSync(join(tmpdir(), 'nx-triton-server-'));
  writeFiles(root, addModelFiles('add_one', 1));
  return root;
}

const python = venvPython();
let repo: string;
beforeAll(() => {
  repo = repository();
});
afterAll(() => rmSync(repo, { recursive: true, force: true }));

describe('locateTritonServer', () => {
  it('finds the bundle of nvidia-pytriton installed for the configured interpreter', () => {
    const found = locateTritonServer({ python, env: { PATH: '/usr/bin:/bin' } });
    expect(found.source).toBe('nvidia-pytriton');
    expect(found.binary).toBe(resolve(found.bundle!.root, 'bin', 'tritonserver'));
    expect(found.bundle!.pythonVersion).toMatch(/^3\.\d+$/);
  });

  it('prefers the option, then NX_TRITON_SERVER, and names a binary that is not there', async () => {
    const env = { PATH: '/usr/bin:/bin', NX_TRITON_SERVER: '/bin/true' };
    expect(locateTritonServer({ python, env }).binary).toBe('/bin/true');
    expect(locateTritonServer({ python, env, tritonserver: '/bin/false' }).source).toBe('option');
    const message = await userErrorMessage(Promise.resolve().then(() => locateTritonServer({ env: { NX_TRITON_SERVER: '/no/such/tritonserver' } })));
    expect(message).toBe('nx-triton: tritonserver "/no/such/tritonserver" (from NX_TRITON_SERVER) is not an executable file');
  });

  it('says why when no server can be found', async () => {
    const message = await userErrorMessage(
      Promise.resolve().then(() => locateTritonServer({ python: '/usr/bin/python3', env: { PATH: '/usr/bin:/bin' } })),
    );
    expect(message).toBe(
      'nx-triton: no tritonserver found: not set by the "tritonserver" option or NX_TRITON_SERVER, not on PATH, and nvidia-pytriton is not installed for /usr/bin/python3 (pip install nvidia-pytriton)',
    );
  });
});

describe('startTritonServer (real tritonserver)', () => {
  it('serves a python-backend model on free loopback ports, and stops with its stubs', async () => {
    const server = await startTritonServer({ repository: repo, python, models: ['add_one'], disableAutoCompleteConfig: true, env: { PATH: '/usr/bin:/bin' } });
    try {
      expect(server.url).toBe(`http://127.0.0.1:${server.httpPort}`);
      const client = new TritonClient(server.url, server.log);
      const [y] = await client.infer('add_one', [{ name: 'X', shape: [1, 2], datatype: 'FP32', data: [1, 2.5] }]);
      expect(y).toMatchObject({ name: 'Y', datatype: 'FP32', shape: [1, 2], data: [2, 3.5] });
      expect((await client.config('add_one')).max_batch_size).toBe(4);
      expect(processesWith(repo).length).toBeGreaterThan(0);
    } finally {
      await server.stop();
    }
    expect(await isReady(server.url)).toBe(false);
    expect(processesWith(repo)).toEqual([]);
    // The python backend's stub runs as a child of tritonserver; none is left. Its command line names
    // its model.py in repo (other test files run servers of their own at the same time).
    expect(processesWith(`${repo}/add_one/1/model.py`)).toEqual([]);
  }, 120_000);

  // A caller killed with SIGKILL leaves no server and no run directory: run-dir.int.spec.ts.

  it('fails with the server\'s last lines when the repository cannot be served', async () => {
    const message = await userErrorMessage(
      startTritonServer({ repository: join(repo, 'no-such-dir'), python, models: [], env: { PATH: '/usr/bin:/bin' } }),
    );
    expect(message).toMatch(/^nx-triton: tritonserver \(.*tritonserver\) exited before it was ready; its last lines:\n/);
    expect(message).toContain('no-such-dir');
  }, 60_000);

  it('reports the reason of a config Triton refuses to poll (from its log)', async () => {
    const root = repository();
    mkdirSync(join(root, 'bad', '1'), { recursive: true });
    writeFileSync(
      join(root, 'bad', 'config.pbtxt'),
      'name: "bad"\nbackend: "python"\nmax_batch_size: 4\ninput [ { name: "X" data_type: TYPE_FP32 dims: [ 2 ] reshape: { shape: [ 3 ] } } ]\noutput [ { name: "Y" data_type: TYPE_FP32 dims: [ 2 ] } ]\n',
    );
    writeFileSync(join(root, 'bad', '1', 'model.py'), addModelPy(1));
    const server = await startTritonServer({ repository: root, python, models: [], disableAutoCompleteConfig: true });
    try {
      const client = new TritonClient(server.url, server.log);
      expect(await client.load('bad')).toEqual({ ok: false, error: "model input 'X' has different size for dims and reshape for bad" });
      expect(await client.load('add_one')).toEqual({ ok: true });
    } finally {
      await server.stop();
      rmSync(root, { recursive: true, force: true });
    }
  }, 120_000);
});
