import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ensureDist } from '../../test/dist';
import { userErrorMessage } from '../../test/expect-user-error';
import { A100, H100, standInEnv, trtexecBuilds } from '../../test/fixtures/stand-ins';
import { run as fingerprintCli } from '../../cli/fingerprint';
import { deriveModelConfig } from '../config';
import { readOnnxSignature } from '../onnx';
import { buildModel } from '../targets/build';
import { loadSpec } from '../model-spec';
import { ONNX, spawnBuilder, TOKEN, type BuilderChild } from './remote/__fixtures__/harness';
import { engineRequest } from '../model-spec/engine-request';
import { buildEngines } from './builders';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { reluWithExternalData } from '../../test/onnx-bytes';
import { packageVersion } from '../system/package-root';

const base = mkdtempSync(join(tmpdir(), 'nx-triton-remote-'));
beforeAll(() => ensureDist());
let ws: string;
let n = 0;
const running: BuilderChild[] = [];
beforeEach(() => {
  ws = join(base, `ws${n++}`);
  mkdirSync(join(ws, 'dist/models/my_trt/export'), { recursive: true });
  copyFileSync(ONNX, join(ws, 'dist/models/my_trt/export/model.onnx'));
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((b) => b.stop()));
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

async function builder(name: string, gpu: string, env: Record<string, string> = {}): Promise<BuilderChild> {
  const b = await spawnBuilder(['--engine-cache', join(ws, name, 'store')], {
    NX_TRITON_BUILDER_TOKEN: TOKEN,
    FAKE_GPU: gpu,
    FAKE_TRT_LOG: join(ws, name, 'trtexec.log'),
    ...env,
  });
  running.push(b);
  return b;
}

/** This machine: no GPU, its own engine store. */
const clientEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv =>
  ({ ...standInEnv({ gpu: 'none', store: join(ws, 'client-store'), log: join(ws, 'local.log') }), NX_TRITON_BUILDER_TOKEN: TOKEN, ...extra });

function project(tensorrt: string): string {
  const file = join(ws, 'models/my_trt/triton.yaml');
  mkdirSync(join(ws, 'models/my_trt'), { recursive: true });
  copyFileSync(ONNX, join(ws, 'models/my_trt/model.onnx'));
  writeFileSync(file, `platform: tensorrt_plan\nmax_batch_size: 8\nexport:\n  file: model.onnx\ntensorrt:\n${tensorrt}`);
  return file;
}

async function engines(file: string, extraEnv: Record<string, string> = {}, log: (l: string) => void = () => undefined) {
  const spec = loadSpec(file, { displayPath: 'models/my_trt/triton.yaml' });
  const onnxPath = join(ws, 'dist/models/my_trt/export/model.onnx');
  const config = deriveModelConfig(spec, { onnx: await readOnnxSignature(onnxPath), onnxFile: 'dist/models/my_trt/export/model.onnx' });
  const lines: string[] = [];
  const result = await buildEngines({
    workspaceRoot: ws,
    request: engineRequest(spec, config),
    onnxPath,
    outDir: join(ws, 'dist/models/my_trt/engine'),
    env: clientEnv(extraEnv),
    retry: { retries: 1, backoffMs: 50 },
    log: (l) => {
      lines.push(l);
      log(l);
    },
  });
  return { result, lines };
}

const storeEntries = (store: string): string[] =>
  existsSync(store)
    ? readdirSync(store)
        .filter((s) => /^[0-9a-f]{2}$/.test(s))
        .flatMap((s) => readdirSync(join(store, s)))
    : [];

describe('engine target with remote builders', () => {
  it('builds one plan per target on the builder with that compute capability, then serves them from the local store', async () => {
    const [a, h] = await Promise.all([builder('a100', A100), builder('h100', H100)]);
    const file = project(`  targets: ["8.0", "9.0"]\n  builders: [${JSON.stringify(a.url)}, ${JSON.stringify(h.url)}]\n`);
    const { result, lines } = await engines(file);
    expect(result.map((r) => [r.target, r.file, r.via, r.hit])).toEqual([
      ['8.0', 'model_sm80.plan', a.url, false],
      ['9.0', 'model_sm90.plan', h.url, false],
    ]);
    const out = join(ws, 'dist/models/my_trt/engine');
    expect(readdirSync(out).sort()).toEqual(['engine.json', 'model_sm80.plan', 'model_sm90.plan']);
    // The stand-in trtexec bakes the GPU it ran on into the plan.
    expect(readFileSync(join(out, 'model_sm80.plan')).toString('latin1')).toContain('A100');
    expect(readFileSync(join(out, 'model_sm90.plan')).toString('latin1')).toContain('H100');
    expect(lines.some((l) => l.startsWith(`[builder ${a.url} my_trt sm80] `) && l.includes('&&&& PASSED'))).toBe(true);
    expect(lines.some((l) => l.startsWith(`[builder ${h.url} my_trt sm90] `))).toBe(true);
    const provenance = JSON.parse(readFileSync(join(out, 'engine.json'), 'utf8'));
    expect(provenance.targets['9.0']).toMatchObject({ file: 'model_sm90.plan', parts: { gpu: { name: 'NVIDIA H100 80GB HBM3', compute_capability: '9.0' } } });
    expect(storeEntries(join(ws, 'client-store')).sort()).toEqual(result.map((r) => r.key).sort());

    rmSync(join(ws, 'dist/models/my_trt/engine'), { recursive: true });
    const again = await engines(file);
    expect(again.result.every((r) => r.hit)).toBe(true);
    expect(trtexecBuilds(join(ws, 'a100/trtexec.log')) + trtexecBuilds(join(ws, 'h100/trtexec.log'))).toBe(2);
    expect(readdirSync(out).sort()).toEqual(['engine.json', 'model_sm80.plan', 'model_sm90.plan']);

    // The build target wires the plans with cc_model_filenames.
    const built = await buildModel({ workspaceRoot: ws, specFile: file, repository: 'dist/model-repository', resolveSpecFile: () => undefined });
    const pbtxt = readFileSync(join(built.entryDir, 'config.pbtxt'), 'utf8');
    expect(pbtxt).toMatch(/cc_model_filenames \{\s*key: "8\.0"\s*value: "model_sm80\.plan"\s*\}/);
    expect(pbtxt).toMatch(/cc_model_filenames \{\s*key: "9\.0"\s*value: "model_sm90\.plan"\s*\}/);
    expect(pbtxt).not.toContain('default_model_filename');
    expect(readdirSync(join(built.entryDir, '1')).filter((f) => f.endsWith('.plan')).sort()).toEqual(['model_sm80.plan', 'model_sm90.plan']);
  });

  it("serves an unreachable builder's targets from the local store by its remembered fingerprint, and never builds with it", async () => {
    const [a, h] = await Promise.all([builder('a100', A100), builder('h100', H100)]);
    const file = project(`  targets: ["8.0", "9.0"]\n  builders: [${JSON.stringify(a.url)}, ${JSON.stringify(h.url)}]\n`);
    const first = await engines(file);
    const remembered = readdirSync(join(ws, 'client-store/builders'));
    expect(remembered).toHaveLength(2);
    const saved = remembered.map((f) => JSON.parse(readFileSync(join(ws, 'client-store/builders', f), 'utf8')));
    expect(saved.map((r) => r.url).sort()).toEqual([a.url, h.url].sort());
    const seenAt = saved.find((r) => r.url === h.url).seen_at as string;

    h.kill();
    await h.stop();
    const out = join(ws, 'dist/models/my_trt/engine');
    rmSync(out, { recursive: true }); // a lost Nx cache
    const again = await engines(file);
    expect(again.result.map((r) => [r.target, r.via, r.hit, r.key])).toEqual(first.result.map((r) => [r.target, r.via, true, r.key]));
    expect(trtexecBuilds(join(ws, 'a100/trtexec.log')) + trtexecBuilds(join(ws, 'h100/trtexec.log'))).toBe(2);
    expect(readdirSync(out).sort()).toEqual(['engine.json', 'model_sm80.plan', 'model_sm90.plan']);
    expect(readFileSync(join(out, 'model_sm90.plan')).toString('latin1')).toContain('H100');
    expect(again.lines.filter((l) => l.includes(`builder ${h.url} is unreachable (connection refused`) && l.includes(`remembered from ${seenAt}`))).toHaveLength(1);

    // A new key (another option): the remembered fingerprint has no stored plan, and nothing is sent or built.
    const changed = project(`  targets: ["8.0", "9.0"]\n  builder_optimization_level: 2\n  builders: [${JSON.stringify(a.url)}, ${JSON.stringify(h.url)}]\n`);
    const message = await userErrorMessage(engines(changed));
    expect(message).toContain('models/my_trt/triton.yaml: tensorrt.targets: no builder serves compute capability 9.0.');
    expect(message).toContain(`Builders: ${a.url}, ${h.url}`);
    expect(message).toContain(`${h.url}: connection refused`);
    expect(message).toMatch(new RegExp(`its fingerprint remembered from ${seenAt.replace(/[.]/g, '\\.')} \\(gpu="NVIDIA H100 80GB HBM3" cc=9\\.0[^)]*\\) has no plan in the local engine store`));
    expect(trtexecBuilds(join(ws, 'a100/trtexec.log'))).toBe(1);
    expect(readFileSync(join(out, 'engine.json'), 'utf8')).toContain(first.result[1].key);
  });

  it('with a Triton release set, never chooses a builder whose TensorRT does not match it, and says what each has', async () => {
    const a = await builder('a100', A100); // the stand-ins' TensorRT 10.3.0
    const h = await builder('h100', H100, { FAKE_TRT_VERSION: '10.4.0' });
    const file = project(`  targets: ["8.0", "9.0"]\n  builders: [${JSON.stringify(a.url)}, ${JSON.stringify(h.url)}]\n`);
    writeFileSync(file, `triton_release: "24.08"\n${readFileSync(file, 'utf8')}`);
    const message = await userErrorMessage(engines(file));
    expect(message).toContain('models/my_trt/triton.yaml: tensorrt.targets: no builder serves compute capability 9.0.');
    expect(message).toContain(`${h.url}: TensorRT 10.4.0.26, but Triton 24.08 serves plans of TensorRT 10.3.0`);
    expect(message).toContain(`${a.url}: gpu="NVIDIA A100-SXM4-80GB" cc=8.0`);
    expect(trtexecBuilds(join(ws, 'a100/trtexec.log')) + trtexecBuilds(join(ws, 'h100/trtexec.log'))).toBe(0);

    writeFileSync(file, readFileSync(file, 'utf8').replace('targets: ["8.0", "9.0"]', 'targets: ["8.0"]'));
    const { result } = await engines(file);
    expect(result.map((r) => [r.target, r.via, r.parts.tensorrt, r.parts.triton_tensorrt])).toEqual([['8.0', a.url, '10.3.0.26', '10.3.0']]);
  });

  // Issue 13.4: the token went to any URL in tensorrt.builders, plain http included; whoever edits a
  // triton.yaml in a pull request that CI builds could collect the CI secret.
  it('sends the token only to loopback and to origins listed in NX_TRITON_BUILDER_ORIGINS, and not over plain http beyond loopback', async () => {
    const file = project('  builders: ["https://collector.example:8443", "http://10.255.0.1:8000"]\n');
    const message = await userErrorMessage(engines(file));
    expect(message).toContain(
      'https://collector.example:8443: the builder token goes only to loopback and to the origins in NX_TRITON_BUILDER_ORIGINS (env, never triton.yaml); https://collector.example:8443 is not listed',
    );
    expect(message).toContain('http://10.255.0.1:8000: the builder token goes only to loopback');
    const listed = await userErrorMessage(engines(file, { NX_TRITON_BUILDER_ORIGINS: 'http://10.255.0.1:8000' }));
    expect(listed).toContain('http://10.255.0.1:8000: plain http:// beyond loopback would send the builder token unencrypted');
  });

  it('fails before any build when a target is served by no builder, naming what each offered', async () => {
    const a = await builder('a100', A100);
    const file = project(`  targets: ["8.0", "8.6"]\n  builders: [${JSON.stringify(a.url)}, "http://127.0.0.1:1"]\n`);
    const message = await userErrorMessage(engines(file));
    expect(message).toContain('models/my_trt/triton.yaml: tensorrt.targets: no builder serves compute capability 8.6');
    expect(message).toContain(`${a.url}: gpu="NVIDIA A100-SXM4-80GB" cc=8.0`);
    expect(message).toContain('http://127.0.0.1:1: connection refused');
    expect(message).toContain('this machine: no GPU');
    expect(trtexecBuilds(join(ws, 'a100/trtexec.log'))).toBe(0);
    expect(storeEntries(join(ws, 'client-store'))).toEqual([]);
    expect(existsSync(join(ws, 'dist/models/my_trt/engine'))).toBe(false);
  });

  it('reports a builder killed mid-build and leaves no plan in the local store or the engine dir', async () => {
    const a = await builder('a100', A100, { FAKE_TRT_SLEEP_MS: '5000' });
    const file = project(`  targets: ["8.0"]\n  builders: [${JSON.stringify(a.url)}]\n`);
    const message = await userErrorMessage(
      engines(file, {}, (l) => {
        if (l.includes('&&&& RUNNING')) a.kill();
      }),
    );
    expect(message).toContain(`engine my_trt for compute capability 8.0 failed: builder ${a.url}: the connection was lost during the build`);
    expect(message).toContain('retried 1 time: connection refused');
    expect(storeEntries(join(ws, 'client-store'))).toEqual([]);
    expect(readdirSync(join(ws, 'client-store', 'tmp'))).toEqual([]);
    expect(existsSync(join(ws, 'dist/models/my_trt/engine'))).toBe(false);
  });

  it('refuses a wrong token with a message that says where the token comes from', async () => {
    const a = await builder('a100', A100);
    const file = project(`  builders: [${JSON.stringify(a.url)}]\n`);
    const message = await userErrorMessage(engines(file, { NX_TRITON_BUILDER_TOKEN: 'another-token-0123456789' }));
    expect(message).toContain(`${a.url}: refused the token (401`);
    expect(message).toContain('set NX_TRITON_BUILDER_TOKEN');
  });

  it('with hardware_compatibility ampere+, one Hopper builder serves both targets with one build', async () => {
    const h = await builder('h100', H100);
    const file = project(`  hardware_compatibility: ampere+\n  targets: ["8.0", "9.0"]\n  builders: [${JSON.stringify(h.url)}]\n`);
    const { result } = await engines(file);
    expect(result.map((r) => r.via)).toEqual([h.url, h.url]);
    expect(result[0].key).toBe(result[1].key);
    expect(trtexecBuilds(join(ws, 'h100/trtexec.log'))).toBe(1);
    const out = join(ws, 'dist/models/my_trt/engine');
    expect(readFileSync(join(out, 'model_sm80.plan'))).toEqual(readFileSync(join(out, 'model_sm90.plan')));
  });

  /** What `nx-triton fingerprint --builders-of <file>` prints, a line each (exit 0 asserted). */
  async function buildersOf(file: string): Promise<string[]> {
    const saved = process.env;
    process.env = clientEnv();
    const out: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((m: unknown) => void out.push(String(m)));
    try {
      expect(await fingerprintCli(['--builders-of', file])).toBe(0);
    } finally {
      spy.mockRestore();
      process.env = saved;
    }
    return out;
  }

  it('nx-triton fingerprint --builders-of prints each builder of a triton.yaml (the Nx cache key)', async () => {
    const [a, h] = await Promise.all([builder('a100', A100), builder('h100', H100)]);
    const out = await buildersOf(project(`  builders: [${JSON.stringify(a.url)}, ${JSON.stringify(h.url)}, "http://127.0.0.1:1"]\n`));
    expect(out[0]).toContain('gpu=no-gpu');
    expect(out.slice(1)).toEqual([
      expect.stringMatching(new RegExp(`^builder ${a.url}: gpu="NVIDIA A100-SXM4-80GB" cc=8\\.0 driver=550\\.54\\.15 tensorrt=10\\.3\\.0\\.26 os=`)),
      expect.stringMatching(new RegExp(`^builder ${h.url}: gpu="NVIDIA H100 80GB HBM3" cc=9\\.0`)),
      'builder http://127.0.0.1:1: unreachable',
    ]);
  });

  it('nx-triton fingerprint --builders-of never sends the token to an origin the engine target would refuse (issue 13.4)', async () => {
    const out = await buildersOf(project('  builders: ["https://collector.example:8443"]\n'));
    expect(out.slice(1)).toEqual(['builder https://collector.example:8443: refused']);
  });

});

// Issue 19, item 14: remote builders refused every default torch 2.x export (external data).
describe('remote builders and ONNX external data', () => {
  const weights = Buffer.alloc(8192, 5);
  /** The export wrote `model.onnx` and `model.onnx.data` (the dynamo exporter's layout). */
  function externalProject(tensorrt: string): { file: string; onnxPath: string } {
    const exportDir = join(ws, 'dist/models/my_trt/export');
    rmSync(exportDir, { recursive: true, force: true });
    mkdirSync(exportDir, { recursive: true });
    writeFileSync(join(exportDir, 'model.onnx'), reluWithExternalData(['model.onnx.data']));
    writeFileSync(join(exportDir, 'model.onnx.data'), weights);
    const file = join(ws, 'models/my_trt/triton.yaml');
    mkdirSync(join(ws, 'models/my_trt'), { recursive: true });
    writeFileSync(join(ws, 'models/my_trt/model.onnx'), reluWithExternalData(['model.onnx.data']));
    writeFileSync(join(ws, 'models/my_trt/model.onnx.data'), weights);
    writeFileSync(file, `platform: tensorrt_plan\nmax_batch_size: 8\nexport:\n  file: model.onnx\ntensorrt:\n${tensorrt}`);
    return { file, onnxPath: join(exportDir, 'model.onnx') };
  }
  async function externalEngines(file: string, onnxPath: string) {
    const spec = loadSpec(file, { displayPath: 'models/my_trt/triton.yaml' });
    const signature = await readOnnxSignature(onnxPath);
    const config = deriveModelConfig(spec, { onnx: signature, onnxFile: 'dist/models/my_trt/export/model.onnx' });
    const lines: string[] = [];
    const result = await buildEngines({
      workspaceRoot: ws,
      request: engineRequest(spec, config),
      onnxPath,
      externalData: signature.externalData,
      outDir: join(ws, 'dist/models/my_trt/engine'),
      env: clientEnv(),
      retry: { retries: 1, backoffMs: 50 },
      log: (l) => lines.push(l),
    });
    return { result, lines };
  }

  it('sends the data files with the ONNX to the builder of each target', async () => {
    const [a, h] = await Promise.all([builder('a100', A100), builder('h100', H100)]);
    const { file, onnxPath } = externalProject(`  targets: ["8.0", "9.0"]\n  builders: [${JSON.stringify(a.url)}, ${JSON.stringify(h.url)}]\n`);
    const { result, lines } = await externalEngines(file, onnxPath);
    expect(result.map((r) => [r.target, r.via, r.hit])).toEqual([
      ['8.0', a.url, false],
      ['9.0', h.url, false],
    ]);
    for (const r of result) expect(Object.keys(r.parts.onnx.external_data)).toEqual(['model.onnx.data']);
    for (const name of ['a100', 'h100']) {
      const runs = readFileSync(join(ws, name, 'trtexec.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(runs.filter((r) => r.kind === 'build').map((r) => r.beside)).toEqual([['model.onnx', 'model.onnx.data']]);
    }
    expect(lines.some((l) => l.includes('and 8192 bytes of external data (1 file)'))).toBe(true);
  });

  it('refuses a builder from before external data, naming its version and the fix', async () => {
    // A stand-in for an nx-triton builder from before external data: its fingerprint has no `external_data`.
    const old = createServer((req, res) => {
      res.writeHead(req.url === '/v1/fingerprint' ? 200 : 400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ protocol: 1, fingerprint: { gpu: { name: 'NVIDIA A100-SXM4-80GB', computeCapability: '8.0', driver: '550.54.15' }, tensorrt: { version: '10.3.0', build: 26 }, os: 'linux', arch: 'x64' }, max_upload_bytes: 1 << 30 }));
    });
    await new Promise<void>((r) => old.listen(0, '127.0.0.1', () => r()));
    try {
      const url = `http://127.0.0.1:${(old.address() as AddressInfo).port}`;
      const { file, onnxPath } = externalProject(`  builders: [${JSON.stringify(url)}]\n`);
      const message = await userErrorMessage(externalEngines(file, onnxPath));
      expect(message).toContain(
        `${url}: this builder (nx-triton from before external-data builds) takes single-file ONNX models only; this one has external data (model.onnx.data): update nx-triton on the builder to ${packageVersion()} (this client's) or later`,
      );
    } finally {
      old.close();
    }
  });
});
