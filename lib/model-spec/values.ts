import type { Node } from 'yaml';
import { describe, isMap, isNull, isScalar, isSeq, setOwn, SpecContext } from './context';
import { unknownKeyMessage } from './suggest';

/** Plain YAML values of the plugin keys: each returns undefined after reporting a bad value. */

export function expectString(ctx: SpecContext, node: Node | null, path: string): string | undefined {
  if (isScalar(node) && typeof node.value === 'string') {
    if (node.value.length > 0) return node.value;
    ctx.error(path, 'expected a non-empty string');
    return undefined;
  }
  ctx.error(path, `expected a string, got ${describe(node)}`);
  return undefined;
}

export function expectBool(ctx: SpecContext, node: Node | null, path: string): boolean | undefined {
  if (isScalar(node) && typeof node.value === 'boolean') return node.value;
  ctx.error(path, `expected true or false, got ${describe(node)}`);
  return undefined;
}

/** An integer in [min, max] written as a YAML integer. */
export function expectInt(
  ctx: SpecContext,
  node: Node | null,
  path: string,
  min: number,
  max: number,
  what = `an integer from ${min} to ${max}`,
): number | undefined {
  const v = isScalar(node) ? node.value : undefined;
  const n = typeof v === 'bigint' ? v : typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : undefined;
  if (n === undefined || n < BigInt(min) || n > BigInt(max)) {
    ctx.error(path, `expected ${what}, got ${describe(node)}`);
    return undefined;
  }
  return Number(n);
}

export function expectMap(ctx: SpecContext, node: Node | null, path: string): node is import('yaml').YAMLMap {
  if (isMap(node)) return true;
  ctx.error(path, `expected a map, got ${describe(node)}`);
  return false;
}

export function expectList(ctx: SpecContext, node: Node | null, path: string): node is import('yaml').YAMLSeq {
  if (isSeq(node)) return true;
  const hint = isScalar(node) && !isNull(node) ? ' (write [value] for a single item)' : '';
  ctx.error(path, `expected a list, got ${describe(node)}${hint}`);
  return false;
}

/** A list of strings; undefined when any item is bad. */
export function expectStringList(ctx: SpecContext, node: Node | null, path: string): string[] | undefined {
  if (!expectList(ctx, node, path)) return undefined;
  const out: string[] = [];
  let ok = true;
  for (const item of ctx.items(node, path)) {
    const s = expectString(ctx, item.node, item.path);
    if (s === undefined) ok = false;
    else out.push(s);
  }
  return ok ? out : undefined;
}

type KeySink = (path: string, keys: readonly string[]) => void;
let keySink: KeySink | undefined;

/**
 * Runs `fn` with the keys of every fixed-key map that `checkKeys` walks reported to `sink`: this is
 * how the JSON Schema generator (lib/schema) learns the plugin keys from the checker itself.
 */
export function withKeySink<T>(sink: KeySink, fn: () => T): T {
  const previous = keySink;
  keySink = sink;
  try {
    return fn();
  } finally {
    keySink = previous;
  }
}

/**
 * Walks a map whose keys are fixed: each known key goes to its handler, unknown keys
 * are reported with a suggestion.
 */
export function checkKeys(
  ctx: SpecContext,
  node: Node | null,
  path: string,
  handlers: Record<string, (value: Node | null, path: string) => void>,
): boolean {
  if (!expectMap(ctx, node, path)) return false;
  const known = Object.keys(handlers);
  keySink?.(path, known);
  for (const entry of ctx.entries(node, path)) {
    const handler = Object.prototype.hasOwnProperty.call(handlers, entry.key) ? handlers[entry.key] : undefined;
    if (handler) handler(entry.value, entry.path);
    else ctx.error(entry.path, unknownKeyMessage(entry.key, known));
  }
  return true;
}

const MAX_DEPTH = 32;

/** Any YAML value as plain JSON-able data (for `export.torch.kwargs`). */
export function toPlain(ctx: SpecContext, node: Node | null, path: string, depth = 0): unknown {
  if (depth > MAX_DEPTH) {
    ctx.error(path, `nested more than ${MAX_DEPTH} levels deep`);
    return undefined;
  }
  if (isNull(node)) return null;
  if (isMap(node)) {
    const out: Record<string, unknown> = {};
    for (const entry of ctx.entries(node, path)) setOwn(out, entry.key, toPlain(ctx, entry.value, entry.path, depth + 1));
    return out;
  }
  if (isSeq(node)) return ctx.items(node, path).map((item) => toPlain(ctx, item.node, item.path, depth + 1));
  const v = isScalar(node) ? node.value : undefined;
  if (typeof v === 'bigint') {
    if (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
    ctx.error(path, `integer ${v} is too large to pass on exactly`);
    return undefined;
  }
  if (typeof v === 'number' && !Number.isFinite(v)) {
    ctx.error(path, `expected a finite number, got ${describe(node)}`);
    return undefined;
  }
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  ctx.error(path, `unsupported value ${describe(node)}`);
  return undefined;
}
