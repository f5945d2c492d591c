import { describe, expect, it } from 'vitest';
import { run } from './tune';
import { runVerb } from '../test/cli';

// nx-triton tune: its arguments (a real run: tune.int.spec.ts).

const cli = (...argv: string[]) => runVerb(run, argv);

describe('nx-triton tune arguments', () => {
  it('exits 2 with the usage for a usage error, and 0 for --help', async () => {
    const none = await cli();
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/^nx-triton tune: expected one repository directory, got 0\nusage: nx-triton tune <repository> --model NAME/);
    expect((await cli('repo')).err).toMatch(/^nx-triton tune: --model NAME is required/);
    const unknown = await cli('repo', '--model', 'm', '--fast');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/^nx-triton tune: Unknown option '--fast'/);
    const help = await cli('--help');
    expect(help.code).toBe(0);
    expect(help.out).toContain('[--concurrency 1,8,32] [--latencyBudgetMs 50] [--objective throughput|latency]');
  });

  it('exits 1 with one line for a bad value, under either spelling of the option', async () => {
    expect(await cli('repo', '--model', 'm', '--objective', 'fast')).toEqual({ code: 1, out: '', err: 'nx-triton: tune: --objective must be throughput or latency (got "fast")\n' });
    expect((await cli('repo', '--model', 'm', '--latency-budget-ms=-3')).err).toBe('nx-triton: tune: --latencyBudgetMs must be a number of at least 0.001 (got "-3")\n');
    expect((await cli('repo', '--model', 'm', '--concurrency', '8,0')).err).toBe('nx-triton: tune: --concurrency must be a list of positive integers such as 1,8,32 (got "8,0")\n');
  });
});
