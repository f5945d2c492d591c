import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTritonServer } from '../lib/triton/server';
import { SLEEPY_TRITON_YAML, sleepyModelPy } from '../test/python-models';
import { venvPython } from '../test/pythons';
import { createWorkspace, type Workspace } from './workspace';

// `nx run <model>:tune` in a fresh workspace with the packed tarball: the real tritonserver of
// nvidia-pytriton and the real perf_analyzer of tritonclient 2.50 (.venv), on a python model whose
// every execute() call costs 20 ms whatever its batch, with the config a user starts from (one CPU
// instance, no dynamic batching). The tuned config is then measured by this test's own client.

const BUDGET_MS = 150;
const YAML = readFileSync(SLEEPY_TRITON_YAML, 'utf8');

interface Load {
  throughput: number;
  p99Ms: number;
  requests: number;
}

/**
 * Our own load: `concurrency` clients, each sending its next request when the last one is answered
 * (KServe v2 JSON over keep-alive HTTP), for `seconds` after a second of warm-up. Every answer is
 * checked (Y = 2 X).
 */
async function measure(url: string, model: string, concurrency: number, seconds: number): Promise<Load> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const body = JSON.stringify({ inputs: [{ name: 'X', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] });
  const once = () =>
    new Promise<void>((ok, fail) => {
      const req = request(`${url}/v2/models/${model}/infer`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => {
          const y = res.statusCode === 200 ? (JSON.parse(text) as { outputs: Array<{ data: number[] }> }).outputs[0].data : undefined;
          if (JSON.stringify(y) === '[2,4,6,8]') ok();
          else fail(new Error(`infer ${model}: ${res.statusCode} ${text}`));
        });
      });
      req.on('error', fail);
      req.end(body);
    });
  const start = performance.now() + 1000;
  const end = start + seconds * 1000;
  const latencies: number[] = [];
  const client = async () => {
    for (;;) {
      const t = performance.now();
      if (t >= end) return;
      await once();
      if (t >= start) latencies.push(performance.now() - t);
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, client));
  } finally {
    agent.destroy();
  }
  latencies.sort((a, b) => a - b);
  return { throughput: latencies.length / seconds, p99Ms: latencies[Math.ceil(0.99 * latencies.length) - 1], requests: latencies.length };
}

async function served(repository: string): Promise<Load> {
  const server = await startTritonServer({ repository, models: ['sleepy'], python: venvPython() });
  try {
    return await measure(server.url, 'sleepy', 16, 6);
  } finally {
    await server.stop();
  }
}

