/**
 * Plain object -> checked plain object (the one input protobufjs' fromObject gets), and back:
 * a decoded message as the plain ModelConfig shape, canonical forms and equality.
 */
import * as protobuf from 'protobufjs';
import { SpecError } from '../../lib/errors';
import type { ModelConfig } from '../../lib/model-config';
import { INT_RANGES, modelConfigType } from '../model-config';
import { canonicalFloat32, fullName, integerValue, is64, type FieldLike, type Plain } from './common';
import { ownValue, setOwn } from '../../lib/model-config';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

class ShapeError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

export function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function isPlainObject(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value);
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object') return 'a map';
  return String(value);
}

function toInteger(value: unknown, type: string, path: string): bigint {
  let big: bigint | undefined;
  if (typeof value === 'number' && Number.isInteger(value)) big = BigInt(value);
  else if (typeof value === 'bigint') big = value;
  else if (typeof value === 'string' && /^-?(0|[1-9][0-9]*)$/.test(value)) big = BigInt(value);
  if (big === undefined) throw new ShapeError(path, `expected an integer (${type}), got ${describe(value)}`);
  const [min, max] = INT_RANGES[type];
  if (big < min || big > max) throw new ShapeError(path, `integer out of range for ${type}: ${big}`);
  return big;
}
function normalizeScalar(field: FieldLike, value: unknown, path: string): unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) {
    if (!isPlainObject(value)) throw new ShapeError(path, `expected a map (message ${fullName(resolved)}), got ${describe(value)}`);
    return normalizeMessage(resolved, value, path);
  }
  if (resolved instanceof protobuf.Enum) {
    if (typeof value === 'string') {
      if (ownValue(resolved.values, value) === undefined)
        throw new ShapeError(path, `unknown value ${JSON.stringify(value)} (expected one of ${Object.keys(resolved.values).join(', ')})`);
      return value;
    }
    const n = Number(toInteger(value, 'int32', path));
    return resolved.valuesById[n] ?? n;
  }
  switch (field.type) {
    case 'string':
      if (typeof value !== 'string') throw new ShapeError(path, `expected a string, got ${describe(value)}`);
      if (LONE_SURROGATE.test(value)) throw new ShapeError(path, 'string holds a lone UTF-16 surrogate');
      return value;
    case 'bool':
      if (typeof value !== 'boolean') throw new ShapeError(path, `expected true or false, got ${describe(value)}`);
      return value;
    case 'float':
    case 'double':
      if (typeof value !== 'number') throw new ShapeError(path, `expected a number, got ${describe(value)}`);
      return field.type === 'float' ? canonicalFloat32(value) : value;
    default:
      if (!(field.type in INT_RANGES)) throw new ShapeError(path, `unsupported field type ${field.type}`);
      return integerValue(toInteger(value, field.type, path), field.type);
  }
}

function normalizeMapKey(keyType: string, key: string, path: string): string {
  if (keyType === 'string') return key;
  if (keyType === 'bool') {
    if (key !== 'true' && key !== 'false') throw new ShapeError(path, `expected a true/false map key, got ${JSON.stringify(key)}`);
    return key;
  }
  return toInteger(key, keyType, path).toString();
}

