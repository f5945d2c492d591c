import { describe, expect, it } from 'vitest';
import { ONNXRUNTIME_RELEASES, oldestReleaseLoading, onnxLoadsOf, onnxRefusal, opsetForRelease } from './onnxruntime';
import { TRITON_RELEASES } from './triton';

describe('the ONNX Runtime of each Triton release', () => {
  it('has a line for every release the TensorRT table has, and nothing else', () => {
    expect(ONNXRUNTIME_RELEASES).toEqual(TRITON_RELEASES);
    for (const r of ONNXRUNTIME_RELEASES) expect(onnxLoadsOf(r), r).toBeDefined();
    expect(onnxLoadsOf('99.01')).toBeUndefined();
    expect(onnxLoadsOf('constructor')).toBeUndefined();
  });

  it('what each release loads, as measured on the ONNX Runtime it ships (lib/releases/onnxruntime.ts cites the sources)', () => {
    const row = (r: string) => {
      const l = onnxLoadsOf(r)!;
      return `${l.onnxruntime} IR ${l.ir} ai.onnx ${l.opsets['ai.onnx']} ai.onnx.ml ${l.opsets['ai.onnx.ml']}`;
    };
    expect(row('23.01')).toBe('1.13.1 IR 8 ai.onnx 17 ai.onnx.ml 3');
    expect(row('23.05')).toBe('1.15.0 IR 9 ai.onnx 18 ai.onnx.ml 3'); // 1.15 has no Identity-19 kernel
    expect(row('24.01')).toBe('1.16.3 IR 9 ai.onnx 19 ai.onnx.ml 3');
    expect(row('24.04')).toBe('1.17.3 IR 9 ai.onnx 20 ai.onnx.ml 4');
    expect(row('24.05')).toBe('1.18.0 IR 10 ai.onnx 21 ai.onnx.ml 5');
    expect(row('24.08')).toBe('1.19.0 IR 10 ai.onnx 21 ai.onnx.ml 5');
    expect(row('25.03')).toBe('1.21.0 IR 10 ai.onnx 22 ai.onnx.ml 5');
    expect(row('25.12')).toBe('1.23.2 IR 11 ai.onnx 23 ai.onnx.ml 5');
    // Newer releases never load less.
    for (let i = 1; i < ONNXRUNTIME_RELEASES.length; i++) {
      const [a, b] = [onnxLoadsOf(ONNXRUNTIME_RELEASES[i - 1])!, onnxLoadsOf(ONNXRUNTIME_RELEASES[i])!];
      expect(b.ir).toBeGreaterThanOrEqual(a.ir);
      expect(b.opsets['ai.onnx']).toBeGreaterThanOrEqual(a.opsets['ai.onnx']);
      expect(b.opsets['ai.onnx.ml']).toBeGreaterThanOrEqual(a.opsets['ai.onnx.ml']);
    }
  });

  it('refuses the IR version and each domain whose opset is newer; other domains are not checked', () => {
    const dynamo = { irVersion: 10, opsets: [{ domain: '', version: 18 }] };
    expect(onnxRefusal(dynamo, '24.05')).toBeUndefined();
    expect(onnxRefusal(dynamo, '24.04')).toMatchObject({ ir: 10, opsets: [] });
    const ml = { irVersion: 8, opsets: [{ domain: 'ai.onnx', version: 20 }, { domain: 'ai.onnx.ml', version: 4 }, { domain: 'com.microsoft', version: 99 }] };
    expect(onnxRefusal(ml, '24.01')).toMatchObject({ ir: undefined, opsets: [{ domain: 'ai.onnx', version: 20 }, { domain: 'ai.onnx.ml', version: 4 }] });
    expect(onnxRefusal(ml, '24.03')).toBeUndefined();
    expect(oldestReleaseLoading(dynamo)?.release).toBe('24.05');
    expect(oldestReleaseLoading(ml)?.release).toBe('24.03');
    expect(oldestReleaseLoading({ irVersion: 13, opsets: [] })).toBeUndefined();
    expect(onnxRefusal(dynamo, '99.01')).toBeUndefined();
  });

  it('chooses export.torch.opset only where torch\'s own default (20 at most) would not load: opset 17, which every exporter writes', () => {
    expect(opsetForRelease(undefined)).toBeUndefined();
    expect(opsetForRelease('23.01')).toBe(17);
    expect(opsetForRelease('23.08')).toBe(17);
    expect(opsetForRelease('24.02')).toBe(17);
    expect(opsetForRelease('24.03')).toBeUndefined();
    expect(opsetForRelease('25.12')).toBeUndefined();
    expect(opsetForRelease('99.01')).toBeUndefined();
    // What it chooses loads where it is chosen, at the IR the TorchScript-based exporter writes for it (8).
    for (const r of ONNXRUNTIME_RELEASES) {
      const opset = opsetForRelease(r);
      if (opset !== undefined) expect(onnxRefusal({ irVersion: 8, opsets: [{ domain: '', version: opset }] }, r), r).toBeUndefined();
    }
  });
});
