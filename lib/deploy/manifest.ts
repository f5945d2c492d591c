import { createHash } from 'node:crypto';
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { sha256Cached } from './hash-cache';
import { UserError } from '../errors';
import { checkModelName } from '../model-spec/model-name';
import { checkKey } from './store';

/**
 * What is deployed of one model: every file of its repository entry by its path in the model
 * directory (`config.pbtxt`, `1/model.py`; an empty directory as `1/`), with its content hash.
 * nx-triton keeps it in its state beside the repository; the files it names are what `deploy`
 * compares, so an unchanged file is never uploaded again.
 */
export interface ManifestFile {
  /** Hex sha256 of the bytes; null for a file nx-triton did not write and has not read. */
  sha256: string | null;
  size: number;
  /** The stored object's etag when it was deployed: a different one means the object was rewritten since. */
  etag?: string;
}

export interface Manifest {
  nxTriton: 1;
  model: string;
  deployedAt: string;
  files: Record<string, ManifestFile>;
  /** The newest modification time of the model's objects when the deploy ended (Triton's change detection). */
  newestMtimeMs: number;
}

/** A deploy in progress (or killed): enough to finish it, or to put the previous files back. */
export interface Journal {
  nxTriton: 1;
  model: string;
  id: string;
  host: string;
  pid: number;
  startedAt: string;
  /** `backup`: the previous files are being saved, nothing of the model is changed yet; `write`: the model's files are being replaced. */
  phase: 'backup' | 'write';
  /** The model's files before the deploy (what a rollback restores), and whether they had a manifest. */
  previous: { files: Record<string, ManifestFile>; manifest: boolean };
  /** Saved previous files: path in the model directory -> key of the copy in the state. */
  backups: Record<string, string>;
  /** The files being deployed. */
  target: Record<string, { sha256: string; size: number }>;
  /** The newest modification time seen of the model's objects so far. */
  newestMtimeMs: number;
}

/** A file of a built entry, to deploy. */
export interface EntryFile {
  rel: string;
  /** Absolute path of the file; undefined for an empty directory (`rel` ends with `/`). */
  path?: string;
  size: number;
  sha256: string;
}

export const EMPTY_SHA256 = createHash('sha256').digest('hex');

/**
 * Deploy's caches on this machine (`~/.cache/nx-triton/deploy/`, or under XDG_CACHE_HOME), only ever
 * to skip work: `hashes`, the sha256 of files it read, by path, size, mtime and inode (as the engine
 * store does for ONNX files: an unchanged built file is not read again); `manifests`, manifests by
 * their etag in the store (manifest-cache.ts).
 */
export function deployCacheDir(which: 'hashes' | 'manifests', env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'nx-triton', 'deploy', which);
}

/**
 * Python's bytecode caches (`__pycache__/`): Python writes them beside the modules it imports, so
 * the python backend's stub writes them into a local repository it serves from. Not part of a
 * model: never deployed, compared or deleted.
 */
export function isPythonCache(rel: string): boolean {
  return rel.split('/').includes('__pycache__');
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !rel.startsWith(sep));
}

/**
 * Every file of `<repository>/<model>/` with its sha256, sorted by path. A symbolic link is
 * followed only when it stays inside the built repository; empty directories are kept (S3 shows
 * a directory only when an object lies under it). `segmentProblem`: the destination's rule for
 * names (Triton's S3 character set).
 */
export async function scanEntry(
  repository: string,
  model: string,
  segmentProblem?: (segment: string) => string | undefined,
  hashCache?: string,
): Promise<EntryFile[]> {
  const bad = checkModelName(model);
  if (bad) throw new UserError(`nx-triton deploy: ${bad}`);
  checkKey(model, 'model name', segmentProblem);
  const root = await realpath(repository).catch(() => {
    throw new UserError(`nx-triton deploy: the built repository ${repository} does not exist (build it first)`);
  });
  const dir = join(root, model);
  const top = await stat(dir).catch(() => undefined);
  if (!top?.isDirectory() || !(await stat(join(dir, 'config.pbtxt')).catch(() => undefined))?.isFile()) {
    throw new UserError(`nx-triton deploy: model ${model} is not in the built repository ${repository} (no ${join(repository, model, 'config.pbtxt')}; build it first)`);
  }
  const files: EntryFile[] = [];
  const walk = async (at: string, rel: string): Promise<void> => {
    const names = (await readdir(at)).sort();
    if (names.length === 0 && rel !== '') {
      files.push({ rel: checkKey(`${rel}`, `${model}: directory`, segmentProblem), size: 0, sha256: EMPTY_SHA256 });
      return;
    }
    for (const name of names) {
      const path = join(at, name);
      const childRel = `${rel}${name}`;
      if (isPythonCache(childRel)) continue;
      let st = await lstat(path);
      if (st.isSymbolicLink()) {
        const real = await realpath(path).catch(() => undefined);
        if (!real || !isInside(root, real)) throw new UserError(`nx-triton deploy: ${join(repository, model, childRel)} is a symbolic link that leads out of the built repository`);
        st = await stat(real);
      }
      if (st.isDirectory()) await walk(path, `${childRel}/`);
      else if (st.isFile()) {
        checkKey(childRel, `${model}: file`, segmentProblem);
        files.push({ rel: childRel, path, size: st.size, sha256: await sha256Cached(path, hashCache) });
      } else throw new UserError(`nx-triton deploy: ${join(repository, model, childRel)} is not a regular file`);
    }
  };
  await walk(dir, '');
  return files;
}

/** A manifest or journal read back, or undefined when it is not one of ours. */
export function parseState<T extends Manifest | Journal>(bytes: Buffer | undefined, model: string): T | undefined {
  if (!bytes) return undefined;
  try {
    const value = JSON.parse(bytes.toString('utf8'));
    if (value && value.nxTriton === 1 && value.model === model && typeof value.files === 'object') return value as T;
    if (value && value.nxTriton === 1 && value.model === model && typeof value.target === 'object') return value as T;
  } catch {
    // not ours: treated as absent
  }
  return undefined;
}
