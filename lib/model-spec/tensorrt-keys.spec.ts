import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EMITTED_FLAGS, trtexecArgs } from '../engine/trtexec-args';
import { tensorRtRelease } from '../releases/tensorrt';
import { parseSpec } from './load';
import { checkBuildRequest, ProtocolError } from '../engine/remote/protocol';
import { PLUGIN_KEY_SCHEMA } from './plugin-keys';
import { engineRequest } from './engine-request';
import { LOCAL_TENSORRT_KEYS, REMOTE_TENSORRT_KEYS, TENSORRT_KEY_SCHEMA, TENSORRT_KEYS } from './tensorrt';

const ROOT = join(__dirname, '..', '..');
const SOURCE_DIRS = ['lib', 'plugin', 'executors', 'generators', 'cli'];

/** Every source file of the plugin (no tests, no fixtures), relative to the repository root. */
function sources(): string[] {
  return SOURCE_DIRS.flatMap((dir) =>
    (readdirSync(join(ROOT, dir), { recursive: true }) as string[])
      .filter((f) => f.endsWith('.ts') && !/\.(spec|e2e)\.ts$/.test(f) && !f.split(/[\\/]/).includes('__fixtures__'))
      .map((f) => relative(ROOT, join(ROOT, dir, f)).replace(/\\/g, '/')),
  ).sort();
}

function mentioning(word: string): string[] {
  const re = new RegExp(`\\b${word}\\b`);
  return sources().filter((f) => re.test(readFileSync(join(ROOT, f), 'utf8')));
}

describe('a tensorrt: key is declared in one table', () => {
  it('the key table is the checker, the remote allow-list and the local keys', () => {
    // In the order their trtexec arguments are written.
    expect(Object.keys(TENSORRT_KEYS)).toEqual([
      'profiles',
      'precision',
      'workspace',
      'builder_optimization_level',
      'hardware_compatibility',
      'version_compatible',
      'targets',
      'builders',
      'trtexec',
      'timing_cache',
    ]);
    expect([...LOCAL_TENSORRT_KEYS].sort()).toEqual(['builders', 'targets', 'trtexec']);
    expect(REMOTE_TENSORRT_KEYS).toEqual(Object.keys(TENSORRT_KEYS).filter((k) => !['builders', 'targets', 'trtexec'].includes(k)));
  });

  it('lib/model-spec/types.ts declares no tensorrt: key: TensorRtSpec and the EngineRequest options derive from the table', () => {
    const types = readFileSync(join(ROOT, 'lib/model-spec/types.ts'), 'utf8');
    expect(Object.keys(TENSORRT_KEYS).filter((k) => new RegExp(`\\b${k}\\??:`).test(types))).toEqual([]);
    for (const field of ['workspaceMiB', 'builderOptimizationLevel', 'hardwareCompatibility', 'versionCompatible', 'timingCache']) {
      expect([field, new RegExp(`\\b${field}\\??:`).test(types)]).toEqual([field, false]);
    }
  });

  it('the source files that mention a one-flag key (what a new key touches): its entry in the table only', () => {
    // TENSORRT_KEYS (lib/model-spec/tensorrt.ts): check, editor schema, request field, trtexec flag, ONNX Runtime
    // parameter, remote allow-list and the builder's value check.
    const expected = ['lib/model-spec/tensorrt.ts'];
    expect(mentioning('builder_optimization_level')).toEqual(expected);
    expect(mentioning('timing_cache')).toEqual(expected);
  });

  it('every option flag trtexecArgs emits is in EMITTED_FLAGS, and a key reaches its flag through the request', () => {
    const spec = parseSpec(
      'platform: tensorrt_plan\nmax_batch_size: 0\nfrom: my_onnx\ntensorrt:\n  builder_optimization_level: 4\n  workspace: 1GiB\n  version_compatible: true\n  hardware_compatibility: ampere+\n',
      'models/m/triton.yaml',
      '/tmp/m',
      { checkFiles: false },
    );
    const request = engineRequest(spec, { max_batch_size: 0, input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [3] }] });
    const args = trtexecArgs(request, tensorRtRelease('10.3.0'), { onnx: 'm.onnx', plan: 'm.plan' });
    expect(args).toEqual([
      '--onnx=m.onnx',
      '--saveEngine=m.plan',
      '--memPoolSize=workspace:1024M',
      '--builderOptimizationLevel=4',
      '--hardwareCompatibilityLevel=ampere+',
      '--versionCompatible',
      '--skipInference',
    ]);
    expect(args.map((a) => a.slice(2).split('=')[0]).filter((f) => !EMITTED_FLAGS.includes(f))).toEqual([]);
  });

  it('a builder checks every option it takes with the same table: the checked options round-trip, bad values are refused at the key', () => {
    const spec = parseSpec(
      'platform: tensorrt_plan\nmax_batch_size: 8\nfrom: my_onnx\ntensorrt:\n  precision: FP16\n  workspace: 512\n  profiles: [{ x: { min: [1, 3], opt: [4, 3], max: [8, 3] } }]\n  builder_optimization_level: 4\n  hardware_compatibility: sameComputeCapability\n  version_compatible: true\n  timing_cache: false\n',
      'models/m/triton.yaml',
      '/tmp/m',
      { checkFiles: false },
    );
    const options = spec.tensorrt!;
    expect(Object.keys(options).sort()).toEqual([...REMOTE_TENSORRT_KEYS].sort());
    const request = (tensorrt: unknown) =>
      checkBuildRequest({ onnx_sha256: '0'.repeat(64), model: 'm', max_batch_size: 8, inputs: [{ name: 'x', dims: [3] }], tensorrt });
    // Over JSON, as a client sends them: the builder reads back what triton.yaml's checker gave.
    expect(request(JSON.parse(JSON.stringify(options))).tensorrt).toEqual(options);
    const refused = (tensorrt: Record<string, unknown>) => {
      try {
        request(tensorrt);
      } catch (err) {
        expect(err).toBeInstanceOf(ProtocolError);
        return (err as Error).message;
      }
      return 'accepted';
    };
    // One bad value per key: the message is triton.yaml's for that key.
    const bad: Record<string, unknown> = {
      precision: 'fp99',
      workspace: 'lots',
      profiles: [{ x: { min: [1], opt: [1] } }],
      builder_optimization_level: 9,
      hardware_compatibility: 'constructor',
      version_compatible: 'yes',
      timing_cache: 3,
    };
    expect(Object.keys(bad).sort()).toEqual([...REMOTE_TENSORRT_KEYS].sort());
    for (const [k, v] of Object.entries(bad)) expect(refused({ [k]: v })).toMatch(new RegExp(`^tensorrt\\.${k}\\b`));
    for (const k of LOCAL_TENSORRT_KEYS) expect(refused({ [k]: 'x' })).toBe(`tensorrt.${k}: not accepted by a builder`);
  });

  it("the editor schema's tensorrt.* entries are the table's", () => {
    expect(Object.keys(TENSORRT_KEY_SCHEMA)).toEqual(Object.keys(TENSORRT_KEYS).map((k) => `tensorrt.${k}`));
    for (const k of Object.keys(TENSORRT_KEYS)) expect(PLUGIN_KEY_SCHEMA[`tensorrt.${k}`]).toBe(TENSORRT_KEY_SCHEMA[`tensorrt.${k}`]);
  });
});
