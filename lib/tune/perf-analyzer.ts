import { UserError } from '../errors';
import type { PerfAnalyzerBinary } from '../triton/perf-analyzer';
import type { ModelConfig } from '../model-config';

/**
 * Running perf_analyzer (triton-inference-server/perf_analyzer) and reading what it measured.
 *
 * A measurement at one concurrency is perf_analyzer's own: it sends requests from `concurrency`
 * synchronous clients in windows of `--measurement-interval` ms until three windows in a row agree
 * within `--stability-percentage` (10 %) on throughput and average latency, at most
 * `--max-trials` (10) windows; then it writes one CSV row (`-f`) for those three windows, latencies
 * in µs. It exits 2 with "Failed to obtain stable measurement" when they never agree. Stabilizing on
 * p99 instead (`--percentile=99`) failed every time here on a python model with 1 s windows: the
 * tail of a window of a few hundred requests moves by more than 10 %; the CSV has p99 either way.
 */

export interface PerfRow {
  concurrency: number;
  throughput: number;
  p50Ms: number;
  p99Ms: number;
}

/** The first row of perf_analyzer's `-f` CSV (`Concurrency,Inferences/Second,…,p50 latency,…,p99 latency,…`). */
export function parsePerfCsv(text: string): PerfRow | undefined {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length < 2) return undefined;
  const head = lines[0].split(',').map((h) => h.trim());
  const row = lines[1].split(',').map((v) => Number(v.trim()));
  const col = (name: string): number => {
    const i = head.indexOf(name);
    return i < 0 ? NaN : row[i];
  };
  const out = { concurrency: col('Concurrency'), throughput: col('Inferences/Second'), p50Ms: col('p50 latency') / 1000, p99Ms: col('p99 latency') / 1000 };
  return Object.values(out).every(Number.isFinite) ? out : undefined;
}

/**
 * `--shape NAME:dims` for each input with a variable dim (-1), taken as 1: perf_analyzer cannot
 * invent a size for it. The batch dim (max_batch_size > 0) is not part of `dims`.
 */
export function shapeArgs(config: ModelConfig): string[] {
  const args: string[] = [];
  for (const input of config.input ?? []) {
    const dims = (input.dims ?? []).map(Number);
    if (input.name && dims.some((d) => d < 0)) args.push('--shape', `${input.name}:${dims.map((d) => (d < 0 ? 1 : d)).join(',')}`);
  }
  return args;
}

export interface PerfRun {
  exitCode: number | undefined;
  output: string;
}

const MISSING_LIBRARY_HINT: Record<string, string> = {
  'libb64.so.0d': "Debian's libb64-0d (apt-get install libb64-0d)",
  'libcudart.so.12': "PyPI's nvidia-cuda-runtime-cu12 for the interpreter (pip install nvidia-cuda-runtime-cu12); a perf_analyzer found elsewhere than in that interpreter's tritonclient needs its nvidia/cuda_runtime/lib on LD_LIBRARY_PATH",
};

/** Runs perf_analyzer; a binary that cannot start at all is a UserError saying what it lacks. */
export async function runPerfAnalyzer(pa: PerfAnalyzerBinary, args: string[], timeoutMs: number): Promise<PerfRun> {
  const { execa } = await import('execa');
  const r = await execa(pa.binary, args, {
    env: { ...process.env, ...pa.env },
    reject: false,
    all: true,
    stdin: 'ignore',
    timeout: timeoutMs,
  });
  const output = typeof r.all === 'string' ? r.all : '';
  const where = `perf_analyzer ${pa.binary} (from ${pa.source})`;
  const missing = /error while loading shared libraries: ([^:\s]+)/.exec(output);
  if (missing) {
    const hint = MISSING_LIBRARY_HINT[missing[1]];
    throw new UserError(`nx-triton: ${where} cannot start: ${missing[1]} is missing${hint ? `; it comes with ${hint}` : ''}`);
  }
  if (r.exitCode === undefined && !r.timedOut && !r.signal) {
    throw new UserError(`nx-triton: ${where} cannot be started (${(r as { code?: string }).code ?? 'unknown error'})`);
  }
  return { exitCode: r.timedOut ? undefined : r.exitCode, output: r.timedOut ? `${output}\n(timed out after ${Math.round(timeoutMs / 1000)} s)` : output };
}

/** perf_analyzer's reason in its output: the line that says what went wrong, else the last one. */
export function perfError(output: string): string {
  const lines = output.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /error|failed|timed out/i.test(l)) ?? lines.at(-1) ?? 'no output';
}

/**
 * The requests perf_analyzer saw fail: each client thread stops at its first failed request and it
 * prints `Thread [<i>] had error: <Triton's reason>`, then exits non-zero. (Triton's own failure
 * counter, nv_inference_request_failure, is no help here: the bundled 2.51 counted neither a
 * python model's error responses nor requests its queue policy rejected.)
 */
export function failedRequests(output: string): { count: number; reason?: string } {
  const reasons = [...output.matchAll(/Thread \[\d+\] had error: (.*)/g)].map((m) => m[1].trim());
  return { count: reasons.length, reason: reasons.length ? `${reasons[0]} (${reasons.length} failed)` : undefined };
}

export function isUnstable(output: string): boolean {
  return /Failed to obtain stable measurement/.test(output);
}
