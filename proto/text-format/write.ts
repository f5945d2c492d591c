/**
 * ModelConfig -> config.pbtxt through protobufjs' `ext/textformat` `toText`, fed only with messages
 * built by `fromObject` from a checked, normalised plain object (normalize.ts): that keeps empty
 * sub-messages, prints 64-bit values exactly (long.js) and sidesteps its map-key bug (see
 * text-format.spec.ts, "protobufjs toText bug").
 */
import { toText } from 'protobufjs/ext/textformat.js';
import type { ModelConfig } from '../../lib/model-config';
import { modelConfigType } from '../model-config';
import { toMessage } from './normalize';

/** config.pbtxt text: fields in field-number order, map keys sorted; the same message gives the same bytes. */
export function toPbtxt(config: ModelConfig, file = 'config.pbtxt'): string {
  const text = toText(modelConfigType(), toMessage(config, file));
  return text ? `${text}\n` : '';
}
