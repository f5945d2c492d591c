import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distPath, ensureDist } from '../../test/dist';
import { addModelFiles, writeFiles } from '../../test/python-models';
import { venvPython } from '../../test/pythons';
import { ownerTag } from '../system/owner';
import { TritonClient } from './client';
import { isReady } from './server';
import { processesWith, until } from '../../test/processes';

/**
 * Issue 22 N11 and N13 on the real tritonserver of nvidia-pytriton (.venv): the server runs in a
 * directory of its own (lib/triton/server.ts), so the python backend's stubs never import from the
 * directory `serve` was started in, and the directory goes with the server, also when its caller
 * was killed with SIGKILL.
 */

const python = venvPython();
let root: string;
let repo: string;
beforeAll(() => {
  ensureDist();
  root = mkdtempSync(join(tmpdir(), 'nx-triton-run-dir-'));
  repo = join(root, 'repo');
  // add_one's model.py imports numpy.
  writeFiles(repo, addModelFiles('add_one', 1));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The run directories a process owns under the system temp dir. */
function runDirsOf(pid: number): string[] {
  return readdirSync(tmpdir()).filter((n) => n.startsWith(`nx-triton-serve-${ownerTag(pid)}-`));
}

describe('the directory a server runs in', () => {
  it("is not the caller's: a numpy.py where `nx-triton serve` was started is not what model.py imports (N11)", async () => {
    const cwd = join(root, 'project');
    mkdirSync(cwd);
    writeFileSync(join(cwd, 'numpy.py'), 'raise ImportError("numpy.py of the directory serve was started in")\n');
    const child = spawn(process.execPath, [distPath('cli/main.js'), 'serve', repo, '--http-port', '0', '--python', python], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PATH: '/usr/bin:/bin' },
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((ok) => child.on('exit', (code) => ok(code)));
    let gone = false;
    void exited.then(() => (gone = true));
    let url: string | undefined;
    try {
      await until('serve to be ready', () => {
        if (gone) throw new Error(`serve exited before it was ready:\n${out}`);
        url = /^ {2}HTTP {5}(http:\/\/127\.0\.0\.1:\d+) /m.exec(out)?.[1];
        return url !== undefined;
      }, 120_000);
      const [y] = await new TritonClient(url!).infer('add_one', [{ name: 'X', shape: [1, 2], datatype: 'FP32', data: [1, 2] }]);
      expect(y.data).toEqual([2, 3]);
      expect(out).not.toContain('numpy.py of the directory serve was started in');
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
  }, 180_000);

  it('is removed by the watchdog when the caller was killed with SIGKILL (N13)', async () => {
    const script = `
      const { startTritonServer } = require(${JSON.stringify(distPath('lib/triton/server.js'))});
      startTritonServer({ repository: ${JSON.stringify(repo)}, python: ${JSON.stringify(python)}, models: ['add_one'] })
        .then((s) => console.log('READY ' + s.url));
    `;
    const caller = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const url = await new Promise<string>((ok, fail) => {
      let text = '';
      caller.stdout.on('data', (c: Buffer) => {
        text += c.toString();
        const m = /READY (\S+)/.exec(text);
        if (m) ok(m[1]);
      });
      caller.on('exit', () => fail(new Error(`caller exited: ${text}`)));
    });
    const dirs = runDirsOf(caller.pid!);
    expect(dirs).toHaveLength(1);
    // The server's working directory and its backend directory (nvidia-pytriton's python backend).
    expect(readdirSync(join(tmpdir(), dirs[0])).sort()).toEqual(['backends', 'cwd']);
    const exited = new Promise((ok) => caller.on('exit', ok));
    caller.kill('SIGKILL');
    await exited;
    await until('no server left', () => processesWith(repo).length === 0, 120_000);
    expect(await isReady(url)).toBe(false);
    // The watchdog (whose command line names the repository too) removed it before it exited.
    expect(existsSync(join(tmpdir(), dirs[0]))).toBe(false);
  }, 180_000);
});
