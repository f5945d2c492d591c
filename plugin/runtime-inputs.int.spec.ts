import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { venvPython } from '../test/pythons';
import { pythonFingerprintCommand } from './targets';

function runtime(command: string, env: Record<string, string | undefined>): string {
  // As Nx runs a runtime input: through the shell; it must succeed whatever is installed.
  return execFileSync('/bin/sh', ['-c', command], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' }).trim();
}

describe('python fingerprint runtime input', () => {
  it("prints the interpreter's version and its toolchain's, and exits 0 without torch or python", () => {
    const command = pythonFingerprintCommand('python3');
    expect(runtime(command, { NX_TRITON_PYTHON: '/usr/bin/python3' })).toMatch(/^3\.\d+\.\d+ torch==\d+\.\d+\S* onnx==\S+ onnxscript==\S+ onnxruntime==\S+ numpy==\S+$/);
    expect(runtime(command, { NX_TRITON_PYTHON: venvPython() })).toMatch(/^3\.\d+\.\d+ torch==2\.\d+\S* onnx==1\.\d+\S* onnxscript==0\.\d+\S* onnxruntime==1\.\d+\S* numpy==\S+$/);
    expect(runtime(command, { NX_TRITON_PYTHON: '/nonexistent/python' })).toContain('/nonexistent/python');
  });

  it("adds the distributions of the packages the model imports, leaving out the standard library and what it does not import", () => {
    const command = pythonFingerprintCommand('python3', ['transformers', 'os', 'torch', 'json']);
    const out = runtime(command, { NX_TRITON_PYTHON: venvPython() });
    expect(out.split(' ').slice(6).map((p) => p.split('==')[0])).toEqual(['transformers']);
  });

  it('changes with the version of an imported package or of the toolchain, and not with another package', () => {
    // A distribution's metadata placed first on sys.path is what importlib.metadata reports: the
    // interpreter sees another version installed.
    const site = mkdtempSync(join(tmpdir(), 'nx-triton-fingerprint-'));
    const install = (name: string, version: string) => {
      const dir = join(site, `${name}-${version}.dist-info`);
      mkdirSync(dir);
      writeFileSync(join(dir, 'METADATA'), `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n`);
      writeFileSync(join(dir, 'top_level.txt'), `${name}\n`);
    };
    try {
      const command = pythonFingerprintCommand('python3', ['transformers']);
      const env = { NX_TRITON_PYTHON: venvPython(), PYTHONPATH: site };
      const before = runtime(command, env);
      install('requests_unrelated', '9.9.9');
      expect(runtime(command, env)).toBe(before);
      install('transformers', '0.0.1');
      const upgraded = runtime(command, env);
      expect(upgraded).not.toBe(before);
      expect(upgraded).toContain('transformers==0.0.1');
      install('onnxscript', '0.0.1');
      expect(runtime(command, env)).toContain('onnxscript==0.0.1');
    } finally {
      rmSync(site, { recursive: true, force: true });
    }
  });

  it('quotes an odd interpreter path instead of running it through the shell', () => {
    const command = pythonFingerprintCommand('/no such/$(touch x)`id`"}py');
    expect(runtime(command, {})).toContain('/no such/$(touch x)`id`"}py');
  });
});
