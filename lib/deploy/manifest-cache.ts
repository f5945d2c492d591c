import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * Manifests read before, kept on this machine by the store's etag of the manifest object: a
 * redeploy lists the manifests (one request) and reads from the store only those whose etag it has
 * not seen, instead of one request per model. An etag is the object's identity (S3 writes a new
 * one with every write), so a cached body is only ever used for the very object it came from.
 */
export class ManifestCache {
  constructor(private readonly dir: string) {}

  private file(url: string, key: string): string {
    return join(this.dir, `${createHash('sha256').update(`${url}\n${key}`).digest('hex')}.json`);
  }

  async get(url: string, key: string, etag: string): Promise<Buffer | undefined> {
    try {
      const entry = JSON.parse(await readFile(this.file(url, key), 'utf8'));
      if (entry.etag === etag && typeof entry.body === 'string') return Buffer.from(entry.body, 'utf8');
    } catch {
      // none, or unreadable: read from the store
    }
    return undefined;
  }

  async put(url: string, key: string, etag: string, body: Buffer): Promise<void> {
    if (!etag) return;
    const file = this.file(url, key);
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await mkdir(dirname(file), { recursive: true });
      await writeFile(tmp, JSON.stringify({ etag, body: body.toString('utf8') }));
      await rename(tmp, file);
    } catch {
      // an optimisation only
    }
  }
}
