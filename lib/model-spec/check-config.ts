import { Enum, Field, MapField, Type } from 'protobufjs';
import type { Node } from 'yaml';
import { describe, Entry, isMap, isNull, isScalar, isSeq, setOwn, SpecContext } from './context';
import { resolveEnum, unknownEnumMessage } from './enums';
import { unknownKeyMessage } from './suggest';
import { INT_RANGES } from '../../proto/model-config';
import { ownValue } from '../model-config';

export interface MessageOptions {
  /** Keys handled by someone else (the plugin keys at the top level): passed to `onSkipped`. */
  skip?: ReadonlySet<string>;
  onSkipped?: (entry: Entry) => void;
}

/**
 * Checks a YAML node against a protobuf message type and returns it as the plain object
 * `Type.fromObject` takes (enums by name, 64-bit integers as numbers or decimal strings,
 * empty messages as `{}`); problems go to `ctx`, and a bad value is left out of the result.
 */
export function checkMessage(
  ctx: SpecContext,
  type: Type,
  node: Node | null,
  path: string,
  options: MessageOptions = {},
): Record<string, unknown> | undefined {
  if (isNull(node)) return {};
  if (!isMap(node)) {
    ctx.error(path, `expected a map, got ${describe(node)}`);
    return undefined;
  }
  const out: Record<string, unknown> = {};
  const oneofSet = new Map<string, string>();
  for (const entry of ctx.entries(node, path)) {
    if (options.skip?.has(entry.key)) {
      options.onSkipped?.(entry);
      continue;
    }
    // An own field only: `constructor` or `toString` is an unknown key, not Object.prototype's (issue 22, F9).
    const field = ownValue(type.fields, entry.key);
    if (!field) {
      const known = Object.keys(type.fields).concat([...(options.skip ?? [])]);
      ctx.error(entry.path, unknownKeyMessage(entry.key, known));
      continue;
    }
    if (field.partOf) {
      const other = oneofSet.get(field.partOf.name);
      if (other !== undefined) {
        ctx.error(
          entry.path,
          `"${other}" and "${entry.key}" cannot both be set: they are alternatives of oneof ${field.partOf.name}`,
        );
        continue;
      }
      oneofSet.set(field.partOf.name, entry.key);
    }
    const value = checkField(ctx, field, entry.value, entry.path);
    if (value !== undefined) out[entry.key] = value;
  }
  return out;
}

function checkField(ctx: SpecContext, field: Field, node: Node | null, path: string): unknown {
  if (field instanceof MapField) return checkMap(ctx, field, node, path);
  if (field.repeated) {
    if (!isSeq(node)) {
      const hint = isScalar(node) && !isNull(node) ? ` (write [${clipSource(node)}] for a single item)` : '';
      ctx.error(path, `expected a list, got ${describe(node)}${hint}`);
      return undefined;
    }
    const out: unknown[] = [];
    let ok = true;
    for (const item of ctx.items(node, path)) {
      const value = checkSingle(ctx, field, item.node, item.path);
      if (value === undefined) ok = false;
      else out.push(value);
    }
    return ok ? out : undefined;
  }
  return checkSingle(ctx, field, node, path);
}

function clipSource(node: Node): string {
  const text = isScalar(node) ? (node.source ?? String(node.value)) : '';
  return text.length > 30 ? '...' : text;
}

function checkMap(ctx: SpecContext, field: MapField, node: Node | null, path: string): unknown {
  if (isNull(node)) return {};
  if (!isMap(node)) {
    ctx.error(path, `expected a map, got ${describe(node)}`);
    return undefined;
  }
  const out: Record<string, unknown> = {};
  for (const entry of ctx.entries(node, path)) {
    let key = entry.key;
    if (field.keyType !== 'string') {
      const range = INT_RANGES[field.keyType];
      if (!/^-?\d+$/.test(key) || !range || BigInt(key) < range[0] || BigInt(key) > range[1]) {
        ctx.error(entry.path, `map key ${JSON.stringify(key)} must be an integer (${field.keyType})`);
        continue;
      }
      key = BigInt(key).toString();
    }
    const value = checkSingle(ctx, field, entry.value, entry.path);
    if (value !== undefined) setOwn(out, key, value);
  }
  return out;
}

function checkSingle(ctx: SpecContext, field: Field | MapField, node: Node | null, path: string): unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof Type) return checkMessage(ctx, resolved, node, path);
  if (resolved instanceof Enum) {
    if (!isScalar(node) || typeof node.value !== 'string') {
      ctx.error(path, `expected one of ${Object.keys(resolved.values).join(', ')}, got ${describe(node)}`);
      return undefined;
    }
    const name = resolveEnum(resolved, node.value);
    if (name === undefined) ctx.error(path, unknownEnumMessage(resolved, node.value));
    return name;
  }
  const value = isScalar(node) ? node.value : undefined;
  switch (field.type) {
    case 'bool':
      if (typeof value === 'boolean') return value;
      ctx.error(path, `expected true or false, got ${describe(node)}`);
      return undefined;
    case 'string':
    case 'bytes':
      if (typeof value === 'string') return value;
      if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') {
        const text = (node as { source?: string }).source ?? String(value);
        ctx.error(path, `expected a string, got ${describe(node)} (quote it: "${text}")`);
      } else ctx.error(path, `expected a string, got ${describe(node)}`);
      return undefined;
    case 'float':
    case 'double': {
      const n = typeof value === 'bigint' ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isFinite(n)) {
        ctx.error(path, `expected a finite number, got ${describe(node)}`);
        return undefined;
      }
      // Out of range = rounds to infinity as a float32 (3.4028235e38, FLT_MAX's shortest decimal, is in range).
      if (field.type === 'float' && !Number.isFinite(Math.fround(n))) {
        ctx.error(path, `${n} is out of range for a 32-bit float`);
        return undefined;
      }
      return n;
    }
    default: {
      const range = INT_RANGES[field.type];
      if (!range) {
        ctx.error(path, `unsupported field type ${field.type}`);
        return undefined;
      }
      return checkInteger(ctx, field.type, range, node, path);
    }
  }
}

/** A number where safe, else the exact decimal string; only exact integers are taken. */
export function checkInteger(
  ctx: SpecContext,
  typeName: string,
  range: readonly [bigint, bigint],
  node: Node | null,
  path: string,
): number | string | undefined {
  const value = isScalar(node) ? node.value : undefined;
  let exact: bigint;
  if (typeof value === 'bigint') exact = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value)) exact = BigInt(value);
  else {
    const large = typeof value === 'number' && Number.isInteger(value);
    ctx.error(
      path,
      large
        ? `${describe(node).slice('number '.length)} is not exact: write a large integer with all its digits`
        : `expected an integer, got ${describe(node)}`,
    );
    return undefined;
  }
  if (exact < range[0] || exact > range[1]) {
    ctx.error(path, `${exact} is out of range for ${typeName} (${range[0]} to ${range[1]})`);
    return undefined;
  }
  return exact >= BigInt(Number.MIN_SAFE_INTEGER) && exact <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(exact)
    : exact.toString();
}

export { INT_RANGES };
