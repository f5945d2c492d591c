import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { UserError } from '../errors';
import { deployStateKeys } from '../layout';
import { pidAlive } from '../system/pid-alive';
import type { ModelConfig } from '../model-config';
import type { ManifestCache } from './manifest-cache';
import { EMPTY_SHA256, isPythonCache, parseState, scanEntry, type EntryFile, type Journal, type Manifest, type ManifestFile } from './manifest';
import { planModel, recordedSha, staleEntries, topEntry, type Live } from './plan';
import { formatBytes, uploadProgress } from './progress';
import { redactSecrets } from './secrets';
import { readyModels, rollOut, type Server } from './servers';
import type { RecordedSample } from './smoke';
import type { Store, StoredObject } from './store';

/**
 * One model's deploy, in this order:
 *   1. read: the built entry (hashed), the stored objects of `<base>/<model>/`, the manifest and
 *      any journal of an unfinished deploy; decide what to put and delete (plan.ts);
 *   2. nothing changed and nothing unfinished: write nothing; load only where a server lacks it;
 *   3. journal (`backup`) -> copy the previous files that will be replaced or deleted into the
 *      state -> journal (`write`) -> put the changed files (largest first, config.pbtxt last) ->
 *      delete the files no longer built -> make Triton see the change (staleEntries);
 *   4. each server in turn: load, wait until ready, check no other model went down, smoke inference;
 *   5. success: the manifest, then the journal and the saved copies are removed. Any failure in
 *      3-4: the previous files are put back, reloaded where they were loaded, and the task fails
 *      with the model, the server and Triton's reason.
 * A deploy killed anywhere leaves the journal: the next deploy takes its previous state as the one
 * to restore on failure, keeps its saved copies, and writes what is still missing.
 */
export interface DeployContext {
  store: Store;
  /** The repository's key prefix in the store (no trailing slash). */
  base: string;
  builtRepository: string;
  servers: Server[];
  log: (line: string) => void;
  /** Names Triton can read from this destination (S3's character set). */
  segmentProblem?: (segment: string) => string | undefined;
  /** The export's recorded smoke sample of a model, if it has one. */
  sample?: (model: string) => RecordedSample | undefined;
  /** Parse config.pbtxt of the built entry. */
  readConfig: (model: string) => Promise<ModelConfig>;
  dryRun?: boolean;
  /** Where sha256s of unchanged files are remembered (by path, size, mtime and inode), so a redeploy does not read them again. */
  hashCache?: string;
  /**
   * What the caller listed already for all its models (one listing each of the repository, the
   * journals and the manifests, instead of requests per model), and the manifests by model.
   */
  prefetched?: { live: Map<string, StoredObject[]>; journals: Set<string>; manifest: (model: string) => Promise<Buffer | undefined> };
  /** Remembers each manifest written, by the etag the store gave it (manifest-cache.ts). */
  manifestCache?: ManifestCache;
  /** At most this many files uploaded at once across models (each multipart upload holds a few parts in memory). */
  uploads?: Limiter;
  /** Tests: stop after the journal and the saved copies are written, as a killed deploy would. */
  stopAfter?: 'backup';
}

export interface ModelResult {
  model: string;
  unchanged: boolean;
  uploadedFiles: number;
  uploadedBytes: number;
  deleted: number;
  /** Servers the model was loaded on by this deploy. */
  loadedOn: string[];
}

/** Uploads larger than this print progress lines. */
const PROGRESS_MIN_BYTES = 64 * 2 ** 20;
/** How long to keep writing an object again until the store's clock passes what Triton saw. */
const NEWER_TIMEOUT_MS = 15_000;

/** A counting semaphore: at most `max` tasks at once. */
export class Limiter {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly max: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.max) await new Promise<void>((ok) => this.waiting.push(ok));
    this.running++;
    try {
      return await task();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}

function limited<T>(limiter: Limiter | undefined, task: () => Promise<T>): Promise<T> {
  return limiter ? limiter.run(task) : task();
}

