import { join } from 'node:path';
import * as protobuf from 'protobufjs';
import { packageRoot } from '../lib/package-root';

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
