import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePbtxt } from '../../proto/text-format';
import { userErrorMessage } from '../../test/expect-user-error';
import { sleepyModelPy, writeFiles } from '../../test/python-models';
import { venvPython } from '../../test/pythons';
import { TritonClient } from '../triton/client';
import { locatePerfAnalyzer } from '../triton/perf-analyzer';
import { startTritonServer, type RunningTriton } from '../triton/server';
import type { ModelConfig } from '../model-config';
import { candidateConfig, searchSpace } from './candidates';
import { measureConfig, type MeasureContext } from './measure';
import { tuneModel } from './tune';

// Measuring candidates for real: nvidia-pytriton's tritonserver (.venv) and tritonclient 2.50.0's
// perf_analyzer, on a python model whose every call costs 20 ms.

const python = venvPython();
const SLEEPY =
  'name: "sleepy"\nbackend: "python"\nmax_batch_size: 16\n' +
  'input [ { name: "X" data_type: TYPE_FP32 dims: [ 4 ] } ]\noutput [ { name: "Y" data_type: TYPE_FP32 dims: [ 4 ] } ]\n' +
  'instance_group [ { kind: KIND_CPU count: 1 } ]\n';
// Fails every request it gets (the failures are the server's to count).
const FAILING = `import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        return [pb_utils.InferenceResponse(error=pb_utils.TritonError("no good")) for _ in requests]
`;

// Kills the tritonserver that runs it (the stub's parent) at its first request.
const CRASHING = `import os
import signal


class TritonPythonModel:
    def execute(self, requests):
        os.kill(os.getppid(), signal.SIGKILL)
        return []
`;

let repo: string;
beforeAll(() => {
  repo = mkdtempSync(join(tmpdir(), 'nx-triton-tune-'));
  writeFiles(repo, {
    'sleepy/config.pbtxt': SLEEPY,
    'sleepy/1/model.py': sleepyModelPy(),
    'failing/config.pbtxt': SLEEPY.replace('"sleepy"', '"failing"'),
    'failing/1/model.py': FAILING,
    'crashing/config.pbtxt': SLEEPY.replace('"sleepy"', '"crashing"'),
    'crashing/1/model.py': CRASHING,
  });
});
afterAll(() => rmSync(repo, { recursive: true, force: true }));

function built(model: string): ModelConfig {
  return parsePbtxt(readFileSync(join(repo, model, 'config.pbtxt'), 'utf8'), 'config.pbtxt');
}

describe('measureConfig on a running server', () => {
  let server: RunningTriton;
  let ctx: (model: string) => MeasureContext;
  beforeAll(async () => {
    server = await startTritonServer({ repository: repo, models: [], python });
    const client = new TritonClient(server.url, () => server.log());
    const perfAnalyzer = locatePerfAnalyzer({ python });
    ctx = (model) => ({ server, client, perfAnalyzer, model, settings: { concurrencies: [8], measurementIntervalMs: 1000 }, log: () => {} });
  });
  afterAll(() => server?.stop());

  it("loads a candidate through the load API's config override: Triton serves it, config.pbtxt on disk stays as built", async () => {
    // core src/model_repository_manager/model_repository_manager.cc: a "config" load parameter is the
    // whole config (JsonToModelConfig), taken instead of the directory's config.pbtxt.
    const space = searchSpace('sleepy', built('sleepy'), { hasGpu: false, maxConcurrency: 8, latencyBudgetMs: 100 });
    const measured = await measureConfig(ctx('sleepy'), candidateConfig(space, { ...space.baseline, batching: true, count: 2, delayUs: 100 }));
    expect(measured.loadError).toBeUndefined();
    expect(measured.points).toHaveLength(1);
    expect(measured.points[0]).toMatchObject({ concurrency: 8, status: 'ok', failures: 0 });
    expect(measured.points[0].p99Ms).toBeGreaterThanOrEqual(measured.points[0].p50Ms);
    const served = await new TritonClient(server.url).config('sleepy');
    expect(served).toMatchObject({ instance_group: [{ kind: 'KIND_CPU', count: 2 }], dynamic_batching: { max_queue_delay_microseconds: 100 } });
    expect(readFileSync(join(repo, 'sleepy', 'config.pbtxt'), 'utf8')).toBe(SLEEPY);
  });

  it("reports a config Triton refuses with Triton's reason, and measures nothing", async () => {
    // core src/model_config_utils.cc ValidateModelConfig: "dynamic batching preferred size must be <= max batch size".
    const measured = await measureConfig(ctx('sleepy'), { ...built('sleepy'), dynamic_batching: { preferred_batch_size: [32] } });
    expect(measured.points).toEqual([]);
    expect(measured.loadError).toContain('dynamic batching preferred size must be <= max batch size for sleepy');
  });

  it('takes a measurement with failed requests as an error, with their number and Triton\'s reason', async () => {
    const measured = await measureConfig(ctx('failing'), built('failing'));
    expect(measured.points).toHaveLength(1);
    expect(measured.points[0]).toMatchObject({ status: 'error', throughput: 0 });
    expect(measured.points[0].failures).toBeGreaterThan(0);
    expect(measured.points[0].error).toMatch(/^no good \(\d+ failed\)$/);
    // A queue that holds one request refuses the rest (core's queue policy: "Exceeds maximum queue size").
    const full = await measureConfig(ctx('sleepy'), { ...built('sleepy'), dynamic_batching: { default_queue_policy: { max_queue_size: 1 } } });
    expect(full.points[0]).toMatchObject({ status: 'error' });
    expect(full.points[0].error).toContain('Exceeds maximum queue size');
  });
});

