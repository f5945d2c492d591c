import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { EXPORT_KINDS } from '../lib/model-spec/plugin-keys';

/**
 * Every executor's and generator's schema.json (what Nx checks the options against, and what Nx
 * Console shows) says exactly what its options type says: the same names, required exactly where the
 * type has no `?`, and the same kind of value. The options type is read from the source with the
 * TypeScript compiler: the first parameter of an executor, the second of a generator.
 */
const ROOT = resolve(__dirname, '..');

interface Entry {
  /** `executors/build` */
  name: string;
  source: string;
  schema: string;
  /** Which parameter of the default export is the options object. */
  param: number;
}

function entries(): Entry[] {
  const toSource = (dist: string) => dist.replace(/^\.\/dist\//, '').replace(/(\.js)?$/, '.ts');
  const executors = JSON.parse(readFileSync(join(ROOT, 'executors.json'), 'utf8')).executors as Record<string, { implementation: string; schema: string }>;
  const generators = JSON.parse(readFileSync(join(ROOT, 'generators.json'), 'utf8')).generators as Record<string, { factory: string; schema: string }>;
  return [
    ...Object.entries(executors).map(([k, e]) => ({ name: `executor ${k}`, source: toSource(e.implementation), schema: e.schema, param: 0 })),
    ...Object.entries(generators).map(([k, g]) => ({ name: `generator ${k}`, source: toSource(g.factory), schema: g.schema, param: 1 })),
  ];
}

/** A property as a schema.json would declare it: its JSON type and whether it is required. */
interface Prop {
  type: string;
  required: boolean;
}

/** The JSON type of a TypeScript type: string, number, boolean, array, object. */
function jsonType(checker: ts.TypeChecker, type: ts.Type): string {
  const parts = type.isUnion() ? type.types.filter((t) => !(t.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null))) : [type];
  const kinds = new Set(
    parts.map((t) => {
      if (t.flags & (ts.TypeFlags.String | ts.TypeFlags.StringLiteral)) return 'string';
      if (t.flags & (ts.TypeFlags.Number | ts.TypeFlags.NumberLiteral)) return 'number';
      if (t.flags & (ts.TypeFlags.Boolean | ts.TypeFlags.BooleanLiteral)) return 'boolean';
      if (checker.isArrayType(t)) return 'array';
      return 'object';
    }),
  );
  return [...kinds].sort().join('|');
}

/** The properties of the options parameter of each entry's default export. */
function optionTypes(list: Entry[]): Map<string, Record<string, Prop>> {
  const program = ts.createProgram(
    list.map((e) => join(ROOT, e.source)),
    { strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, esModuleInterop: true, skipLibCheck: true, noEmit: true, resolveJsonModule: true },
  );
  const checker = program.getTypeChecker();
  const out = new Map<string, Record<string, Prop>>();
  for (const e of list) {
    const file = program.getSourceFile(join(ROOT, e.source));
    if (!file) throw new Error(`${e.source} not found`);
    const module = checker.getSymbolAtLocation(file)!;
    const def = checker.getExportsOfModule(module).find((s) => s.escapedName === 'default');
    if (!def) throw new Error(`${e.source} has no default export`);
    const target = def.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(def) : def;
    const signature = checker.getTypeOfSymbolAtLocation(target, file).getCallSignatures()[0];
    const param = signature.getParameters()[e.param];
    const type = checker.getTypeOfSymbolAtLocation(param, file);
    out.set(
      e.name,
      Object.fromEntries(
        checker.getPropertiesOfType(type).map((p) => [
          p.name,
          { type: jsonType(checker, checker.getTypeOfSymbolAtLocation(p, file)), required: !(p.flags & ts.SymbolFlags.Optional) },
        ]),
      ),
    );
  }
  return out;
}

/** The same view of a schema.json: `integer` is a number, an `enum` of strings a string, a `oneOf` the union of its types. */
function schemaProps(file: string): Record<string, Prop> {
  type Json = { type?: string | string[]; oneOf?: Json[] };
  const schema = JSON.parse(readFileSync(join(ROOT, file), 'utf8')) as { properties?: Record<string, Json>; required?: string[] };
  const typesOf = (v: Json): string[] => (v.oneOf ? v.oneOf.flatMap(typesOf) : Array.isArray(v.type) ? v.type : [v.type ?? 'object']);
  return Object.fromEntries(
    Object.entries(schema.properties ?? {}).map(([k, v]) => {
      const types = typesOf(v).map((t) => (t === 'integer' ? 'number' : t)).filter((t) => t !== 'null');
      return [k, { type: [...new Set(types)].sort().join('|'), required: (schema.required ?? []).includes(k) }];
    }),
  );
}

describe('schema.json files say what the option types say', () => {
  const list = entries();
  const types = optionTypes(list);

  it('covers every executor and generator', () => {
    expect(list.map((e) => e.name).sort()).toEqual(
      ['executor build', 'executor deploy', 'executor engine', 'executor export', 'executor serve', 'executor tune', 'generator import', 'generator init', 'generator model'].sort(),
    );
  });

  it.each(list.map((e) => [e.name, e] as const))('%s', (_name, e) => {
    expect(schemaProps(e.schema), `${e.schema} against the options type of ${e.source}`).toEqual(types.get(e.name));
  });

  it("the model generator's --source enum is the export sources", () => {
    const schema = JSON.parse(readFileSync(join(ROOT, 'generators/model/schema.json'), 'utf8'));
    expect(schema.properties.source.enum).toEqual(EXPORT_KINDS);
  });

  // Nx checks an array value with `schema.type !== 'array'` (nx/src/utils/params.ts, validateProperty), so a
  // property declared `"type": ["array", "string"]` refuses every array a user passes: one type per property.
  it.each(list.map((e) => [e.name, e] as const))('%s declares one JSON type per property, as Nx validates', (_name, e) => {
    const schema = JSON.parse(readFileSync(join(ROOT, e.schema), 'utf8'));
    const unions = Object.entries(schema.properties ?? {}).filter(([, v]) => Array.isArray((v as { type?: unknown }).type));
    expect(unions.map(([k]) => k), e.schema).toEqual([]);
  });

  it('the model generator takes the arrays its options type declares, through Nx\'s own validator', async () => {
    const { coerceTypesInOptions, validateOptsAgainstSchema } = await import('nx/src/utils/params');
    const schema = JSON.parse(readFileSync(join(ROOT, 'generators/model/schema.json'), 'utf8'));
    // What `nx g nx-triton:model m --instanceGroup=gpu:1,cpu:3 --preferredBatchSize=4,32` hands over: Nx splits on commas.
    const opts = coerceTypesInOptions({ name: 'm', instanceGroup: 'gpu:1,cpu:3', preferredBatchSize: '4,32' }, schema);
    expect(opts).toEqual({ name: 'm', instanceGroup: ['gpu:1', 'cpu:3'], preferredBatchSize: [4, 32] });
    expect(() => validateOptsAgainstSchema(opts, schema)).not.toThrow();
    expect(() => validateOptsAgainstSchema({ name: 'm', instanceGroup: ['gpu:1'] }, { ...schema, properties: { ...schema.properties, instanceGroup: { type: ['array', 'string'] } } })).toThrow(/instanceGroup/);
  });

  it('fails for a schema that lost a property or calls a required one optional', () => {
    const model = types.get('generator model')!;
    const { force: _gone, ...lost } = schemaProps('generators/model/schema.json');
    expect(lost).not.toEqual(model);
    const loose = { ...schemaProps('generators/model/schema.json'), name: { type: 'string', required: false } };
    expect(loose).not.toEqual(model);
  });
});
