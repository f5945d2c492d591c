import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

/**
 * sha256 of a file, remembered by path, size, inode, mtime and ctime so that a redeploy does not
 * read an unchanged file again. A file written in place keeps its inode and may keep its times (a
 * file system's clock ticks in milliseconds), so a digest is only remembered for a file that had
 * not changed for `STABLE_MS` when it was read (git's "racily clean" rule).
 */
const STABLE_MS = 2_000;

interface Entry {
  path: string;
  size: number;
  ino: string;
  mtimeNs: string;
  ctimeNs: string;
  sha256: string;
}

function hashStream(path: string): Promise<string> {
  return new Promise<string>((ok, ko) => {
    const h = createHash('sha256');
    createReadStream(path, { highWaterMark: 1 << 20 })
      .on('data', (chunk) => h.update(chunk))
      .on('error', ko)
      .on('end', () => ok(h.digest('hex')));
  });
}

export async function sha256Cached(file: string, cacheDir?: string): Promise<string> {
  const path = resolve(file);
  const st = await stat(path, { bigint: true });
  const id = { path, size: Number(st.size), ino: String(st.ino), mtimeNs: String(st.mtimeNs), ctimeNs: String(st.ctimeNs) };
  const entryFile = cacheDir ? join(cacheDir, `${createHash('sha256').update(path).digest('hex')}.json`) : undefined;
  if (entryFile) {
    try {
      const cached = JSON.parse(await readFile(entryFile, 'utf8')) as Entry;
      if (cached.path === id.path && cached.size === id.size && cached.ino === id.ino && cached.mtimeNs === id.mtimeNs && cached.ctimeNs === id.ctimeNs) return cached.sha256;
    } catch {
      // none, or unreadable: read the file
    }
  }
  const sha256 = await hashStream(path);
  const newest = Number((st.mtimeNs > st.ctimeNs ? st.mtimeNs : st.ctimeNs) / 1_000_000n);
  if (entryFile && Date.now() - newest > STABLE_MS) {
    const tmp = `${entryFile}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await mkdir(dirname(entryFile), { recursive: true });
      await writeFile(tmp, JSON.stringify({ ...id, sha256 } satisfies Entry));
      await rename(tmp, entryFile);
    } catch {
      // an optimisation only
    }
  }
  return sha256;
}
