import { closeSync, fsyncSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { isMap, isScalar, parseDocument, stringify, type Document, type Node, type Pair, type YAMLMap } from 'yaml';
import { modelConfigType } from '../../proto/model-config';
import { parseSpec } from '../model-spec';
import type { ModelConfig } from '../model-config';
import { candidateConfig, type Knobs, type SearchSpace } from './candidates';

/**
 * The winner's keys written back into triton.yaml as a change to review: only the keys that
 * changed, each edited in place in the file's own text. The yaml package's Document API finds each
 * key and the source range of its value; the edit replaces, adds or removes just that range, so
 * every other byte (comments, their alignment, blank lines, flow or block style, key order) stays as
 * it was. (Printing the edited Document instead would re-space every aligned comment and flow list.)
 */

export interface YamlChange {
  /** Key path in triton.yaml, spelled as in config.pbtxt. */
  path: Array<string | number>;
  value?: unknown;
  /** Remove the key. */
  remove?: true;
}

/** `dynamic_batching.max_queue_delay_microseconds`, `instance_group[0].count`. */
export function pathText(path: Array<string | number>): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

export function changeText(c: YamlChange): string {
  return c.remove ? `${pathText(c.path)}: removed` : `${pathText(c.path)}: ${inline(c.value)}`;
}

function kindWord(kind: string | undefined): string | undefined {
  return kind === undefined ? undefined : kind.replace(/^KIND_/, '').toLowerCase();
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/** As triton.yaml writes a config value: instance kinds by their shorthands (`cpu`), the rest as they are. */
function yamlValue(key: string, value: unknown): unknown {
  if (key !== 'instance_group' || !Array.isArray(value)) return value;
  return value.map((g: Record<string, unknown>) => (g.kind === undefined ? g : { ...g, kind: kindWord(String(g.kind)) }));
}

/** The config that the winner's knobs make of the built one, as triton.yaml means it (no GPU-to-CPU switch). */
export function writtenConfig(space: SearchSpace, winner: Knobs): ModelConfig {
  return candidateConfig({ ...space, gpuAsCpu: false }, winner);
}

/** The keys of triton.yaml that change when the built config (the space's baseline) becomes the winner. */
export function plannedChanges(space: SearchSpace, winner: Knobs): YamlChange[] {
  const from = space.baseline;
  const want = writtenConfig(space, winner);
  const changes: YamlChange[] = [];
  if (winner.maxBatchSize !== from.maxBatchSize) changes.push({ path: ['max_batch_size'], value: winner.maxBatchSize });
  if (winner.batching !== from.batching) {
    changes.push(winner.batching ? { path: ['dynamic_batching'], value: want.dynamic_batching } : { path: ['dynamic_batching'], remove: true });
  } else if (winner.batching) {
    if (!same(winner.preferred, from.preferred)) {
      changes.push(winner.preferred.length ? { path: ['dynamic_batching', 'preferred_batch_size'], value: winner.preferred } : { path: ['dynamic_batching', 'preferred_batch_size'], remove: true });
    }
    if (winner.delayUs !== from.delayUs) {
      changes.push(winner.delayUs ? { path: ['dynamic_batching', 'max_queue_delay_microseconds'], value: winner.delayUs } : { path: ['dynamic_batching', 'max_queue_delay_microseconds'], remove: true });
    }
  }
  if (winner.count !== from.count) changes.push({ path: ['instance_group', 0, 'count'], value: winner.count });
  if (winner.kind !== from.kind) changes.push({ path: ['instance_group', 0, 'kind'], value: kindWord(winner.kind) });
  return changes;
}

/** A value as one line of flow YAML (`{ max_queue_delay_microseconds: 100 }`, `[ 8, 16 ]`, `4`). */
function inline(value: unknown): string {
  return stringify(value, { collectionStyle: 'flow', lineWidth: 0 }).trimEnd();
}

function lineStart(text: string, pos: number): number {
  return text.lastIndexOf('\n', pos - 1) + 1;
}

/** The position just after the line that holds `pos - 1` (its newline included). */
function afterLine(text: string, pos: number): number {
  if (pos > 0 && text[pos - 1] === '\n') return pos;
  const nl = text.indexOf('\n', pos);
  return nl < 0 ? text.length : nl + 1;
}

function splice(text: string, start: number, end: number, insert: string): string {
  return text.slice(0, start) + insert + text.slice(end);
}

/**
 * `splice` for a value replaced within one line: a comment later on that line keeps its column (the
 * spaces before it take up the change of length, one space at least), so aligned comments stay aligned.
 */
function spliceInLine(text: string, start: number, end: number, insert: string): string {
  const out = splice(text, start, end, insert);
  const delta = insert.length - (end - start);
  if (delta === 0 || insert.includes('\n') || text.slice(start, end).includes('\n')) return out;
  const from = start + insert.length;
  const eol = out.indexOf('\n', from);
  const rest = out.slice(from, eol < 0 ? out.length : eol);
  const gap = /[ \t]+(?=#)/.exec(rest);
  if (!gap) return out;
  const spaces = ' '.repeat(Math.max(1, gap[0].length - delta));
  return splice(out, from + gap.index, from + gap.index + gap[0].length, spaces);
}

function keyOf(pair: Pair): string {
  return isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
}

function findPair(map: YAMLMap, key: string): Pair<Node, Node> | undefined {
  return (map.items as Array<Pair<Node, Node>>).find((p) => keyOf(p) === key);
}

function range(node: Node | null | undefined): [number, number, number] | undefined {
  return node?.range ? [node.range[0], node.range[1], node.range[2]] : undefined;
}

/** Replaces the value of `pair` (a scalar or flow value in place; a block value by a flow one after the colon). */
function replaceValue(text: string, pair: Pair<Node, Node>, value: unknown): string {
  const node = pair.value;
  const r = range(node);
  const flowOrScalar = isScalar(node) || (node as { flow?: boolean } | null)?.flow;
  if (r && flowOrScalar && r[1] > r[0]) return spliceInLine(text, r[0], r[1], inline(value));
  const keyEnd = range(pair.key)![1];
  const colon = text.indexOf(':', keyEnd);
  const end = r ? Math.max(r[1], colon + 1) : colon + 1;
  const trailingNewline = end > 0 && text[end - 1] === '\n' && end > colon + 1 ? '\n' : '';
  return splice(text, colon + 1, end, ` ${inline(value)}${trailingNewline}`);
}

/** Adds `key: value` to a map: inside a flow map's braces, or as a new line of a block map. */
function addPair(text: string, map: YAMLMap, key: string, value: unknown): string {
  const r = range(map as unknown as Node)!;
  if (map.flow) {
    if (map.items.length === 0) return splice(text, r[0], r[1], inline({ [key]: value }));
    let close = r[1] - 1;
    while (close > r[0] && /\s/.test(text[close - 1])) close--;
    return splice(text, close, close, `, ${key}: ${inline(value)}`);
  }
  const first = map.items[0] as Pair<Node, Node>;
  const last = map.items[map.items.length - 1] as Pair<Node, Node>;
  const keyStart = range(first.key)![0];
  const indent = ' '.repeat(keyStart - lineStart(text, keyStart));
  const lastEnd = range(last.value)?.[2] ?? range(last.key)![1];
  const at = afterLine(text, lastEnd);
  const nl = at === text.length && !text.endsWith('\n') ? '\n' : '';
  return splice(text, at, at, `${nl}${indent}${key}: ${inline(value)}\n`);
}

function removePair(text: string, map: YAMLMap, pair: Pair<Node, Node>): string {
  const keyStart = range(pair.key)![0];
  const valueEnd = range(pair.value)?.[map.flow ? 1 : 2] ?? range(pair.key)![1];
  if (!map.flow) return splice(text, lineStart(text, keyStart), afterLine(text, valueEnd), '');
  const after = /^\s*,\s*/.exec(text.slice(valueEnd));
  if (after) return splice(text, keyStart, valueEnd + after[0].length, '');
  const before = /,\s*$/.exec(text.slice(0, keyStart));
  return splice(text, before ? keyStart - before[0].length : keyStart, valueEnd, '');
}

const PROTO_ORDER = (): string[] => modelConfigType().fieldsArray.map((f) => f.name);

/**
 * A new top-level key goes where config.pbtxt's field order puts it: after the last key of the file
 * that comes before it in model_config.proto, before the next key that comes after it or is a
 * plugin key (export:, verify:, …) and before any comment lines right above that key; else at the end.
 */
function addTopPair(text: string, root: YAMLMap, key: string, value: unknown): string {
  if (root.flow) return addPair(text, root, key, value);
  const order = PROTO_ORDER();
  const mine = order.indexOf(key);
  const pairs = root.items as Array<Pair<Node, Node>>;
  const rank = (p: Pair<Node, Node>) => order.indexOf(keyOf(p));
  const after = pairs.reduce((last, p, i) => (rank(p) >= 0 && rank(p) < mine ? i : last), -1);
  const next = pairs.slice(after + 1).find((p) => rank(p) < 0 || rank(p) > mine);
  const line = `${key}: ${inline(value)}\n`;
  if (!next) {
    const nl = text.length > 0 && !text.endsWith('\n') ? '\n' : '';
    return `${text}${nl}${line}`;
  }
  let at = lineStart(text, range(next.key)![0]);
  for (;;) {
    const prev = lineStart(text, at - 1);
    if (at === 0 || !/^\s*#/.test(text.slice(prev, at))) break;
    at = prev;
  }
  return splice(text, at, at, line);
}

export interface Applied {
  text: string;
  /** Changes that triton.yaml cannot express (a key it inherits from its `from:` model), with why. */
  skipped: Array<{ change: YamlChange; why: string }>;
}

function parse(text: string): Document {
  return parseDocument(text, { version: '1.2', schema: 'core', keepSourceTokens: false });
}

/**
 * Applies the changes to triton.yaml's text, one at a time (each on a fresh parse of the last
 * result). A key the file does not have gets written whole from `written` (the config the winner
 * makes), so a key inherited through `from:` is overridden as a whole, as `from:` merges.
 */
export function applyChanges(text: string, changes: YamlChange[], written: ModelConfig): Applied {
  const skipped: Applied['skipped'] = [];
  for (const change of changes) {
    const doc = parse(text);
    const root = doc.contents;
    if (!isMap(root)) throw new Error('triton.yaml is not a map of keys');
    const top = String(change.path[0]);
    const topPair = findPair(root, top);
    if (!topPair) {
      if (change.remove) {
        skipped.push({ change, why: `triton.yaml does not set ${top} (it comes from the model named by from:); change it there` });
        continue;
      }
      const whole = change.path.length === 1 ? change.value : yamlValue(top, written[top as keyof ModelConfig]);
      text = addTopPair(text, root, top, whole);
      continue;
    }
    if (change.path.length === 1) {
      text = change.remove ? removePair(text, root, topPair) : replaceValue(text, topPair, change.value);
      continue;
    }
    const parentPath = change.path.slice(0, -1);
    const last = String(change.path[change.path.length - 1]);
    const parent = doc.getIn(parentPath, true);
    if (!isMap(parent)) {
      // No such map in the file (an empty list, or another shape): write the whole top-level value.
      text = replaceValue(text, topPair, yamlValue(top, written[top as keyof ModelConfig]));
      continue;
    }
    const pair = findPair(parent, last);
    if (change.remove) text = pair ? removePair(text, parent, pair) : text;
    else text = pair ? replaceValue(text, pair, change.value) : addPair(text, parent, last, change.value);
  }
  return { text, skipped };
}

/**
 * Writes the edited triton.yaml: checked first (the edit must give a triton.yaml that loads, with
 * the values meant), then written to a temporary file beside it and renamed over it, so a reader
 * never sees half a file. Keeps the file's mode.
 */
export function writeSpecAtomically(file: string, text: string): void {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tune.tmp`);
  const mode = statSync(file).mode & 0o777;
  try {
    const fd = openSync(tmp, 'w', mode);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

function valueAt(config: unknown, path: Array<string | number>): unknown {
  return path.reduce<unknown>((v, k) => (v === null || typeof v !== 'object' ? undefined : (v as Record<string, unknown>)[k]), config);
}

/** A change's value as the spec reads it back: instance kinds by their Triton names. */
function asRead(change: YamlChange): unknown {
  if (change.remove) return undefined;
  return change.path.at(-1) === 'kind' && typeof change.value === 'string' ? `KIND_${change.value.toUpperCase()}` : change.value;
}

/**
 * The edited text loads as a triton.yaml and says what each applied change meant. A failure here is
 * a bug of this module, not a problem of the user's file: a plain Error, and nothing is written.
 */
export function checkEdited(text: string, file: string, applied: YamlChange[]): void {
  let config: ModelConfig;
  try {
    config = parseSpec(text, file, dirname(file), { checkFiles: false }).config;
  } catch (err) {
    throw new Error(`nx-triton: tune: the edited ${file} would not load (a bug of nx-triton; the file is left as it was):\n${(err as Error).message}`);
  }
  for (const change of applied) {
    const got = valueAt(config, change.path);
    if (JSON.stringify(got ?? null) !== JSON.stringify(asRead(change) ?? null)) {
      throw new Error(`nx-triton: tune: the edited ${file} says ${pathText(change.path)}: ${JSON.stringify(got)}, not ${JSON.stringify(asRead(change))} (a bug of nx-triton; the file is left as it was)`);
    }
  }
}
