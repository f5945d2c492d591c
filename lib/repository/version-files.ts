import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { VERIFY_RECORD_FILE } from '../layout';
import type { FileCopy } from './write-entry';

/**
 * The export directory's other entries, which go into the version directory beside the model file:
 * a python model's modules, an OpenVINO model's weights. Dot files (the export's own notes, such as
 * the TorchScript signature) and the fidelity gate's verify.json stay out.
 */
export function exportCompanions(model: string): FileCopy[] {
  const dir = dirname(model);
  return readdirSync(dir)
    .filter((n) => !n.startsWith('.') && n !== basename(model) && n !== VERIFY_RECORD_FILE)
    .sort()
    .map((n) => ({ src: join(dir, n), dest: n }));
}