describe('tuneModel', () => {
  it('climbs from the built config on a server of its own and stops that server', async () => {
    const lines: string[] = [];
    const run = await tuneModel({
      repository: repo,
      model: 'sleepy',
      concurrency: [8],
      latencyBudgetMs: 500,
      objective: 'throughput',
      maxCandidates: 2,
      measurementIntervalMs: 1000,
      python,
      hasGpu: false,
      log: (line) => lines.push(line),
    });
    expect(run.search.candidates.map((c) => c.change)).toEqual(['the built config', 'dynamic batching on']);
    expect(run.search.stoppedBy).toBe('maxCandidates');
    for (const c of run.search.candidates) expect(c.measured.points).toMatchObject([{ concurrency: 8, status: 'ok', failures: 0 }]);
    // One instance that sleeps 20 ms per call serves 50 calls a second at most.
    expect(run.search.candidates[0].measured.points[0].throughput).toBeLessThanOrEqual(52);
    expect(run.perfAnalyzer.source).toBe('tritonclient');
    expect(lines[0]).toMatch(/^nx-triton tune: sleepy: perf_analyzer .*perf_analyzer \(from tritonclient\); starting tritonserver$/);
    expect(lines.filter((l) => /^nx-triton tune: #\d\/2 /.test(l))).toHaveLength(2);
    const left = execFileSync('ps', ['-eo', 'args='], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(repo));
    expect(left).toEqual([]);
  }, 180_000);

  it("stops with the server's last lines when a candidate kills the server", async () => {
    const run = tuneModel({ repository: repo, model: 'crashing', concurrency: [2], latencyBudgetMs: 50, objective: 'throughput', maxCandidates: 3, measurementIntervalMs: 1000, python, hasGpu: false, log: () => {} });
    expect(await userErrorMessage(run)).toMatch(/^nx-triton: tune: tritonserver exited while measuring 1×CPU, (no batching|batching \(max 16\)); its last lines:\n/);
  }, 120_000);

  it('stops at once when the built config does not load (here: a backend the bundled server lacks)', async () => {
    writeFiles(repo, { 'onnx/config.pbtxt': 'name: "onnx"\nplatform: "onnxruntime_onnx"\nmax_batch_size: 4\n', 'onnx/1/model.onnx': '' });
    const run = tuneModel({ repository: repo, model: 'onnx', concurrency: [1], latencyBudgetMs: 50, objective: 'throughput', maxCandidates: 3, measurementIntervalMs: 1000, python, hasGpu: false, log: () => {} });
    expect(await userErrorMessage(run)).toMatch(/^nx-triton: tune: tritonserver \S+ cannot load onnx as built: .*onnxruntime/);
  }, 120_000);

  it('says so, in one line, when the model is not built', async () => {
    expect(await userErrorMessage(tuneModel({ repository: repo, model: 'nothere', concurrency: [1], latencyBudgetMs: 50, objective: 'throughput', maxCandidates: 1, measurementIntervalMs: 1000, python, log: () => {} }))).toBe(
      `nx-triton: tune: model nothere is not in the repository ${repo} (no ${join(repo, 'nothere', 'config.pbtxt')}; build it first)`,
    );
  });
});
