import { join } from 'node:path';
import * as protobuf from 'protobufjs';
import { stringify } from 'yaml';
import { INT_RANGES } from '../../proto/model-config';
import { packageRoot } from '../system/package-root';
import { enumForms } from '../model-spec/enums';
import { parseSpec } from '../model-spec/load';
import { PLUGIN_KEY_SCHEMA, PLUGIN_KEYS } from '../model-spec/plugin-keys';
import { withKeySink } from '../model-spec/values';

/**
 * The JSON Schema (draft-07) of triton.yaml, made from two sources and nothing hand-written:
 * Triton's `inference.ModelConfig` (proto/model_config.proto: every message, field, enum and oneof,
 * with the proto's comments as descriptions) and the plugin keys as lib/model-spec's checker knows them.
 */

type Schema = Record<string, unknown>;

export { SCHEMA_FILE } from './paths';

/** The proto again, this time with its comments (the checker's copy is loaded without them). */
function commentedRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.loadSync(join(packageRoot(), 'proto', 'model_config.proto'), { keepCase: true, alternateCommentMode: true });
  root.resolveAll();
  return root;
}

function refName(type: protobuf.ReflectionObject): string {
  return type.fullName.replace(/^\./, '');
}

function ref(type: protobuf.ReflectionObject): Schema {
  return { $ref: `#/definitions/${refName(type)}` };
}

function clean(comment: string | null | undefined): string | undefined {
  const text = (comment ?? '').replace(/\s+/g, ' ').trim();
  return text === '' ? undefined : text;
}

function enumSchema(type: protobuf.Enum): Schema {
  const { names, shorthands } = enumForms(type);
  const short = [...shorthands.keys()];
  const lead = clean(type.comment);
  return {
    type: 'string',
    enum: [...names, ...short.filter((s) => !names.includes(s))],
    description: `${lead ? `${lead} ` : ''}One of ${names.join(', ')}, or (any case) ${short.join(', ')}.`,
  };
}

/** A scalar field's value as the checker takes it (lib/model-spec/check-config.ts checkSingle). */
function scalarSchema(typeName: string): Schema {
  switch (typeName) {
    case 'bool':
      return { type: 'boolean' };
    case 'string':
    case 'bytes':
      return { type: 'string' };
    case 'float':
      return { type: 'number', minimum: -3.4028235e38, maximum: 3.4028235e38 };
    case 'double':
      return { type: 'number' };
    default: {
      const range = INT_RANGES[typeName];
      if (!range) throw new Error(`lib/schema: no JSON Schema for protobuf type ${typeName}`);
      return { type: 'integer', minimum: Number(range[0]), maximum: Number(range[1]) };
    }
  }
}

function singleSchema(field: protobuf.Field): Schema {
  const resolved = field.resolvedType;
  if (resolved) return ref(resolved);
  return scalarSchema(field.type);
}

function withDescription(schema: Schema, description: string | undefined): Schema {
  if (!description) return schema;
  // A $ref's siblings are ignored by draft-07 validators: wrap it so editors still show the text.
  return '$ref' in schema ? { description, allOf: [schema] } : { ...schema, description };
}

function fieldSchema(field: protobuf.Field): Schema {
  const own = clean(field.comment) ?? (field.resolvedType || field instanceof protobuf.MapField || field.repeated ? undefined : `${field.parent?.name}.${field.name} (${field.type})`);
  const typeComment = field.resolvedType ? clean(field.resolvedType.comment) : undefined;
  if (field instanceof protobuf.MapField) {
    const keys = field.keyType === 'string' ? {} : { propertyNames: { pattern: '^-?[0-9]+$' } };
    const description = own ?? `A map from ${field.keyType} to ${field.resolvedType ? field.resolvedType.name : field.type}.`;
    return { type: ['object', 'null'], ...keys, additionalProperties: singleSchema(field), description };
  }
  if (field.repeated) {
    const description = own ?? (typeComment ? `A list: ${typeComment}` : `A list of ${field.type}.`);
    return { type: 'array', items: singleSchema(field), description };
  }
  return withDescription(singleSchema(field), own ?? typeComment);
}

