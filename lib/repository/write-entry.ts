import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { UserError } from '../errors';
import { checkModelName } from '../model-spec/model-name';
import { copyPath, fsyncPath } from '../system/copy-tree';
import { keepBeating, ownerGone, ownerOfMatch, ownerTag, OWNER_PATTERN, OWNER_STALE_MS } from '../system/owner';
import { EMPTY_VERSION_MARKER } from '../layout';

export interface FileCopy {
  src: string;
  /** Relative to the directory it lands in. */
  dest: string;
  /** A directory `src` must stay inside, every component of its path resolved (default: no check above `src`). */
  root?: string;
}

export type VersionSource =
  /** The contents of `from` (a directory) become `<version>/`. */
  | { version: number; from: string }
  | { version: number; files: FileCopy[] };

export interface WriteEntryOptions {
  repository: string;
  name: string;
  configText: string;
  versions: VersionSource[];
  /** Files beside config.pbtxt: labels, `warmup/...`. */
  extraFiles?: FileCopy[];
  /** Runs on the complete staged entry before it is swapped in; throwing keeps the previous entry. */
  check?: (stagedDir: string) => Promise<void>;
}

/**
 * Written into a version directory that would otherwise be empty (an ensemble's): Nx does not
 * restore empty directories from its cache, and Triton needs the version directory to exist.
 * Triton ignores it: an ensemble has no model file to look for.
 */


/** `.<name>.tmp-<owner tag>-<random>` and `.<name>.old-…` (an older nx-triton wrote `<pid>` alone: judged by its mtime). */
const SIDE_DIR = new RegExp(`^(tmp|old)-(?:${OWNER_PATTERN}|\\d+)-[0-9a-f]{12}$`);

/** Why `dest` cannot be a path inside the entry, or undefined. */
function badRelativePath(dest: string): string | undefined {
  if (dest.length === 0) return 'it is empty';
  if (dest.includes('\0')) return 'it contains a NUL character';
  if (dest.startsWith('/') || dest.startsWith('\\') || /^[A-Za-z]:/.test(dest)) return 'it is absolute';
  const parts = dest.split(/[/\\]/);
  if (parts.some((p) => p === '..')) return 'it goes up with ".."';
  if (parts.every((p) => p === '' || p === '.')) return 'it names the directory itself';
  return undefined;
}

function checkDest(dest: string, what: string): string {
  const why = badRelativePath(dest);
  if (why) throw new UserError(`${what} ${JSON.stringify(dest)} cannot be written into the model directory: ${why}`);
  return dest.split(/[/\\]/).filter((p) => p !== '' && p !== '.').join('/');
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function fsyncDir(path: string): Promise<void> {
  try {
    await fsyncPath(path);
  } catch {
    // Some filesystems refuse to fsync a directory; the rename is still atomic.
  }
}

/** Whether the writer of a side dir is gone: a dead pid it can see, else a heartbeat (its mtime) that stopped (issue 22, N5). */
async function writerGone(dir: string, m: RegExpExecArray): Promise<boolean> {
  const beat = (await stat(dir).catch(() => undefined))?.mtimeMs;
  if (beat === undefined) return false;
  const owner = m[2] !== undefined ? ownerOfMatch(m, 2) : undefined;
  return owner ? ownerGone(owner, beat) : Date.now() - beat > OWNER_STALE_MS;
}

/**
 * Repairs what a killed writer of this entry left behind: an entry moved aside but never
 * replaced is put back, and temp or old copies of dead writers are removed.
 */
export async function recoverEntry(repository: string, name: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(repository);
  } catch {
    return;
  }
  const prefix = `.${name}.`;
  const entry = join(repository, name);
  const sides = names.filter((n) => n.startsWith(prefix)).map((n) => ({ n, m: SIDE_DIR.exec(n.slice(prefix.length)) }));
  const dead: Array<{ n: string; m: RegExpExecArray }> = [];
  for (const x of sides) if (x.m !== null && (await writerGone(join(repository, x.n), x.m))) dead.push({ n: x.n, m: x.m });
  const olds = dead.filter((x) => x.m[1] === 'old');
  if (olds.length > 0 && !(await exists(entry))) {
    await rename(join(repository, olds[0].n), entry);
  }
  for (const { n } of dead) await rm(join(repository, n), { recursive: true, force: true });
}

