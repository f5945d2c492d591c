import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TritonClient } from '../lib/triton/client';
import { freePort, startTritonServer, type RunningTriton } from '../lib/triton/server';
import { addModelPy } from '../test/python-models';
import { venvPython } from '../test/pythons';
import { startSeaweedFs, type SeaweedFs } from '../test/seaweedfs.cjs';
import { createWorkspace, nxEnv, type Workspace } from './workspace';

// Deploying from a fresh workspace with the packed tarball (the README's install), python models
// and an ensemble, to a real S3 store (SeaweedFS from PyPI, access keys on) and to a directory,
// each read by the real tritonserver (nvidia-pytriton's, explicit model control). Everything on
// 127.0.0.1; every server is stopped in afterAll, also when a test fails.

const PY_MODEL = (extra = '') =>
  'backend: python\nmax_batch_size: 4\ninput: [{ name: X, data_type: fp32, dims: [2] }]\noutput: [{ name: Y, data_type: fp32, dims: [2] }]\n' +
  `instance_group: [{ kind: cpu }]\n${extra}`;

/** model.py whose initialize raises: Triton refuses the load and says why. */
const RAISING_PY = `${addModelPy(100)}
    def initialize(self, args):
        raise RuntimeError("the checkpoint does not match the code")
`;

const FILES: Record<string, string> = {
  'models/add_one/triton.yaml': PY_MODEL('export: { file: model.py }\n'),
  'models/add_one/model.py': addModelPy(1),
  // pipe(IN) = add_one(add_one(IN)) = IN + 2
  'models/pipe/triton.yaml':
    'platform: ensemble\nmax_batch_size: 4\ninput: [{ name: IN, data_type: fp32, dims: [2] }]\noutput: [{ name: OUT, data_type: fp32, dims: [2] }]\n' +
    'ensemble_scheduling:\n  step:\n' +
    '    - { model_name: add_one, model_version: -1, input_map: { X: IN }, output_map: { Y: mid } }\n' +
    '    - { model_name: add_one, model_version: -1, input_map: { X: mid }, output_map: { Y: OUT } }\n',
  // A model with a large file beside its model.py (a checkpoint it would read).
  'models/big/triton.yaml': PY_MODEL('export: { file: versions/1 }\n'),
  'models/big/versions/1/model.py': addModelPy(1),
};
const BIG_BYTES = 384 * 2 ** 20;

