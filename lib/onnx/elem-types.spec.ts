import { join } from 'node:path';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { onnxElemTypeName, onnxElemTypeNumber, tritonTypeForOnnx } from './elem-types';

const dataTypes = protobuf
  .loadSync(join(__dirname, '..', '..', 'proto', 'onnx.proto'))
  .lookupEnum('onnx.TensorProto.DataType').values;

describe('ONNX element types', () => {
  it('names every TensorProto.DataType of onnx.proto, and back', () => {
    expect(Object.keys(dataTypes).length).toBeGreaterThan(20);
    for (const [name, n] of Object.entries(dataTypes)) {
      expect(onnxElemTypeName(n)).toBe(name);
      expect(onnxElemTypeNumber(name)).toBe(n);
      expect(onnxElemTypeNumber(name.toLowerCase())).toBe(n);
    }
    expect(onnxElemTypeName(99)).toBe('DATATYPE_99');
    expect(onnxElemTypeNumber('FP32')).toBeUndefined();
  });

  it("maps to Triton's types as the onnxruntime backend does", () => {
    expect(tritonTypeForOnnx(dataTypes.FLOAT)).toBe('TYPE_FP32');
    expect(tritonTypeForOnnx(dataTypes.FLOAT16)).toBe('TYPE_FP16');
    expect(tritonTypeForOnnx(dataTypes.DOUBLE)).toBe('TYPE_FP64');
    expect(tritonTypeForOnnx(dataTypes.INT64)).toBe('TYPE_INT64');
    expect(tritonTypeForOnnx(dataTypes.STRING)).toBe('TYPE_STRING');
    expect(tritonTypeForOnnx(dataTypes.BOOL)).toBe('TYPE_BOOL');
    expect(tritonTypeForOnnx(dataTypes.BFLOAT16)).toBe('TYPE_BF16');
    for (const unsupported of ['UNDEFINED', 'COMPLEX64', 'COMPLEX128', 'FLOAT8E4M3FN', 'INT4', 'FLOAT4E2M1', 'UINT2']) {
      expect(tritonTypeForOnnx(dataTypes[unsupported])).toBeUndefined();
    }
  });
});
