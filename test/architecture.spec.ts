import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * lib/ is layered (DESIGN.md, "Architecture"; the README's Development section draws it): a module
 * imports from its own layer or below, never from a layer above it, and never from Nx. Data flows one
 * way: triton.yaml -> model-spec -> ModelConfig -> files -> destinations. Each folder (or file) directly
 * under lib/ is a domain; every domain belongs to exactly one layer.
 */
const LAYERS: ReadonlyArray<{ layer: string; domains: readonly string[] }> = [
  { layer: 'base', domains: ['errors', 'layout', 'platforms', 'model-config', 'releases', 'system'] },
  { layer: 'parse', domains: ['model-spec'] },
  { layer: 'derive', domains: ['config', 'onnx', 'schema'] },
  { layer: 'work', domains: ['export', 'engine', 'repository', 'import', 'triton', 'deploy', 'tune'] },
  { layer: 'targets', domains: ['targets'] },
];

const ROOT = resolve(__dirname, '..');

/** One source file and the repository files it imports (relative paths, with extension). */
interface SourceFile {
  file: string;
  imports: string[];
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]|(?:require|import)\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Test files and fixtures are not part of the layering: they may reach anywhere they test. */
function isSource(file: string): boolean {
  return /\.(ts|mts)$/.test(file) && !/\.(spec|e2e)\.ts$/.test(file) && !/\.d\.ts$/.test(file) && !file.split('/').includes('__fixtures__');
}

function listFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(`${dir}/${e.name}`) : [`${dir}/${e.name}`],
  );
}

/** What a relative specifier names: `../engine/store` -> `lib/engine/store.ts`, `../onnx` -> `lib/onnx/index.ts`. */
function resolveSpecifier(from: string, spec: string, exists: (f: string) => boolean): string {
  const base = relative(ROOT, resolve(ROOT, dirname(from), spec));
  for (const candidate of [base, `${base}.ts`, `${base}/index.ts`]) if (exists(candidate)) return candidate;
  return base;
}

function readSources(dirs: string[]): SourceFile[] {
  const files = dirs.flatMap(listFiles);
  const known = new Set(files);
  const exists = (f: string): boolean => known.has(f);
  return files.filter(isSource).map((file) => {
    const text = readFileSync(join(ROOT, file), 'utf8');
    const imports: string[] = [];
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2];
      if (spec.startsWith('.')) imports.push(resolveSpecifier(file, spec, exists));
      else imports.push(spec);
    }
    return { file, imports };
  });
}

/** `lib/engine/store.ts` -> `engine`, `lib/layout.ts` -> `layout`; undefined outside lib/. */
function domainOf(file: string): string | undefined {
  const parts = file.split('/');
  if (parts[0] !== 'lib' || parts.length < 2) return undefined;
  return parts.length > 2 ? parts[1] : parts[1].replace(/\.[^.]+$/, '');
}

function layerOf(domain: string): number {
  return LAYERS.findIndex((l) => l.domains.includes(domain));
}

/** Every arrow that breaks the layering: up a layer, into the faces (plugin/, executors/, cli/, generators/), to Nx, or out of a layer table. */
export function layerProblems(sources: SourceFile[]): string[] {
  const problems: string[] = [];
  for (const { file, imports } of sources) {
    const from = domainOf(file);
    if (from === undefined) continue;
    const fromLayer = layerOf(from);
    if (fromLayer < 0) {
      problems.push(`${file}: domain "${from}" is in no layer (add it to LAYERS in test/architecture.spec.ts)`);
      continue;
    }
    for (const target of imports) {
      if (/^(@nx\/|nx($|\/))/.test(target)) problems.push(`${file} imports ${target}: lib/ has no Nx import (Nx code stays in plugin/, executors/, generators/)`);
      if (/^(plugin|executors|cli|generators|e2e|test|bench)\//.test(target)) problems.push(`${file} imports ${target}: lib/ never imports the faces or the tests`);
      const to = domainOf(target);
      if (to === undefined) continue;
      const toLayer = layerOf(to);
      if (toLayer > fromLayer) {
        problems.push(`${file} (${LAYERS[fromLayer].layer}) imports ${target} (${LAYERS[toLayer].layer}): an arrow back up a layer`);
      }
    }
  }
  return problems;
}

/** Folder-level cycles among lib/'s domains (strongly connected groups of more than one domain). */
export function domainCycles(sources: SourceFile[]): string[][] {
  const edges = new Map<string, Set<string>>();
  for (const { file, imports } of sources) {
    const a = domainOf(file);
    if (a === undefined) continue;
    for (const target of imports) {
      const b = domainOf(target);
      if (b === undefined || b === a) continue;
      if (!edges.has(a)) edges.set(a, new Set());
      edges.get(a)!.add(b);
    }
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1) out.push(group.sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return out;
}

describe('lib/ in layers', () => {
  const sources = readSources(['lib']);

  it('reads the imports of every source file of lib/', () => {
    expect(sources.length).toBeGreaterThan(80);
    const derive = sources.find((s) => s.file === 'lib/config/derive.ts');
    expect(derive?.imports).toContain('lib/errors.ts');
  });

  it('has every domain in a layer, no arrow back up a layer, and no Nx import', () => {
    expect(layerProblems(sources)).toEqual([]);
  });

  it('has no import cycle between domains', () => {
    expect(domainCycles(sources)).toEqual([]);
  });

  it('fails on a planted back-arrow, a planted Nx import and a planted cycle', () => {
    const planted: SourceFile[] = [
      ...sources,
      { file: 'lib/model-spec/planted.ts', imports: ['lib/engine/store.ts'] },
      { file: 'lib/layout-planted.ts', imports: ['@nx/devkit'] },
    ];
    expect(layerProblems(planted)).toEqual([
      'lib/model-spec/planted.ts (parse) imports lib/engine/store.ts (work): an arrow back up a layer',
      'lib/layout-planted.ts: domain "layout-planted" is in no layer (add it to LAYERS in test/architecture.spec.ts)',
    ]);
    expect(layerProblems([{ file: 'lib/layout.ts', imports: ['@nx/devkit', 'lib/targets/build.ts'] }])).toEqual([
      'lib/layout.ts imports @nx/devkit: lib/ has no Nx import (Nx code stays in plugin/, executors/, generators/)',
      'lib/layout.ts (base) imports lib/targets/build.ts (targets): an arrow back up a layer',
    ]);
    const cycle: SourceFile[] = [
      { file: 'lib/export/a.ts', imports: ['lib/repository/b.ts'] },
      { file: 'lib/repository/b.ts', imports: ['lib/export/c.ts'] },
    ];
    expect(domainCycles(cycle)).toEqual([['export', 'repository']]);
  });
});

describe('the faces are thin', () => {
  it('executors call lib/targets/ (and read only base facts of lib/ besides)', () => {
    const faces = readSources(['executors']).filter((s) => !s.file.endsWith('run-for-project.ts'));
    const reach = faces.flatMap((s) =>
      s.imports.filter((t) => t.startsWith('lib/') && !t.startsWith('lib/targets/') && layerOf(domainOf(t)!) !== 0).map((t) => `${s.file} -> ${t}`),
    );
    expect(reach).toEqual([]);
  });
});
