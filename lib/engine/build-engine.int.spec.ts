import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DIST, ensureDist } from '../../test/dist';
import { userErrorMessage } from '../../test/expect-user-error';
import { A100, standInEnv, trtexecBuilds } from '../../test/fixtures/stand-ins';
import type { ModelConfig } from '../model-config';
import type { ModelSpec, TensorRtSpec } from '../model-spec/types';
import { engineRequest } from '../model-spec/engine-request';
import { buildEngine, type BuildEngineOptions } from './build-engine';

const ROOT = resolve(__dirname, '../..');
const ONNX = join(__dirname, '__fixtures__/relu_batch.onnx');
const CHILD = join(ROOT, 'test/children/build-engine.cjs');
const base = mkdtempSync(join(tmpdir(), 'nx-triton-engine-'));
beforeAll(() => ensureDist()); // the two-process test runs the built package
afterAll(() => rmSync(base, { recursive: true, force: true }));

let dir: string;
let n = 0;
beforeEach(() => {
  dir = join(base, `t${n++}`);
  mkdirSync(dir, { recursive: true });
});

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...standInEnv({ gpu: A100, log: join(dir, 'trtexec.log'), store: join(dir, 'store') }), ...extra };
}

function spec(tensorrt?: TensorRtSpec): ModelSpec {
  return {
    file: 'models/my_trt/triton.yaml',
    dir: join(dir, 'models/my_trt'),
    name: 'my_trt',
    config: { name: 'my_trt', platform: 'tensorrt_plan', max_batch_size: 8 },
    version: 1,
    previousVersions: {},
    tensorrt,
    positions: {},
  };
}

const config: ModelConfig = {
  name: 'my_trt',
  platform: 'tensorrt_plan',
  max_batch_size: 8,
  input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [4] }],
  output: [{ name: 'y', data_type: 'TYPE_FP32', dims: [4] }],
};

/** The options the engine target passes, its request made from `o.spec` (default spec()) and `o.config`. */
function options(o: Partial<BuildEngineOptions> & { spec?: ModelSpec; config?: ModelConfig } = {}, extraEnv: Record<string, string> = {}): BuildEngineOptions & { lines: string[] } {
  const lines: string[] = [];
  const { spec: s = spec(), config: c = config, ...rest } = o;
  return { workspaceRoot: dir, request: engineRequest(s, c), onnxPath: ONNX, outDir: join(dir, 'dist/models/my_trt/engine'), env: env(extraEnv), log: (l) => lines.push(l), lines, ...rest };
}

function builds(): number {
  return trtexecBuilds(join(dir, 'trtexec.log'));
}

function storeEntries(): string[] {
  const store = join(dir, 'store');
  return readdirSync(store)
    .filter((s) => /^[0-9a-f]{2}$/.test(s))
    .flatMap((s) => readdirSync(join(store, s)));
}

