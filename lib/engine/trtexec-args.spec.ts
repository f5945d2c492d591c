import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { STAND_IN_TRTEXEC as TRTEXEC, standInEnv } from '../../test/fixtures/stand-ins';
import { UserError } from '../errors';
import { engineRequest } from '../model-spec/engine-request';
import { profileMaxBatch } from '../model-spec/tensorrt';
import type { ModelTensor } from '../model-config';
import type { TensorRtSpec } from '../model-spec/types';
import { tensorRtRelease } from '../releases/tensorrt';
import { EMITTED_FLAGS, normalisedOptions, trtexecArgs } from './trtexec-args';

const ONNX = resolve(__dirname, '__fixtures__/tokens.onnx');
const tmp = mkdtempSync(join(tmpdir(), 'nx-triton-args-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const tokens: ModelTensor[] = [{ name: 'tokens', data_type: 'TYPE_INT64', dims: [-1] }];
const x: ModelTensor[] = [{ name: 'x', data_type: 'TYPE_FP32', dims: [4] }];

interface ArgsOptions {
  onnxPath: string;
  planPath: string;
  inputs: ModelTensor[];
  maxBatchSize: number;
  optBatchSize: number;
  timingCachePath: string;
}

/** The request made as the engine target makes it (lib/model-spec engineRequest), then trtexecArgs for `trtVersion`. */
function args(trtVersion: string, tensorrt: TensorRtSpec = {}, o: Partial<ArgsOptions> = {}): string[] {
  const maxBatch = o.maxBatchSize ?? 8;
  const config = {
    max_batch_size: maxBatch,
    input: o.inputs ?? x,
    ...(o.optBatchSize !== undefined ? { dynamic_batching: { preferred_batch_size: [o.optBatchSize] } } : {}),
  };
  const request = engineRequest({ file: 'models/m/triton.yaml', name: 'm', tensorrt, positions: {} }, config);
  return trtexecArgs(request, tensorRtRelease(trtVersion), { onnx: o.onnxPath ?? 'm.onnx', plan: o.planPath ?? 'm.plan', timingCache: o.timingCachePath });
}

function userError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return (err as Error).message;
  }
  throw new Error('expected a UserError');
}

describe('trtexecArgs', () => {
  it('builds with a batch profile 1 / opt / max_batch_size and --skipInference', () => {
    expect(args('10.3.0', {}, { optBatchSize: 4 })).toEqual([
      '--onnx=m.onnx',
      '--saveEngine=m.plan',
      '--minShapes=x:1x4',
      '--optShapes=x:4x4',
      '--maxShapes=x:8x4',
      '--skipInference',
    ]);
  });

  it('gives no shapes when nothing is dynamic', () => {
    expect(args('10.3.0', {}, { maxBatchSize: 0 })).toEqual(['--onnx=m.onnx', '--saveEngine=m.plan', '--skipInference']);
  });

  it('maps every option per TensorRT major', () => {
    const trt: TensorRtSpec = { precision: 'fp16', workspace: '2GiB', builder_optimization_level: 5, hardware_compatibility: 'ampere+', version_compatible: true };
    const tail = ['--builderOptimizationLevel=5', '--hardwareCompatibilityLevel=ampere+', '--versionCompatible', '--timingCacheFile=t.cache', '--skipInference'];
    expect(args('8.6.1', trt, { timingCachePath: 't.cache' }).slice(5)).toEqual(['--fp16', '--memPoolSize=workspace:2048', ...tail]);
    expect(args('10.3.0', trt, { timingCachePath: 't.cache' }).slice(5)).toEqual(['--fp16', '--memPoolSize=workspace:2048M', ...tail]);
    expect(args('11.1.0', { ...trt, precision: undefined }, { timingCachePath: 't.cache' }).slice(5)).toEqual(['--memPoolSize=workspace:2048M', ...tail]);
  });

  it('refuses precision flags on TensorRT 11 and says what to do instead', () => {
    for (const p of ['fp16', 'bf16', 'int8', 'fp8', 'best']) {
      const msg = userError(() => args('11.1.0', { precision: p }));
      expect(msg).toContain('models/m/triton.yaml: tensorrt.precision:');
      expect(msg).toContain('strongly typed');
      expect(msg).toContain('modelopt.onnx.autocast');
    }
    expect(args('11.1.0', { precision: 'fp32' })).not.toContain('--fp32');
  });

  it('refuses flags the installed version does not have yet', () => {
    expect(userError(() => args('8.6.1', { precision: 'bf16' }))).toMatch(/"bf16" needs TensorRT 9\.1\.0 or newer; this machine has 8\.6\.1/);
    expect(userError(() => args('10.3.0', { hardware_compatibility: 'same_compute_capability' }))).toMatch(/needs TensorRT 10\.10\.0/);
    expect(args('10.10.0', { hardware_compatibility: 'same_compute_capability' })).toContain('--hardwareCompatibilityLevel=sameComputeCapability');
    expect(userError(() => args('8.5.3'))).toMatch(/too old/);
  });

  it('takes several profiles with --profile from 9.1 and refuses them on 8.6', () => {
    const profiles = [{ tokens: { min: [1], opt: [16], max: [32] } }, { tokens: { min: [2, 33], opt: [4, 256], max: [4, 512] } }];
    const got = args('10.3.0', { profiles }, { inputs: tokens });
    expect(got.slice(2, -1)).toEqual([
      '--profile=0',
      '--minShapes=tokens:1x1',
      '--optShapes=tokens:8x16',
      '--maxShapes=tokens:8x32',
      '--profile=1',
      '--minShapes=tokens:2x33',
      '--optShapes=tokens:4x256',
      '--maxShapes=tokens:4x512',
    ]);
    expect(userError(() => args('8.6.1', { profiles }, { inputs: tokens }))).toMatch(/several optimization profiles need TensorRT 9\.1/);
  });

  it('names the input whose dynamic dim has no range', () => {
    expect(userError(() => args('10.3.0', {}, { inputs: tokens }))).toBe(
      'models/m/triton.yaml: tensorrt.profiles: input "tokens" has dynamic dims [-1] but no range: add tokens: { min: [...], opt: [...], max: [...] }',
    );
    expect(userError(() => args('10.3.0', { profiles: [{ token: { min: [1], opt: [1], max: [1] } }] }, { inputs: tokens }))).toMatch(
      /tensorrt\.profiles\[0\]\.token: no input named "token"/,
    );
    expect(userError(() => args('10.3.0', { profiles: [{ x: { min: [5], opt: [5], max: [5] } }] }))).toMatch(/fixed at 4, got 5/);
  });

  it('computes the engine max batch as Triton does (min over inputs, max over profiles)', () => {
    const inputs: ModelTensor[] = [...tokens, { name: 'mask', dims: [-1] }];
    const profiles = [
      { tokens: { min: [1, 1], opt: [2, 8], max: [4, 8] }, mask: { min: [1, 1], opt: [2, 8], max: [2, 8] } },
      { tokens: { min: [1, 1], opt: [6, 8], max: [6, 8] }, mask: { min: [1, 1], opt: [6, 8], max: [6, 8] } },
    ];
    const p = engineRequest({ file: 'm', name: 'm', tensorrt: { profiles }, positions: {} }, { max_batch_size: 6, input: inputs }).profiles;
    expect(profileMaxBatch(p, 8)).toBe(6);
  });

  it('leaves the paths out of the options that go into the engine key', () => {
    expect(normalisedOptions(args('10.3.0', {}, { timingCachePath: '/a/t.cache' }))).toEqual(['--minShapes=x:1x4', '--optShapes=x:8x4', '--maxShapes=x:8x4', '--skipInference']);
  });
});

