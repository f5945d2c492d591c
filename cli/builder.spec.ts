import { describe, expect, it } from 'vitest';
import { TOKEN_ENV } from '../lib/engine/remote/auth';
import { run } from './builder';

/** Runs the verb with its output captured; none of these start a builder. */
async function builder(argv: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const saved = process.env[TOKEN_ENV];
  if (TOKEN_ENV in env) process.env[TOKEN_ENV] = env[TOKEN_ENV];
  else delete process.env[TOKEN_ENV];
  try {
    const code = await run(argv, { out: (t) => (out += t), err: (t) => (err += t) });
    return { code, out, err };
  } finally {
    if (saved === undefined) delete process.env[TOKEN_ENV];
    else process.env[TOKEN_ENV] = saved;
  }
}

describe('nx-triton builder: its arguments (node:util parseArgs)', () => {
  it('prints the usage for --help and -h', async () => {
    for (const flag of ['--help', '-h']) {
      const r = await builder([flag]);
      expect(r).toMatchObject({ code: 0, err: '' });
      expect(r.out).toMatch(/^usage: nx-triton builder \[--host 127\.0\.0\.1\]/);
    }
  });

  it('refuses an unknown option, a missing value and a stray argument with the usage, exit 2', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--jobz', '2'], /^nx-triton builder: Unknown option '--jobz'/],
      [['--port'], /^nx-triton builder: Option '--port <value>' argument missing/],
      [['serve'], /^nx-triton builder: Unexpected argument 'serve'/],
      [['--insecure-no-auth=yes'], /^nx-triton builder: Option '--insecure-no-auth' does not take an argument/],
    ];
    for (const [argv, message] of cases) {
      const r = await builder(argv);
      expect([argv, r.code]).toEqual([argv, 2]);
      expect(r.err).toMatch(message);
      expect(r.err).toContain('usage: nx-triton builder');
    }
  });

  it('names the flag of a bad value, and asks for a token or --insecure-no-auth, exit 1', async () => {
    expect(await builder(['--insecure-no-auth', '--jobs=0'])).toEqual({ code: 1, out: '', err: 'nx-triton builder: --jobs: expected an integer from 1 to 1024, got "0"\n' });
    expect(await builder(['--insecure-no-auth', '--max-upload-bytes', 'lots'])).toMatchObject({
      code: 1,
      err: 'nx-triton builder: --max-upload-bytes: expected a size such as 2147483648, 512M or 2G, got "lots"\n',
    });
    expect((await builder([])).err).toBe(`nx-triton builder: no token: set ${TOKEN_ENV} or pass --token-file (or --insecure-no-auth to run without authentication)\n`);
    expect(await builder(['--insecure-no-auth'], { [TOKEN_ENV]: 'a-token-of-enough-length-0123456789' })).toMatchObject({
      code: 1,
      err: 'nx-triton builder: --insecure-no-auth given together with a token; choose one\n',
    });
  });
});
