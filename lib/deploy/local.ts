import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, copyFile, link, lstat, mkdir, open, readdir, readFile, rename, rmdir, stat, unlink, utimes } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';
import { sha256Cached } from './hash-cache';
import { UserError } from '../errors';
import type { LocalLocation } from './location';
import type { PutOptions, Store, StoredObject } from './store';

/** Temp files of a put in progress, beside the file they replace: `.<name>.nx-triton-tmp-<pid>-<hex>`. */
const TMP_MARK = '.nx-triton-tmp-';

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException)?.code;
}

/**
 * A local or mounted directory as a store rooted at the repository's parent directory. Objects are
 * files: a put writes a temp file beside its target and renames it over (whole or not at all), a
 * copy hard-links where it can (files are never changed in place, only replaced), and removing a
 * file also removes the directories it leaves empty, as a key's "directory" vanishes on S3.
 */
export class LocalStore implements Store {
  readonly url: string;
  readonly root: string;

  constructor(readonly location: LocalLocation) {
    this.url = location.url;
    this.root = dirname(location.dir);
  }

  /** The file of `key`, after checking that no directory on the way is a symbolic link (keys never leave the root). */
  private async path(key: string): Promise<string> {
    const parts = key.split('/').filter((p) => p !== '');
    let at = this.root;
    // A key ending in `/` is a directory: all of its components are checked.
    for (const part of key.endsWith('/') ? parts : parts.slice(0, -1)) {
      at = join(at, part);
      try {
        const st = await lstat(at);
        if (st.isSymbolicLink()) throw new UserError(`${this.url}: ${at} is a symbolic link; nx-triton writes only real directories under the repository`);
        if (!st.isDirectory()) throw new UserError(`${this.url}: ${at} is not a directory`);
      } catch (err) {
        if (errno(err) === 'ENOENT') break;
        throw err;
      }
    }
    return join(this.root, ...parts);
  }

  private fail(err: unknown, doing: string): unknown {
    if (err instanceof UserError) return err;
    const e = err as NodeJS.ErrnoException;
    if (typeof e?.code === 'string') return new UserError(`${this.url}: ${doing} failed: ${e.code}${e.path ? ` (${e.path})` : ''}`);
    return err;
  }

  /** The repository directory, or the nearest directory above it that exists (created as needed), is a writable directory. */
  async check(): Promise<void> {
    let at = this.location.dir;
    try {
      const here = await lstat(at).catch(() => undefined);
      if (here?.isSymbolicLink()) throw new UserError(`${this.url} is a symbolic link; give the directory it points to`);
      if (here && !here.isDirectory()) throw new UserError(`${this.url} is not a directory`);
      for (;;) {
        const st = await stat(at).catch(() => undefined);
        if (st) {
          if (!st.isDirectory()) throw new UserError(`${this.url}: ${at} is not a directory`);
          await access(at, constants.W_OK);
          return;
        }
        if (dirname(at) === at) throw new UserError(`${this.url}: no directory above it exists`);
        at = dirname(at);
      }
    } catch (err) {
      if (errno(err) === 'EACCES') throw new UserError(`${this.url}: ${at} is not writable`);
      throw this.fail(err, 'checking the destination');
    }
  }

  private async object(key: string, file: string): Promise<StoredObject> {
    const st = await stat(file, { bigint: true });
    const mtime = st.mtimeNs > st.ctimeNs ? st.mtimeNs : st.ctimeNs;
    return { key, size: Number(st.size), etag: `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}`, mtimeMs: Number(mtime / 1000n) / 1000 };
  }

