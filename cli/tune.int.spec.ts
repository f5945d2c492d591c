import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleepyModelPy, writeFiles } from '../test/python-models';
import { venvPython } from '../test/pythons';
import { run } from './tune';
import { runVerb } from '../test/cli';

// nx-triton tune for real: nvidia-pytriton's tritonserver and tritonclient's perf_analyzer (.venv).

const cli = (...argv: string[]) => runVerb(run, argv);

describe('nx-triton tune on a repository', () => {
  let dir: string;
  const yaml = '# sleeps 20 ms a call\nbackend: python\nmax_batch_size: 16   # up to 16\ninput: [{ name: X, data_type: fp32, dims: [4] }]\noutput: [{ name: Y, data_type: fp32, dims: [4] }]\ninstance_group: [{ kind: cpu, count: 1 }]\nexport: { file: model.py }\n';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'nx-triton-tune-cli-'));
    writeFiles(dir, {
      'repo/sleepy/config.pbtxt':
        'name: "sleepy"\nbackend: "python"\nmax_batch_size: 16\ninput [ { name: "X" data_type: TYPE_FP32 dims: [ 4 ] } ]\noutput [ { name: "Y" data_type: TYPE_FP32 dims: [ 4 ] } ]\ninstance_group [ { kind: KIND_CPU count: 1 } ]\n',
      'repo/sleepy/1/model.py': sleepyModelPy(),
      'models/sleepy/triton.yaml': yaml,
      'models/sleepy/model.py': sleepyModelPy(),
    });
    mkdirSync(join(dir, 'out'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the table, writes the reports to --out and the winner into --spec', async () => {
    const r = await cli(join(dir, 'repo'), '--model', 'sleepy', '--spec', join(dir, 'models/sleepy/triton.yaml'), '--out', join(dir, 'out'), '--concurrency', '8', '--latencyBudgetMs', '500', '--maxCandidates', '2', '--python', venvPython());
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^2 +1×CPU, batching \(max 16\) +dynamic batching on \(#1\) +[\d,.]+\/s p99 [\d.]+ ms +WINNER$/m);
    expect(r.out).toContain('nx-triton tune: Winner #2: 1×CPU, batching (max 16). Written to ');
    expect(readFileSync(join(dir, 'models/sleepy/triton.yaml'), 'utf8')).toBe(yaml.replace('instance_group:', 'dynamic_batching: {}\ninstance_group:'));
    expect(readdirSync(join(dir, 'out')).sort()).toEqual(['report.json', 'report.md', 'report.svg']);
    expect(JSON.parse(readFileSync(join(dir, 'out/report.json'), 'utf8'))).toMatchObject({ model: 'sleepy', outcome: 'written', winner: 2 });
    expect(existsSync(join(dir, 'repo/sleepy/config.pbtxt'))).toBe(true);
  }, 180_000);
});
