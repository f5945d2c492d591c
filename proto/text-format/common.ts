/** What the normaliser, the writer and the parser share: field shapes and number forms. */
import type * as protobuf from 'protobufjs';

export type Plain = Record<string, unknown>;

/** A field as the parser and normaliser see it: real fields and the synthetic map-entry fields. */
export interface FieldLike {
  name: string;
  type: string;
  resolvedType: protobuf.Type | protobuf.Enum | null;
  repeated: boolean;
  map: boolean;
  keyType?: string;
  partOf: protobuf.OneOf | null;
}

export function is64(type: string): boolean {
  return /64$/.test(type) && type !== 'double';
}

export function fullName(type: protobuf.Type): string {
  return type.fullName.replace(/^\./, '');
}

/** The shortest decimal that reads back (through float32) as the same float32 value. */
export function canonicalFloat32(value: number): number {
  const f = Math.fround(value);
  if (f === 0 || !Number.isFinite(f)) return f;
  for (let p = 1; p <= 9; p++) {
    const shortest = Number(f.toPrecision(p));
    if (Math.fround(shortest) === f) return shortest;
  }
  return f;
}

/** 64-bit integers as numbers while exact, decimal strings beyond. */
export function integerValue(big: bigint, type: string): number | string {
  if (!is64(type)) return Number(big);
  const n = Number(big);
  return Number.isSafeInteger(n) ? n : big.toString();
}
