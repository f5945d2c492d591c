import { readFileSync } from 'node:fs';

/**
 * Whether a process with this pid exists on this host (EPERM: it exists, owned by someone else).
 * A zombie counts as gone: it has exited, and in a container whose PID 1 never reaps, it stays.
 */
export function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return procStat(pid)?.state !== 'Z';
}

/** State and start time (clock ticks after boot) from `/proc/<pid>/stat`; undefined without /proc or the process. */
export function procStat(pid: number): { state: string; startTime: string } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // `pid (comm) state ...`: comm may hold spaces and parentheses, so split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0], startTime: fields[19] };
}
