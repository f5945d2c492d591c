import { describe, expect, it } from 'vitest';
import { parseSpec } from '../model-spec/load';
import { planReleaseMismatch, tensorRtOfTriton, TRITON_RELEASES } from './triton';

describe('the Triton release table', () => {
  it('covers every monthly release from 23.01 on, each with a TensorRT version', () => {
    expect(TRITON_RELEASES[0]).toBe('23.01');
    for (let i = 1; i < TRITON_RELEASES.length; i++) {
      const [y, m] = TRITON_RELEASES[i - 1].split('.').map(Number);
      const next = m === 12 ? `${y + 1}.01` : `${y}.${String(m + 1).padStart(2, '0')}`;
      expect(TRITON_RELEASES[i]).toBe(next);
    }
    expect(tensorRtOfTriton('24.08')).toBe('10.3.0');
    expect(tensorRtOfTriton('constructor')).toBeUndefined();
  });

  it('a match, a mismatch, and version-compatible plans by direction', () => {
    expect(planReleaseMismatch('10.3.0.26', '24.08', false)).toBeUndefined();
    expect(planReleaseMismatch('10.4.0', '24.08', false)).toBe('Triton 24.08 serves plans of TensorRT 10.3.0; this one is TensorRT 10.4.0');
    // Version compatibility runs a plan on a later TensorRT of its major, never an earlier one or another major.
    expect(planReleaseMismatch('10.2.0', '24.08', true)).toBeUndefined();
    expect(planReleaseMismatch('10.4.0', '24.08', true)).toMatch(/serves plans of TensorRT 10\.3\.0; this one is TensorRT 10\.4\.0 \(a version-compatible plan runs on the same or a later 10\.x only\)/);
    expect(planReleaseMismatch('8.6.1', '24.08', true)).toMatch(/this one is TensorRT 8\.6\.1/);
    expect(planReleaseMismatch('10.3.0', '99.01', false)).toBe('"99.01" is not a Triton release nx-triton knows (known: 23.01 to 25.12)');
  });

  it('triton_release in triton.yaml: a YAML number is taken as written, an unknown release is placed', () => {
    const spec = (text: string) => parseSpec(`platform: onnxruntime_onnx\n${text}`, 'models/m/triton.yaml', '/tmp/m', { checkFiles: false });
    expect(spec('triton_release: 24.10\n').tritonRelease).toBe('24.10');
    expect(spec('triton_release: "24.08"\n').tritonRelease).toBe('24.08');
    expect(() => spec('triton_release: 24.13\n')).toThrow('models/m/triton.yaml:2:17: triton_release: "24.13" is not a Triton release nx-triton knows (known: 23.01 to 25.12)');
    expect(() => spec('triton_release: [24.08]\n')).toThrow('models/m/triton.yaml:2:17: triton_release: expected a Triton release such as "24.08", got a list');
  });
});
