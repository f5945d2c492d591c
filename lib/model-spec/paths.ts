import { realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, posix, relative, sep, win32 } from 'node:path';
import type { Node } from 'yaml';
import type { SpecContext } from './context';
import { expectString } from './values';

export type PathKind = 'file' | 'directory' | 'file or directory';

export interface PathOptions {
  kind: PathKind;
  /** Check that the path exists (off when the project is not on disk yet). */
  mustExist: boolean;
}

/**
 * A path relative to the project directory that stays inside it; returned normalised
 * (`./weights//nn.pt` -> `weights/nn.pt`).
 */
export function checkProjectPath(
  ctx: SpecContext,
  node: Node | null,
  path: string,
  options: PathOptions,
): string | undefined {
  const written = expectString(ctx, node, path);
  if (written === undefined) return undefined;
  if (written.includes('\0')) {
    ctx.error(path, 'a path cannot contain a NUL character');
    return undefined;
  }
  if (isAbsolute(written) || win32.isAbsolute(written) || written.startsWith('~')) {
    ctx.error(path, `${JSON.stringify(written)} must be a path relative to the project directory, not an absolute path`);
    return undefined;
  }
  const normal = posix.normalize(written.replace(/\\/g, '/')).replace(/\/+$/, '');
  if (normal === '..' || normal.startsWith('../')) {
    ctx.error(path, `${JSON.stringify(written)} leads outside the project directory`);
    return undefined;
  }
  if (normal === '.' || normal === '') {
    ctx.error(path, `${JSON.stringify(written)} names the project directory itself; name a ${options.kind} inside it`);
    return undefined;
  }
  if (options.mustExist && !existsInside(ctx, ctx.dir, normal, written, path, options.kind)) return undefined;
  return normal;
}

function existsInside(ctx: SpecContext, dir: string, normal: string, written: string, path: string, kind: PathKind): boolean {
  const full = join(dir, normal);
  let isDir: boolean;
  let real: string;
  try {
    isDir = statSync(full).isDirectory();
    real = realpathSync(full);
  } catch {
    ctx.error(path, `${JSON.stringify(written)} does not exist (expected a ${kind} in the project directory)`);
    return false;
  }
  let realDir: string;
  try {
    realDir = realpathSync(dir);
  } catch {
    realDir = dir;
  }
  const rel = relative(realDir, real);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    ctx.error(path, `${JSON.stringify(written)} resolves (through a link) to a place outside the project directory`);
    return false;
  }
  if (kind === 'file' && isDir) {
    ctx.error(path, `${JSON.stringify(written)} is a directory; expected a file`);
    return false;
  }
  if (kind === 'directory' && !isDir) {
    ctx.error(path, `${JSON.stringify(written)} is not a directory`);
    return false;
  }
  return true;
}
