import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { userErrorMessage } from '../../test/expect-user-error';
import { cliServeSettings, nxWorkspaceAround, runServe } from './serve';

// Issue 19.11: `nx-triton serve` inside an Nx workspace takes nx.json's nx-triton options `python`
// and `tritonserver` (as the serve target does); its flags and the env win.

let ws: string;
beforeEach(() => {
  ws = mkdtempSync(join(tmpdir(), 'nx-triton-serve-settings-'));
  mkdirSync(join(ws, 'models', 'm'), { recursive: true });
});
afterEach(() => rmSync(ws, { recursive: true, force: true }));

function nxJson(text: string): void {
  writeFileSync(join(ws, 'nx.json'), text);
}

const PLUGIN = `{
  // nx.json may have comments
  "plugins": ["@nx/js", { "plugin": "nx-triton", "options": { "python": ".venv/bin/python", "tritonserver": "tools/tritonserver", "tritonRelease": "24.08" } }]
}`;

describe('nxWorkspaceAround', () => {
  it('finds the nearest nx.json up from the directory, and the nx-triton options in it', () => {
    nxJson(PLUGIN);
    expect(nxWorkspaceAround(join(ws, 'models', 'm'))).toEqual({ root: ws, options: { python: '.venv/bin/python', tritonserver: 'tools/tritonserver', tritonRelease: '24.08' } });
    nxJson('{ "plugins": ["nx-triton"] }');
    expect(nxWorkspaceAround(ws)).toEqual({ root: ws, options: {} });
    nxJson('{ "plugins": [');
    expect(() => nxWorkspaceAround(ws)).toThrow(new RegExp(`^nx-triton serve: cannot read ${join(ws, 'nx.json')}: `));
  });
});

describe('cliServeSettings', () => {
  it("takes nx.json's python and tritonserver, relative to the workspace root, from anywhere inside it", () => {
    nxJson(PLUGIN);
    expect(cliServeSettings({}, {}, join(ws, 'models', 'm'))).toMatchObject({
      python: join(ws, '.venv/bin/python'),
      tritonserver: join(ws, 'tools/tritonserver'),
      tritonRelease: '24.08',
    });
  });

  it('the flags (relative to the current directory) and NX_TRITON_PYTHON / NX_TRITON_SERVER win over nx.json', () => {
    nxJson(PLUGIN);
    const cwd = join(ws, 'models');
    const flags = cliServeSettings({ python: 'py/bin/python', tritonserver: 'bin/ts' }, { NX_TRITON_PYTHON: '/env/python', NX_TRITON_SERVER: '/env/ts' }, cwd);
    expect(flags).toMatchObject({ python: join(cwd, 'py/bin/python'), tritonserver: join(cwd, 'bin/ts') });
    // resolvePython takes NX_TRITON_PYTHON first: the flag is put there.
    expect(flags.env?.NX_TRITON_PYTHON).toBe(join(cwd, 'py/bin/python'));
    const env = cliServeSettings({}, { NX_TRITON_PYTHON: '/env/python', NX_TRITON_SERVER: '/env/ts' }, cwd);
    expect(env.tritonserver).toBeUndefined(); // locateTritonServer then takes NX_TRITON_SERVER
    expect(env.env?.NX_TRITON_PYTHON).toBe('/env/python');
    // A bare interpreter name stays a PATH lookup.
    expect(cliServeSettings({ python: 'python3.11' }, {}, cwd).python).toBe('python3.11');
  });

  it('outside a workspace: nothing from nx.json', () => {
    const outside = mkdtempSync(join(tmpdir(), 'nx-triton-no-ws-'));
    try {
      const s = cliServeSettings({}, {}, outside);
      expect(s).not.toHaveProperty('python');
      expect(s).not.toHaveProperty('tritonserver');
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it("reaches runServe: nx.json's tritonserver is the one located", async () => {
    nxJson(PLUGIN);
    mkdirSync(join(ws, 'repo', 'm'), { recursive: true });
    writeFileSync(join(ws, 'repo', 'm', 'config.pbtxt'), 'name: "m"\nbackend: "python"\n');
    const settings = cliServeSettings({}, { PATH: '/usr/bin:/bin' }, join(ws, 'models'));
    expect(await userErrorMessage(runServe({ repository: join(ws, 'repo'), ...settings }, { info: () => {}, log: () => {} }))).toBe(
      `nx-triton: tritonserver "${join(ws, 'tools/tritonserver')}" (from option) is not an executable file`,
    );
    expect(await userErrorMessage(runServe({ repository: join(ws, 'nothing'), ...settings }, { info: () => {}, log: () => {} }))).toBe(
      `nx-triton serve: the repository ${join(ws, 'nothing')} is not a directory (build the models first)`,
    );
  });
});
