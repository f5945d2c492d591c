import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { pythonFingerprintCommand } from './targets';

function runtime(command: string, env: Record<string, string | undefined>): string {
  // As Nx runs a runtime input: through the shell; it must succeed whatever is installed.
  return execFileSync('/bin/sh', ['-c', command], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' }).trim();
}

describe('python fingerprint runtime input', () => {
  it('prints the python and torch versions of the chosen interpreter and exits 0 without torch or python', () => {
    const command = pythonFingerprintCommand('python3');
    expect(runtime(command, { NX_TRITON_PYTHON: '/usr/bin/python3' })).toMatch(/^3\.\d+\.\d+ torch \d+\.\d+/);
    expect(runtime(command, { NX_TRITON_PYTHON: undefined })).toMatch(/^3\.\d+\.\d+ torch (none|\d)/);
    expect(runtime(command, { NX_TRITON_PYTHON: '/nonexistent/python' })).toContain('/nonexistent/python');
  });

  it('quotes an odd interpreter path instead of running it through the shell', () => {
    const command = pythonFingerprintCommand('/no such/$(touch x)`id`"}py');
    expect(runtime(command, {})).toContain('/no such/$(touch x)`id`"}py');
  });
});
