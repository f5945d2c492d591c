import { createHash } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { pidAlive } from './pid-alive';

/**
 * Who owns a temp dir, an upload dir or a lock in a store that several machines, containers and
 * processes may share: host, boot, PID namespace and pid. Judging an owner gone by its pid is right
 * only where that pid means the same process: this host, this boot and this PID namespace. Two
 * containers with one host name (`--network host`, k8s hostNetwork) share a host and a boot but not
 * their pids: a process there took over a live lock in 0.1 s and deleted a build in progress
 * (issue 22, N5/F2). Every other owner is judged by its heartbeat: the mtime its process refreshes.
 */
const short = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 8);

export const HOST_ID = short(hostname());

/** Linux's per-boot id (/proc/sys/kernel/random/boot_id); elsewhere a constant. */
export const BOOT_ID = short(readOr(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(), 'no-boot-id'));

/** This process's PID namespace (`pid:[4026531836]`: unique per namespace on one running kernel); elsewhere a constant. */
export const PIDNS_ID = short(readOr(() => readlinkSync('/proc/self/ns/pid'), 'no-pid-namespace'));

function readOr(read: () => string, fallback: string): string {
  try {
    return read();
  } catch {
    return fallback;
  }
}

/** How often an owner refreshes the mtime of what it owns (keepBeating). */
export const HEARTBEAT_MS = 30_000;
/**
 * An owner whose pid cannot be judged from here is gone when its heartbeat is older than this: a
 * few missed beats, and far below how long a leftover may sit (it only takes disk space).
 */
export const OWNER_STALE_MS = 10 * 60_000;

export interface Owner {
  host: string;
  boot: string;
  /** undefined for a name written before the namespace was part of it (judged by heartbeat). */
  pidns?: string;
  pid: number;
}

/** `<host>.<boot>.<pidns>.<pid>`: the part of a temp name that says who owns it. */
export function ownerTag(pid = process.pid): string {
  return `${HOST_ID}.${BOOT_ID}.${PIDNS_ID}.${pid}`;
}

/** Matches an owner tag (and the older `<host>.<boot>.<pid>`) with 4 groups: host, boot, pidns (optional), pid. */
export const OWNER_PATTERN = '([0-9a-f]{8})\\.([0-9a-f]{8})\\.(?:([0-9a-f]{8})\\.)?(\\d+)';

/** The owner of an OWNER_PATTERN match whose first group is at `at`. */
export function ownerOfMatch(m: RegExpExecArray, at = 1): Owner {
  return { host: m[at], boot: m[at + 1], pidns: m[at + 2], pid: Number(m[at + 3]) };
}

/** The owner of a full tag (`ownerTag()`), or undefined when `tag` is not one. */
export function parseOwnerTag(tag: unknown): Owner | undefined {
  if (typeof tag !== 'string') return undefined;
  const m = new RegExp(`^${OWNER_PATTERN}$`).exec(tag);
  return m ? ownerOfMatch(m) : undefined;
}

/** Whether this process can judge `owner` by its pid: the same host, boot and PID namespace. */
export function seesPid(owner: Owner): boolean {
  return owner.host === HOST_ID && owner.boot === BOOT_ID && owner.pidns === PIDNS_ID;
}

/**
 * Whether the owner is certainly gone: a dead pid where this process sees its pids, else a
 * heartbeat (`lastBeatMs`, the mtime its owner refreshes) older than `staleMs`.
 */
export function ownerGone(owner: Owner, lastBeatMs: number, staleMs = OWNER_STALE_MS): boolean {
  if (seesPid(owner)) return !pidAlive(owner.pid);
  return Date.now() - lastBeatMs > staleMs;
}

/** Refreshes the mtime of `path` every `everyMs` until the returned function is called. */
export function keepBeating(path: string, everyMs = HEARTBEAT_MS): () => void {
  const timer = setInterval(() => {
    const now = new Date();
    utimes(path, now, now).catch(() => undefined);
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