describe('buildEngine', () => {
  it('builds once per key, then serves the plan from the store, also after the output dir is lost', async () => {
    const first = await buildEngine(options());
    expect(first.hit).toBe(false);
    expect(builds()).toBe(1);
    const plan = readFileSync(join(dir, 'dist/models/my_trt/engine/model.plan'));
    expect(plan.toString('latin1', 0, 4)).toBe('ftrt');
    expect([...plan.subarray(24, 27)]).toEqual([10, 3, 0]);
    const provenance = JSON.parse(readFileSync(join(dir, 'dist/models/my_trt/engine/engine.json'), 'utf8'));
    expect(provenance.key).toBe(first.key);
    expect(provenance.parts).toMatchObject({ tensorrt: '10.3.0.26', gpu: { name: 'NVIDIA A100-SXM4-80GB', compute_capability: '8.0' } });
    expect(provenance.parts.options).toEqual(['--minShapes=x:1x4', '--optShapes=x:8x4', '--maxShapes=x:8x4', '--skipInference']);

    const again = await buildEngine(options());
    expect(again.hit).toBe(true);
    expect(builds()).toBe(1);

    rmSync(join(dir, 'dist'), { recursive: true }); // a lost Nx cache
    const o = options();
    const restored = await buildEngine(o);
    expect(restored.hit).toBe(true);
    expect(builds()).toBe(1);
    expect(readFileSync(join(dir, 'dist/models/my_trt/engine/model.plan'))).toEqual(plan);
    expect(o.lines.some((l) => l.includes('from the engine store'))).toBe(true);
  });

  it('never passes the builder token or origins to trtexec (issue 22, N4)', async () => {
    const token = 'builder-token-0123456789abcdef';
    await buildEngine(options({}, { NX_TRITON_BUILDER_TOKEN: token, NX_TRITON_BUILDER_ORIGINS: 'https://gpu.example:443' }));
    const runs = readFileSync(join(dir, 'trtexec.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string; nx_env: string[] });
    expect(runs.map((r) => r.kind)).toContain('build');
    for (const run of runs) expect(run.nx_env).toEqual(['NX_TRITON_ENGINE_CACHE']);
  });

  it('streams trtexec output with a prefix and the elapsed time', async () => {
    const o = options();
    await buildEngine(o);
    expect(o.lines.some((l) => /^\[trtexec my_trt\] \+\d+\.\ds &&&& PASSED TensorRT\.trtexec/.test(l))).toBe(true);
  });

  it('rebuilds for another GPU, TensorRT or build option, not for a config-only edit', async () => {
    await buildEngine(options());
    await buildEngine(options({ config: { ...config, instance_group: [{ kind: 'KIND_GPU', count: 4 }] } }));
    expect(builds()).toBe(1);
    await buildEngine(options({}, { FAKE_GPU: 'NVIDIA L4, 8.9, 550.54.15' }));
    expect(builds()).toBe(2);
    await buildEngine(options({}, { FAKE_TRT_VERSION: '10.4.0' }));
    expect(builds()).toBe(3);
    await buildEngine(options({ spec: spec({ precision: 'fp16' }) }));
    expect(builds()).toBe(4);
  });

  it('keys ampere+ engines by the compatibility level, not the exact GPU', async () => {
    const ampere = spec({ hardware_compatibility: 'ampere+' });
    const a = await buildEngine(options({ spec: ampere }));
    const b = await buildEngine(options({ spec: ampere }, { FAKE_GPU: 'NVIDIA L4, 8.9, 550.54.15' }));
    expect(b.key).toBe(a.key);
    expect(builds()).toBe(1);
  });

  it('rebuilds a corrupt store entry instead of serving it', async () => {
    const first = await buildEngine(options());
    const stored = join(dir, 'store', first.key.slice(0, 2), first.key, 'model.plan');
    const bytes = readFileSync(stored);
    bytes[40] ^= 0xff; // same size, same header, wrong bytes
    writeFileSync(stored, bytes);
    const o = options();
    const second = await buildEngine(o);
    expect(second.hit).toBe(false);
    expect(builds()).toBe(2);
    expect(o.lines.some((l) => l.includes('store entry is corrupt (plan checksum mismatch); rebuilding'))).toBe(true);

    writeFileSync(stored, Buffer.from('not a plan at all'));
    expect((await buildEngine(options())).hit).toBe(false);
    expect(builds()).toBe(3);
    expect(readFileSync(join(dir, 'dist/models/my_trt/engine/model.plan')).toString('latin1', 0, 4)).toBe('ftrt');
  });

  it('a failed trtexec leaves no entry and shows its last lines', async () => {
    const msg = await userErrorMessage(buildEngine(options({}, { FAKE_TRT_FAIL: '1' })));
    expect(msg).toMatch(/^trtexec failed \(exit code 1\)/);
    expect(msg).toContain('Error Code 4: Internal Error (fake failure requested by FAKE_TRT_FAIL)');
    expect(msg).toContain('&&&& FAILED TensorRT.trtexec');
    expect(msg).toContain('building layer 30');
    expect(msg).not.toContain('building layer 5\n');
    expect(storeEntries()).toEqual([]);
    expect(existsSync(join(dir, 'dist/models/my_trt/engine/model.plan'))).toBe(false);
    expect(readdirSync(join(dir, 'store/tmp'))).toEqual([]);
  });

  it('refuses a max_batch_size above what the profiles allow, as Triton would (when the request is made, before anything runs)', async () => {
    const msg = await userErrorMessage(Promise.resolve().then(() => buildEngine(options({ spec: spec({ profiles: [{ x: { min: [1, 4], opt: [2, 4], max: [4, 4] } }] }) }))));
    expect(msg).toBe(
      'models/my_trt/triton.yaml: max_batch_size: configuration specified max-batch 8 but TensorRT engine only supports max-batch 4 (raise the batch dim of max in tensorrt.profiles, or lower max_batch_size)',
    );
    expect(builds()).toBe(0);
  });

  it('with a Triton release set, builds only with the TensorRT it ships (or an older one of its major when version-compatible)', async () => {
    const at = (release: string, tensorrt?: TensorRtSpec): ModelSpec => ({ ...spec(tensorrt), tritonRelease: release, positions: { triton_release: { line: 3, col: 17 } } });
    const match = await buildEngine(options({ spec: at('24.08') }));
    expect([match.parts.tensorrt, match.parts.triton_tensorrt]).toEqual(['10.3.0.26', '10.3.0']);

    const msg = await userErrorMessage(buildEngine(options({ spec: at('24.09') })));
    expect(msg).toBe(
      'models/my_trt/triton.yaml:3:17: triton_release: Triton 24.09 serves plans of TensorRT 10.4.0; this one is TensorRT 10.3.0; this machine has TensorRT 10.3.0.26: ' +
        'build with TensorRT 10.4.0 (e.g. inside nvcr.io/nvidia/tritonserver:24.09-py3, or tensorrt.trtexec pointing at that trtexec), ' +
        'or set the Triton release that really serves the model; tensorrt.version_compatible: true lets an older TensorRT 10.x build it',
    );
    expect(builds()).toBe(1);
    // An older 10.x builds a version-compatible plan for 24.09's 10.4; a newer one never does.
    const vc = await buildEngine(options({ spec: at('24.09', { version_compatible: true }) }));
    expect(vc.parts.triton_tensorrt).toBe('10.4.0');
    expect(builds()).toBe(2);
    expect(await userErrorMessage(buildEngine(options({ spec: at('24.07', { version_compatible: true }) })))).toMatch(/a version-compatible plan runs on the same or a later 10\.x only/);
    // The nx.json option, when the model sets none.
    expect(await userErrorMessage(buildEngine(options({ tritonRelease: '24.12' })))).toMatch(/^models\/my_trt\/triton\.yaml: nx\.json plugin option tritonRelease: Triton 24\.12 serves plans of TensorRT 10\.7\.0/);
    expect(builds()).toBe(2);
  });

  it('needs a GPU and trtexec', async () => {
    expect(await userErrorMessage(buildEngine(options({}, { FAKE_GPU: 'none' })))).toMatch(/no NVIDIA GPU found/);
    expect(await userErrorMessage(buildEngine(options({ spec: spec({ trtexec: '/nonexistent/bin/missing-trtexec' }) })))).toMatch(/trtexec \(".*missing-trtexec"\) not found/);
  });

  // Issue 22, N10: tensorrt.trtexec runs whatever file it names, and a pull request edits triton.yaml: with a
  // script added in the same pull request, it ran at build time, looking like a vendored trtexec.
  it('runs a tensorrt.trtexec inside the workspace only where the environment allows it', async () => {
    const script = join(dir, 'models/my_trt/tools/trtexec');
    mkdirSync(join(dir, 'models/my_trt/tools'), { recursive: true });
    writeFileSync(script, `#!/bin/sh\ntouch ${join(dir, 'ran')}\nexec ${join(ROOT, 'test/fixtures/bin/trtexec')} "$@"\n`, { mode: 0o755 });
    const message = await userErrorMessage(buildEngine(options({ spec: spec({ trtexec: 'tools/trtexec' }) })));
    expect(message).toBe(
      'models/my_trt/triton.yaml: tensorrt.trtexec: "models/my_trt/tools/trtexec" is inside the workspace: a pull request can add or change it, and it would run at build time. ' +
        'Point tensorrt.trtexec at an installed trtexec, or set NX_TRITON_ALLOW_WORKSPACE_TRTEXEC=1 where the workspace is trusted',
    );
    expect(existsSync(join(dir, 'ran'))).toBe(false);
    // A link inside the workspace to an installed trtexec is the installed one.
    symlinkSync(join(ROOT, 'test/fixtures/bin/trtexec'), join(dir, 'models/my_trt/tools/installed'));
    await buildEngine(options({ spec: spec({ trtexec: 'tools/installed' }) }));
    // The environment can allow the script.
    await buildEngine(options({ spec: spec({ trtexec: 'tools/trtexec', builder_optimization_level: 1 }) }, { NX_TRITON_ALLOW_WORKSPACE_TRTEXEC: '1' }));
    expect(existsSync(join(dir, 'ran'))).toBe(true);
  });

  it('refuses precision flags with TensorRT 11 before running anything', async () => {
    expect(await userErrorMessage(buildEngine(options({ spec: spec({ precision: 'fp16' }) }, { FAKE_TRT_VERSION: '11.1.0' })))).toMatch(/strongly typed/);
    expect(builds()).toBe(0);
  });

  it('evicts the least recently used entries under a tiny size cap', async () => {
    const cap = { NX_TRITON_ENGINE_CACHE_MAX_BYTES: '3000' };
    const a = await buildEngine(options({ spec: spec({ builder_optimization_level: 1 }) }, cap));
    const b = await buildEngine(options({ spec: spec({ builder_optimization_level: 2 }) }, cap));
    await new Promise((r) => setTimeout(r, 20));
    await buildEngine(options({ spec: spec({ builder_optimization_level: 1 }) }, cap)); // a is now the most recently used
    const c = await buildEngine(options({ spec: spec({ builder_optimization_level: 3 }) }, cap));
    expect(storeEntries().sort()).toEqual([a.key, c.key].sort());
    expect(storeEntries()).not.toContain(b.key);
  });

  it('two processes building one key run trtexec once and get the same plan', async () => {
    const run = (i: number) =>
      new Promise<{ code: number | null; out: string }>((done) => {
        const out = join(dir, `out${i}`);
        const child = spawn(process.execPath, [CHILD, DIST, JSON.stringify({ workspaceRoot: dir, spec: spec(), config, onnxPath: ONNX, outDir: out })], {
          env: env({ FAKE_TRT_SLEEP_MS: '700' }),
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let text = '';
        child.stdout.on('data', (d) => (text += d));
        child.stderr.on('data', (d) => (text += d));
        child.on('close', (code) => done({ code, out: text }));
      });
    const [one, two] = await Promise.all([run(1), run(2)]);
    expect([one.code, two.code], one.out + two.out).toEqual([0, 0]);
    expect(builds()).toBe(1);
    expect(readFileSync(join(dir, 'out1/model.plan'))).toEqual(readFileSync(join(dir, 'out2/model.plan')));
    expect([one.out, two.out].filter((t) => t.includes('another process is building it; waiting'))).toHaveLength(1);
  });

  // Issue 22, N5/F2: a process in another PID namespace with the same host name (`docker --network host`,
  // k8s hostNetwork) saw the builder's pid as dead, took over its live lock in 0.1 s and deleted its
  // build in progress. `unshare --pid --fork` makes such a process here, for real.
  it('a process in another PID namespace of this host waits for a live build instead of taking it over', async () => {
    const run = (i: number, argv: string[], sleepMs: number) =>
      new Promise<{ code: number | null; out: string }>((done) => {
        const out = join(dir, `out${i}`);
        const args = [CHILD, DIST, JSON.stringify({ workspaceRoot: dir, spec: spec(), config, onnxPath: ONNX, outDir: out })];
        const child = spawn(argv[0] ?? process.execPath, [...argv.slice(1), ...(argv.length ? [process.execPath] : []), ...args], {
          env: env({ FAKE_TRT_SLEEP_MS: String(sleepMs) }),
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let text = '';
        child.stdout.on('data', (d) => (text += d));
        child.stderr.on('data', (d) => (text += d));
        child.on('close', (code) => done({ code, out: text }));
      });
    const first = run(1, [], 4000);
    // The second starts once the first holds the lock and is building.
    for (let i = 0; i < 200 && !existsSync(join(dir, 'trtexec.log')); i++) await new Promise((r) => setTimeout(r, 50));
    const second = run(2, ['unshare', '--pid', '--fork'], 4000);
    const [one, two] = await Promise.all([first, second]);
    expect([one.code, two.code], one.out + two.out).toEqual([0, 0]);
    expect(builds()).toBe(1);
    expect(two.out).toContain('another process is building it; waiting');
    expect(two.out).toMatch(/built hit /);
  });
});
