import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_REPOSITORY } from '../../lib/layout';
import { OBJECTIVES, TUNE_DEFAULTS } from '../../lib/targets/tune';
import { executorContext, printed } from '../../test/executor-context';
import tuneExecutor from './executor';

// What the tune executor takes and refuses before it measures anything (the measuring itself:
// lib/tune/tune.spec.ts; the target in a workspace: e2e/tune.e2e.ts).

const schema = JSON.parse(readFileSync(join(__dirname, 'schema.json'), 'utf8')) as { properties: Record<string, { default?: unknown; enum?: unknown[] }> };

let ws: string;
beforeEach(() => {
  ws = mkdtempSync(join(tmpdir(), 'nx-triton-tune-exec-'));
  mkdirSync(join(ws, 'models', 'sleepy'), { recursive: true });
  writeFileSync(join(ws, 'models', 'sleepy', 'triton.yaml'), 'backend: python\nmax_batch_size: 8\n');
});
afterEach(() => rmSync(ws, { recursive: true, force: true }));

function context(nxJson: Record<string, unknown> = {}) {
  return executorContext(ws, 'sleepy', { projects: { sleepy: 'models/sleepy' }, nxJson, targetName: 'tune' });
}

/** The executor's result with what it printed on stderr. */
async function printedError(fn: () => Promise<{ success: boolean }>): Promise<{ success: boolean; err: string }> {
  const { result, err } = await printed(fn);
  return { ...result, err };
}

function buildEntry(): void {
  mkdirSync(join(ws, DEFAULT_REPOSITORY, 'sleepy', '1'), { recursive: true });
  writeFileSync(join(ws, DEFAULT_REPOSITORY, 'sleepy', 'config.pbtxt'), 'name: "sleepy"\nbackend: "python"\nmax_batch_size: 8\n');
}

describe('schema.json', () => {
  // test/schemas.spec.ts ties its properties to TuneExecutorOptions; here, the defaults it states.
  it('states the defaults lib/targets/tune.ts applies', () => {
    expect(schema.properties.concurrency.default).toEqual(TUNE_DEFAULTS.concurrency);
    expect(schema.properties.latencyBudgetMs.default).toBe(TUNE_DEFAULTS.latencyBudgetMs);
    expect(schema.properties.objective.default).toBe(TUNE_DEFAULTS.objective);
    expect(schema.properties.objective.enum).toEqual(OBJECTIVES);
    expect(schema.properties.maxCandidates.default).toBe(TUNE_DEFAULTS.maxCandidates);
    expect(schema.properties.measurementIntervalMs.default).toBe(TUNE_DEFAULTS.measurementIntervalMs);
    expect(schema.properties.repository.default).toBe(DEFAULT_REPOSITORY);
    expect(schema.properties.dryRun.default).toBe(false);
  });
});

describe('tune executor', () => {
  it('fails with one line naming the option for a bad value', async () => {
    expect(await printedError(() => tuneExecutor({ concurrency: '1,x' }, context()))).toEqual({
      success: false,
      err: 'nx-triton: tune: option concurrency must be a list of positive integers such as 1,8,32 (got "1,x")',
    });
    expect((await printedError(() => tuneExecutor({ objective: 'fast' as never }, context()))).err).toBe(
      'nx-triton: tune: option objective must be throughput or latency (got "fast")',
    );
    expect((await printedError(() => tuneExecutor({ maxCandidates: 0 }, context()))).err).toBe('nx-triton: tune: option maxCandidates must be an integer of at least 1 (got 0)');
  });

  it('names the file, line and key of a broken triton.yaml, and a model that is not built', async () => {
    writeFileSync(join(ws, 'models', 'sleepy', 'triton.yaml'), 'backend: python\nmax_batch_sise: 8\n');
    expect((await printedError(() => tuneExecutor({}, context()))).err).toBe('models/sleepy/triton.yaml:2:1: max_batch_sise: unknown key "max_batch_sise" (did you mean "max_batch_size"?)');
    writeFileSync(join(ws, 'models', 'sleepy', 'triton.yaml'), 'backend: python\nmax_batch_size: 8\n');
    const repository = join(ws, DEFAULT_REPOSITORY);
    expect((await printedError(() => tuneExecutor({}, context()))).err).toBe(
      `nx-triton: tune: model sleepy is not in the repository ${repository} (no ${join(repository, 'sleepy', 'config.pbtxt')}; build it first)`,
    );
  });

  it('takes perf_analyzer from nx.json, then from its own options; NX_TRITON_PERF_ANALYZER overrides both', async () => {
    buildEntry();
    const nxJson = { plugins: [{ plugin: 'nx-triton', options: { perfAnalyzer: 'tools/perf_analyzer' } }] };
    const saved = process.env.NX_TRITON_PERF_ANALYZER;
    delete process.env.NX_TRITON_PERF_ANALYZER;
    try {
      expect((await printedError(() => tuneExecutor({}, context(nxJson)))).err).toBe(`nx-triton: perf_analyzer "${join(ws, 'tools/perf_analyzer')}" (from option) is not an executable file`);
      expect((await printedError(() => tuneExecutor({ perfAnalyzer: '/opt/own/perf_analyzer' }, context(nxJson)))).err).toBe(
        'nx-triton: perf_analyzer "/opt/own/perf_analyzer" (from option) is not an executable file',
      );
      process.env.NX_TRITON_PERF_ANALYZER = '/opt/env/perf_analyzer';
      expect((await printedError(() => tuneExecutor({ perfAnalyzer: '/opt/own/perf_analyzer' }, context(nxJson)))).err).toBe(
        'nx-triton: perf_analyzer "/opt/env/perf_analyzer" (from NX_TRITON_PERF_ANALYZER) is not an executable file',
      );
    } finally {
      if (saved === undefined) delete process.env.NX_TRITON_PERF_ANALYZER;
      else process.env.NX_TRITON_PERF_ANALYZER = saved;
    }
  });

  it('refuses an ensemble at once: it runs no instances of its own', async () => {
    mkdirSync(join(ws, DEFAULT_REPOSITORY, 'sleepy'), { recursive: true });
    writeFileSync(join(ws, DEFAULT_REPOSITORY, 'sleepy', 'config.pbtxt'), 'name: "sleepy"\nplatform: "ensemble"\nensemble_scheduling { step [ { model_name: "a" model_version: -1 } ] }\n');
    expect((await printedError(() => tuneExecutor({}, context()))).err).toBe(
      'nx-triton: tune: sleepy is an ensemble: it runs no instances of its own; tune the models its steps name',
    );
  });
});