async function writeText(path: string, text: string): Promise<void> {
  const handle = await open(path, 'wx');
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Fills the temp directory: config.pbtxt, version directories, extra files. */
async function fill(dir: string, opts: WriteEntryOptions): Promise<void> {
  await writeText(join(dir, 'config.pbtxt'), opts.configText);
  for (const v of opts.versions) {
    const versionDir = join(dir, String(v.version));
    if ('from' in v) {
      await copyPath(v.from, versionDir);
    } else {
      await mkdir(versionDir);
      for (const f of v.files) await copyPath(f.src, join(versionDir, checkDest(f.dest, 'model file')), f.root);
    }
    if ((await readdir(versionDir)).length === 0) await writeText(join(versionDir, EMPTY_VERSION_MARKER), '');
    await fsyncDir(versionDir);
  }
  // Small files users edit in place: copied, not linked, so an edit never changes a built entry.
  for (const f of opts.extraFiles ?? []) {
    const dest = join(dir, checkDest(f.dest, 'file'));
    await copyPath(f.src, dest);
    await fsyncDir(dirname(dest));
  }
  await fsyncDir(dir);
}

function checkOptions(opts: WriteEntryOptions): void {
  const why = checkModelName(opts.name);
  if (why) throw new UserError(why);
  const seen = new Set<string>();
  for (const v of opts.versions) {
    if (!Number.isSafeInteger(v.version) || v.version < 1) {
      throw new UserError(`version ${v.version} of model "${opts.name}" is not a positive integer`);
    }
    if (seen.has(String(v.version))) throw new UserError(`version ${v.version} of model "${opts.name}" is given twice`);
    seen.add(String(v.version));
    if ('files' in v) for (const f of v.files) checkDest(f.dest, 'model file');
  }
  const taken = new Set(['config.pbtxt']);
  for (const f of opts.extraFiles ?? []) {
    const dest = checkDest(f.dest, 'file');
    const top = dest.split('/')[0];
    if (seen.has(top) || /^\d+$/.test(top)) throw new UserError(`file "${f.dest}" would land in a version directory of model "${opts.name}"`);
    if (taken.has(dest)) throw new UserError(`file "${f.dest}" is given twice for model "${opts.name}"`);
    taken.add(dest);
  }
}

const WRITE_ERRORS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exceeded',
  EFBIG: 'a file is larger than this system allows',
  EROFS: 'the filesystem is read-only',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a part of the path is a file, not a directory',
  EEXIST: 'a part of the path is a file, not a directory',
  EIO: 'input/output error',
};

/** A filesystem error while writing the entry, as one line naming the entry (never a stack). */
function writeError(err: unknown, entry: string): unknown {
  const e = err as NodeJS.ErrnoException;
  if (err instanceof UserError || typeof e?.code !== 'string' || typeof e.syscall !== 'string') return err;
  const dest = (e as { dest?: unknown }).dest;
  const at = typeof e.path === 'string' && e.path !== entry ? ` (${e.syscall} ${e.path}${typeof dest === 'string' ? ` -> ${dest}` : ''})` : '';
  return new UserError(`cannot write the model repository entry ${entry}: ${WRITE_ERRORS[e.code] ?? e.code}${at}; the previous entry, if any, is left as it was`);
}

/** Another writer of the same entry moved or replaced it between our two renames. */
function lostRace(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOENT';
}

/**
 * Moves the entry aside and the temp directory in. Concurrent writers of one entry each swap in a
 * complete directory, so on a lost race we simply try again: the last one wins. Returns the
 * directories moved aside (to delete).
 */
async function swapIn(tmp: string, entry: string, aside: () => string): Promise<string[]> {
  const olds: string[] = [];
  for (let attempt = 1; ; attempt++) {
    try {
      if (await exists(entry)) {
        const old = aside();
        await rename(entry, old);
        olds.push(old);
        const now = new Date();
        await utimes(old, now, now).catch(() => undefined); // a fresh heartbeat: not judged a leftover
      }
      await rename(tmp, entry);
      return olds;
    } catch (err) {
      if (lostRace(err) && attempt < 20 && (await exists(tmp))) continue;
      if (olds.length > 0 && !(await exists(entry))) await rename(olds.pop()!, entry).catch(() => undefined);
      for (const old of olds) await rm(old, { recursive: true, force: true });
      throw err;
    }
  }
}

/**
 * Writes `<repository>/<name>/` all at once: everything is built in a sibling temp directory,
 * synced, and swapped in with renames, so a failed or killed write leaves the previous entry.
 */
export async function writeModelEntry(opts: WriteEntryOptions): Promise<void> {
  checkOptions(opts);
  const { repository, name } = opts;
  const entry = join(repository, name);
  const tag = () => `${ownerTag()}-${randomBytes(6).toString('hex')}`;
  const tmp = join(repository, `.${name}.tmp-${tag()}`);
  try {
    await mkdir(repository, { recursive: true });
    await recoverEntry(repository, name);
    await mkdir(tmp);
    // Writers that cannot see our pid (another container on a shared workspace) judge the dir by this heartbeat.
    const stopBeating = keepBeating(tmp);
    try {
      await fill(tmp, opts);
      await opts.check?.(tmp);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    } finally {
      stopBeating();
    }
    let olds: string[];
    try {
      olds = await swapIn(tmp, entry, () => join(repository, `.${name}.old-${tag()}`));
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
    await fsyncDir(repository);
    for (const old of olds) await rm(old, { recursive: true, force: true });
  } catch (err) {
    throw writeError(err, entry);
  }
}
