import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `cc_model_filenames` for the plans an engine target wrote with `tensorrt.targets`
 * (compute capability -> `model_smXY.plan`, from its engine.json), or undefined for a single plan.
 */
export function engineCcModelFilenames(engineDir: string): Record<string, string> | undefined {
  let provenance: { targets?: Record<string, { file?: unknown }> };
  try {
    provenance = JSON.parse(readFileSync(join(engineDir, 'engine.json'), 'utf8'));
  } catch {
    return undefined;
  }
  const targets = provenance.targets;
  if (!targets || typeof targets !== 'object') return undefined;
  const out: Record<string, string> = {};
  const byCc = Object.keys(targets).sort((a, b) => {
    const [am, an] = a.split('.').map(Number);
    const [bm, bn] = b.split('.').map(Number);
    return am - bm || an - bn;
  });
  for (const cc of byCc) {
    const file = targets[cc]?.file;
    if (/^\d+\.\d+$/.test(cc) && typeof file === 'string' && /^model_sm\d+\.plan$/.test(file)) out[cc] = file;
  }
  return Object.keys(out).length ? out : undefined;
}
