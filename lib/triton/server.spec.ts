import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BOOT_ID, HOST_ID, OWNER_STALE_MS, ownerTag, PIDNS_ID } from '../system/owner';
import { sweepRunDirs } from './server';

// Issue 22 N13: a server's run directory (its working directory and, for nvidia-pytriton, its backend
// directory) outlives an owner killed with its watchdog; the next start removes it. The watchdog's
// own removal, after a SIGKILLed caller: server.int.spec.ts.

let parent: string;
beforeEach(() => {
  parent = mkdtempSync(join(tmpdir(), 'nx-triton-sweep-'));
});
afterEach(() => rmSync(parent, { recursive: true, force: true }));

/** A pid no process has: past the kernel's pid_max (4194304 at most). */
const DEAD_PID = 4_194_305;

function runDir(tag: string): string {
  const dir = join(parent, `nx-triton-serve-${tag}-0123abcd`);
  mkdirSync(join(dir, 'backends', 'python'), { recursive: true });
  writeFileSync(join(dir, 'backends', 'python', 'libtriton_python.so'), '');
  return dir;
}

describe('sweepRunDirs', () => {
  it('removes a run directory whose owner is certainly gone: a dead pid it can see, else a heartbeat older than OWNER_STALE_MS', () => {
    const otherBootTag = (pid: number) => `${HOST_ID}.${BOOT_ID === '00000000' ? '11111111' : '00000000'}.${PIDNS_ID}.${pid}`;
    const otherHostTag = (pid: number) => `${HOST_ID === '00000000' ? '11111111' : '00000000'}.${BOOT_ID}.${PIDNS_ID}.${pid}`;
    const dead = runDir(ownerTag(DEAD_PID));
    const live = runDir(ownerTag(process.pid));
    // Owners this process cannot judge by pid: the watchdog's heartbeat (the directory's mtime) decides.
    const otherBootBeating = runDir(otherBootTag(process.pid));
    const otherHostBeating = runDir(otherHostTag(DEAD_PID));
    const otherBootSilent = runDir(otherBootTag(process.pid + 1));
    const otherHostSilent = runDir(otherHostTag(DEAD_PID - 1));
    const stale = new Date(Date.now() - OWNER_STALE_MS - 60_000);
    for (const d of [otherBootSilent, otherHostSilent]) utimesSync(d, stale, stale);
    mkdirSync(join(parent, 'nx-triton-serve-not-ours'));
    mkdirSync(join(parent, `nx-triton-backends-${ownerTag(DEAD_PID)}`));
    const name = (d: string) => d.slice(parent.length + 1);
    expect(sweepRunDirs(parent).sort()).toEqual([dead, otherBootSilent, otherHostSilent].map(name).sort());
    expect(readdirSync(parent).sort()).toEqual(
      [live, otherBootBeating, otherHostBeating].map(name).concat(['nx-triton-serve-not-ours', `nx-triton-backends-${ownerTag(DEAD_PID)}`]).sort(),
    );
  });
});