describe('flags against trtexec releases (the stand-in refuses what each release lacks)', () => {
  const versions = ['8.6.1', '10.3.0', '10.16.0', '11.1.0'];

  it('agrees with the stand-in on every flag we may emit, in every version', () => {
    for (const v of versions) {
      const r = spawnSync(TRTEXEC, EMITTED_FLAGS.map((f) => `--${f}=1`), { env: standInEnv({ trtVersion: v }), encoding: 'utf8' });
      const refused = new Set([...r.stderr.matchAll(/Unknown option: --(\w+)/g)].map((m) => m[1]));
      for (const flag of EMITTED_FLAGS) expect([v, flag, !refused.has(flag)]).toEqual([v, flag, tensorRtRelease(v).flags.has(flag)]);
    }
  });

  it('builds with what trtexecArgs emits, for each version', () => {
    const cases: Array<[string, TensorRtSpec]> = [
      ['8.6.1', { precision: 'fp16', workspace: 1024, builder_optimization_level: 3, hardware_compatibility: 'ampere+', version_compatible: true }],
      ['10.3.0', { precision: 'bf16', workspace: '1G', profiles: [{ tokens: { min: [1], opt: [8], max: [16] } }, { tokens: { min: [17], opt: [32], max: [64] } }] }],
      ['10.16.0', { precision: 'int8', hardware_compatibility: 'same_compute_capability' }],
      ['11.1.0', { workspace: 512, version_compatible: true, builder_optimization_level: 4 }],
    ];
    for (const [v, trt] of cases) {
      const plan = join(tmp, `${v}.plan`);
      const argv = args(v, { profiles: [{ tokens: { min: [1], opt: [8], max: [16] } }], ...trt }, { onnxPath: ONNX, planPath: plan, inputs: tokens, maxBatchSize: 4, timingCachePath: join(tmp, `${v}.cache`) });
      const out = execFileSync(TRTEXEC, argv, { env: standInEnv({ trtVersion: v }), encoding: 'utf8' });
      expect(out).toContain('&&&& PASSED TensorRT.trtexec');
    }
  });

  it('the stand-in refuses flags removed in its version, like trtexec', () => {
    const refused = (v: string, flag: string) => {
      const r = spawnSync(TRTEXEC, [`--onnx=${ONNX}`, flag], { env: standInEnv({ trtVersion: v }), encoding: 'utf8' });
      return r.status !== 0 && r.stderr.includes(`Unknown option: ${flag.split('=')[0]}`) && r.stdout.includes('&&&& FAILED');
    };
    expect(refused('11.1.0', '--fp16')).toBe(true);
    expect(refused('11.1.0', '--int8')).toBe(true);
    expect(refused('10.3.0', '--workspace=1024')).toBe(true);
    expect(refused('10.3.0', '--buildOnly')).toBe(true);
    expect(refused('10.3.0', '--explicitBatch')).toBe(true);
    expect(refused('8.6.1', '--profile=0')).toBe(true);
    expect(refused('8.6.1', '--fp16')).toBe(false);
  });
});
