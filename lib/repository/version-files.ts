import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { EXPORT_NOTES } from '../layout';
import { leftOutOfCopies } from '../system/copy-tree';
import type { FileCopy } from './write-entry';

/**
 * The export directory's other entries, which go into the version directory beside the model file:
 * a python model's modules, an OpenVINO model's weights. The rule is the one of every copy: all of
 * it, dot files too, but nx-triton's own notes (EXPORT_NOTES) and Python's caches (leftOutOfCopies),
 * so the newest version and a previous_versions directory with the same files give the same
 * version directory (issue 22, N20).
 */
export function exportCompanions(model: string): FileCopy[] {
  const dir = dirname(model);
  return readdirSync(dir)
    .filter((n) => n !== basename(model) && !EXPORT_NOTES.includes(n) && !leftOutOfCopies(n))
    .sort()
    .map((n) => ({ src: join(dir, n), dest: n }));
}
