import { readFileSync } from 'node:fs';

/*
 * An ONNX model with other version stamps: its ModelProto's `ir_version` (field 1) and
 * `opset_import` (field 8, OperatorSetIdProto { domain = 1; version = 2 }) replaced at the wire
 * level, the rest (graph, producer) kept byte for byte. What the export of another exporter or
 * torch version writes, without running one.
 */

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Buffer.from(out);
}

function readVarint(buf: Buffer, pos: number): [number, number] {
  let n = 0;
  let mul = 1;
  for (;;) {
    const b = buf[pos++];
    n += (b & 0x7f) * mul;
    if (b < 0x80) return [n, pos];
    mul *= 0x80;
  }
}

function lenField(field: number, body: Buffer): Buffer {
  return Buffer.concat([varint((field << 3) | 2), varint(body.length), body]);
}

/** `file`'s bytes with `ir_version` and `opset_import` replaced (opsets: domain -> version; '' is ai.onnx). */
export function stampedOnnx(file: string, ir: number, opsets: Record<string, number>): Buffer {
  const buf = readFileSync(file);
  const kept: Buffer[] = [];
  for (let pos = 0; pos < buf.length; ) {
    const start = pos;
    const [tag, afterTag] = readVarint(buf, pos);
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    pos = afterTag;
    if (wire === 0) pos = readVarint(buf, pos)[1];
    else if (wire === 2) {
      const [len, afterLen] = readVarint(buf, pos);
      pos = afterLen + len;
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else throw new Error(`${file}: unexpected wire type ${wire}`);
    if (field !== 1 && field !== 8) kept.push(buf.subarray(start, pos));
  }
  const stamps = [
    Buffer.concat([varint(1 << 3), varint(ir)]),
    ...Object.entries(opsets).map(([domain, version]) =>
      lenField(8, Buffer.concat([domain ? lenField(1, Buffer.from(domain)) : Buffer.alloc(0), varint((2 << 3) | 0), varint(version)])),
    ),
  ];
  return Buffer.concat([...stamps, ...kept]);
}
