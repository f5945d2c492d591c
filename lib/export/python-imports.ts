import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Files of the project one scan reads at most (a model module and the local modules it imports). */
const MAX_FILES = 64;
/** Bytes read of each file: imports sit at the top. */
const MAX_BYTES = 256 * 1024;

const IMPORT = /^[ \t]*import[ \t]+([A-Za-z_][\w.]*(?:[ \t]+as[ \t]+\w+)?(?:[ \t]*,[ \t]*[A-Za-z_][\w.]*(?:[ \t]+as[ \t]+\w+)?)*)/gm;
const FROM = /^[ \t]*from[ \t]+([A-Za-z_][\w.]*)[ \t]+import\b/gm;

/** A module of the project directory (`net` -> net.py or net/__init__.py), if there is one. */
function localFile(projectDir: string, module: string): string | undefined {
  const base = join(projectDir, ...module.split('.'));
  for (const file of [`${base}.py`, join(base, '__init__.py')]) {
    try {
      if (statSync(file).isFile()) return file;
    } catch {
      // not there
    }
  }
  return undefined;
}

function importedModules(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT)) for (const part of m[1].split(',')) out.push(part.trim().split(/[ \t]+/)[0]);
  for (const m of text.matchAll(FROM)) out.push(m[1]);
  return out;
}

/**
 * The top-level names of the packages a model module imports, read from its source without running
 * it: the module of `export.torch.model` (`net:build` -> net.py), and the project's own modules it
 * imports, followed. Local modules and relative imports are left out; the standard library is left
 * to the interpreter to tell (the export's fingerprint command). Sorted, each once.
 */
export function modelModuleImports(projectDir: string, modelRef: string): string[] {
  const packages = new Set<string>();
  const seen = new Set<string>();
  const queue = [modelRef.split(':')[0]];
  while (queue.length > 0 && seen.size < MAX_FILES) {
    const module = queue.shift() as string;
    if (seen.has(module)) continue;
    seen.add(module);
    const file = localFile(projectDir, module);
    if (!file) {
      packages.add(module.split('.')[0]);
      continue;
    }
    let text: string;
    try {
      text = readFileSync(file).subarray(0, MAX_BYTES).toString('utf8');
    } catch {
      continue;
    }
    for (const imported of importedModules(text)) queue.push(imported);
  }
  return [...packages].sort();
}
