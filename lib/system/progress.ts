/**
 * Progress of long steps (a torch export, a TensorRT engine build): a line when the step starts, a
 * line with the elapsed time every `intervalMs` while it runs, and one when it ends. Any step that
 * may take minutes calls `withProgress` (or `startProgress` where a callback does not fit).
 */

/** Seconds between "still running" lines; env NX_TRITON_PROGRESS_SECONDS overrides (0 turns them off). */
export const DEFAULT_PROGRESS_SECONDS = 30;

/** `850ms`, `12.3s`, `2m 05s`, `1h 02m`. */
export function formatElapsed(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const whole = Math.floor(seconds);
  if (whole < 3600) return `${Math.floor(whole / 60)}m ${String(whole % 60).padStart(2, '0')}s`;
  return `${Math.floor(whole / 3600)}h ${String(Math.floor((whole % 3600) / 60)).padStart(2, '0')}m`;
}

/** Milliseconds between progress lines: env NX_TRITON_PROGRESS_SECONDS, else `fallbackSeconds` (0: none). */
export function progressIntervalMs(env: NodeJS.ProcessEnv = process.env, fallbackSeconds = DEFAULT_PROGRESS_SECONDS): number {
  const raw = env.NX_TRITON_PROGRESS_SECONDS;
  const seconds = raw === undefined || raw.trim() === '' ? fallbackSeconds : Number(raw);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : fallbackSeconds * 1000;
}

function intervalFromEnv(env: NodeJS.ProcessEnv): number {
  return progressIntervalMs(env);
}

export interface ProgressOptions {
  /** Where the lines go (an executor's logger.info). */
  log: (line: string) => void;
  /** Milliseconds between "still running" lines; default from NX_TRITON_PROGRESS_SECONDS, else 30 s. */
  intervalMs?: number;
  now?: () => number;
}

export interface Progress {
  /** Ends the step: `<label>: done in 12.3s` (or `failed after ...`); returns the elapsed ms. */
  end(ok?: boolean): number;
}

export function startProgress(label: string, options: ProgressOptions): Progress {
  const now = options.now ?? Date.now;
  const started = now();
  const interval = options.intervalMs ?? intervalFromEnv(process.env);
  options.log(`${label}...`);
  const timer = interval > 0 ? setInterval(() => options.log(`${label}: still running, ${formatElapsed(now() - started)} elapsed`), interval) : undefined;
  timer?.unref();
  let ended = false;
  return {
    end(ok = true) {
      const elapsed = now() - started;
      if (timer) clearInterval(timer);
      if (!ended) options.log(`${label}: ${ok ? 'done in' : 'failed after'} ${formatElapsed(elapsed)}`);
      ended = true;
      return elapsed;
    },
  };
}

/** Runs `step` between a start line and an end line with its elapsed time, printing progress meanwhile. */
export async function withProgress<T>(label: string, options: ProgressOptions, step: () => Promise<T>): Promise<T> {
  const progress = startProgress(label, options);
  try {
    const result = await step();
    progress.end(true);
    return result;
  } catch (err) {
    progress.end(false);
    throw err;
  }
}
