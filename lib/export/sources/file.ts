import { constants } from 'node:fs';
import { copyFile, lstat, mkdir, readdir, readlink, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import type { ModelSpec } from '../../model-spec/types';
import { companionFiles } from '../companions';
import { loadsOwnFiles } from '../../platforms';
import { isInside, resolveInsideProject } from '../paths';
import { leftOutOfCopies } from '../../system/copy-tree';
import { exportError } from '../where';
import type { ExportSource } from './source';

/**
 * Copies `export.file` (a file or a directory tree) to `output`. Files are copied by the kernel
 * (reflink where the filesystem can), never read whole into memory. A link is followed only when it
 * points inside the project directory.
 */
export async function exportFile(spec: ModelSpec, path: string, output: string): Promise<void> {
  const source = resolveInsideProject(spec, path, 'export.file');
  const projectReal = await realpath(spec.dir);
  if (loadsOwnFiles(spec.config)) {
    // The files of the version directory as they are named: a directory's contents, or the one file.
    const isDir = (await stat(source)).isDirectory();
    await copyEntry(spec, projectReal, source, isDir ? output : join(output, basename(source)));
    return;
  }
  if (spec.config.backend === 'python' && (await stat(source)).isDirectory()) {
    // A python model's directory is its version directory: model.py and the modules it imports.
    const name = basename(output);
    if (!(await stat(join(source, name)).catch(() => undefined))?.isFile()) {
      throw exportError(spec, 'export.file', `${shown(spec, source)} has no ${name}: a python model's directory holds ${name} and the files it uses`);
    }
    await copyEntry(spec, projectReal, source, dirname(output));
    return;
  }
  await copyEntry(spec, projectReal, source, output);
  for (const c of await companionFiles(spec, source, output)) await copyEntry(spec, projectReal, c.src, c.dest);
}

async function copyEntry(spec: ModelSpec, projectReal: string, source: string, target: string): Promise<void> {
  const link = await lstat(source);
  // Every component resolved, not only the last: a linked parent directory may lead out (issue 22, N2).
  let real: string;
  try {
    real = await realpath(source);
  } catch {
    const to = await readlink(source).catch(() => '?');
    throw exportError(spec, 'export.file', `${shown(spec, source)} is a broken link (to ${to})`);
  }
  if (!isInside(projectReal, real)) {
    const how = link.isSymbolicLink() ? 'is a link to' : 'leads through a symbolic link to';
    throw exportError(spec, 'export.file', `${shown(spec, source)} ${how} ${real}, outside the project directory`);
  }
  const info = link.isSymbolicLink() ? await stat(real) : link;
  if (info.isDirectory()) {
    await mkdir(target, { recursive: true });
    // Python's caches stay out: a stale .pyc can run instead of the model.py beside it (issue 22, N8).
    const names = (await readdir(real)).filter((name) => !leftOutOfCopies(name)).sort();
    for (const name of names) await copyEntry(spec, projectReal, join(source, name), join(target, name));
  } else if (info.isFile()) {
    await mkdir(dirname(target), { recursive: true });
    // The target is new (a fresh staging directory): EXCL spares copyFile's truncate, which on ext4
    // makes close() flush the whole file to disk (measured: +0.6 s for 2 GiB).
    await copyFile(real, target, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
  } else {
    throw exportError(spec, 'export.file', `${shown(spec, source)} is neither a file nor a directory`);
  }
}

function shown(spec: ModelSpec, path: string): string {
  return JSON.stringify(relative(spec.dir, path) || '.');
}

/** `export.file`: a model file or directory of the project, copied. */
export const fileSource: ExportSource<string> = {
  async run({ spec, source, output }) {
    await exportFile(spec, source, output);
    return { what: `file ${source}`, key: 'export.file', gated: false };
  },
};
