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
