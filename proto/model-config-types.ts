import * as protobuf from 'protobufjs';
import { modelConfigRoot } from './model-config';

/**
 * TypeScript declarations of every message and enum of proto/model_config.proto, as the plain
 * objects protobufjs' `Type.fromObject` takes: snake_case keys, enums as unions of their names,
 * 64-bit integers as `number | string`, maps as records, repeated fields as arrays, every field
 * optional. Written to MODEL_CONFIG_TYPES_FILE by `npm run build` (scripts/build-model-config-types.mjs);
 * the committed copy is checked against this text by proto/model-config-types.spec.ts.
 */

export const MODEL_CONFIG_TYPES_FILE = 'lib/model-config/generated.ts';

/** The scalar proto types and their TypeScript forms. */
const SCALARS: Readonly<Record<string, string>> = {
  double: 'number',
  float: 'number',
  int32: 'number',
  uint32: 'number',
  sint32: 'number',
  fixed32: 'number',
  sfixed32: 'number',
  int64: 'number | string',
  uint64: 'number | string',
  sint64: 'number | string',
  fixed64: 'number | string',
  sfixed64: 'number | string',
  bool: 'boolean',
  string: 'string',
  bytes: 'string | Uint8Array',
};

/** `.inference.ModelInstanceGroup.Kind` -> `ModelInstanceGroup_Kind`. */
function typeName(obj: protobuf.ReflectionObject): string {
  return obj.fullName.replace(/^\.inference\./, '').replace(/\./g, '_');
}

function fieldType(field: protobuf.Field): string {
  const value = field.resolvedType ? typeName(field.resolvedType) : SCALARS[field.type];
  if (value === undefined) throw new Error(`model_config.proto: no TypeScript form for ${field.type} (${field.fullName})`);
  if (field.map) return `Record<string, ${value}>`;
  if (field.repeated) return value.includes('|') ? `Array<${value}>` : `${value}[]`;
  return value;
}

function declare(obj: protobuf.ReflectionObject, out: string[]): void {
  if (obj instanceof protobuf.Enum) {
    const names = Object.keys(obj.values).map((n) => `'${n}'`);
    out.push(`export type ${typeName(obj)} = ${names.join(' | ')};`, '');
  } else if (obj instanceof protobuf.Type) {
    out.push(`export interface ${typeName(obj)} {`);
    for (const field of obj.fieldsArray) out.push(`  ${field.name}?: ${fieldType(field)};`);
    out.push('}', '');
  }
  if (obj instanceof protobuf.Namespace) for (const nested of obj.nestedArray) declare(nested, out);
}

/** The text of MODEL_CONFIG_TYPES_FILE. */
export function modelConfigTypesText(): string {
  const out = [
    '// Generated from proto/model_config.proto by proto/model-config-types.ts (`npm run build`); do not edit.',
    '',
  ];
  const inference = modelConfigRoot().lookup('inference');
  if (!(inference instanceof protobuf.Namespace)) throw new Error('model_config.proto: no package inference');
  for (const obj of inference.nestedArray) declare(obj, out);
  return `${out.join('\n').trimEnd()}\n`;
}
