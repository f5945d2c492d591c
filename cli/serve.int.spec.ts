import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distPath, ensureDist } from '../test/dist';
import { addModelFiles, writeFiles } from '../test/python-models';
import { venvPython } from '../test/pythons';
import { TritonClient } from '../lib/triton/client';
import { isReady } from '../lib/triton/server';
import { modelsNeeded } from '../lib/triton/closure';
import { run } from './serve';
import { runVerb } from '../test/cli';
import { processesWith } from '../test/processes';

// The real tritonserver of nvidia-pytriton (in .venv): python-backend models and an ensemble.

/** `pipe` = add_ten(add_one(IN)): an ensemble of two python models; `other` is in the repository too. */
const ENSEMBLE = `name: "pipe"
platform: "ensemble"
max_batch_size: 4
input [ { name: "IN" data_type: TYPE_FP32 dims: [ 2 ] } ]
output [ { name: "OUT" data_type: TYPE_FP32 dims: [ 2 ] } ]
ensemble_scheduling {
  step [
    { model_name: "add_one" model_version: -1 input_map { key: "X" value: "IN" } output_map { key: "Y" value: "mid" } },
    { model_name: "add_ten" model_version: -1 input_map { key: "X" value: "mid" } output_map { key: "Y" value: "OUT" } }
  ]
}
`;

let repo: string;
beforeAll(() => {
  repo = mkdtempSync(join(tmpdir(), 'nx-triton-serve-'));
  const files = { ...addModelFiles('add_one', 1), ...addModelFiles('add_ten', 10), ...addModelFiles('other', 100), 'pipe/config.pbtxt': ENSEMBLE };
  writeFiles(repo, files);
  mkdirSync(join(repo, 'pipe', '1'));
});
afterAll(() => rmSync(repo, { recursive: true, force: true }));

const cli = (...argv: string[]) => runVerb(run, argv);

