import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addModelFiles, writeFiles } from '../../test/python-models';
import { executorContext, printed } from '../../test/executor-context';
import deployExecutor from './executor';

// The deploy executor's options and nx.json environments, with a directory destination and no
// servers (S3 and the real tritonserver: lib/targets/deploy.int.spec.ts, e2e/deploy.e2e.ts).

let ws: string;

beforeEach(() => {
  ws = mkdtempSync(join(tmpdir(), 'nx-triton-deploy-exec-'));
  writeFiles(join(ws, 'dist', 'model-repository'), addModelFiles('add', 1));
});
afterEach(() => rmSync(ws, { recursive: true, force: true }));

function context(nxJson: Record<string, unknown>, configurationName?: string) {
  return executorContext(ws, 'add', { projects: { add: 'models/add' }, nxJson, configurationName });
}

/** The executor's result with what it printed. */
async function printedAll(fn: () => Promise<{ success: boolean }>): Promise<{ success: boolean; out: string; err: string }> {
  const { result, out, err } = await printed(fn);
  return { ...result, out, err };
}

const nxJson = (deploy: unknown) => ({ plugins: [{ plugin: 'nx-triton', options: { deploy } }] });

describe('deploy executor', () => {
  it('deploys to the environment its configuration names, the first by default', async () => {
    const envs = { staging: { repository: 'deployed/staging' }, production: { repository: 'deployed/production' } };
    const first = await printedAll(() => deployExecutor({}, context(nxJson(envs))));
    expect(first.err).toBe('');
    expect(first.success).toBe(true);
    expect(readdirSync(join(ws, 'deployed', 'staging'))).toEqual(['add']);
    const r = await printedAll(() => deployExecutor({ environment: 'production' }, context(nxJson(envs), 'production')));
    expect(r.success).toBe(true);
    expect(readdirSync(join(ws, 'deployed', 'production', 'add')).sort()).toEqual(['1', 'config.pbtxt']);
    expect(r.out).toContain('nx-triton deploy: add: deployed (2 file(s), ');
    // The second time: nothing to do.
    const again = await printedAll(() => deployExecutor({}, context(nxJson(envs), 'production')));
    expect(again.out).toContain(`nx-triton deploy: add: unchanged in ${join(ws, 'deployed', 'production')}`);
  });

  it('--dry-run reads the destination and prints the plan, writing nothing', async () => {
    const r = await printedAll(() => deployExecutor({ dryRun: true }, context(nxJson({ staging: { repository: 'deployed/staging' } }))));
    expect(r.success).toBe(true);
    expect(r.out).toContain(`nx-triton deploy: add: --dry-run: would upload 2 file(s) (`);
    expect(r.out).toContain('  put     1/model.py (');
    expect(readdirSync(ws).sort()).toEqual(['dist']);
  });

  it('fails with one line when nx.json has no such environment, or none', async () => {
    expect(await printedAll(() => deployExecutor({ environment: 'prod' }, context(nxJson({ staging: { repository: 'd' } }))))).toMatchObject({
      success: false,
      err: 'nx.json: no deploy environment "prod" (there are: staging)',
    });
    expect(await printedAll(() => deployExecutor({}, context({})))).toMatchObject({ success: false, err: 'nx.json: the nx-triton plugin has no deploy environments (options.deploy)' });
  });

  it('fails with one line when the model is not built', async () => {
    rmSync(join(ws, 'dist'), { recursive: true });
    const r = await printedAll(() => deployExecutor({}, context(nxJson({ staging: { repository: 'deployed' } }))));
    expect(r).toMatchObject({ success: false, err: `nx-triton deploy: the built repository ${join(ws, 'dist', 'model-repository')} does not exist (build it first)` });
  });
});
