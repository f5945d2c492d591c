import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TritonClient } from '../triton/client';
import type { PerfAnalyzerBinary } from '../triton/perf-analyzer';
import type { RunningTriton } from '../triton/server';
import type { ModelConfig } from '../model-config';
import { failedRequests, isUnstable, parsePerfCsv, perfError, runPerfAnalyzer, shapeArgs } from './perf-analyzer';
import type { Measured, Point } from './score';

/**
 * Measures one candidate config on a running server: unload the model, load it with the config as
 * the load API's override (no file changes, no rebuild), warm it up, then one perf_analyzer
 * measurement per requested concurrency.
 */

export interface MeasureSettings {
  concurrencies: number[];
  /** perf_analyzer's `--measurement-interval` (ms); an unstable measurement is retried once with twice this. */
  measurementIntervalMs: number;
}

export interface MeasureContext {
  server: RunningTriton;
  client: TritonClient;
  perfAnalyzer: PerfAnalyzerBinary;
  model: string;
  settings: MeasureSettings;
  log: (line: string) => void;
}

/** One perf_analyzer run may take 10 windows, twice; anything far beyond is a hang. */
const PERF_TIMEOUT_MS = 600_000;
const UNLOAD_TIMEOUT_MS = 120_000;

async function unloadAndWait(ctx: MeasureContext): Promise<void> {
  await ctx.client.unload(ctx.model);
  const deadline = Date.now() + UNLOAD_TIMEOUT_MS;
  for (;;) {
    const entry = (await ctx.client.index()).find((m) => m.name === ctx.model);
    if (!entry || (entry.state !== 'READY' && entry.state !== 'UNLOADING')) return;
    if (Date.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

function instances(config: ModelConfig): number {
  const groups = config.instance_group ?? [];
  return Math.max(1, groups.reduce((n, g) => n + Math.max(1, g.count ?? 1), 0));
}

function baseArgs(ctx: MeasureContext, config: ModelConfig): string[] {
  return ['-m', ctx.model, '-u', `127.0.0.1:${ctx.server.httpPort}`, '-i', 'http', '--input-data', 'zero', ...shapeArgs(config)];
}

async function measurePoint(ctx: MeasureContext, config: ModelConfig, concurrency: number, dir: string): Promise<Point> {
  const csv = join(dir, `c${concurrency}.csv`);
  let interval = ctx.settings.measurementIntervalMs;
  let run = await runPerfAnalyzer(
    ctx.perfAnalyzer,
    [...baseArgs(ctx, config), '--concurrency-range', String(concurrency), '--measurement-interval', String(interval), '-f', csv],
    PERF_TIMEOUT_MS,
  );
  if (run.exitCode !== 0 && isUnstable(run.output)) {
    interval *= 2;
    ctx.log(`  c=${concurrency}: not stable within perf_analyzer's trials; once more with ${interval} ms windows`);
    run = await runPerfAnalyzer(
      ctx.perfAnalyzer,
      [...baseArgs(ctx, config), '--concurrency-range', String(concurrency), '--measurement-interval', String(interval), '-f', csv],
      PERF_TIMEOUT_MS,
    );
  }
  const failed = failedRequests(run.output);
  const empty = { concurrency, throughput: 0, p50Ms: 0, p99Ms: 0, failures: failed.count };
  if (run.exitCode !== 0 || failed.count > 0) {
    if (failed.count === 0 && isUnstable(run.output)) return { ...empty, status: 'unstable', error: 'no stable measurement' };
    return { ...empty, status: 'error', error: failed.reason ?? perfError(run.output) };
  }
  let row;
  try {
    row = parsePerfCsv(readFileSync(csv, 'utf8'));
  } catch {
    row = undefined;
  }
  if (!row) return { ...empty, status: 'error', error: 'perf_analyzer wrote no result' };
  return { concurrency, status: 'ok', throughput: row.throughput, p50Ms: row.p50Ms, p99Ms: row.p99Ms, failures: 0 };
}

export async function measureConfig(ctx: MeasureContext, config: ModelConfig): Promise<Measured> {
  await unloadAndWait(ctx);
  const loaded = await ctx.client.load(ctx.model, { config });
  if (!loaded.ok) return { loadError: loaded.error ?? 'load failed', points: [] };
  const dir = mkdtempSync(join(tmpdir(), 'nx-triton-tune-'));
  try {
    // Warm-up: every instance runs a few requests before anything is measured.
    const concurrency = Math.min(Math.max(...ctx.settings.concurrencies), 2 * instances(config));
    await runPerfAnalyzer(ctx.perfAnalyzer, [...baseArgs(ctx, config), '--concurrency-range', String(concurrency), '--request-count', String(4 * concurrency)], PERF_TIMEOUT_MS);
    const points: Point[] = [];
    for (const c of ctx.settings.concurrencies) points.push(await measurePoint(ctx, config, c, dir));
    return { points };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
