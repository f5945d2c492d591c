import type { ModelSpec } from '../model-spec/types';

/** Where a key path was written, or the nearest written parent (`input[0].dims[1]` -> `input[0].dims`). */
export function positionOf(spec: ModelSpec, path: string): { line: number; col: number } | undefined {
  let p = path;
  for (;;) {
    if (spec.positions[p]) return spec.positions[p];
    const cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
    if (cut <= 0) return undefined;
    p = p.slice(0, cut);
  }
}
