import { describe, expect, test } from 'vitest';
import { modelConfigRoot } from '../../proto/model-config';
import { resolveEnum, unknownEnumMessage } from './enums';

const lookup = (name: string) => modelConfigRoot().lookupEnum(name);

describe('enum shorthands', () => {
  test.each([
    ['inference.DataType', 'TYPE_FP32', 'TYPE_FP32'],
    ['inference.DataType', 'type_fp32', 'TYPE_FP32'],
    ['inference.DataType', 'fp32', 'TYPE_FP32'],
    ['inference.DataType', 'FP16', 'TYPE_FP16'],
    ['inference.DataType', 'int64', 'TYPE_INT64'],
    ['inference.DataType', 'float32', 'TYPE_FP32'],
    ['inference.DataType', 'float', 'TYPE_FP32'],
    ['inference.DataType', 'half', 'TYPE_FP16'],
    ['inference.DataType', 'double', 'TYPE_FP64'],
    ['inference.DataType', 'bytes', 'TYPE_STRING'],
    ['inference.DataType', 'bfloat16', 'TYPE_BF16'],
    ['inference.ModelInstanceGroup.Kind', 'gpu', 'KIND_GPU'],
    ['inference.ModelInstanceGroup.Kind', 'Model', 'KIND_MODEL'],
    ['inference.ModelInstanceGroup.SecondaryDevice.SecondaryDeviceKind', 'nvdla', 'KIND_NVDLA'],
    ['inference.ModelInput.Format', 'nchw', 'FORMAT_NCHW'],
    ['inference.ModelSequenceBatching.Control.Kind', 'start', 'CONTROL_SEQUENCE_START'],
    ['inference.ModelSequenceBatching.Control.Kind', 'corrid', 'CONTROL_SEQUENCE_CORRID'],
    ['inference.ModelQueuePolicy.TimeoutAction', 'delay', 'DELAY'],
    ['inference.ModelOptimizationPolicy.ModelPriority', 'max', 'PRIORITY_MAX'],
    ['inference.BatchInput.Kind', 'element_count', 'BATCH_ELEMENT_COUNT'],
    ['inference.BatchOutput.Kind', 'scatter_with_input_shape', 'BATCH_SCATTER_WITH_INPUT_SHAPE'],
  ])('%s: %s -> %s', (type, written, name) => {
    expect(resolveEnum(lookup(type), written)).toBe(name);
  });

  test('values that are no form of a name are refused', () => {
    expect(resolveEnum(lookup('inference.ModelInstanceGroup.Kind'), 'gpuu')).toBeUndefined();
    expect(resolveEnum(lookup('inference.DataType'), 'float8')).toBeUndefined();
    expect(resolveEnum(lookup('inference.DataType'), '')).toBeUndefined();
  });

  test('the message lists the names and the shorthands', () => {
    expect(unknownEnumMessage(lookup('inference.ModelInput.Format'), 'nhcw')).toBe(
      'unknown value "nhcw" (expected one of FORMAT_NONE, FORMAT_NHWC, FORMAT_NCHW or none, nhwc, nchw)',
    );
  });
});