describe('nx run <model>:tune in a fresh workspace', () => {
  let ws: Workspace;
  let spec: string;
  const env = { NX_TRITON_PYTHON: venvPython(), PATH: `${dirname(process.execPath)}:/usr/bin:/bin` };

  beforeAll(() => {
    ws = createWorkspace();
    spec = join(ws.root, 'models/sleepy/triton.yaml');
    mkdirSync(join(ws.root, 'models/sleepy'), { recursive: true });
    writeFileSync(spec, YAML);
    writeFileSync(join(ws.root, 'models/sleepy/model.py'), sleepyModelPy());
  });
  afterAll(() => ws?.remove());

  it('shows the tune target: not cached, alone, after the build, with the report as its output', () => {
    const r = ws.nx(['show', 'project', 'sleepy', '--json']);
    expect(r.code, r.out).toBe(0);
    expect(JSON.parse(r.out.slice(r.out.indexOf('{'))).targets.tune).toMatchObject({
      executor: 'nx-triton:tune',
      cache: false,
      parallelism: false,
      dependsOn: ['build'],
      outputs: ['{workspaceRoot}/dist/models/sleepy/tune'],
    });
  });

  it('--dryRun measures and reports, and leaves triton.yaml byte for byte as it was', () => {
    const r = ws.nx(['run', 'sleepy:tune', '--dryRun', '--concurrency=4,16', `--latencyBudgetMs=${BUDGET_MS}`, '--maxCandidates=2'], env);
    expect(r.code, r.out).toBe(0);
    expect(readFileSync(spec, 'utf8')).toBe(YAML);
    expect(r.out).toContain('--dryRun: models/sleepy/triton.yaml is left as it is; it would get: dynamic_batching: {}.');
    expect(r.out).toMatch(/^2 +1×CPU, batching \(max 16\) +dynamic batching on \(#1\) +\S+\/s p99 \S+ ms +\S+\/s p99 \S+ ms +WINNER$/m);
    const report = readFileSync(join(ws.root, 'dist/models/sleepy/tune/report.md'), 'utf8');
    expect(report).toContain('concurrency 4, 16');
    expect(readFileSync(join(ws.root, 'dist/models/sleepy/tune/report.svg'), 'utf8')).toContain('winner #2');
  }, 400_000);

  it('fails when no candidate keeps p99 within the budget, saying what the best reached, and writes nothing to triton.yaml', () => {
    // Every call sleeps 20 ms: no p99 can be under 5 ms.
    const r = ws.nx(['run', 'sleepy:tune', '--concurrency=1', '--latencyBudgetMs=5', '--maxCandidates=2'], env);
    expect(r.code, r.out).toBe(1);
    expect(r.out).toMatch(
      /nx-triton: tune sleepy: no candidate kept p99 within 5 ms at concurrency 1; nothing was written to triton\.yaml\. The best found: #\d 1×CPU, \S.*: p99 [\d.]+ ms at concurrency 1 \([\d.,]+ infer\/s\)\. Report: dist\/models\/sleepy\/tune\/report\.md/,
    );
    expect(readFileSync(spec, 'utf8')).toBe(YAML);
    expect(JSON.parse(readFileSync(join(ws.root, 'dist/models/sleepy/tune/report.json'), 'utf8'))).toMatchObject({ outcome: 'over-budget', winner: null });
  }, 400_000);

  it('writes a config that our own client measures at >= 4x the built throughput at concurrency 16, p99 within the budget; the comments stay', async () => {
    const built = ws.nx(['run', 'sleepy:build'], env);
    expect(built.code, built.out).toBe(0);
    const before = mkdtempSync(join(tmpdir(), 'nx-triton-tune-before-'));
    try {
      cpSync(join(ws.root, 'dist/model-repository/sleepy'), join(before, 'sleepy'), { recursive: true });
      const r = ws.nx(['run', 'sleepy:tune', '--concurrency=16', `--latencyBudgetMs=${BUDGET_MS}`], env);
      expect(r.code, r.out).toBe(0);
      expect(r.out).toMatch(/nx-triton tune: Winner #\d+: .*Written to models\/sleepy\/triton\.yaml: /);
      const text = readFileSync(spec, 'utf8');
      expect(text).not.toBe(YAML);
      for (const line of YAML.split('\n').filter((l) => l.includes('#'))) {
        // Every comment is still there, at its column.
        const comment = line.slice(line.indexOf('#'));
        expect(text.split('\n').some((l) => l.endsWith(comment) && l.indexOf('#') === line.indexOf('#')), comment).toBe(true);
      }
      expect(text).toContain('dynamic_batching:');

      const rebuilt = ws.nx(['run', 'sleepy:build'], env);
      expect(rebuilt.code, rebuilt.out).toBe(0);
      const was = await served(before);
      const now = await served(join(ws.root, 'dist/model-repository'));
      const fmt = (l: Load) => `${l.throughput.toFixed(1)} infer/s, p99 ${l.p99Ms.toFixed(1)} ms (${l.requests} requests)`;
      console.log(`tune e2e, our client at concurrency 16: built ${fmt(was)}; tuned ${fmt(now)}; ${(now.throughput / was.throughput).toFixed(1)}x`);
      expect(now.throughput / was.throughput, JSON.stringify({ was, now })).toBeGreaterThanOrEqual(4);
      expect(now.p99Ms, JSON.stringify({ was, now })).toBeLessThanOrEqual(BUDGET_MS);
      expect(existsSync(join(ws.root, 'dist/models/sleepy/tune/report.svg'))).toBe(true);
    } finally {
      rmSync(before, { recursive: true, force: true });
    }
  }, 600_000);
});
