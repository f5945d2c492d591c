import type { Diagnostic } from '../errors';
import type { ModelSpec, Position } from './types';

/** Where a key path was written, or its nearest written parent (`input[0].dims[1]` -> `input[0].dims` -> `input[0]`). */
export function positionOf(where: Pick<ModelSpec, 'positions'>, path: string): Position | undefined {
  for (let p = path; p; p = p.replace(/(\.[^.[]*|\[[^\]]*\])$/, '')) {
    const pos = Object.hasOwn(where.positions, p) ? where.positions[p] : undefined;
    if (pos) return pos;
    if (!/[.[]/.test(p)) break;
  }
  return undefined;
}

/** A problem at key `path` of a triton.yaml, placed where it (or the nearest key above it) was written when known. */
export function placed(where: Pick<ModelSpec, 'file' | 'positions'>, path: string, message: string): Diagnostic {
  const pos = positionOf(where, path);
  return pos ? { file: where.file, line: pos.line, col: pos.col, path, message } : { file: where.file, path, message };
}
