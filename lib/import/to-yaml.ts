import * as protobuf from 'protobufjs';
import { Document, isMap, isScalar, isSeq, type Node, Pair, Scalar, stringify, visit, YAMLMap, YAMLSeq } from 'yaml';
import { modelConfigType } from '../../proto/model-config';
import { UserError } from '../errors';
import type { ModelConfig } from '../model-config';

/** The plugin's keys of an imported project (written after the Triton keys). */
export interface ImportedKeys {
  version: number;
  /** "<n>" -> directory relative to the project. */
  previous_versions?: Record<string, string>;
  export?: { file: string };
}

/** Top-level keys first in this order (what a reader looks for first); the rest follow in field order. */
const LEADING = [
  'platform',
  'backend',
  'runtime',
  'default_model_filename',
  'max_batch_size',
  'input',
  'output',
  'batch_input',
  'batch_output',
  'instance_group',
];

/** Within these messages, keys read better in this order than in field-number order. */
const LEADING_IN: Record<string, string[]> = {
  'inference.ModelInstanceGroup': ['name', 'kind', 'count', 'gpus'],
};

/** A collection goes on one line (`[3, 224, 224]`, `{kind: KIND_GPU, count: 2}`) when it fits this width. */
const LINE_WIDTH = 100;

type Plain = Record<string, unknown>;

const is64 = (type: string) => /64$/.test(type) && type !== 'double';
const isIntegerType = (type: string) => /^(u?int|sint|s?fixed)(32|64)$/.test(type);

/**
 * A field's value for the YAML document: 64-bit integers beyond 2^53 as BigInt (written as plain
 * digits, which lib/model-spec reads exactly), integer map keys as numbers, non-finite floats refused
 * (YAML `.inf` is not a value triton.yaml takes).
 */
function toYamlValue(field: protobuf.Field, value: unknown, path: string): unknown {
  const resolved = field.resolve().resolvedType;
  if (resolved instanceof protobuf.Type) return toYamlMessage(resolved, value as Plain, path);
  if (typeof value === 'string' && is64(field.type)) return BigInt(value);
  if ((field.type === 'float' || field.type === 'double') && typeof value === 'number' && !Number.isFinite(value)) {
    throw new UserError(`${path}: ${value} cannot be written to triton.yaml (only finite numbers are accepted)`);
  }
  return value;
}

function toYamlMessage(type: protobuf.Type, obj: Plain, path: string): Plain {
  const out: Plain = {};
  const leading = (LEADING_IN[type.fullName.replace(/^\./, '')] ?? []).filter((k) => obj[k] !== undefined);
  const keys = [...leading, ...Object.keys(obj).filter((k) => !leading.includes(k))];
  for (const key of keys) {
    const value = obj[key];
    const field = type.fields[key];
    const here = path ? `${path}.${key}` : key;
    if (!field) {
      out[key] = value;
      continue;
    }
    if (field.map) {
      const keyType = (field as unknown as protobuf.MapField).keyType;
      const map = new Map<unknown, unknown>();
      for (const [k, v] of Object.entries(value as Plain)) {
        const yamlKey = isIntegerType(keyType) ? (Number.isSafeInteger(Number(k)) ? Number(k) : BigInt(k)) : k;
        map.set(yamlKey, toYamlValue(field, v, `${here}[${JSON.stringify(k)}]`));
      }
      out[key] = map;
    } else if (field.repeated) {
      out[key] = (value as unknown[]).map((v, i) => toYamlValue(field, v, `${here}[${i}]`));
    } else out[key] = toYamlValue(field, value, here);
  }
  return out;
}

function ordered(config: Plain): Plain {
  const out: Plain = {};
  for (const key of LEADING) if (config[key] !== undefined) out[key] = config[key];
  for (const [key, value] of Object.entries(config)) if (!(key in out) && key !== 'name') out[key] = value;
  return out;
}

function flowText(node: Node): string {
  return stringify(node, { collectionStyle: 'flow', flowCollectionPadding: false, lineWidth: 0 }).trimEnd();
}

function isCollection(node: unknown): boolean {
  return isMap(node) || isSeq(node);
}

/**
 * Whether a collection may go on one line: not a list of maps or lists (`input:`, `instance_group:`,
 * steps: one item per line reads better), not a map holding two or more nested collections.
 */
function mayFlow(collection: YAMLMap | YAMLSeq): boolean {
  if (isSeq(collection)) return !collection.items.some(isCollection);
  return collection.items.filter((pair) => isCollection((pair as Pair).value)).length < 2;
}

/** Short collections on one line, long or deep ones as blocks; nested all the way down. */
function styleCollections(node: unknown, indent: number, prefix: number): void {
  if (!isMap(node) && !isSeq(node)) return;
  const collection = node as YAMLMap | YAMLSeq;
  if (mayFlow(collection) && indent + prefix + flowText(collection).length <= LINE_WIDTH) {
    collection.flow = true;
    return;
  }
  // A block map's entries and a block list's items start on their own line, one level deeper.
  const inner = indent + (prefix > 0 ? 2 : 0);
  for (const item of collection.items) {
    if (item instanceof Pair) {
      const keyLength = isScalar(item.key) ? String((item.key as Scalar).value).length + 2 : 0;
      styleCollections(item.value, inner, keyLength);
    } else styleCollections(item, inner, 2);
  }
}

/** Line breaks, control and invisible characters, or edge whitespace: safest double-quoted with escapes. */
// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPES = /[\u0000-\u001f\u007f-\u009f\u00a0\u1680\u2000-\u200f\u2028-\u202f\u205f\u3000\ufeff]|^\s|\s$/;

/**
 * A readable triton.yaml for a config: Triton keys spelled as in config.pbtxt (enums by their Triton
 * names, empty messages kept as `{}`), `name` left out (the project directory gives it), then the
 * plugin keys. `source` is shown in the header comment.
 */
export function configToYaml(config: ModelConfig, keys: ImportedKeys, source: string): string {
  const triton = ordered(toYamlMessage(modelConfigType(), config as Plain, ''));
  const plugin: Plain = { version: keys.version };
  if (keys.previous_versions && Object.keys(keys.previous_versions).length > 0) {
    plugin.previous_versions = Object.fromEntries(
      Object.entries(keys.previous_versions).sort(([a], [b]) => Number(a) - Number(b)),
    );
  }
  if (keys.export) plugin.export = keys.export;

  const doc = new Document({ ...triton, ...plugin });
  const root = doc.contents as YAMLMap;
  for (const pair of root.items) {
    const key = String((pair.key as Scalar).value);
    styleCollections(pair.value, 0, key.length + 2);
  }
  const firstPluginKey = root.items.find((pair) => String((pair.key as Scalar).value) === 'version');
  if (firstPluginKey && root.items[0] !== firstPluginKey) {
    (firstPluginKey.key as Scalar).spaceBefore = true;
    (firstPluginKey.key as Scalar).commentBefore = ' nx-triton keys (not written to config.pbtxt)';
  }
  visit(doc, {
    Scalar(_, node) {
      if (typeof node.value === 'string' && NEEDS_ESCAPES.test(node.value)) node.type = Scalar.QUOTE_DOUBLE;
    },
  });
  doc.commentBefore = ` Imported by nx-triton from ${source}`;
  // Block scalars (|, >) are off: a multi-line string is written double-quoted, exact whatever its whitespace.
  return doc.toString({ flowCollectionPadding: false, lineWidth: 0, blockQuote: false });
}
