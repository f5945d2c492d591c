import { constants } from 'node:fs';
import { lstatSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { copyFile, link, mkdir, open } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';
import { UserError } from '../errors';

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

/**
 * Copies one regular file, never as a hard link to its source (a linked file in the repository is the
 * export's own file: an edit of one is an edit of both, and onnx refuses hard-linked external data): a
 * reflink on filesystems that clone (COPYFILE_FICLONE), else a copy in the kernel, never read into memory.
 */
async function copyRegular(src: string, dest: string): Promise<void> {
  await copyFile(src, dest, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
  await fsyncPath(dest);
}

/** A hard link from `src` to `dest`; false when the file system cannot make one (another device, no links, too many). */
async function tryLink(src: string, dest: string): Promise<boolean> {
  try {
    await link(src, dest);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EMLINK' && code !== 'EOPNOTSUPP') throw err;
    return false;
  }
}

/**
 * Files and directories one copy may make. Symbolic links inside a tree may reach one directory
 * through many paths: a 134 KB repository of 8 levels of 8 links stood for ~16 TB of files
 * (issue 22, N7). No model directory comes near it.
 */
export const MAX_TREE_ENTRIES = 100_000;

/** One entry of a listed tree: `rel` is its path below the tree's top (posix, '' for the top itself). */
export interface TreeEntry {
  kind: 'dir' | 'file';
  rel: string;
  /** Where its bytes are: the real path (links resolved). */
  real: string;
  /** `<dev>:<ino>` of a file: one real file reached by several paths has one id. */
  id?: string;
}

export interface ListOptions {
  /** The directory every entry must resolve into (default: the source itself). */
  root?: string;
  /** Why an entry must not be copied (its path below the top and its name), or undefined. */
  refuse?: (rel: string, name: string) => string | undefined;
  /** Told of each entry left out as a Python cache. */
  onLeftOut?: (path: string) => void;
}

/**
 * Every entry of the file or tree `src`, parents before children, sorted: symbolic links are followed
 * when they resolve inside `root` and refused when they lead out (every component of every path
 * resolved), loops and what is neither a file nor a directory are refused, Python's caches left out
 * (leftOutOfCopies), and at most MAX_TREE_ENTRIES entries. Throws UserError naming the path.
 */
export function listTree(src: string, options: ListOptions = {}): TreeEntry[] {
  const rootPath = options.root ?? src;
  let realRoot: string;
  try {
    realRoot = realpathSync(rootPath);
  } catch (err) {
    throw sourceError(err, rootPath);
  }
  const out: TreeEntry[] = [];
  /** `parentReal`: the real path of the directory `path` is in (undefined for the top: all its components are resolved). */
  const visit = (path: string, rel: string, name: string, parentReal: string | undefined, ancestors: ReadonlySet<string>): void => {
    const refused = options.refuse?.(rel, name);
    if (refused) throw new UserError(`${path}: ${refused}`);
    let info;
    try {
      info = lstatSync(path);
    } catch (err) {
      throw sourceError(err, path);
    }
    let real: string;
    if (parentReal !== undefined && !info.isSymbolicLink()) real = join(parentReal, name);
    else {
      try {
        // From the parent's real path: only this link is left to resolve.
        real = realpathSync(parentReal !== undefined ? join(parentReal, name) : path);
      } catch {
        throw new UserError(`${path} is a broken symbolic link`);
      }
    }
    if (!isInside(realRoot, real)) {
      throw new UserError(
        info.isSymbolicLink()
          ? `${path} is a symbolic link to ${real}, outside ${realRoot}; copy the file in instead`
          : `${path} leads through a symbolic link to ${real}, outside ${realRoot}; copy the file in instead`,
      );
    }
    if (info.isSymbolicLink()) info = statSync(real);
    if (out.length >= MAX_TREE_ENTRIES) {
      throw new UserError(
        `${src} holds more than ${MAX_TREE_ENTRIES} files and directories (at ${path}): symbolic links that reach the same directories over and over? ` +
          'Copy the files in instead of linking them',
      );
    }
    if (info.isDirectory()) {
      if (ancestors.has(real)) throw new UserError(`${path} is a symbolic link that loops back to ${real}`);
      out.push({ kind: 'dir', rel, real });
      let names: string[];
      try {
        names = readdirSync(real).sort();
      } catch (err) {
        throw sourceError(err, path);
      }
      const below = new Set(ancestors).add(real);
      for (const n of names) {
        if (leftOutOfCopies(n)) options.onLeftOut?.(join(path, n));
        else visit(join(path, n), rel ? `${rel}/${n}` : n, n, real, below);
      }
      return;
    }
    if (!info.isFile()) throw new UserError(`${path} is neither a file nor a directory`);
    out.push({ kind: 'file', rel, real, id: `${info.dev}:${info.ino}` });
  };
  if (leftOutOfCopies(basename(src))) {
    options.onLeftOut?.(src);
    return out;
  }
  visit(src, '', basename(src), undefined, new Set());
  return out;
}

/**
 * Makes the listed entries under `dest` (which must not exist). Each real file is copied once
 * (`copies` remembers the first copy by id, also across calls): another path to it is a hard link
 * to that copy, so bytes are never duplicated however many links led to the file.
 */
export async function copyListed(entries: TreeEntry[], dest: string, copies = new Map<string, string>()): Promise<void> {
  await mkdir(dirname(dest), { recursive: true });
  for (const e of entries) {
    const to = e.rel ? join(dest, e.rel) : dest;
    if (e.kind === 'dir') {
      await mkdir(to);
      continue;
    }
    try {
      const first = e.id !== undefined ? copies.get(e.id) : undefined;
      if (first !== undefined && (await tryLink(first, to))) continue;
      await copyRegular(e.real, to);
      if (e.id !== undefined && !copies.has(e.id)) copies.set(e.id, to);
    } catch (err) {
      throw sourceError(err, e.real);
    }
  }
}

/**
 * Copies a file or a directory tree to `dest` (which must not exist): listTree's rules (links
 * inside `root`, default the source itself; Python caches out; a bounded number of entries), each
 * real file once.
 */
export async function copyPath(src: string, dest: string, root?: string): Promise<void> {
  await copyListed(listTree(src, { root }), dest);
}
