import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EMITTED_FLAGS, trtexecArgs } from '../engine/trtexec-args';
import { tensorRtRelease } from '../engine/releases';
import { parseSpec } from './load';
import { engineRequest, LOCAL_TENSORRT_KEYS, REMOTE_TENSORRT_KEYS, TENSORRT_KEYS } from './tensorrt';

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
    expect(Object.keys(TENSORRT_KEYS)).toEqual([
      'precision',
      'workspace',
      'profiles',
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

  it('lib/types.ts declares no tensorrt: key: TensorRtSpec and the EngineRequest options derive from the table', () => {
    const types = readFileSync(join(ROOT, 'lib/types.ts'), 'utf8');
    expect(Object.keys(TENSORRT_KEYS).filter((k) => new RegExp(`\\b${k}\\??:`).test(types))).toEqual([]);
    for (const field of ['workspaceMiB', 'builderOptimizationLevel', 'hardwareCompatibility', 'versionCompatible', 'timingCache']) {
      expect([field, new RegExp(`\\b${field}\\??:`).test(types)]).toEqual([field, false]);
    }
  });

  it('the source files that mention a one-flag key (what a new key touches)', () => {
    // The checker's table (lib/spec/tensorrt.ts) and trtexecArgs' OPTION_FLAGS line (lib/engine/trtexec-args.ts),
    // and two places these files do not own: the builder protocol's value checks (lib/builder/protocol.ts
    // checkBuildRequest) and the JSON schema's description (lib/spec/plugin-schema.ts, which
    // lib/schema/schema.spec.ts requires for every key).
    const expected = ['lib/builder/protocol.ts', 'lib/engine/trtexec-args.ts', 'lib/spec/plugin-schema.ts', 'lib/spec/tensorrt.ts'];
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
});
