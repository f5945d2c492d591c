import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addModelFiles, addModelPy, writeFiles } from '../../test/python-models';
import { venvPython } from '../../test/pythons';
import { startSeaweedFs, type SeaweedFs } from '../../test/seaweedfs.cjs';
import { deployStateKeys, exportDir } from '../layout';
import { TritonClient } from '../triton/client';
import { freePort, startTritonServer, type RunningTriton } from '../triton/server';
import { runDeploy } from './deploy';
import { runStatus } from './status';

// nx-triton deploy against real destinations (SeaweedFS's S3, a directory) and the real
// tritonserver (nvidia-pytriton's, explicit model control) reading from them. The fresh-workspace
// path through Nx is e2e/deploy.e2e.ts.

const PIPE_CONFIG =
  'name: "pipe"\nplatform: "ensemble"\nmax_batch_size: 4\ninput [ { name: "IN" data_type: TYPE_FP32 dims: [ 2 ] } ]\noutput [ { name: "OUT" data_type: TYPE_FP32 dims: [ 2 ] } ]\n' +
  'ensemble_scheduling { step [ { model_name: "add" model_version: -1 input_map { key: "X" value: "IN" } output_map { key: "Y" value: "OUT" } } ] }\n';

/** model.py whose initialize raises (Triton refuses the load with the exception). */
const RAISING_PY = `${addModelPy(9)}
    def initialize(self, args):
        raise RuntimeError("weights file is corrupt")
`;

/** model.py that answers NaN: it loads, the smoke inference catches it. */
const NAN_PY = addModelPy(1).replace('(x + 1)', '(x * float("nan"))');

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

let weed: SeaweedFs;
let tmp: string;
const savedEnv = { ...process.env };

beforeAll(async () => {
  weed = await startSeaweedFs();
  Object.assign(process.env, weed.env);
  tmp = mkdtempSync(join(tmpdir(), 'nx-triton-deploy-'));
}, 120_000);

afterAll(async () => {
  process.env = savedEnv;
  await weed?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

interface Destination {
  /** What `--to` takes and Triton's --model-repository. */
  to: string;
  /** Every object of the repository and of nx-triton's state beside it: key -> identity (etag and time). */
  objects(): Promise<Record<string, string>>;
  read(rel: string): Promise<Buffer | undefined>;
  base: string;
}

function s3Destination(prefix: string): Destination {
  return {
    to: weed.url(prefix),
    base: prefix,
    objects: () => weed.objects(prefix),
    read: (rel) => weed.read(rel),
  };
}

function localDestination(name: string): Destination {
  const parent = join(tmp, `${name}-parent`);
  mkdirSync(parent, { recursive: true });
  const walk = (dir: string, rel: string, out: Record<string, string>): void => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const n of names) {
      const st = lstatSync(join(dir, n), { bigint: true });
      if (st.isDirectory()) walk(join(dir, n), `${rel}${n}/`, out);
      else out[`${rel}${n}`] = `${st.ino} ${st.mtimeNs} ${st.ctimeNs}`;
    }
  };
  return {
    to: join(parent, name),
    base: name,
    async objects() {
      const out: Record<string, string> = {};
      walk(join(parent, name), `${name}/`, out);
      walk(join(parent, `${name}.nx-triton`), `${name}.nx-triton/`, out);
      return out;
    },
    async read(rel) {
      try {
        return readFileSync(join(parent, rel));
      } catch {
        return undefined;
      }
    },
  };
}

