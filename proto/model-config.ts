import { join } from 'node:path';
import * as protobuf from 'protobufjs';
import { packageRoot } from '../lib/system/package-root';

let root: protobuf.Root | undefined;

/** Reflection of proto/model_config.proto, loaded once, field names kept in snake_case. */
export function modelConfigRoot(): protobuf.Root {
  if (!root) {
    root = new protobuf.Root();
    root.loadSync(join(packageRoot(), 'proto', 'model_config.proto'), { keepCase: true });
    root.resolveAll();
  }
  return root;
}

/** The `inference.ModelConfig` message type. */
export function modelConfigType(): protobuf.Type {
  return modelConfigRoot().lookupType('inference.ModelConfig');
}

const enumNamesCache = new Map<string, readonly string[]>();

/**
 * An enum of model_config.proto as its names indexed by number (`inference.DataType` ->
 * `['TYPE_INVALID', 'TYPE_BOOL', ...]`), read from the .proto itself rather than copied by hand.
 */
export function protoEnumNames(fullName: string): readonly string[] {
  let names = enumNamesCache.get(fullName);
  if (!names) {
    const values = modelConfigRoot().lookupEnum(fullName).valuesById;
    const out: string[] = [];
    for (const [id, name] of Object.entries(values)) out[Number(id)] = name;
    names = out;
    enumNamesCache.set(fullName, names);
  }
  return names;
}

/** The value range of each protobuf integer type, inclusive. */
export const INT_RANGES: Readonly<Record<string, readonly [bigint, bigint]>> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  sint32: [-(2n ** 31n), 2n ** 31n - 1n],
  sfixed32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  fixed32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  sint64: [-(2n ** 63n), 2n ** 63n - 1n],
  sfixed64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  fixed64: [0n, 2n ** 64n - 1n],
};
