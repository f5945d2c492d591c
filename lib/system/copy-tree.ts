import { constants } from 'node:fs';
import { copyFile, link, lstat, mkdir, open, readdir, realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { UserError } from '../errors';

export interface CopyOptions {
  /** Hard link regular files when source and destination share a filesystem (model files). */
  hardLink?: boolean;
}

/**
 * What no copy of nx-triton carries: Python's bytecode caches (`__pycache__/`, `*.pyc`). Python runs
 * an unchecked-hash `.pyc` instead of the `.py` beside it: a planted one made Triton serve `X + 1000`
 * while model.py says `X + 1` (issue 22, N8). Python writes them again from the sources it runs.
 */
export function leftOutOfCopies(name: string): boolean {
  return name === '__pycache__' || name.endsWith('.pyc');
}

/** Writes a file's data to disk before it is renamed into place. */
export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** A reading error on a user's file, as a message without a stack. */
function sourceError(err: unknown, src: string): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') return new UserError(`cannot copy ${src}: no such file or directory`);
  if (code === 'EACCES' || code === 'EPERM') return new UserError(`cannot copy ${src}: permission denied`);
  return err;
}

/** Copies one regular file: a hard link when allowed and possible, else a (reflink) stream copy. */
async function copyRegular(src: string, dest: string, options: CopyOptions): Promise<void> {
  if (options.hardLink) {
    try {
      await link(src, dest);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Other filesystem, or one without hard links: fall back to a copy.
      if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EMLINK' && code !== 'EOPNOTSUPP') throw err;
    }
  }
  // copyFile streams in the kernel (or clones on CoW filesystems); nothing is read into memory.
  await copyFile(src, dest, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
  await fsyncPath(dest);
}

/**
 * Copies a file or a directory tree to `dest` (which must not exist). Symlinks are followed
 * when they stay inside `root` (default: the source itself) and refused when they point outside.
 */
export async function copyPath(src: string, dest: string, options: CopyOptions = {}, root?: string): Promise<void> {
  let realRoot: string;
  try {
    realRoot = await realpath(root ?? src);
  } catch (err) {
    throw sourceError(err, root ?? src);
  }
  // The components above src too (copyEntry checks the last): a linked directory may lead out of root.
  const realParent = await realpath(dirname(src)).catch(() => undefined);
  if (root !== undefined && realParent !== undefined && !isInside(realRoot, realParent)) {
    throw new UserError(`${src} leads through a symbolic link to ${realParent}, outside ${realRoot}; copy the file in instead`);
  }
  await mkdir(dirname(dest), { recursive: true });
  await copyEntry(src, dest, options, realRoot, new Set());
}

async function copyEntry(src: string, dest: string, options: CopyOptions, realRoot: string, ancestors: Set<string>): Promise<void> {
  let info;
  try {
    info = await lstat(src);
  } catch (err) {
    throw sourceError(err, src);
  }
  if (info.isSymbolicLink()) {
    let target: string;
    try {
      target = await realpath(src);
    } catch (err) {
      throw new UserError(`${src} is a broken symbolic link`);
    }
    if (!isInside(realRoot, target)) throw new UserError(`${src} is a symbolic link to ${target}, outside ${realRoot}; copy the file in instead`);
    info = await stat(target);
    src = target;
  }
  if (info.isDirectory()) {
    const real = await realpath(src);
    if (ancestors.has(real)) throw new UserError(`${src} is a symbolic link that loops back to ${real}`);
    await mkdir(dest);
    const below = new Set(ancestors).add(real);
    let names: string[];
    try {
      names = (await readdir(src)).filter((name) => !leftOutOfCopies(name)).sort();
    } catch (err) {
      throw sourceError(err, src);
    }
    for (const name of names) await copyEntry(join(src, name), join(dest, name), options, realRoot, below);
    return;
  }
  if (!info.isFile()) throw new UserError(`${src} is neither a file nor a directory`);
  try {
    await copyRegular(src, dest, options);
  } catch (err) {
    throw sourceError(err, src);
  }
}
