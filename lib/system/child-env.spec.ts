import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTritonServer } from '../triton/server';
import { childEnv, ORIGINS_ENV, TOKEN_ENV } from './child-env';
import { runProcess } from './process';

// Issue 22, N4: the builder token is a CI secret for the builder client alone. One export.command line
// wrote it into a built model.py; trtexec, tritonserver and its python stubs (the models' own code) had it too.
const TOKEN = 'builder-token-0123456789abcdef';
const ORIGINS = 'https://gpu-a100.example.com:443';

let dir: string;
const saved = { token: process.env[TOKEN_ENV], origins: process.env[ORIGINS_ENV] };
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nx-triton-child-env-'));
  process.env[TOKEN_ENV] = TOKEN;
  process.env[ORIGINS_ENV] = ORIGINS;
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  for (const [name, value] of [[TOKEN_ENV, saved.token], [ORIGINS_ENV, saved.origins]] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

/** A program that writes the environment it got into `file` as JSON and exits with `code`. */
function envDumper(file: string, code: number): string {
  const script = join(dir, 'dump-env');
  writeFileSync(script, `#!${process.execPath}\nrequire('node:fs').writeFileSync(${JSON.stringify(file)}, JSON.stringify(process.env));\nprocess.exit(${code});\n`);
  chmodSync(script, 0o755);
  return script;
}

function dumped(file: string): Record<string, string> {
  return JSON.parse(readFileSync(file, 'utf8'));
}

describe('childEnv', () => {
  it('is this environment without the builder token and origins, plus what is added', () => {
    const env = childEnv({ EXTRA: '1' }, { PATH: '/bin', [TOKEN_ENV]: TOKEN, nx_triton_builder_token: TOKEN, [ORIGINS_ENV]: ORIGINS, HOME: '/h' });
    expect(env).toEqual({ PATH: '/bin', HOME: '/h', EXTRA: '1' });
  });
});

describe('processes nx-triton starts never get the builder token', () => {
  it('export.command, the export helper and the fidelity gate (runProcess)', async () => {
    const file = join(dir, 'env.json');
    const result = await runProcess(envDumper(file, 0), [], { cwd: dir });
    expect(result.exitCode).toBe(0);
    const env = dumped(file);
    expect(env).not.toHaveProperty(TOKEN_ENV);
    expect(env).not.toHaveProperty(ORIGINS_ENV);
    expect(JSON.stringify(env)).not.toContain(TOKEN);
    expect(env.PYTHONDONTWRITEBYTECODE).toBe('1');
    expect(env.PATH).toBe(process.env.PATH);
  });

  it('tritonserver, and so the python backend stubs under it', async () => {
    const file = join(dir, 'env.json');
    const started = startTritonServer({ repository: dir, tritonserver: envDumper(file, 1), readyTimeoutMs: 10_000 });
    await expect(started).rejects.toThrow('exited before it was ready');
    const env = dumped(file);
    expect(env).not.toHaveProperty(TOKEN_ENV);
    expect(env).not.toHaveProperty(ORIGINS_ENV);
    expect(JSON.stringify(env)).not.toContain(TOKEN);
  });
});
