import { readFile, rm, writeFile } from 'node:fs/promises';
import { pidAlive, procStat } from './pid-alive';

/**
 * A child run in its own process group, recorded in a file while it runs, so that a later process
 * can end the group when whoever started it died without doing so (a SIGKILLed builder, issue 13.7).
 * The file holds `<pgid> <start time>`: a pid reused by another process since is never signalled.
 */
export async function recordGroup(file: string, pid: number): Promise<void> {
  await writeFile(file, `${pid} ${procStat(pid)?.startTime ?? '-'}\n`);
}

export async function forgetGroup(file: string): Promise<void> {
  await rm(file, { force: true });
}

/** Ends (SIGKILL) the group recorded in `file` when its leader still runs; true when it did. */
export async function killRecordedGroup(file: string): Promise<boolean> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const m = /^(\d+) (\d+|-)\n$/.exec(text);
  if (!m) return false;
  const pgid = Number(m[1]);
  if (pgid <= 1 || !pidAlive(pgid)) return false;
  const now = procStat(pgid);
  if (now && m[2] !== '-' && now.startTime !== m[2]) return false; // another process got the pid
  try {
    process.kill(-pgid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}
