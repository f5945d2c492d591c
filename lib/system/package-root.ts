import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

let cached: string | undefined;

/**
 * The directory of nx-triton's own package.json: where proto/, python/ and generator
 * templates live, both from source (vitest) and from dist/ (the packed tarball).
 */
export function packageRoot(): string {
  if (cached) return cached;
  let dir = __dirname;
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).name === 'nx-triton') return (cached = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error(`nx-triton: package.json not found above ${__dirname}`);
    dir = up;
  }
}

export function packageVersion(): string {
  return JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')).version;
}