function deployId(): string {
  return `${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
}

function json(value: unknown): Buffer {
  return Buffer.from(`${JSON.stringify(value, null, 2)}\n`);
}

export async function deployModel(ctx: DeployContext, model: string): Promise<ModelResult> {
  const label = `nx-triton deploy: ${model}`;
  const keys = deployStateKeys(ctx.base);
  const dir = `${ctx.base}/${model}/`;
  const liveKey = (rel: string): string => `${dir}${rel}`;
  const { store } = ctx;

  const target = await scanEntry(ctx.builtRepository, model, ctx.segmentProblem, ctx.hashCache);
  // Parsed only when a server needs it (the rollout's smoke inference): a redeploy without servers never loads the proto.
  let parsed: ModelConfig | undefined;
  const config = async (): Promise<ModelConfig> => (parsed ??= await ctx.readConfig(model));
  const pre = ctx.prefetched;
  const [manifestBytes, journalBytes, listed] = await Promise.all([
    pre ? pre.manifest(model) : store.get(keys.manifest(model)),
    pre && !pre.journals.has(model) ? undefined : store.get(keys.journal(model)),
    pre ? (pre.live.get(model) ?? []) : store.list(dir),
  ]);
  const stored = listed.filter((o) => !isPythonCache(o.key.slice(dir.length)));
  const manifest = parseState<Manifest>(manifestBytes, model);
  const journal = parseState<Journal>(journalBytes, model);
  if (journal && journal.host === hostname() && journal.pid !== process.pid && pidAlive(journal.pid)) {
    throw new UserError(`${label}: another deploy of ${model} is running on this machine (pid ${journal.pid}, started ${journal.startedAt})`);
  }
  const live: Live = new Map(stored.map((o) => [o.key.slice(dir.length), o]));
  const liveSha = new Map<string, string | null>();
  const built = new Map(target.map((f) => [f.rel, f]));
  await Promise.all(
    [...live].map(async ([rel, object]) => {
      const known = recordedSha(rel, object, manifest, journal);
      if (known !== undefined) liveSha.set(rel, known);
      else if (rel.endsWith('/')) liveSha.set(rel, EMPTY_SHA256);
      // Read from the store only what decides an upload: files nx-triton may have written without recording them.
      else if (built.has(rel)) liveSha.set(rel, (await store.sha256Of(liveKey(rel))) ?? null);
      else liveSha.set(rel, null);
    }),
  );
  const plan = planModel(target, live, liveSha, manifest, journal);
  const result: ModelResult = { model, unchanged: plan.unchanged, uploadedFiles: 0, uploadedBytes: 0, deleted: 0, loadedOn: [] };
  const putBytes = plan.puts.reduce((n, f) => n + f.size, 0);

  if (ctx.dryRun) {
    if (plan.unchanged) ctx.log(`${label}: unchanged (--dry-run: nothing would be written)`);
    else {
      ctx.log(`${label}: --dry-run: would upload ${plan.puts.length} file(s) (${formatBytes(putBytes)}) and delete ${plan.deletes.length} to ${store.url}/${model}/${journal ? ` (completing the deploy ${journal.id} started ${journal.startedAt})` : ''}`);
      for (const f of plan.puts) ctx.log(`  put     ${f.rel} (${formatBytes(f.size)})`);
      for (const rel of plan.deletes) ctx.log(`  delete  ${rel}`);
      if (ctx.servers.length > 0) ctx.log(`  then load it on ${ctx.servers.map((s) => s.url).join(', ')}`);
    }
    return result;
  }

  // Which servers had it, and everything else they had, before anything changed.
  const readyBefore = new Map<Server, Set<string>>();
  for (const server of ctx.servers) readyBefore.set(server, await readyModels(server));
  const sample = ctx.sample?.(model);

  if (plan.unchanged) {
    const missing = ctx.servers.filter((s) => !readyBefore.get(s)!.has(model));
    ctx.log(`${label}: unchanged in ${store.url}${missing.length ? `; loading it where it is not ready: ${missing.map((s) => s.url).join(', ')}` : ''}`);
    for (const server of missing) {
      const why = await rollOut(server, model, { config: await config(), sample, readyBefore: readyBefore.get(server)!, log: ctx.log, label });
      if (why) {
        await server.client.unload(model).catch(() => undefined);
        throw new UserError(`${label}: ${server.url}: ${why}`);
      }
      result.loadedOn.push(server.url);
    }
    return result;
  }

  if (journal) {
    ctx.log(`${label}: completing the deploy ${journal.id} that started ${journal.startedAt} and did not finish`);
    const aborted = await store.abortIncompleteUploads?.(dir);
    if (aborted) ctx.log(`${label}: aborted ${aborted} unfinished multipart upload(s) it left`);
  }
  if (plan.drifted.length) ctx.log(`${label}: ${plan.drifted.join(', ')} changed in ${store.url} since the last deploy: recorded again and reloaded`);
  ctx.log(`${label}: uploading ${plan.puts.length} file(s) (${formatBytes(putBytes)}), deleting ${plan.deletes.length}, in ${store.url}/${model}/`);

  const id = journal?.id ?? deployId();
  const threshold = Math.max(0, manifest?.newestMtimeMs ?? 0, journal?.newestMtimeMs ?? 0, ...listed.map((o) => o.mtimeMs));
  const record: Journal = {
    nxTriton: 1,
    model,
    id,
    host: hostname(),
    pid: process.pid,
    startedAt: journal?.startedAt ?? new Date().toISOString(),
    phase: 'backup',
    previous: plan.previous,
    backups: { ...plan.savedBackups, ...Object.fromEntries(plan.backups.map((rel) => [rel, keys.backup(model, id, rel)])) },
    target: Object.fromEntries(target.map((f) => [f.rel, { sha256: f.sha256, size: f.size }])),
    newestMtimeMs: threshold,
  };
  await store.putBytes(keys.journal(model), json(record));

  let touchedServers: Server[] = [];
  let newest = threshold;
  // The saved copies that exist: a rollback restores these (the others' files were never replaced).
  const present: Record<string, string> = { ...plan.savedBackups };
  // Whether the model's files may differ from `previous` (this deploy wrote, or an unfinished one did).
  let changedLive = journal?.phase === 'write';
  try {
    for (const rel of plan.backups) {
      await store.copy(liveKey(rel), keys.backup(model, id, rel));
      present[rel] = keys.backup(model, id, rel);
    }
    if (ctx.stopAfter === 'backup') return result;
    record.phase = 'write';
    await store.putBytes(keys.journal(model), json(record));
    changedLive = true;

    const progress = putBytes >= PROGRESS_MIN_BYTES ? uploadProgress(`${label}: uploading`, putBytes, ctx.log) : undefined;
    try {
      for (const f of plan.puts) {
        const onBytes = (sent: number): void => progress?.file(f.rel, sent);
        const path = f.path;
        if (path) await limited(ctx.uploads, () => store.putFile(liveKey(f.rel), path, { sha256: f.sha256, onBytes }));
        else await store.putBytes(liveKey(f.rel), Buffer.alloc(0), { sha256: f.sha256, onBytes });
        result.uploadedFiles++;
        result.uploadedBytes += f.size;
      }
    } finally {
      progress?.end();
    }
    if (plan.deletes.length) await store.remove(plan.deletes.map(liveKey));
    result.deleted = plan.deletes.length;
    const changed = new Set([...plan.puts.map((f) => topEntry(f.rel)), ...plan.deletes.map(topEntry), ...plan.drifted.map(topEntry)]);
    newest = await makeTritonSeeIt(ctx, dir, changed, threshold, (rel) => built.get(rel));

    for (const server of ctx.servers) {
      touchedServers = [...touchedServers, server];
      const why = await rollOut(server, model, { config: await config(), sample, readyBefore: readyBefore.get(server)!, log: ctx.log, label });
      if (why) throw new UserError(`${label}: ${server.url}: ${why}`);
      result.loadedOn.push(server.url);
    }
  } catch (err) {
    const failure = err instanceof UserError ? err.message : `${label}: ${(err as Error).message}`;
    if (!changedLive) {
      // Failed while saving the previous files: nothing of the model was changed.
      await store.remove([keys.journal(model), ...Object.values(present)]).catch(() => undefined);
      throw new UserError(redactSecrets(`${failure}; nothing of ${model} was changed`));
    }
    const restored = await rollBack(ctx, model, { ...record, backups: present }, touchedServers, readyBefore, newest).then(
      (lines) => lines,
      (rollbackErr: unknown) => {
        throw new UserError(
          redactSecrets(
            `${failure}; putting the previous files back failed too (${rollbackErr instanceof Error ? rollbackErr.message : String(rollbackErr)}); ` +
              `the journal ${keys.journal(model)} is kept: the next deploy completes it`,
          ),
        );
      },
    );
    throw new UserError(redactSecrets(`${failure}; ${restored}`));
  }

  // Done: the manifest first (what is deployed), then the journal and the saved previous files.
  const after = await store.list(dir);
  const files: Record<string, ManifestFile> = {};
  const byKey = new Map(after.map((o) => [o.key.slice(dir.length), o]));
  for (const f of target) files[f.rel] = { sha256: f.sha256, size: f.size, etag: byKey.get(f.rel)?.etag };
  const deployed: Manifest = {
    nxTriton: 1,
    model,
    deployedAt: new Date().toISOString(),
    files,
    newestMtimeMs: Math.max(newest, ...after.map((o) => o.mtimeMs)),
  };
  await writeManifest(ctx, model, deployed);
  await store.remove([keys.journal(model)]);
  const saved = await store.list(keys.backups(model));
  if (saved.length) await store.remove(saved.map((o) => o.key));
  ctx.log(
    `${label}: deployed (${result.uploadedFiles} file(s), ${formatBytes(result.uploadedBytes)} uploaded, ${result.deleted} deleted)` +
      (result.loadedOn.length ? `; serving on ${result.loadedOn.join(', ')}` : ''),
  );
  return result;
}

async function writeManifest(ctx: DeployContext, model: string, manifest: Manifest): Promise<void> {
  const key = deployStateKeys(ctx.base).manifest(model);
  const bytes = json(manifest);
  const written = await ctx.store.putBytes(key, bytes);
  await ctx.manifestCache?.put(ctx.store.url, key, written.etag, bytes);
}

/**
 * Makes every changed entry of the model newer than what Triton saw (see staleEntries): writes the
 * smallest object of a stale entry again, after the store's clock has moved on. Returns the
 * newest modification time now.
 */
async function makeTritonSeeIt(
  ctx: DeployContext,
  dir: string,
  changed: Set<string>,
  threshold: number,
  local: (rel: string) => EntryFile | undefined,
): Promise<number> {
  const deadline = Date.now() + NEWER_TIMEOUT_MS;
  for (;;) {
    const after = await ctx.store.list(dir);
    const stale = staleEntries(changed, after, threshold, dir);
    const newest = Math.max(threshold, ...after.map((o) => o.mtimeMs));
    if (stale.length === 0) return newest;
    if (Date.now() > deadline) throw new UserError(`${ctx.store.url}: the store's modification times did not move past ${new Date(threshold).toISOString()}; Triton would not see the change`);
    await new Promise((r) => setTimeout(r, 250));
    for (const entry of stale) {
      const candidates = after
        .filter((o) => topEntry(o.key.slice(dir.length)) === entry && !o.key.endsWith('/') && !isPythonCache(o.key.slice(dir.length)))
        .sort((a, b) => a.size - b.size);
      const pick = candidates[0];
      if (!pick) continue;
      const rel = pick.key.slice(dir.length);
      const file = local(rel);
      if (file?.path) await ctx.store.putFile(pick.key, file.path, { sha256: file.sha256 });
      else await ctx.store.copy(pick.key, pick.key);
    }
  }
}

