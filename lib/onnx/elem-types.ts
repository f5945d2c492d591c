import type { DataType } from '../model-config';

/** ONNX `TensorProto.DataType` names, indexed by number (onnx.proto). */
const NAMES = [
  'UNDEFINED',
  'FLOAT',
  'UINT8',
  'INT8',
  'UINT16',
  'INT16',
  'INT32',
  'INT64',
  'STRING',
  'BOOL',
  'FLOAT16',
  'DOUBLE',
  'UINT32',
  'UINT64',
  'COMPLEX64',
  'COMPLEX128',
  'BFLOAT16',
  'FLOAT8E4M3FN',
  'FLOAT8E4M3FNUZ',
  'FLOAT8E5M2',
  'FLOAT8E5M2FNUZ',
  'UINT4',
  'INT4',
  'FLOAT4E2M1',
  'FLOAT8E8M0',
  'UINT2',
  'INT2',
] as const;

/** `FLOAT`, `INT64`, ...; a number ONNX does not define is shown as `DATATYPE_<n>`. */
export function onnxElemTypeName(n: number): string {
  return NAMES[n] ?? `DATATYPE_${n}`;
}

/** The ONNX number for a name (`FLOAT` -> 1), or undefined. */
export function onnxElemTypeNumber(name: string): number | undefined {
  const i = (NAMES as readonly string[]).indexOf(name.toUpperCase());
  return i >= 0 ? i : undefined;
}

/** What Triton's onnxruntime backend maps each ONNX type to; the rest are unsupported. */
const TRITON: Readonly<Record<number, DataType>> = {
  1: 'TYPE_FP32',
  2: 'TYPE_UINT8',
  3: 'TYPE_INT8',
  4: 'TYPE_UINT16',
  5: 'TYPE_INT16',
  6: 'TYPE_INT32',
  7: 'TYPE_INT64',
  8: 'TYPE_STRING',
  9: 'TYPE_BOOL',
  10: 'TYPE_FP16',
  11: 'TYPE_FP64',
  12: 'TYPE_UINT32',
  13: 'TYPE_UINT64',
  16: 'TYPE_BF16',
};

/** The Triton `DataType` name for an ONNX element type, or undefined when Triton has none. */
export function tritonTypeForOnnx(n: number): DataType | undefined {
  return TRITON[n];
}

/** The ONNX element type of a Triton `DataType` (the same table read backwards), or undefined. */
export function onnxTypeForTriton(dataType: string): number | undefined {
  const hit = Object.entries(TRITON).find(([, t]) => t === dataType);
  return hit ? Number(hit[0]) : undefined;
}
