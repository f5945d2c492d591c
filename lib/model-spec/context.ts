import { Document, isAlias, isMap, isScalar, isSeq, LineCounter, Node, Scalar, YAMLMap, YAMLSeq } from 'yaml';
import type { Diagnostic } from '../errors';
import { childPath, setOwn } from '../model-config';

export { childPath, setOwn };

/** Line and column (1-based) where a key path was written in triton.yaml. */
export interface Position {
  line: number;
  col: number;
}

/** Nodes one file may make us visit, aliases expanded: far above any real triton.yaml. */
const NODE_BUDGET = 50_000;

/** Past this many problems the rest is noise: the walk stops. */
const MAX_DIAGNOSTICS = 50;

/** Thrown to stop the walk once its budget is spent; load.ts turns it into the diagnostics so far. */
export class WalkAborted extends Error {}

export interface Entry {
  key: string;
  path: string;
  value: Node | null;
}

export interface Item {
  path: string;
  node: Node | null;
}

/** How a value is named in messages: `a map`, `a list`, `null`, `string "x"`, `number 3`. */
export function describe(node: Node | null): string {
  if (node === null || (isScalar(node) && node.value === null)) return 'null';
  if (isMap(node)) return 'a map';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (typeof v === 'string') return `string ${JSON.stringify(clip(v))}`;
    if (typeof v === 'bigint' || typeof v === 'number') return `number ${clip(node.source ?? String(v))}`;
    if (typeof v === 'boolean') return `boolean ${v}`;
  }
  if (node.tag) return `a value tagged ${node.tag}`;
  return 'an unsupported value';
}

function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

export function isNull(node: Node | null): boolean {
  return node === null || (isScalar(node) && node.value === null);
}

/** The walk over one parsed triton.yaml: positions, diagnostics, alias resolution, a node budget. */
export class SpecContext {
  readonly diagnostics: Diagnostic[] = [];
  readonly positions: Record<string, Position> = {};
  private budget = NODE_BUDGET;

  constructor(
    readonly file: string,
    readonly dir: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  positionOf(node: Node | null | undefined): Position | undefined {
    const offset = node?.range?.[0];
    if (offset === undefined) return undefined;
    const { line, col } = this.lines.linePos(offset);
    return { line, col };
  }

  record(path: string, node: Node | null | undefined): void {
    const pos = this.positionOf(node);
    // Own keys only: a key path `constructor` or `__proto__` is recorded like any other (issue 22, F9).
    if (pos && !Object.hasOwn(this.positions, path)) setOwn(this.positions, path, pos);
  }

  /**
   * A problem with `path`, placed where `node` was written, else where `path` was recorded,
   * else at the top of the file.
   */
  error(path: string, message: string, node?: Node | null): void {
    const pos = this.positionOf(node ?? undefined) ?? (Object.hasOwn(this.positions, path) ? this.positions[path] : undefined) ?? { line: 1, col: 1 };
    if (this.diagnostics.length >= MAX_DIAGNOSTICS) {
      this.diagnostics.push({ file: this.file, line: pos.line, col: pos.col, path: '', message: `more than ${MAX_DIAGNOSTICS} problems; stopping here` });
      throw new WalkAborted();
    }
    this.diagnostics.push({ file: this.file, line: pos.line, col: pos.col, path, message });
  }

  /** Follows aliases to the node they name; every visit is charged to the budget. */
  resolve(node: Node | null | undefined): Node | null {
    if (--this.budget < 0) {
      this.error('', `the file expands to more than ${NODE_BUDGET} YAML nodes (too many aliases?)`);
      throw new WalkAborted();
    }
    let seen = 0;
    while (node && isAlias(node)) {
      const target = node.resolve(this.doc) as Node | undefined;
      if (!target || ++seen > 100) return null;
      node = target;
    }
    return node ?? null;
  }

  /**
   * Entries of a YAML map; records each key's position under its path and reports
   * keys that are not plain values or that repeat an earlier key.
   */
  entries(map: YAMLMap, path: string): Entry[] {
    const out: Entry[] = [];
    const first = new Map<string, Position | undefined>();
    for (const pair of map.items) {
      const keyNode = this.resolve(pair.key as Node | null);
      const valueNode = this.resolve(pair.value as Node | null);
      if (!keyNode || !isScalar(keyNode) || keyNode.value === null || typeof keyNode.value === 'object') {
        this.error(path, 'a key must be a plain value such as a name or a number', (pair.key as Node) ?? map);
        continue;
      }
      const key = keyText(keyNode);
      const keyPath = childPath(path, key);
      const pos = this.positionOf(pair.key as Node);
      if (first.has(key)) {
        const earlier = first.get(key);
        const where = earlier ? ` (first set at line ${earlier.line})` : '';
        this.error(keyPath, `duplicate key ${JSON.stringify(key)}${where}`, pair.key as Node);
        continue;
      }
      first.set(key, pos);
      this.record(keyPath, pair.key as Node);
      out.push({ key, path: keyPath, value: valueNode });
    }
    return out;
  }

  items(seq: YAMLSeq, path: string): Item[] {
    return seq.items.map((raw, i) => {
      const itemPath = childPath(path, i);
      this.record(itemPath, raw as Node);
      return { path: itemPath, node: this.resolve(raw as Node | null) };
    });
  }
}

/** A key as written: `8.0` stays "8.0" (not 8), `1` is "1". */
export function keyText(node: Scalar): string {
  return node.source ?? String(node.value);
}

export { isMap, isSeq, isScalar };