/**
 * Puts the model's previous files back (from the saved copies; the files this deploy added are
 * deleted), makes Triton see it, restores the previous manifest, and reloads the model where it
 * was loaded (unloads it where it was not). Resolves with a sentence saying what was done.
 */
async function rollBack(
  ctx: DeployContext,
  model: string,
  record: Journal,
  touched: Server[],
  readyBefore: Map<Server, Set<string>>,
  newestSeen: number,
): Promise<string> {
  const { store } = ctx;
  const keys = deployStateKeys(ctx.base);
  const dir = `${ctx.base}/${model}/`;
  const now = (await store.list(dir)).filter((o) => !isPythonCache(o.key.slice(dir.length)));
  const previous = record.previous.files;
  const changed = new Set<string>();
  for (const [rel, key] of Object.entries(record.backups)) {
    await store.copy(key, `${dir}${rel}`);
    changed.add(topEntry(rel));
  }
  for (const rel of Object.keys(previous)) {
    if (rel.endsWith('/') && !now.some((o) => o.key === `${dir}${rel}`)) {
      await store.putBytes(`${dir}${rel}`, Buffer.alloc(0));
      changed.add(topEntry(rel));
    }
  }
  const added = now.map((o) => o.key.slice(dir.length)).filter((rel) => !(rel in previous));
  if (added.length) await store.remove(added.map((rel) => `${dir}${rel}`));
  for (const rel of added) changed.add(topEntry(rel));
  const threshold = Math.max(newestSeen, ...now.map((o) => o.mtimeMs));
  const newest = Object.keys(previous).length ? await makeTritonSeeIt(ctx, dir, changed, threshold, () => undefined) : threshold;
  const after = await store.list(dir);
  if (record.previous.manifest) {
    const byKey = new Map(after.map((o: StoredObject) => [o.key.slice(dir.length), o]));
    const files: Record<string, ManifestFile> = {};
    for (const [rel, f] of Object.entries(previous)) files[rel] = { ...f, etag: byKey.get(rel)?.etag };
    const restored: Manifest = { nxTriton: 1, model, deployedAt: new Date().toISOString(), files, newestMtimeMs: Math.max(newest, ...after.map((o) => o.mtimeMs)) };
    await writeManifest(ctx, model, restored);
  } else await store.remove([keys.manifest(model)]);

  const reloaded: string[] = [];
  const unloaded: string[] = [];
  const problems: string[] = [];
  for (const server of ctx.servers) {
    const before = readyBefore.get(server) ?? new Set<string>();
    try {
      if (before.has(model)) {
        const r = await server.client.load(model);
        if (r.ok) reloaded.push(server.url);
        else problems.push(`reloading on ${server.url} failed: ${r.error}`);
      } else if (touched.includes(server)) {
        await server.client.unload(model);
        unloaded.push(server.url);
      }
      // Anything else this deploy took down comes back too.
      const ready = await readyModels(server);
      for (const other of [...before].filter((m) => m !== model && !ready.has(m))) {
        const r = await server.client.load(other);
        if (!r.ok) problems.push(`reloading ${other} on ${server.url} failed: ${r.error}`);
      }
    } catch (err) {
      problems.push(`${server.url}: ${(err as Error).message}`);
    }
  }
  await store.remove([keys.journal(model)]);
  const saved = await store.list(keys.backups(model));
  if (saved.length) await store.remove(saved.map((o) => o.key));
  const what = Object.keys(previous).length ? 'the previous files were put back' : 'the new files were removed (there was no previous version)';
  const where = [reloaded.length ? `reloaded on ${reloaded.join(', ')}` : '', unloaded.length ? `unloaded from ${unloaded.join(', ')}` : ''].filter(Boolean).join(', ');
  return `${what}${where ? ` and ${where}` : ''}${problems.length ? `; but ${problems.join('; ')}` : ''}`;
}