  async list(prefix: string): Promise<StoredObject[]> {
    const out: StoredObject[] = [];
    const walk = async (dir: string, keyPrefix: string): Promise<void> => {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (err) {
        if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return;
        throw err;
      }
      if (names.length === 0 && keyPrefix !== prefix) {
        out.push({ ...(await this.object(keyPrefix, dir)), size: 0 });
        return;
      }
      for (const name of names) {
        const path = join(dir, name);
        const st = await lstat(path);
        if (st.isDirectory()) await walk(path, `${keyPrefix}${name}/`);
        else out.push(await this.object(`${keyPrefix}${name}`, path));
      }
    };
    try {
      await walk(await this.path(prefix), prefix);
    } catch (err) {
      throw this.fail(err, `listing ${prefix}`);
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async sha256Of(key: string): Promise<string | undefined> {
    try {
      return await sha256Cached(await this.path(key));
    } catch (err) {
      if (errno(err) === 'ENOENT' || errno(err) === 'EISDIR') return undefined;
      throw this.fail(err, `reading ${key}`);
    }
  }

  /** Writes `key` through a temp file beside it, renamed over it once complete and synced. */
  private async replace(key: string, write: (tmp: string) => Promise<void>): Promise<StoredObject> {
    const target = await this.path(key);
    await mkdir(dirname(target), { recursive: true });
    const tmp = join(dirname(target), `.${basename(target)}${TMP_MARK}${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      await write(tmp);
      const handle = await open(tmp, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, target);
      // rename() does nothing when both names are links of one file (a copy of a file onto a link of it).
      await unlink(tmp).catch(() => undefined);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    return this.object(key, target);
  }

  async putFile(key: string, file: string, options: PutOptions = {}): Promise<StoredObject> {
    try {
      const written = await this.replace(key, (tmp) => copyFile(file, tmp, constants.COPYFILE_FICLONE));
      options.onBytes?.(written.size);
      return written;
    } catch (err) {
      throw this.fail(err, `writing ${key}`);
    }
  }

  async putBytes(key: string, bytes: Buffer, options: PutOptions = {}): Promise<StoredObject> {
    try {
      if (key.endsWith('/')) {
        const dir = await this.path(key);
        await mkdir(dir, { recursive: true });
        return { ...(await this.object(key, dir)), size: 0 };
      }
      const written = await this.replace(key, async (tmp) => {
        const handle = await open(tmp, 'wx');
        try {
          await handle.writeFile(bytes);
        } finally {
          await handle.close();
        }
      });
      options.onBytes?.(bytes.length);
      return written;
    } catch (err) {
      throw this.fail(err, `writing ${key}`);
    }
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      return await readFile(await this.path(key));
    } catch (err) {
      if (errno(err) === 'ENOENT') return undefined;
      throw this.fail(err, `reading ${key}`);
    }
  }

  async copy(from: string, to: string): Promise<StoredObject> {
    try {
      const source = await this.path(from);
      if (from === to) {
        // Onto itself: only a new ctime (which Triton takes as the file's time), same bytes and mtime.
        const st = await stat(source);
        await utimes(source, st.atime, st.mtime);
        return await this.object(to, source);
      }
      return await this.replace(to, async (tmp) => {
        try {
          await link(source, tmp);
        } catch (err) {
          if (!['EXDEV', 'EPERM', 'EMLINK', 'ENOTSUP', 'EOPNOTSUPP'].includes(errno(err) ?? '')) throw err;
          await copyFile(source, tmp, constants.COPYFILE_FICLONE);
        }
      });
    } catch (err) {
      throw this.fail(err, `copying ${from} to ${to}`);
    }
  }

  async remove(keys: string[]): Promise<void> {
    for (const key of keys) {
      try {
        const path = await this.path(key);
        if (key.endsWith('/')) await rmdir(path).catch((err) => (errno(err) === 'ENOENT' || errno(err) === 'ENOTEMPTY' ? undefined : Promise.reject(err)));
        else await unlink(path).catch((err) => (errno(err) === 'ENOENT' ? undefined : Promise.reject(err)));
        // The directories it leaves empty go too (as on S3), up to the repository or state directory itself.
        let dir = dirname(path);
        while (dir.startsWith(this.root + sep) && dirname(dir) !== this.root) {
          try {
            await rmdir(dir);
          } catch {
            break;
          }
          dir = dirname(dir);
        }
      } catch (err) {
        throw this.fail(err, `deleting ${key}`);
      }
    }
  }
}
