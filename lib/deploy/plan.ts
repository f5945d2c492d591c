import type { EntryFile, Journal, Manifest, ManifestFile } from './manifest';
import type { StoredObject } from './store';

/**
 * What one model's deploy does to its files, decided from what is built, what is stored and what
 * nx-triton recorded. Pure: no I/O, so every case is a unit test.
 */

/** The objects of the model now, by path in the model directory. */
export type Live = Map<string, StoredObject>;

/**
 * The sha256 of a live object as far as the records tell without reading it: the manifest's (or
 * an unfinished deploy's previous state's) when the object is still the one recorded (same etag
 * and size). `undefined`: not known from the records (ask the store, `Store.sha256Of`).
 */
export function recordedSha(rel: string, object: StoredObject, manifest: Manifest | undefined, journal: Journal | undefined): string | null | undefined {
  for (const files of [manifest?.files, journal?.previous.files]) {
    const f = files?.[rel];
    if (f && f.etag !== undefined && f.etag === object.etag && f.size === object.size) return f.sha256;
  }
  return undefined;
}

export interface Plan {
  /** Nothing to write: the stored files are the built ones and no deploy was left unfinished. */
  unchanged: boolean;
  /** Paths to write, the largest first and config.pbtxt last (see `writeOrder`). */
  puts: EntryFile[];
  /** Paths to delete (stored, not built), after the puts. */
  deletes: string[];
  /** Previous files to save before anything is replaced or deleted (not saved yet). */
  backups: string[];
  /** What a rollback puts back. */
  previous: Journal['previous'];
  /** Saved already by the unfinished deploy this one completes. */
  savedBackups: Record<string, string>;
  /**
   * Stored objects that are not what the manifest recorded (rewritten or added behind nx-triton's
   * back, or missing), though their content may be the built one: the manifest is written again,
   * and Triton made to reload them, so the servers serve what the repository holds.
   */
  drifted: string[];
}

/**
 * The order of writes within a model: the largest files first and config.pbtxt last. A server
 * that reads the model directory while it is being written sees each object whole; the time it
 * may see a mix of old and new files is the time to write all but the first file, which this
 * order keeps as short as it can (typically a small graph file and config.pbtxt after the weights).
 */
export function writeOrder(files: EntryFile[]): EntryFile[] {
  const rank = (f: EntryFile): number => (f.rel === 'config.pbtxt' ? 1 : 0);
  return [...files].sort((a, b) => rank(a) - rank(b) || b.size - a.size || (a.rel < b.rel ? -1 : 1));
}

export function planModel(target: EntryFile[], live: Live, liveSha: Map<string, string | null>, manifest: Manifest | undefined, journal: Journal | undefined): Plan {
  const built = new Map(target.map((f) => [f.rel, f]));
  const puts = target.filter((f) => {
    const stored = live.get(f.rel);
    return !stored || liveSha.get(f.rel) !== f.sha256;
  });
  const deletes = [...live.keys()].filter((rel) => !built.has(rel)).sort();
  let previous: Journal['previous'];
  let saved: Record<string, string> = {};
  if (journal) {
    previous = journal.previous;
    // While `backup`, nothing of the model had changed; its saved copies are redone as needed.
    saved = journal.phase === 'write' ? journal.backups : {};
  } else {
    const files: Record<string, ManifestFile> = {};
    for (const [rel, object] of live) files[rel] = { sha256: liveSha.get(rel) ?? null, size: object.size, etag: object.etag };
    previous = { files, manifest: manifest !== undefined };
  }
  const drifted = manifest
    ? [
        ...[...live].filter(([rel, o]) => manifest.files[rel]?.etag !== o.etag || manifest.files[rel]?.size !== o.size).map(([rel]) => rel),
        ...Object.keys(manifest.files).filter((rel) => !live.has(rel)),
      ].sort()
    : [];
  const touched = new Set([...puts.map((f) => f.rel), ...deletes]);
  const backups = [...touched].filter((rel) => rel in previous.files && !(rel in saved) && !rel.endsWith('/')).sort();
  return {
    unchanged: !journal && puts.length === 0 && deletes.length === 0 && drifted.length === 0,
    puts: writeOrder(puts),
    deletes,
    backups,
    previous,
    savedBackups: saved,
    drifted,
  };
}

/** The model directory's entries Triton compares modification times of: `config.pbtxt`, `1`, `labels.txt`, ... */
export function topEntry(rel: string): string {
  return rel.split('/')[0];
}

/**
 * Which objects to write again so Triton sees the change, or [] when none. Triton reloads a model
 * only when the newest modification time under its directory grew (core's ModelTimestamp::IsModified,
 * model_repository_manager.cc), and reloads a version only when the newest time in that version's
 * directory or a non-config file beside it grew (IsModelVersionModified) — else it updates the
 * config in place. S3 times have one-second resolution, so a write in the same second as the one
 * Triton saw last is no change to it. `threshold`: the newest time Triton may have seen.
 */
export function staleEntries(changed: Set<string>, after: StoredObject[], threshold: number, base: string): string[] {
  const newest = new Map<string, number>();
  for (const o of after) {
    const entry = topEntry(o.key.slice(base.length));
    newest.set(entry, Math.max(newest.get(entry) ?? 0, o.mtimeMs));
  }
  const stale = [...changed].filter((entry) => newest.has(entry) && (newest.get(entry) ?? 0) <= threshold);
  const overall = Math.max(0, ...newest.values());
  // Only deletions (a whole entry gone): some entry must still be newer, or nothing reloads.
  if (stale.length === 0 && overall <= threshold && newest.has('config.pbtxt')) return ['config.pbtxt'];
  return stale.sort();
}