/** At most one member of each oneof (the checker: "cannot both be set"). */
function oneofRules(type: protobuf.Type): Schema[] {
  const rules: Schema[] = [];
  for (const oneof of type.oneofsArray) {
    const members = oneof.fieldsArray.map((f) => f.name);
    const pairs: Schema[] = [];
    for (let i = 0; i < members.length; i++) for (let j = i + 1; j < members.length; j++) pairs.push({ required: [members[i], members[j]] });
    if (pairs.length > 0) rules.push({ not: { anyOf: pairs }, $comment: `oneof ${oneof.name}: at most one of ${members.join(', ')}` });
  }
  return rules;
}

function messageSchema(type: protobuf.Type, extra: Record<string, Schema> = {}): Schema {
  const properties: Record<string, Schema> = {};
  for (const field of type.fieldsArray) properties[field.name] = fieldSchema(field);
  Object.assign(properties, extra);
  const rules = oneofRules(type);
  const description = clean(type.comment);
  return {
    // An empty value (`dynamic_batching:`) is the empty message, as in the checker.
    type: ['object', 'null'],
    ...(description ? { description } : {}),
    properties,
    additionalProperties: false,
    ...(rules.length > 0 ? { allOf: rules } : {}),
  };
}

function collectDefinitions(root: protobuf.NamespaceBase, out: Record<string, Schema>): void {
  for (const nested of root.nestedArray) {
    if (nested instanceof protobuf.Type) out[refName(nested)] = messageSchema(nested);
    else if (nested instanceof protobuf.Enum) out[refName(nested)] = enumSchema(nested);
    if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) collectDefinitions(nested, out);
  }
}

/** A YAML document with `value` at the dotted `path` (`export.torch` -> { export: { torch: value } }). */
function nestAt(path: string, value: unknown): unknown {
  return path.split('.').reduceRight<unknown>((inner, key) => ({ [key]: inner }), value);
}

/**
 * The plugin keys as the checker walks them: PLUGIN_KEYS at the top, then every map that
 * `checkKeys` checks, found by handing the checker an empty map at each key and recording the
 * keys it expects there. Returns dotted path -> its keys (leaves are absent).
 */
export function probePluginKeys(): Map<string, string[]> {
  const found = new Map<string, string[]>([['', [...PLUGIN_KEYS].sort()]]);
  const queue = [...PLUGIN_KEYS];
  while (queue.length > 0) {
    const path = queue.shift() as string;
    let keys: readonly string[] | undefined;
    withKeySink(
      (at, known) => {
        if (at === path) keys = known;
      },
      () => {
        try {
          parseSpec(stringify(nestAt(path, {})), 'probe/triton.yaml', '/nonexistent/probe', { checkFiles: false });
        } catch {
          // The probe is not a valid spec; only the keys the checker expected matter.
        }
      },
    );
    if (keys === undefined || found.has(path)) continue;
    found.set(path, [...keys]);
    for (const key of keys) queue.push(`${path}.${key}`);
  }
  return found;
}

function pluginKeySchema(path: string, tree: Map<string, string[]>): Schema {
  const annotated = PLUGIN_KEY_SCHEMA[path];
  const schema: Schema = annotated ? { ...annotated } : { description: `nx-triton key ${path} (see the README).` };
  const children = tree.get(path);
  if (children) {
    const properties: Record<string, Schema> = {};
    for (const key of children) properties[key] = pluginKeySchema(`${path}.${key}`, tree);
    schema.properties = properties;
    schema.additionalProperties = false;
    if (schema.type === undefined) schema.type = 'object';
  }
  return schema;
}

export function buildSchema(): Schema {
  const root = commentedRoot();
  const definitions: Record<string, Schema> = {};
  collectDefinitions(root, definitions);
  const tree = probePluginKeys();
  const plugin: Record<string, Schema> = {};
  for (const key of tree.get('') ?? []) plugin[key] = pluginKeySchema(key, tree);
  const modelConfig = root.lookupType('inference.ModelConfig');
  const top = messageSchema(modelConfig, plugin);
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'triton.yaml (nx-triton)',
    $comment:
      'Generated by nx-triton from proto/model_config.proto (Triton\'s inference.ModelConfig) and the plugin keys of lib/model-spec. Do not edit.',
    description: `${clean(modelConfig.comment) ?? 'A Triton model configuration.'} Every key of config.pbtxt, spelled as there, plus the nx-triton keys (${Object.keys(plugin).join(', ')}), which are never written to config.pbtxt.`,
    ...top,
    type: 'object',
    definitions,
  };
}

/** The schema as the shipped file holds it. */
export function schemaText(): string {
  return `${JSON.stringify(buildSchema(), null, 2)}\n`;
}
