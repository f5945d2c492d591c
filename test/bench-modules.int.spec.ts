import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { distPath, ensureDist } from './dist';

// The benchmarks load the built package's modules by path (bench/*.mjs through requireDist, the
// probes with require(join(dist, ...))). They run only with `npm run bench`, so a moved module breaks
// them silently: the layers work moved lib/spec to lib/model-spec and benchmark 5 failed at its
// first require. Every module and name they take must exist in dist/.

const ROOT = resolve(__dirname, '..');

function benchFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? (e.name === '.work' ? [] : benchFiles(`${dir}/${e.name}`)) : /\.(mjs|cjs)$/.test(e.name) ? [`${dir}/${e.name}`] : [],
  );
}

/** `const { a, b } = requireDist('./lib/x.js')` and `const { a } = require(join(dist, 'lib', 'x.js'))`: the module and the names. */
function usesOf(text: string): Array<{ module: string; names: string[] }> {
  const out: Array<{ module: string; names: string[] }> = [];
  const destructured = /(?:const|let)\s*\{([^}]*)\}\s*=\s*(?:requireDist\(\s*'\.\/([^']+)'\s*\)|require\(\s*(?:path\.)?join\(\s*(?:dist|DIST)\s*,\s*((?:'[^']+'\s*,?\s*)+)\)\s*\))/g;
  for (const m of text.matchAll(destructured)) {
    const module = m[2] ?? [...m[3].matchAll(/'([^']+)'/g)].map((p) => p[1]).join('/');
    out.push({ module, names: m[1].split(',').map((n) => n.trim().split(':')[0].trim()).filter(Boolean) });
  }
  for (const m of text.matchAll(/requireDist\(\s*'\.\/([^']+)'\s*\)\.(\w+)/g)) out.push({ module: m[1], names: [m[2]] });
  return out;
}

describe('the benchmarks take modules and names the built package has', () => {
  beforeAll(() => ensureDist());
  const uses = benchFiles('bench').flatMap((file) => usesOf(readFileSync(join(ROOT, file), 'utf8')).map((u) => ({ file, ...u })));

  it('finds the uses (the patterns still match how bench/ loads dist/)', () => {
    expect(uses.length).toBeGreaterThanOrEqual(10);
    expect(uses.some((u) => u.file === 'bench/probes/cold-build.cjs' && u.names.includes('loadSpec'))).toBe(true);
  });

  it.each(uses.map((u) => [`${u.file}: ${u.module} { ${u.names.join(', ')} }`, u] as const))('%s', (_label, u) => {
    const mod = require(distPath(u.module)) as Record<string, unknown>;
    for (const name of u.names) expect(mod[name], `${u.module} exports ${name}`).toBeDefined();
  });
});
