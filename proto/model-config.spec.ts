import { describe, expect, it } from 'vitest';
import { enumValue } from '../lib/repository/rules/problem';
import { protoEnumNames } from './model-config';

describe('protoEnumNames', () => {
  it('reads an enum of model_config.proto as names by number', () => {
    expect(protoEnumNames('inference.DataType')).toEqual([
      'TYPE_INVALID', 'TYPE_BOOL', 'TYPE_UINT8', 'TYPE_UINT16', 'TYPE_UINT32', 'TYPE_UINT64', 'TYPE_INT8',
      'TYPE_INT16', 'TYPE_INT32', 'TYPE_INT64', 'TYPE_FP16', 'TYPE_FP32', 'TYPE_FP64', 'TYPE_STRING', 'TYPE_BF16',
    ]);
    expect(protoEnumNames('inference.ModelInstanceGroup.Kind')).toEqual(['KIND_AUTO', 'KIND_GPU', 'KIND_CPU', 'KIND_MODEL']);
  });

  it('reads an enum field given by number or by name, absent as the first value (proto3)', () => {
    const dataType = (v: string | number | undefined) => enumValue(v, 'inference.DataType');
    expect([dataType(11), dataType('TYPE_INT64'), dataType(99), dataType(undefined)]).toEqual(['TYPE_FP32', 'TYPE_INT64', '99', 'TYPE_INVALID']);
    expect(enumValue(undefined, 'inference.ModelSequenceBatching.Control.Kind')).toBe('CONTROL_SEQUENCE_START');
  });
});
