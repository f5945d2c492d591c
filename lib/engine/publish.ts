import { randomBytes } from 'node:crypto';
import { constants, readFileSync } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PLAN_FILE, PLAN_FILE_PATTERN, PROVENANCE_FILE } from '../layout';
import type { EngineKeyParts } from './key';
import type { StoreResult } from './store';

/** One plan as engine.json records it. */
export interface PlanRecord {
  key: string;
  parts: EngineKeyParts;
  plan: { size: number; sha256: string };
}

/**
 * engine.json: one plan's record, or with `tensorrt.targets` one record per compute capability
 * (`file` = `model_smXY.plan`). Written by publishPlans only.
 */
export type EngineProvenance = PlanRecord | { targets: Record<string, PlanRecord & { file: string }> };

/** A plan ready to publish: where it goes, its key, and its store entry. */
export interface PlanToPublish {
  /** The compute capability it was built for; undefined without `tensorrt.targets`. */
  target?: string;
  file: string;
  key: string;
  parts: EngineKeyParts;
  got: StoreResult;
}


function record(p: PlanToPublish): PlanRecord {
  return { key: p.key, parts: p.parts, plan: { size: p.got.manifest.plan.size, sha256: p.got.manifest.plan.sha256 } };
}

/**
 * Copies every plan into `outDir` (temp file + rename each), then writes engine.json and removes
 * plans of an earlier configuration. Runs only once every plan is in the local store; an ENOENT
 * (the entry was evicted meanwhile) reaches the caller, which looks it up again.
 */
export async function publishPlans(outDir: string, plans: PlanToPublish[], withTargets: boolean): Promise<void> {
  await mkdir(outDir, { recursive: true });
  const suffix = `.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const temps: string[] = [];
  try {
    for (const p of plans) {
      const tmp = join(outDir, p.file + suffix);
      temps.push(tmp);
      await copyFile(p.got.planPath, tmp, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
    }
    for (const p of plans) await rename(join(outDir, p.file + suffix), join(outDir, p.file));
    const provenance: EngineProvenance = withTargets
      ? { targets: Object.fromEntries(plans.map((p) => [p.target, { file: p.file, ...record(p) }])) }
      : record(plans[0]);
    const tmp = join(outDir, PROVENANCE_FILE + suffix);
    temps.push(tmp);
    await writeFile(tmp, JSON.stringify(provenance, null, 2) + '\n');
    await rename(tmp, join(outDir, PROVENANCE_FILE));
  } finally {
    await Promise.all(temps.map((t) => rm(t, { force: true })));
  }
  const keep = plans.map((p) => p.file);
  for (const name of await readdir(outDir).catch(() => [] as string[])) {
    if (PLAN_FILE_PATTERN.test(name) && !keep.includes(name)) await rm(join(outDir, name), { force: true });
  }
}

/**
 * `cc_model_filenames` for the plans an engine target wrote with `tensorrt.targets`
 * (compute capability -> `model_smXY.plan`, from its engine.json), or undefined for a single plan.
 */
export function engineCcModelFilenames(engineDir: string): Record<string, string> | undefined {
  let provenance: { targets?: Record<string, { file?: unknown }> };
  try {
    provenance = JSON.parse(readFileSync(join(engineDir, PROVENANCE_FILE), 'utf8'));
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
    if (/^\d+\.\d+$/.test(cc) && typeof file === 'string' && PLAN_FILE_PATTERN.test(file) && file !== PLAN_FILE) out[cc] = file;
  }
  return Object.keys(out).length ? out : undefined;
}
