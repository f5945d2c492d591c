import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { pidAlive } from './pid-alive';

/**
 * Who owns a temp dir in a store that several machines or containers may share: host, boot and pid.
 * Two containers are both PID 1 but have different host names; a reboot ends every process of a host.
 */
const short = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 8);

export const HOST_ID = short(hostname());

/** Linux's per-boot id (/proc/sys/kernel/random/boot_id); elsewhere a constant, so only pids decide. */
export const BOOT_ID = short(readBootId());

function readBootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'no-boot-id';
  }
}

/** `<host>.<boot>.<pid>`: the part of a temp name that says who owns it. */
export function ownerTag(pid = process.pid): string {
  return `${HOST_ID}.${BOOT_ID}.${pid}`;
}

/** Matches `<host>.<boot>.<pid>` at the start of `text` (after any label the caller strips). */
export const OWNER_PATTERN = '([0-9a-f]{8})\\.([0-9a-f]{8})\\.(\\d+)';

/**
 * Whether the owner is certainly gone: this host and another boot, or this boot and a dead pid.
 * Another host's owner is never judged from here.
 */
export function ownerGone(host: string, boot: string, pid: number): boolean {
  if (host !== HOST_ID) return false;
  return boot !== BOOT_ID || !pidAlive(pid);
}
