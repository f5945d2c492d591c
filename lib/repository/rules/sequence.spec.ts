import { describe, expect, it } from 'vitest';
import { onnxModel } from './__fixtures__/configs';
import { checkModelConfig } from './index';

const start = { name: 'START', control: [{ kind: 'CONTROL_SEQUENCE_START', int32_false_true: [0, 1] }] };
const ready = { name: 'READY', control: [{ kind: 'CONTROL_SEQUENCE_READY', bool_false_true: [false, true] }] };
const corrid = { name: 'CORRID', control: [{ kind: 'CONTROL_SEQUENCE_CORRID', data_type: 'TYPE_UINT64' }] };
const check = (sb: Record<string, unknown>) => checkModelConfig(onnxModel({ sequence_batching: sb }));
const paths = (sb: Record<string, unknown>) => check(sb).map((p) => p.path);

describe('sequence_batching', () => {
  it('passes named controls, one kind each', () => {
    expect(check({ control_input: [start, ready, corrid], oldest: { preferred_batch_size: [4] } })).toEqual([]);
    expect(check({ control_input: [{ name: 'END', control: [{ kind: 'CONTROL_SEQUENCE_END', fp32_false_true: [0, 1] }] }] })).toEqual([]);
  });

  it('wants a name on each control tensor, used once', () => {
    expect(paths({ control_input: [{ ...start, name: '' }] })).toEqual(['sequence_batching.control_input[0].name']);
    expect(paths({ control_input: [start, { ...ready, name: 'START' }] })).toEqual(['sequence_batching.control_input[1].name']);
  });

  it('wants each kind once and one kind per tensor', () => {
    expect(paths({ control_input: [start, { ...start, name: 'S2' }] })).toEqual(['sequence_batching.control_input[1].control[0].kind']);
    expect(paths({ control_input: [{ name: 'T', control: [...start.control, ...ready.control] }] })).toEqual(['sequence_batching.control_input[0].control']);
  });

  it('wants exactly one *_false_true field with 2 entries for START/END/READY', () => {
    expect(paths({ control_input: [{ name: 'S', control: [{ kind: 'CONTROL_SEQUENCE_START' }] }] })).toEqual(['sequence_batching.control_input[0].control[0]']);
    expect(paths({ control_input: [{ name: 'S', control: [{ kind: 'CONTROL_SEQUENCE_START', int32_false_true: [0, 1, 2] }] }] })).toEqual([
      'sequence_batching.control_input[0].control[0].int32_false_true',
    ]);
    expect(paths({ control_input: [{ name: 'S', control: [{ kind: 'CONTROL_SEQUENCE_START', int32_false_true: [0, 1], fp32_false_true: [0, 1] }] }] })).toEqual([
      'sequence_batching.control_input[0].control[0].fp32_false_true',
    ]);
  });

  it('types CORRID with data_type among the integer types and STRING', () => {
    expect(check({ control_input: [{ name: 'C', control: [{ kind: 'CONTROL_SEQUENCE_CORRID', data_type: 'TYPE_STRING' }] }] })).toEqual([]);
    expect(paths({ control_input: [{ name: 'C', control: [{ kind: 'CONTROL_SEQUENCE_CORRID', data_type: 'TYPE_FP32' }] }] })).toEqual([
      'sequence_batching.control_input[0].control[0].data_type',
    ]);
    expect(paths({ control_input: [{ name: 'C', control: [{ kind: 'CONTROL_SEQUENCE_CORRID', data_type: 'TYPE_INT64', int32_false_true: [0, 1] }] }] })).toEqual([
      'sequence_batching.control_input[0].control[0].int32_false_true',
    ]);
  });

  it('checks the oldest and direct strategies', () => {
    expect(paths({ oldest: { preferred_batch_size: [0, 9] } })).toEqual([
      'sequence_batching.oldest.preferred_batch_size[0]',
      'sequence_batching.oldest.preferred_batch_size[1]',
    ]);
    expect(check({ direct: { minimum_slot_utilization: 0.5 } })).toEqual([]);
    expect(check({ direct: {} })).toEqual([]);
    expect(paths({ direct: { minimum_slot_utilization: 1.5 } })).toEqual(['sequence_batching.direct.minimum_slot_utilization']);
  });
});
