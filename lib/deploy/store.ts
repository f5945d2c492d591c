import { UserError } from '../errors';

/**
 * A destination as object storage: whole objects under `/`-separated keys, each written at once
 * (an S3 PUT or a completed multipart upload; a rename on a directory). Keys are relative to the
 * store's root: the bucket for S3, the repository's parent directory for a local destination, so
 * that both the repository (`<base>/…`, what Triton reads) and nx-triton's state beside it
 * (`<base>.nx-triton/…`) are keys of one store.
 */
export interface StoredObject {
  key: string;
  size: number;
  /** Changes whenever the object is rewritten (S3's ETag; device, inode, size and ctime on disk). */
  etag: string;
  /** What Triton takes as the object's modification time, in ms (S3's LastModified; max(mtime, ctime) on disk). */
  mtimeMs: number;
}

export interface PutOptions {
  /** Kept with the object (S3 user metadata `sha256`), so a resumed deploy can tell what it wrote. */
  sha256?: string;
  /** Bytes sent so far of this object, as they go (for progress lines). */
  onBytes?: (sent: number) => void;
}

export interface Store {
  /** For messages: the destination as the user named it (never credentials). */
  readonly url: string;
  /** Reachable, the credentials accepted, the bucket or directory there: a clear error otherwise. Reads only. */
  check(): Promise<void>;
  /** Every object under `prefix` (which ends with `/`), in key order. */
  list(prefix: string): Promise<StoredObject[]>;
  /** The sha256 nx-triton recorded when it wrote the object, if any (S3 metadata; on disk, the file hashed). */
  sha256Of(key: string): Promise<string | undefined>;
  /** Streams a local file to `key` (multipart above a size on S3); returns the new object. */
  putFile(key: string, file: string, options?: PutOptions): Promise<StoredObject>;
  putBytes(key: string, bytes: Buffer, options?: PutOptions): Promise<StoredObject>;
  /** A small object's bytes, or undefined when there is none. */
  get(key: string): Promise<Buffer | undefined>;
  /** A copy inside the store (S3 CopyObject; a hard link or a copy on disk). */
  copy(from: string, to: string): Promise<StoredObject>;
  /** Removes the objects (missing ones are no error). */
  remove(keys: string[]): Promise<void>;
  /** Multipart uploads under `prefix` that were never completed (S3 only). */
  abortIncompleteUploads?(prefix: string): Promise<number>;
}

/**
 * Why `rel` cannot be a key below a model (or a model name a key segment), or undefined: keys
 * never leave where they belong. `segmentProblem`: the destination's rule for names (Triton's S3 character set, location.ts).
 */
export function keyProblem(rel: string, segmentProblem?: (segment: string) => string | undefined): string | undefined {
  if (rel.length === 0) return 'it is empty';
  if (rel.includes('\\')) return 'it contains a backslash';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(rel)) return 'it contains a control character';
  const parts = rel.split('/');
  const dirMarker = rel.endsWith('/');
  const segments = dirMarker ? parts.slice(0, -1) : parts;
  if (segments.length === 0) return 'it names the directory itself';
  for (const p of segments) {
    if (p === '') return 'it has an empty path segment';
    if (p === '.' || p === '..') return `it has a "${p}" segment`;
    const why = segmentProblem?.(p);
    if (why) return why;
  }
  return undefined;
}

export function checkKey(rel: string, what: string, segmentProblem?: (segment: string) => string | undefined): string {
  const why = keyProblem(rel, segmentProblem);
  if (why) throw new UserError(`${what} ${JSON.stringify(rel)} cannot be deployed: ${why}`);
  return rel;
}
