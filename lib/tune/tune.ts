import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePbtxt } from '../../proto/text-format';
import { readFingerprint } from '../engine/fingerprint';
import { UserError } from '../errors';
import { TritonClient } from '../triton/client';
import { locatePerfAnalyzer, type PerfAnalyzerBinary } from '../triton/perf-analyzer';
import { startTritonServer, type RunningTriton } from '../triton/server';
import type { ModelConfig } from '../model-config';
import { candidateConfig, describeKnobs, searchSpace, type Knobs, type SearchSpace } from './candidates';
import { measureConfig, type MeasureSettings } from './measure';
import type { Measured, Objective, Point } from './score';
import { hillClimb, type Candidate, type SearchResult } from './search';

export interface TuneOptions {
  /** The built repository (absolute). */
  repository: string;
  model: string;
  concurrency: number[];
  latencyBudgetMs: number;
  objective: Objective;
  maxCandidates: number;
  measurementIntervalMs: number;
  /** Where tritonserver, perf_analyzer and the interpreter come from (lib/triton/locate.ts, perf-analyzer.ts). */
  tritonserver?: string;
  perfAnalyzer?: string;
  python?: string;
  /** Workspace root: relative binaries are taken from here. */
  cwd?: string;
  /** Whether Triton has a GPU here; default: what nvidia-smi says. */
  hasGpu?: boolean;
  log: (line: string) => void;
}

export interface TuneRun {
  model: string;
  options: Pick<TuneOptions, 'concurrency' | 'latencyBudgetMs' | 'objective' | 'maxCandidates' | 'measurementIntervalMs'>;
  space: SearchSpace;
  search: SearchResult;
  server: { binary: string; source: string };
  perfAnalyzer: { binary: string; source: string; version?: string };
  startedAt: Date;
  seconds: number;
}

/** The built config of `model` in the repository. */
export function readBuiltConfig(repository: string, model: string): ModelConfig {
  const file = join(repository, model, 'config.pbtxt');
  if (!existsSync(file)) throw new UserError(`nx-triton: tune: model ${model} is not in the repository ${repository} (no ${file}; build it first)`);
  return parsePbtxt(readFileSync(file, 'utf8'), file);
}

function fmtPoint(p: Point): string {
  if (p.status !== 'ok') return `c=${p.concurrency} ${p.status}${p.error ? ` (${p.error})` : ''}`;
  return `c=${p.concurrency} ${p.throughput.toFixed(1)} infer/s p99 ${p.p99Ms.toFixed(1)} ms${p.failures ? ` ${p.failures} failed` : ''}`;
}

function progressLine(c: Candidate, taken: boolean, total: number): string {
  const head = `nx-triton tune: #${c.id}/${total} ${describeKnobs(c.knobs)}${c.from ? ` (${c.change})` : ''}`;
  if (c.measured.loadError) return `${head}: not loaded: ${c.measured.loadError.split('\n')[0]}`;
  const verdict = c.id === 1 ? '' : taken ? ' -> taken' : '';
  return `${head}: ${c.measured.points.map(fmtPoint).join('; ')}${verdict}`;
}

/**
 * Serves the built model on a tritonserver of its own (loopback, free ports, explicit model
 * control), climbs from its built config (search.ts) measuring each candidate with perf_analyzer,
 * and stops the server, also when something fails. Writes nothing.
 */
export async function tuneModel(options: TuneOptions): Promise<TuneRun> {
  const startedAt = new Date();
  const config = readBuiltConfig(options.repository, options.model);
  const hasGpu = options.hasGpu ?? (await readFingerprint()).gpu !== 'no-gpu';
  const space = searchSpace(options.model, config, {
    hasGpu,
    maxConcurrency: Math.max(...options.concurrency),
    latencyBudgetMs: options.latencyBudgetMs,
  });
  // Found before the server starts: a missing perf_analyzer fails at once.
  const perfAnalyzer: PerfAnalyzerBinary = locatePerfAnalyzer({ perfAnalyzer: options.perfAnalyzer, python: options.python, cwd: options.cwd });
  options.log(`nx-triton tune: ${options.model}: perf_analyzer ${perfAnalyzer.binary} (from ${perfAnalyzer.source}); starting tritonserver`);
  for (const note of space.notes) options.log(`nx-triton tune: note: ${note}`);
  let server: RunningTriton | undefined;
  try {
    server = await startTritonServer({
      repository: options.repository,
      models: [],
      tritonserver: options.tritonserver,
      python: options.python,
      cwd: options.cwd,
    });
    const running = server;
    const client = new TritonClient(server.url, () => running.log());
    const settings: MeasureSettings = { concurrencies: options.concurrency, measurementIntervalMs: options.measurementIntervalMs };
    const ctx = { server, client, perfAnalyzer, model: options.model, settings, log: options.log };
    let gone = false;
    void server.exited.then(() => (gone = true));
    const measure = async (knobs: Knobs): Promise<Measured> => {
      let measured: Measured | undefined;
      let error: unknown;
      try {
        measured = await measureConfig(ctx, candidateConfig(space, knobs));
      } catch (err) {
        error = err;
        await Promise.race([running.exited, new Promise((r) => setTimeout(r, 2000))]);
      }
      // A server that died under a candidate (a model that crashes it) is the user's to see, with its last lines.
      if (gone) throw new UserError(`nx-triton: tune: tritonserver exited while measuring ${describeKnobs(knobs)}; its last lines:\n${running.log().split('\n').slice(-15).join('\n')}`);
      if (error !== undefined) throw error;
      // Without the built config loaded there is nothing to climb from (a backend this server lacks, a broken model.py).
      if (measured!.loadError && knobs === space.baseline) {
        throw new UserError(`nx-triton: tune: tritonserver ${running.binary.binary} cannot load ${options.model} as built: ${measured!.loadError}`);
      }
      return measured!;
    };
    const search = await hillClimb(space, measure, {
      objective: options.objective,
      latencyBudgetMs: options.latencyBudgetMs,
      maxCandidates: options.maxCandidates,
      onCandidate: (c, taken) => options.log(progressLine(c, taken, options.maxCandidates)),
    });
    return {
      model: options.model,
      options: {
        concurrency: options.concurrency,
        latencyBudgetMs: options.latencyBudgetMs,
        objective: options.objective,
        maxCandidates: options.maxCandidates,
        measurementIntervalMs: options.measurementIntervalMs,
      },
      space,
      search,
      server: { binary: server.binary.binary, source: server.binary.source },
      perfAnalyzer: { binary: perfAnalyzer.binary, source: perfAnalyzer.source, version: perfAnalyzer.version },
      startedAt,
      seconds: (Date.now() - startedAt.getTime()) / 1000,
    };
  } finally {
    await server?.stop();
  }
}
