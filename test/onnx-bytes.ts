/**
 * A minimal protobuf writer for ONNX models, field by field (onnx.proto's field numbers): models with
 * exactly the parts a test needs (inputs, outputs, initializers stored as external data), no Python.
 */
import type { OnnxDim } from '../lib/onnx/types';

export function varint(n: number | bigint): number[] {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return out;
}
export const key = (field: number, wire: number) => varint(field * 8 + wire);
export const int = (field: number, n: number | bigint) => Buffer.from([...key(field, 0), ...varint(n)]);
export const lenPrefix = (field: number, length: number) => Buffer.from([...key(field, 2), ...varint(length)]);
export const bytes = (field: number, data: Buffer) => Buffer.concat([lenPrefix(field, data.length), data]);
export const str = (field: number, s: string) => bytes(field, Buffer.from(s, 'utf8'));
export const msg = (field: number, ...parts: Buffer[]) => bytes(field, Buffer.concat(parts));

export const opset = (domain: string, version: number) => msg(8, str(1, domain), int(2, version));
export const dim = (d: OnnxDim) => (d === null ? msg(1) : typeof d === 'number' ? msg(1, int(1, d)) : msg(1, str(2, d)));
export const tensorType = (elemType: number, shape: OnnxDim[] | null) =>
  msg(2, msg(1, int(1, elemType), ...(shape ? [msg(2, ...shape.map(dim))] : [])));
export const valueInfo = (field: number, name: string, elemType: number, shape: OnnxDim[] | null) =>
  msg(field, str(1, name), tensorType(elemType, shape));
export const entry = (field: number, k: string, v: string) => msg(field, str(1, k), str(2, v));
/** An initializer (TensorProto): dims, data_type FLOAT, name, then `rest`. */
export const tensor = (field: number, name: string, ...rest: Buffer[]) => msg(field, int(1, 2), int(2, 1), str(8, name), ...rest);
/** TensorProto fields that put a tensor's data in an external file (data_location EXTERNAL). */
export const external = (location: string, offset = 0) => [entry(13, 'location', location), entry(13, 'offset', String(offset)), int(14, 1)];

/**
 * A one-node model `y = Relu(x)`, x and y float `[batch, 4]`, IR 8, opset 17, with one initializer
 * per location stored as external data there.
 */
export function reluWithExternalData(locations: string[]): Buffer {
  return Buffer.concat([
    int(1, 8),
    str(2, 'nx-triton-test'),
    opset('', 17),
    msg(
      7,
      msg(1, str(1, 'x'), str(2, 'y'), str(4, 'Relu')),
      str(2, 'g'),
      ...locations.map((loc, i) => tensor(5, `w${i}`, ...external(loc))),
      valueInfo(11, 'x', 1, ['batch', 4]),
      valueInfo(12, 'y', 1, ['batch', 4]),
    ),
  ]);
}