function compareKeys(keyType: string, a: string, b: string): number {
  if (keyType in INT_RANGES) {
    const d = BigInt(a) - BigInt(b);
    return d < 0n ? -1 : d > 0n ? 1 : 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Checks a plain object against the reflection and returns a fresh copy: unknown keys, two
 * members of a oneof, bad enum names and out-of-range integers are errors (protobufjs'
 * fromObject would silently drop or wrap them); floats become their float32 value; map keys are
 * canonical and sorted; null/undefined mean "absent".
 */
function normalizeMessage(type: protobuf.Type, obj: Plain, path: string): Plain {
  const out: Plain = {};
  const oneofSet = new Map<string, string>();
  for (const key of Object.keys(obj)) {
    const value = obj[key];
    if (value === undefined || value === null) continue;
    const field = ownValue(type.fields, key);
    if (!field) throw new ShapeError(join(path, key), `Message type "${fullName(type)}" has no field named "${key}"`);
    field.resolve();
    const here = join(path, key);
    if (field.partOf) {
      const other = oneofSet.get(field.partOf.name);
      if (other)
        throw new ShapeError(here, `Field "${key}" is specified along with field "${other}", another member of oneof "${field.partOf.name}"`);
      oneofSet.set(field.partOf.name, key);
    }
    const like = field as unknown as FieldLike;
    if (field.map) {
      if (!isPlainObject(value)) throw new ShapeError(here, `expected a map, got ${describe(value)}`);
      const keyType = (field as unknown as protobuf.MapField).keyType;
      const entries = Object.keys(value).map((k) => [normalizeMapKey(keyType, k, `${here}[${JSON.stringify(k)}]`), k]);
      entries.sort((a, b) => compareKeys(keyType, a[0], b[0]));
      const map: Plain = {};
      for (const [canonical, original] of entries) {
        const v = value[original];
        if (v === undefined || v === null) continue;
        // "__proto__" is a legal key (protobufjs 8 keeps it as an own property through fromObject, encode and toText).
        setOwn(map, canonical, normalizeScalar(like, v, `${here}[${JSON.stringify(original)}]`));
      }
      out[key] = map;
    } else if (field.repeated) {
      if (!Array.isArray(value)) throw new ShapeError(here, `expected a list, got ${describe(value)}`);
      out[key] = value.map((v, i) => {
        if (v === undefined || v === null) throw new ShapeError(`${here}[${i}]`, 'list item is empty');
        return normalizeScalar(like, v, `${here}[${i}]`);
      });
    } else {
      out[key] = normalizeScalar(like, value, here);
    }
  }
  return out;
}

export function toMessage(config: ModelConfig, file: string): protobuf.Message {
  const type = modelConfigType();
  try {
    if (!isPlainObject(config)) throw new ShapeError('', `expected a map, got ${describe(config)}`);
    return type.fromObject(normalizeMessage(type, config, ''));
  } catch (err) {
    if (err instanceof ShapeError) throw new SpecError([{ file, path: err.path, message: err.message }]);
    throw err;
  }
}


/** Walks toObject's output: 64-bit strings back to numbers where exact, floats to float32 form. */
function tidyObject(type: protobuf.Type, obj: Plain): void {
  for (const key of Object.keys(obj)) {
    const field = ownValue(type.fields, key);
    if (!field) continue;
    field.resolve();
    const tidy = (v: unknown): unknown => {
      if (field.resolvedType instanceof protobuf.Type) {
        tidyObject(field.resolvedType, v as Plain);
        return v;
      }
      if (field.type === 'float' && typeof v === 'number') return canonicalFloat32(v);
      if (is64(field.type) && typeof v === 'string') return integerValue(BigInt(v), field.type);
      return v;
    };
    const value = obj[key];
    if (field.map) {
      const map = value as Plain;
      for (const k of Object.keys(map)) map[k] = tidy(map[k]);
    } else if (field.repeated) obj[key] = (value as unknown[]).map(tidy);
    else obj[key] = tidy(value);
  }
}

/** A decoded or built `inference.ModelConfig` message as the plain ModelConfig shape. */
export function configFromMessage(message: protobuf.Message): ModelConfig {
  const type = modelConfigType();
  const obj = type.toObject(message, { enums: String, longs: String }) as Plain;
  tidyObject(type, obj);
  return obj as ModelConfig;
}

/** The config as protobuf sees it: defaults of proto3 scalars dropped, enums by name, maps sorted. */
export function canonicalConfig(config: ModelConfig, file = 'config'): ModelConfig {
  return configFromMessage(toMessage(config, file));
}

/** Deterministic wire bytes of the config (map entries sorted by key). */
export function canonicalConfigBytes(config: ModelConfig): Buffer {
  return Buffer.from(modelConfigType().encode(toMessage(config, 'config')).finish());
}

/** Equal as `inference.ModelConfig` messages. */
export function configsEqual(a: ModelConfig, b: ModelConfig): boolean {
  return canonicalConfigBytes(a).equals(canonicalConfigBytes(b));
}