describe('deploy from a fresh workspace', () => {
  let ws: Workspace;
  let weed: SeaweedFs;
  const servers: RunningTriton[] = [];
  /** Every line any command of this file printed: the secret must be in none. */
  const outputs: string[] = [];
  let s3Port: number;
  let localPort: number;
  let localRepository: string;

  const nx = (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const r = ws.nx(args, env);
    outputs.push(r.out);
    return r;
  };
  /** The workspace's installed `bin` run with `args` without blocking this process (a client keeps sending requests meanwhile). */
  const runBin = (bin: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> =>
    new Promise((ok) => {
      const child = spawn(join(ws.root, 'node_modules/.bin', bin), args, { cwd: ws.root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (out += c.toString()));
      child.on('exit', (code) => {
        outputs.push(out);
        ok({ code, out });
      });
    });
  const nxAsync = (args: string[], env: NodeJS.ProcessEnv = {}) => runBin('nx', args, { ...nxEnv, ...env });
  const answer = async (url: string, model: string, x = [1, 2]): Promise<number[]> => {
    const [out] = await new TritonClient(url).infer(model, [{ name: model === 'pipe' ? 'IN' : 'X', shape: [1, 2], datatype: 'FP32', data: x }]);
    return out.data as number[];
  };
  const bucket = (prefix: string) => weed.objects(prefix);
  /** Runs `work` while a client asks `pipe` for an answer again and again, and 5 answers more after it: what the client saw, in order. */
  const underTraffic = async <T,>(serverUrl: string, work: () => Promise<T>): Promise<{ r: T; seen: string[] }> => {
    const seen: string[] = [];
    let stop = false;
    const traffic = (async () => {
      while (!stop) {
        try {
          seen.push(JSON.stringify(await answer(serverUrl, 'pipe')));
        } catch (err) {
          seen.push(`error: ${(err as Error).message}`);
          // A request that fails at once must not starve the event loop.
          await new Promise((res) => setTimeout(res, 10));
        }
      }
    })();
    try {
      const r = await work();
      const after = seen.length;
      while (seen.length < after + 5) await new Promise((res) => setTimeout(res, 20));
      return { r, seen };
    } finally {
      stop = true;
      await traffic;
    }
  };
  const object = async (key: string): Promise<string> => String(await weed.read(key));
  /** `nx-triton <args>` of the workspace's installed package (the bin the README names). */
  const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => runBin('nx-triton', args, env);

  beforeAll(async () => {
    weed = await startSeaweedFs();
    Object.assign(process.env, weed.env);
    ws = createWorkspace();
    for (const [file, text] of Object.entries(FILES)) {
      mkdirSync(join(ws.root, file, '..'), { recursive: true });
      writeFileSync(join(ws.root, file), text);
    }
    writeFileSync(join(ws.root, 'models/big/versions/1/weights.bin'), randomBytes(BIG_BYTES));
    [s3Port, localPort] = [await freePort(), await freePort()];
    localRepository = join(ws.root, 'served', 'models');
    const nxJsonFile = join(ws.root, 'nx.json');
    const nxJson = JSON.parse(readFileSync(nxJsonFile, 'utf8'));
    const entry = nxJson.plugins.find((p: unknown) => p === 'nx-triton' || (p as { plugin?: string }).plugin === 'nx-triton');
    const options = {
      deploy: {
        staging: { repository: weed.url('staging'), servers: [`http://127.0.0.1:${s3Port}`] },
        bucket: { repository: weed.url('staging') },
        local: { repository: 'served/models', servers: [`http://127.0.0.1:${localPort}`] },
        'local-files': { repository: 'served/models' },
      },
    };
    nxJson.plugins = nxJson.plugins.map((p: unknown) => (p === entry ? { plugin: 'nx-triton', options } : p));
    writeFileSync(nxJsonFile, JSON.stringify(nxJson, null, 2));
  }, 600_000);

  afterAll(async () => {
    for (const s of servers) await s.stop();
    await weed?.stop();
    ws?.remove();
  });

  it('infers a deploy target per model: one configuration per environment, the first the default, not cached, after its build and the deploys of the models it uses', () => {
    const r = nx(['show', 'project', 'pipe', '--json']);
    expect(r.code, r.out).toBe(0);
    const deploy = JSON.parse(r.out.slice(r.out.indexOf('{'))).targets.deploy;
    expect(deploy).toMatchObject({
      executor: 'nx-triton:deploy',
      cache: false,
      defaultConfiguration: 'staging',
      configurations: { staging: { environment: 'staging' }, bucket: { environment: 'bucket' }, local: { environment: 'local' }, 'local-files': { environment: 'local-files' } },
      dependsOn: ['build', { target: 'deploy', dependencies: true }],
    });
  });

  describe('to S3 (SeaweedFS), served by a tritonserver reading s3://', () => {
    let url: string;

    it('builds and uploads every model (an environment without servers), each with its manifest', async () => {
      const r = nx(['run-many', '-t', 'deploy', '-c', 'bucket', '--output-style=static']);
      expect(r.code, r.out).toBe(0);
      const keys = Object.keys(await bucket('staging')).sort();
      expect(keys).toEqual(
        [
          'staging/add_one/1/model.py',
          'staging/add_one/config.pbtxt',
          'staging/big/1/model.py',
          'staging/big/1/weights.bin',
          'staging/big/config.pbtxt',
          'staging/pipe/1/.nx-triton-ensemble',
          'staging/pipe/config.pbtxt',
          'staging.nx-triton/manifests/add_one.json',
          'staging.nx-triton/manifests/big.json',
          'staging.nx-triton/manifests/pipe.json',
        ].sort(),
      );
      // The member was deployed before the ensemble that calls it.
      expect(r.out.indexOf('nx-triton deploy: add_one: deployed')).toBeLessThan(r.out.indexOf('nx-triton deploy: pipe: deployed'));
      expect(r.out).toMatch(/nx-triton deploy: big: uploading: \S+ \S+ of 384 MiB \(\d+%\), [\d.]+ \S+\/s|nx-triton deploy: big: deployed/);
      servers.push(await startTritonServer({ repository: weed.url('staging'), models: ['pipe', 'big'], python: venvPython(), httpPort: s3Port }));
      url = `http://127.0.0.1:${s3Port}`;
      expect(await answer(url, 'pipe')).toEqual([3, 4]);
    }, 600_000);

    it('an unchanged deploy writes no object and loads nothing', async () => {
      const before = await bucket('staging');
      const loads = (servers[0].log().match(/loading: /g) ?? []).length;
      const r = nx(['run', 'pipe:deploy', '--output-style=static']);
      expect(r.code, r.out).toBe(0);
      expect(r.out).toContain(`nx-triton deploy: add_one: unchanged in ${weed.url('staging')}`);
      expect(r.out).toContain(`nx-triton deploy: pipe: unchanged in ${weed.url('staging')}`);
      expect(await bucket('staging')).toEqual(before);
      expect((servers[0].log().match(/loading: /g) ?? []).length).toBe(loads);
    });

    it('a changed member goes live while a client sends requests: none fails, the answers switch once', async () => {
      writeFileSync(join(ws.root, 'models/add_one/model.py'), addModelPy(5));
      const { r, seen } = await underTraffic(url, () => nxAsync(['run', 'pipe:deploy', '--output-style=static']));
      expect(r.code, r.out).toBe(0);
      expect(r.out).toContain(`nx-triton deploy: add_one: ready on ${url}, smoke inference passed (config shapes)`);
      expect(seen.filter((s) => s.startsWith('error'))).toEqual([]);
      const switched = seen.indexOf('[11,12]');
      expect(switched).toBeGreaterThan(0);
      expect(new Set(seen.slice(0, switched))).toEqual(new Set(['[3,4]']));
      expect(new Set(seen.slice(switched))).toEqual(new Set(['[11,12]']));
    }, 300_000);

    it("a member whose initialize raises: the deploy fails with Triton's reason, the previous version keeps serving, the bucket holds the previous files", async () => {
      writeFileSync(join(ws.root, 'models/add_one/model.py'), RAISING_PY);
      const r = nx(['run', 'add_one:deploy', '--output-style=static']);
      expect(r.code, r.out).toBe(1);
      const line = r.out.split('\n').find((l) => l.startsWith('nx-triton deploy: add_one: http'));
      expect(line).toMatch(
        new RegExp(`^nx-triton deploy: add_one: http://127\\.0\\.0\\.1:${s3Port}: load failed for model 'add_one': .*RuntimeError: the checkpoint does not match the code.*; the previous files were put back and reloaded on http://127\\.0\\.0\\.1:${s3Port}$`),
      );
      expect(await answer(url, 'pipe')).toEqual([11, 12]);
      expect(await object('staging/add_one/1/model.py')).toBe(addModelPy(5));
      const status = await cli(['status', '--to', weed.url('staging'), '--server', url]);
      expect(status, status.out).toMatchObject({ code: 0 });
      expect(status.out).toMatch(/^add_one: ok \(2 file\(s\), deployed \S+; ready on 1 of 1 server\(s\)\)$/m);
      writeFileSync(join(ws.root, 'models/add_one/model.py'), addModelPy(5));
    }, 300_000);

    it('a deploy SIGKILLed during a large upload: serving continues, status reports it, the next deploy completes it', async () => {
      writeFileSync(join(ws.root, 'models/big/versions/1/weights.bin'), randomBytes(BIG_BYTES));
      writeFileSync(join(ws.root, 'models/big/versions/1/model.py'), addModelPy(2));
      const built = nx(['run', 'big:build', '--output-style=static']);
      expect(built.code, built.out).toBe(0);
      const args = ['deploy', 'dist/model-repository', '--to', weed.url('staging'), '--server', url, '--model', 'big'];
      const child = spawn(join(ws.root, 'node_modules/.bin/nx-triton'), args, {
        cwd: ws.root,
        env: { ...process.env, NX_TRITON_PROGRESS_SECONDS: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      let out = '';
      const exited = new Promise((ok) => child.on('exit', ok));
      await new Promise<void>((ok, ko) => {
        const timer = setTimeout(() => ko(new Error(`no progress line in 120 s:\n${out}`)), 120_000);
        const take = (c: Buffer): void => {
          out += c.toString();
          if (/nx-triton deploy: big: uploading: .* of 384 MiB \((\d+)%\)/.test(out)) {
            clearTimeout(timer);
            process.kill(-child.pid!, 'SIGKILL');
            ok();
          }
        };
        child.stdout.on('data', take);
        child.stderr.on('data', take);
      });
      await exited;
      outputs.push(out);
      expect(Number(/of 384 MiB \((\d+)%\)/.exec(out)![1])).toBeLessThan(100);
      // Serving goes on, with what was deployed before.
      expect(await answer(url, 'big')).toEqual([2, 3]);
      expect(await answer(url, 'pipe')).toEqual([11, 12]);
      const during = await cli(['status', '--to', weed.url('staging'), '--server', url]);
      expect(during.code).toBe(1);
      expect(during.out).toMatch(/^big: a deploy \(\S+, started \S+\) did not finish: run nx-triton deploy again to complete it$/m);
      const again = await cli(args);
      expect(again, again.out).toMatchObject({ code: 0 });
      expect(again.out).toMatch(/^nx-triton deploy: big: completing the deploy \S+ that started \S+ and did not finish$/m);
      expect(await answer(url, 'big')).toEqual([3, 4]);
      const after = await cli(['status', '--to', weed.url('staging'), '--server', url]);
      expect(after, after.out).toMatchObject({ code: 0 });
      expect(Object.keys(await bucket('staging.nx-triton')).sort()).toEqual(['staging.nx-triton/manifests/add_one.json', 'staging.nx-triton/manifests/big.json', 'staging.nx-triton/manifests/pipe.json']);
    }, 600_000);

    it('wrong credentials: one clear line, nothing uploaded', async () => {
      writeFileSync(join(ws.root, 'models/add_one/model.py'), addModelPy(6));
      const before = await bucket('staging');
      const r = nx(['run', 'add_one:deploy', '--output-style=static'], { AWS_SECRET_ACCESS_KEY: 'not-the-secret-0123456789' });
      expect(r.code, r.out).toBe(1);
      const lines = r.out.split('\n').filter((l) => l.includes('refused the credentials'));
      expect(lines).toEqual([
        `${weed.url('staging')}: the S3 endpoint refused the credentials (SignatureDoesNotMatch: The request signature we calculated does not match the signature you provided. Check your key and signing method.); nx-triton takes them from the AWS chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ...)`,
      ]);
      expect(r.out).not.toContain('not-the-secret-0123456789');
      expect(await bucket('staging')).toEqual(before);
      writeFileSync(join(ws.root, 'models/add_one/model.py'), addModelPy(5));
    }, 300_000);

    it('nx-triton serve takes the s3:// repository', async () => {
      const port = await freePort();
      const child = spawn(join(ws.root, 'node_modules/.bin/nx-triton'), ['serve', weed.url('staging'), '--model', 'pipe', '--http-port', String(port), '--python', venvPython()], {
        cwd: ws.root,
        env: process.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (out += c.toString()));
      const exited = new Promise((ok) => child.on('exit', ok));
      try {
        const deadline = Date.now() + 120_000;
        while (!out.includes('is ready, serving pipe')) {
          if (Date.now() > deadline) throw new Error(out);
          await new Promise((r) => setTimeout(r, 200));
        }
        expect(await answer(`http://127.0.0.1:${port}`, 'pipe')).toEqual([11, 12]);
      } finally {
        child.kill('SIGINT');
        await exited;
        outputs.push(out);
      }
    }, 300_000);
  });

  describe('to a directory, served by a tritonserver reading it', () => {
    let url: string;

    it('uploads, serves, switches a changed member under traffic, rolls back a broken one, writes nothing when unchanged', async () => {
      const first = nx(['run-many', '-t', 'deploy', '-c', 'local-files', '--output-style=static']);
      expect(first.code, first.out).toBe(0);
      servers.push(await startTritonServer({ repository: localRepository, models: ['pipe', 'big'], python: venvPython(), httpPort: localPort }));
      url = `http://127.0.0.1:${localPort}`;
      expect(await answer(url, 'pipe')).toEqual([11, 12]);

      writeFileSync(join(ws.root, 'models/add_one/model.py'), addModelPy(7));
      const { r, seen } = await underTraffic(url, () => nxAsync(['run', 'pipe:deploy', '-c', 'local', '--output-style=static']));
      expect(r.code, r.out).toBe(0);
      expect(seen.filter((s) => s.startsWith('error'))).toEqual([]);
      expect(seen.at(-1)).toBe('[15,16]');

      writeFileSync(join(ws.root, 'models/add_one/model.py'), RAISING_PY);
      const broken = nx(['run', 'add_one:deploy', '-c', 'local', '--output-style=static']);
      expect(broken.code, broken.out).toBe(1);
      expect(broken.out).toMatch(/load failed for model 'add_one': .*RuntimeError: the checkpoint does not match the code.*; the previous files were put back and reloaded on /);
      expect(await answer(url, 'pipe')).toEqual([15, 16]);
      expect(readFileSync(join(localRepository, 'add_one/1/model.py'), 'utf8')).toBe(addModelPy(7));
      writeFileSync(join(ws.root, 'models/add_one/model.py'), addModelPy(7));

      const files = () => {
        const out: Record<string, string> = {};
        const walk = (dir: string): void => {
          for (const n of readdirSync(dir)) {
            const st = lstatSync(join(dir, n), { bigint: true });
            if (st.isDirectory()) walk(join(dir, n));
            else out[join(dir, n)] = `${st.ino} ${st.mtimeNs} ${st.ctimeNs}`;
          }
        };
        walk(join(ws.root, 'served'));
        return out;
      };
      const before = files();
      const unchanged = nx(['run', 'pipe:deploy', '-c', 'local', '--output-style=static']);
      expect(unchanged.code, unchanged.out).toBe(0);
      expect(files()).toEqual(before);
      expect(unchanged.out).toContain(`nx-triton deploy: add_one: unchanged in ${localRepository}`);
      const status = await cli(['status', '--to', localRepository, '--server', url]);
      expect(status, status.out).toMatchObject({ code: 0 });
    }, 600_000);
  });

  it('never prints the secret', () => {
    expect(outputs.length).toBeGreaterThan(10);
    for (const out of outputs) expect(out).not.toContain(weed.secretKey);
  });
});
