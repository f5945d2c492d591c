import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace, type Workspace } from './workspace';
import { TORCH1_PYTHON } from '../test/pythons';

// nx is a peer dependency (>=22 <25): the same tarball must work with the older majors' loaders.
describe.each(['22.6.1', '23.3.2'])('the packed tarball with nx %s', (nxVersion) => {
  let ws: Workspace;
  beforeAll(() => {
    ws = createWorkspace({ nxVersion });
  });
  afterAll(() => ws?.remove());

  it('init, model, build, and a second run from the cache', () => {
    for (const args of [['g', 'nx-triton:init'], ['g', 'nx-triton:model', 'my_nn', '--maxBatchSize=8', '--instanceGroup=cpu:2']]) {
      const r = ws.nx(args);
      expect(r.code, r.out).toBe(0);
    }
    const env = { NX_TRITON_PYTHON: TORCH1_PYTHON };
    const first = ws.nx(['run', 'my_nn:build'], env);
    expect(first.code, first.out).toBe(0);
    expect(existsSync(join(ws.root, 'dist/model-repository/my_nn/1/model.onnx'))).toBe(true);
    expect(readFileSync(join(ws.root, 'dist/model-repository/my_nn/config.pbtxt'), 'utf8')).toMatch(/kind: KIND_CPU/);
    const second = ws.nx(['run', 'my_nn:build'], env);
    expect(second.code, second.out).toBe(0);
    expect(second.out).toMatch(/from the cache instead of running the command for 2 out of 2 tasks/);
  });
});
