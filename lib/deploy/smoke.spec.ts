import { describe, expect, it } from 'vitest';
import type { ModelConfig } from '../model-config';
import { decodeRecorded, smokeCase, SMOKE_TOLERANCE_FACTOR, type RecordedSample } from './smoke';

// The smoke inference's request and its checks, without a server (with the real Triton:
// lib/targets/deploy.spec.ts).

const config: ModelConfig = {
  name: 'm',
  backend: 'python',
  max_batch_size: 4,
  input: [{ name: 'X', data_type: 'TYPE_FP32', dims: [2, -1] }, { name: 'opt', data_type: 'TYPE_INT64', dims: [1], optional: true }],
  output: [{ name: 'Y', data_type: 'TYPE_FP32', dims: [2, -1] }],
};

const f32 = (values: number[]): string => {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeFloatLE(v, i * 4));
  return b.toString('base64');
};

describe('smokeCase from the config', () => {
  it('sends ones at batch 1 with dynamic dims at 1, and leaves optional inputs out', () => {
    const c = smokeCase(config);
    if ('skip' in c) throw new Error(c.skip);
    expect(c.source).toBe('config shapes');
    expect(c.inputs).toEqual([{ name: 'X', datatype: 'FP32', shape: [1, 2, 1], data: [1, 1] }]);
  });

  it('checks each declared output: present, typed and shaped as declared, finite', () => {
    const c = smokeCase(config);
    if ('skip' in c) throw new Error(c.skip);
    expect(c.check([{ name: 'Y', datatype: 'FP32', shape: [1, 2, 7], data: new Array(14).fill(0.5) }])).toBeUndefined();
    expect(c.check([])).toBe('output Y is missing from the answer');
    expect(c.check([{ name: 'Y', datatype: 'FP64', shape: [1, 2, 1], data: [1, 1] }])).toBe('output Y is FP64, the config says FP32');
    expect(c.check([{ name: 'Y', datatype: 'FP32', shape: [1, 3, 1], data: [1, 1, 1] }])).toBe('output Y has shape [1, 3, 1], the config says [1, 2, -1]');
    // Triton's JSON answer spells NaN as null
    expect(c.check([{ name: 'Y', datatype: 'FP32', shape: [1, 2, 1], data: [1, null as unknown as number] }])).toBe('output Y has 1 NaN or Inf value(s)');
  });

  it('skips what a JSON request cannot do, saying why', () => {
    expect(smokeCase({ ...config, model_transaction_policy: { decoupled: true } })).toEqual({ skip: 'a decoupled model answers over gRPC streams only' });
    expect(smokeCase({ ...config, input: [{ name: 'X', data_type: 'TYPE_BF16', dims: [2] }] })).toEqual({ skip: "input X is BF16, which Triton's JSON requests cannot carry" });
  });
});

describe('smokeCase from the export\'s recorded sample', () => {
  const sample: RecordedSample = {
    inputs: [{ name: 'X', datatype: 'FP32', shape: [1, 2, 2], data: f32([1, 2, 3, 4]) }],
    outputs: [{ name: 'Y', datatype: 'FP32', shape: [1, 2, 2], data: f32([2, 3, 4, 5]), atol: 1e-4, rtol: 1e-3 }],
  };

  it('sends the recorded inputs and compares the answer with the recorded outputs', () => {
    const c = smokeCase(config, sample);
    if ('skip' in c) throw new Error(c.skip);
    expect(c.source).toBe('recorded sample');
    expect(c.inputs).toEqual([{ name: 'X', datatype: 'FP32', shape: [1, 2, 2], data: [1, 2, 3, 4] }]);
    expect(c.check([{ name: 'Y', datatype: 'FP32', shape: [1, 2, 2], data: [2, 3, 4, 5 + 1e-4 * SMOKE_TOLERANCE_FACTOR * 0.9] }])).toBeUndefined();
    expect(c.check([{ name: 'Y', datatype: 'FP32', shape: [1, 2, 2], data: [2, 3, 4, 6] }])).toBe(
      "output Y differs from the export's recorded output in 1 of 4 element(s) (max abs error 1.00; atol 0.001, rtol 0.01)",
    );
  });

  it('falls back to the config when the sample does not name the config\'s inputs', () => {
    const c = smokeCase(config, { ...sample, inputs: [{ ...sample.inputs[0], name: 'INPUT__0' }] });
    expect('skip' in c ? c.skip : c.source).toBe('config shapes');
  });

  it('decodes the recorded bytes of each type', () => {
    const i64 = Buffer.alloc(16);
    i64.writeBigInt64LE(-3n, 0);
    i64.writeBigInt64LE(7n, 8);
    expect(decodeRecorded({ name: 'a', datatype: 'INT64', shape: [2], data: i64.toString('base64') })).toEqual([-3, 7]);
    expect(decodeRecorded({ name: 'b', datatype: 'BOOL', shape: [2], data: Buffer.from([1, 0]).toString('base64') })).toEqual([true, false]);
    expect(decodeRecorded({ name: 'h', datatype: 'FP16', shape: [2], data: Buffer.from([0x00, 0x3c, 0x00, 0xc0]).toString('base64') })).toEqual([1, -2]);
    expect(decodeRecorded({ name: 'c', datatype: 'FP32', shape: [3], data: f32([1]) })).toBe('c: 4 bytes for shape [3] of FP32');
  });
});
