import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEBIAN_PYTHON, venvPython } from '../../test/pythons';
import { UserError } from '../errors';
import { locatePerfAnalyzer } from './perf-analyzer';

// Where perf_analyzer comes from: the option, NX_TRITON_PERF_ANALYZER, PATH, else the tritonclient
// wheel of the interpreter (.venv has tritonclient 2.50.0's, scripts/setup-python.sh).

const python = venvPython();
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nx-triton-perf-'));
  for (const name of ['option/perf_analyzer', 'env/perf_analyzer', 'path/perf_analyzer']) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), '#!/bin/sh\nexit 0\n');
    chmodSync(join(dir, name), 0o755);
  }
  writeFileSync(join(dir, 'not-executable'), '');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('locatePerfAnalyzer', () => {
  it("finds the binary of the interpreter's tritonclient, with its CUDA runtime on LD_LIBRARY_PATH, and it runs", () => {
    const found = locatePerfAnalyzer({ python, env: { PATH: '/usr/bin:/bin' } });
    expect(found).toMatchObject({ source: 'tritonclient', version: '2.50.0' });
    expect(found.binary).toMatch(/\/bin\/perf_analyzer$/);
    expect(found.env.LD_LIBRARY_PATH).toMatch(/nvidia\/cuda_runtime\/lib$/);
    // Without that library path it would stop at "libcudart.so.12: cannot open shared object file".
    const r = spawnSync(found.binary, ['--version'], { env: { ...process.env, ...found.env }, encoding: 'utf8' });
    expect({ status: r.status, said: `${r.stdout}${r.stderr}`.includes('Perf Analyzer Version') }).toEqual({ status: 0, said: true });
  });

  it('takes the option first, then NX_TRITON_PERF_ANALYZER, then PATH', () => {
    const env = { PATH: `${join(dir, 'path')}:/usr/bin:/bin`, NX_TRITON_PERF_ANALYZER: join(dir, 'env/perf_analyzer') };
    expect(locatePerfAnalyzer({ python, env, perfAnalyzer: 'option/perf_analyzer', cwd: dir })).toEqual({ binary: join(dir, 'option/perf_analyzer'), source: 'option', env: {} });
    expect(locatePerfAnalyzer({ python, env })).toMatchObject({ binary: join(dir, 'env/perf_analyzer'), source: 'NX_TRITON_PERF_ANALYZER' });
    expect(locatePerfAnalyzer({ python, env: { PATH: env.PATH } })).toMatchObject({ binary: join(dir, 'path/perf_analyzer'), source: 'PATH' });
  });

  it('says in one line what is wrong with a given binary, and how to get one when there is none', () => {
    expect(() => locatePerfAnalyzer({ perfAnalyzer: join(dir, 'not-executable') })).toThrow(
      new UserError(`nx-triton: perf_analyzer "${join(dir, 'not-executable')}" (from option) is not an executable file`),
    );
    expect(() => locatePerfAnalyzer({ python: DEBIAN_PYTHON, env: { PATH: '/usr/bin:/bin' } })).toThrow(
      new UserError(
        'nx-triton: no perf_analyzer found: not set by the "perfAnalyzer" option or NX_TRITON_PERF_ANALYZER, not on PATH, and tritonclient is not installed for /usr/bin/python3; ' +
          'install it with pip install --no-deps tritonclient==2.50.0 nvidia-cuda-runtime-cu12 (only its binary is used) and apt-get install libb64-0d',
      ),
    );
  });
});
