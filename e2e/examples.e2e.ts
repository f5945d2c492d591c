import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { L4, standInVars } from '../test/fixtures/stand-ins';
import { TORCH1_PYTHON } from '../test/pythons';
import { expectTritonServes } from '../test/triton-oracle';
import { nxEnv, repoRoot } from './workspace';

// This repository is itself an Nx workspace whose examples/ use the plugin from source (dist/).
// The TensorRT example needs trtexec and a GPU: here the test stand-ins play them.
const scratch = mkdtempSync(join(tmpdir(), 'nx-triton-examples-e2e-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(cmd, args, { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, ...nxEnv, ...env }, timeout: 600_000 });
  return { code: r.status ?? 1, out: `${r.stdout}${r.stderr}` };
}

describe('examples/ (this repository as a workspace)', () => {
  it('nx run-many -t build writes every example model, and nx-triton validate accepts the repository', () => {
    const r = run(join(repoRoot, 'node_modules/.bin/nx'), ['run-many', '-t', 'build', '--skip-nx-cache'], {
      ...standInVars({ gpu: L4, store: join(scratch, 'engines') }),
      NX_TRITON_PYTHON: TORCH1_PYTHON,
    });
    expect(r.code, r.out).toBe(0);
    const repository = join(repoRoot, 'dist/model-repository');
    expect(readdirSync(repository).filter((n) => !n.startsWith('.')).sort()).toEqual(['mlp_classifier', 'mlp_classifier_trt', 'text_scorer']);
    expect(readFileSync(join(repository, 'mlp_classifier_trt/1/model.plan')).subarray(0, 4).toString('latin1')).toBe('ftrt');
    const v = run('node', [join(repoRoot, 'dist/cli/main.js'), 'validate', repository]);
    expect(v.code, v.out).toBe(0);
    expect(v.out).toContain('ok: 3 models');
    return expectTritonServes(repository).then((r) => expect(r.map((m) => m.state)).toEqual(['no-backend', 'no-backend', 'no-backend']));
  });
});
