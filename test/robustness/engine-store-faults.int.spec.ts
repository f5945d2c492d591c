import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildEngine } from '../../lib/engine/build-engine';
import { verifyPlan } from '../../lib/engine/store';
import type { ModelConfig } from '../../lib/model-config';
import type { ModelSpec } from '../../lib/model-spec/types';
import { DIST, ensureDist } from '../dist';
import { A100, standInEnv, trtexecBuilds } from '../fixtures/stand-ins';
import { REPO_ROOT, rmrf, seeded, tempRoot } from './helpers';
import { engineRequest } from '../../lib/model-spec/engine-request';
import { until } from '../../test/processes';

const CHILD = join(__dirname, '../children/build-engine.cjs');
const ONNX = join(REPO_ROOT, 'lib/engine/__fixtures__/relu_batch.onnx');

let root: string;
let n = 0;
const groups: number[] = [];

beforeAll(() => {
  ensureDist();
  root = tempRoot('engine');
});
afterEach(() => {
  // Whatever a test left running (a trtexec orphan) goes with its process group.
  for (const pgid of groups.splice(0)) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});
afterAll(() => rmrf(root));

function env(dir: string, sleepMs: number): NodeJS.ProcessEnv {
  return standInEnv({ gpu: A100, log: join(dir, 'trtexec.log'), store: join(dir, 'store'), sleepMs });
}

/** Plans the store holds as entries (`<xx>/<key>/model.plan`), with why each is unusable, if it is. */
async function storeEntries(dir: string): Promise<Array<{ key: string; problem: string | undefined }>> {
  const store = join(dir, 'store');
  const out: Array<{ key: string; problem: string | undefined }> = [];
  for (const shard of existsSync(store) ? readdirSync(store).filter((s) => /^[0-9a-f]{2}$/.test(s)) : []) {
    for (const key of readdirSync(join(store, shard))) out.push({ key, problem: await verifyPlan(join(store, shard, key, 'model.plan'), '10.3.0') });
  }
  return out;
}

/** Starts a build in a child process (its own process group) and waits until trtexec is building. */
async function startBuild(dir: string, sleepMs: number) {
  const child = spawn(process.execPath, [CHILD, DIST, JSON.stringify({ workspaceRoot: dir, onnxPath: ONNX, outDir: join(dir, 'out') })], {
    env: env(dir, sleepMs),
    stdio: 'ignore',
    detached: true,
  });
  groups.push(child.pid!);
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  // The store makes its temp dir right before it runs trtexec.
  await until('the store build to start', () => existsSync(join(dir, 'store/tmp')) && readdirSync(join(dir, 'store/tmp')).length > 0, 20_000, 10);
  return { child, exited };
}

const config: ModelConfig = {
  name: 'my_trt',
  platform: 'tensorrt_plan',
  max_batch_size: 8,
  input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [4] }],
  output: [{ name: 'y', data_type: 'TYPE_FP32', dims: [4] }],
};

function buildHere(dir: string) {
  const spec: ModelSpec = { file: 'models/my_trt/triton.yaml', dir: join(dir, 'models/my_trt'), name: 'my_trt', config, version: 1, previousVersions: {}, positions: {} };
  return buildEngine({ workspaceRoot: dir, request: engineRequest(spec, config), onnxPath: ONNX, outDir: join(dir, 'out'), env: env(dir, 0), log: () => undefined });
}

/** After a killed build: the next one builds, verifies, and the one after that is a store hit. */
async function nextBuildsWork(dir: string, runsBefore: number): Promise<void> {
  const first = await buildHere(dir);
  expect(first.hit).toBe(false);
  expect(await verifyPlan(first.planPath, '10.3.0')).toBe(undefined);
  expect(await storeEntries(dir)).toEqual([{ key: first.key, problem: undefined }]);
  const second = await buildHere(dir);
  expect(second.hit).toBe(true);
  expect(readFileSync(second.planPath)).toEqual(readFileSync(first.planPath));
  expect(trtexecBuilds(join(dir, 'trtexec.log'))).toBe(runsBefore + 1);
}

describe('the engine store under SIGKILL', () => {
  it('never holds a partial plan when a build is killed mid-trtexec (3 random moments)', async () => {
    const random = seeded(99);
    for (let attempt = 0; attempt < 3; attempt++) {
      const dir = join(root, `group-${n++}`);
      const { child, exited } = await startBuild(dir, 2000);
      await new Promise((r) => setTimeout(r, Math.floor(random() * 400)));
      process.kill(-child.pid!, 'SIGKILL'); // the build and its trtexec
      await exited;
      expect(await storeEntries(dir)).toEqual([]);
      await nextBuildsWork(dir, 0);
    }
  });

});
