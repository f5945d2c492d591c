import { randomBytes } from 'node:crypto';
import { link, open, mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { homedir, hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { UserError } from '../errors';
import { canonicalJson, engineKey, sha256File, type EngineKeyParts } from './key';
import { pidAlive } from '../system/pid-alive';
import { keepBeating, ownerGone, ownerOfMatch, ownerTag, OWNER_PATTERN, parseOwnerTag, seesPid } from '../system/owner';

export const DEFAULT_MAX_BYTES = 50 * 2 ** 30;
const PLAN = 'model.plan';
const MANIFEST = 'manifest.json';
/** Stores may be shared between machines: a pid in a temp dir's name only means something on its own host. */
const TMP_NAME = new RegExp(`^[^.]+\\.${OWNER_PATTERN}\\.[0-9a-f]{8}$`);

/** A name under `<store>/tmp/` for `label`, owned by process `pid` of this process's host, boot and PID namespace: `<label>.<owner tag>.<random>`. */
export function storeTmpName(label: string, pid = process.pid): string {
  return `${label}.${ownerTag(pid)}.${randomBytes(4).toString('hex')}`;
}

/** `NX_TRITON_ENGINE_CACHE`, else the `engineCache` option (relative to the workspace), else ~/.cache/nx-triton/engines. */
export function resolveStoreDir(o: { engineCache?: string; workspaceRoot?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const env = o.env ?? process.env;
  if (env.NX_TRITON_ENGINE_CACHE) return resolve(env.NX_TRITON_ENGINE_CACHE);
  if (o.engineCache) return resolve(o.workspaceRoot ?? process.cwd(), o.engineCache);
  return join(homedir(), '.cache', 'nx-triton', 'engines');
}

/** `NX_TRITON_ENGINE_CACHE_MAX_BYTES`, else the option, else 50 GiB. */
export function resolveMaxBytes(o: { maxBytes?: number; env?: NodeJS.ProcessEnv } = {}): number {
  const raw = (o.env ?? process.env).NX_TRITON_ENGINE_CACHE_MAX_BYTES;
  if (raw !== undefined && raw !== '') {
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0) throw new UserError(`NX_TRITON_ENGINE_CACHE_MAX_BYTES: expected a number of bytes, got "${raw}"`);
    return n;
  }
  return o.maxBytes ?? DEFAULT_MAX_BYTES;
}

export interface PlanVersion {
  major: number;
  minor: number;
  patch: number;
  build: number;
}

/** A plan's header: u32 LE `ftrt` magic at 0, TensorRT major/minor/patch/build at bytes 24..27 (plans from 8.6). */
export function readPlanHeader(head: Buffer): PlanVersion | undefined {
  if (head.length < 28 || head.toString('latin1', 0, 4) !== 'ftrt') return undefined;
  return { major: head[24], minor: head[25], patch: head[26], build: head[27] };
}

export interface Manifest {
  key: string;
  parts: EngineKeyParts;
  plan: { file: string; size: number; sha256: string };
  built_at: string;
  build_ms: number;
  command: string[];
}

export interface StoreResult {
  planPath: string;
  manifest: Manifest;
  /** true when the plan came from the store, false when this call built it. */
  hit: boolean;
}

export interface EngineStoreOptions {
  maxBytes?: number;
  log?: (line: string) => void;
  /** How often a waiting process looks at another's lock. */
  pollMs?: number;
  /** A lock whose owner stopped refreshing it this long ago is taken over. */
  staleMs?: number;
}

type Check = { ok: true; manifest: Manifest } | { ok: false; reason?: string };

/**
 * Content-addressed engine store: `<root>/<key[0..2]>/<key>/{model.plan, manifest.json}`.
 * Entries appear by one rename of a complete, verified directory; a build holds `locks/<key>.lock`.
 */
export class EngineStore {
  /** Plan path -> `size:mtime:inode` when this instance last hashed it in full and it matched. */
  private readonly verified = new Map<string, string>();
  readonly maxBytes: number;
  private readonly log: (line: string) => void;
  private readonly pollMs: number;
  private readonly staleMs: number;

  constructor(
    readonly root: string,
    o: EngineStoreOptions = {},
  ) {
    this.maxBytes = o.maxBytes ?? DEFAULT_MAX_BYTES;
    this.log = o.log ?? (() => undefined);
    this.pollMs = o.pollMs ?? 100;
    this.staleMs = o.staleMs ?? 120_000;
  }

  entryDir(key: string): string {
    return join(this.root, key.slice(0, 2), key);
  }

  get hashCacheDir(): string {
    return join(this.root, 'hash-cache');
  }

  /** Timing cache shared by every build with one TensorRT version on one GPU. */
  timingCachePath(fingerprintId: string): string {
    return join(this.root, 'timing-cache', `${fingerprintId}.cache`);
  }

  /** A verified entry, or undefined (missing or corrupt). */
  async get(key: string, parts: EngineKeyParts): Promise<StoreResult | undefined> {
    const c = await this.check(key, parts);
    if (!c.ok) return undefined;
    await this.touch(key);
    return { planPath: join(this.entryDir(key), PLAN), manifest: c.manifest, hit: true };
  }

  /**
   * The plan for `key`: from the store when a verified entry exists, else built once by
   * `build(tmpPlanPath)` while holding the key's lock (other processes wait and then read it).
   */
  async getOrBuild(key: string, parts: EngineKeyParts, build: (tmpPlanPath: string) => Promise<{ command: string[] }>): Promise<StoreResult> {
    if (engineKey(parts) !== key) throw new Error('nx-triton: engine key does not match its parts');
    let said = false;
    for (;;) {
      const c = await this.check(key, parts);
      if (c.ok) {
        await this.touch(key);
        return { planPath: join(this.entryDir(key), PLAN), manifest: c.manifest, hit: true };
      }
      const lock = await this.tryLock(key);
      if (!lock) {
        if (!said) this.log(`engine ${key.slice(0, 12)}: another process is building it; waiting`);
        said = true;
        await sleep(this.pollMs);
        continue;
      }
      try {
        const again = await this.check(key, parts);
        if (again.ok) {
          await this.touch(key);
          return { planPath: join(this.entryDir(key), PLAN), manifest: again.manifest, hit: true };
        }
        if (again.reason) this.log(`engine ${key.slice(0, 12)}: store entry is corrupt (${again.reason}); rebuilding`);
        const manifest = await this.buildEntry(key, parts, build);
        await this.evict(key);
        return { planPath: join(this.entryDir(key), PLAN), manifest, hit: false };
      } finally {
        await lock.release();
      }
    }
  }

  /** Removes least-recently-used entries (manifest mtime) until the store fits maxBytes; `keep` stays. */
  async evict(keep?: string): Promise<string[]> {
    const entries: Array<{ key: string; size: number; used: number }> = [];
    for (const shard of await readdirOrEmpty(this.root)) {
      if (!/^[0-9a-f]{2}$/.test(shard)) continue;
      for (const key of await readdirOrEmpty(join(this.root, shard))) {
        try {
          const file = join(this.root, shard, key, MANIFEST);
          const [m, st] = await Promise.all([readFile(file, 'utf8'), stat(file)]);
          entries.push({ key, size: (JSON.parse(m) as Manifest).plan.size + st.size, used: st.mtimeMs });
        } catch {
          // an entry being replaced or removed right now
        }
      }
    }
    let total = entries.reduce((n, e) => n + e.size, 0);
    const removed: string[] = [];
    for (const e of entries.sort((a, b) => a.used - b.used)) {
      if (total <= this.maxBytes) break;
      if (e.key === keep) continue;
      const lock = await this.tryLock(e.key);
      if (!lock) continue;
      try {
        await this.discard(this.entryDir(e.key));
        total -= e.size;
        removed.push(e.key);
        this.log(`engine ${e.key.slice(0, 12)}: evicted from the store (least recently used)`);
      } finally {
        await lock.release();
      }
    }
    return removed;
  }

  private async check(key: string, parts: EngineKeyParts): Promise<Check> {
    const dir = this.entryDir(key);
    let manifest: Manifest;
    try {
      manifest = JSON.parse(await readFile(join(dir, MANIFEST), 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        return (await exists(dir)) ? { ok: false, reason: 'manifest.json missing' } : { ok: false };
      }
      return { ok: false, reason: 'manifest.json unreadable' };
    }
    if (manifest.key !== key || canonicalJson(manifest.parts) !== canonicalJson(parts)) return { ok: false, reason: 'manifest does not match the key' };
    const plan = join(dir, PLAN);
    const reason = await verifyPlan(plan, parts.tensorrt);
    if (reason) return { ok: false, reason };
    const st = await stat(plan);
    if (st.size !== manifest.plan.size) return { ok: false, reason: `plan is ${st.size} bytes, manifest says ${manifest.plan.size}` };
    // The full checksum once per store instance (one per engine target run, one per builder request) and
    // whenever size, mtime or inode changed: the persistent size/mtime/inode cache would serve a plan
    // corrupted in place as verified (issue 13.9).
    const id = `${st.size}:${st.mtimeMs}:${st.ino}`;
    if (this.verified.get(plan) !== id) {
      if ((await sha256File(plan)) !== manifest.plan.sha256) return { ok: false, reason: 'plan checksum mismatch' };
      this.verified.set(plan, id);
    }
    return { ok: true, manifest };
  }

  private async buildEntry(key: string, parts: EngineKeyParts, build: (tmpPlanPath: string) => Promise<{ command: string[] }>): Promise<Manifest> {
    await this.removeDeadTmp();
    const tmp = join(this.root, 'tmp', storeTmpName(key));
    await mkdir(tmp, { recursive: true });
    // Processes that cannot see our pid (another host, another PID namespace) judge the dir by this heartbeat.
    const stopBeating = keepBeating(tmp);
    try {
      const plan = join(tmp, PLAN);
      const started = Date.now();
      const { command } = await build(plan);
      const reason = await verifyPlan(plan, parts.tensorrt);
      if (reason) throw new UserError(`trtexec finished but its plan is not usable: ${reason}`);
      const manifest: Manifest = {
        key,
        parts,
        plan: { file: PLAN, size: (await stat(plan)).size, sha256: await sha256File(plan) },
        built_at: new Date().toISOString(),
        build_ms: Date.now() - started,
        command,
      };
      await writeFile(join(tmp, MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
      const dir = this.entryDir(key);
      await mkdir(join(dir, '..'), { recursive: true });
      if (await exists(dir)) await this.discard(dir);
      await rename(tmp, dir);
      return manifest;
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    } finally {
      stopBeating();
    }
  }

  /** Moves a directory out of the way in one rename, then deletes it. */
  private async discard(dir: string): Promise<void> {
    const trash = join(this.root, 'tmp', storeTmpName('trash'));
    await mkdir(join(this.root, 'tmp'), { recursive: true });
    try {
      await rename(dir, trash);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    await rm(trash, { recursive: true, force: true });
  }

  /**
   * Temp dirs of builds (and discards) whose owner is gone: a dead pid of this host, boot and PID
   * namespace, or an owner elsewhere whose heartbeat stopped. Nothing will ever finish them.
   */
  private async removeDeadTmp(): Promise<void> {
    const dir = join(this.root, 'tmp');
    for (const name of await readdirOrEmpty(dir)) {
      const m = TMP_NAME.exec(name);
      if (!m) continue;
      const beat = (await stat(join(dir, name)).catch(() => undefined))?.mtimeMs;
      if (beat === undefined || !ownerGone(ownerOfMatch(m), beat)) continue;
      await rm(join(dir, name), { recursive: true, force: true }).catch(() => undefined);
    }
  }

  private async touch(key: string): Promise<void> {
    const now = new Date();
    await utimes(join(this.entryDir(key), MANIFEST), now, now).catch(() => undefined);
  }

  /**
   * An exclusive lock file holding its owner, made in one step: the owner is written to a temp file
   * that is then hard-linked to the lock's name (EEXIST: held), so a lock is never empty or half
   * written, even when the disk is full. A dead owner's (same host) or an unrefreshed lock is taken
   * over: moved aside in one rename, and put back when what was moved is not the lock judged stale.
   */
  private async tryLock(key: string): Promise<{ release(): Promise<void> } | undefined> {
    const dir = join(this.root, 'locks');
    const file = join(dir, `${key}.lock`);
    await mkdir(dir, { recursive: true });
    const tmp = `${file}.${ownerTag()}.${randomBytes(4).toString('hex')}.tmp`;
    let ino: number;
    try {
      await writeFile(tmp, JSON.stringify({ owner: ownerTag(), pid: process.pid, host: hostname(), since: new Date().toISOString() }));
      await link(tmp, file);
      ino = (await stat(tmp)).ino;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EDQUOT') {
        throw new UserError(`the engine store's disk is full (writing a lock in ${dir}): free some space, or point NX_TRITON_ENGINE_CACHE elsewhere`);
      }
      if (code !== 'EEXIST') throw err;
      await this.takeOverIfStale(file);
      return undefined;
    } finally {
      await rm(tmp, { force: true });
    }
    const beat = setInterval(() => {
      const now = new Date();
      utimes(file, now, now).catch(() => undefined);
    }, Math.max(50, this.staleMs / 4));
    beat.unref();
    return {
      release: async () => {
        clearInterval(beat);
        // Only our own lock: never one that replaced it after a takeover.
        if ((await stat(file).catch(() => undefined))?.ino === ino) await rm(file, { force: true });
      },
    };
  }

  /** Moves a stale lock aside; a fresh lock moved by mistake (another process took over first) goes back. */
  private async takeOverIfStale(file: string): Promise<void> {
    const judged = await this.staleLock(file);
    if (judged === undefined) return;
    const aside = `${file}.stale.${ownerTag()}.${randomBytes(4).toString('hex')}`;
    try {
      await rename(file, aside);
    } catch {
      return; // someone else moved it first
    }
    const moved = await stat(aside).catch(() => undefined);
    if (moved && moved.ino !== judged) await link(aside, file).catch(() => undefined);
    await rm(aside, { force: true });
  }

  /**
   * The inode of `file` when it is a stale lock: unrefreshed, a dead owner whose pid this process sees
   * (this host, boot and PID namespace: never a pid of another namespace), or not a lock at all.
   */
  private async staleLock(file: string): Promise<number | undefined> {
    let st;
    let text: string;
    try {
      st = await stat(file);
      text = await readFile(file, 'utf8');
    } catch {
      return undefined; // gone meanwhile
    }
    if (Date.now() - st.mtimeMs > this.staleMs) return st.ino;
    let written: { owner?: unknown };
    try {
      written = JSON.parse(text);
    } catch {
      return st.ino; // locks are written whole (link), so an unreadable one was left by a crash
    }
    // A lock without an owner tag (an older nx-triton) is judged by its heartbeat alone.
    const owner = parseOwnerTag(written?.owner);
    return owner && seesPid(owner) && !pidAlive(owner.pid) ? st.ino : undefined;
  }
}

/** Why a plan file is not a plan from TensorRT `expected`, or undefined when it is. */
export async function verifyPlan(plan: string, expected: string): Promise<string | undefined> {
  let head: Buffer;
  try {
    const fh = await open(plan, 'r');
    try {
      head = Buffer.alloc(32);
      const { bytesRead } = await fh.read(head, 0, 32, 0);
      head = head.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch {
    return 'plan file missing';
  }
  const v = readPlanHeader(head);
  if (!v) return 'no TensorRT plan header (ftrt)';
  const [major, minor, patch] = expected.split('.').map(Number);
  if (v.major !== major || v.minor !== minor || v.patch !== patch) {
    return `plan was built by TensorRT ${v.major}.${v.minor}.${v.patch}, expected ${major}.${minor}.${patch}`;
  }
  return undefined;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
