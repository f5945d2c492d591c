import { execFileSync } from 'node:child_process';

/** Lines of `ps` (pid, then the command line) whose command line mentions `needle`. */
export function processesWith(needle: string): string[] {
  return execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(needle) && !l.includes('ps -eo'));
}

/** Waits until `check` holds, asking every `everyMs`; fails naming `what` after `ms`. */
export async function until(what: string, check: () => Promise<boolean> | boolean, ms: number, everyMs = 200): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
