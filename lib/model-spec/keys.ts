import type { Node } from 'yaml';
import type { SpecContext } from './context';
import { checkKeys } from './values';

/** A piece of JSON Schema (draft-07) for one plugin key: its value's type and a description. */
export interface KeySchema {
  description: string;
  [keyword: string]: unknown;
}

/** What the checks of a key need besides its value. */
export interface CheckOptions {
  /** Check that files and directories the spec names exist (off when the project is not on disk yet). */
  checkFiles: boolean;
  /** The version this project builds (`previous_versions` may not repeat it). */
  version?: number;
}

/**
 * Which target reads the project files a key names: `export` (the export's cache inputs) or `build`
 * (the build's). The plugin names them as inputs with `includeIgnored`, so gitignored weights still
 * change the cache key (lib/model-spec/summary.ts, plugin/targets.ts).
 */
export type FileRole = 'export' | 'build';

/**
 * One plugin key, declared once: its check (whose return type is the key's TypeScript type), its
 * editor schema, the project files it names (read leniently from the plain YAML value, for the
 * plugin), whether the export reads it (then it is part of the export's cache key), and, for a map
 * of fixed keys, the declarations of those keys. The strict parser, the editor schema, the types and
 * the plugin's lenient summary all derive from these tables.
 */
export interface Field<T> {
  schema: KeySchema;
  check: (ctx: SpecContext, node: Node | null, at: string, o: CheckOptions) => T | undefined;
  files?: { role: FileRole; paths: (value: unknown) => unknown[] };
  /** Top-level keys: the export reads it, so it is part of the export's cache key (summary.exportDigest). */
  exportReads?: true;
  /** The keys of a map this key holds (for the schema and the files). */
  fields?: Fields;
  /** The keys under this key carry their schema in a table of their own (tensorrt:). */
  schemas?: Readonly<Record<string, KeySchema>>;
}

export type Fields = Readonly<Record<string, Field<any>>>;

/** The checked values of a table: each key's check's type, absent when the key is. */
export type Values<F extends Fields> = { -readonly [K in keyof F]?: F[K] extends Field<infer T> ? T : never };

export const field = <T>(f: Field<T>): Field<T> => f;

/** A map whose keys are `fields`: each present key checked by its declaration. Undefined when it is not a map. */
export function checkFields<F extends Fields>(ctx: SpecContext, node: Node | null, path: string, fields: F, o: CheckOptions): Values<F> | undefined {
  const out: Record<string, unknown> = {};
  const handlers = Object.fromEntries(
    Object.entries(fields).map(([k, f]) => [
      k,
      (value: Node | null, at: string) => {
        const v = f.check(ctx, value, at, o);
        if (v !== undefined) out[k] = v;
      },
    ]),
  );
  return checkKeys(ctx, node, path, handlers) ? (out as Values<F>) : undefined;
}

/** Every key's editor schema by its dotted path (`export.torch.model`), nested tables included. */
export function fieldSchemas(fields: Fields, prefix = ''): Record<string, KeySchema> {
  const out: Record<string, KeySchema> = {};
  for (const [k, f] of Object.entries(fields)) {
    const path = prefix ? `${prefix}.${k}` : k;
    out[path] = f.schema;
    if (f.fields) Object.assign(out, fieldSchemas(f.fields, path));
    if (f.schemas) Object.assign(out, f.schemas);
  }
  return out;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The project files the keys of `doc` name, by role: read leniently (what is not a path is left out). */
export function fieldFiles(doc: unknown, fields: Fields, out: Record<FileRole, unknown[]> = { export: [], build: [] }): Record<FileRole, unknown[]> {
  if (!isMap(doc)) return out;
  for (const [k, f] of Object.entries(fields)) {
    if (!Object.hasOwn(doc, k)) continue;
    const value = doc[k];
    if (f.files) out[f.files.role].push(...f.files.paths(value));
    if (f.fields) fieldFiles(value, f.fields, out);
  }
  return out;
}
