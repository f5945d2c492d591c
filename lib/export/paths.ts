import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import type { ModelSpec } from '../model-spec/types';
import { exportError } from './where';

/** True when `child` is `parent` or lies under it. */
export function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel));
}

/** The absolute path of a project-relative path from the spec, which must exist and stay inside the project (links included). */
export function resolveInsideProject(spec: ModelSpec, path: string, key: string): string {
  const full = resolve(spec.dir, path);
  if (isAbsolute(path) || !isInside(spec.dir, full)) {
    throw exportError(spec, key, `${JSON.stringify(path)} leads outside the project directory`);
  }
  let real: string;
  try {
    real = realpathSync(full);
  } catch {
    throw exportError(spec, key, `${JSON.stringify(path)} does not exist in the project directory`);
  }
  if (!isInside(realpathSync(spec.dir), real)) {
    throw exportError(spec, key, `${JSON.stringify(path)} is a link to ${real}, outside the project directory`);
  }
  return full;
}
