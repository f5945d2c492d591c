import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { executorContext, printed } from '../../test/executor-context';
import serveExecutor from './executor';

// What the serve executor refuses before it starts any server (serving itself: e2e/serve.e2e.ts).

let ws: string;

beforeEach(() => {
  ws = mkdtempSync(join(tmpdir(), 'nx-triton-serve-exec-'));
});
afterEach(() => rmSync(ws, { recursive: true, force: true }));

function context(projectName: string, nxJson: Record<string, unknown> = {}) {
  return executorContext(ws, projectName, { projects: { pipe: 'models/pipe' }, nxJson });
}

/** The executor's result with what it printed on stderr. */
async function printedError(fn: () => Promise<{ success: boolean }>): Promise<{ success: boolean; err: string }> {
  const { result, err } = await printed(fn);
  return { ...result, err };
}

describe('serve executor', () => {
  it('fails with one line when a model the ensemble needs is not built', async () => {
    const repository = join(ws, 'dist', 'model-repository');
    mkdirSync(join(repository, 'pipe', '1'), { recursive: true });
    writeFileSync(
      join(repository, 'pipe', 'config.pbtxt'),
      'name: "pipe"\nplatform: "ensemble"\nmax_batch_size: 4\ninput [ { name: "IN" data_type: TYPE_FP32 dims: [ 2 ] } ]\n' +
        'output [ { name: "OUT" data_type: TYPE_FP32 dims: [ 2 ] } ]\n' +
        'ensemble_scheduling { step [ { model_name: "add_one" model_version: -1 input_map { key: "X" value: "IN" } output_map { key: "Y" value: "OUT" } } ] }\n',
    );
    expect(await printedError(() => serveExecutor({}, context('pipe')))).toEqual({
      success: false,
      err: `nx-triton: model add_one, which the ensemble pipe needs, is not in the repository ${repository} (no ${join(repository, 'add_one', 'config.pbtxt')}; build it first)`,
    });
  });

  it('fails with one line for a port that is not a port', async () => {
    const repository = join(ws, 'out');
    mkdirSync(join(repository, 'pipe'), { recursive: true });
    writeFileSync(join(repository, 'pipe', 'config.pbtxt'), 'name: "pipe"\nbackend: "python"\n');
    expect(await printedError(() => serveExecutor({ repository: 'out', httpPort: 70000 }, context('pipe')))).toEqual({
      success: false,
      err: 'nx-triton: serve: option httpPort must be a port number from 0 to 65535 (got 70000)',
    });
  });

  it('takes tritonserver from the plugin options in nx.json, then from its own options; NX_TRITON_SERVER overrides both', async () => {
    mkdirSync(join(ws, 'dist', 'model-repository', 'pipe'), { recursive: true });
    writeFileSync(join(ws, 'dist', 'model-repository', 'pipe', 'config.pbtxt'), 'name: "pipe"\nbackend: "python"\n');
    const nxJson = { plugins: ['some-other-plugin', { plugin: 'nx-triton', options: { tritonserver: 'bin/plugin-tritonserver' } }] };
    const saved = process.env.NX_TRITON_SERVER;
    delete process.env.NX_TRITON_SERVER;
    try {
      expect((await printedError(() => serveExecutor({ httpPort: 0 }, context('pipe', nxJson)))).err).toBe(
        `nx-triton: tritonserver "${join(ws, 'bin/plugin-tritonserver')}" (from option) is not an executable file`,
      );
      expect((await printedError(() => serveExecutor({ httpPort: 0, tritonserver: '/opt/own/tritonserver' }, context('pipe', nxJson)))).err).toBe(
        'nx-triton: tritonserver "/opt/own/tritonserver" (from option) is not an executable file',
      );
      process.env.NX_TRITON_SERVER = '/opt/env/tritonserver';
      expect((await printedError(() => serveExecutor({ httpPort: 0, tritonserver: '/opt/own/tritonserver' }, context('pipe', nxJson)))).err).toBe(
        'nx-triton: tritonserver "/opt/env/tritonserver" (from NX_TRITON_SERVER) is not an executable file',
      );
    } finally {
      if (saved === undefined) delete process.env.NX_TRITON_SERVER;
      else process.env.NX_TRITON_SERVER = saved;
    }
  });
});
