import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describeError, UserError } from '../errors';
import { copyListed } from '../system/copy-tree';
import type { ImportPlan, ModelPlan } from './plan';
import { SPEC_FILE } from '../layout';

export interface WriteOptions {
  /** Also write each triton.yaml (the Nx generator writes them through its Tree instead). */
  writeYaml?: boolean;
}

/** Copies one project's files into a staging directory inside it, then renames them into place. */
async function copyModel(projectDir: string, plan: ModelPlan, options: WriteOptions): Promise<void> {
  const staging = join(projectDir, `.nx-triton-import-${randomBytes(6).toString('hex')}`);
  await mkdir(staging, { recursive: true });
  try {
    // One real file is copied once: another path to it in the repository becomes a hard link to that copy
    // inside the project (as in the repository, the paths stay one file), never to the repository's file.
    const copies = new Map<string, string>();
    for (const copy of plan.listed) {
      // A copy, never a hard link to the source: editing the project must not edit the repository imported from.
      // The kernel copies (or reflinks, on CoW file systems): model files never pass through memory.
      await copyListed(copy.entries, join(staging, copy.dest), copies);
    }
    if (options.writeYaml) await writeFile(join(staging, SPEC_FILE), plan.yaml);
    const tops = new Set(plan.copies.map((c) => c.dest.split('/')[0]));
    if (options.writeYaml) tops.add(SPEC_FILE);
    for (const top of [...tops].sort()) await rename(join(staging, top), join(projectDir, top));
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/**
 * Writes the planned projects' files under `workspaceRoot`. The project directories must be new
 * (see `findClashes`): on any failure every one of them is removed again, so an import is
 * all or nothing.
 */
export async function writeImportedFiles(workspaceRoot: string, plan: ImportPlan, options: WriteOptions = {}): Promise<void> {
  const created: string[] = [];
  try {
    for (const model of plan.models) {
      const projectDir = join(workspaceRoot, model.projectDir);
      await mkdir(dirname(projectDir), { recursive: true });
      created.push(projectDir);
      await copyModel(projectDir, model, options);
    }
  } catch (err) {
    await Promise.all(created.map((dir) => rm(dir, { recursive: true, force: true })));
    throw new UserError(`import failed, nothing imported: ${describeError(err)}`);
  }
}

function listCopies(model: ModelPlan): string {
  const shown = model.copies.map((c) => c.dest);
  return shown.length <= 6 ? shown.join(', ') : `${shown.slice(0, 6).join(', ')} and ${shown.length - 6} more`;
}

/** The summary: one line per model, `resnet -> models/resnet/triton.yaml (versions 1, 3; copied model.onnx, ...)`. */
export function summarizeImport(plan: ImportPlan): string[] {
  const lines = plan.models.map((m) => {
    const versions = m.versions.length === 1 ? `version ${m.versions[0]}` : `versions ${m.versions.join(', ')}`;
    const copied = m.copies.length > 0 ? `; copied ${listCopies(m)}` : '';
    return `  ${m.name} -> ${m.projectDir}/${SPEC_FILE} (${versions}${copied})`;
  });
  const n = plan.models.length;
  return [`nx-triton: imported ${n} model${n === 1 ? '' : 's'}`, ...lines];
}