describe('modelsNeeded', () => {
  it('is the model and, for an ensemble, its steps, transitively, each once', () => {
    expect(modelsNeeded(repo, ['pipe'])).toEqual(['pipe', 'add_one', 'add_ten']);
    expect(modelsNeeded(repo, ['add_one', 'pipe'])).toEqual(['add_one', 'pipe', 'add_ten']);
  });

  it('names a model that is not built, and the ensemble that needs it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nx-triton-serve-missing-'));
    try {
      mkdirSync(join(dir, 'pipe', '1'), { recursive: true });
      writeFileSync(join(dir, 'pipe', 'config.pbtxt'), ENSEMBLE);
      expect(() => modelsNeeded(dir, ['pipe'])).toThrow(
        `nx-triton: model add_one, which the ensemble pipe needs, is not in the repository ${dir} (no ${join(dir, 'add_one', 'config.pbtxt')}; build it first)`,
      );
      expect(() => modelsNeeded(dir, ['../pipe'])).toThrow('nx-triton: model name "../pipe": a model name cannot contain "/" or "\\" (got "../pipe")');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('nx-triton serve (arguments)', () => {
  it('prints its usage, and refuses a missing repository, an unknown option and a bad port', async () => {
    const help = await cli('--help');
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/^usage: nx-triton serve <repository> \[--model NAME\]\.\.\. \[--http-port N\]/);
    expect((await cli()).err).toMatch(/^nx-triton serve: expected one repository directory, got 0\n/);
    expect((await cli(repo, '--frobnicate')).err).toMatch(/^nx-triton serve: Unknown option '--frobnicate'/);
    expect(await cli(repo, '--http-port', 'eighty')).toEqual({ code: 1, out: '', err: 'nx-triton serve: --http-port must be a port number from 0 to 65535 (got "eighty")\n' });
    const taken = createServer();
    await new Promise<void>((ok) => taken.listen(0, '127.0.0.1', () => ok()));
    const port = (taken.address() as AddressInfo).port;
    try {
      // Were another server ready on the port, the readiness poll would take its answer for ours.
      expect(await cli(repo, '--http-port', String(port), '--python', venvPython())).toEqual({
        code: 1,
        out: '',
        err: `nx-triton serve: port ${port} (HTTP) on 127.0.0.1 is already in use; choose another one\n`,
      });
    } finally {
      taken.close();
    }
    expect((await cli(repo, '--model', 'nope')).err).toBe(`nx-triton: model nope is not in the repository ${repo} (no ${join(repo, 'nope', 'config.pbtxt')}; build it first)\n`);
  });
});

describe('nx-triton serve (real tritonserver)', () => {
  it('serves an ensemble and the models it needs, answers an inference, and stops on SIGINT with nothing left', async () => {
    ensureDist();
    const child = spawn(process.execPath, [distPath('cli/main.js'), 'serve', repo, '--model', 'pipe', '--http-port', '0', '--python', venvPython()], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PATH: '/usr/bin:/bin' },
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((ok) => child.on('exit', (code) => ok(code)));
    const url = await new Promise<string>((ok, fail) => {
      const timer = setInterval(() => {
        const m = /^ {2}HTTP {5}(http:\/\/127\.0\.0\.1:\d+) /m.exec(out);
        if (m) {
          clearInterval(timer);
          ok(m[1]);
        }
      }, 100);
      void exited.then(() => {
        clearInterval(timer);
        fail(new Error(`serve exited before it was ready:\n${out}`));
      });
    });
    try {
      expect(out).toMatch(/nx-triton serve: tritonserver .*\(from nvidia-pytriton\) is ready, serving pipe, add_one, add_ten\n/);
      expect(out).toMatch(/^ {2}gRPC {5}127\.0\.0\.1:\d+$/m);
      expect(out).toMatch(/^ {2}metrics {2}http:\/\/127\.0\.0\.1:\d+\/metrics$/m);
      // Triton's own log is streamed.
      expect(out).toMatch(/successfully loaded 'add_ten'/);
      const client = new TritonClient(url);
      const [y] = await client.infer('pipe', [{ name: 'IN', shape: [1, 2], datatype: 'FP32', data: [1, 2.5] }]);
      expect(y).toMatchObject({ name: 'OUT', shape: [1, 2], data: [12, 13.5] });
      // Only the ensemble's closure is loaded.
      const states = Object.fromEntries((await client.index()).map((m) => [m.name, m.state ?? 'UNLOADED']));
      expect(states).toEqual({ add_one: 'READY', add_ten: 'READY', other: 'UNLOADED', pipe: 'READY' });
      expect(processesWith(`${repo}/add_ten/1/model.py`)).toHaveLength(1);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect(out).toContain('nx-triton serve: SIGINT: stopping tritonserver\n');
    expect(out).toContain('nx-triton serve: tritonserver stopped\n');
    expect(await isReady(url)).toBe(false);
    // The python backend's stubs name their model.py (in repo) on their command lines: none is left either.
    expect(processesWith(repo)).toEqual([]);
  }, 180_000);

  it('serves every model of the repository without --model', async () => {
    const server = cli(repo, '--http-port', '0', '--python', venvPython());
    // SIGINT would reach the vitest worker: run() is given no `until`, so send the signal it listens for.
    await new Promise((r) => setTimeout(r, 100));
    const deadline = Date.now() + 120_000;
    let url: string | undefined;
    while (!url && Date.now() < deadline) {
      const line = processesWith(`--model-repository=${repo}`)[0];
      const port = line && /--http-port=(\d+)/.exec(line)?.[1];
      if (port && (await isReady(`http://127.0.0.1:${port}`))) url = `http://127.0.0.1:${port}`;
      else await new Promise((r) => setTimeout(r, 200));
    }
    expect(url).toBeDefined();
    const states = Object.fromEntries((await new TritonClient(url!).index()).map((m) => [m.name, m.state]));
    expect(states).toEqual({ add_one: 'READY', add_ten: 'READY', other: 'READY', pipe: 'READY' });
    process.emit('SIGTERM');
    const { code, out } = await server;
    expect(code).toBe(0);
    expect(out).toContain('is ready, serving every model in the repository\n');
    expect(out).toContain('nx-triton serve: SIGTERM: stopping tritonserver\n');
    expect(processesWith(repo)).toEqual([]);
  }, 180_000);
});
