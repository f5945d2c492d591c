import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { STAND_IN_TRTEXEC as TRTEXEC, standInEnv } from '../../test/fixtures/stand-ins';
import { engineRequest } from '../model-spec/engine-request';
import type { TensorRtSpec } from '../model-spec/types';
import { RELEASES, tensorRtRelease, type ReleaseTable } from './tensorrt';
import { trtexecArgs } from '../engine/trtexec-args';

const ONNX = resolve(__dirname, '../engine/__fixtures__/tokens.onnx');
const tmp = mkdtempSync(join(tmpdir(), 'nx-triton-releases-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// A made-up TensorRT 12.0: adding a release is this one entry, nothing else.
const MADE_UP: ReleaseTable = {
  ...RELEASES,
  releases: [
    ...RELEASES.releases,
    { release: '12.0', flags_removed: ['versionCompatible'], hardware_compatibility: { none: 'none', same_compute_capability: 'sameComputeCapability' } },
  ],
};
const tableFile = join(tmp, 'releases.json');
writeFileSync(tableFile, JSON.stringify(MADE_UP));

function argv(version: string, tensorrt: TensorRtSpec, table: ReleaseTable = RELEASES): string[] {
  const request = engineRequest(
    { file: 'models/m/triton.yaml', name: 'm', tensorrt: { profiles: [{ tokens: { min: [1], opt: [8], max: [16] } }], ...tensorrt }, positions: {} },
    { max_batch_size: 4, input: [{ name: 'tokens', data_type: 'TYPE_INT64', dims: [-1] }] },
  );
  return trtexecArgs(request, tensorRtRelease(version, table), { onnx: ONNX, plan: join(tmp, `${version}.plan`) });
}

describe('the TensorRT release table', () => {
  it('folds each entry over the ones before it', () => {
    const r = tensorRtRelease('10.3.0.26');
    expect(r.release).toBe('10.2.0');
    expect([r.flags.has('fp16'), r.flags.has('buildOnly'), r.memoryPoolUnit, r.precision, r.builds]).toEqual([true, false, 'M', 'flags', true]);
    expect(Object.keys(r.hardwareCompatibility)).toEqual(['none', 'ampere+']);
    expect(tensorRtRelease('11.1.0').precision).toBe('strongly_typed');
    expect(tensorRtRelease('8.5.3').builds).toBe(false);
  });

  it('takes a made-up release from one table entry: trtexecArgs and the stand-in trtexec both follow it', () => {
    const env = { ...standInEnv({ trtVersion: '12.0.0' }), FAKE_TRT_RELEASES: tableFile };
    const ok = argv('12.0.0', { workspace: '1G', hardware_compatibility: 'same_compute_capability' }, MADE_UP);
    expect(ok).toContain('--memPoolSize=workspace:1024M');
    expect(execFileSync(TRTEXEC, ok, { env, encoding: 'utf8' })).toContain('&&&& PASSED TensorRT.trtexec');

    expect(() => argv('12.0.0', { version_compatible: true }, MADE_UP)).toThrow(
      'models/m/triton.yaml: tensorrt.version_compatible: trtexec of TensorRT 12.0.0 has no --versionCompatible',
    );
    expect(() => argv('12.0.0', { hardware_compatibility: 'ampere+' }, MADE_UP)).toThrow('tensorrt.hardware_compatibility: TensorRT 12.0.0 has no ampere+ level (it has: none, same_compute_capability)');
    // The stand-in plays the same table: it refuses what the made-up release dropped.
    const refused = spawnSync(TRTEXEC, [...argv('11.1.0', { version_compatible: true })], { env, encoding: 'utf8' });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('Unknown option: --versionCompatible');
    // Without the made-up entry, 12.0 is 11.1 with everything it has.
    expect(argv('12.0.0', { version_compatible: true })).toContain('--versionCompatible');
  });
});
