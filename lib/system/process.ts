import { childEnv } from './child-env';

/** How many lines of a failed process's output an error message quotes. */
const TAIL_LINES = 15;

export interface ProcessResult {
  /** undefined when the process never ran (see `spawnError`) or was killed by a signal. */
  exitCode: number | undefined;
  signal: string | undefined;
  /** The spawn error code (`ENOENT`, `EACCES`) when the process never ran. */
  spawnError: string | undefined;
  stdout: string;
  stderr: string;
  /** The last lines of stdout and stderr, interleaved as they arrived. */
  tail: string[];
}

export interface RunOptions {
  cwd: string;
  /** Gets every output line as it arrives, unless `holdFrom` says to keep it back. */
  onLine?: (line: string) => void;
  /** Lines from the first one this accepts on are kept for the caller, not streamed. */
  holdFrom?: (line: string) => boolean;
}

/** Runs argv (never through a shell), streaming its output line by line. */
export async function runProcess(file: string, args: string[], options: RunOptions): Promise<ProcessResult> {
  const { execa } = await import('execa');
  const tail: string[] = [];
  let holding = false;
  const seen = (line: string) => {
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    if (!holding && options.holdFrom?.(line)) holding = true;
    if (!holding) options.onLine?.(line);
  };
  const result = await execa(file, args, {
    cwd: options.cwd,
    reject: false,
    stdin: 'ignore',
    // Python run in the project must not add __pycache__ to it: that would change the export's cache inputs.
    // The user's code never sees the builder token (childEnv).
    env: childEnv({ PYTHONDONTWRITEBYTECODE: '1' }),
    extendEnv: false,
    stripFinalNewline: true,
    stdout: [function* (line: unknown) { seen(String(line)); yield line; }],
    stderr: [function* (line: unknown) { seen(String(line)); yield line; }],
  });
  const code = (result as { code?: string }).code;
  return {
    exitCode: result.exitCode,
    signal: result.signal,
    spawnError: result.exitCode === undefined && !result.signal ? (code ?? 'unknown error') : undefined,
    stdout: String(result.stdout ?? ''),
    stderr: String(result.stderr ?? ''),
    tail,
  };
}

/** `exited with code 2` / `was killed by SIGKILL`, for messages. */
export function describeExit(result: ProcessResult): string {
  if (result.exitCode !== undefined) return `exited with code ${result.exitCode}`;
  if (result.signal) return `was killed by ${result.signal}`;
  return 'could not be started';
}