describe.each([
  ['S3 (SeaweedFS)', () => s3Destination('prod')],
  ['a local directory', () => localDestination('repo')],
])('deploy to %s, served by the real tritonserver', (_, makeDestination) => {
  let dest: Destination;
  let built: string;
  let server: RunningTriton | undefined;
  let client: TritonClient;
  const lines: string[] = [];
  const log = (line: string): void => {
    lines.push(line);
  };
  const deploy = (extra: Partial<Parameters<typeof runDeploy>[0]> = {}) =>
    runDeploy({ builtRepository: built, to: dest.to, servers: server ? [server.url] : [], log, ...extra });
  const answer = async (model: string): Promise<number[]> => {
    const [out] = await client.infer(model, [{ name: model === 'pipe' ? 'IN' : 'X', shape: [1, 2], datatype: 'FP32', data: [1, 2] }]);
    return out.data as number[];
  };
  const stateKeys = () => deployStateKeys(dest.base);

  beforeAll(() => {
    dest = makeDestination();
    built = mkdtempSync(join(tmp, 'built-'));
    // The ensemble's version directory is empty, as in a hand-made repository (the build puts a
    // marker file in it: e2e/deploy.e2e.ts): S3 shows it only with an object under it.
    writeFiles(built, { ...addModelFiles('add', 1), 'pipe/config.pbtxt': PIPE_CONFIG });
    mkdirSync(join(built, 'pipe', '1'));
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('uploads a built repository (no servers: upload only), each model with its manifest, and leaves no journal or saved copy', async () => {
    const summary = await deploy();
    expect(summary.results.map((r) => [r.model, r.unchanged, r.uploadedFiles])).toEqual([
      ['add', false, 2],
      ['pipe', false, 2],
    ]);
    const objects = Object.keys(await dest.objects()).sort();
    expect(objects).toEqual(
      [
        `${dest.base}/add/1/model.py`,
        `${dest.base}/add/config.pbtxt`,
        // S3: a zero-byte `1/` object, which core's S3 listing takes as the directory itself; on disk, the directory
        ...(dest.to.startsWith('s3://') ? [`${dest.base}/pipe/1/`] : []),
        `${dest.base}/pipe/config.pbtxt`,
        stateKeys().manifest('add'),
        stateKeys().manifest('pipe'),
      ].sort(),
    );
    if (!dest.to.startsWith('s3://')) expect(readdirSync(join(dest.to, 'pipe', '1'))).toEqual([]);
    const manifest = JSON.parse((await dest.read(stateKeys().manifest('add')))!.toString());
    expect(manifest.files['1/model.py'].sha256).toBe(sha(Buffer.from(addModelPy(1))));
    // Members first: the ensemble after the model it calls.
    expect(lines.findIndex((l) => l.startsWith('nx-triton deploy: add: deployed'))).toBeLessThan(lines.findIndex((l) => l.startsWith('nx-triton deploy: pipe: deployed')));
  });

  it('is served by a tritonserver that reads the destination (explicit model control)', async () => {
    server = await startTritonServer({ repository: dest.to, models: ['pipe'], python: venvPython() });
    client = new TritonClient(server.url, server.log);
    expect(await answer('pipe')).toEqual([2, 3]);
  }, 120_000);

  it('an unchanged deploy writes no object and loads nothing', async () => {
    const before = await dest.objects();
    const loads = (server!.log().match(/loading: /g) ?? []).length;
    lines.length = 0;
    const summary = await deploy();
    expect(summary.results.every((r) => r.unchanged && r.uploadedFiles === 0 && r.loadedOn.length === 0)).toBe(true);
    expect(await dest.objects()).toEqual(before);
    expect((server!.log().match(/loading: /g) ?? []).length).toBe(loads);
    expect(lines).toContain(`nx-triton deploy: add: unchanged in ${dest.to}`);
  });

  it('a changed member goes live while requests flow: none fails, the answers switch once', async () => {
    writeFiles(built, { 'add/1/model.py': addModelPy(5) });
    const seen: string[] = [];
    let stop = false;
    const traffic = (async () => {
      while (!stop) {
        try {
          seen.push(JSON.stringify(await answer('pipe')));
        } catch (err) {
          seen.push(`error: ${(err as Error).message}`);
          // A request that fails at once must not starve the event loop.
          await new Promise((r) => setTimeout(r, 10));
        }
      }
    })();
    try {
      lines.length = 0;
      const summary = await deploy({ models: ['add'] });
      expect(summary.results).toMatchObject([{ model: 'add', unchanged: false, uploadedFiles: 1, loadedOn: [server!.url] }]);
      const after = seen.length;
      while (seen.length < after + 5) await new Promise((r) => setTimeout(r, 20));
    } finally {
      stop = true;
      await traffic;
    }
    expect(seen.filter((s) => s.startsWith('error'))).toEqual([]);
    const switched = seen.indexOf('[6,7]');
    expect(switched).toBeGreaterThan(0);
    expect(new Set(seen.slice(0, switched))).toEqual(new Set(['[2,3]']));
    expect(new Set(seen.slice(switched))).toEqual(new Set(['[6,7]']));
    expect(lines).toContain(`nx-triton deploy: add: ready on ${server!.url}, smoke inference passed (config shapes)`);
    const objects = Object.keys(await dest.objects());
    expect(objects.filter((k) => k.includes('/journal/') || k.includes('/backup/'))).toEqual([]);
  }, 120_000);

  const expectPrevious = async (): Promise<void> => {
    expect(await answer('add')).toEqual([6, 7]);
    expect(await answer('pipe')).toEqual([6, 7]);
    expect((await dest.read(`${dest.base}/add/1/model.py`))!.toString()).toBe(addModelPy(5));
    const manifest = JSON.parse((await dest.read(stateKeys().manifest('add')))!.toString());
    expect(manifest.files['1/model.py'].sha256).toBe(sha(Buffer.from(addModelPy(5))));
    const objects = Object.keys(await dest.objects());
    expect(objects.filter((k) => k.includes('/journal/') || k.includes('/backup/'))).toEqual([]);
    const status = await runStatus({ to: dest.to, servers: [server!.url], log: () => undefined });
    expect(status.differences).toEqual([]);
  };

  it("a member whose initialize raises: the deploy fails with the model, the server and Triton's reason; the previous version keeps serving, the store holds the previous files", async () => {
    writeFiles(built, { 'add/1/model.py': RAISING_PY });
    const err = (await deploy({ models: ['add'] }).catch((e: Error) => e)) as Error;
    expect(err.message.split('\n')).toHaveLength(1);
    expect(err.message).toMatch(
      new RegExp(`^nx-triton deploy: add: ${server!.url.replace(/[.:/]/g, '\\$&')}: load failed for model 'add': .*RuntimeError: weights file is corrupt.*; the previous files were put back and reloaded on ${server!.url.replace(/[.:/]/g, '\\$&')}$`),
    );
    await expectPrevious();
  }, 120_000);

  it('a model that answers NaN fails its smoke inference and is rolled back', async () => {
    writeFiles(built, { 'add/1/model.py': NAN_PY });
    const err = (await deploy({ models: ['add'] }).catch((e: Error) => e)) as Error;
    expect(err.message).toBe(
      `nx-triton deploy: add: ${server!.url}: smoke inference (config shapes): output Y has 2 NaN or Inf value(s); the previous files were put back and reloaded on ${server!.url}`,
    );
    await expectPrevious();
  }, 120_000);

  it('a member change that takes its ensemble down is rolled back, the ensemble reloaded', async () => {
    // The output renamed: the ensemble's step maps Y, which add no longer has.
    writeFiles(built, { 'add/config.pbtxt': addModelFiles('add', 5)['add/config.pbtxt'].replace('output [ { name: "Y"', 'output [ { name: "Z"'), 'add/1/model.py': addModelPy(5).replace('"Y"', '"Z"') });
    const err = (await deploy({ models: ['add'] }).catch((e: Error) => e)) as Error;
    expect(err.message).toMatch(/^nx-triton deploy: add: \S+: .*pipe.*; the previous files were put back and reloaded on \S+$/);
    writeFiles(built, addModelFiles('add', 5));
    await expectPrevious();
  }, 120_000);

  it('a deploy stopped after saving the previous files is completed by the next one, and status says so meanwhile', async () => {
    writeFiles(built, { 'add/1/model.py': addModelPy(7) });
    await deploy({ models: ['add'], stopAfter: 'backup' });
    const status = await runStatus({ to: dest.to, servers: [server!.url], log: () => undefined });
    expect(status.differences).toEqual([expect.stringMatching(/^add: a deploy \(\S+, started \S+\) did not finish: run nx-triton deploy again to complete it$/)]);
    expect(await answer('pipe')).toEqual([6, 7]);
    lines.length = 0;
    await deploy({ models: ['add'] });
    expect(lines.some((l) => /^nx-triton deploy: add: completing the deploy \S+ that started \S+ and did not finish$/.test(l))).toBe(true);
    expect(await answer('pipe')).toEqual([8, 9]);
    expect((await runStatus({ to: dest.to, servers: [server!.url], log: () => undefined })).differences).toEqual([]);
  }, 120_000);

  it('a server that does not answer is an error before anything is uploaded', async () => {
    writeFiles(built, { 'add/1/model.py': addModelPy(8) });
    const before = await dest.objects();
    const port = await freePort();
    await expect(runDeploy({ builtRepository: built, to: dest.to, servers: [`http://127.0.0.1:${port}`], log })).rejects.toThrow(
      `Triton server http://127.0.0.1:${port} is not reachable (ECONNREFUSED); nothing was uploaded`,
    );
    expect(await dest.objects()).toEqual(before);
    writeFiles(built, { 'add/1/model.py': addModelPy(7) });
  });

  it('status reports a file changed behind its back, and a server that does not serve a deployed model', async () => {
    const key = `${dest.base}/add/1/model.py`;
    if (dest.to.startsWith('s3://')) {
      const { PutObjectCommand } = await import('@aws-sdk/client-s3');
      await weed.client.send(new PutObjectCommand({ Bucket: weed.bucket, Key: key, Body: addModelPy(3) }));
    } else writeFileSync(join(dest.to, 'add/1/model.py'), addModelPy(3));
    await client.unload('pipe');
    // Triton unloads in the background: the index says UNLOADING for a moment.
    while ((await client.index()).find((m) => m.name === 'pipe')?.state === 'UNLOADING') await new Promise((r) => setTimeout(r, 100));
    const status = await runStatus({ to: dest.to, servers: [server!.url], log: () => undefined });
    expect(status.differences).toEqual([`add/1/model.py: changed since it was deployed`, `pipe: not ready on ${server!.url} (UNAVAILABLE: unloaded)`]);
    // The next deploy puts it right.
    await deploy();
    expect((await runStatus({ to: dest.to, servers: [server!.url], log: () => undefined })).differences).toEqual([]);
    expect(await answer('pipe')).toEqual([8, 9]);
  }, 120_000);

  it("compares the answer with the export's recorded sample where there is one (dist/models/<m>/export/verify.json)", async () => {
    const ws = mkdtempSync(join(tmp, 'ws-'));
    const f32 = (values: number[]): string => Buffer.from(Float32Array.from(values).buffer).toString('base64');
    mkdirSync(exportDir(ws, 'add'), { recursive: true });
    const sample = {
      inputs: [{ name: 'X', datatype: 'FP32', shape: [1, 2], data: f32([1, 2]) }],
      outputs: [{ name: 'Y', datatype: 'FP32', shape: [1, 2], data: f32([4, 5]), atol: 1e-4, rtol: 1e-3 }],
    };
    writeFileSync(join(exportDir(ws, 'add'), 'verify.json'), JSON.stringify({ sample }));
    writeFiles(built, { 'add/1/model.py': addModelPy(3) });
    lines.length = 0;
    await deploy({ models: ['add'], workspaceRoot: ws });
    expect(lines).toContain(`nx-triton deploy: add: ready on ${server!.url}, smoke inference passed (recorded sample)`);
    writeFiles(built, { 'add/1/model.py': addModelPy(4) });
    const err = (await deploy({ models: ['add'], workspaceRoot: ws }).catch((e: Error) => e)) as Error;
    expect(err.message).toBe(
      `nx-triton deploy: add: ${server!.url}: smoke inference (recorded sample): output Y differs from the export's recorded output in 2 of 2 element(s) (max abs error 1.00; atol 0.001, rtol 0.01); the previous files were put back and reloaded on ${server!.url}`,
    );
    expect(await answer('add')).toEqual([4, 5]);
    writeFiles(built, { 'add/1/model.py': addModelPy(3) });
  }, 120_000);
});

describe('deploy to S3 with wrong credentials', () => {
  it('fails with one line that never holds the secret, before anything is uploaded', async () => {
    const built = mkdtempSync(join(tmp, 'built-'));
    writeFiles(built, addModelFiles('add', 1));
    const secret = 'Wr0ng-secret-value-1234567890';
    process.env.AWS_SECRET_ACCESS_KEY = secret;
    const lines: string[] = [];
    try {
      const err = (await runDeploy({ builtRepository: built, to: weed.url('creds'), log: (l) => lines.push(l) }).catch((e: Error) => e)) as Error;
      expect(err.message).toBe(
        `${weed.url('creds')}: the S3 endpoint refused the credentials (SignatureDoesNotMatch: The request signature we calculated does not match the signature you provided. Check your key and signing method.); nx-triton takes them from the AWS chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ...)`,
      );
      expect([err.message, ...lines].join('\n')).not.toContain(secret);
    } finally {
      Object.assign(process.env, weed.env);
    }
  });
});
