import { arch, platform } from 'node:os';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { run } from '../../cli/fingerprint';
import { standInEnv } from '../../test/fixtures/stand-ins';
import { formatFingerprint, parseGpuLine, parseTrtexecBanner, readFingerprint } from './fingerprint';

const env = (extra: Record<string, string>): NodeJS.ProcessEnv => ({ ...standInEnv(), ...extra });

describe('parseTrtexecBanner', () => {
  it('reads the 8.x encoding (major*1000+minor*100+patch)', () => {
    expect(parseTrtexecBanner('&&&& RUNNING TensorRT.trtexec [TensorRT v8601] [b8] # trtexec --help')).toEqual({ version: '8.6.1', build: 8 });
    expect(parseTrtexecBanner('&&&& RUNNING TensorRT.trtexec [TensorRT v8205] # trtexec')).toEqual({ version: '8.2.5', build: undefined });
  });

  it('reads the 10.x+ encoding (major*10000+minor*100+patch)', () => {
    expect(parseTrtexecBanner('&&&& RUNNING TensorRT.trtexec [TensorRT v100001] [b3] # trtexec')).toEqual({ version: '10.0.1', build: 3 });
    expect(parseTrtexecBanner('&&&& RUNNING TensorRT.trtexec [TensorRT v101600] [b12] # trtexec')).toEqual({ version: '10.16.0', build: 12 });
    expect(parseTrtexecBanner('&&&& RUNNING TensorRT.trtexec [TensorRT v110100] [b2] # trtexec')).toEqual({ version: '11.1.0', build: 2 });
  });

  it('prefers the `TensorRT version:` line and ignores other output', () => {
    expect(parseTrtexecBanner('&&&& RUNNING TensorRT.trtexec [TensorRT v100300] [b26]\n[08/01/2025-10:00:00] [I] TensorRT version: 10.3.0\n')).toEqual({ version: '10.3.0', build: 26 });
    expect(parseTrtexecBanner('bash: trtexec: command not found')).toBeUndefined();
  });
});

describe('parseGpuLine', () => {
  it('takes the first GPU of the csv answer', () => {
    expect(parseGpuLine('NVIDIA A100-SXM4-80GB, 8.0, 550.54.15\nTesla T4, 7.5, 550.54.15\n')).toEqual({ name: 'NVIDIA A100-SXM4-80GB', computeCapability: '8.0', driver: '550.54.15' });
  });

  it('is no GPU when nvidia-smi answers with an error on stdout', () => {
    expect(parseGpuLine('Failed to initialize NVML: Driver/library version mismatch\n')).toBeUndefined();
    expect(parseGpuLine('')).toBeUndefined();
  });
});

describe('readFingerprint', () => {
  it('asks nvidia-smi and trtexec', async () => {
    const fp = await readFingerprint({ env: env({ FAKE_GPU: 'NVIDIA H100 80GB HBM3, 9.0, 560.35.03', FAKE_TRT_VERSION: '10.3.0', FAKE_TRT_BUILD: '26' }) });
    expect(fp).toEqual({
      gpu: { name: 'NVIDIA H100 80GB HBM3', computeCapability: '9.0', driver: '560.35.03' },
      tensorrt: { version: '10.3.0', build: 26 },
      os: platform(),
      arch: arch(),
    });
    expect(formatFingerprint(fp)).toBe(`gpu="NVIDIA H100 80GB HBM3" cc=9.0 driver=560.35.03 tensorrt=10.3.0.26 os=${platform()} arch=${arch()}`);
  });

  it('reads an 8.6 trtexec', async () => {
    const fp = await readFingerprint({ env: env({ FAKE_TRT_VERSION: '8.6.1', FAKE_TRT_BUILD: '6' }) });
    expect(fp.tensorrt).toEqual({ version: '8.6.1', build: 6 });
  });

  it('says no-gpu and no-tensorrt instead of failing', async () => {
    const fp = await readFingerprint({ trtexec: '/nonexistent/trtexec', env: env({ FAKE_GPU: 'none' }) });
    expect(fp.gpu).toBe('no-gpu');
    expect(fp.tensorrt).toBe('no-tensorrt');
    expect(formatFingerprint(fp)).toBe(`gpu=no-gpu tensorrt=no-tensorrt os=${platform()} arch=${arch()}`);
  });

  it('falls back for drivers without the compute_cap field (R470)', async () => {
    const fp = await readFingerprint({ env: env({ FAKE_GPU: 'r470:Tesla T4, 470.82.01' }) });
    expect(fp.gpu).toEqual({ name: 'Tesla T4', computeCapability: 'unknown', driver: '470.82.01' });
  });
});

describe('nx-triton fingerprint', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
    vi.restoreAllMocks();
  });

  it('prints one line, or JSON, and exits 0 even without a GPU', async () => {
    process.env = env({ FAKE_GPU: 'none', FAKE_TRT_VERSION: '11.1.0', FAKE_TRT_BUILD: '2' });
    const out: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((s: string) => void out.push(s));
    expect(await run([])).toBe(0);
    expect(await run(['--json'])).toBe(0);
    expect(out[0]).toBe(`gpu=no-gpu tensorrt=11.1.0.2 os=${platform()} arch=${arch()}`);
    expect(JSON.parse(out[1])).toEqual({ gpu: 'no-gpu', tensorrt: { version: '11.1.0', build: 2 }, os: platform(), arch: arch() });
  });
});
