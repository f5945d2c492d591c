// Shared helpers of the benchmarks: paths, timing of child processes, medians, formatting.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const benchDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const repoRoot = resolve(benchDir, '..');
export const workDir = process.env.BENCH_WORK ? resolve(process.env.BENCH_WORK) : join(benchDir, '.work');
export const SYSTEM_PYTHON = '/usr/bin/python3';

/** The built package (dist/), as CommonJS. */
export const requireDist = createRequire(join(repoRoot, 'dist', 'index.js'));

export const MiB = 2 ** 20;
export const GiB = 2 ** 30;

/** Runs per benchmark: BENCH_RUNS (default 5); slow ones take fewer (`cap`). */
export function runs(cap = Infinity) {
  const n = Number(process.env.BENCH_RUNS ?? 5);
  if (!Number.isInteger(n) || n < 1) throw new Error(`BENCH_RUNS must be a positive integer, got ${process.env.BENCH_RUNS}`);
  return Math.max(1, Math.min(n, cap));
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function log(line) {
  process.stderr.write(`[bench] ${line}\n`);
}

export function ensureDir(dir) {
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function remove(path) {
  rmSync(path, { recursive: true, force: true });
}

/**
 * Runs argv to completion and returns its wall time in ms (spawn to exit). With `rss`, runs it under
 * /usr/bin/time and also returns the process's peak RSS in bytes. Throws on a non-zero exit.
 */
export function timed(argv, opts = {}) {
  ensureDir(workDir);
  const rssFile = opts.rss ? join(workDir, `.rss-${process.pid}`) : undefined;
  const full = rssFile ? ['/usr/bin/time', '-f', '%M', '-o', rssFile, ...argv] : argv;
  // stdout goes to a file: some tools (nx) exit before a pipe is drained and lose output.
  const outFile = join(workDir, `.stdout-${process.pid}`);
  const outFd = openSync(outFile, 'w');
  let r;
  let ms;
  try {
    const started = performance.now();
    r = spawnSync(full[0], full.slice(1), {
      cwd: opts.cwd ?? repoRoot,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', outFd, 'pipe'],
      encoding: 'utf8',
      maxBuffer: 256 * MiB,
      timeout: opts.timeoutMs ?? 600_000,
    });
    ms = performance.now() - started;
  } finally {
    closeSync(outFd);
  }
  const stdout = readFileSync(outFile, 'utf8');
  rmSync(outFile, { force: true });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    const out = `${stdout}${r.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
    throw new Error(`${argv.join(' ')} exited with ${r.status ?? r.signal}:\n${out}`);
  }
  let rssBytes;
  if (rssFile) {
    rssBytes = Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop()) * 1024;
    rmSync(rssFile, { force: true });
  }
  return { ms, rssBytes, stdout, stderr: r.stderr };
}

/** Runs argv, throwing with its output on failure; for setup steps (not timed). */
export function run(argv, opts = {}) {
  return timed(argv, opts);
}

/** Writes dirty pages out so one run's writes do not slow the next one down (untimed). */
export function sync() {
  spawnSync('sync');
}

export function fmtMs(ms) {
  if (ms === undefined || Number.isNaN(ms)) return '-';
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 2 : 0)} ms`;
}

export function fmtMiB(bytes) {
  return `${(bytes / MiB).toFixed(0)} MiB`;
}

/** Reads files once (untimed) so every timed run finds them in the page cache. */
export function warmPageCache(...paths) {
  const r = spawnSync('cat', paths, { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`cat ${paths.join(' ')} failed`);
}
