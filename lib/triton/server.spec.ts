import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BOOT_ID, HOST_ID, ownerTag } from '../system/owner';
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
  it('removes the run directories of dead owners on this host and boot, and only those', () => {
    const dead = runDir(ownerTag(DEAD_PID));
    const live = runDir(ownerTag(process.pid));
    const otherBoot = runDir(`${HOST_ID}.${BOOT_ID === '00000000' ? '11111111' : '00000000'}.${process.pid}`);
    const otherHost = runDir(`${HOST_ID === '00000000' ? '11111111' : '00000000'}.${BOOT_ID}.${DEAD_PID}`);
    mkdirSync(join(parent, 'nx-triton-serve-not-ours'));
    mkdirSync(join(parent, `nx-triton-backends-${ownerTag(DEAD_PID)}`));
    expect(sweepRunDirs(parent).sort()).toEqual([dead, otherBoot].map((d) => d.slice(parent.length + 1)).sort());
    expect([existsSync(live), existsSync(otherHost)]).toEqual([true, true]);
    expect(readdirSync(parent).sort()).toEqual(
      [live, otherHost].map((d) => d.slice(parent.length + 1)).concat(['nx-triton-serve-not-ours', `nx-triton-backends-${ownerTag(DEAD_PID)}`]).sort(),
    );
  });
});
